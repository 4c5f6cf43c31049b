//! The disposal queue and a disposal's two steps: one person approves a due record, another
//! records that it was disposed of; the second step writes a certificate (what, when, how, by
//! whom, approved by whom, under which rule) kept as evidence. A legal hold in force on the
//! record, its category, its system or its vendor refuses both steps.

use super::store::{self, Record};
use super::*;
use crate::context::require;
use crate::evidence::generated;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::fmt_date;

pub async fn queue() -> Result<QueueView, AppError> {
    let su = require(Permission::ViewRetention)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let today = state.clock.now().date();
    let day = fmt_date(today);
    let soon = fmt_date(today + time::Duration::days(UPCOMING_DAYS));
    let mut conn = pool.acquire().await?;
    let recs = store::records(&mut conn, today, None).await?;
    drop(conn);
    let mut q = QueueView {
        due: Vec::new(),
        held: Vec::new(),
        upcoming: Vec::new(),
        later: Vec::new(),
        disposed: Vec::new(),
        rules: Vec::new(),
        places: store::places(pool).await?,
        can_manage: su.user.can(Permission::ManageRetention),
        me: su.user.display_name.clone(),
    };
    for r in recs.into_iter().map(|r| r.view) {
        if r.status == "disposed" {
            q.disposed.push(r);
        } else if r.disposal_date > soon {
            q.later.push(r);
        } else if r.disposal_date > day {
            q.upcoming.push(r);
        } else if r.holds.is_empty() {
            q.due.push(r);
        } else {
            q.held.push(r);
        }
    }
    q.disposed.sort_by(|a, b| b.disposed_at.cmp(&a.disposed_at));
    q.disposed.truncate(50);
    q.rules = sqlx::query_as::<_, (i64, String, String, String, String)>(
        "SELECT r.id, c.name, r.name, r.period, r.trigger_event FROM retention_rules r \
         JOIN retention_categories c ON c.id = r.category_id WHERE c.builtin IS NULL \
         ORDER BY c.name, r.name",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(id, c, r, p, t)| {
        let t = super::schedule::trigger_label(&t);
        (id, format!("{c} — {r} ({p} from {t})"))
    })
    .collect();
    Ok(q)
}

/// The record `id` as the transaction sees it, refused when it is not due or is held.
async fn due_record(
    tx: &mut crate::db::WriteTx,
    id: i64,
    today: time::Date,
) -> Result<Record, AppError> {
    let r = store::records(tx.conn(), today, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    if r.view.status == "disposed" {
        return Err(AppError::Conflict(format!(
            "'{}' was disposed of already.",
            r.view.description
        )));
    }
    if r.view.disposal_date > fmt_date(today) {
        return Err(AppError::Conflict(format!(
            "'{}' is not due for disposal until {}.",
            r.view.description, r.view.disposal_date
        )));
    }
    if !r.view.holds.is_empty() {
        return Err(AppError::Conflict(format!(
            "'{}' is under legal hold ({}): its disposal is suspended until the hold is \
             released.",
            r.view.description,
            r.view.holds.join(", ")
        )));
    }
    Ok(r)
}

pub async fn approve(id: i64) -> Result<(), AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let today = state.clock.now().date();
    let mut tx = state.db.write().await?;
    let r = due_record(&mut tx, id, today).await?;
    if r.view.status == "approved" {
        return Err(AppError::Conflict(format!(
            "'{}' is approved for disposal already.",
            r.view.description
        )));
    }
    sqlx::query(
        "UPDATE retention_records SET status = 'approved', approved_by = $1, approved_at = $2, \
         updated_at = $2 WHERE id = $3",
    )
    .bind(su.user.id)
    .bind(&ctx.at)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "retention.disposal.approve",
        "retention_record",
        id,
        format!(
            "disposal of '{}' ({}) approved: {} under '{}'",
            r.view.description, r.view.category, r.view.action, r.view.rule
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The certificate's text: everything an auditor asks of a disposal, in one page.
fn certificate(
    r: &RecordView,
    basis: &str,
    approved_at: &str,
    by: &str,
    at: &str,
    note: &str,
) -> String {
    format!(
        "Steward certificate of disposal\n\
         Record: #{} {}\nData category: {}\nHeld in: {}\n\
         Rule: {} (legal basis: {basis})\nHeld from: {}\nDisposal due: {}\n\
         Method: {}\nApproved by: {} at {approved_at}\nPerformed by: {by} at {at}\n\
         Legal holds in force at disposal: none\nNote: {note}\n",
        r.id,
        r.description,
        r.category,
        if r.held_in.is_empty() {
            "—"
        } else {
            &r.held_in
        },
        r.rule,
        r.trigger_date,
        r.disposal_date,
        r.action,
        r.approved_by.as_deref().unwrap_or("—"),
    )
}

pub async fn record(id: i64, note: String) -> Result<i64, AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let note = note.trim().to_string();
    if note.chars().count() > 2000 {
        return Err(AppError::invalid("note: at most 2000 characters"));
    }
    let today = state.clock.now().date();
    // The certificate is written before the write lock (it is a file), then the transaction
    // checks nothing it says has changed.
    let pool = state.db.pool();
    let mut conn = pool.acquire().await?;
    let before = store::records(&mut conn, today, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let (basis, approved_by, approved_at): (String, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT ru.legal_basis, r.approved_by, r.approved_at FROM retention_records r \
         JOIN retention_rules ru ON ru.id = r.rule_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    drop(conn);
    let Some(approver) = approved_by.filter(|_| before.view.status == "approved") else {
        return Err(AppError::Conflict(format!(
            "'{}' is not approved for disposal yet: someone approves it first.",
            before.view.description
        )));
    };
    if approver == su.user.id {
        return Err(AppError::Conflict(
            "You approved this disposal: another person records that it was done (separation \
             of duties)."
                .into(),
        ));
    }
    let by = format!("{} ({})", su.user.display_name, su.user.username);
    let doc = certificate(
        &before.view,
        &basis,
        approved_at.as_deref().unwrap_or(""),
        &by,
        &ctx.at,
        &note,
    );
    let (sha, size) = generated::store(state.blobs.as_ref(), doc.into_bytes()).await?;
    let mut tx = state.db.write().await?;
    let r = due_record(&mut tx, id, today).await?;
    if r.view != before.view {
        return Err(AppError::Conflict(format!(
            "'{}' changed while the certificate was written: try again.",
            r.view.description
        )));
    }
    let title = format!("Certificate of disposal: {}", r.view.description);
    let filename = format!("disposal-{id}-{}.txt", fmt_date(today));
    let evidence = generated::record(
        &mut tx,
        &generated::Generated {
            title: &title,
            description: "Written by Steward when the disposal was recorded.",
            controls: &[],
            sha256: &sha,
            size,
            filename: &filename,
            media_type: "text/plain",
            effective: &fmt_date(today),
            period: (
                &fmt_date(today),
                &fmt_date(today.next_day().unwrap_or(today)),
            ),
            note: &note,
            by: su.user.id,
            at: &ctx.at,
        },
    )
    .await?;
    sqlx::query(
        "INSERT INTO retention_disposals (record_id, method, note, performed_by, approved_by, \
         disposed_at, evidence_id, certificate_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(&r.view.action)
    .bind(&note)
    .bind(su.user.id)
    .bind(approver)
    .bind(&ctx.at)
    .bind(evidence)
    .bind(&sha)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE retention_records SET status = 'disposed', updated_at = $1 WHERE id = $2")
        .bind(&ctx.at)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "retention.disposal.record",
        "retention_record",
        id,
        format!(
            "'{}' disposed of ({}); certificate evidence #{evidence}, sha256 {sha}",
            r.view.description, r.view.action
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(evidence)
}
