//! Evidence SQL: reads for the pages, the ownership rule, and the inserts an upload makes.

use super::{ControlRef, EvidenceDetail, EvidenceFilter, EvidenceSummary, TestRecord, VersionView};
use crate::audits::reach::Reach;
use crate::context::CurrentUser;
use crate::error::AppError;
use crate::policy::Permission;
use sqlx::{AnyConnection, AnyPool, Row};

fn control_ref(r: &sqlx::any::AnyRow) -> Result<ControlRef, sqlx::Error> {
    Ok(ControlRef {
        id: r.try_get("id")?,
        code: r.try_get("ref")?,
        title: r.try_get("title")?,
    })
}

pub async fn all_controls(pool: &AnyPool, reach: &Reach) -> Result<Vec<ControlRef>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT id, ref, title FROM controls WHERE {} ORDER BY ref",
        reach.controls_sql("id")
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(control_ref).collect::<Result<_, _>>()?)
}

/// Controls this user may add evidence to: any with ManageCompliance, otherwise their own.
pub async fn attachable_ids(pool: &AnyPool, user: &CurrentUser) -> Result<Vec<i64>, AppError> {
    let ids = if user.can(Permission::ManageCompliance) {
        sqlx::query_scalar("SELECT id FROM controls ORDER BY ref")
            .fetch_all(pool)
            .await?
    } else {
        sqlx::query_scalar("SELECT id FROM controls WHERE owner_id = $1 ORDER BY ref")
            .bind(user.id)
            .fetch_all(pool)
            .await?
    };
    Ok(ids)
}

/// Why a user may not attach evidence to a set of controls.
#[derive(Debug)]
pub enum AttachDenied {
    Missing(i64),
    NotOwner(String),
}

/// The ownership rule: users without ManageCompliance may add evidence only to controls they
/// own. Returns the controls (in reference order).
pub async fn check_attach(
    conn: &mut AnyConnection,
    user: &CurrentUser,
    ids: &[i64],
) -> Result<Result<Vec<ControlRef>, AttachDenied>, AppError> {
    let manage = user.can(Permission::ManageCompliance);
    let mut found = Vec::new();
    for &id in ids {
        let row = sqlx::query("SELECT id, ref, title, owner_id FROM controls WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else {
            return Ok(Err(AttachDenied::Missing(id)));
        };
        let owner: Option<i64> = row.try_get("owner_id")?;
        let c = control_ref(&row)?;
        if !manage && owner != Some(user.id) {
            return Ok(Err(AttachDenied::NotOwner(c.code)));
        }
        found.push(c);
    }
    found.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Ok(found))
}

pub async fn linked_controls(
    conn: &mut AnyConnection,
    evidence_id: i64,
) -> Result<Vec<ControlRef>, AppError> {
    let rows = sqlx::query(
        "SELECT c.id, c.ref, c.title FROM evidence_controls ec \
         JOIN controls c ON c.id = ec.control_id WHERE ec.evidence_id = $1 ORDER BY c.ref",
    )
    .bind(evidence_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(control_ref).collect::<Result<_, _>>()?)
}

/// Title and kind of an evidence item.
pub async fn head(conn: &mut AnyConnection, id: i64) -> Result<Option<(String, String)>, AppError> {
    let row = sqlx::query("SELECT title, kind FROM evidence WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("title")?, r.try_get("kind")?)),
        None => None,
    })
}

/// LIKE pattern for a substring, with the input's own wildcards escaped.
fn like_pattern(s: &str) -> String {
    let mut p = String::from("%");
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub async fn list(
    pool: &AnyPool,
    f: &EvidenceFilter,
    reach: &Reach,
) -> Result<Vec<EvidenceSummary>, AppError> {
    let mut sql = format!(
        "SELECT e.id, e.title, e.kind, v.version, v.effective_date, v.uploaded_at, u.display_name \
         FROM evidence e \
         JOIN evidence_versions v ON v.evidence_id = e.id \
           AND v.version = (SELECT MAX(version) FROM evidence_versions WHERE evidence_id = e.id) \
         JOIN users u ON u.id = v.uploaded_by WHERE {}",
        reach.evidence_sql("e.id")
    );
    let mut texts: Vec<String> = Vec::new();
    let q = f.q.as_deref().map(str::trim).unwrap_or_default();
    if !q.is_empty() {
        texts.push(like_pattern(q));
        let n = texts.len();
        sql.push_str(&format!(
            " AND (LOWER(e.title) LIKE ${n} ESCAPE '\\' OR LOWER(e.description) LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(kind) = f.kind.as_deref().filter(|k| matches!(*k, "file" | "link")) {
        texts.push(kind.to_string());
        sql.push_str(&format!(" AND e.kind = ${}", texts.len()));
    }
    let control = f
        .control
        .as_deref()
        .and_then(|c| c.trim().parse::<i64>().ok());
    if control.is_some() {
        sql.push_str(&format!(
            " AND e.id IN (SELECT evidence_id FROM evidence_controls WHERE control_id = ${})",
            texts.len() + 1
        ));
    }
    sql.push_str(" ORDER BY v.uploaded_at DESC, e.id DESC LIMIT 500");
    let mut query = sqlx::query(&sql);
    for t in &texts {
        query = query.bind(t);
    }
    if let Some(c) = control {
        query = query.bind(c);
    }
    let rows = query.fetch_all(pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(EvidenceSummary {
            id: r.try_get("id")?,
            title: r.try_get("title")?,
            kind: r.try_get("kind")?,
            latest_version: r.try_get("version")?,
            effective_date: r.try_get("effective_date")?,
            uploaded_at: r.try_get("uploaded_at")?,
            uploaded_by: r.try_get("display_name")?,
            controls: Vec::new(),
        });
    }
    if !out.is_empty() {
        // One query for every listed item's controls (the ids are integers from the database).
        let ids = out
            .iter()
            .map(|e| e.id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let links = sqlx::query(&format!(
            "SELECT ec.evidence_id, c.id, c.ref, c.title FROM evidence_controls ec \
             JOIN controls c ON c.id = ec.control_id WHERE ec.evidence_id IN ({ids}) AND {} \
             ORDER BY c.ref",
            reach.controls_sql("c.id")
        ))
        .fetch_all(pool)
        .await?;
        for l in links {
            let evidence_id: i64 = l.try_get("evidence_id")?;
            if let Some(e) = out.iter_mut().find(|e| e.id == evidence_id) {
                e.controls.push(control_ref(&l)?);
            }
        }
    }
    Ok(out)
}

pub async fn detail(
    pool: &AnyPool,
    id: i64,
    user: &CurrentUser,
    reach: &Reach,
) -> Result<EvidenceDetail, AppError> {
    let row = sqlx::query(
        "SELECT e.id, e.title, e.description, e.kind, e.created_at, u.display_name \
         FROM evidence e JOIN users u ON u.id = e.created_by WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut conn = pool.acquire().await?;
    let mut controls = linked_controls(&mut conn, id).await?;
    controls.retain(|c| reach.control(c.id));
    let rows = sqlx::query(
        "SELECT v.version, v.effective_date, v.period_start, v.period_end, v.sha256, v.filename, \
         v.media_type, v.size_bytes, v.url, v.note, v.uploaded_at, u.display_name, \
         v.test_procedure, v.test_sample, v.test_result, v.tester, v.tested_on \
         FROM evidence_versions v JOIN users u ON u.id = v.uploaded_by \
         WHERE v.evidence_id = $1 ORDER BY v.version DESC",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut versions = Vec::with_capacity(rows.len());
    for r in rows {
        let result: Option<String> = r.try_get("test_result")?;
        let test = match result {
            Some(result) => Some(TestRecord {
                procedure: r
                    .try_get::<Option<String>, _>("test_procedure")?
                    .unwrap_or_default(),
                sample: r
                    .try_get::<Option<String>, _>("test_sample")?
                    .unwrap_or_default(),
                result,
                tester: r
                    .try_get::<Option<String>, _>("tester")?
                    .unwrap_or_default(),
                tested_on: r
                    .try_get::<Option<String>, _>("tested_on")?
                    .unwrap_or_default(),
            }),
            None => None,
        };
        versions.push(VersionView {
            version: r.try_get("version")?,
            effective_date: r.try_get("effective_date")?,
            period_start: r.try_get("period_start")?,
            period_end: r.try_get("period_end")?,
            sha256: r.try_get("sha256")?,
            filename: r.try_get("filename")?,
            media_type: r.try_get("media_type")?,
            size_bytes: r.try_get("size_bytes")?,
            url: r.try_get("url")?,
            note: r.try_get("note")?,
            uploaded_at: r.try_get("uploaded_at")?,
            uploaded_by: r.try_get("display_name")?,
            test,
        });
    }
    let can_add_version = user.can(Permission::SubmitEvidence)
        && (user.can(Permission::ManageCompliance)
            || check_attach(
                &mut conn,
                user,
                &controls.iter().map(|c| c.id).collect::<Vec<_>>(),
            )
            .await?
            .is_ok());
    Ok(EvidenceDetail {
        id,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        kind: row.try_get("kind")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("display_name")?,
        controls,
        versions,
        can_add_version,
    })
}

/// A stored file version, for download.
pub struct FileVersion {
    pub sha256: String,
    pub filename: String,
    pub media_type: String,
}

/// `Ok(None)` when there is no such version; `Err` is a database failure. A link version has
/// no file: `Some(None)`.
pub async fn file_version(
    pool: &AnyPool,
    evidence_id: i64,
    version: i64,
) -> Result<Option<Option<FileVersion>>, AppError> {
    let row = sqlx::query(
        "SELECT sha256, filename, media_type FROM evidence_versions \
         WHERE evidence_id = $1 AND version = $2",
    )
    .bind(evidence_id)
    .bind(version)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let sha: Option<String> = r.try_get("sha256")?;
    Ok(Some(match sha {
        Some(sha256) => Some(FileVersion {
            sha256,
            filename: r
                .try_get::<Option<String>, _>("filename")?
                .unwrap_or_else(|| "evidence".into()),
            media_type: r
                .try_get::<Option<String>, _>("media_type")?
                .unwrap_or_else(|| "application/octet-stream".into()),
        }),
        None => None,
    }))
}
