//! Audits: the list (all, or an auditor's own), one audit, saving with its frameworks and
//! auditors, the status.

use super::super::{AuditSummary, Counts};
use crate::audit::chain::AuditCtx;
use crate::calendar::Period;
use crate::db::Db;
use crate::error::AppError;
use sqlx::AnyPool;
use std::collections::HashMap;

/// An audit's own row.
#[derive(Debug, Clone)]
pub struct Audit {
    pub id: i64,
    pub name: String,
    pub period: Period,
    pub status: String,
}

impl Audit {
    pub fn closed(&self) -> bool {
        self.status == "closed"
    }
}

pub async fn audit(pool: &AnyPool, id: i64) -> Result<Option<Audit>, AppError> {
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, name, period_start, period_end, status FROM audits WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(id, name, s, e, status)| {
        let period = Period::new(crate::util::parse_date(&s)?, crate::util::parse_date(&e)?)?;
        Some(Audit {
            id,
            name,
            period,
            status,
        })
    }))
}

pub async fn is_auditor_of(pool: &AnyPool, audit_id: i64, user_id: i64) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_auditors WHERE audit_id = $1 AND user_id = $2",
    )
    .bind(audit_id)
    .bind(user_id)
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// The framework ids of an audit.
pub async fn framework_ids(pool: &AnyPool, audit_id: i64) -> Result<Vec<i64>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT framework_id FROM audit_frameworks WHERE audit_id = $1 ORDER BY framework_id",
    )
    .bind(audit_id)
    .fetch_all(pool)
    .await?)
}

/// Every audit, or those `auditor` is assigned to, newest period first, with request counts.
pub async fn summaries(
    pool: &AnyPool,
    auditor: Option<i64>,
    today: &str,
) -> Result<Vec<AuditSummary>, AppError> {
    let rows: Vec<(i64, String, String, String, String)> = match auditor {
        Some(uid) => {
            sqlx::query_as(
                "SELECT a.id, a.name, a.period_start, a.period_end, a.status FROM audits a \
                 JOIN audit_auditors x ON x.audit_id = a.id AND x.user_id = $1 \
                 ORDER BY a.period_start DESC, a.id DESC",
            )
            .bind(uid)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT id, name, period_start, period_end, status FROM audits \
                 ORDER BY period_start DESC, id DESC",
            )
            .fetch_all(pool)
            .await?
        }
    };
    let fws: Vec<(i64, String)> = sqlx::query_as(
        "SELECT af.audit_id, f.key FROM audit_frameworks af JOIN frameworks f ON f.id = af.framework_id ORDER BY f.key",
    )
    .fetch_all(pool)
    .await?;
    let auditors: Vec<(i64, String)> = sqlx::query_as(
        "SELECT x.audit_id, u.username FROM audit_auditors x JOIN users u ON u.id = x.user_id ORDER BY u.username",
    )
    .fetch_all(pool)
    .await?;
    let counts: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT audit_id, status, COUNT(*), \
         SUM(CASE WHEN due_date < $1 AND status IN ('open', 'returned') THEN 1 ELSE 0 END) \
         FROM audit_requests GROUP BY audit_id, status",
    )
    .bind(today)
    .fetch_all(pool)
    .await?;
    let mut by_fw: HashMap<i64, Vec<String>> = HashMap::new();
    for (a, k) in fws {
        by_fw.entry(a).or_default().push(k);
    }
    let mut by_aud: HashMap<i64, Vec<String>> = HashMap::new();
    for (a, u) in auditors {
        by_aud.entry(a).or_default().push(u);
    }
    let mut by_count: HashMap<i64, Counts> = HashMap::new();
    for (a, status, n, overdue) in counts {
        let c = by_count.entry(a).or_default();
        match status.as_str() {
            "open" => c.open = n,
            "submitted" => c.submitted = n,
            "accepted" => c.accepted = n,
            _ => c.returned = n,
        }
        c.overdue += overdue;
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, start, end, status)| AuditSummary {
            id,
            name,
            start,
            end,
            status,
            frameworks: by_fw.remove(&id).unwrap_or_default(),
            auditors: by_aud.remove(&id).unwrap_or_default(),
            counts: by_count.remove(&id).unwrap_or_default(),
        })
        .collect())
}

pub async fn framework_choices(pool: &AnyPool) -> Result<Vec<(String, String)>, AppError> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT key, name, version FROM frameworks ORDER BY name, key")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(k, n, v)| (k, format!("{n} {v}")))
        .collect())
}

pub async fn auditor_accounts(pool: &AnyPool) -> Result<Vec<String>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT username FROM users WHERE role = 'auditor' AND active = 1 ORDER BY username",
    )
    .fetch_all(pool)
    .await?)
}

/// Who requests can be assigned to: the active users who answer them (compliance officers and
/// administrators).
pub async fn assignees(pool: &AnyPool) -> Result<Vec<(String, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT username, display_name FROM users WHERE role IN ('admin', 'compliance') AND active = 1 \
         ORDER BY display_name",
    )
    .fetch_all(pool)
    .await?)
}

/// Ids of frameworks by key, and of auditor accounts by username; the names not found.
pub async fn resolve(
    pool: &AnyPool,
    framework_keys: &[String],
    auditors: &[String],
) -> Result<(Vec<i64>, Vec<i64>, Vec<String>), AppError> {
    let mut fids = Vec::new();
    let mut uids = Vec::new();
    let mut unknown = Vec::new();
    for k in framework_keys {
        match sqlx::query_scalar::<_, i64>("SELECT id FROM frameworks WHERE key = $1")
            .bind(k)
            .fetch_optional(pool)
            .await?
        {
            Some(id) => fids.push(id),
            None => unknown.push(format!("frameworks: no framework has the key '{k}'")),
        }
    }
    for u in auditors {
        match sqlx::query_scalar::<_, i64>(
            "SELECT id FROM users WHERE username = $1 AND role = 'auditor' AND active = 1",
        )
        .bind(u)
        .fetch_optional(pool)
        .await?
        {
            Some(id) => uids.push(id),
            None => unknown.push(format!("auditors: '{u}' is not an active auditor account")),
        }
    }
    Ok((fids, uids, unknown))
}

pub struct Valid {
    pub id: Option<i64>,
    pub name: String,
    pub period: Period,
    pub frameworks: Vec<i64>,
    pub auditors: Vec<i64>,
    pub summary: String,
}

pub async fn save(db: &Db, ctx: &AuditCtx, v: &Valid, by: i64) -> Result<i64, AppError> {
    let mut tx = db.write().await?;
    let (start, end) = (v.period.start.to_string(), v.period.end.to_string());
    let id = match v.id {
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO audits (name, period_start, period_end, status, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'planned', $4, $5, $5) RETURNING id",
            )
            .bind(&v.name)
            .bind(&start)
            .bind(&end)
            .bind(by)
            .bind(&ctx.at)
            .fetch_one(tx.conn())
            .await?;
            tx.audit(ctx.event(
                "audit.create",
                "audit",
                id,
                format!("created audit {}", v.summary),
            ))
            .await?;
            id
        }
        Some(id) => {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM audits WHERE id = $1")
                    .bind(id)
                    .fetch_optional(tx.conn())
                    .await?;
            match status.as_deref() {
                None => return Err(AppError::Missing("No such audit.".into())),
                Some("closed") => {
                    return Err(AppError::Conflict(
                        "The audit is closed: it can no longer change.".into(),
                    ))
                }
                _ => {}
            }
            sqlx::query("UPDATE audits SET name = $1, period_start = $2, period_end = $3, updated_at = $4 WHERE id = $5")
                .bind(&v.name)
                .bind(&start)
                .bind(&end)
                .bind(&ctx.at)
                .bind(id)
                .execute(tx.conn())
                .await?;
            sqlx::query("DELETE FROM audit_frameworks WHERE audit_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            sqlx::query("DELETE FROM audit_auditors WHERE audit_id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            tx.audit(ctx.event(
                "audit.update",
                "audit",
                id,
                format!("updated audit {}", v.summary),
            ))
            .await?;
            id
        }
    };
    for f in &v.frameworks {
        sqlx::query("INSERT INTO audit_frameworks (audit_id, framework_id) VALUES ($1, $2)")
            .bind(id)
            .bind(f)
            .execute(tx.conn())
            .await?;
    }
    for u in &v.auditors {
        sqlx::query("INSERT INTO audit_auditors (audit_id, user_id) VALUES ($1, $2)")
            .bind(id)
            .bind(u)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn set_status(db: &Db, ctx: &AuditCtx, id: i64, status: &str) -> Result<(), AppError> {
    let mut tx = db.write().await?;
    let from: Option<String> = sqlx::query_scalar("SELECT status FROM audits WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    let Some(from) = from else {
        return Err(AppError::Missing("No such audit.".into()));
    };
    if from == "closed" {
        return Err(AppError::Conflict(
            "The audit is closed: its status is final.".into(),
        ));
    }
    if from == status {
        return Ok(());
    }
    sqlx::query("UPDATE audits SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(&ctx.at)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "audit.status",
        "audit",
        id,
        format!("status {from} → {status}"),
    ))
    .await?;
    tx.commit().await
}
