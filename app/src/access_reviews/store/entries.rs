//! A reviewer's entries: the queue (only their own, checked here on the server), decisions one
//! by one or in bulk over a filter, each with its history row and audit event, and
//! reassignment with a reason.

use super::super::campaigns::*;
use super::super::flags::Flag;
use crate::context::{require, CurrentUser};
use crate::error::AppError;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use sqlx::Row;

pub const PER_PAGE: i64 = 100;

const ROW: &str = "SELECT e.id, c.name AS campaign, s.name AS system, e.routed_by, e.decision, e.note, e.decided_at, \
     a.key, a.user_id, a.email, a.name, a.entitlement, a.account_type, a.active, a.last_used, a.mfa, \
     a.manager_email, a.flags, a.flag_notes \
     FROM access_entries e JOIN access_campaigns c ON c.id = e.campaign_id JOIN systems s ON s.id = e.system_id \
     JOIN snapshot_accounts a ON a.snapshot_id = e.snapshot_id AND a.key = e.account_key";

fn entry(r: &sqlx::any::AnyRow) -> Result<EntryView, sqlx::Error> {
    Ok(EntryView {
        id: r.try_get("id")?,
        campaign: r.try_get("campaign")?,
        system: r.try_get("system")?,
        routed_by: r.try_get("routed_by")?,
        decision: r.try_get("decision")?,
        note: r.try_get("note")?,
        decided_at: r.try_get("decided_at")?,
        account: super::snapshots::account_view(r)?,
    })
}

fn check_filter(f: &QueueFilter) -> Result<(), AppError> {
    let flag = f.flag.trim();
    if !flag.is_empty() && flag != "none" && Flag::parse(flag).is_none() {
        return Err(AppError::invalid(format!("flag: '{flag}' is not a flag")));
    }
    if f.used_within.is_some_and(|d| !(0..=36500).contains(&d)) {
        return Err(AppError::invalid("used within: days from 0"));
    }
    Ok(())
}

/// The filter as SQL over `ROW`'s tables: $1 reviewer, $2 campaign (0: any), $3 a LIKE
/// pattern over account, email, name and entitlement ('' : any), $4 flag ('' any, `none`, a
/// code), $5 state ('' any, `open`, `decided`), $6 MFA on only (0/1), $7 used on or after
/// (''  : any). Every condition is in the database, so a page reads only its rows.
const FILTER: &str = "e.reviewer_id = $1 AND ($2 = 0 OR e.campaign_id = $2) \
     AND c.status IN ('in_review', 'remediation', 'completed') \
     AND ($3 = '' OR LOWER(a.user_id) LIKE $3 ESCAPE '!' OR LOWER(COALESCE(a.email, '')) LIKE $3 ESCAPE '!' \
          OR LOWER(a.name) LIKE $3 ESCAPE '!' OR LOWER(a.entitlement) LIKE $3 ESCAPE '!') \
     AND ($4 = '' OR ($4 = 'none' AND a.flags = '') OR ($4 <> 'none' AND (',' || a.flags || ',') LIKE ('%,' || $4 || ',%'))) \
     AND ($5 = '' OR ($5 = 'open' AND e.decision IS NULL) OR ($5 = 'decided' AND e.decision IS NOT NULL)) \
     AND ($6 = 0 OR a.mfa = 1) \
     AND ($7 = '' OR a.last_used >= $7)";

/// What `FILTER` binds after the reviewer ($2 to $7).
struct Binds {
    campaign: i64,
    like: String,
    flag: String,
    state: String,
    mfa: i64,
    since: String,
}

impl Binds {
    fn of(f: &QueueFilter, today: time::Date) -> Binds {
        let q = f.q.trim().to_lowercase();
        let like = if q.is_empty() {
            String::new()
        } else {
            let escaped: String = q
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '!' => vec!['!', c],
                    c => vec![c],
                })
                .collect();
            format!("%{escaped}%")
        };
        let state = match f.state.trim() {
            s @ ("open" | "decided") => s.to_string(),
            _ => String::new(),
        };
        Binds {
            campaign: f.campaign.unwrap_or(0),
            like,
            flag: f.flag.trim().to_string(),
            state,
            mfa: f.mfa as i64,
            since: f
                .used_within
                .map(|d| crate::util::fmt_date(today - time::Duration::days(d)))
                .unwrap_or_default(),
        }
    }

    /// `sql` (which holds `FILTER`) with $1 to $7 bound.
    fn query<'q>(&'q self, sql: &'q str, reviewer: i64) -> AnyQuery<'q> {
        sqlx::query(sql)
            .bind(reviewer)
            .bind(self.campaign)
            .bind(&self.like)
            .bind(&self.flag)
            .bind(&self.state)
            .bind(self.mfa)
            .bind(&self.since)
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

const FROM: &str = "FROM access_entries e JOIN access_campaigns c ON c.id = e.campaign_id JOIN systems s ON s.id = e.system_id \
     JOIN snapshot_accounts a ON a.snapshot_id = e.snapshot_id AND a.key = e.account_key";

/// The ids of `reviewer`'s open entries the filter keeps.
async fn open_ids(
    pool: &sqlx::AnyPool,
    reviewer: i64,
    f: &QueueFilter,
    today: time::Date,
) -> Result<Vec<i64>, AppError> {
    let b = Binds {
        state: "open".into(),
        ..Binds::of(f, today)
    };
    let sql = format!("SELECT e.id {FROM} WHERE {FILTER} ORDER BY e.id");
    let rows = b.query(&sql, reviewer).fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?)
}

pub async fn queue_request(f: QueueFilter, page: i64) -> Result<Queue, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    check_filter(&f)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let today = state.clock.now().date();
    let page = page.clamp(1, 1_000_000);
    let b = Binds::of(&f, today);
    let sql = format!("{ROW} WHERE {FILTER} ORDER BY c.id DESC, s.name, a.key LIMIT $8 OFFSET $9");
    let rows = b
        .query(&sql, su.user.id)
        .bind(PER_PAGE)
        .bind((page - 1) * PER_PAGE)
        .fetch_all(pool)
        .await?;
    let entries = rows.iter().map(entry).collect::<Result<_, _>>()?;
    let sql = format!("SELECT COUNT(*) {FROM} WHERE {FILTER}");
    let total: i64 = b
        .query(&sql, su.user.id)
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_entries e JOIN access_campaigns c ON c.id = e.campaign_id \
         WHERE e.reviewer_id = $1 AND ($2 = 0 OR e.campaign_id = $2) AND e.decision IS NULL AND c.status = 'in_review'",
    )
    .bind(su.user.id)
    .bind(b.campaign)
    .fetch_one(pool)
    .await?;
    let mut campaigns: Vec<(i64, String)> = sqlx::query_as(
        "SELECT DISTINCT c.id, c.name FROM access_entries e JOIN access_campaigns c ON c.id = e.campaign_id \
         WHERE e.reviewer_id = $1 AND c.status IN ('in_review', 'remediation', 'completed')",
    )
    .bind(su.user.id)
    .fetch_all(pool)
    .await?;
    campaigns.sort_by_key(|c| std::cmp::Reverse(c.0));
    Ok(Queue {
        entries,
        total,
        open,
        page,
        per_page: PER_PAGE,
        campaigns,
    })
}

fn check_decision(decision: &str, note: &str) -> Result<(), AppError> {
    if !DECISIONS.contains(&decision) {
        return Err(AppError::invalid(format!(
            "decision: '{decision}' is not keep, revoke or modify"
        )));
    }
    if decision != "keep" && note.trim().is_empty() {
        return Err(AppError::invalid(format!(
            "note: required to {decision} (what to remove or change, and why)"
        )));
    }
    if note.chars().count() > 2000 {
        return Err(AppError::invalid("note: at most 2000 characters"));
    }
    Ok(())
}

pub async fn decide_request(id: i64, decision: String, note: String) -> Result<(), AppError> {
    let su = require(Permission::ViewOwnWork)?;
    check_decision(&decision, &note)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let row: Option<(i64, String, String, String)> = sqlx::query_as(
        "SELECT e.reviewer_id, c.status, s.name, e.account_key FROM access_entries e \
         JOIN access_campaigns c ON c.id = e.campaign_id JOIN systems s ON s.id = e.system_id WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    // Another reviewer's entry does not exist for this one.
    let (_, status, system, key) = row
        .filter(|r| r.0 == su.user.id)
        .ok_or(AppError::NotFound)?;
    if status != "in_review" {
        return Err(AppError::Conflict(format!(
            "The campaign is {status}: decisions are closed."
        )));
    }
    record(&mut tx, &su.user, &ctx.at, &[id], &decision, note.trim()).await?;
    tx.audit(ctx.event(
        "access.entry_decided",
        "access_entry",
        id,
        format!(
            "{decision} {system} account '{key}'{}",
            if note.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", note.trim())
            }
        ),
    ))
    .await?;
    tx.commit().await
}

/// Sets the decision on `ids` with a history row each (in the caller's transaction).
async fn record(
    tx: &mut crate::db::WriteTx,
    by: &CurrentUser,
    at: &str,
    ids: &[i64],
    decision: &str,
    note: &str,
) -> Result<(), AppError> {
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query(&format!(
            "UPDATE access_entries SET decision = $1, note = $2, decided_by = $3, decided_at = $4 WHERE id IN ({list})"
        ))
        .bind(decision)
        .bind(note)
        .bind(by.id)
        .bind(at)
        .execute(tx.conn())
        .await?;
        let mut sql = String::from("INSERT INTO access_entry_history (entry_id, action, decision, note, by_id, at) VALUES ");
        sql.push_str(&crate::db::placeholders(chunk.len(), 6));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q
                .bind(*id)
                .bind("decided")
                .bind(decision)
                .bind(note)
                .bind(by.id)
                .bind(at);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(())
}

pub async fn bulk_request(f: QueueFilter, decision: String, note: String) -> Result<i64, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    check_filter(&f)?;
    check_decision(&decision, &note)?;
    let Some(campaign) = f.campaign else {
        return Err(AppError::invalid(
            "campaign: choose the campaign to decide in bulk",
        ));
    };
    let state = app_state()?;
    let today = state.clock.now().date();
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM access_campaigns WHERE id = $1")
            .bind(campaign)
            .fetch_optional(state.db.pool())
            .await?;
    match status.as_deref() {
        None => return Err(AppError::NotFound),
        Some("in_review") => {}
        Some(s) => {
            return Err(AppError::Conflict(format!(
                "The campaign is {s}: decisions are closed."
            )))
        }
    }
    // Read outside the write lock; the update re-checks each entry is still open and theirs.
    let ids = open_ids(state.db.pool(), su.user.id, &f, today).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let mut still: Vec<i64> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let open: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM access_entries WHERE id IN ({list}) AND reviewer_id = $1 AND decision IS NULL"
        ))
        .bind(su.user.id)
        .fetch_all(tx.conn())
        .await?;
        still.extend(open);
    }
    record(&mut tx, &su.user, &ctx.at, &still, &decision, note.trim()).await?;
    tx.audit(ctx.event(
        "access.entries_bulk_decided",
        "access_campaign",
        campaign,
        format!(
            "{decision} {} account(s) in bulk (filter: text '{}', flag '{}', MFA only {}, used within {} days){}",
            still.len(),
            f.q.trim(),
            f.flag.trim(),
            f.mfa,
            f.used_within.map(|d| d.to_string()).unwrap_or_else(|| "any".into()),
            if note.trim().is_empty() { String::new() } else { format!(": {}", note.trim()) }
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(still.len() as i64)
}

pub async fn reassign_request(id: i64, to: String, reason: String) -> Result<(), AppError> {
    let su = require(Permission::ViewOwnWork)?;
    if reason.trim().is_empty() || reason.chars().count() > 2000 {
        return Err(AppError::invalid(
            "reason: required, at most 2000 characters",
        ));
    }
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let row = sqlx::query(
        "SELECT c.owner_id, c.status, e.decision, a.user_id, a.email, s.name FROM access_entries e \
         JOIN access_campaigns c ON c.id = e.campaign_id JOIN systems s ON s.id = e.system_id \
         JOIN snapshot_accounts a ON a.snapshot_id = e.snapshot_id AND a.key = e.account_key WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    let owner: i64 = row.try_get("owner_id")?;
    if owner != su.user.id && !su.user.can(Permission::ManageAccessReviews) {
        return Err(AppError::NotFound);
    }
    let status: String = row.try_get("status")?;
    if status != "in_review" || row.try_get::<Option<String>, _>("decision")?.is_some() {
        return Err(AppError::Conflict(
            "Only an open entry of a campaign in review is reassigned.".into(),
        ));
    }
    let target = crate::budgets::store::person(tx.conn(), "to", to.trim())
        .await
        .map_err(|(f, why)| AppError::invalid(format!("{f}: {why}")))?;
    let (username, email): (String, Option<String>) =
        sqlx::query_as("SELECT username, email FROM users WHERE id = $1")
            .bind(target)
            .fetch_one(tx.conn())
            .await?;
    let user_id: String = row.try_get("user_id")?;
    let account_email: Option<String> = row.try_get("email")?;
    let holds = username.eq_ignore_ascii_case(&user_id)
        || matches!((&email, &account_email), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
    if holds {
        return Err(AppError::invalid(format!(
            "to: '{username}' holds this account; no one reviews their own"
        )));
    }
    sqlx::query(
        "UPDATE access_entries SET reviewer_id = $1, routed_by = 'reassigned' WHERE id = $2",
    )
    .bind(target)
    .bind(id)
    .execute(tx.conn())
    .await?;
    sqlx::query("INSERT INTO access_entry_history (entry_id, action, note, by_id, at) VALUES ($1, 'reassigned', $2, $3, $4)")
        .bind(id)
        .bind(format!("to {username}: {}", reason.trim()))
        .bind(su.user.id)
        .bind(&ctx.at)
        .execute(tx.conn())
        .await?;
    let system: String = row.try_get("name")?;
    tx.audit(ctx.event(
        "access.entry_reassigned",
        "access_entry",
        id,
        format!(
            "{system} account '{user_id}' reassigned to {username}: {}",
            reason.trim()
        ),
    ))
    .await?;
    tx.commit().await
}

pub async fn my_work_request() -> Result<AccessWork, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let campaigns = sqlx::query_as(
        "SELECT c.id, c.name, c.due_date, COUNT(*) FROM access_entries e JOIN access_campaigns c ON c.id = e.campaign_id \
         WHERE e.reviewer_id = $1 AND e.decision IS NULL AND c.status = 'in_review' \
         GROUP BY c.id, c.name, c.due_date ORDER BY c.due_date, c.id",
    )
    .bind(su.user.id)
    .fetch_all(pool)
    .await?;
    let remediation = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_remediations r JOIN access_campaigns c ON c.id = r.campaign_id \
         WHERE r.assignee_id = $1 AND r.status = 'open' AND c.status = 'remediation'",
    )
    .bind(su.user.id)
    .fetch_one(pool)
    .await?;
    Ok(AccessWork {
        campaigns,
        remediation,
    })
}
