//! The people list (replaced whole by each import, audited) and the flag rules.

use super::super::flags::{Person, Rules};
use crate::audit::chain::AuditCtx;
use crate::db::Db;
use crate::error::AppError;
use sqlx::AnyPool;

/// Rows per INSERT statement.
const BATCH: usize = 500;

/// Replaces the people list with `people`, in one audited transaction.
pub async fn replace(
    db: &Db,
    ctx: &AuditCtx,
    people: &[Person],
    file_name: &str,
    sha256: &str,
) -> Result<(), AppError> {
    let mut tx = db.write().await?;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(tx.conn())
        .await?;
    sqlx::query("DELETE FROM people").execute(tx.conn()).await?;
    for chunk in people.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO people (email, name, manager_email, active, department, imported_at) VALUES ",
        );
        sql.push_str(&crate::db::placeholders(chunk.len(), 6));
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(&p.email)
                .bind(&p.name)
                .bind(&p.manager_email)
                .bind(p.active as i64)
                .bind(&p.department)
                .bind(&ctx.at);
        }
        q.execute(tx.conn()).await?;
    }
    let active = people.iter().filter(|p| p.active).count();
    tx.audit(ctx.event(
        "access.people_imported",
        "people",
        "list",
        format!(
            "people list replaced from '{file_name}' (sha256 {sha256}): {} people ({active} active), {before} before",
            people.len()
        ),
    ))
    .await?;
    tx.commit().await
}

/// A page of the people list, matching name, email or department.
pub async fn page(
    pool: &AnyPool,
    q: &str,
    page: i64,
    per_page: i64,
) -> Result<(Vec<Person>, i64), AppError> {
    let like = format!(
        "%{}%",
        q.trim().to_lowercase().replace(['%', '_', '\\'], "")
    );
    let filter = "(LOWER(email) LIKE $1 OR LOWER(name) LIKE $1 OR LOWER(department) LIKE $1)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM people WHERE {filter}"))
        .bind(&like)
        .fetch_one(pool)
        .await?;
    let rows: Vec<(String, String, Option<String>, i64, String)> = sqlx::query_as(&format!(
        "SELECT email, name, manager_email, active, department FROM people WHERE {filter} \
         ORDER BY name, email LIMIT $2 OFFSET $3"
    ))
    .bind(&like)
    .bind(per_page)
    .bind((page.max(1) - 1) * per_page)
    .fetch_all(pool)
    .await?;
    Ok((
        rows.into_iter()
            .map(|(email, name, manager_email, active, department)| Person {
                email,
                name,
                manager_email,
                active: active == 1,
                department,
            })
            .collect(),
        total,
    ))
}

/// Saves the flag rules (checked), with the audit event.
pub async fn save_rules(db: &Db, ctx: &AuditCtx, r: &Rules) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if !(1..=3650).contains(&r.dormant_days) {
        errors.push("dormant days: from 1 to 3650");
    }
    if !(1..=3650).contains(&r.stale_credential_days) {
        errors.push("stale credential days: from 1 to 3650");
    }
    if r.privileged_patterns.len() > 100
        || r.privileged_patterns
            .iter()
            .any(|p| p.chars().count() > 100)
    {
        errors.push("privileged patterns: at most 100, each at most 100 characters");
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let patterns = r.privileged_patterns.join("\n");
    let mut tx = db.write().await?;
    sqlx::query("DELETE FROM access_review_rules WHERE id = 1")
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO access_review_rules (id, dormant_days, stale_credential_days, privileged_patterns) VALUES (1, $1, $2, $3)",
    )
    .bind(r.dormant_days)
    .bind(r.stale_credential_days)
    .bind(&patterns)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "access.rules_changed",
        "settings",
        "access_review_rules",
        format!(
            "flag rules: dormant after {} days, stale credential after {} days, privileged patterns: {}",
            r.dormant_days,
            r.stale_credential_days,
            r.privileged_patterns.join(", ")
        ),
    ))
    .await?;
    tx.commit().await
}
