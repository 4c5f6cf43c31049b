//! Budgets' SQL: reading budgets with their owners, saving one (the form) or many (a CSV
//! import, all or nothing, updated by name), alerts and their acknowledgement. Every write
//! carries its audit event in the same transaction.

use super::spec::{BudgetForm, PeriodKind, Scope, Spec};
use super::threshold::Threshold;
use crate::audit::chain::AuditCtx;
use crate::context::CurrentUser;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use crate::policy::Role;
use crate::util::{fmt_date, parse_date, ts};
use rust_decimal::Decimal;
use sqlx::Row;
use std::str::FromStr;
use time::OffsetDateTime;

/// A stored budget with its people.
#[derive(Debug, Clone)]
pub struct Budget {
    pub id: i64,
    pub spec: Spec,
    pub owner_id: i64,
    pub owner_name: String,
    pub deputy_id: Option<i64>,
    pub deputy_name: Option<String>,
}

impl Budget {
    /// Whether `user` owns or deputises it.
    pub fn is_owned_by(&self, user_id: i64) -> bool {
        self.owner_id == user_id || self.deputy_id == Some(user_id)
    }

    /// The budget as a CSV row (owner and deputy by username).
    pub fn to_form(&self) -> BudgetForm {
        super::spec::to_form(&self.spec)
    }
}

const SELECT: &str = "SELECT b.id, b.name, b.owner_id, b.deputy_id, b.period, b.amount, b.currency,
        b.start_period, b.end_period, b.provider, b.billing_account, b.sub_account, b.service,
        b.region, b.tag_key, b.tag_value, b.thresholds, b.notes,
        o.username AS owner_username, o.display_name AS owner_name,
        d.username AS deputy_username, d.display_name AS deputy_name
    FROM budgets b JOIN users o ON o.id = b.owner_id LEFT JOIN users d ON d.id = b.deputy_id";

fn corrupt(what: &str, v: &str) -> AppError {
    AppError::internal(format!("stored budget {what} '{v}' does not parse"))
}

fn row_to_budget(r: &sqlx::any::AnyRow) -> Result<Budget, AppError> {
    let text = |c: &str| r.try_get::<String, _>(c);
    let period = text("period")?;
    let amount = text("amount")?;
    let start = text("start_period")?;
    let end: Option<String> = r.try_get("end_period")?;
    let thresholds = text("thresholds")?;
    let spec = Spec {
        name: text("name")?,
        owner: text("owner_username")?,
        deputy: r
            .try_get::<Option<String>, _>("deputy_username")?
            .unwrap_or_default(),
        period: PeriodKind::parse(&period).ok_or_else(|| corrupt("period", &period))?,
        amount: Decimal::from_str(&amount).map_err(|_| corrupt("amount", &amount))?,
        currency: text("currency")?,
        start: parse_date(&start).ok_or_else(|| corrupt("start", &start))?,
        end: match end {
            Some(e) => Some(parse_date(&e).ok_or_else(|| corrupt("end", &e))?),
            None => None,
        },
        scope: Scope {
            provider: text("provider")?,
            billing_account: text("billing_account")?,
            sub_account: text("sub_account")?,
            service: text("service")?,
            region: text("region")?,
            tag_key: text("tag_key")?,
            tag_value: text("tag_value")?,
        },
        thresholds: Threshold::parse_list(&thresholds)
            .map_err(|_| corrupt("thresholds", &thresholds))?,
        notes: text("notes")?,
    };
    Ok(Budget {
        id: r.try_get("id")?,
        spec,
        owner_id: r.try_get("owner_id")?,
        owner_name: text("owner_name")?,
        deputy_id: r.try_get("deputy_id")?,
        deputy_name: r.try_get("deputy_name")?,
    })
}

pub async fn all<'c, E>(conn: E) -> Result<Vec<Budget>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let rows = sqlx::query(&format!("{SELECT} ORDER BY b.name"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_budget).collect()
}

pub async fn get(db: &Db, id: i64) -> Result<Budget, AppError> {
    let row = sqlx::query(&format!("{SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::Missing(format!("Budget #{id} does not exist.")))?;
    row_to_budget(&row)
}

/// The user a budget names as owner or deputy: by username or email, active, not an auditor
/// (auditors own nothing: their access is read-only). Systems name their owners the same way.
pub(crate) async fn person(
    conn: &mut sqlx::AnyConnection,
    field: &'static str,
    who: &str,
) -> Result<i64, (&'static str, String)> {
    let found: Option<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, role, active FROM users WHERE username = $1 OR LOWER(email) = $1",
    )
    .bind(who.to_lowercase())
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| (field, format!("cannot be looked up ({e})")))?;
    match found {
        None => Err((field, format!("no user '{who}'"))),
        Some((_, _, 0)) => Err((field, format!("'{who}' is deactivated"))),
        Some((_, role, _)) if role == Role::Auditor.as_str() => Err((
            field,
            format!("'{who}' is an auditor; auditors own nothing (read-only)"),
        )),
        Some((id, _, _)) => Ok(id),
    }
}

fn row_error(line: Option<usize>, name: &str, (field, why): (&str, String)) -> AppError {
    let at = match line {
        Some(l) => format!("Line {l}"),
        None => "Budget".into(),
    };
    let name = if name.trim().is_empty() {
        String::new()
    } else {
        format!(" ('{}')", name.trim())
    };
    AppError::invalid(format!("{at}{name}, {field}: {why}."))
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a budget's columns as `$1`…`$18` (the insert and the update share the order).
fn bind_fields<'q>(
    q: AnyQuery<'q>,
    spec: &Spec,
    owner: i64,
    deputy: Option<i64>,
    now: &str,
) -> AnyQuery<'q> {
    let s = &spec.scope;
    q.bind(spec.name.clone())
        .bind(owner)
        .bind(deputy)
        .bind(spec.period.as_str())
        .bind(spec.amount.to_string())
        .bind(spec.currency.clone())
        .bind(fmt_date(spec.start))
        .bind(spec.end.map(fmt_date))
        .bind(s.provider.clone())
        .bind(s.billing_account.clone())
        .bind(s.sub_account.clone())
        .bind(s.service.clone())
        .bind(s.region.clone())
        .bind(s.tag_key.clone())
        .bind(s.tag_value.clone())
        .bind(Threshold::list_text(&spec.thresholds))
        .bind(spec.notes.clone())
        .bind(now.to_string())
}

enum Saved {
    Created(i64),
    Updated(i64),
    Unchanged,
}

/// Inserts or updates (by name, or by `id` when given) one valid budget inside `tx`.
async fn upsert(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    spec: &Spec,
    owner: i64,
    deputy: Option<i64>,
    id: Option<i64>,
    now: &str,
) -> Result<Saved, AppError> {
    let existing: Option<(i64, String)> = match id {
        Some(id) => sqlx::query_as("SELECT id, name FROM budgets WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .map(Some)
            .ok_or_else(|| AppError::Missing(format!("Budget #{id} does not exist.")))?,
        None => {
            sqlx::query_as("SELECT id, name FROM budgets WHERE name = $1")
                .bind(&spec.name)
                .fetch_optional(tx.conn())
                .await?
        }
    };
    let clash: Option<i64> = sqlx::query_scalar("SELECT id FROM budgets WHERE name = $1")
        .bind(&spec.name)
        .fetch_optional(tx.conn())
        .await?;
    if clash.is_some() && clash != existing.as_ref().map(|e| e.0) {
        return Err(AppError::Conflict(format!(
            "Name: a budget '{}' exists already.",
            spec.name
        )));
    }
    let s = &spec.scope;
    let summary = format!(
        "'{}': {} {} {}, owner {}{}, {}, thresholds {}",
        spec.name,
        spec.period.as_str(),
        spec.amount,
        spec.currency,
        spec.owner,
        if spec.deputy.is_empty() {
            String::new()
        } else {
            format!(", deputy {}", spec.deputy)
        },
        s.describe(),
        Threshold::list_text(&spec.thresholds)
    );
    match existing {
        None => {
            let q = sqlx::query(
                "INSERT INTO budgets (name, owner_id, deputy_id, period, amount, currency,
                    start_period, end_period, provider, billing_account, sub_account, service,
                    region, tag_key, tag_value, thresholds, notes, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    $17, $18, $18) RETURNING id",
            );
            let id: i64 = bind_fields(q, spec, owner, deputy, now)
                .fetch_one(tx.conn())
                .await?
                .try_get(0)?;
            tx.audit(ctx.event("budget.create", "budget", id, format!("created {summary}")))
                .await?;
            Ok(Saved::Created(id))
        }
        Some((id, _)) => {
            let q = sqlx::query(
                "UPDATE budgets SET name = $1, owner_id = $2, deputy_id = $3, period = $4,
                    amount = $5, currency = $6, start_period = $7, end_period = $8,
                    provider = $9, billing_account = $10, sub_account = $11, service = $12,
                    region = $13, tag_key = $14, tag_value = $15, thresholds = $16, notes = $17,
                    updated_at = $18
                 WHERE id = $19 AND NOT (name = $1 AND owner_id = $2
                    AND COALESCE(deputy_id, 0) = COALESCE($3, 0) AND period = $4
                    AND amount = $5 AND currency = $6 AND start_period = $7
                    AND COALESCE(end_period, '') = COALESCE($8, '') AND provider = $9
                    AND billing_account = $10 AND sub_account = $11 AND service = $12
                    AND region = $13 AND tag_key = $14 AND tag_value = $15
                    AND thresholds = $16 AND notes = $17)",
            );
            let changed = bind_fields(q, spec, owner, deputy, now)
                .bind(id)
                .execute(tx.conn())
                .await?
                .rows_affected();
            if changed == 0 {
                return Ok(Saved::Unchanged);
            }
            tx.audit(ctx.event("budget.update", "budget", id, format!("set {summary}")))
                .await?;
            Ok(Saved::Updated(id))
        }
    }
}

/// Validates a form and resolves its people inside `tx`.
async fn resolve(
    tx: &mut WriteTx,
    form: &BudgetForm,
    line: Option<usize>,
) -> Result<(Spec, i64, Option<i64>), AppError> {
    let spec = Spec::parse(form).map_err(|e| row_error(line, &form.name, e))?;
    let owner = person(tx.conn(), "owner", &spec.owner)
        .await
        .map_err(|e| row_error(line, &spec.name, e))?;
    let deputy = match spec.deputy.as_str() {
        "" => None,
        d => Some(
            person(tx.conn(), "deputy", d)
                .await
                .map_err(|e| row_error(line, &spec.name, e))?,
        ),
    };
    if deputy == Some(owner) {
        return Err(row_error(
            line,
            &spec.name,
            ("deputy", "must be someone other than the owner".into()),
        ));
    }
    Ok((spec, owner, deputy))
}

/// Creates (`id` None) or updates one budget from the form.
pub async fn save(
    db: &Db,
    ctx: &AuditCtx,
    form: &BudgetForm,
    id: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64, AppError> {
    let mut tx = db.write().await?;
    let (spec, owner, deputy) = resolve(&mut tx, form, None).await?;
    let saved = upsert(&mut tx, ctx, &spec, owner, deputy, id, &ts(now)).await?;
    tx.commit().await?;
    Ok(match saved {
        Saved::Created(id) | Saved::Updated(id) => id,
        Saved::Unchanged => id.unwrap_or_default(),
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl ImportReport {
    pub fn to_text(&self) -> String {
        format!(
            "budgets: {} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

/// Imports parsed rows (`(line, form)`): every row is checked first, then all are written in
/// one transaction, or none.
pub async fn import(
    db: &Db,
    ctx: &AuditCtx,
    source: &str,
    rows: &[(usize, BudgetForm)],
    now: OffsetDateTime,
) -> Result<ImportReport, AppError> {
    let mut seen = std::collections::HashMap::new();
    for (line, f) in rows {
        let key = f.name.trim().to_string();
        if let Some(first) = seen.insert(key.clone(), *line) {
            return Err(AppError::invalid(format!(
                "Line {line} ('{key}'), name: the file names this budget already on line {first}."
            )));
        }
    }
    let mut tx = db.write().await?;
    let mut checked = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (line, f) in rows {
        match resolve(&mut tx, f, Some(*line)).await {
            Ok(c) => checked.push(c),
            Err(AppError::Invalid(m)) => problems.push(m),
            Err(e) => return Err(e),
        }
    }
    if !problems.is_empty() {
        const SHOWN: usize = 20;
        let more = problems.len().saturating_sub(SHOWN);
        problems.truncate(SHOWN);
        if more > 0 {
            problems.push(format!("… and {more} more."));
        }
        return Err(AppError::invalid(format!(
            "Nothing was imported. {}",
            problems.join(" ")
        )));
    }
    let mut report = ImportReport::default();
    let now = ts(now);
    for (spec, owner, deputy) in &checked {
        match upsert(&mut tx, ctx, spec, *owner, *deputy, None, &now).await? {
            Saved::Created(_) => report.created += 1,
            Saved::Updated(_) => report.updated += 1,
            Saved::Unchanged => report.unchanged += 1,
        }
    }
    tx.audit(ctx.event(
        "budget.import",
        "budget",
        "",
        format!("imported '{source}': {}", report.to_text()),
    ))
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// An attestation as stored (with who made it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationRow {
    pub budget_id: i64,
    pub period_start: String,
    pub statement: String,
    pub note: String,
    pub actual: String,
    pub by: String,
    pub at: String,
    pub evidence_id: i64,
    pub sha256: String,
}

/// Every attestation, or one budget's, newest period first.
pub async fn attestations(db: &Db, budget: Option<i64>) -> Result<Vec<AttestationRow>, AppError> {
    let rows = sqlx::query(
        "SELECT a.budget_id, a.period_start, a.statement, a.note, a.actual, u.display_name,
                a.attested_at, a.evidence_id, a.sha256
         FROM budget_attestations a JOIN users u ON u.id = a.attested_by
         WHERE $1 = 0 OR a.budget_id = $1 ORDER BY a.period_start DESC",
    )
    .bind(budget.unwrap_or(0))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AttestationRow {
                budget_id: r.try_get(0)?,
                period_start: r.try_get(1)?,
                statement: r.try_get(2)?,
                note: r.try_get(3)?,
                actual: r.try_get(4)?,
                by: r.try_get(5)?,
                at: r.try_get(6)?,
                evidence_id: r.try_get(7)?,
                sha256: r.try_get(8)?,
            })
        })
        .collect()
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: i64,
    pub budget_id: i64,
    pub period_start: String,
    pub threshold: String,
    pub threshold_amount: String,
    pub value_at_raise: String,
    pub raised_at: String,
    pub crossed: bool,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub ack_note: String,
    pub escalated_at: Option<String>,
}

const ALERT_SELECT: &str = "SELECT a.id, a.budget_id, a.period_start, a.threshold,
        a.threshold_amount, a.value_at_raise, a.raised_at, a.crossed, a.acknowledged_at,
        u.display_name AS acknowledged_by, a.ack_note, a.escalated_at
    FROM budget_alerts a LEFT JOIN users u ON u.id = a.acknowledged_by";

fn row_to_alert(r: &sqlx::any::AnyRow) -> Result<AlertRow, AppError> {
    Ok(AlertRow {
        id: r.try_get("id")?,
        budget_id: r.try_get("budget_id")?,
        period_start: r.try_get("period_start")?,
        threshold: r.try_get("threshold")?,
        threshold_amount: r.try_get("threshold_amount")?,
        value_at_raise: r.try_get("value_at_raise")?,
        raised_at: r.try_get("raised_at")?,
        crossed: r.try_get::<i64, _>("crossed")? == 1,
        acknowledged_at: r.try_get("acknowledged_at")?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        ack_note: r.try_get("ack_note")?,
        escalated_at: r.try_get("escalated_at")?,
    })
}

/// Every alert, newest period first (the evaluation and the list read them all at once).
pub async fn alerts<'c, E>(conn: E) -> Result<Vec<AlertRow>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let rows = sqlx::query(&format!(
        "{ALERT_SELECT} ORDER BY a.period_start DESC, a.id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_alert).collect()
}

pub async fn alerts_of(db: &Db, budget: i64) -> Result<Vec<AlertRow>, AppError> {
    let rows = sqlx::query(&format!(
        "{ALERT_SELECT} WHERE a.budget_id = $1 ORDER BY a.period_start DESC, a.id"
    ))
    .bind(budget)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(row_to_alert).collect()
}

/// (budget, owner, deputy, acknowledged at, budget name, period start, threshold).
type AlertOwner = (
    i64,
    i64,
    Option<i64>,
    Option<String>,
    String,
    String,
    String,
);

/// The owner (or deputy) acknowledges an alert with what will be done.
pub async fn acknowledge(
    db: &Db,
    ctx: &AuditCtx,
    user: &CurrentUser,
    alert: i64,
    note: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(AppError::invalid(
            "Note: say what will be done about the spend.",
        ));
    }
    if note.chars().count() > 2000 {
        return Err(AppError::invalid("Note: at most 2000 characters."));
    }
    let mut tx = db.write().await?;
    let found: Option<AlertOwner> = sqlx::query_as(
        "SELECT b.id, b.owner_id, b.deputy_id, a.acknowledged_at, b.name, a.period_start,
                    a.threshold
             FROM budget_alerts a JOIN budgets b ON b.id = a.budget_id WHERE a.id = $1",
    )
    .bind(alert)
    .fetch_optional(tx.conn())
    .await?;
    let Some((budget, owner, deputy, acked, name, period, threshold)) = found else {
        return Err(AppError::Missing(format!("Alert #{alert} does not exist.")));
    };
    if user.id != owner && Some(user.id) != deputy {
        return Err(AppError::Denied(format!(
            "Only the owner or deputy of '{name}' acknowledges its alerts."
        )));
    }
    if acked.is_some() {
        return Err(AppError::Conflict(
            "This alert was acknowledged already.".into(),
        ));
    }
    sqlx::query(
        "UPDATE budget_alerts SET acknowledged_at = $1, acknowledged_by = $2, ack_note = $3
         WHERE id = $4 AND acknowledged_at IS NULL",
    )
    .bind(ts(now))
    .bind(user.id)
    .bind(note)
    .bind(alert)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "budget.alert_acknowledge",
        "budget",
        budget,
        format!("acknowledged alert {threshold} of '{name}' for the period from {period}: {note}"),
    ))
    .await?;
    tx.commit().await
}
