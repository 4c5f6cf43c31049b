//! What a vendor's owner records (compliance too): assurance reports with their expiry,
//! documents filed from evidence, the security review. Each checked against ownership on the
//! server and audited in its transaction.

use super::write::{date_field, text_field};
use super::*;
use crate::context::{require, CurrentUser};
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::fmt_date;

/// The vendor's name if the user may record its reports, documents and reviews.
async fn recordable(
    conn: &mut sqlx::AnyConnection,
    user: &CurrentUser,
    vendor: i64,
) -> Result<String, AppError> {
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT name, owner_id FROM vendors WHERE id = $1")
            .bind(vendor)
            .fetch_optional(conn)
            .await?;
    let (name, owner) = row.ok_or(AppError::NotFound)?;
    if owner == Some(user.id) || user.can(Permission::ManageVendors) {
        return Ok(name);
    }
    if user.can(Permission::ViewVendors) {
        return Err(AppError::Denied(format!(
            "Only the owner of '{name}' or compliance records its reports and reviews."
        )));
    }
    Err(AppError::NotFound)
}

pub async fn add_assurance(f: AssuranceForm) -> Result<i64, AppError> {
    let su = require(Permission::ViewOwnWork)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    if !ASSURANCE_KINDS.iter().any(|(k, _)| *k == f.kind.trim()) {
        errors.push(format!(
            "kind: '{}' is not a known report kind",
            f.kind.trim()
        ));
    }
    let issued = date_field(&mut errors, "issued", &f.issued, true);
    let until = date_field(&mut errors, "valid until", &f.valid_until, true);
    let ps = date_field(&mut errors, "period start", &f.period_start, false);
    let pe = date_field(&mut errors, "period end", &f.period_end, false);
    if let (Some(i), Some(u)) = (&issued, &until) {
        if u <= i {
            errors.push(format!("valid until: {u} is not after the issue date {i}"));
        }
    }
    match (&ps, &pe) {
        (Some(s), Some(e)) if e <= s => errors.push(format!("period end: {e} is not after {s}")),
        (Some(_), None) | (None, Some(_)) => {
            errors.push("period: give both its start and its end, or neither".into())
        }
        _ => {}
    }
    let note = text_field(&mut errors, "note", &f.note, 2000);
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let mut tx = state.db.write().await?;
    let name = recordable(tx.conn(), &su.user, f.vendor_id).await?;
    if let Some(e) = f.evidence_id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM evidence WHERE id = $1")
            .bind(e)
            .fetch_optional(tx.conn())
            .await?;
        if exists.is_none() {
            return Err(AppError::invalid(format!("evidence: no evidence #{e}")));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO vendor_assurance (vendor_id, kind, period_start, period_end, issued, valid_until, note, evidence_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(f.vendor_id)
    .bind(f.kind.trim())
    .bind(&ps)
    .bind(&pe)
    .bind(&issued)
    .bind(&until)
    .bind(&note)
    .bind(f.evidence_id)
    .bind(su.user.id)
    .bind(&ctx.at)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "vendor.assurance_add",
        "vendor",
        f.vendor_id,
        format!(
            "{} of '{name}' issued {}, valid until {}",
            assurance_label(f.kind.trim()),
            issued.unwrap_or_default(),
            until.unwrap_or_default()
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn add_document(vendor: i64, evidence: i64, kind: String) -> Result<(), AppError> {
    let su = require(Permission::ViewOwnWork)?;
    let kind = kind.trim();
    if !DOCUMENT_KINDS.contains(&kind) {
        return Err(AppError::invalid(format!(
            "kind: '{kind}' is not contract, dpa, baa or other"
        )));
    }
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let name = recordable(tx.conn(), &su.user, vendor).await?;
    let title: String = sqlx::query_scalar("SELECT title FROM evidence WHERE id = $1")
        .bind(evidence)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| AppError::invalid(format!("evidence: no evidence #{evidence}")))?;
    let done = sqlx::query(
        "INSERT INTO vendor_documents (vendor_id, evidence_id, kind, added_by, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (vendor_id, evidence_id) DO NOTHING",
    )
    .bind(vendor)
    .bind(evidence)
    .bind(kind)
    .bind(su.user.id)
    .bind(&ctx.at)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict(format!(
            "Evidence #{evidence} is filed on '{name}' already."
        )));
    }
    tx.audit(ctx.event(
        "vendor.document_add",
        "vendor",
        vendor,
        format!("filed evidence #{evidence} '{title}' as the {kind} of '{name}'"),
    ))
    .await?;
    tx.commit().await
}

pub async fn record_review(vendor: i64, status: String, date: String) -> Result<(), AppError> {
    let su = require(Permission::ViewOwnWork)?;
    let status = status.trim();
    if !REVIEW_STATUSES.contains(&status) {
        return Err(AppError::invalid(format!(
            "status: '{status}' is not not_started, in_progress, approved or rejected"
        )));
    }
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let today = fmt_date(state.clock.now().date());
    let on = date_field(&mut errors, "date", &date, false).unwrap_or(today.clone());
    if on > today {
        errors.push(format!("date: {on} is in the future"));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let mut tx = state.db.write().await?;
    let name = recordable(tx.conn(), &su.user, vendor).await?;
    // An approved review restarts the cadence; other statuses keep the last review's date.
    sqlx::query(
        "UPDATE vendors SET review_status = $1, last_review_date = CASE WHEN $1 = 'approved' THEN $2 ELSE last_review_date END, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(status)
    .bind(&on)
    .bind(&ctx.at)
    .bind(vendor)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "vendor.review",
        "vendor",
        vendor,
        format!(
            "security review of '{name}': {} on {on}",
            status.replace('_', " ")
        ),
    ))
    .await?;
    tx.commit().await
}
