//! A framework's Statement of Applicability: whether each requirement applies (and why not),
//! and the rows of its export.
// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use crate::audit::chain::AuditCtx;
use crate::controls::soa::SoaRow;
use crate::controls::status::{ControlStatus, Derived};
use crate::db::WriteTx;
use crate::error::AppError;
use sqlx::AnyPool;
use std::collections::HashMap;

/// The longest justification kept.
const MAX_JUSTIFICATION: usize = 2000;

/// Marks a requirement applicable, or excluded with a justification. Returns false when it
/// already said so (nothing written).
pub async fn set_applicability(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    requirement_id: i64,
    applicable: bool,
    justification: &str,
) -> Result<bool, AppError> {
    let justification = justification.trim();
    if !applicable && justification.is_empty() {
        return Err(AppError::invalid(
            "Justification: say why the requirement does not apply.",
        ));
    }
    if justification.chars().count() > MAX_JUSTIFICATION {
        return Err(AppError::invalid(format!(
            "Justification: at most {MAX_JUSTIFICATION} characters."
        )));
    }
    let row: Option<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT r.label, f.name, r.applicable, r.justification, r.assessable
         FROM requirements r JOIN frameworks f ON f.id = r.framework_id
         WHERE r.id = $1 AND r.retired_at IS NULL",
    )
    .bind(requirement_id)
    .fetch_optional(tx.conn())
    .await?;
    let (label, fw, was, why, assessable) = row.ok_or(AppError::NotFound)?;
    if assessable == 0 {
        return Err(AppError::invalid(format!(
            "'{label}' is a heading: it groups requirements and is not assessed itself."
        )));
    }
    if (was == 1) == applicable && why == justification {
        return Ok(false);
    }
    sqlx::query("UPDATE requirements SET applicable = $1, justification = $2 WHERE id = $3")
        .bind(i64::from(applicable))
        .bind(justification)
        .bind(requirement_id)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "requirement.applicability",
        "requirement",
        requirement_id,
        if applicable {
            format!(
                "{fw} {label}: applicable{}",
                if justification.is_empty() {
                    String::new()
                } else {
                    format!(" ({justification})")
                }
            )
        } else {
            format!("{fw} {label}: excluded: {justification}")
        },
    ))
    .await?;
    Ok(true)
}

/// Every live, assessable requirement of the framework in order, with its mapped controls'
/// statuses and the controls crosswalks suggest.
pub async fn soa_rows(
    pool: &AnyPool,
    framework_id: i64,
    st: &HashMap<i64, Derived>,
) -> Result<(String, Vec<SoaRow>), AppError> {
    let key: Option<String> = sqlx::query_scalar("SELECT key FROM frameworks WHERE id = $1")
        .bind(framework_id)
        .fetch_optional(pool)
        .await?;
    let key = key.ok_or(AppError::NotFound)?;
    let reqs: Vec<(i64, String, String, String, i64, String, String)> = sqlx::query_as(
        "SELECT id, label, title, group_title, applicable, justification, reference_controls
         FROM requirements WHERE framework_id = $1 AND retired_at IS NULL AND assessable = 1
         ORDER BY sort_order",
    )
    .bind(framework_id)
    .fetch_all(pool)
    .await?;
    let maps: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT cr.requirement_id, c.id, c.ref, c.justification FROM control_requirements cr
         JOIN controls c ON c.id = cr.control_id
         JOIN requirements r ON r.id = cr.requirement_id
         WHERE r.framework_id = $1 ORDER BY c.ref",
    )
    .bind(framework_id)
    .fetch_all(pool)
    .await?;
    let mut by_req: HashMap<i64, Vec<(String, ControlStatus)>> = HashMap::new();
    let mut why_not: HashMap<i64, Vec<String>> = HashMap::new();
    for (rid, cid, cref, why) in maps {
        if let Some(d) = st.get(&cid) {
            by_req.entry(rid).or_default().push((cref, d.status));
            if d.status == ControlStatus::NotApplicable && !why.is_empty() {
                why_not.entry(rid).or_default().push(why);
            }
        }
    }
    let mut suggested = super::suggestions(pool, framework_id).await?;
    let rows = reqs
        .into_iter()
        .map(
            |(id, label, title, group, applicable, justification, refs)| {
                let mut s: Vec<String> = suggested
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| s.control_ref)
                    .collect();
                s.dedup();
                let controls = by_req.remove(&id).unwrap_or_default();
                // As the evidence export says it (`exports::index::applicability`): excluded
                // here, or every mapped control not applicable, with their reasons.
                let none_apply = !controls.is_empty()
                    && controls
                        .iter()
                        .all(|(_, st)| *st == ControlStatus::NotApplicable);
                let (applicable, justification) = if applicable == 1 && none_apply {
                    let mut why = why_not.remove(&id).unwrap_or_default();
                    why.dedup();
                    (false, why.join("; "))
                } else {
                    (applicable == 1, justification)
                };
                SoaRow {
                    label,
                    title,
                    group,
                    applicable,
                    justification,
                    controls,
                    suggested: s,
                    reference_controls: refs.replace(',', "; "),
                }
            },
        )
        .collect();
    Ok((key, rows))
}
