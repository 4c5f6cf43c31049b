//! A budget's figures for a period (actual from the cost cube, exactly; the forecast; the
//! state), and the evaluation that raises alerts: one per budget, period and threshold, ever.
//!
//! The sums are made before the write transaction opens (no slow work under the write lock);
//! inside it the stored alerts are read again, so two evaluations at once (two servers, the
//! CLI and a server) raise each alert once: the second finds the first's rows. The unique
//! key on (budget, period, threshold) backs this up.

use super::forecast::{forecast, Forecast, Input};
use super::store::{self, Budget};
use super::threshold::Basis;
use super::BudgetState;
use crate::audit::chain::AuditCtx;
use crate::calendar::Period;
use crate::costs::cube::{Buckets, Cube, Filters, Group, Metric, Snapshot};
use crate::db::Db;
use crate::error::AppError;
use crate::util::{fmt_date, parse_date, ts};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;
use time::{Date, OffsetDateTime};

/// A budget in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub period: Period,
    pub actual: Decimal,
    pub forecast: Forecast,
    pub state: BudgetState,
    /// (threshold text, amount it stands for, crossed now), in the budget's order.
    pub thresholds: Vec<(String, Decimal, bool)>,
}

/// What every budget's figures are read from: the cube and how far its data is settled.
pub struct DataBasis {
    pub snap: Arc<Snapshot>,
    pub settled_until: Option<Date>,
    pub today: Date,
}

pub async fn basis(db: &Db, cube: &Cube, now: OffsetDateTime) -> Result<DataBasis, AppError> {
    let snap = cube.snapshot(db).await?;
    let estimated: Option<Option<String>> = sqlx::query_scalar(
        "SELECT estimated_from FROM cost_sync_runs WHERE status = 'succeeded'
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    let after_latest = snap.choices.latest_day.and_then(|d| d.next_day());
    let estimated = estimated.flatten().as_deref().and_then(parse_date);
    let settled_until = match (after_latest, estimated) {
        (Some(a), Some(e)) => Some(a.min(e)),
        (a, _) => a,
    };
    Ok(DataBasis {
        snap,
        settled_until,
        today: now.date(),
    })
}

/// The budget's spend over [from, to), exactly (billed cost).
fn spend(snap: &Snapshot, b: &Budget, from: Date, to: Date) -> Result<Decimal, AppError> {
    if to <= from {
        return Ok(Decimal::ZERO);
    }
    let s = &b.spec.scope;
    let buckets = Buckets::single(from, to);
    let cur = &b.spec.currency;
    let sums = if s.tag_key.is_empty() {
        let f = Filters {
            provider: &s.provider,
            billing: &s.billing_account,
            account: &s.sub_account,
            service: &s.service,
            region: &s.region,
        };
        snap.sums(&buckets, cur, Metric::Billed, Group::Nothing, &f)?
            .remove("")
    } else {
        let f = Filters {
            provider: &s.provider,
            service: &s.service,
            ..Filters::default()
        };
        snap.sums(&buckets, cur, Metric::Billed, Group::Tag(&s.tag_key), &f)?
            .remove(&s.tag_value)
    };
    Ok(sums.map(|v| v[0]).unwrap_or_default())
}

pub fn figures(basis: &DataBasis, b: &Budget, period: Period) -> Result<Figures, AppError> {
    let snap = &basis.snap;
    let recorded = spend(snap, b, period.start, period.end)?;
    let settled_end = basis
        .settled_until
        .unwrap_or(period.start)
        .clamp(period.start, period.end);
    let settled = if settled_end == period.end {
        recorded
    } else {
        spend(snap, b, period.start, settled_end)?
    };
    let prev = b.spec.period_of(period.start - time::Duration::days(1));
    let previous = match prev {
        Some(p) => Some((spend(snap, b, p.start, p.end)?, p.days())),
        None => None,
    }
    .filter(|(a, _)| !a.is_zero());
    let forecast = forecast(&Input {
        period,
        today: basis.today,
        settled_until: basis.settled_until,
        settled,
        recorded,
        previous,
    });
    let amount = b.spec.amount;
    let thresholds: Vec<(String, Decimal, bool)> = b
        .spec
        .thresholds
        .iter()
        .map(|t| {
            let at = t.amount_for(amount);
            let value = match t.basis {
                Basis::Actual => recorded,
                Basis::Forecast => forecast.amount,
            };
            (t.to_string(), at, value >= at)
        })
        .collect();
    let state = if recorded >= amount {
        BudgetState::Breached
    } else if thresholds.iter().any(|t| t.2) {
        BudgetState::Warning
    } else {
        BudgetState::Ok
    };
    Ok(Figures {
        period,
        actual: recorded,
        forecast,
        state,
        thresholds,
    })
}

/// The periods an evaluation looks at: the open one and the one before (late data still
/// lands in it).
pub fn periods_to_check(b: &Budget, today: Date) -> Vec<Period> {
    let mut out = Vec::new();
    let current = b.spec.period_of(today);
    let before = match current {
        Some(c) => b.spec.period_of(c.start - time::Duration::days(1)),
        // Ended (or not begun): its last period, if it has ended.
        None => b
            .spec
            .end
            .filter(|e| *e <= today)
            .and_then(|e| b.spec.period_of(e - time::Duration::days(1))),
    };
    out.extend(before);
    out.extend(current);
    out
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub budgets: usize,
    pub raised: usize,
    pub cleared: usize,
    pub recrossed: usize,
}

impl Evaluation {
    pub fn to_text(&self) -> String {
        format!(
            "{} budget(s) evaluated: {} alert(s) raised, {} no longer crossed, {} crossed again",
            self.budgets, self.raised, self.cleared, self.recrossed
        )
    }
}

/// Evaluates every budget and records what changed.
pub async fn evaluate_all(
    db: &Db,
    cube: &Cube,
    ctx: &AuditCtx,
    now: OffsetDateTime,
) -> Result<Evaluation, AppError> {
    let basis = basis(db, cube, now).await?;
    let budgets = store::all(db.pool()).await?;
    // (budget, period start, threshold) → (crossed, threshold amount, value, budget name).
    let mut seen: Vec<(i64, String, String, bool, Decimal, Decimal, String)> = Vec::new();
    for b in &budgets {
        for p in periods_to_check(b, basis.today) {
            let f = figures(&basis, b, p)?;
            for (i, (text, at, crossed)) in f.thresholds.iter().enumerate() {
                let value = match b.spec.thresholds[i].basis {
                    Basis::Actual => f.actual,
                    Basis::Forecast => f.forecast.amount,
                };
                seen.push((
                    b.id,
                    fmt_date(p.start),
                    text.clone(),
                    *crossed,
                    *at,
                    value,
                    b.spec.name.clone(),
                ));
            }
        }
    }
    let mut out = Evaluation {
        budgets: budgets.len(),
        ..Evaluation::default()
    };
    let mut tx = db.write().await?;
    let stored: HashMap<(i64, String, String), (i64, bool)> = store::alerts(tx.conn())
        .await?
        .into_iter()
        .map(|a| {
            (
                (a.budget_id, a.period_start, a.threshold),
                (a.id, a.crossed),
            )
        })
        .collect();
    let at = ts(now);
    for (budget, period, threshold, crossed, amount, value, name) in seen {
        let key = (budget, period.clone(), threshold.clone());
        match (stored.get(&key), crossed) {
            (None, true) => {
                let n = sqlx::query(
                    "INSERT INTO budget_alerts (budget_id, period_start, threshold,
                        threshold_amount, value_at_raise, raised_at, crossed, crossed_changed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $6)
                     ON CONFLICT (budget_id, period_start, threshold) DO NOTHING",
                )
                .bind(budget)
                .bind(&period)
                .bind(&threshold)
                .bind(amount.to_string())
                .bind(value.to_string())
                .bind(&at)
                .execute(tx.conn())
                .await?
                .rows_affected();
                if n == 1 {
                    out.raised += 1;
                    tx.audit(ctx.event(
                        "budget.alert",
                        "budget",
                        budget,
                        format!(
                            "'{name}' crossed {threshold} ({amount}) in the period from {period}: {value}"
                        ),
                    ))
                    .await?;
                }
            }
            (Some(&(id, was)), now_crossed) if was != now_crossed => {
                sqlx::query(
                    "UPDATE budget_alerts SET crossed = $1, crossed_changed_at = $2 WHERE id = $3",
                )
                .bind(i64::from(now_crossed))
                .bind(&at)
                .bind(id)
                .execute(tx.conn())
                .await?;
                let what = if now_crossed {
                    out.recrossed += 1;
                    "crossed again"
                } else {
                    out.cleared += 1;
                    "no longer crossed"
                };
                tx.audit(ctx.event(
                    "budget.alert_change",
                    "budget",
                    budget,
                    format!(
                        "'{name}' {threshold} ({amount}) in the period from {period}: {what} at {value}"
                    ),
                ))
                .await?;
            }
            _ => {}
        }
    }
    if out.raised + out.cleared + out.recrossed > 0 {
        tx.commit().await?;
    }
    Ok(out)
}

/// Evaluates all budgets at start, whenever `state.budgets_due` is woken (cost data landed,
/// budgets changed) and every `every` (cost data from the CLI, a sync, another server; the
/// clock moving into a new period), until the database closes.
pub fn schedule(state: crate::state::AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            if state.db.pool().is_closed() {
                return;
            }
            let ctx = AuditCtx {
                actor: "system".into(),
                at: ts(state.clock.now()),
                ..AuditCtx::default()
            };
            match evaluate_all(&state.db, &state.cost_cube, &ctx, state.clock.now()).await {
                Ok(e) if e.raised + e.cleared + e.recrossed > 0 => {
                    tracing::info!(summary = %e.to_text(), "budgets evaluated")
                }
                Ok(_) => {}
                Err(e) if !state.db.pool().is_closed() => {
                    tracing::warn!(error = %e, "budget evaluation failed")
                }
                Err(_) => return,
            }
            let _ = tokio::time::timeout(every, state.budgets_due.notified()).await;
        }
    });
}
