//! Crosswalks between frameworks ("test once, comply many"): applying an imported mapping set,
//! the coverage it suggests for a framework's requirements, and accepting a suggestion.
// Rows are read as tuples in the order the query selects them.
#![allow(clippy::type_complexity)]

use crate::audit::chain::AuditCtx;
use crate::controls::crosswalk::{ParsedMappingSet, Relationship};
use crate::controls::{MappingOutcome, Suggestion};
use crate::db::WriteTx;
use crate::error::AppError;
use sqlx::AnyPool;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A framework's live requirements by id and by label (lower case): a library names a node by
/// its id, a person's CSV by either.
struct Lookup {
    id: i64,
    name: String,
    by_ref: HashMap<String, i64>,
    by_label: HashMap<String, i64>,
}

impl Lookup {
    async fn load(tx: &mut WriteTx, key: &str, set: &str) -> Result<Lookup, AppError> {
        let fw: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM frameworks WHERE key = $1")
                .bind(key)
                .fetch_optional(tx.conn())
                .await?;
        let (id, name) = fw.ok_or_else(|| {
            AppError::invalid(format!(
                "Crosswalk '{set}' relates framework '{key}', which is not imported: import it \
                 first. Nothing was imported."
            ))
        })?;
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, ref, label FROM requirements
             WHERE framework_id = $1 AND retired_at IS NULL AND assessable = 1",
        )
        .bind(id)
        .fetch_all(tx.conn())
        .await?;
        let mut l = Lookup {
            id,
            name,
            by_ref: HashMap::new(),
            by_label: HashMap::new(),
        };
        for (rid, r, label) in rows {
            l.by_ref.insert(r.to_lowercase(), rid);
            l.by_label.entry(label.to_lowercase()).or_insert(rid);
        }
        Ok(l)
    }

    fn find(&self, want: &str) -> Option<i64> {
        let w = want.trim().to_lowercase();
        self.by_ref
            .get(&w)
            .or_else(|| self.by_label.get(&w))
            .copied()
    }
}

/// What a link says besides its two ends.
type Says = (String, String, Option<i64>, String);

/// Applies one mapping set inside the caller's transaction: created, or its links replaced by
/// the file's (added, changed, removed), nothing written when they are the same. `strict`
/// (a person's CSV) makes an unknown requirement an error naming its line; a library's
/// unknown requirements are skipped and listed, as libraries trail their frameworks.
pub async fn apply_mapping_set(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    set: &ParsedMappingSet,
    (format, source_name, sha256): (&str, &str, &str),
    strict: bool,
) -> Result<MappingOutcome, AppError> {
    let src = Lookup::load(tx, &set.source_framework, &set.name).await?;
    let tgt = Lookup::load(tx, &set.target_framework, &set.name).await?;
    let mut out = MappingOutcome {
        name: set.name.clone(),
        source: src.name.clone(),
        target: tgt.name.clone(),
        ..Default::default()
    };
    let mut want: BTreeMap<(i64, i64), Says> = BTreeMap::new();
    let mut errors = Vec::new();
    for l in &set.links {
        let ends = (src.find(&l.source), tgt.find(&l.target));
        let (Some(s), Some(t)) = ends else {
            let (field, missing, fw) = match ends.0 {
                None => ("source_id", &l.source, &src.name),
                Some(_) => ("target_id", &l.target, &tgt.name),
            };
            if strict {
                errors.push(format!(
                    "Line {}, {field}: '{missing}' is not a requirement of {fw}",
                    l.line
                ));
            } else {
                out.skipped.push(missing.clone());
            }
            continue;
        };
        let says = (
            l.relationship.as_str().to_string(),
            l.rationale.clone(),
            l.strength,
            l.annotation.clone(),
        );
        want.insert((s, t), says);
    }
    if !errors.is_empty() {
        let more = errors.len().saturating_sub(20);
        errors.truncate(20);
        if more > 0 {
            errors.push(format!("and {more} more"));
        }
        return Err(AppError::invalid(format!(
            "Nothing was imported. {}",
            errors.join("; ")
        )));
    }
    let existing: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, source_framework_id, target_framework_id FROM requirement_mapping_sets WHERE key = $1",
    )
    .bind(&set.key)
    .fetch_optional(tx.conn())
    .await?;
    let set_id = match existing {
        Some((id, ..)) => id,
        None => {
            out.created = true;
            sqlx::query_scalar(
                "INSERT INTO requirement_mapping_sets (key, name, source_format, source_name,
                     source_sha256, source_framework_id, target_framework_id, imported_at,
                     updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(&set.key)
            .bind(&set.name)
            .bind(format)
            .bind(source_name)
            .bind(sha256)
            .bind(src.id)
            .bind(tgt.id)
            .bind(&ctx.at)
            .fetch_one(tx.conn())
            .await?
        }
    };
    let rows: Vec<(i64, i64, i64, String, String, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, source_requirement_id, target_requirement_id, relationship, rationale,
                strength, annotation
         FROM requirement_links WHERE set_id = $1",
    )
    .bind(set_id)
    .fetch_all(tx.conn())
    .await?;
    let mut have: HashMap<(i64, i64), (i64, Says)> = rows
        .into_iter()
        .map(|r| ((r.1, r.2), (r.0, (r.3, r.4, r.5, r.6))))
        .collect();
    for ((s, t), says) in &want {
        match have.remove(&(*s, *t)) {
            Some((_, old)) if old == *says => out.unchanged += 1,
            Some((id, _)) => {
                sqlx::query(
                    "UPDATE requirement_links SET relationship = $1, rationale = $2, strength = $3,
                         annotation = $4 WHERE id = $5",
                )
                .bind(&says.0)
                .bind(&says.1)
                .bind(says.2)
                .bind(&says.3)
                .bind(id)
                .execute(tx.conn())
                .await?;
                out.updated += 1;
            }
            None => {
                sqlx::query(
                    "INSERT INTO requirement_links (set_id, source_requirement_id,
                         target_requirement_id, relationship, rationale, strength, annotation)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(set_id)
                .bind(s)
                .bind(t)
                .bind(&says.0)
                .bind(&says.1)
                .bind(says.2)
                .bind(&says.3)
                .execute(tx.conn())
                .await?;
                out.added += 1;
            }
        }
    }
    for (id, _) in have.into_values() {
        sqlx::query("DELETE FROM requirement_links WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        out.removed += 1;
    }
    out.changed = out.created || out.added + out.updated + out.removed > 0;
    if !out.changed {
        return Ok(out);
    }
    if !out.created {
        sqlx::query(
            "UPDATE requirement_mapping_sets SET name = $1, source_format = $2, source_name = $3,
                 source_sha256 = $4, source_framework_id = $5, target_framework_id = $6,
                 updated_at = $7
             WHERE id = $8",
        )
        .bind(&set.name)
        .bind(format)
        .bind(source_name)
        .bind(sha256)
        .bind(src.id)
        .bind(tgt.id)
        .bind(&ctx.at)
        .bind(set_id)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(ctx.event(
        if out.created {
            "crosswalk.import"
        } else {
            "crosswalk.update"
        },
        "crosswalk",
        set_id,
        format!(
            "from {source_name} ({format}, sha256 {sha256}): {}",
            out.describe()
        ),
    ))
    .await?;
    Ok(out)
}

/// The coverage crosswalks suggest for `framework_id`'s requirements: for each live link, a
/// control mapped to one end suggests the other end (seen from there, subset and superset
/// swap). Suggestions already accepted, and requirements retired, excluded or headings, are
/// left out. By requirement, in a stable order.
pub async fn suggestions(
    pool: &AnyPool,
    framework_id: i64,
) -> Result<BTreeMap<i64, Vec<Suggestion>>, AppError> {
    // here, relationship as written, reversed?, control, control ref, via label, via
    // framework, crosswalk name
    // One half per direction: the requirement here is the link's target, or its source.
    let half = |here: &str, via: &str, reversed: u8| {
        format!(
            "SELECT h.id, l.relationship, {reversed}, c.id, c.ref, v.label, vf.name, s.name
             FROM requirement_links l
             JOIN requirement_mapping_sets s ON s.id = l.set_id
             JOIN requirements h ON h.id = l.{here}_requirement_id
             JOIN requirements v ON v.id = l.{via}_requirement_id
             JOIN frameworks vf ON vf.id = v.framework_id
             JOIN control_requirements cr ON cr.requirement_id = v.id
             JOIN controls c ON c.id = cr.control_id
             WHERE h.framework_id = $1 AND l.relationship <> 'not_related'
               AND h.retired_at IS NULL AND v.retired_at IS NULL AND h.assessable = 1
               AND h.applicable = 1"
        )
    };
    let sql = format!(
        "{} UNION ALL {}",
        half("target", "source", 0),
        half("source", "target", 1)
    );
    let rows: Vec<(i64, String, i64, i64, String, String, String, String)> = sqlx::query_as(&sql)
        .bind(framework_id)
        .fetch_all(pool)
        .await?;
    let mapped: HashSet<(i64, i64)> = sqlx::query_as(
        "SELECT cr.requirement_id, cr.control_id FROM control_requirements cr
         JOIN requirements r ON r.id = cr.requirement_id WHERE r.framework_id = $1",
    )
    .bind(framework_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    let mut out: BTreeMap<i64, Vec<Suggestion>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (here, rel, reversed, cid, cref, via_label, via_fw, set) in rows {
        if mapped.contains(&(here, cid))
            || !seen.insert((here, cid, via_fw.clone(), via_label.clone()))
        {
            continue;
        }
        let rel = Relationship::parse(&rel).unwrap_or(Relationship::Intersect);
        let rel = if reversed == 1 { rel.inverse() } else { rel };
        out.entry(here).or_default().push(Suggestion {
            requirement_id: here,
            control_id: cid,
            control_ref: cref,
            via_framework: via_fw,
            via_label,
            relationship: rel.as_str().to_string(),
            crosswalk: set,
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| {
            (&a.control_ref, &a.via_framework, &a.via_label).cmp(&(
                &b.control_ref,
                &b.via_framework,
                &b.via_label,
            ))
        });
    }
    Ok(out)
}

/// The crosswalks that touch a framework: name, the other framework, links, format.
pub async fn crosswalks_of(
    pool: &AnyPool,
    framework_id: i64,
) -> Result<Vec<(String, String, i64, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT s.name,
                CASE WHEN s.source_framework_id = $1 THEN t.name ELSE f.name END,
                (SELECT COUNT(*) FROM requirement_links l WHERE l.set_id = s.id),
                s.source_format
         FROM requirement_mapping_sets s
         JOIN frameworks f ON f.id = s.source_framework_id
         JOIN frameworks t ON t.id = s.target_framework_id
         WHERE s.source_framework_id = $1 OR s.target_framework_id = $1
         ORDER BY s.name",
    )
    .bind(framework_id)
    .fetch_all(pool)
    .await?)
}
