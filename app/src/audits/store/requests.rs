//! Requests (PBC): the list of an audit, one request with its thread and evidence, adding,
//! commenting, attaching evidence versions, moving the status.

use super::super::{AttachedEvidence, CommentView, RequestRow};
use crate::calendar::Period;
use crate::db::WriteTx;
use crate::error::AppError;
use sqlx::AnyPool;

pub fn reference(number: i64) -> String {
    format!("PBC-{number:03}")
}

/// A request's own row, for the checks before a change.
#[derive(Debug, Clone)]
pub struct Head {
    pub id: i64,
    pub audit_id: i64,
    pub number: i64,
    pub status: String,
    pub assignee_id: Option<i64>,
    pub control_id: Option<i64>,
    pub text: String,
    pub population: String,
    pub period: String,
}

pub async fn head(pool: &AnyPool, id: i64) -> Result<Option<Head>, AppError> {
    let row: Option<(
        i64,
        i64,
        i64,
        String,
        Option<i64>,
        Option<i64>,
        String,
        String,
        String,
        String,
    )> = sqlx::query_as(
        "SELECT id, audit_id, number, status, assignee_id, control_id, text, population, \
             period_start, period_end FROM audit_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(
        |(id, audit_id, number, status, assignee_id, control_id, text, population, s, e)| Head {
            id,
            audit_id,
            number,
            status,
            assignee_id,
            control_id,
            text,
            population,
            period: format!("[{s}, {e})"),
        },
    ))
}

const ROW_SELECT: &str =
    "SELECT r.id, r.number, r.text, COALESCE(q.label, ''), COALESCE(c.ref, ''), \
     r.due_date, COALESCE(u.display_name, ''), r.status, r.sample_item, \
     (SELECT COUNT(*) FROM audit_request_evidence e WHERE e.request_id = r.id), \
     (SELECT COUNT(*) FROM audit_request_comments m WHERE m.request_id = r.id), a.name \
     FROM audit_requests r JOIN audits a ON a.id = r.audit_id \
     LEFT JOIN requirements q ON q.id = r.requirement_id \
     LEFT JOIN controls c ON c.id = r.control_id LEFT JOIN users u ON u.id = r.assignee_id";

type RowTuple = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    String,
);

fn to_row(t: RowTuple, today: &str) -> RequestRow {
    let (
        id,
        number,
        text,
        requirement,
        control,
        due,
        assignee,
        status,
        sample_item,
        evidence,
        comments,
        audit,
    ) = t;
    let overdue = due.as_str() < today && matches!(status.as_str(), "open" | "returned");
    RequestRow {
        id,
        reference: reference(number),
        text,
        requirement,
        control,
        due,
        assignee,
        status,
        overdue,
        evidence,
        comments,
        sample_item,
        audit,
    }
}

pub async fn rows(pool: &AnyPool, audit_id: i64, today: &str) -> Result<Vec<RequestRow>, AppError> {
    let sql = format!("{ROW_SELECT} WHERE r.audit_id = $1 ORDER BY r.number");
    let rows: Vec<RowTuple> = sqlx::query_as(&sql).bind(audit_id).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|t| to_row(t, today)).collect())
}

/// The requests waiting on `user`: open or returned, assigned to them, soonest due first.
pub async fn assigned_to(
    pool: &AnyPool,
    user: i64,
    today: &str,
) -> Result<Vec<RequestRow>, AppError> {
    let sql = format!(
        "{ROW_SELECT} WHERE r.assignee_id = $1 AND r.status IN ('open', 'returned') \
         AND a.status <> 'closed' ORDER BY r.due_date, r.id"
    );
    let rows: Vec<RowTuple> = sqlx::query_as(&sql).bind(user).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|t| to_row(t, today)).collect())
}

pub async fn row(pool: &AnyPool, id: i64, today: &str) -> Result<Option<RequestRow>, AppError> {
    let sql = format!("{ROW_SELECT} WHERE r.id = $1");
    let row: Option<RowTuple> = sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?;
    Ok(row.map(|t| to_row(t, today)))
}

pub async fn thread(pool: &AnyPool, id: i64) -> Result<Vec<CommentView>, AppError> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT u.display_name, m.action, m.body, m.at FROM audit_request_comments m \
         JOIN users u ON u.id = m.author_id WHERE m.request_id = $1 ORDER BY m.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(author, action, body, at)| CommentView {
            author,
            action,
            body,
            at,
        })
        .collect())
}

pub async fn evidence(pool: &AnyPool, id: i64) -> Result<Vec<AttachedEvidence>, AppError> {
    let rows: Vec<(i64, i64, String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT a.evidence_id, a.version, e.title, v.effective_date, v.filename, v.url \
         FROM audit_request_evidence a JOIN evidence e ON e.id = a.evidence_id \
         JOIN evidence_versions v ON v.evidence_id = a.evidence_id AND v.version = a.version \
         WHERE a.request_id = $1 ORDER BY a.evidence_id, a.version",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(evidence_id, version, title, effective_date, file, url)| AttachedEvidence {
                evidence_id,
                version,
                title,
                effective_date,
                file,
                url,
            },
        )
        .collect())
}

/// Evidence versions to offer as answers: those of the request's control when it has one,
/// else every item's; newest effective first, at most 200.
pub async fn candidates(
    pool: &AnyPool,
    control_id: Option<i64>,
) -> Result<Vec<(String, String)>, AppError> {
    let rows: Vec<(i64, i64, String, String)> = match control_id {
        Some(c) => sqlx::query_as(
            "SELECT v.evidence_id, v.version, e.title, v.effective_date FROM evidence_versions v \
             JOIN evidence e ON e.id = v.evidence_id \
             JOIN evidence_controls ec ON ec.evidence_id = v.evidence_id AND ec.control_id = $1 \
             ORDER BY v.effective_date DESC, v.evidence_id DESC, v.version DESC LIMIT 200",
        )
        .bind(c)
        .fetch_all(pool)
        .await?,
        None => sqlx::query_as(
            "SELECT v.evidence_id, v.version, e.title, v.effective_date FROM evidence_versions v \
             JOIN evidence e ON e.id = v.evidence_id \
             ORDER BY v.effective_date DESC, v.evidence_id DESC, v.version DESC LIMIT 200",
        )
        .fetch_all(pool)
        .await?,
    };
    Ok(rows
        .into_iter()
        .map(|(e, v, title, eff)| {
            (
                format!("{e}:{v}"),
                format!("#{e} v{v} {title} (effective {eff})"),
            )
        })
        .collect())
}

/// A requirement of one of the audit's frameworks by its label or ref.
pub async fn requirement_of(
    pool: &AnyPool,
    audit_id: i64,
    label: &str,
) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT r.id FROM requirements r JOIN audit_frameworks af ON af.framework_id = r.framework_id \
         WHERE af.audit_id = $1 AND (r.label = $2 OR r.ref = $2) ORDER BY r.id LIMIT 1",
    )
    .bind(audit_id)
    .bind(label)
    .fetch_optional(pool)
    .await?)
}

pub async fn control_by_ref(pool: &AnyPool, reference: &str) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar("SELECT id FROM controls WHERE ref = $1")
        .bind(reference)
        .fetch_optional(pool)
        .await?)
}

/// An active user who answers requests (compliance officer or administrator), by username.
pub async fn assignee(pool: &AnyPool, username: &str) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE username = $1 AND role IN ('admin', 'compliance') AND active = 1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?)
}

pub async fn auditors_of(pool: &AnyPool, audit_id: i64) -> Result<Vec<i64>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM audit_auditors WHERE audit_id = $1 ORDER BY user_id",
    )
    .bind(audit_id)
    .fetch_all(pool)
    .await?)
}

pub struct NewRequest {
    pub text: String,
    pub requirement_id: Option<i64>,
    pub control_id: Option<i64>,
    pub population: String,
    pub sample: Option<(i64, String)>,
    pub period: Period,
    pub due: String,
    pub assignee_id: Option<i64>,
}

/// Inserts a request with the audit's next number; returns (id, number). The caller writes the
/// audit event.
pub async fn insert(
    tx: &mut WriteTx,
    audit_id: i64,
    r: &NewRequest,
    by: i64,
    at: &str,
) -> Result<(i64, i64), AppError> {
    let next: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM audit_requests WHERE audit_id = $1",
    )
    .bind(audit_id)
    .fetch_one(tx.conn())
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_requests (audit_id, number, text, requirement_id, control_id, population, \
         sample_id, sample_item, period_start, period_end, due_date, assignee_id, status, created_by, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $14) RETURNING id",
    )
    .bind(audit_id)
    .bind(next)
    .bind(&r.text)
    .bind(r.requirement_id)
    .bind(r.control_id)
    .bind(&r.population)
    .bind(r.sample.as_ref().map(|s| s.0))
    .bind(r.sample.as_ref().map(|s| s.1.clone()))
    .bind(r.period.start.to_string())
    .bind(r.period.end.to_string())
    .bind(&r.due)
    .bind(r.assignee_id)
    .bind(by)
    .bind(at)
    .fetch_one(tx.conn())
    .await?;
    Ok((id, next))
}

pub async fn add_comment(
    tx: &mut WriteTx,
    request_id: i64,
    author: i64,
    action: &str,
    body: &str,
    at: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO audit_request_comments (request_id, author_id, action, body, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(request_id)
    .bind(author)
    .bind(action)
    .bind(body)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Attaches a version; `Ok(false)` when it was attached already.
pub async fn attach(
    tx: &mut WriteTx,
    request_id: i64,
    evidence_id: i64,
    version: i64,
    by: i64,
    at: &str,
) -> Result<bool, AppError> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM evidence_versions WHERE evidence_id = $1 AND version = $2",
    )
    .bind(evidence_id)
    .bind(version)
    .fetch_one(tx.conn())
    .await?;
    if exists == 0 {
        return Err(AppError::Invalid(format!(
            "evidence: #{evidence_id} has no version {version}"
        )));
    }
    let already: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_request_evidence WHERE request_id = $1 AND evidence_id = $2 AND version = $3",
    )
    .bind(request_id)
    .bind(evidence_id)
    .bind(version)
    .fetch_one(tx.conn())
    .await?;
    if already > 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO audit_request_evidence (request_id, evidence_id, version, added_by, added_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(request_id)
    .bind(evidence_id)
    .bind(version)
    .bind(by)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(true)
}

/// Moves the status, only from `from` (a concurrent move makes this a conflict).
pub async fn move_status(
    tx: &mut WriteTx,
    id: i64,
    from: &str,
    to: &str,
    at: &str,
) -> Result<(), AppError> {
    let n = sqlx::query(
        "UPDATE audit_requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(to)
    .bind(at)
    .bind(id)
    .bind(from)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(
            "The request changed meanwhile: reload it.".into(),
        ));
    }
    Ok(())
}

pub async fn evidence_count(tx: &mut WriteTx, id: i64) -> Result<i64, AppError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_request_evidence WHERE request_id = $1")
            .bind(id)
            .fetch_one(tx.conn())
            .await?,
    )
}
