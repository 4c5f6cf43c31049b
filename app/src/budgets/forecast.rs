//! The forecast to a period's end, and how it was made, in words the page shows.
//!
//! Method: the days of the period with settled data (before the first day the source marks
//! estimated, and before today) give this period's daily run-rate; the previous period's daily
//! average is the other witness. The remaining days are projected at a blend of the two,
//! weighted by how much of the period has passed (`w = settled days / days in the period` on
//! the run-rate, `1 − w` on last period's average): early in a month last month speaks
//! louder, late in it this month's own pace does. The forecast is the settled spend plus that
//! projection, never below the spend already recorded (estimated days included), rounded to
//! the cent. A closed period's forecast is its actual.

use crate::calendar::Period;
use rust_decimal::{Decimal, RoundingStrategy};
use time::Date;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub period: Period,
    /// Today (UTC).
    pub today: Date,
    /// The first day without settled data: the day after the latest data, or the first day
    /// the source marks estimated, whichever comes first (`None`: no data at all).
    pub settled_until: Option<Date>,
    /// Spend on the settled days of the period.
    pub settled: Decimal,
    /// All spend recorded in the period (estimated days included).
    pub recorded: Decimal,
    /// The previous period's spend and its number of days, when it has data.
    pub previous: Option<(Decimal, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    pub amount: Decimal,
    /// What it is based on, for the page.
    pub basis: String,
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

pub fn forecast(i: &Input) -> Forecast {
    let n = i.period.days();
    if i.today >= i.period.end {
        return Forecast {
            amount: i.recorded,
            basis: "The period has closed: the forecast is the actual spend.".into(),
        };
    }
    let settled_end = i
        .settled_until
        .unwrap_or(i.period.start)
        .min(i.today)
        .clamp(i.period.start, i.period.end);
    let k = (settled_end - i.period.start).whole_days();
    let remaining = Decimal::from(n - k);
    let run_rate = (k > 0).then(|| i.settled / Decimal::from(k));
    let last = i
        .previous
        .filter(|(_, days)| *days > 0)
        .map(|(a, days)| a / Decimal::from(days));
    let (daily, basis) = match (run_rate, last) {
        (Some(r), Some(l)) => {
            let w = Decimal::from(k) / Decimal::from(n);
            (
                r * w + l * (Decimal::ONE - w),
                format!(
                    "{k} of {n} days settled: the remaining {} days at a blend of this \
                     period's daily run-rate {} (weight {k}/{n}) and last period's daily \
                     average {} (weight {}/{n}).",
                    n - k,
                    cents(r),
                    cents(l),
                    n - k
                ),
            )
        }
        (Some(r), None) => (
            r,
            format!(
                "{k} of {n} days settled: the remaining {} days at this period's daily \
                 run-rate {} (no earlier period to compare with).",
                n - k,
                cents(r)
            ),
        ),
        (None, Some(l)) => (
            l,
            format!(
                "No settled day yet: the period at last period's daily average {}.",
                cents(l)
            ),
        ),
        (None, None) => (
            Decimal::ZERO,
            "No settled day and no earlier period: the forecast is the spend recorded so far."
                .into(),
        ),
    };
    let projected = cents(i.settled + daily * remaining);
    let amount = projected.max(i.recorded);
    let basis = if amount > projected {
        format!("{basis} Raised to the spend already recorded, estimated days included.")
    } else {
        basis
    };
    Forecast { amount, basis }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn april() -> Period {
        Period::new(date!(2026 - 04 - 01), date!(2026 - 05 - 01)).unwrap()
    }

    #[test]
    fn a_blend_weighted_by_the_days_passed() {
        // 10 of 30 days settled at 100.00 a day; March averaged 62.00 a day (1922.00 / 31).
        let f = forecast(&Input {
            period: april(),
            today: date!(2026 - 04 - 12),
            settled_until: Some(date!(2026 - 04 - 11)),
            settled: d("1000.00"),
            recorded: d("1150.00"),
            previous: Some((d("1922.00"), 31)),
        });
        // daily = 100 × 10/30 + 62 × 20/30 = 33.333… + 41.333… = 74.666…;
        // 1000 + 74.666… × 20 = 2493.333… → 2493.33.
        assert_eq!(f.amount, d("2493.33"));
        assert!(f.basis.contains("10 of 30 days settled"), "{}", f.basis);
        assert!(f.basis.contains("100.00") && f.basis.contains("62.00"));
    }

    #[test]
    fn estimated_and_future_days_are_not_settled() {
        // Data up to the 20th, but AWS marks the 15th on estimated: 14 days settled.
        let f = forecast(&Input {
            period: april(),
            today: date!(2026 - 04 - 21),
            settled_until: Some(date!(2026 - 04 - 15)),
            settled: d("140"),
            recorded: d("200"),
            previous: None,
        });
        // 140 + 10 × 16 = 300.
        assert_eq!(f.amount, d("300.00"));
        assert!(f.basis.contains("14 of 30"), "{}", f.basis);
        // A settled-until after today counts up to today only.
        let f = forecast(&Input {
            today: date!(2026 - 04 - 03),
            settled_until: Some(date!(2026 - 04 - 20)),
            settled: d("20"),
            recorded: d("20"),
            ..Input {
                period: april(),
                today: date!(2026 - 04 - 03),
                settled_until: None,
                settled: d("0"),
                recorded: d("0"),
                previous: None,
            }
        });
        assert_eq!(f.amount, d("300.00"), "2 days at 10 a day, 30 days");
    }

    #[test]
    fn without_settled_days_last_period_speaks_and_a_closed_period_is_its_actual() {
        let f = forecast(&Input {
            period: april(),
            today: date!(2026 - 04 - 01),
            settled_until: None,
            settled: d("0"),
            recorded: d("0"),
            previous: Some((d("310"), 31)),
        });
        assert_eq!(f.amount, d("300.00"));
        let f = forecast(&Input {
            period: april(),
            today: date!(2026 - 05 - 02),
            settled_until: Some(date!(2026 - 05 - 01)),
            settled: d("123.456789"),
            recorded: d("123.456789"),
            previous: Some((d("310"), 31)),
        });
        assert_eq!(f.amount, d("123.456789"), "exact, not rounded");
        assert!(f.basis.contains("closed"));
    }

    #[test]
    fn never_below_what_is_already_recorded() {
        // A big estimated day: the projection of the settled days is lower than the record.
        let f = forecast(&Input {
            period: april(),
            today: date!(2026 - 04 - 11),
            settled_until: Some(date!(2026 - 04 - 10)),
            settled: d("9"),
            recorded: d("5000"),
            previous: None,
        });
        assert_eq!(f.amount, d("5000"));
        assert!(f.basis.contains("Raised"));
    }
}
