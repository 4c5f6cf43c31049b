//! Snapshots: one import of a system's accounts, written whole with each account's flags in
//! one audited transaction (nothing half-written); reading them back by page and filter; the
//! people list; the flag rules; Steward's own users as accounts.

use super::super::accounts::{Account, AccountType};
use super::super::flags::{self, Flag, Person, Rules};
use super::super::mapped::Mapping;
use super::super::{AccountView, ImportOutcome, SnapshotView};
use crate::audit::chain::AuditCtx;
use crate::db::Db;
use crate::error::AppError;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;
use time::Date;

/// Rows per INSERT statement (16 values each: well under both databases' parameter limits).
const BATCH: usize = 200;

pub async fn rules(pool: &AnyPool) -> Result<Rules, AppError> {
    let row: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT dormant_days, stale_credential_days, privileged_patterns FROM access_review_rules WHERE id = 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Rules::default(),
        Some((d, s, p)) => Rules {
            dormant_days: d,
            stale_credential_days: s,
            privileged_patterns: p
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
        },
    })
}

/// The people list by email (`None` when no list was imported: no one is an orphan then).
pub async fn people(pool: &AnyPool) -> Result<Option<HashMap<String, Person>>, AppError> {
    let rows: Vec<(String, String, Option<String>, i64, String)> =
        sqlx::query_as("SELECT email, name, manager_email, active, department FROM people")
            .fetch_all(pool)
            .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|(email, name, manager_email, active, department)| {
                (
                    email.clone(),
                    Person {
                        email,
                        name,
                        manager_email,
                        active: active == 1,
                        department,
                    },
                )
            })
            .collect(),
    ))
}

pub struct NewSnapshot<'a> {
    pub system_id: i64,
    pub source: &'a str,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub encoding: &'a str,
    pub accounts: &'a [Account],
    /// A CSV's mapping, saved for the system.
    pub mapping: Option<&'a Mapping>,
    pub today: Date,
    pub by: Option<i64>,
}

/// The count's label for accounts gone since the last completed campaign.
pub const REMOVED: &str = "Removed since last review";

/// An account of the snapshot the system's last completed campaign reviewed.
pub struct Baseline {
    pub key: String,
    pub user_id: String,
    pub name: String,
    pub entitlement: String,
}

/// The snapshot the system's last completed campaign reviewed: (snapshot, campaign name, its
/// accounts by key); `None` before any campaign of it completed.
pub async fn baseline(
    pool: &AnyPool,
    system: i64,
) -> Result<Option<(i64, String, HashMap<String, Baseline>)>, AppError> {
    let last: Option<(i64, String)> = sqlx::query_as(
        "SELECT cs.snapshot_id, c.name FROM access_campaign_systems cs JOIN access_campaigns c ON c.id = cs.campaign_id \
         WHERE cs.system_id = $1 AND c.status = 'completed' AND cs.snapshot_id IS NOT NULL \
         ORDER BY c.completed_at DESC, c.id DESC LIMIT 1",
    )
    .bind(system)
    .fetch_optional(pool)
    .await?;
    let Some((snapshot, campaign)) = last else {
        return Ok(None);
    };
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT key, user_id, name, entitlement FROM snapshot_accounts WHERE snapshot_id = $1",
    )
    .bind(snapshot)
    .fetch_all(pool)
    .await?;
    let accounts = rows
        .into_iter()
        .map(|(key, user_id, name, entitlement)| {
            (
                key.clone(),
                Baseline {
                    key,
                    user_id,
                    name,
                    entitlement,
                },
            )
        })
        .collect();
    Ok(Some((snapshot, campaign, accounts)))
}

fn day(d: Option<Date>) -> Option<String> {
    d.map(crate::util::fmt_date)
}

/// Writes a snapshot and its accounts with their flags; the same file as the system's
/// latest snapshot writes nothing.
pub async fn insert(
    db: &Db,
    ctx: &AuditCtx,
    s: NewSnapshot<'_>,
) -> Result<ImportOutcome, AppError> {
    let pool = db.pool();
    let rules = rules(pool).await?;
    let people = people(pool).await?;
    let base = baseline(pool, s.system_id).await?;
    let mut flagged: Vec<Vec<(Flag, String)>> = s
        .accounts
        .iter()
        .map(|a| flags::flags(a, &rules, people.as_ref(), s.today))
        .collect();
    let mut removed: Vec<&Baseline> = Vec::new();
    if let Some((snapshot, campaign, accounts)) = &base {
        let now: std::collections::HashSet<&str> =
            s.accounts.iter().map(|a| a.key.as_str()).collect();
        for (a, f) in s.accounts.iter().zip(flagged.iter_mut()) {
            if !accounts.contains_key(&a.key) {
                f.push((
                    Flag::New,
                    format!("Not in snapshot #{snapshot}, reviewed by the campaign '{campaign}'."),
                ));
            }
        }
        removed = accounts
            .values()
            .filter(|b| !now.contains(b.key.as_str()))
            .collect();
        removed.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let counts: Vec<(String, i64)> = Flag::ALL
        .iter()
        .map(|f| {
            let n = flagged
                .iter()
                .filter(|v| v.iter().any(|(g, _)| g == f))
                .count();
            (f.label().to_string(), n as i64)
        })
        .chain(
            base.is_some()
                .then(|| (REMOVED.to_string(), removed.len() as i64)),
        )
        .collect();
    let mut out = ImportOutcome {
        system_id: s.system_id,
        snapshot_id: None,
        source: s.source.to_string(),
        accounts: s.accounts.len() as i64,
        flags: counts,
        unchanged: false,
    };
    let mut tx = db.write().await?;
    let (name, latest): (String, Option<String>) = sqlx::query_as(
        "SELECT s.name, (SELECT file_sha256 FROM account_snapshots WHERE id = \
         (SELECT MAX(id) FROM account_snapshots WHERE system_id = s.id)) FROM systems s WHERE s.id = $1",
    )
    .bind(s.system_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::Missing("No such system.".into()))?;
    if latest.as_deref() == Some(s.sha256) {
        out.unchanged = true;
        return Ok(out);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO account_snapshots (system_id, taken_at, source, file_name, file_sha256, encoding, accounts, imported_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(s.system_id)
    .bind(&ctx.at)
    .bind(s.source)
    .bind(s.file_name)
    .bind(s.sha256)
    .bind(s.encoding)
    .bind(s.accounts.len() as i64)
    .bind(s.by)
    .fetch_one(tx.conn())
    .await?;
    for (chunk, fl) in s.accounts.chunks(BATCH).zip(flagged.chunks(BATCH)) {
        let mut sql = String::from(
            "INSERT INTO snapshot_accounts (snapshot_id, key, user_id, email, name, entitlement, account_type, \
             active, last_used, created, mfa, manager_email, rotated, flags, flag_notes) VALUES ",
        );
        sql.push_str(&crate::db::placeholders(chunk.len(), 15));
        let mut q = sqlx::query(&sql);
        for (a, f) in chunk.iter().zip(fl) {
            q = q
                .bind(id)
                .bind(&a.key)
                .bind(&a.user_id)
                .bind(&a.email)
                .bind(&a.name)
                .bind(&a.entitlement)
                .bind(a.account_type.as_str())
                .bind(a.active as i64)
                .bind(day(a.last_used))
                .bind(day(a.created))
                .bind(a.mfa.map(|m| m as i64))
                .bind(&a.manager_email)
                .bind(day(a.rotated))
                .bind(
                    f.iter()
                        .map(|(g, _)| g.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .bind(
                    f.iter()
                        .map(|(_, why)| why.as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
        }
        q.execute(tx.conn()).await?;
    }
    if let Some((since, ..)) = &base {
        for chunk in removed.chunks(BATCH) {
            let mut sql = String::from(
                "INSERT INTO snapshot_removed (snapshot_id, key, user_id, name, entitlement, since_snapshot_id) VALUES ",
            );
            sql.push_str(&crate::db::placeholders(chunk.len(), 6));
            let mut q = sqlx::query(&sql);
            for b in chunk {
                q = q
                    .bind(id)
                    .bind(&b.key)
                    .bind(&b.user_id)
                    .bind(&b.name)
                    .bind(&b.entitlement)
                    .bind(*since);
            }
            q.execute(tx.conn()).await?;
        }
    }
    let (verified, still) = super::remediation::verify(&mut tx, s.system_id, id, &ctx.at).await?;
    if let Some(m) = s.mapping {
        sqlx::query("UPDATE systems SET mapping = $1, updated_at = $2 WHERE id = $3")
            .bind(serde_json::to_string(m).map_err(AppError::internal)?)
            .bind(&ctx.at)
            .bind(s.system_id)
            .execute(tx.conn())
            .await?;
    }
    let flagged_text = out
        .flags
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(l, n)| format!("{l} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    tx.audit(ctx.event(
        "access.snapshot_imported",
        "system",
        s.system_id,
        format!(
            "snapshot #{id} of '{name}': {} account(s) from {} '{}' (sha256 {}){}{}",
            s.accounts.len(),
            s.source,
            s.file_name,
            s.sha256,
            if flagged_text.is_empty() {
                String::new()
            } else {
                format!("; flagged: {flagged_text}")
            },
            if verified + still > 0 {
                format!("; remediation: {verified} verified, {still} still present")
            } else {
                String::new()
            }
        ),
    ))
    .await?;
    tx.commit().await?;
    out.snapshot_id = Some(id);
    Ok(out)
}

pub async fn history(pool: &AnyPool, system_id: i64) -> Result<Vec<SnapshotView>, AppError> {
    let rows = sqlx::query(
        "SELECT n.id, n.taken_at, n.source, n.file_name, n.file_sha256, n.encoding, n.accounts, u.display_name \
         FROM account_snapshots n LEFT JOIN users u ON u.id = n.imported_by \
         WHERE n.system_id = $1 ORDER BY n.id DESC LIMIT 50",
    )
    .bind(system_id)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(SnapshotView {
            id: r.try_get("id")?,
            taken_at: r.try_get("taken_at")?,
            source: r.try_get("source")?,
            file_name: r.try_get("file_name")?,
            file_sha256: r.try_get("file_sha256")?,
            encoding: r.try_get("encoding")?,
            accounts: r.try_get("accounts")?,
            imported_by: r.try_get("display_name")?,
        });
    }
    Ok(out)
}

/// A page of a snapshot's accounts: text matches id, email, name or entitlement; `flag` keeps
/// those with that flag. With the count of all matches.
pub async fn accounts(
    pool: &AnyPool,
    snapshot_id: i64,
    q: &str,
    flag: Option<Flag>,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AccountView>, i64), AppError> {
    let like = format!(
        "%{}%",
        q.trim().to_lowercase().replace(['%', '_', '\\'], "")
    );
    let flag = flag
        .map(|f| format!("%,{},%", f.as_str()))
        .unwrap_or_else(|| "%".into());
    let filter = "snapshot_id = $1 AND ($2 = '%%' OR LOWER(user_id) LIKE $2 OR LOWER(COALESCE(email, '')) LIKE $2 \
         OR LOWER(name) LIKE $2 OR LOWER(entitlement) LIKE $2) AND (',' || flags || ',') LIKE $3";
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM snapshot_accounts WHERE {filter}"
    ))
    .bind(snapshot_id)
    .bind(&like)
    .bind(&flag)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT key, user_id, email, name, entitlement, account_type, active, last_used, mfa, manager_email, \
         flags, flag_notes FROM snapshot_accounts WHERE {filter} ORDER BY key LIMIT $4 OFFSET $5"
    ))
    .bind(snapshot_id)
    .bind(&like)
    .bind(&flag)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    let out = rows.iter().map(account_view).collect::<Result<_, _>>()?;
    Ok((out, total))
}

/// An account row as the pages show it (the columns of `snapshot_accounts`).
pub(super) fn account_view(r: &sqlx::any::AnyRow) -> Result<AccountView, sqlx::Error> {
    let codes: String = r.try_get("flags")?;
    let notes: String = r.try_get("flag_notes")?;
    Ok(AccountView {
        key: r.try_get("key")?,
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        entitlement: r.try_get("entitlement")?,
        account_type: r.try_get("account_type")?,
        active: r.try_get::<i64, _>("active")? == 1,
        last_used: r.try_get("last_used")?,
        mfa: r.try_get::<Option<i64>, _>("mfa")?.map(|m| m == 1),
        manager_email: r.try_get("manager_email")?,
        flags: codes
            .split(',')
            .filter(|c| !c.is_empty())
            .zip(notes.split('\n'))
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect(),
    })
}

/// (code, label, accounts) for each flag in a snapshot: one read of the flags column.
pub async fn flag_counts(
    pool: &AnyPool,
    snapshot_id: i64,
) -> Result<Vec<(String, String, i64)>, AppError> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT flags FROM snapshot_accounts WHERE snapshot_id = $1 AND flags <> ''",
    )
    .bind(snapshot_id)
    .fetch_all(pool)
    .await?;
    let mut n: HashMap<&str, i64> = HashMap::new();
    for code in rows.iter().flat_map(|r| r.split(',')) {
        *n.entry(code).or_default() += 1;
    }
    Ok(Flag::ALL
        .iter()
        .map(|f| {
            let count = n.get(f.as_str()).copied().unwrap_or(0);
            (f.as_str().to_string(), f.label().to_string(), count)
        })
        .collect())
}

/// Steward's own users as accounts: the role is the entitlement, the last sign-in comes from
/// the audit trail, and Steward has no multi-factor sign-in yet (said as no MFA).
pub async fn steward_accounts(pool: &AnyPool) -> Result<Vec<Account>, AppError> {
    let users: Vec<(String, String, Option<String>, String, i64, String)> = sqlx::query_as(
        "SELECT username, display_name, email, role, active, created_at FROM users ORDER BY username",
    )
    .fetch_all(pool)
    .await?;
    let logins: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, MAX(at) FROM audit_events WHERE action = 'auth.login' GROUP BY actor",
    )
    .fetch_all(pool)
    .await?;
    let last: HashMap<String, String> = logins.into_iter().collect();
    let day_of = |ts: &str| crate::util::parse_date(ts.get(..10).unwrap_or(""));
    Ok(users
        .into_iter()
        .map(|(username, name, email, role, active, created)| Account {
            key: username.clone(),
            last_used: last.get(&username).and_then(|t| day_of(t)),
            user_id: username,
            email: email.map(|e| e.to_lowercase()),
            name,
            entitlement: role,
            account_type: AccountType::Human,
            active: active == 1,
            created: day_of(&created),
            mfa: Some(false),
            manager_email: None,
            rotated: None,
        })
        .collect())
}
