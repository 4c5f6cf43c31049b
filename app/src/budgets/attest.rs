//! The monthly attestation: after a period closes, the owner (or deputy) confirms the spend or
//! explains the variance. The statement becomes evidence: a generated plain-text document,
//! stored content-addressed (its SHA-256 is its name) and never changed, linked to the control
//! the organisation names for it ("cloud spend is reviewed monthly"), so it counts towards
//! that control's freshness like any evidence.

use super::evaluate::{basis, figures};
use super::store;
use crate::audit::chain::AuditCtx;
use crate::context::CurrentUser;
use crate::error::AppError;
use crate::evidence::generated;
use crate::state::AppState;
use crate::util::{fmt_date, parse_date, ts};

/// `confirmed` or `explained`.
fn statement(raw: &str) -> Result<&'static str, AppError> {
    match raw.trim() {
        "confirmed" | "confirm" => Ok("confirmed"),
        "explained" | "explain" => Ok("explained"),
        o => Err(AppError::invalid(format!(
            "Statement: '{o}' is neither confirmed nor explained."
        ))),
    }
}

/// The control attestations count for, if the organisation named one.
pub async fn control(pool: &sqlx::AnyPool) -> Result<Option<(i64, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT c.id, c.ref FROM organisation o JOIN controls c ON c.id = o.attestation_control_id
         WHERE o.id = 1",
    )
    .fetch_optional(pool)
    .await?)
}

/// Names the control attestations count for (by its reference; empty: none).
pub async fn set_control(
    state: &AppState,
    ctx: &AuditCtx,
    reference: &str,
) -> Result<(), AppError> {
    let reference = reference.trim();
    let mut tx = state.db.write().await?;
    let id: Option<i64> = if reference.is_empty() {
        None
    } else {
        Some(
            sqlx::query_scalar("SELECT id FROM controls WHERE ref = $1")
                .bind(reference)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| {
                    AppError::invalid(format!(
                        "Control: no control has the reference '{reference}'."
                    ))
                })?,
        )
    };
    sqlx::query("UPDATE organisation SET attestation_control_id = $1 WHERE id = 1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(ctx.event(
        "budget.attestation_control",
        "organisation",
        1,
        if reference.is_empty() {
            "budget attestations count for no control".to_string()
        } else {
            format!("budget attestations count as evidence for control {reference}")
        },
    ))
    .await?;
    tx.commit().await
}

/// Records the owner's attestation of a closed period; returns the evidence id.
pub async fn attest(
    state: &AppState,
    ctx: &AuditCtx,
    user: &CurrentUser,
    budget_id: i64,
    period: &str,
    raw_statement: &str,
    note: &str,
) -> Result<i64, AppError> {
    let b = store::get(&state.db, budget_id).await?;
    if !b.is_owned_by(user.id) {
        return Err(AppError::Denied(format!(
            "Only the owner or deputy of '{}' attests its spend.",
            b.spec.name
        )));
    }
    let now = state.clock.now();
    let start = parse_date(period.trim())
        .ok_or_else(|| AppError::invalid(format!("Period: '{period}' is not a date.")))?;
    let p = b
        .spec
        .period_of(start)
        .filter(|p| p.start == start)
        .ok_or_else(|| {
            AppError::invalid(format!(
                "Period: no period of '{}' starts on {period}.",
                b.spec.name
            ))
        })?;
    if p.end > now.date() {
        return Err(AppError::invalid(format!(
            "Period: {} has not closed yet (it ends {}).",
            fmt_date(p.start),
            fmt_date(p.end)
        )));
    }
    let statement = statement(raw_statement)?;
    let note = note.trim();
    if note.chars().count() > 4000 {
        return Err(AppError::invalid("Note: at most 4000 characters."));
    }
    let f = figures(&basis(&state.db, &state.cost_cube, now).await?, &b, p)?;
    let over = f.actual > b.spec.amount;
    if statement == "explained" && note.is_empty() {
        return Err(AppError::invalid("Note: explain the variance."));
    }
    if over && statement == "confirmed" {
        return Err(AppError::invalid(format!(
            "Statement: the spend ({} {}) is over the budget ({}): explain the variance.",
            f.actual.normalize(),
            b.spec.currency,
            b.spec.amount
        )));
    }
    let doc = format!(
        "Steward budget attestation\n\
         Budget: {} (#{})\nScope: {}\nPeriod: [{}, {})\n\
         Budget amount: {} {cur}\nActual (billed cost, exact): {} {cur}\n\
         Variance (actual - budget): {} {cur}\nStatement: {statement}\nNote: {note}\n\
         Attested by: {} ({}) at {}\n",
        b.spec.name,
        b.id,
        b.spec.scope.describe(),
        fmt_date(p.start),
        fmt_date(p.end),
        b.spec.amount,
        f.actual.normalize(),
        (f.actual - b.spec.amount).normalize(),
        user.display_name,
        user.username,
        ts(now),
        cur = b.spec.currency,
    );
    let (sha, size) = generated::store(state.blobs.as_ref(), doc.into_bytes()).await?;
    let control = control(state.db.pool()).await?;
    let at = ts(now);
    let mut tx = state.db.write().await?;
    let done: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM budget_attestations WHERE budget_id = $1 AND period_start = $2",
    )
    .bind(b.id)
    .bind(fmt_date(p.start))
    .fetch_one(tx.conn())
    .await?;
    if done > 0 {
        return Err(AppError::Conflict(format!(
            "The period from {} of '{}' is attested already.",
            fmt_date(p.start),
            b.spec.name
        )));
    }
    let title = format!(
        "Budget attestation: {}, {}",
        b.spec.name,
        super::spec::month_text(p.start)
    );
    let filename = format!("budget-{}-attestation-{}.txt", b.id, fmt_date(p.start));
    let controls: Vec<i64> = control.iter().map(|(cid, _)| *cid).collect();
    let evidence = generated::record(
        &mut tx,
        &generated::Generated {
            title: &title,
            description: &format!(
                "The owner's monthly statement on the spend of budget '{}'.",
                b.spec.name
            ),
            controls: &controls,
            sha256: &sha,
            size,
            filename: &filename,
            media_type: "text/plain",
            effective: &fmt_date(now.date()),
            period: (&fmt_date(p.start), &fmt_date(p.end)),
            note,
            by: user.id,
            at: &at,
        },
    )
    .await?;
    sqlx::query(
        "INSERT INTO budget_attestations (budget_id, period_start, statement, note, amount,
            actual, attested_by, attested_at, evidence_id, sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(b.id)
    .bind(fmt_date(p.start))
    .bind(statement)
    .bind(note)
    .bind(b.spec.amount.to_string())
    .bind(f.actual.to_string())
    .bind(user.id)
    .bind(&at)
    .bind(evidence)
    .bind(&sha)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "budget.attest",
        "budget",
        b.id,
        format!(
            "{statement} the spend of '{}' for the period from {}: {} of {} {}; evidence #{evidence} \
             (sha256 {sha}){}",
            b.spec.name,
            fmt_date(p.start),
            f.actual.normalize(),
            b.spec.amount,
            b.spec.currency,
            control
                .map(|(_, r)| format!(" for control {r}"))
                .unwrap_or_default()
        ),
    ))
    .await?;
    tx.commit().await?;
    Ok(evidence)
}
