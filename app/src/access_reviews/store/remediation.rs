//! Remediation items: made when a review closes (one per revoke or modify decision, assigned to
//! the system's owner, else the campaign's owner), checked against every later snapshot of
//! their system in the import's own transaction, listed on the board, and accepted as
//! documented exceptions.

use super::super::remediation::{self, Board, Check, RemediationView, STATUSES};
use crate::context::require;
use crate::db::WriteTx;
use crate::error::AppError;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use sqlx::Row;

/// Makes the items of a campaign whose review closes; how many.
pub async fn create(
    tx: &mut WriteTx,
    campaign: i64,
    owner: i64,
    at: &str,
) -> Result<u64, AppError> {
    let made = sqlx::query(
        "INSERT INTO access_remediations (campaign_id, entry_id, system_id, account_key, action, entitlement, assignee_id, created_at) \
         SELECT e.campaign_id, e.id, e.system_id, e.account_key, e.decision, a.entitlement, \
         COALESCE((SELECT u.id FROM users u WHERE u.id = s.owner_id AND u.active = 1), $2), $3 \
         FROM access_entries e JOIN systems s ON s.id = e.system_id \
         JOIN snapshot_accounts a ON a.snapshot_id = e.snapshot_id AND a.key = e.account_key \
         WHERE e.campaign_id = $1 AND e.decision IN ('revoke', 'modify')",
    )
    .bind(campaign)
    .bind(owner)
    .bind(at)
    .execute(tx.conn())
    .await?
    .rows_affected();
    // A snapshot imported while the review ran may show the work done already.
    let newer: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT cs.system_id, (SELECT MAX(n.id) FROM account_snapshots n WHERE n.system_id = cs.system_id) \
         FROM access_campaign_systems cs WHERE cs.campaign_id = $1",
    )
    .bind(campaign)
    .fetch_all(tx.conn())
    .await?;
    for (system, latest) in newer {
        verify(tx, system, latest, at).await?;
    }
    Ok(made)
}

/// Checks the system's open items of campaigns in remediation against `snapshot`:
/// (verified, still present).
pub async fn verify(
    tx: &mut WriteTx,
    system: i64,
    snapshot: i64,
    at: &str,
) -> Result<(i64, i64), AppError> {
    let open: Vec<(i64, String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT r.id, r.account_key, r.action, r.entitlement, e.snapshot_id FROM access_remediations r \
         JOIN access_entries e ON e.id = r.entry_id JOIN access_campaigns c ON c.id = r.campaign_id \
         WHERE r.system_id = $1 AND r.status = 'open' AND c.status = 'remediation'",
    )
    .bind(system)
    .fetch_all(tx.conn())
    .await?;
    let (mut verified, mut still) = (0, 0);
    for (id, key, action, entitlement, reviewed) in open {
        // Only a snapshot taken after the one reviewed can prove anything.
        if reviewed.is_some_and(|r| snapshot <= r) {
            continue;
        }
        let now: Option<(i64, String)> = sqlx::query_as(
            "SELECT active, entitlement FROM snapshot_accounts WHERE snapshot_id = $1 AND key = $2",
        )
        .bind(snapshot)
        .bind(&key)
        .fetch_optional(tx.conn())
        .await?;
        let found = now.as_ref().map(|(a, e)| (*a == 1, e.as_str()));
        match remediation::check(&action, &entitlement, found, snapshot) {
            Check::Verified(why) => {
                verified += 1;
                sqlx::query(
                    "UPDATE access_remediations SET status = 'verified', resolution = $1, checked_snapshot_id = $2, resolved_at = $3 WHERE id = $4",
                )
                .bind(why)
                .bind(snapshot)
                .bind(at)
                .bind(id)
                .execute(tx.conn())
                .await?;
            }
            Check::StillPresent(why) => {
                still += 1;
                sqlx::query(
                    "UPDATE access_remediations SET resolution = $1, checked_snapshot_id = $2 WHERE id = $3",
                )
                .bind(why)
                .bind(snapshot)
                .bind(id)
                .execute(tx.conn())
                .await?;
            }
        }
    }
    Ok((verified, still))
}

/// The board: everything to compliance, their own items (or their campaigns') to anyone else.
pub async fn board_request(status: String, campaign: Option<i64>) -> Result<Board, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    let status = status.trim();
    if !status.is_empty() && !STATUSES.contains(&status) {
        return Err(AppError::invalid(format!(
            "status: '{status}' is not open, verified or exception"
        )));
    }
    let state = app_state()?;
    let all = su.user.can(Permission::ViewAccessReviews);
    let manage = su.user.can(Permission::ManageAccessReviews);
    let scope = "c.status <> 'cancelled' AND ($1 = 1 OR r.assignee_id = $2 OR c.owner_id = $2) \
                 AND ($3 = 0 OR r.campaign_id = $3)";
    let rows = sqlx::query(&format!(
        "SELECT r.id, r.campaign_id, c.name AS campaign, c.status AS campaign_status, s.name AS system, r.account_key, \
         a.name AS account_name, r.action, r.entitlement, e.note, u.display_name AS assignee, r.status, r.checked_snapshot_id, \
         r.resolution, v.display_name AS resolver, r.resolved_at \
         FROM access_remediations r JOIN access_campaigns c ON c.id = r.campaign_id JOIN systems s ON s.id = r.system_id \
         JOIN access_entries e ON e.id = r.entry_id \
         JOIN snapshot_accounts a ON a.snapshot_id = e.snapshot_id AND a.key = e.account_key \
         JOIN users u ON u.id = r.assignee_id LEFT JOIN users v ON v.id = r.resolved_by \
         WHERE {scope} AND ($4 = '' OR r.status = $4) \
         ORDER BY CASE r.status WHEN 'open' THEN 0 ELSE 1 END, r.campaign_id DESC, s.name, r.account_key LIMIT 1000"
    ))
    .bind(all as i64)
    .bind(su.user.id)
    .bind(campaign.unwrap_or(0))
    .bind(status)
    .fetch_all(state.db.pool())
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let st: String = r.try_get("status")?;
        let cst: String = r.try_get("campaign_status")?;
        items.push(RemediationView {
            id: r.try_get("id")?,
            campaign_id: r.try_get("campaign_id")?,
            campaign: r.try_get("campaign")?,
            system: r.try_get("system")?,
            account_key: r.try_get("account_key")?,
            account_name: r.try_get("account_name")?,
            action: r.try_get("action")?,
            entitlement: r.try_get("entitlement")?,
            note: r.try_get("note")?,
            assignee: r.try_get("assignee")?,
            can_accept: manage && st == "open" && cst == "remediation",
            status: st,
            checked_snapshot: r.try_get("checked_snapshot_id")?,
            resolution: r.try_get("resolution")?,
            resolved_by: r.try_get("resolver")?,
            resolved_at: r.try_get("resolved_at")?,
        });
    }
    let counts: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT r.status, COUNT(*) FROM access_remediations r JOIN access_campaigns c ON c.id = r.campaign_id \
         WHERE {scope} GROUP BY r.status ORDER BY r.status"
    ))
    .bind(all as i64)
    .bind(su.user.id)
    .bind(campaign.unwrap_or(0))
    .fetch_all(state.db.pool())
    .await?;
    Ok(Board { items, counts })
}

/// Accepts an open item as a documented exception (the justification required).
pub async fn exception_request(id: i64, justification: String) -> Result<(), AppError> {
    let su = require(Permission::ManageAccessReviews)?;
    let why = justification.trim();
    if why.is_empty() || why.chars().count() > 2000 {
        return Err(AppError::invalid(
            "justification: required (why the access stays, who accepted the risk), at most 2000 characters",
        ));
    }
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let row: Option<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT r.status, c.status, s.name, r.account_key, r.action FROM access_remediations r \
         JOIN access_campaigns c ON c.id = r.campaign_id JOIN systems s ON s.id = r.system_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let (status, campaign, system, key, action) = row.ok_or(AppError::NotFound)?;
    if status != "open" || campaign != "remediation" {
        return Err(AppError::Conflict(format!(
            "The item is {status} (campaign {campaign}): only an open item of a campaign in remediation is accepted."
        )));
    }
    sqlx::query(
        "UPDATE access_remediations SET status = 'exception', resolution = $1, resolved_by = $2, resolved_at = $3 WHERE id = $4",
    )
    .bind(why)
    .bind(su.user.id)
    .bind(&ctx.at)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "access.remediation_exception",
        "access_remediation",
        id,
        format!("accepted not to {action} {system} account '{key}': {why}"),
    ))
    .await?;
    tx.commit().await
}
