//! Campaigns: planning (checked, audited), starting (each system's latest snapshot frozen and
//! every account routed, in one transaction), the list and one campaign with its progress.

use super::super::campaigns::*;
use super::super::routing::{self, Directory, Holder, Reviewer};
use super::snapshots;
use crate::audit::chain::AuditCtx;
use crate::context::require;
use crate::db::Db;
use crate::error::AppError;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

/// A system in a campaign: id, name, owner, named reviewer, latest snapshot.
type InScope = (i64, String, Option<i64>, Option<i64>, Option<i64>);

/// Rows per INSERT statement of entries.
const BATCH: usize = 300;

pub async fn list_request() -> Result<CampaignList, AppError> {
    let su = require(Permission::ViewAccessReviews)?;
    let state = app_state()?;
    let today = state.clock.now().date().to_string();
    Ok(CampaignList {
        campaigns: summaries(state.db.pool(), None, &today).await?,
        can_manage: su.user.can(Permission::ManageAccessReviews),
    })
}

pub async fn detail_request(id: i64) -> Result<CampaignDetail, AppError> {
    let su = require(Permission::ViewAccessReviews)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let today = state.clock.now().date().to_string();
    let campaign = summaries(pool, Some(id), &today)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let systems: Vec<(String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT s.name, cs.snapshot_id, u.display_name FROM access_campaign_systems cs \
         JOIN systems s ON s.id = cs.system_id LEFT JOIN users u ON u.id = cs.reviewer_id \
         WHERE cs.campaign_id = $1 ORDER BY s.name",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let controls: Vec<String> = sqlx::query_scalar(
        "SELECT c.ref FROM access_campaign_controls cc JOIN controls c ON c.id = cc.control_id \
         WHERE cc.campaign_id = $1 ORDER BY c.ref",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT u.display_name, e.decision, COUNT(*) FROM access_entries e JOIN users u ON u.id = e.reviewer_id \
         WHERE e.campaign_id = $1 GROUP BY u.display_name, e.decision ORDER BY u.display_name",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut reviewers: Vec<(String, Progress)> = Vec::new();
    for (name, decision, n) in rows {
        if reviewers.last().is_none_or(|(r, _)| *r != name) {
            reviewers.push((name.clone(), Progress::default()));
        }
        if let Some((_, p)) = reviewers.last_mut() {
            add(p, decision.as_deref(), n);
        }
    }
    let remediation: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM access_remediations WHERE campaign_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let (owner, evidence, sha, next, closed_note): (i64, Option<i64>, Option<String>, Option<i64>, String) =
        sqlx::query_as(
            "SELECT owner_id, report_evidence_id, report_sha256, next_campaign_id, closed_note FROM access_campaigns WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await?;
    let summary: Option<String> =
        sqlx::query_scalar("SELECT description FROM evidence WHERE id = $1")
            .bind(evidence.unwrap_or(0))
            .fetch_optional(pool)
            .await?;
    Ok(CampaignDetail {
        summary: summary.unwrap_or_default(),
        campaign,
        systems,
        controls,
        reviewers,
        remediation,
        report: evidence.zip(sha),
        next_campaign: next,
        closed_note,
        can_manage: su.user.can(Permission::ManageAccessReviews),
        is_owner: owner == su.user.id,
    })
}

fn add(p: &mut Progress, decision: Option<&str>, n: i64) {
    p.total += n;
    match decision {
        Some("keep") => p.keep += n,
        Some("revoke") => p.revoke += n,
        Some("modify") => p.modify += n,
        _ => return,
    }
    p.decided += n;
}

async fn summaries(
    pool: &AnyPool,
    one: Option<i64>,
    today: &str,
) -> Result<Vec<CampaignSummary>, AppError> {
    let rows = sqlx::query(
        "SELECT c.id, c.name, u.display_name, c.status, c.due_date, c.recurrence FROM access_campaigns c \
         JOIN users u ON u.id = c.owner_id WHERE $1 = 0 OR c.id = $1 ORDER BY c.id DESC LIMIT 200",
    )
    .bind(one.unwrap_or(0))
    .fetch_all(pool)
    .await?;
    // Systems and decision counts of every listed campaign: two grouped reads, not two a campaign.
    let scope = "($1 = 0 OR campaign_id = $1)";
    let mut systems: HashMap<i64, Vec<String>> = HashMap::new();
    let named: Vec<(i64, String)> = sqlx::query_as(&format!(
        "SELECT cs.campaign_id, s.name FROM access_campaign_systems cs JOIN systems s ON s.id = cs.system_id \
         WHERE {scope} ORDER BY s.name"
    ))
    .bind(one.unwrap_or(0))
    .fetch_all(pool)
    .await?;
    for (c, n) in named {
        systems.entry(c).or_default().push(n);
    }
    let mut progress: HashMap<i64, Progress> = HashMap::new();
    let counts: Vec<(i64, Option<String>, i64)> = sqlx::query_as(&format!(
        "SELECT campaign_id, decision, COUNT(*) FROM access_entries WHERE {scope} GROUP BY campaign_id, decision"
    ))
    .bind(one.unwrap_or(0))
    .fetch_all(pool)
    .await?;
    for (c, d, n) in counts {
        add(progress.entry(c).or_default(), d.as_deref(), n);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let due: String = r.try_get("due_date")?;
        let progress = progress.remove(&id).unwrap_or_default();
        let status: String = r.try_get("status")?;
        let open = progress.total - progress.decided;
        out.push(CampaignSummary {
            id,
            name: r.try_get("name")?,
            owner: r.try_get("display_name")?,
            overdue: if status == "in_review" && due.as_str() < today {
                open
            } else {
                0
            },
            status,
            due,
            recurrence: r.try_get("recurrence")?,
            systems: systems.remove(&id).unwrap_or_default(),
            progress,
        });
    }
    Ok(out)
}

/// Someone who may review or own: active, not an auditor; by username or email.
async fn user(
    conn: &mut sqlx::AnyConnection,
    field: &'static str,
    who: &str,
) -> Result<i64, String> {
    crate::budgets::store::person(conn, field, who)
        .await
        .map_err(|(f, why)| format!("{f}: {why}"))
}

pub async fn save_request(form: CampaignForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    save(
        &state.db,
        &audit_ctx(&state, Some(&su.user)),
        &form,
        su.user.id,
    )
    .await
}

/// Plans a campaign (a draft); every bad field is named at once.
pub async fn save(db: &Db, ctx: &AuditCtx, f: &CampaignForm, by: i64) -> Result<i64, AppError> {
    let mut errors: Vec<String> = Vec::new();
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("name: required, at most 200 characters".into());
    }
    let due = crate::util::parse_date(&f.due);
    if due.is_none() {
        errors.push(format!(
            "due: '{}' is not a date (YYYY-MM-DD)",
            f.due.trim()
        ));
    }
    let recurrence = match f.recurrence.trim() {
        "" => "none",
        r if RECURRENCES.contains(&r) => r,
        r => {
            errors.push(format!(
                "recurrence: '{r}' is not none, quarterly, semiannual or annual"
            ));
            "none"
        }
    };
    let mut tx = db.write().await?;
    let owner = match user(tx.conn(), "owner", f.owner.trim()).await {
        Ok(id) => {
            // The owner closes, signs off and hears of escalations: someone who runs reviews.
            let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
                .bind(id)
                .fetch_one(tx.conn())
                .await?;
            let runs = role
                .parse::<crate::policy::Role>()
                .is_ok_and(|r| crate::policy::role_has(r, Permission::ManageAccessReviews));
            if !runs {
                errors.push(format!(
                    "owner: '{}' is a {role}; the owner runs access reviews (admin or compliance)",
                    f.owner.trim()
                ));
            }
            runs.then_some(id)
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let mut systems: Vec<(i64, String)> = Vec::new();
    for s in f
        .systems
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM systems WHERE LOWER(name) = LOWER($1)")
                .bind(s)
                .fetch_optional(tx.conn())
                .await?;
        match id {
            Some(id) if !systems.iter().any(|(x, _)| *x == id) => systems.push((id, s.to_string())),
            Some(_) => {}
            None => errors.push(format!("systems: no system is named '{s}'")),
        }
    }
    if f.systems.trim().is_empty() {
        errors.push("systems: name at least one".into());
    }
    let mut named: HashMap<i64, i64> = HashMap::new();
    for line in f.reviewers.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((sys, who)) = line.split_once('=') else {
            errors.push(format!("reviewers: '{line}' is not 'System = username'"));
            continue;
        };
        let Some((sid, _)) = systems
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(sys.trim()))
        else {
            errors.push(format!(
                "reviewers: '{}' is not one of the campaign's systems",
                sys.trim()
            ));
            continue;
        };
        match user(tx.conn(), "reviewers", who.trim()).await {
            Ok(uid) => {
                named.insert(*sid, uid);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut controls: Vec<i64> = Vec::new();
    for c in f
        .controls
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM controls WHERE ref = $1")
            .bind(c)
            .fetch_optional(tx.conn())
            .await?;
        match id {
            Some(id) if !controls.contains(&id) => controls.push(id),
            Some(_) => {}
            None => errors.push(format!("controls: no control has the reference '{c}'")),
        }
    }
    let (Some(owner), Some(due), true) = (owner, due, errors.is_empty()) else {
        return Err(AppError::invalid(errors.join("; ")));
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_campaigns (name, owner_id, status, due_date, recurrence, created_by, created_at, updated_at) \
         VALUES ($1, $2, 'draft', $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(name)
    .bind(owner)
    .bind(due.to_string())
    .bind(recurrence)
    .bind(by)
    .bind(&ctx.at)
    .fetch_one(tx.conn())
    .await?;
    for (sid, _) in &systems {
        sqlx::query("INSERT INTO access_campaign_systems (campaign_id, system_id, reviewer_id) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(sid)
            .bind(named.get(sid).copied())
            .execute(tx.conn())
            .await?;
    }
    for c in &controls {
        sqlx::query(
            "INSERT INTO access_campaign_controls (campaign_id, control_id) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(c)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(ctx.event(
        "access.campaign_created",
        "access_campaign",
        id,
        format!(
            "planned access review '{name}' of {} due {due} ({recurrence})",
            systems.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn start_request(id: i64) -> Result<i64, AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    start(&state.db, &audit_ctx(&state, Some(&su.user)), id).await
}

/// Freezes each system's latest snapshot and routes every account; the entries made.
pub async fn start(db: &Db, ctx: &AuditCtx, id: i64) -> Result<i64, AppError> {
    let pool = db.pool();
    let people = snapshots::people(pool).await?;
    let users: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, username, email FROM users WHERE active = 1 AND role <> 'auditor'",
    )
    .fetch_all(pool)
    .await?;
    let reviewer = |id: i64| {
        users
            .iter()
            .find(|u| u.0 == id)
            .map(|(id, username, email)| Reviewer {
                id: *id,
                username: username.clone(),
                email: email.clone(),
            })
    };
    let dir = Directory {
        by_email: users
            .iter()
            .filter_map(|(id, u, e)| {
                let e = e.as_ref()?.to_lowercase();
                Some((
                    e.clone(),
                    Reviewer {
                        id: *id,
                        username: u.clone(),
                        email: Some(e),
                    },
                ))
            })
            .collect(),
        people: people.as_ref(),
    };
    let mut tx = db.write().await?;
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT name, status, owner_id FROM access_campaigns WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let (name, status, owner_id) = row.ok_or(AppError::NotFound)?;
    if status != "draft" {
        return Err(AppError::Conflict(format!(
            "The campaign is {status}: only a draft starts."
        )));
    }
    let campaign_owner = reviewer(owner_id).ok_or_else(|| {
        AppError::Conflict(
            "The campaign's owner is no longer an active user: change the owner.".into(),
        )
    })?;
    let systems: Vec<InScope> = sqlx::query_as(
        "SELECT s.id, s.name, s.owner_id, cs.reviewer_id, \
         (SELECT MAX(n.id) FROM account_snapshots n WHERE n.system_id = s.id) \
         FROM access_campaign_systems cs JOIN systems s ON s.id = cs.system_id WHERE cs.campaign_id = $1 ORDER BY s.name",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let mut total = 0i64;
    let mut by_route: HashMap<&'static str, i64> = HashMap::new();
    for (sid, sname, owner, named, snapshot) in &systems {
        let snapshot = snapshot.ok_or_else(|| {
            AppError::Conflict(format!(
                "{sname} has no snapshot yet: import its accounts first."
            ))
        })?;
        let owner = owner.and_then(reviewer);
        let named = named.and_then(reviewer);
        let accounts: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT key, user_id, email, manager_email FROM snapshot_accounts WHERE snapshot_id = $1 ORDER BY key",
        )
        .bind(snapshot)
        .fetch_all(tx.conn())
        .await?;
        let mut routed = Vec::with_capacity(accounts.len());
        for (key, user_id, email, manager) in &accounts {
            let h = Holder {
                user_id,
                email: email.as_deref(),
                manager_email: manager.as_deref(),
            };
            let (r, why) =
                routing::route(&h, named.as_ref(), owner.as_ref(), &campaign_owner, &dir)
                    .map_err(|e| AppError::Conflict(format!("{sname}, account {e}")))?;
            *by_route.entry(why.as_str()).or_default() += 1;
            routed.push((key, r.id, why.as_str()));
        }
        for chunk in routed.chunks(BATCH) {
            let mut sql = String::from(
                "INSERT INTO access_entries (campaign_id, system_id, snapshot_id, account_key, reviewer_id, routed_by) VALUES ",
            );
            sql.push_str(&crate::db::placeholders(chunk.len(), 6));
            let mut q = sqlx::query(&sql);
            for (key, reviewer, why) in chunk {
                q = q
                    .bind(id)
                    .bind(sid)
                    .bind(snapshot)
                    .bind(*key)
                    .bind(*reviewer)
                    .bind(*why);
            }
            q.execute(tx.conn()).await?;
        }
        sqlx::query("UPDATE access_campaign_systems SET snapshot_id = $1 WHERE campaign_id = $2 AND system_id = $3")
            .bind(snapshot)
            .bind(id)
            .bind(sid)
            .execute(tx.conn())
            .await?;
        total += accounts.len() as i64;
    }
    sqlx::query("UPDATE access_campaigns SET status = 'in_review', started_at = $1, updated_at = $1 WHERE id = $2")
        .bind(&ctx.at)
        .bind(id)
        .execute(tx.conn())
        .await?;
    let mut routes: Vec<String> = by_route.iter().map(|(k, v)| format!("{k} {v}")).collect();
    routes.sort();
    tx.audit(ctx.event(
        "access.campaign_started",
        "access_campaign",
        id,
        format!(
            "started access review '{name}': {total} account(s) frozen and routed ({})",
            routes.join(", ")
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(total)
}
