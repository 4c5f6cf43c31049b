//! A budget's figures for a period: the actual from the cost cube, exactly; the forecast; the
//! state; which thresholds are crossed. `alerts` turns them into alerts.

use super::forecast::{forecast, Forecast, Input};
use super::store::Budget;
use super::threshold::Basis;
use super::BudgetState;
use crate::calendar::Period;
use crate::costs::cube::{Buckets, Cube, Dim, Filters, Group, Metric, Snapshot, Sums};
use crate::db::Db;
use crate::error::AppError;
use crate::util::parse_date;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    /// Sums made so far, by what they were made over: budgets that differ only in the value
    /// of one dimension (a budget per service, per sub-account, per tag value) share one pass
    /// over the period's rows.
    memo: Mutex<HashMap<SumKey, Arc<Sums>>>,
}

/// [from, to), currency, what the sums are grouped by, and the other filters' values.
type SumKey = (Date, Date, String, GroupBy, [String; 5]);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupBy {
    Nothing,
    Dim(u8),
    Tag(String),
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
        memo: Mutex::default(),
    })
}

/// The budget's spend in each of `buckets` (billed cost, exact).
fn spend_in(snap: &Snapshot, b: &Budget, buckets: &Buckets) -> Result<Vec<Decimal>, AppError> {
    let s = &b.spec.scope;
    let f = Filters {
        provider: &s.provider,
        billing: &s.billing_account,
        account: &s.sub_account,
        service: &s.service,
        region: &s.region,
    };
    let tag = (!s.tag_key.is_empty()).then_some((s.tag_key.as_str(), s.tag_value.as_str()));
    snap.scoped(buckets, &b.spec.currency, Metric::Billed, &f, tag)
}

fn spend(basis: &DataBasis, b: &Budget, from: Date, to: Date) -> Result<Decimal, AppError> {
    if to <= from {
        return Ok(Decimal::ZERO);
    }
    let s = &b.spec.scope;
    // In `Filters` order: provider, billing, account, service, region.
    let mut filters = [
        s.provider.clone(),
        s.billing_account.clone(),
        s.sub_account.clone(),
        s.service.clone(),
        s.region.clone(),
    ];
    let (group, value) = if !s.tag_key.is_empty() {
        (GroupBy::Tag(s.tag_key.clone()), s.tag_value.clone())
    } else {
        match [3usize, 2, 4, 1, 0]
            .into_iter()
            .find(|i| !filters[*i].is_empty())
        {
            Some(i) => (GroupBy::Dim(i as u8), std::mem::take(&mut filters[i])),
            None => (GroupBy::Nothing, String::new()),
        }
    };
    let key: SumKey = (from, to, b.spec.currency.clone(), group, filters);
    let cached = basis
        .memo
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let sums = match cached {
        Some(s) => s,
        None => {
            let (from, to, currency, group, f) = &key;
            let filters = Filters {
                provider: &f[0],
                billing: &f[1],
                account: &f[2],
                service: &f[3],
                region: &f[4],
            };
            let g = match group {
                GroupBy::Nothing => Group::Nothing,
                GroupBy::Tag(k) => Group::Tag(k),
                GroupBy::Dim(i) => Group::Dim(
                    [
                        Dim::Provider,
                        Dim::Billing,
                        Dim::Account,
                        Dim::Service,
                        Dim::Region,
                    ][*i as usize],
                ),
            };
            let sums = Arc::new(basis.snap.sums(
                &Buckets::single(*from, *to),
                currency,
                Metric::Billed,
                g,
                &filters,
            )?);
            basis
                .memo
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.clone(), sums.clone());
            sums
        }
    };
    Ok(sums.get(&value).map(|v| v[0]).unwrap_or_default())
}

/// The budget's spend on each day of `period`.
pub fn daily(basis: &DataBasis, b: &Budget, period: Period) -> Result<Vec<Decimal>, AppError> {
    let days = period.days().max(0) as usize;
    let buckets = Buckets {
        from: period.start,
        to: period.end,
        of_day: (0..days as u32).collect(),
        count: days,
    };
    spend_in(&basis.snap, b, &buckets)
}

pub fn figures(basis: &DataBasis, b: &Budget, period: Period) -> Result<Figures, AppError> {
    let recorded = spend(basis, b, period.start, period.end)?;
    let settled_end = basis
        .settled_until
        .unwrap_or(period.start)
        .clamp(period.start, period.end);
    let settled = if settled_end == period.end {
        recorded
    } else {
        spend(basis, b, period.start, settled_end)?
    };
    let prev = b.spec.period_of(period.start - time::Duration::days(1));
    let previous = match prev {
        Some(p) => Some((spend(basis, b, p.start, p.end)?, p.days())),
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
