//! SQL for frameworks, requirements, controls and mappings (server side only).
// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use super::import::ParsedFramework;
use super::status::{self, Cadence, ControlStatus, Derived, StatusInput};
use super::*;
use crate::audit::chain::AuditCtx;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use crate::util::{fmt_date, parse_date};
use sqlx::AnyPool;
use std::collections::{BTreeMap, HashMap, HashSet};
use time::Date;

/// Applies a parsed framework: creates it, or updates it in place keeping every mapping to a
/// requirement that still exists. Requirements missing from the new version are retired (kept
/// with their mappings for the record, no longer counted). Nothing is written when nothing
/// changed.
pub async fn apply_framework(
    db: &Db,
    ctx: &AuditCtx,
    parsed: &ParsedFramework,
    source_name: &str,
    sha256: &str,
) -> Result<ImportOutcome, AppError> {
    let mut tx = db.write().await?;
    let now = ctx.at.clone();
    let existing: Option<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, name, version, description FROM frameworks WHERE key = $1")
            .bind(&parsed.key)
            .fetch_optional(tx.conn())
            .await?;
    let created = existing.is_none();
    let framework_id = match &existing {
        Some((id, ..)) => *id,
        None => {
            sqlx::query_scalar(
                "INSERT INTO frameworks (key, name, version, description, source_format,
                     source_name, source_sha256, imported_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(&parsed.key)
            .bind(&parsed.name)
            .bind(&parsed.version)
            .bind(&parsed.description)
            .bind(parsed.format)
            .bind(source_name)
            .bind(sha256)
            .bind(&now)
            .fetch_one(tx.conn())
            .await?
        }
    };
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
        String,
        i64,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, ref, label, parent_ref, group_ref, group_title, title, statement, sort_order,
                retired_at
         FROM requirements WHERE framework_id = $1",
    )
    .bind(framework_id)
    .fetch_all(tx.conn())
    .await?;
    let mut old: HashMap<String, Row> = rows.into_iter().map(|r| (r.1.clone(), r)).collect();
    let mut out = ImportOutcome {
        framework_id,
        key: parsed.key.clone(),
        name: parsed.name.clone(),
        version: parsed.version.clone(),
        created,
        ..Default::default()
    };
    for (i, r) in parsed.requirements.iter().enumerate() {
        let sort = i as i64;
        match old.remove(&r.r#ref) {
            None => {
                sqlx::query(
                    "INSERT INTO requirements (framework_id, ref, label, parent_ref, group_ref,
                         group_title, title, statement, sort_order)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(framework_id)
                .bind(&r.r#ref)
                .bind(&r.label)
                .bind(&r.parent_ref)
                .bind(&r.group_ref)
                .bind(&r.group_title)
                .bind(&r.title)
                .bind(&r.statement)
                .bind(sort)
                .execute(tx.conn())
                .await?;
                out.added += 1;
            }
            Some(o) => {
                let same = o.2 == r.label
                    && o.3 == r.parent_ref
                    && o.4 == r.group_ref
                    && o.5 == r.group_title
                    && o.6 == r.title
                    && o.7 == r.statement
                    && o.8 == sort;
                if same && o.9.is_none() {
                    out.unchanged += 1;
                    continue;
                }
                if o.9.is_some() {
                    out.restored.push(r.label.clone());
                } else {
                    out.updated += 1;
                }
                sqlx::query(
                    "UPDATE requirements SET label = $1, parent_ref = $2, group_ref = $3,
                         group_title = $4, title = $5, statement = $6, sort_order = $7,
                         retired_at = NULL
                     WHERE id = $8",
                )
                .bind(&r.label)
                .bind(&r.parent_ref)
                .bind(&r.group_ref)
                .bind(&r.group_title)
                .bind(&r.title)
                .bind(&r.statement)
                .bind(sort)
                .bind(o.0)
                .execute(tx.conn())
                .await?;
            }
        }
    }
    let mut gone: Vec<Row> = old.into_values().filter(|o| o.9.is_none()).collect();
    gone.sort_by_key(|o| o.8);
    for o in &gone {
        sqlx::query("UPDATE requirements SET retired_at = $1 WHERE id = $2")
            .bind(&now)
            .bind(o.0)
            .execute(tx.conn())
            .await?;
        let mapped: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM control_requirements WHERE requirement_id = $1",
        )
        .bind(o.0)
        .fetch_one(tx.conn())
        .await?;
        out.retired.push(RetiredRequirement {
            label: o.2.clone(),
            title: o.6.clone(),
            mapped_controls: mapped,
        });
    }
    let meta_changed = existing.as_ref().is_some_and(|(_, n, v, d)| {
        n != &parsed.name || v != &parsed.version || d != &parsed.description
    });
    if !created
        && !meta_changed
        && out.added == 0
        && out.updated == 0
        && out.retired.is_empty()
        && out.restored.is_empty()
    {
        // Identical content: leave everything (and the audit trail) as it was.
        return Ok(out);
    }
    if !created {
        sqlx::query(
            "UPDATE frameworks SET name = $1, version = $2, description = $3, source_format = $4,
                 source_name = $5, source_sha256 = $6, updated_at = $7
             WHERE id = $8",
        )
        .bind(&parsed.name)
        .bind(&parsed.version)
        .bind(&parsed.description)
        .bind(parsed.format)
        .bind(source_name)
        .bind(sha256)
        .bind(&now)
        .bind(framework_id)
        .execute(tx.conn())
        .await?;
    }
    out.changed = true;
    tx.audit(ctx.event(
        if created { "framework.import" } else { "framework.update" },
        "framework",
        framework_id,
        format!(
            "'{}' version {} from {} ({}, sha256 {}): {} added, {} updated, {} unchanged, {} retired{}{}",
            parsed.name,
            parsed.version,
            source_name,
            parsed.format,
            sha256,
            out.added,
            out.updated,
            out.unchanged,
            out.retired.len(),
            if out.retired.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    out.retired.iter().map(|r| r.label.as_str()).collect::<Vec<_>>().join(", ")
                )
            },
            if out.restored.is_empty() {
                String::new()
            } else {
                format!(", {} restored", out.restored.len())
            }
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(out)
}

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

/// Frameworks with coverage: requirements mapped to at least one control, and requirements
/// whose mapped (applicable) controls all have fresh evidence.
pub async fn framework_summaries(
    pool: &AnyPool,
    st: &HashMap<i64, Derived>,
) -> Result<Vec<FrameworkSummary>, AppError> {
    let fws: Vec<(i64, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, key, name, version, source_format, imported_at, updated_at
         FROM frameworks ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let reqs: Vec<(i64, i64, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT r.framework_id, r.id, r.retired_at, cr.control_id
         FROM requirements r LEFT JOIN control_requirements cr ON cr.requirement_id = r.id",
    )
    .fetch_all(pool)
    .await?;
    // framework → requirement → mapped controls
    let mut by_fw: HashMap<i64, BTreeMap<i64, Vec<i64>>> = HashMap::new();
    let mut retired: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (fw, rid, ret, cid) in reqs {
        if ret.is_some() {
            retired.entry(fw).or_default().insert(rid);
            continue;
        }
        let e = by_fw.entry(fw).or_default().entry(rid).or_default();
        if let Some(c) = cid {
            e.push(c);
        }
    }
    Ok(fws
        .into_iter()
        .map(
            |(id, key, name, version, format, imported_at, updated_at)| {
                let reqs = by_fw.remove(&id).unwrap_or_default();
                let mut mapped = 0;
                let mut fresh = 0;
                let mut controls = HashSet::new();
                for cs in reqs.values() {
                    if cs.is_empty() {
                        continue;
                    }
                    mapped += 1;
                    controls.extend(cs.iter().copied());
                    let applicable: Vec<ControlStatus> = cs
                        .iter()
                        .filter_map(|c| st.get(c).map(|d| d.status))
                        .filter(|s| *s != ControlStatus::NotApplicable)
                        .collect();
                    if !applicable.is_empty() && applicable.iter().all(|s| s.is_fresh()) {
                        fresh += 1;
                    }
                }
                let mut by_status: BTreeMap<ControlStatus, i64> = BTreeMap::new();
                for c in controls {
                    if let Some(d) = st.get(&c) {
                        *by_status.entry(d.status).or_default() += 1;
                    }
                }
                FrameworkSummary {
                    id,
                    key,
                    name,
                    version,
                    format,
                    requirements: reqs.len() as i64,
                    mapped,
                    fresh,
                    retired: retired.get(&id).map(|s| s.len() as i64).unwrap_or(0),
                    by_status: ControlStatus::ALL
                        .iter()
                        .map(|s| (*s, by_status.get(s).copied().unwrap_or(0)))
                        .collect(),
                    imported_at,
                    updated_at,
                }
            },
        )
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

/// Resolves requirement labels or ids of one framework ("AC-2, ac-2.1") to requirement ids.
pub async fn resolve_requirements(
    conn: &mut sqlx::AnyConnection,
    framework_id: i64,
    refs: &str,
) -> Result<Vec<(i64, String)>, AppError> {
    let all: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, ref, label FROM requirements WHERE framework_id = $1 AND retired_at IS NULL",
    )
    .bind(framework_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for want in refs
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match all
            .iter()
            .find(|(_, r, l)| r.eq_ignore_ascii_case(want) || l.eq_ignore_ascii_case(want))
        {
            Some((id, _, l)) => {
                if !out.iter().any(|(i, _)| i == id) {
                    out.push((*id, l.clone()))
                }
            }
            None => unknown.push(want.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::invalid(format!(
            "Requirements: not in this framework: {}.",
            unknown.join(", ")
        )));
    }
    if out.is_empty() {
        return Err(AppError::invalid(
            "Requirements: name at least one requirement id.",
        ));
    }
    Ok(out)
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
