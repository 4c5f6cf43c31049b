//! What reminder jobs share: a schedule, and queueing their notices with one audit event.

use super::store::enqueue;
use super::Notice;
use crate::audit::chain::AuditCtx;
use crate::db::Db;
use crate::error::AppError;
use crate::util::ts;

/// Runs a reminder job every `every` until the pool closes: `job` returns how many people it
/// reminded, and the delivery worker is woken when any were.
pub fn every<F, Fut>(
    state: crate::state::AppState,
    every: std::time::Duration,
    what: &'static str,
    job: F,
) where
    F: Fn(crate::state::AppState, time::OffsetDateTime) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<usize, AppError>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.db.pool().is_closed() {
                return;
            }
            let now = state.clock.now();
            match job(state.clone(), now).await {
                Ok(n) if n > 0 => state.outbox_due.notify_one(),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "{what} failed"),
            }
        }
    });
}

/// Queues a reminder job's notices in one transaction, with one audit event (`action`,
/// "reminded N {who}") when any was new; returns how many were. Nothing is written when every
/// notice was queued already (the same day's run again).
pub async fn remind(
    db: &Db,
    notices: &[Notice],
    now: time::OffsetDateTime,
    action: &str,
    who: &str,
) -> Result<usize, AppError> {
    if notices.is_empty() {
        return Ok(0);
    }
    let mut tx = db.write().await?;
    let mut reminded = 0;
    for n in notices {
        if enqueue(&mut tx, n, now).await? > 0 {
            reminded += 1;
        }
    }
    if reminded == 0 {
        return Ok(0);
    }
    let ctx = AuditCtx {
        actor: "system".into(),
        at: ts(now),
        ..AuditCtx::default()
    };
    tx.audit(ctx.event(
        action,
        "organisation",
        1,
        format!("reminded {reminded} {who}"),
    ))
    .await?;
    tx.commit().await?;
    Ok(reminded)
}
