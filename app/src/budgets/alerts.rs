//! The evaluation that raises alerts: one per budget, period and threshold, ever; the owner
//! and deputy are told (the outbox, in the same transaction), and finance when an alert is
//! left unacknowledged for the escalation delay.
//!
//! The sums are made before the write transaction opens (no slow work under the write lock);
//! inside it the stored alerts are read again, so two evaluations at once (two servers, the
//! CLI and a server) raise each alert once: the second finds the first's rows. The unique
//! key on (budget, period, threshold) backs this up.

use super::evaluate::{basis, figures, periods_to_check};
use super::store::{self, Budget};
use super::threshold::Basis;
use crate::audit::chain::AuditCtx;
use crate::costs::cube::Cube;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use crate::notifications::{store as outbox, Notice};
use crate::util::{fmt_date, ts};
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub budgets: usize,
    pub raised: usize,
    pub cleared: usize,
    pub recrossed: usize,
    pub escalated: usize,
}

impl Evaluation {
    pub fn to_text(&self) -> String {
        format!(
            "{} budget(s) evaluated: {} alert(s) raised, {} no longer crossed, {} crossed again, \
             {} escalated",
            self.budgets, self.raised, self.cleared, self.recrossed, self.escalated
        )
    }
}

/// Evaluates every budget and records what changed; alerts left unacknowledged for
/// `escalate_after` go to finance.
pub async fn evaluate_all(
    db: &Db,
    cube: &Cube,
    ctx: &AuditCtx,
    now: OffsetDateTime,
    escalate_after: Duration,
) -> Result<Evaluation, AppError> {
    let basis = basis(db, cube, now).await?;
    let budgets = store::all(db.pool()).await?;
    let mut seen: Vec<Crossing> = Vec::new();
    for b in &budgets {
        for p in periods_to_check(b, basis.today) {
            let f = figures(&basis, b, p)?;
            for (i, (text, at, crossed)) in f.thresholds.iter().enumerate() {
                let value = match b.spec.thresholds[i].basis {
                    Basis::Actual => f.actual,
                    Basis::Forecast => f.forecast.amount,
                };
                seen.push(Crossing {
                    budget: b.id,
                    period: fmt_date(p.start),
                    threshold: text.clone(),
                    crossed: *crossed,
                    amount: *at,
                    value,
                });
            }
        }
    }
    let by_id: HashMap<i64, &Budget> = budgets.iter().map(|b| (b.id, b)).collect();
    let mut out = Evaluation {
        budgets: budgets.len(),
        ..Evaluation::default()
    };
    // Most evaluations change nothing: find out without the write lock (an import may hold
    // it for a minute), and take it only to write.
    let changes = |stored: &HashMap<AlertKey, (i64, bool)>| {
        seen.iter().any(
            |c| match stored.get(&(c.budget, c.period.clone(), c.threshold.clone())) {
                None => c.crossed,
                Some(&(_, was)) => was != c.crossed,
            },
        )
    };
    let before = stored_alerts(db.pool()).await?;
    if !changes(&before) && !escalation_due(db.pool(), now, escalate_after).await? {
        return Ok(out);
    }
    let mut tx = db.write().await?;
    let stored = stored_alerts(tx.conn()).await?;
    let mut notices = Vec::new();
    for c in seen {
        let Some(b) = by_id.get(&c.budget) else {
            continue;
        };
        let key = (c.budget, c.period.clone(), c.threshold.clone());
        match stored.get(&key) {
            None if c.crossed => {
                if let Some(n) = raise(&mut tx, ctx, b, &c, now).await? {
                    notices.push(n);
                    out.raised += 1;
                }
            }
            Some(&(id, was)) if was != c.crossed => {
                change(&mut tx, ctx, b, &c, id, now).await?;
                if c.crossed {
                    out.recrossed += 1;
                } else {
                    out.cleared += 1;
                }
            }
            _ => {}
        }
    }
    out.escalated = escalate(&mut tx, ctx, now, escalate_after, &mut notices).await?;
    // Everyone's messages in one go: preferences and webhooks read once.
    outbox::enqueue_all(&mut tx, &notices, now).await?;
    if out.raised + out.cleared + out.recrossed + out.escalated > 0 {
        tx.commit().await?;
    }
    Ok(out)
}

/// (budget, period start, threshold).
type AlertKey = (i64, String, String);

/// The stored alerts: id and whether crossed, by budget, period and threshold.
async fn stored_alerts<'c, E>(conn: E) -> Result<HashMap<AlertKey, (i64, bool)>, AppError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(store::alerts(conn)
        .await?
        .into_iter()
        .map(|a| {
            (
                (a.budget_id, a.period_start, a.threshold),
                (a.id, a.crossed),
            )
        })
        .collect())
}

/// Whether some alert waits for escalation.
async fn escalation_due(
    pool: &sqlx::AnyPool,
    now: OffsetDateTime,
    after: Duration,
) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM budget_alerts
         WHERE acknowledged_at IS NULL AND escalated_at IS NULL AND raised_at <= $1",
    )
    .bind(ts(now - after))
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// A threshold of a budget in a period, as evaluated now.
struct Crossing {
    budget: i64,
    period: String,
    threshold: String,
    crossed: bool,
    amount: Decimal,
    value: Decimal,
}

/// Raises the alert (unless another evaluation just did); the notice for the owner and
/// deputy, to be queued in the same transaction.
async fn raise(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    b: &Budget,
    c: &Crossing,
    now: OffsetDateTime,
) -> Result<Option<Notice>, AppError> {
    let at = ts(now);
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO budget_alerts (budget_id, period_start, threshold, threshold_amount,
            value_at_raise, raised_at, crossed, crossed_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $6)
         ON CONFLICT (budget_id, period_start, threshold) DO NOTHING RETURNING id",
    )
    .bind(c.budget)
    .bind(&c.period)
    .bind(&c.threshold)
    .bind(c.amount.to_string())
    .bind(c.value.to_string())
    .bind(&at)
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let name = &b.spec.name;
    let what = format!(
        "'{name}' crossed {} ({} {}) in the period from {}: {} {}",
        c.threshold, c.amount, b.spec.currency, c.period, c.value, b.spec.currency
    );
    tx.audit(ctx.event("budget.alert", "budget", c.budget, what.clone()))
        .await?;
    let mut to = vec![b.owner_id];
    to.extend(b.deputy_id);
    Ok(Some(Notice {
        key: format!("budget.alert:{id}"),
        kind: "budget.alert",
        subject: format!("Budget '{name}' crossed {}", c.threshold),
        body: format!("{what}. Acknowledge it with what will be done."),
        link: crate::paths::budget(c.budget),
        to,
    }))
}

async fn change(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    b: &Budget,
    c: &Crossing,
    id: i64,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    sqlx::query("UPDATE budget_alerts SET crossed = $1, crossed_changed_at = $2 WHERE id = $3")
        .bind(i64::from(c.crossed))
        .bind(ts(now))
        .bind(id)
        .execute(tx.conn())
        .await?;
    let what = if c.crossed {
        "crossed again"
    } else {
        "no longer crossed"
    };
    tx.audit(ctx.event(
        "budget.alert_change",
        "budget",
        c.budget,
        format!(
            "'{}' {} ({}) in the period from {}: {what} at {}",
            b.spec.name, c.threshold, c.amount, c.period, c.value
        ),
    ))
    .await?;
    Ok(())
}

/// Alerts still unacknowledged `after` they were raised go to every active finance user,
/// once (`escalated_at`).
async fn escalate(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    now: OffsetDateTime,
    after: Duration,
    notices: &mut Vec<Notice>,
) -> Result<usize, AppError> {
    let due: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT a.id, b.id, b.name, a.threshold, a.period_start FROM budget_alerts a
         JOIN budgets b ON b.id = a.budget_id
         WHERE a.acknowledged_at IS NULL AND a.escalated_at IS NULL AND a.raised_at <= $1
         ORDER BY a.id",
    )
    .bind(ts(now - after))
    .fetch_all(tx.conn())
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let finance: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE role = 'finance' AND active = 1")
            .fetch_all(tx.conn())
            .await?;
    let days = after.whole_days();
    for (id, budget, name, threshold, period) in &due {
        sqlx::query("UPDATE budget_alerts SET escalated_at = $1 WHERE id = $2")
            .bind(ts(now))
            .bind(id)
            .execute(tx.conn())
            .await?;
        let what = format!(
            "the alert {threshold} of '{name}' (period from {period}) has waited {days} day(s) \
             without its owner's acknowledgement"
        );
        tx.audit(ctx.event(
            "budget.alert_escalate",
            "budget",
            budget,
            format!("escalated to finance: {what}"),
        ))
        .await?;
        notices.push(Notice {
            key: format!("budget.escalation:{id}"),
            kind: "budget.escalation",
            subject: format!("Unacknowledged budget alert: '{name}'"),
            body: format!("Escalated: {what}."),
            link: crate::paths::budget(*budget),
            to: finance.clone(),
        });
    }
    Ok(due.len())
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
            let now = state.clock.now();
            let after = state.budget_escalation;
            match evaluate_all(&state.db, &state.cost_cube, &ctx, now, after).await {
                Ok(e) if e.raised + e.cleared + e.recrossed + e.escalated > 0 => {
                    state.outbox_due.notify_one();
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
