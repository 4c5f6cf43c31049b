//! The Cost Explorer side of a sync: the SDK client (our own retries), `GetCostAndUsage`
//! paged by hand per grouping, and the amounts it returns summed by day, service and account
//! or tag value.

use super::AwsSettings;
use crate::costs::money::parse_amount;
use crate::util::parse_date;
use aws_sdk_costexplorer::error::ProvideErrorMetadata;
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One (day, service, account) amount set, or one (day, service, tag value) set.
#[derive(Default)]
pub(super) struct Amounts {
    pub(super) billed: Decimal,
    pub(super) effective: Decimal,
    pub(super) list: Decimal,
    pub(super) currency: String,
}

pub(super) struct Fetched {
    /// (day, service, account) → amounts
    pub(super) accounts: BTreeMap<(String, String, String), Amounts>,
    /// (day, service, tag key, tag value) → amounts
    pub(super) tags: BTreeMap<(String, String, String, String), Amounts>,
    pub(super) account_names: BTreeMap<String, String>,
    pub(super) pages: u64,
    pub(super) retries: u64,
    pub(super) estimated_from: Option<String>,
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

/// Adds exactly: a sum beyond the exact decimal range is an error, never a panic.
fn add(into: &mut Amounts, a: &Amounts) -> Result<(), String> {
    into.billed = crate::costs::money::add(into.billed, a.billed)?;
    into.effective = crate::costs::money::add(into.effective, a.effective)?;
    into.list = crate::costs::money::add(into.list, a.list)?;
    into.currency = a.currency.clone();
    Ok(())
}

pub(super) async fn fetch(
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
    let mut overflow: Option<String> = None;
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
            if let Err(e) = add(accounts.entry((day.to_string(), svc, acct)).or_default(), a) {
                overflow.get_or_insert(e);
            }
        },
    )
    .await
    {
        return Err((out, e));
    }
    if let Some(e) = overflow.take() {
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
                    let sum = tags
                        .entry((day.to_string(), svc, key.clone(), value))
                        .or_default();
                    if let Err(e) = add(sum, a) {
                        overflow.get_or_insert(e);
                    }
                }
            },
        )
        .await
        {
            return Err((out, e));
        }
        if let Some(e) = overflow.take() {
            return Err((out, e));
        }
        out.tags.extend(tags);
    }
    Ok(out)
}
