//! Legal holds as cases: a name, a reason, a custodian, a start, and a scope of categories,
//! systems, vendors or single records. While in force a hold suspends disposal of everything
//! in its scope (the queue, the own-data job); its release is a second, audited act with a
//! note, after which the data falls back under its rules.

use super::schedule::in_force;
use super::store::{self, ActiveHold};
use super::*;
use crate::context::require;
use crate::policy::Permission;
use crate::state::{app_state, audit_ctx};
use crate::util::{fmt_date, parse_date};

/// A scope choice "kind:id" → its column and id.
fn target(raw: &str) -> Result<(&'static str, i64), AppError> {
    let bad = || AppError::invalid(format!("scope: '{raw}' names nothing to hold"));
    let (kind, id) = raw.trim().split_once(':').ok_or_else(bad)?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    let column = match kind {
        "category" => "category_id",
        "system" => "system_id",
        "vendor" => "vendor_id",
        "record" => "record_id",
        _ => return Err(bad()),
    };
    Ok((column, id))
}

/// What a scope line names, or `None` when it does not exist.
async fn describe(
    conn: &mut sqlx::AnyConnection,
    column: &str,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let (sql, label) = match column {
        "category_id" => (
            "SELECT name FROM retention_categories WHERE id = $1",
            "Category",
        ),
        "system_id" => ("SELECT name FROM systems WHERE id = $1", "System"),
        "vendor_id" => ("SELECT name FROM vendors WHERE id = $1", "Vendor"),
        _ => (
            "SELECT description FROM retention_records WHERE id = $1",
            "Record",
        ),
    };
    let name: Option<String> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(name.map(|n| format!("{label}: {n}")))
}

pub async fn list() -> Result<HoldsView, AppError> {
    let su = require(Permission::ViewRetention)?;
    let state = app_state()?;
    let pool = state.db.pool();
    let today = state.clock.now().date();
    let mut conn = pool.acquire().await?;
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT h.id, h.name, h.reason, c.display_name, h.starts_on, h.released_at, \
            r.display_name, h.release_note FROM legal_holds h \
         LEFT JOIN users c ON c.id = h.custodian_id LEFT JOIN users r ON r.id = h.released_by \
         ORDER BY h.released_at IS NOT NULL, h.starts_on DESC, h.id DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    type Scope = (i64, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let scopes: Vec<Scope> = sqlx::query_as(
        "SELECT id, hold_id, category_id, system_id, vendor_id, record_id \
             FROM legal_hold_scopes ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let records = store::records(&mut conn, today, None).await?;
    let mut holds = Vec::with_capacity(rows.len());
    for (id, name, reason, custodian, starts_on, released_at, released_by, note) in rows {
        let mut scope = Vec::new();
        let mut lines = Vec::new();
        for s in scopes.iter().filter(|s| s.1 == id) {
            let (column, target) = match *s {
                (_, _, Some(c), ..) => ("category_id", c),
                (_, _, _, Some(v), ..) => ("system_id", v),
                (_, _, _, _, Some(v), _) => ("vendor_id", v),
                (.., Some(r)) => ("record_id", r),
                _ => continue,
            };
            let what = describe(&mut conn, column, target)
                .await?
                .unwrap_or_else(|| "(gone)".into());
            scope.push((column.trim_end_matches("_id").to_string(), s.0, what));
            lines.push(super::schedule::HoldScope {
                category: s.2,
                system: s.3,
                vendor: s.4,
                record: s.5,
            });
        }
        let start = parse_date(&starts_on).unwrap_or(time::Date::MAX);
        let released = released_at
            .as_deref()
            .and_then(|r| parse_date(r.get(..10)?));
        let force = in_force(start, released, today);
        let hold = ActiveHold {
            id,
            name: name.clone(),
            scopes: lines,
        };
        let covered = records
            .iter()
            .filter(|r| r.view.status != "disposed" && hold.covers(&r.place))
            .count() as i64;
        holds.push(HoldView {
            id,
            name,
            reason,
            custodian,
            starts_on,
            released_at,
            released_by,
            release_note: note,
            in_force: force,
            scope,
            records: if force { covered } else { 0 },
        });
    }
    let mut targets: Vec<(String, String)> = sqlx::query_as::<_, (i64, String)>(
        "SELECT id, name FROM retention_categories ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, n)| (format!("category:{id}"), format!("Category: {n}")))
    .collect();
    targets.extend(store::places(pool).await?);
    targets.extend(
        records
            .iter()
            .filter(|r| r.view.status != "disposed")
            .map(|r| {
                (
                    format!("record:{}", r.view.id),
                    format!("Record: {}", r.view.description),
                )
            }),
    );
    let people = sqlx::query_as(
        "SELECT username, display_name FROM users WHERE active = 1 AND role <> 'auditor' \
         ORDER BY display_name",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(HoldsView {
        holds,
        targets,
        people,
        can_manage: su.user.can(Permission::ManageRetention),
    })
}

async fn insert_scope(
    tx: &mut crate::db::WriteTx,
    hold: i64,
    raw: &str,
) -> Result<String, AppError> {
    let (column, id) = target(raw)?;
    let what = describe(tx.conn(), column, id)
        .await?
        .ok_or_else(|| AppError::invalid(format!("scope: '{raw}' does not exist")))?;
    let dup: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM legal_hold_scopes WHERE hold_id = $1 AND {column} = $2"
    ))
    .bind(hold)
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    if dup > 0 {
        return Err(AppError::invalid(format!("scope: {what} is held already")));
    }
    sqlx::query(&format!(
        "INSERT INTO legal_hold_scopes (hold_id, {column}) VALUES ($1, $2)"
    ))
    .bind(hold)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(what)
}

pub async fn place(f: HoldForm) -> Result<i64, AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut errors = Vec::new();
    let name =
        super::requests::required(&mut errors, "name", &f.name, 200, " (the case or matter)");
    let reason = super::requests::required(&mut errors, "reason", &f.reason, 2000, "");
    let today = state.clock.now().date();
    let starts = match f.starts_on.trim() {
        "" => today,
        d => parse_date(d).unwrap_or_else(|| {
            errors.push(format!("starts on: '{d}' is not a date (YYYY-MM-DD)"));
            today
        }),
    };
    if f.target.trim().is_empty() {
        errors.push("scope: name what is held (a category, system, vendor or record)".into());
    }
    super::requests::fail(errors)?;
    let mut tx = state.db.write().await?;
    let custodian = match f.custodian.trim() {
        "" => None,
        who => Some(
            crate::budgets::store::person(tx.conn(), "custodian", who)
                .await
                .map_err(|(field, why)| AppError::invalid(format!("{field}: {why}")))?,
        ),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO legal_holds (name, reason, custodian_id, starts_on, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&name)
    .bind(&reason)
    .bind(custodian)
    .bind(fmt_date(starts))
    .bind(su.user.id)
    .bind(&ctx.at)
    .fetch_one(tx.conn())
    .await?;
    let what = insert_scope(&mut tx, id, &f.target).await?;
    tx.audit(ctx.event(
        "retention.hold.place",
        "legal_hold",
        id,
        format!(
            "legal hold '{name}' from {}: {what} (reason: {reason})",
            fmt_date(starts)
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The name of hold `id`, refused when it was released (`then` says what to do instead).
async fn unreleased(tx: &mut crate::db::WriteTx, id: i64, then: &str) -> Result<String, AppError> {
    let (name, released): (String, Option<String>) =
        sqlx::query_as("SELECT name, released_at FROM legal_holds WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(AppError::NotFound)?;
    match released {
        Some(at) => Err(AppError::Conflict(format!(
            "The hold '{name}' was released on {}: {then}.",
            at.get(..10).unwrap_or(&at)
        ))),
        None => Ok(name),
    }
}

pub async fn add_scope(id: i64, raw: String) -> Result<(), AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let mut tx = state.db.write().await?;
    let name = unreleased(&mut tx, id, "place a new one").await?;
    let what = insert_scope(&mut tx, id, &raw).await?;
    tx.audit(ctx.event(
        "retention.hold.scope",
        "legal_hold",
        id,
        format!("legal hold '{name}' now also holds {what}"),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn release(id: i64, note: String) -> Result<(), AppError> {
    let su = require(Permission::ManageRetention)?;
    let state = app_state()?;
    let ctx = audit_ctx(&state, Some(&su.user));
    let note = note.trim().to_string();
    if note.is_empty() {
        return Err(AppError::invalid(
            "note: required (why the hold ends: the matter closed, counsel's instruction…)",
        ));
    }
    if note.chars().count() > 2000 {
        return Err(AppError::invalid("note: at most 2000 characters"));
    }
    let mut tx = state.db.write().await?;
    let name = unreleased(&mut tx, id, "nothing to do").await?;
    sqlx::query(
        "UPDATE legal_holds SET released_at = $1, released_by = $2, release_note = $3 \
         WHERE id = $4",
    )
    .bind(&ctx.at)
    .bind(su.user.id)
    .bind(&note)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "retention.hold.release",
        "legal_hold",
        id,
        format!("legal hold '{name}' released: {note}"),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}
