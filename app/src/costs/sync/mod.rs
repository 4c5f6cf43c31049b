//! AWS Cost Explorer sync with the real `aws-sdk-costexplorer` client: daily `GetCostAndUsage`
//! grouped by service and linked account, and by service and each configured cost-allocation
//! tag key; paged on `NextPageToken` by hand (the SDK has no paginator for this operation);
//! throttling retried with exponential backoff; incremental (each run starts again at the first
//! day AWS still marked `Estimated`). A run replaces earlier sync data for the days it covers,
//! in one audited transaction, so re-syncing never double counts.
//!
//! This file: the status types, settings, the one-at-a-time runner and the run log; `client`:
//! the Cost Explorer requests; `store`: the run's data written through the cost writer.

use serde::{Deserialize, Serialize};

/// What the cost data page shows about syncing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub configured: bool,
    pub running: bool,
    /// Progress of the running sync: pages fetched so far.
    pub pages: u64,
    pub last: Option<SyncRun>,
    pub tag_keys: Vec<String>,
    pub interval_hours: u64,
    pub can_sync: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: i64,
    pub started_at: String,
    pub finished_at: String,
    pub triggered_by: String,
    pub range_from: String,
    pub range_to: String,
    pub status: String,
    pub pages: i64,
    pub groups_read: i64,
    pub retries: i64,
    pub estimated_from: Option<String>,
    pub batch_id: Option<i64>,
    pub error: Option<String>,
}

#[cfg(feature = "ssr")]
mod client;
#[cfg(feature = "ssr")]
mod store;

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::audit::chain::AuditCtx;
    use crate::calendar::Period;
    use crate::db::{fetch_int, Arg, Db};
    use crate::error::AppError;
    use crate::util::{fmt_date, parse_date, ts, Clock};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    use time::Date;

    /// How Steward reaches Cost Explorer. Credentials come from the standard AWS chain
    /// (environment, profile, web identity, instance role) unless `static_credentials` is set.
    #[derive(Debug, Clone)]
    pub struct AwsSettings {
        pub region: String,
        /// Another endpoint (a test emulator or a compatible service).
        pub endpoint: Option<String>,
        /// Cost-allocation tag keys to group by, as activated in AWS Billing.
        pub tag_keys: Vec<String>,
        /// Days fetched by the first sync.
        pub initial_days: i64,
        /// Hours between scheduled syncs; 0 turns the schedule off.
        pub interval_hours: u64,
        /// The payer account, stored as the billing account of synced rows.
        pub payer_account: String,
        /// Explicit credentials (tests against emulators); `None` = the standard chain.
        pub static_credentials: Option<(String, String)>,
        /// Attempts per page when AWS throttles (first try included).
        pub max_attempts: u32,
        /// Backoff before the first retry; doubled each time, capped at 20 s.
        pub base_backoff: Duration,
    }

    impl AwsSettings {
        pub fn new(region: impl Into<String>) -> Self {
            AwsSettings {
                region: region.into(),
                endpoint: None,
                tag_keys: Vec::new(),
                initial_days: 90,
                interval_hours: 0,
                payer_account: String::new(),
                static_credentials: None,
                max_attempts: 6,
                base_backoff: Duration::from_millis(500),
            }
        }
    }

    /// Shared by the server's state: settings, and whether a sync runs now (one at a time).
    #[derive(Clone, Default)]
    pub struct CostSync {
        inner: Option<Arc<Inner>>,
    }

    struct Inner {
        settings: AwsSettings,
        running: AtomicBool,
        pages: AtomicU64,
    }

    impl CostSync {
        pub fn new(settings: Option<AwsSettings>) -> Self {
            CostSync {
                inner: settings.map(|settings| {
                    Arc::new(Inner {
                        settings,
                        running: AtomicBool::new(false),
                        pages: AtomicU64::new(0),
                    })
                }),
            }
        }

        pub fn settings(&self) -> Option<&AwsSettings> {
            self.inner.as_ref().map(|i| &i.settings)
        }

        pub fn running(&self) -> bool {
            self.inner
                .as_ref()
                .is_some_and(|i| i.running.load(Ordering::SeqCst))
        }

        pub fn pages(&self) -> u64 {
            self.inner
                .as_ref()
                .map(|i| i.pages.load(Ordering::SeqCst))
                .unwrap_or(0)
        }

        /// Runs one sync unless one is running already (then `Ok(None)`).
        pub async fn run(
            &self,
            db: &Db,
            clock: &Clock,
            ctx: AuditCtx,
        ) -> Result<Option<SyncRun>, AppError> {
            let Some(inner) = &self.inner else {
                return Err(AppError::invalid(
                    "AWS Cost Explorer sync is not configured (set STEWARD_AWS_CE_REGION).",
                ));
            };
            if inner.running.swap(true, Ordering::SeqCst) {
                return Ok(None);
            }
            inner.pages.store(0, Ordering::SeqCst);
            let result = run_once(&inner.settings, db, clock, ctx, &inner.pages).await;
            inner.running.store(false, Ordering::SeqCst);
            result.map(Some)
        }

        /// Starts the scheduled syncs (when an interval is set) on the runtime.
        pub fn schedule(&self, db: Db, clock: Clock) {
            let Some(inner) = &self.inner else { return };
            let hours = inner.settings.interval_hours;
            if hours == 0 {
                return;
            }
            let this = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(hours * 3600));
                loop {
                    tick.tick().await;
                    let ctx = AuditCtx {
                        actor_id: None,
                        actor: "scheduler".into(),
                        request_id: None,
                        client_addr: None,
                        at: ts(clock.now()),
                    };
                    match this.run(&db, &clock, ctx).await {
                        Ok(Some(r)) if r.status == "succeeded" => {
                            tracing::info!(run = r.id, pages = r.pages, "scheduled cost sync done")
                        }
                        Ok(Some(r)) => {
                            tracing::warn!(run = r.id, error = ?r.error, "scheduled cost sync failed")
                        }
                        Ok(None) => tracing::info!("scheduled cost sync skipped: one is running"),
                        Err(e) => tracing::warn!(error = %e, "scheduled cost sync could not run"),
                    }
                }
            });
        }
    }

    /// The days to fetch: from the first still-estimated day of the last good run (or the day
    /// after it ended), else `initial_days` back; to tomorrow (today's costs are estimated).
    async fn range(db: &Db, s: &AwsSettings, today: Date) -> Result<Period, AppError> {
        let last: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT range_to, estimated_from FROM cost_sync_runs WHERE status = 'succeeded'
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(db.pool())
        .await?;
        let to = today.next_day().unwrap_or(today);
        let from = match last {
            Some((range_to, estimated)) => {
                let resume = estimated
                    .as_deref()
                    .and_then(parse_date)
                    .or_else(|| parse_date(&range_to).map(|d| d - time::Duration::days(1)))
                    .unwrap_or(today);
                // AWS revises the last couple of days even after they stop being estimates.
                resume.min(today - time::Duration::days(2))
            }
            None => today - time::Duration::days(s.initial_days.max(1)),
        };
        // `from` is at least two days before `to`, so the period is never empty.
        Ok(Period::new(from, to).unwrap_or(Period {
            start: from,
            end: from.next_day().unwrap_or(from),
        }))
    }

    async fn run_once(
        s: &AwsSettings,
        db: &Db,
        clock: &Clock,
        ctx: AuditCtx,
        pages_seen: &AtomicU64,
    ) -> Result<SyncRun, AppError> {
        let started_at = ts(clock.now());
        let days = range(db, s, clock.now().date()).await?;
        let (from_s, to_s) = (fmt_date(days.start), fmt_date(days.end));
        let fetched = super::client::fetch(s, &from_s, &to_s, pages_seen).await;
        let finished_at = ts(clock.now());
        let mut tx = db.write_native().await?;
        let (f, error) = match fetched {
            Ok(f) => (f, None),
            Err((f, e)) => (f, Some(e)),
        };
        let batch_id = if error.is_none() {
            Some(super::store::store(&mut tx, db.dialect(), s, &ctx, days, &f).await?)
        } else {
            None
        };
        let status = if error.is_none() {
            "succeeded"
        } else {
            "failed"
        };
        let id = fetch_int(
            tx.sql(),
            "INSERT INTO cost_sync_runs (started_at, finished_at, triggered_by, range_from,
                 range_to, status, pages, groups_read, retries, estimated_from, batch_id, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &[
                Arg::Text(&started_at),
                Arg::Text(&finished_at),
                Arg::Text(&ctx.actor),
                Arg::Text(&from_s),
                Arg::Text(&to_s),
                Arg::Text(status),
                Arg::Int(f.pages as i64),
                Arg::Int((f.accounts.len() + f.tags.len()) as i64),
                Arg::Int(f.retries as i64),
                Arg::OptText(f.estimated_from.as_deref()),
                Arg::OptInt(batch_id),
                Arg::OptText(error.as_deref()),
            ],
        )
        .await?
        .ok_or_else(|| AppError::internal("no sync run id returned"))?;
        tx.audit(ctx.event(
            if error.is_none() { "costs.synced" } else { "costs.sync_failed" },
            "cost_sync_run",
            id,
            match &error {
                None => format!(
                    "AWS Cost Explorer {from_s}..{to_s}: {} page(s), {} account group(s), {} tag group(s), {} retry(ies){}",
                    f.pages,
                    f.accounts.len(),
                    f.tags.len(),
                    f.retries,
                    f.estimated_from.as_deref().map(|d| format!(", estimated from {d}")).unwrap_or_default()
                ),
                Some(e) => format!("AWS Cost Explorer {from_s}..{to_s} failed after {} page(s): {e}", f.pages),
            },
        ))
        .await?;
        tx.commit().await?;
        load_run(db, id).await
    }

    pub async fn load_run(db: &Db, id: i64) -> Result<SyncRun, AppError> {
        last_runs(db, Some(id), 1)
            .await?
            .pop()
            .ok_or(AppError::NotFound)
    }

    pub async fn last_runs(db: &Db, id: Option<i64>, limit: i64) -> Result<Vec<SyncRun>, AppError> {
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, started_at, finished_at, triggered_by, range_from, range_to, status,
                    pages, groups_read, retries, estimated_from, batch_id, error
             FROM cost_sync_runs WHERE ($1 = 0 OR id = $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(id.unwrap_or(0))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SyncRun {
                id: r.0,
                started_at: r.1,
                finished_at: r.2,
                triggered_by: r.3,
                range_from: r.4,
                range_to: r.5,
                status: r.6,
                pages: r.7,
                groups_read: r.8,
                retries: r.9,
                estimated_from: r.10,
                batch_id: r.11,
                error: r.12,
            })
            .collect())
    }
}
