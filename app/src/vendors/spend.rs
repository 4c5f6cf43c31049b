//! Vendor spend from the cost data: each vendor's scopes (provider, billing account, service, a
//! tag) summed exactly from the cost cube over the last twelve calendar months (the current one
//! included), by month and currency, beside the contracts' annual value; and the spend no
//! vendor's scope covers ("unknown vendors").

use super::SpendScope as Scope;
use crate::calendar::{add_months, first_of_month};
use crate::costs::cube::{Buckets, Dim, Filters, Group, Metric, Snapshot};
use crate::error::AppError;
use rust_decimal::Decimal;
use time::Date;

pub use super::SpendFigures as SpendView;

/// Twelve monthly buckets ending with the current month: (buckets, each month's first day).
pub fn months(today: Date) -> (Buckets, Vec<Date>) {
    let first = add_months(first_of_month(today), -11);
    let end = add_months(first_of_month(today), 1);
    let starts: Vec<Date> = (0..12).map(|i| add_months(first, i)).collect();
    let days = (end - first).whole_days().max(0) as usize;
    let of_day = (0..days)
        .map(|d| {
            let day = first + time::Duration::days(d as i64);
            starts.iter().rposition(|s| *s <= day).unwrap_or(0) as u32
        })
        .collect();
    (
        Buckets {
            from: first,
            to: end,
            of_day,
            count: 12,
        },
        starts,
    )
}

/// One scope's monthly sums in a currency.
fn scope_sums(
    snap: &Snapshot,
    b: &Buckets,
    currency: &str,
    s: &Scope,
) -> Result<Vec<Decimal>, AppError> {
    let f = Filters {
        provider: &s.provider,
        billing: &s.billing_account,
        service: &s.service,
        ..Filters::default()
    };
    let tag = (!s.tag_key.is_empty()).then_some((s.tag_key.as_str(), s.tag_value.as_str()));
    snap.scoped(b, currency, Metric::Billed, &f, tag)
}

/// A vendor's spend per currency (currencies with none left out).
pub fn vendor_spend(
    snap: &Snapshot,
    scopes: &[Scope],
    today: Date,
) -> Result<Vec<SpendView>, AppError> {
    if scopes.is_empty() {
        return Ok(Vec::new());
    }
    let (b, starts) = months(today);
    let year = Date::from_calendar_date(today.year(), time::Month::January, 1).unwrap_or(today);
    let mut out = Vec::new();
    for currency in &snap.choices.currencies {
        let mut total = vec![Decimal::ZERO; 12];
        for s in scopes {
            for (t, v) in total.iter_mut().zip(scope_sums(snap, &b, currency, s)?) {
                *t += v;
            }
        }
        if total.iter().all(|d| d.is_zero()) {
            continue;
        }
        let ytd: Decimal = total
            .iter()
            .zip(&starts)
            .filter(|(_, s)| **s >= year)
            .map(|(v, _)| *v)
            .sum();
        out.push(SpendView {
            currency: currency.clone(),
            year_to_date: ytd.normalize().to_string(),
            last_12_months: total
                .iter()
                .copied()
                .sum::<Decimal>()
                .normalize()
                .to_string(),
            months: starts
                .iter()
                .zip(&total)
                .map(|(s, v)| (crate::util::fmt_date(*s), v.normalize().to_string()))
                .collect(),
            bars: bars(&total),
        });
    }
    Ok(out)
}

/// Bar heights 0 to `BAR` for the chart, proportional to the largest month (negatives,
/// credits, draw as nothing); computed from the exact amounts, never through a float.
fn bars(months: &[Decimal]) -> Vec<u8> {
    use rust_decimal::prelude::ToPrimitive;
    const BAR: u8 = 56;
    let max = months.iter().copied().max().unwrap_or_default();
    months
        .iter()
        .map(|v| match max > Decimal::ZERO && *v > Decimal::ZERO {
            true => (*v * Decimal::from(BAR) / max)
                .round()
                .to_u8()
                .unwrap_or(BAR),
            false => 0,
        })
        .collect()
}

/// Spend of the last twelve months that no vendor's scope covers: (provider, service, currency,
/// amount) at or above `threshold`, largest first. A scope covers a provider's service when it
/// names that provider or none, and that service or none (a narrower scope still says whose
/// relationship it is).
pub fn unknown(
    snap: &Snapshot,
    scopes: &[Scope],
    today: Date,
    threshold: Decimal,
) -> Result<Vec<(String, String, String, String)>, AppError> {
    let (b, _) = months(today);
    let whole = Buckets::single(b.from, b.to);
    let mut out = Vec::new();
    for currency in &snap.choices.currencies {
        for provider in &snap.choices.providers {
            let f = Filters {
                provider,
                ..Filters::default()
            };
            let sums = snap.sums(
                &whole,
                currency,
                Metric::Billed,
                Group::Dim(Dim::Service),
                &f,
            )?;
            for (service, v) in sums {
                let amount: Decimal = v.iter().copied().sum();
                let covered = scopes.iter().any(|s| {
                    (s.provider.is_empty() || s.provider == *provider)
                        && (s.service.is_empty() || s.service == service)
                        && !(s.provider.is_empty()
                            && s.service.is_empty()
                            && s.billing_account.is_empty()
                            && s.tag_key.is_empty())
                });
                if !covered && amount >= threshold && !amount.is_zero() {
                    out.push((provider.clone(), service, currency.clone(), amount));
                }
            }
        }
    }
    out.sort_by_key(|u| std::cmp::Reverse(u.3));
    Ok(out
        .into_iter()
        .map(|(p, s, c, a)| (p, s, c, a.normalize().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn bars_follow_the_largest_month() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(bars(&[d("0"), d("50"), d("100"), d("-3")]), [0, 28, 56, 0]);
        assert_eq!(bars(&[d("0"), d("0")]), [0, 0]);
    }

    #[test]
    fn twelve_calendar_months_end_with_this_one() {
        let (b, starts) = months(date!(2024 - 02 - 29));
        assert_eq!(starts.first(), Some(&date!(2023 - 03 - 01)));
        assert_eq!(starts.last(), Some(&date!(2024 - 02 - 01)));
        assert_eq!(
            (b.from, b.to),
            (date!(2023 - 03 - 01), date!(2024 - 03 - 01))
        );
        assert_eq!(b.of_day.len(), 366);
        assert_eq!(b.of_day[0], 0);
        assert_eq!(b.of_day[30], 0, "31 March");
        assert_eq!(b.of_day[31], 1, "1 April");
        assert_eq!(*b.of_day.last().unwrap(), 11, "29 February");
    }
}
