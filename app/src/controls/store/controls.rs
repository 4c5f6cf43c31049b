//! Controls: derived statuses, the filtered list, validation, saving and mapping.
// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use crate::audit::chain::AuditCtx;
use crate::controls::status::{self, Cadence, ControlStatus, Derived, StatusInput};
use crate::controls::*;
use crate::db::WriteTx;
use crate::error::AppError;
use crate::util::{fmt_date, parse_date};
use sqlx::AnyPool;
use std::collections::HashMap;
use time::Date;

pub async fn due_soon_days(pool: &AnyPool) -> Result<i64, AppError> {
    Ok(
        sqlx::query_scalar("SELECT due_soon_days FROM organisation WHERE id = 1")
            .fetch_optional(pool)
            .await?
            .unwrap_or(14),
    )
}

/// Every control's derived status as of `today`.
pub async fn statuses(pool: &AnyPool, today: Date) -> Result<HashMap<i64, Derived>, AppError> {
    let window = due_soon_days(pool).await?;
    let controls: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, applicable, cadence FROM controls")
            .fetch_all(pool)
            .await?;
    let evidence: Vec<(i64, String, Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT ec.control_id, v.effective_date, v.test_result, v.tested_on, v.uploaded_at
         FROM evidence_controls ec JOIN evidence_versions v ON v.evidence_id = ec.evidence_id",
    )
    .fetch_all(pool)
    .await?;
    let mut dates: HashMap<i64, Vec<Date>> = HashMap::new();
    let mut tests: HashMap<i64, (String, String, bool)> = HashMap::new();
    for (cid, eff, result, tested_on, uploaded) in evidence {
        if let Some(d) = parse_date(&eff) {
            dates.entry(cid).or_default().push(d);
        }
        if let (Some(result), Some(on)) = (result, tested_on) {
            // Tests dated in the future do not count yet.
            if parse_date(&on).is_some_and(|d| d <= today) {
                let key = (on, uploaded);
                let e = tests
                    .entry(cid)
                    .or_insert((String::new(), String::new(), true));
                if (key.0.as_str(), key.1.as_str()) >= (e.0.as_str(), e.1.as_str()) {
                    *e = (key.0, key.1, result == "pass");
                }
            }
        }
    }
    Ok(controls
        .into_iter()
        .map(|(id, applicable, cadence)| {
            let d = status::derive(&StatusInput {
                applicable: applicable == 1,
                cadence: cadence.parse().unwrap_or(Cadence::None),
                evidence_dates: dates.get(&id).map(Vec::as_slice).unwrap_or(&[]),
                last_test_passed: tests.get(&id).map(|t| t.2),
                today,
                due_soon_days: window,
            });
            (id, d)
        })
        .collect())
}

pub async fn list_controls(
    pool: &AnyPool,
    st: &HashMap<i64, Derived>,
    f: &ControlFilter,
    me: i64,
) -> Result<Vec<ControlRow>, AppError> {
    let rows: Vec<(
        i64,
        String,
        String,
        Option<i64>,
        Option<String>,
        String,
        i64,
    )> = sqlx::query_as(
        "SELECT c.id, c.ref, c.title, c.owner_id, u.display_name, c.cadence, c.applicable
             FROM controls c LEFT JOIN users u ON u.id = c.owner_id ORDER BY c.ref",
    )
    .fetch_all(pool)
    .await?;
    let maps: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT DISTINCT cr.control_id, f.id, f.name FROM control_requirements cr
         JOIN requirements r ON r.id = cr.requirement_id AND r.retired_at IS NULL
         JOIN frameworks f ON f.id = r.framework_id",
    )
    .fetch_all(pool)
    .await?;
    let mut fws: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for (c, fid, name) in maps {
        fws.entry(c).or_default().push((fid, name));
    }
    let q = f.q.trim().to_lowercase();
    let status: Option<ControlStatus> = f.status.parse().ok();
    Ok(rows
        .into_iter()
        .filter_map(|(id, r, title, owner_id, owner, cadence, applicable)| {
            let derived = st.get(&id).copied()?;
            let frameworks = fws.remove(&id).unwrap_or_default();
            let keep = (q.is_empty()
                || r.to_lowercase().contains(&q)
                || title.to_lowercase().contains(&q))
                && status.is_none_or(|s| derived.status == s)
                && f.owner.is_none_or(|o| owner_id == Some(o))
                && (!f.mine || owner_id == Some(me))
                && f.framework
                    .is_none_or(|fw| frameworks.iter().any(|(id, _)| *id == fw));
            keep.then(|| ControlRow {
                id,
                r#ref: r,
                title,
                owner_id,
                owner,
                cadence: cadence.parse().unwrap_or(Cadence::None),
                applicable: applicable == 1,
                status: derived.status,
                next_due: derived.next_due.map(fmt_date),
                last_evidence: derived.last_evidence.map(fmt_date),
                frameworks: frameworks.into_iter().map(|(_, n)| n).collect(),
            })
        })
        .collect())
}

/// Checks a control form and returns the normalised values.
pub async fn validate_control(
    conn: &mut sqlx::AnyConnection,
    f: &ControlForm,
) -> Result<(String, String, String, Option<i64>, Cadence, bool, String), AppError> {
    let r = f.r#ref.trim().to_string();
    if r.is_empty() || r.len() > 50 || r.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "Reference: required, at most 50 printable characters.",
        ));
    }
    let title = f.title.trim().to_string();
    if title.is_empty() || title.len() > 200 {
        return Err(AppError::invalid(
            "Title: required, at most 200 characters.",
        ));
    }
    let description = f.description.trim().to_string();
    if description.len() > 10_000 {
        return Err(AppError::invalid("Description: at most 10,000 characters."));
    }
    let cadence: Cadence = f
        .cadence
        .parse()
        .map_err(|e| AppError::invalid(format!("Evidence cadence: {e}.")))?;
    let applicable = f.applicable.as_deref() != Some("no");
    let justification = f.justification.trim().to_string();
    if !applicable && justification.is_empty() {
        return Err(AppError::invalid(
            "Justification: required when the control is not applicable.",
        ));
    }
    let owner = match f.owner.trim() {
        "" => None,
        o => {
            let id: i64 = o
                .parse()
                .map_err(|_| AppError::invalid("Owner: choose a user from the list."))?;
            let active: Option<i64> = sqlx::query_scalar("SELECT active FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            match active {
                Some(1) => Some(id),
                Some(_) => return Err(AppError::invalid("Owner: that user is deactivated.")),
                None => return Err(AppError::invalid("Owner: no such user.")),
            }
        }
    };
    Ok((
        r,
        title,
        description,
        owner,
        cadence,
        applicable,
        justification,
    ))
}

pub async fn save_control(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    f: &ControlForm,
) -> Result<(i64, bool), AppError> {
    let (r, title, description, owner, cadence, applicable, justification) =
        validate_control(tx.conn(), f).await?;
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM controls WHERE lower(ref) = lower($1)")
            .bind(&r)
            .fetch_optional(tx.conn())
            .await?;
    if taken.is_some() && taken != f.id {
        return Err(AppError::Conflict(format!(
            "Reference: a control '{r}' already exists."
        )));
    }
    let id = match f.id {
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO controls (ref, title, description, owner_id, cadence, applicable,
                     justification, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(&r)
            .bind(&title)
            .bind(&description)
            .bind(owner)
            .bind(cadence.as_str())
            .bind(applicable as i64)
            .bind(&justification)
            .bind(&ctx.at)
            .fetch_one(tx.conn())
            .await?;
            tx.audit(ctx.event(
                "control.create",
                "control",
                id,
                format!(
                        "'{r}' {title}: cadence {}, owner {}, {}",
                        cadence.as_str(),
                        owner
                            .map(|o| format!("user #{o}"))
                            .unwrap_or_else(|| "none".into()),
                        if applicable {
                            "applicable".to_string()
                        } else {
                            format!("not applicable ({justification})")
                        }
                    ),
            ))
            .await?;
            id
        }
        Some(id) => {
            let before: Option<(String, String, String, Option<i64>, String, i64, String)> =
                sqlx::query_as(
                    "SELECT ref, title, description, owner_id, cadence, applicable, justification
                     FROM controls WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(tx.conn())
                .await?;
            let b = before.ok_or(AppError::NotFound)?;
            let mut diffs = Vec::new();
            if b.0 != r {
                diffs.push(format!("ref '{}' → '{r}'", b.0));
            }
            if b.1 != title {
                diffs.push(format!("title '{}' → '{title}'", b.1));
            }
            if b.2 != description {
                diffs.push("description changed".into());
            }
            if b.3 != owner {
                diffs.push(format!("owner {:?} → {:?}", b.3, owner));
            }
            if b.4 != cadence.as_str() {
                diffs.push(format!("cadence {} → {}", b.4, cadence.as_str()));
            }
            if (b.5 == 1) != applicable || b.6 != justification {
                diffs.push(if applicable {
                    "applicable".into()
                } else {
                    format!("not applicable: {justification}")
                });
            }
            if diffs.is_empty() {
                return Ok((id, false));
            }
            sqlx::query(
                "UPDATE controls SET ref = $1, title = $2, description = $3, owner_id = $4,
                     cadence = $5, applicable = $6, justification = $7, updated_at = $8
                 WHERE id = $9",
            )
            .bind(&r)
            .bind(&title)
            .bind(&description)
            .bind(owner)
            .bind(cadence.as_str())
            .bind(applicable as i64)
            .bind(&justification)
            .bind(&ctx.at)
            .bind(id)
            .execute(tx.conn())
            .await?;
            tx.audit(ctx.event(
                "control.update",
                "control",
                id,
                format!("'{r}': {}", diffs.join("; ")),
            ))
            .await?;
            id
        }
    };
    Ok((id, true))
}

/// Maps a control to requirements; returns how many mappings are new.
pub async fn map(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    control_id: i64,
    reqs: &[(i64, String)],
    framework_name: &str,
) -> Result<usize, AppError> {
    let cref: Option<String> = sqlx::query_scalar("SELECT ref FROM controls WHERE id = $1")
        .bind(control_id)
        .fetch_optional(tx.conn())
        .await?;
    let cref = cref.ok_or(AppError::NotFound)?;
    let mut added = Vec::new();
    for (rid, label) in reqs {
        let n = sqlx::query(
            "INSERT INTO control_requirements (control_id, requirement_id, created_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(control_id)
        .bind(rid)
        .bind(&ctx.at)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if n > 0 {
            added.push(label.as_str());
        }
    }
    if !added.is_empty() {
        tx.audit(ctx.event(
            "control.map",
            "control",
            control_id,
            format!("'{cref}' mapped to {framework_name}: {}", added.join(", ")),
        ))
        .await?;
    }
    Ok(added.len())
}
