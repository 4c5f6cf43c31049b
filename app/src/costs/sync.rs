//! AWS Cost Explorer sync with the real `aws-sdk-costexplorer` client: daily `GetCostAndUsage`
//! grouped by service and linked account, and by service and each configured cost-allocation
//! tag key; paged on `NextPageToken` by hand (the SDK has no paginator for this operation);
//! throttling retried with exponential backoff; incremental (each run starts again at the first
//! day AWS still marked `Estimated`). A run replaces earlier sync data for the days it covers,
//! in one audited transaction, so re-syncing never double counts.

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
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::audit::chain::AuditCtx;
    use crate::costs::import;
    use crate::costs::money::parse_amount;
    use crate::db::Db;
    use crate::error::AppError;
    use crate::util::{fmt_date, parse_date, Clock};
    use aws_sdk_costexplorer::error::ProvideErrorMetadata;
    use aws_sdk_costexplorer::types::{
        DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
    };
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;
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
                        at: crate::util::ts(clock.now()),
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

    /// One (day, service, account) amount set, or one (day, service, tag value) set.
    #[derive(Default)]
    struct Amounts {
        billed: Decimal,
        effective: Decimal,
        list: Decimal,
        currency: String,
    }

    struct Fetched {
        /// (day, service, account) → amounts
        accounts: BTreeMap<(String, String, String), Amounts>,
        /// (day, service, tag key, tag value) → amounts
        tags: BTreeMap<(String, String, String, String), Amounts>,
        account_names: BTreeMap<String, String>,
        pages: u64,
        retries: u64,
        estimated_from: Option<String>,
    }

    const METRICS: [&str; 3] = ["UnblendedCost", "NetUnblendedCost", "AmortizedCost"];

    async fn client(s: &AwsSettings) -> aws_sdk_costexplorer::Client {
        use aws_config::retry::RetryConfig;
        use aws_config::timeout::TimeoutConfig;
        use aws_config::{BehaviorVersion, Region};
        // Retries are ours (below), so a throttled page backs off predictably and is counted.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(s.region.clone()))
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(ep) = &s.endpoint {
            loader = loader.endpoint_url(ep);
        }
        if let Some((key, secret)) = &s.static_credentials {
            loader = loader.credentials_provider(aws_sdk_costexplorer::config::Credentials::new(
                key.clone(),
                secret.clone(),
                None,
                None,
                "steward-settings",
            ));
        }
        aws_sdk_costexplorer::Client::new(&loader.load().await)
    }

    fn retryable(code: Option<&str>, status: Option<u16>) -> bool {
        matches!(
            code,
            Some(
                "ThrottlingException"
                    | "Throttling"
                    | "TooManyRequestsException"
                    | "LimitExceededException"
                    | "RequestLimitExceeded"
            )
        ) || matches!(status, Some(429 | 500 | 502 | 503 | 504))
    }

    /// Every page of one grouping, retried with backoff when AWS throttles.
    async fn fetch_grouping(
        c: &aws_sdk_costexplorer::Client,
        s: &AwsSettings,
        (from, to): (&str, &str),
        second: GroupDefinition,
        pages_seen: &AtomicU64,
        out: &mut Fetched,
        mut each: impl FnMut(&str, bool, &[String], &Amounts),
    ) -> Result<(), String> {
        let mut token: Option<String> = None;
        loop {
            let mut attempt = 0u32;
            let page = loop {
                attempt += 1;
                let interval = DateInterval::builder()
                    .start(from)
                    .end(to)
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut req = c
                    .get_cost_and_usage()
                    .time_period(interval)
                    .granularity(Granularity::Daily)
                    .group_by(
                        GroupDefinition::builder()
                            .r#type(GroupDefinitionType::Dimension)
                            .key("SERVICE")
                            .build(),
                    )
                    .group_by(second.clone())
                    .set_next_page_token(token.clone());
                for m in METRICS {
                    req = req.metrics(m);
                }
                match req.send().await {
                    Ok(p) => break p,
                    Err(e) => {
                        let status = e.raw_response().map(|r| r.status().as_u16());
                        let code = e.code().map(str::to_string);
                        let message = e.message().map(str::to_string).unwrap_or_else(|| {
                            aws_sdk_costexplorer::error::DisplayErrorContext(&e).to_string()
                        });
                        if retryable(code.as_deref(), status) && attempt < s.max_attempts {
                            out.retries += 1;
                            let wait = s.base_backoff.saturating_mul(1 << (attempt - 1).min(10));
                            tokio::time::sleep(wait.min(Duration::from_secs(20))).await;
                            continue;
                        }
                        return Err(format!(
                            "Cost Explorer refused the request{}: {message}{}",
                            code.map(|c| format!(" ({c})")).unwrap_or_default(),
                            if attempt > 1 {
                                format!(" after {attempt} attempts")
                            } else {
                                String::new()
                            }
                        ));
                    }
                }
            };
            out.pages += 1;
            pages_seen.fetch_add(1, Ordering::SeqCst);
            for attr in page.dimension_value_attributes() {
                if let (Some(v), Some(name)) = (
                    attr.value(),
                    attr.attributes().and_then(|a| a.get("description")),
                ) {
                    out.account_names.insert(v.to_string(), name.clone());
                }
            }
            for r in page.results_by_time() {
                let day = r
                    .time_period()
                    .map(|p| p.start().to_string())
                    .ok_or("a result without a time period")?;
                if parse_date(&day).is_none() {
                    return Err(format!("a result for '{day}', which is not a date"));
                }
                if r.estimated()
                    && out
                        .estimated_from
                        .as_deref()
                        .is_none_or(|e| day.as_str() < e)
                {
                    out.estimated_from = Some(day.clone());
                }
                for g in r.groups() {
                    let metrics = g.metrics();
                    let get = |k: &str| -> Result<Option<(Decimal, String)>, String> {
                        match metrics.and_then(|m| m.get(k)) {
                            Some(v) => {
                                let amount = v.amount().unwrap_or("0");
                                let d = parse_amount(amount)
                                    .map_err(|e| format!("{k} '{amount}' on {day}: {e}"))?;
                                Ok(Some((d, v.unit().unwrap_or("USD").to_string())))
                            }
                            None => Ok(None),
                        }
                    };
                    let unblended = get("UnblendedCost")?;
                    let net = get("NetUnblendedCost")?;
                    let amortized = get("AmortizedCost")?;
                    let Some((list, currency)) = unblended.clone().or(net.clone()) else {
                        continue;
                    };
                    // Billed = net unblended when present, else unblended (as for CUR files).
                    let billed = net.map(|n| n.0).unwrap_or(list);
                    let effective = amortized.map(|a| a.0).unwrap_or(billed);
                    each(
                        &day,
                        r.estimated(),
                        g.keys(),
                        &Amounts {
                            billed,
                            effective,
                            list,
                            currency,
                        },
                    );
                }
            }
            token = page
                .next_page_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(());
            }
        }
    }

    fn add(into: &mut Amounts, a: &Amounts) {
        into.billed += a.billed;
        into.effective += a.effective;
        into.list += a.list;
        into.currency = a.currency.clone();
    }

    async fn fetch(
        s: &AwsSettings,
        from: &str,
        to: &str,
        pages_seen: &AtomicU64,
    ) -> Result<Fetched, (Fetched, String)> {
        let c = client(s).await;
        let mut out = Fetched {
            accounts: BTreeMap::new(),
            tags: BTreeMap::new(),
            account_names: BTreeMap::new(),
            pages: 0,
            retries: 0,
            estimated_from: None,
        };
        let account = GroupDefinition::builder()
            .r#type(GroupDefinitionType::Dimension)
            .key("LINKED_ACCOUNT")
            .build();
        let mut accounts = BTreeMap::new();
        if let Err(e) = fetch_grouping(
            &c,
            s,
            (from, to),
            account,
            pages_seen,
            &mut out,
            |day, _, keys, a| {
                let svc = keys.first().cloned().unwrap_or_default();
                let acct = keys.get(1).cloned().unwrap_or_default();
                add(accounts.entry((day.to_string(), svc, acct)).or_default(), a);
            },
        )
        .await
        {
            return Err((out, e));
        }
        out.accounts = accounts;
        for key in &s.tag_keys {
            let group = GroupDefinition::builder()
                .r#type(GroupDefinitionType::Tag)
                .key(key)
                .build();
            let mut tags = BTreeMap::new();
            if let Err(e) = fetch_grouping(
                &c,
                s,
                (from, to),
                group,
                pages_seen,
                &mut out,
                |day, _, keys, a| {
                    let svc = keys.first().cloned().unwrap_or_default();
                    // Tag keys arrive as `Key$value`; untagged spend as `Key$` (left to the
                    // report, which derives it from the day's total).
                    let raw = keys.get(1).cloned().unwrap_or_default();
                    let value = raw
                        .split_once('$')
                        .map(|(_, v)| v.to_string())
                        .unwrap_or(raw);
                    if !value.is_empty() {
                        add(
                            tags.entry((day.to_string(), svc, key.clone(), value))
                                .or_default(),
                            a,
                        );
                    }
                },
            )
            .await
            {
                return Err((out, e));
            }
            out.tags.extend(tags);
        }
        Ok(out)
    }

    /// The days to fetch: from the first still-estimated day of the last good run (or the day
    /// after it ended), else `initial_days` back; to tomorrow (today's costs are estimated).
    async fn range(db: &Db, s: &AwsSettings, today: Date) -> Result<(Date, Date), AppError> {
        let last: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT range_to, estimated_from FROM cost_sync_runs WHERE status = 'succeeded'
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(db.pool())
        .await?;
        let to = today + time::Duration::days(1);
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
        Ok((from, to))
    }

    async fn run_once(
        s: &AwsSettings,
        db: &Db,
        clock: &Clock,
        ctx: AuditCtx,
        pages_seen: &AtomicU64,
    ) -> Result<SyncRun, AppError> {
        let started_at = crate::util::ts(clock.now());
        let (from, to) = range(db, s, clock.now().date()).await?;
        let (from_s, to_s) = (fmt_date(from), fmt_date(to));
        let fetched = fetch(s, &from_s, &to_s, pages_seen).await;
        let finished_at = crate::util::ts(clock.now());
        let mut tx = db.write().await?;
        let (f, error) = match fetched {
            Ok(f) => (f, None),
            Err((f, e)) => (f, Some(e)),
        };
        let batch_id = if error.is_none() {
            Some(store(&mut tx, s, &ctx, &from_s, &to_s, &f).await?)
        } else {
            None
        };
        let status = if error.is_none() {
            "succeeded"
        } else {
            "failed"
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cost_sync_runs (started_at, finished_at, triggered_by, range_from,
                 range_to, status, pages, groups_read, retries, estimated_from, batch_id, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(&started_at)
        .bind(&finished_at)
        .bind(&ctx.actor)
        .bind(&from_s)
        .bind(&to_s)
        .bind(status)
        .bind(f.pages as i64)
        .bind((f.accounts.len() + f.tags.len()) as i64)
        .bind(f.retries as i64)
        .bind(&f.estimated_from)
        .bind(batch_id)
        .bind(&error)
        .fetch_one(tx.conn())
        .await?;
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

    /// Writes a run's data as one batch, after removing earlier sync data for the same days.
    async fn store(
        tx: &mut crate::db::WriteTx,
        s: &AwsSettings,
        ctx: &AuditCtx,
        from: &str,
        to: &str,
        f: &Fetched,
    ) -> Result<i64, AppError> {
        let mut totals: BTreeMap<String, (Decimal, Decimal, Decimal, i64)> = BTreeMap::new();
        for a in f.accounts.values() {
            let t = totals.entry(a.currency.clone()).or_default();
            t.0 += a.billed;
            t.1 += a.effective;
            t.2 += a.list;
            t.3 += 1;
        }
        let totals_json = serde_json::to_string(
            &totals
                .iter()
                .map(|(c, t)| {
                    (
                        c.clone(),
                        serde_json::json!({"billed": t.0.to_string(), "effective": t.1.to_string(), "list": t.2.to_string(), "rows": t.3}),
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        )
        .map_err(AppError::internal)?;
        let batch: i64 = sqlx::query_scalar(
            "INSERT INTO cost_batches (source_kind, source_name, format, imported_by_id,
                 imported_by, imported_at, rows_read, rows_accepted, rows_rejected,
                 period_start, period_end, totals, extra_columns)
             VALUES ('sync', $1, 'aws-ce', $2, $3, $4, $5, $5, 0, $6, $7, $8, '[\"source\"]')
             RETURNING id",
        )
        .bind(format!("AWS Cost Explorer {from}..{to}"))
        .bind(ctx.actor_id)
        .bind(&ctx.actor)
        .bind(&ctx.at)
        .bind(f.accounts.len() as i64)
        .bind(format!("{from}T00:00:00.000000Z"))
        .bind(format!("{to}T00:00:00.000000Z"))
        .bind(&totals_json)
        .fetch_one(tx.conn())
        .await?;
        // Earlier sync data for these days gives way (file imports are left alone).
        let earlier: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM cost_batches WHERE source_kind = 'sync' AND id <> $1
                 AND status <> 'replaced' AND period_start < $3 AND period_end > $2",
        )
        .bind(batch)
        .bind(format!("{from}T00:00:00.000000Z"))
        .bind(format!("{to}T00:00:00.000000Z"))
        .fetch_all(tx.conn())
        .await?;
        for old in &earlier {
            for table in ["cost_daily", "cost_daily_tags"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE batch_id = $1 AND day >= $2 AND day < $3"
                ))
                .bind(old)
                .bind(from)
                .bind(to)
                .execute(tx.conn())
                .await?;
            }
            import::delete_line_items(
                tx.conn(),
                *old,
                "usage_date >= $4 AND usage_date < $5",
                &[from, to],
            )
            .await?;
            import::bump_rollup_rev(tx.conn(), *old).await?;
        }
        let id_before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM cost_line_items")
            .fetch_one(tx.conn())
            .await?;
        // Sync batches left without data are replaced; partly covered ones partly.
        sqlx::query(
            "UPDATE cost_batches SET status = CASE WHEN EXISTS (SELECT 1 FROM cost_daily d
                     WHERE d.batch_id = cost_batches.id) THEN 'partially_replaced' ELSE 'replaced' END,
                 replaced_by = $1, replaced_at = $2
             WHERE source_kind = 'sync' AND id <> $1 AND status <> 'replaced'
               AND period_start < $4 AND period_end > $3",
        )
        .bind(batch)
        .bind(&ctx.at)
        .bind(format!("{from}T00:00:00.000000Z"))
        .bind(format!("{to}T00:00:00.000000Z"))
        .execute(tx.conn())
        .await?;
        let provider = "AWS";
        for (n, ((day, svc, acct), a)) in f.accounts.iter().enumerate() {
            let period = format!("{}-01", &day[..7]);
            let start = format!("{day}T00:00:00.000000Z");
            let end = parse_date(day)
                .map(|d| format!("{}T00:00:00.000000Z", fmt_date(d + time::Duration::days(1))))
                .unwrap_or_else(|| start.clone());
            let period_end = parse_date(&period)
                .and_then(|d| {
                    let (y, m) = if d.month() == time::Month::December {
                        (d.year() + 1, time::Month::January)
                    } else {
                        (d.year(), d.month().next())
                    };
                    Date::from_calendar_date(y, m, 1).ok()
                })
                .map(fmt_date)
                .unwrap_or_else(|| period.clone());
            let name = f.account_names.get(acct).cloned().unwrap_or_default();
            let (b, e, l) = (
                a.billed.to_string(),
                a.effective.to_string(),
                a.list.to_string(),
            );
            sqlx::query(
                "INSERT INTO cost_line_items (batch_id, row_number, provider, billing_account_id,
                     billing_account_name, billing_period_start, billing_period_end, sub_account_id,
                     sub_account_name, service_name, service_category, region_id, resource_id,
                     charge_category, charge_period_start, charge_period_end, usage_date,
                     billed_cost, effective_cost, list_cost, currency, tags, extra)
                 VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $9, '', '', '', 'Usage', $10, $11,
                         $12, $13, $14, $15, $16, '{}', '[\"aws-cost-explorer\"]')",
            )
            .bind(batch)
            .bind(n as i64 + 1)
            .bind(provider)
            .bind(&s.payer_account)
            .bind(&period)
            .bind(&period_end)
            .bind(acct)
            .bind(&name)
            .bind(svc)
            .bind(&start)
            .bind(&end)
            .bind(day)
            .bind(&b)
            .bind(&e)
            .bind(&l)
            .bind(&a.currency)
            .execute(tx.conn())
            .await?;
            sqlx::query(
                "INSERT INTO cost_daily (batch_id, provider, billing_account_id,
                     billing_period_start, day, sub_account_id, sub_account_name, service_name,
                     service_category, region_id, charge_category, currency, billed_cost,
                     effective_cost, list_cost, row_count)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', '', 'Usage', $9, $10, $11, $12, 1)",
            )
            .bind(batch)
            .bind(provider)
            .bind(&s.payer_account)
            .bind(&period)
            .bind(day)
            .bind(acct)
            .bind(&name)
            .bind(svc)
            .bind(&a.currency)
            .bind(&b)
            .bind(&e)
            .bind(&l)
            .execute(tx.conn())
            .await?;
        }
        for ((day, svc, key, value), a) in &f.tags {
            sqlx::query(
                "INSERT INTO cost_daily_tags (batch_id, provider, billing_account_id,
                     billing_period_start, day, service_name, currency, tag_key, tag_value,
                     billed_cost, effective_cost, list_cost, row_count)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
            )
            .bind(batch)
            .bind(provider)
            .bind(&s.payer_account)
            .bind(format!("{}-01", &day[..7]))
            .bind(day)
            .bind(svc)
            .bind(&a.currency)
            .bind(key)
            .bind(value)
            .bind(a.billed.to_string())
            .bind(a.effective.to_string())
            .bind(a.list.to_string())
            .execute(tx.conn())
            .await?;
        }
        let (first, last) = import::item_range(tx.conn(), id_before).await?;
        sqlx::query("UPDATE cost_batches SET first_item_id = $1, last_item_id = $2 WHERE id = $3")
            .bind(first)
            .bind(last)
            .bind(batch)
            .execute(tx.conn())
            .await?;
        Ok(batch)
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
