//! Systems: the list with each one's latest snapshot, one system, saving with its checks and
//! audit event.

use super::super::{SystemForm, SystemSummary, CRITICALITIES, KINDS};
use crate::audit::chain::AuditCtx;
use crate::db::Db;
use crate::error::AppError;
use sqlx::{AnyPool, Row};

/// The built-in system holding snapshots of Steward's own users.
pub const STEWARD: &str = "Steward";

const SUMMARY: &str = "SELECT s.id, s.name, s.kind, u.display_name AS owner, s.criticality, \
     s.data_categories, n.taken_at, n.accounts, \
     (SELECT COUNT(*) FROM snapshot_accounts a WHERE a.snapshot_id = n.id AND a.flags <> '') AS flagged \
     FROM systems s LEFT JOIN users u ON u.id = s.owner_id \
     LEFT JOIN account_snapshots n ON n.id = (SELECT MAX(id) FROM account_snapshots WHERE system_id = s.id)";

fn summary(r: &sqlx::any::AnyRow) -> Result<SystemSummary, sqlx::Error> {
    let cats: String = r.try_get("data_categories")?;
    Ok(SystemSummary {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        owner: r.try_get("owner")?,
        criticality: r.try_get("criticality")?,
        data_categories: cats
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        snapshot_at: r.try_get("taken_at")?,
        accounts: r.try_get::<Option<i64>, _>("accounts")?.unwrap_or(0),
        flagged: r.try_get::<Option<i64>, _>("flagged")?.unwrap_or(0),
    })
}

pub async fn list(pool: &AnyPool) -> Result<Vec<SystemSummary>, AppError> {
    let rows = sqlx::query(&format!("{SUMMARY} ORDER BY s.name"))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(summary).collect::<Result<_, _>>()?)
}

pub async fn one(pool: &AnyPool, id: i64) -> Result<Option<(SystemSummary, String)>, AppError> {
    let row = sqlx::query(&format!("{SUMMARY} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let description: String = sqlx::query_scalar("SELECT description FROM systems WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?;
    Ok(Some((summary(&row)?, description)))
}

/// The system's id by name (the command line names systems).
pub async fn by_name(pool: &AnyPool, name: &str) -> Result<Option<i64>, AppError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM systems WHERE LOWER(name) = LOWER($1)")
            .bind(name.trim())
            .fetch_optional(pool)
            .await?,
    )
}

/// The saved column mapping of a system (JSON), if any.
pub async fn mapping(pool: &AnyPool, id: i64) -> Result<Option<String>, AppError> {
    let m: Option<Option<String>> = sqlx::query_scalar("SELECT mapping FROM systems WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    m.ok_or_else(|| AppError::Missing("No such system.".into()))
}

/// Creates or updates a system; its id. Every bad field is named at once.
pub async fn save(db: &Db, ctx: &AuditCtx, f: &SystemForm) -> Result<i64, AppError> {
    let mut errors = Vec::new();
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("name: required, at most 200 characters".to_string());
    }
    if name.eq_ignore_ascii_case(STEWARD) {
        errors.push(format!(
            "name: '{STEWARD}' is the built-in system for Steward's own users"
        ));
    }
    if !KINDS.iter().any(|(k, _)| *k == f.kind) {
        errors.push(format!(
            "kind: '{}' is not one of application, cloud_account, database",
            f.kind
        ));
    }
    let criticality = match f.criticality.trim() {
        "" => "medium",
        c if CRITICALITIES.contains(&c) => c,
        c => {
            errors.push(format!(
                "criticality: '{c}' is not low, medium, high or critical"
            ));
            "medium"
        }
    };
    let mut cats: Vec<String> = f
        .data_categories
        .split([',', ';'])
        .map(|c| c.trim().to_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    cats.sort();
    cats.dedup();
    if cats.iter().any(|c| c.chars().count() > 60) || cats.len() > 30 {
        errors.push("data categories: at most 30, each at most 60 characters".into());
    }
    if f.description.chars().count() > 4000 {
        errors.push("description: at most 4000 characters".into());
    }
    let mut tx = db.write().await?;
    let owner = match f.owner.trim() {
        "" => None,
        who => match crate::budgets::store::person(tx.conn(), "owner", who).await {
            Ok(id) => Some(id),
            Err((field, why)) => {
                errors.push(format!("{field}: {why}"));
                None
            }
        },
    };
    let clash: Option<i64> =
        sqlx::query_scalar("SELECT id FROM systems WHERE LOWER(name) = LOWER($1)")
            .bind(name)
            .fetch_optional(tx.conn())
            .await?;
    if clash.is_some_and(|c| Some(c) != f.id) {
        errors.push(format!("name: a system named '{name}' exists"));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors.join("; ")));
    }
    let cats = cats.join(",");
    let what = format!(
        "'{name}' ({}, {criticality}{})",
        f.kind,
        if cats.is_empty() {
            String::new()
        } else {
            format!(", data: {cats}")
        }
    );
    let id = match f.id {
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO systems (name, kind, owner_id, criticality, data_categories, description, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(name)
            .bind(&f.kind)
            .bind(owner)
            .bind(criticality)
            .bind(&cats)
            .bind(f.description.trim())
            .bind(&ctx.at)
            .fetch_one(tx.conn())
            .await?;
            tx.audit(ctx.event(
                "access.system_created",
                "system",
                id,
                format!("created system {what}"),
            ))
            .await?;
            id
        }
        Some(id) => {
            let n = sqlx::query(
                "UPDATE systems SET name = $1, kind = $2, owner_id = $3, criticality = $4, \
                 data_categories = $5, description = $6, updated_at = $7 WHERE id = $8 AND kind <> 'steward'",
            )
            .bind(name)
            .bind(&f.kind)
            .bind(owner)
            .bind(criticality)
            .bind(&cats)
            .bind(f.description.trim())
            .bind(&ctx.at)
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if n == 0 {
                return Err(AppError::Missing(
                    "No such system (the built-in one is not edited).".into(),
                ));
            }
            tx.audit(ctx.event(
                "access.system_updated",
                "system",
                id,
                format!("updated system {what}"),
            ))
            .await?;
            id
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// The built-in system for Steward's users, created (with its audit event) on first use.
pub async fn ensure_steward(db: &Db, ctx: &AuditCtx) -> Result<i64, AppError> {
    let mut tx = db.write().await?;
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM systems WHERE kind = 'steward'")
        .fetch_optional(tx.conn())
        .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO systems (name, kind, criticality, data_categories, description, created_at, updated_at) \
         VALUES ($1, 'steward', 'high', 'personal', $2, $3, $3) RETURNING id",
    )
    .bind(STEWARD)
    .bind("Steward's own users: we review our own access too.")
    .bind(&ctx.at)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "access.system_created",
        "system",
        id,
        format!("created the built-in system '{STEWARD}' for Steward's own users"),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}
