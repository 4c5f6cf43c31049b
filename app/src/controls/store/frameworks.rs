//! Frameworks and requirements: applying an imported framework, coverage summaries, and
//! resolving requirement labels.
// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use crate::audit::chain::AuditCtx;
use crate::controls::import::ParsedFramework;
use crate::controls::status::{ControlStatus, Derived};
use crate::controls::*;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use sqlx::AnyPool;
use std::collections::{BTreeMap, HashMap, HashSet};

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
    let out = apply_framework_in(&mut tx, ctx, parsed, source_name, sha256).await?;
    if out.changed {
        tx.commit().await?;
    }
    Ok(out)
}

/// `apply_framework` inside the caller's transaction (a library's frameworks and crosswalks
/// are all written, or none). The caller commits.
pub async fn apply_framework_in(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    parsed: &ParsedFramework,
    source_name: &str,
    sha256: &str,
) -> Result<ImportOutcome, AppError> {
    let now = ctx.at.clone();
    let existing: Option<(i64, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, name, version, description, locale, locales, source_url
             FROM frameworks WHERE key = $1",
    )
    .bind(&parsed.key)
    .fetch_optional(tx.conn())
    .await?;
    let created = existing.is_none();
    // A library's versions are whole numbers that only grow: an older file would retire what
    // the newer one added.
    if let (Some((_, _, stored, ..)), Ok(new)) = (&existing, parsed.version.parse::<u64>()) {
        if parsed.format == "ciso-yaml" && stored.parse::<u64>().is_ok_and(|old| new < old) {
            return Err(AppError::invalid(format!(
                "'{}' version {new} is older than the imported version {stored}; nothing was imported.",
                parsed.name
            )));
        }
    }
    let framework_id = match &existing {
        Some((id, ..)) => *id,
        None => {
            sqlx::query_scalar(
                "INSERT INTO frameworks (key, name, version, description, source_format,
                     source_name, source_sha256, imported_at, updated_at, locale, locales,
                     source_url)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) RETURNING id",
            )
            .bind(&parsed.key)
            .bind(&parsed.name)
            .bind(&parsed.version)
            .bind(&parsed.description)
            .bind(parsed.format)
            .bind(source_name)
            .bind(sha256)
            .bind(&now)
            .bind(&parsed.locale)
            .bind(parsed.locales.join(","))
            .bind(&parsed.source_url)
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
        Option<String>,
        i64,
        i64,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, ref, label, parent_ref, group_ref, group_title, title, statement, sort_order,
                retired_at, urn, depth, assessable, reference_controls
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
        warnings: parsed.warnings.clone(),
        ..Default::default()
    };
    for (i, r) in parsed.requirements.iter().enumerate() {
        let sort = i as i64;
        let extra = (
            r.urn.clone(),
            r.depth,
            i64::from(r.assessable),
            r.reference_controls.join(","),
        );
        match old.remove(&r.r#ref) {
            None => {
                sqlx::query(
                    "INSERT INTO requirements (framework_id, ref, label, parent_ref, group_ref,
                         group_title, title, statement, sort_order, urn, depth, assessable,
                         reference_controls)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
                .bind(&extra.0)
                .bind(extra.1)
                .bind(extra.2)
                .bind(&extra.3)
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
                    && o.8 == sort
                    && (&o.10, o.11, o.12, &o.13) == (&extra.0, extra.1, extra.2, &extra.3);
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
                         retired_at = NULL, urn = $9, depth = $10, assessable = $11,
                         reference_controls = $12
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
                .bind(&extra.0)
                .bind(extra.1)
                .bind(extra.2)
                .bind(&extra.3)
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
    let meta_changed = existing.as_ref().is_some_and(|(_, n, v, d, l, ls, u)| {
        n != &parsed.name
            || v != &parsed.version
            || d != &parsed.description
            || l != &parsed.locale
            || ls != &parsed.locales.join(",")
            || u != &parsed.source_url
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
                 source_name = $5, source_sha256 = $6, updated_at = $7, locale = $9,
                 locales = $10, source_url = $11
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
        .bind(&parsed.locale)
        .bind(parsed.locales.join(","))
        .bind(&parsed.source_url)
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
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct FrameworkRow {
    id: i64,
    key: String,
    name: String,
    version: String,
    source_format: String,
    imported_at: String,
    updated_at: String,
    locale: String,
    locales: String,
    source_url: String,
}

/// Frameworks with coverage: requirements mapped to at least one control, and requirements
/// whose mapped (applicable) controls all have fresh evidence.
pub async fn framework_summaries(
    pool: &AnyPool,
    st: &HashMap<i64, Derived>,
) -> Result<Vec<FrameworkSummary>, AppError> {
    let fws: Vec<FrameworkRow> = sqlx::query_as(
        "SELECT id, key, name, version, source_format, imported_at, updated_at, locale, locales,
                source_url
         FROM frameworks ORDER BY name",
    )
    .fetch_all(pool)
    .await?;

    // Headings only group requirements; excluded ones (Statement of Applicability) are listed,
    // not counted.
    let reqs: Vec<(i64, i64, Option<String>, Option<i64>, i64, i64)> = sqlx::query_as(
        "SELECT r.framework_id, r.id, r.retired_at, cr.control_id, r.assessable, r.applicable
         FROM requirements r LEFT JOIN control_requirements cr ON cr.requirement_id = r.id",
    )
    .fetch_all(pool)
    .await?;
    let links: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT source_requirement_id, target_requirement_id FROM requirement_links
         WHERE relationship <> 'not_related'",
    )
    .fetch_all(pool)
    .await?;
    let mapped_any: HashSet<i64> = reqs
        .iter()
        .filter(|r| r.3.is_some() && r.2.is_none())
        .map(|r| r.1)
        .collect();
    // Requirements a crosswalk relates to a mapped requirement of another framework.
    let mut suggestible: HashSet<i64> = HashSet::new();
    for (a, b) in links {
        if mapped_any.contains(&a) {
            suggestible.insert(b);
        }
        if mapped_any.contains(&b) {
            suggestible.insert(a);
        }
    }
    // framework → requirement → mapped controls
    let mut by_fw: HashMap<i64, BTreeMap<i64, Vec<i64>>> = HashMap::new();
    let mut retired: HashMap<i64, HashSet<i64>> = HashMap::new();
    let mut excluded: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (fw, rid, ret, cid, assessable, applicable) in reqs {
        if ret.is_some() {
            retired.entry(fw).or_default().insert(rid);
            continue;
        }
        if assessable == 0 {
            continue;
        }
        if applicable == 0 {
            excluded.entry(fw).or_default().insert(rid);
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
            |FrameworkRow {
                 id,
                 key,
                 name,
                 version,
                 source_format: format,
                 imported_at,
                 updated_at,
                 locale,
                 locales,
                 source_url: url,
             }| {
                let reqs = by_fw.remove(&id).unwrap_or_default();
                let mut mapped = 0;
                let mut fresh = 0;
                let mut suggested = 0;
                let mut controls = HashSet::new();
                for (rid, cs) in &reqs {
                    if cs.is_empty() {
                        suggested += i64::from(suggestible.contains(rid));
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
                    excluded: excluded.get(&id).map(|s| s.len() as i64).unwrap_or(0),
                    suggested,
                    by_status: ControlStatus::ALL
                        .iter()
                        .map(|s| (*s, by_status.get(s).copied().unwrap_or(0)))
                        .collect(),
                    imported_at,
                    updated_at,
                    locale,
                    locales: locales
                        .split(',')
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect(),
                    source_url: url,
                }
            },
        )
        .collect())
}

/// Resolves requirement labels or ids of one framework ("AC-2, ac-2.1") to requirement ids.
pub async fn resolve_requirements(
    conn: &mut sqlx::AnyConnection,
    framework_id: i64,
    refs: &str,
) -> Result<Vec<(i64, String)>, AppError> {
    // Headings only group requirements: nothing is mapped to them.
    let all: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, ref, label FROM requirements
         WHERE framework_id = $1 AND retired_at IS NULL AND assessable = 1",
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
        // An id first: a library's label may repeat another node's id.
        match (all.iter().find(|(_, r, _)| r.eq_ignore_ascii_case(want)))
            .or_else(|| all.iter().find(|(_, _, l)| l.eq_ignore_ascii_case(want)))
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
            "Requirements: not in this framework (or headings, which group requirements): {}.",
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
