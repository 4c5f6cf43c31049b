//! A campaign after its review: closing the review (every entry decided; revoke and modify
//! decisions become remediation items), the owner's sign-off (every item verified or accepted:
//! the report is stored as evidence on the mapped controls and a recurring campaign plans its
//! next draft), and cancelling.

use super::super::report::{self, ReportRow};
use crate::audit::chain::AuditCtx;
use crate::context::require;
use crate::db::WriteTx;
use crate::error::AppError;
use crate::evidence::generated::{self, Generated};
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::{fmt_date, parse_date};
use sqlx::Row;

async fn status(tx: &mut WriteTx, id: i64) -> Result<(String, String, i64), AppError> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT name, status, owner_id FROM access_campaigns WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    row.ok_or(AppError::NotFound)
}

/// Closes the review: remediation items made (and checked against any newer snapshot).
pub async fn close_request(id: i64) -> Result<i64, AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let (name, st, owner) = status(&mut tx, id).await?;
    if st != "in_review" {
        return Err(AppError::Conflict(format!(
            "The campaign is {}: only a review in progress closes.",
            st.replace('_', " ")
        )));
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_entries WHERE campaign_id = $1 AND decision IS NULL",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    if open > 0 {
        return Err(AppError::Conflict(format!(
            "{open} entries are still undecided: the review closes when every account is decided."
        )));
    }
    sqlx::query(
        "UPDATE access_campaigns SET status = 'remediation', updated_at = $1 WHERE id = $2",
    )
    .bind(&ctx.at)
    .bind(id)
    .execute(tx.conn())
    .await?;
    let made = super::remediation::create(&mut tx, id, owner, &ctx.at).await?;
    let verified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_remediations WHERE campaign_id = $1 AND status = 'verified'",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "access.review_closed",
        "access_campaign",
        id,
        format!(
            "closed the review of '{name}': {made} remediation item(s), {verified} verified already by a newer snapshot"
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(made as i64)
}

/// Every entry of a campaign as its report says it.
async fn rows(pool: &sqlx::AnyPool, id: i64) -> Result<Vec<ReportRow>, AppError> {
    let rows = sqlx::query(
        "SELECT s.name AS system, a.key, a.user_id, a.email, a.name, a.entitlement, a.account_type, a.active, \
         a.last_used, a.mfa, a.flags, rv.display_name AS reviewer, e.routed_by, e.decision, e.note, \
         d.display_name AS decided_by, e.decided_at, r.action, r.status, r.resolution, x.display_name AS resolver, \
         r.resolved_at, r.checked_snapshot_id \
         FROM access_entries e JOIN systems s ON s.id = e.system_id \
         JOIN snapshot_accounts a ON a.snapshot_id = e.snapshot_id AND a.key = e.account_key \
         JOIN users rv ON rv.id = e.reviewer_id LEFT JOIN users d ON d.id = e.decided_by \
         LEFT JOIN access_remediations r ON r.entry_id = e.id LEFT JOIN users x ON x.id = r.resolved_by \
         WHERE e.campaign_id = $1 ORDER BY s.name, a.key",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let text = |o: Option<String>| o.unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let status: Option<String> = r.try_get("status")?;
        let verification = match status.as_deref() {
            Some("exception") => format!(
                "Exception accepted by {} at {}: {}",
                text(r.try_get("resolver")?),
                text(r.try_get("resolved_at")?),
                r.try_get::<String, _>("resolution")?
            ),
            Some(_) => format!(
                "{} (checked {})",
                r.try_get::<String, _>("resolution")?,
                text(r.try_get("resolved_at")?)
            ),
            None => String::new(),
        };
        out.push(ReportRow {
            system: r.try_get("system")?,
            account_key: r.try_get("key")?,
            user_id: r.try_get("user_id")?,
            email: text(r.try_get("email")?),
            name: r.try_get("name")?,
            entitlement: r.try_get("entitlement")?,
            account_type: r.try_get("account_type")?,
            active: r.try_get::<i64, _>("active")? == 1,
            last_used: text(r.try_get("last_used")?),
            mfa: match r.try_get::<Option<i64>, _>("mfa")? {
                Some(1) => "yes".into(),
                Some(_) => "no".into(),
                None => String::new(),
            },
            flags: r.try_get::<String, _>("flags")?.replace(',', " "),
            reviewer: r.try_get("reviewer")?,
            routed_by: r.try_get("routed_by")?,
            decision: text(r.try_get("decision")?),
            note: r.try_get("note")?,
            decided_by: text(r.try_get("decided_by")?),
            decided_at: text(r.try_get("decided_at")?),
            remediation: text(r.try_get("action")?),
            remediation_status: text(status),
            verification,
        });
    }
    Ok(out)
}

/// A campaign is signed off once, in remediation, with no item left open.
async fn ready(conn: &mut sqlx::AnyConnection, id: i64) -> Result<(), AppError> {
    let st: String = sqlx::query_scalar("SELECT status FROM access_campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if st != "remediation" {
        return Err(AppError::Conflict(format!(
            "The campaign is {}: it is signed off after its review closes, once.",
            st.replace('_', " ")
        )));
    }
    let open: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.name, r.account_key FROM access_remediations r JOIN systems s ON s.id = r.system_id \
         WHERE r.campaign_id = $1 AND r.status = 'open' ORDER BY s.name, r.account_key",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    if open.is_empty() {
        return Ok(());
    }
    let first: Vec<String> = open
        .iter()
        .take(5)
        .map(|(s, k)| format!("{s} '{k}'"))
        .collect();
    Err(AppError::Conflict(format!(
        "{} remediation item(s) are neither verified by a later snapshot nor accepted as exceptions: {}{}",
        open.len(),
        first.join(", "),
        if open.len() > 5 { ", …" } else { "" }
    )))
}

/// The owner's sign-off: the report stored as evidence, the next draft planned; the evidence id.
pub async fn complete_request(id: i64) -> Result<i64, AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let pool = state.db.pool();
    let head: Option<(String, i64, Option<String>, String, String)> = sqlx::query_as(
        "SELECT c.name, c.owner_id, c.started_at, c.due_date, c.recurrence FROM access_campaigns c WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let (name, owner, started, due, recurrence) = head.ok_or(AppError::NotFound)?;
    if owner != su.user.id {
        let who: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
            .bind(owner)
            .fetch_one(pool)
            .await?;
        return Err(AppError::Denied(format!(
            "Only the campaign's owner, {who}, signs it off."
        )));
    }
    // Checked before the report is built and stored (outside the write lock), and again in
    // the transaction; a resolved item never reopens, so the report read in between holds.
    ready(pool.acquire().await?.as_mut(), id).await?;
    let today = state.clock.now().date();
    let from = started
        .as_deref()
        .and_then(|s| parse_date(s.get(..10).unwrap_or(s)))
        .unwrap_or(today);
    let period = (fmt_date(from), fmt_date(today.next_day().unwrap_or(today)));
    let rows = rows(pool, id).await?;
    let summary = report::summary(&name, (&period.0, &fmt_date(today)), &rows);
    let csv = report::csv(&rows).map_err(AppError::internal)?;
    let (sha, size) = generated::store(state.blobs.as_ref(), csv).await?;
    let mut tx = state.db.write().await?;
    ready(tx.conn(), id).await?;
    let controls: Vec<(i64, String)> = sqlx::query_as(
        "SELECT c.id, c.ref FROM access_campaign_controls cc JOIN controls c ON c.id = cc.control_id \
         WHERE cc.campaign_id = $1 ORDER BY c.ref",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let ids: Vec<i64> = controls.iter().map(|c| c.0).collect();
    let filename = format!("access-review-{id}-report.csv");
    let evidence = generated::record(
        &mut tx,
        &Generated {
            title: &format!("Access review report: {name}"),
            description: &summary,
            controls: &ids,
            sha256: &sha,
            size,
            filename: &filename,
            media_type: "text/csv",
            effective: &fmt_date(today),
            period: (&period.0, &period.1),
            note: &format!(
                "Signed off by {} ({}).",
                su.user.display_name, su.user.username
            ),
            by: su.user.id,
            at: &ctx.at,
        },
    )
    .await?;
    let next = match super::super::campaigns::next_due(&due, &recurrence) {
        Some(next_due) => Some(plan_next(&mut tx, &ctx, id, &name, &next_due).await?),
        None => None,
    };
    sqlx::query(
        "UPDATE access_campaigns SET status = 'completed', completed_at = $1, updated_at = $1, \
         report_evidence_id = $2, report_sha256 = $3, next_campaign_id = $4 WHERE id = $5",
    )
    .bind(&ctx.at)
    .bind(evidence)
    .bind(&sha)
    .bind(next)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "access.campaign_completed",
        "access_campaign",
        id,
        format!(
            "signed off '{name}': report evidence #{evidence} (sha256 {sha}){}{}. {summary}",
            if controls.is_empty() {
                String::new()
            } else {
                format!(
                    " for {}",
                    controls.iter().map(|c| c.1.as_str()).collect::<Vec<_>>().join(", ")
                )
            },
            next.map(|n| format!("; next review planned as #{n}"))
                .unwrap_or_default()
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(evidence)
}

/// A recurring campaign's next draft: the same owner, systems, reviewers and controls.
async fn plan_next(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    from: i64,
    name: &str,
    due: &str,
) -> Result<i64, AppError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO access_campaigns (name, owner_id, status, due_date, recurrence, created_by, created_at, updated_at) \
         SELECT name, owner_id, 'draft', $1, recurrence, created_by, $2, $2 FROM access_campaigns WHERE id = $3 RETURNING id",
    )
    .bind(due)
    .bind(&ctx.at)
    .bind(from)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO access_campaign_systems (campaign_id, system_id, reviewer_id) \
         SELECT $1, system_id, reviewer_id FROM access_campaign_systems WHERE campaign_id = $2",
    )
    .bind(id)
    .bind(from)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO access_campaign_controls (campaign_id, control_id) \
         SELECT $1, control_id FROM access_campaign_controls WHERE campaign_id = $2",
    )
    .bind(id)
    .bind(from)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "access.campaign_created",
        "access_campaign",
        id,
        format!("planned the next access review '{name}' due {due} (recurs after #{from})"),
    ))
    .await?;
    Ok(id)
}

/// Cancels a campaign not yet completed, with the reason.
pub async fn cancel_request(id: i64, reason: String) -> Result<(), AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let why = reason.trim();
    if why.is_empty() || why.chars().count() > 2000 {
        return Err(AppError::invalid(
            "reason: required, at most 2000 characters",
        ));
    }
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let (name, st, _) = status(&mut tx, id).await?;
    if st == "completed" || st == "cancelled" {
        return Err(AppError::Conflict(format!("The campaign is {st} already.")));
    }
    sqlx::query("UPDATE access_campaigns SET status = 'cancelled', closed_note = $1, updated_at = $2 WHERE id = $3")
        .bind(why)
        .bind(&ctx.at)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "access.campaign_cancelled",
        "access_campaign",
        id,
        format!("cancelled '{name}' ({}): {why}", st.replace('_', " ")),
    ))
    .await?;
    tx.commit().await
}
