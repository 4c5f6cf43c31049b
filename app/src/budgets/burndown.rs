//! The burn-down chart of a period: cumulative actual spend by day against the budget line
//! and the forecast to the period's end. Geometry is computed here, in exact decimals scaled
//! to the plot (no float ever carries money); the page draws it as SVG with each line in its
//! own pattern (solid with dots, dashed, dotted) and labelled, and lists the numbers in a
//! table beside it.

use super::evaluate::Figures;
use super::BurndownView;
use crate::calendar::Period;
use crate::costs::chart::{tick_label, value_axis};
use crate::costs::money::cents;
use rust_decimal::Decimal;
use time::Date;

const W: i64 = 600;
const H: i64 = 220;

/// A pixel coordinate with one decimal (SVG accepts it; no float involved).
fn px(v: Decimal) -> String {
    v.round_dp(1).normalize().to_string()
}

pub fn chart(
    period: Period,
    daily: &[Decimal],
    amount: Decimal,
    f: &Figures,
    settled_until: Option<Date>,
    today: Date,
) -> BurndownView {
    let n = daily.len().max(1) as i64;
    // Days shown as actual: up to the last day with data, never after today.
    let to_today = (today - period.start).whole_days().clamp(0, n);
    let last = settled_until
        .map(|d| (d - period.start).whole_days())
        .unwrap_or(0)
        .clamp(0, to_today);
    let mut cumulative = Vec::with_capacity(daily.len());
    let mut sum = Decimal::ZERO;
    for d in daily {
        sum += *d;
        cumulative.push(sum);
    }
    let upto = (last as usize).min(cumulative.len());
    let recorded = cumulative.last().copied().unwrap_or_default();
    let tallest = amount.max(f.forecast.amount).max(recorded);
    let (top, ticks) = value_axis(tallest);
    let y = |v: Decimal| px(Decimal::from(H) - v * Decimal::from(H) / top);
    let x = |day: i64| px(Decimal::from(day * W) / Decimal::from(n));
    let mut actual = format!("{},{}", x(0), y(Decimal::ZERO));
    for (i, c) in cumulative.iter().take(upto).enumerate() {
        actual.push_str(&format!(" {},{}", x(i as i64 + 1), y(*c)));
    }
    let at = cumulative
        .get(upto.wrapping_sub(1))
        .copied()
        .filter(|_| upto > 0)
        .unwrap_or_default();
    let forecast = format!(
        "{},{} {},{}",
        x(upto as i64),
        y(at),
        x(n),
        y(f.forecast.amount)
    );
    let days = daily
        .iter()
        .zip(&cumulative)
        .enumerate()
        .map(|(i, (d, c))| {
            let day = period.start + time::Duration::days(i as i64);
            (crate::util::fmt_date(day), cents(*d), cents(*c))
        })
        .collect();
    BurndownView {
        width: W,
        height: H,
        actual,
        actual_end: (x(upto as i64), y(at)),
        forecast,
        budget_y: y(amount),
        ticks: ticks.into_iter().map(|t| (tick_label(t), y(t))).collect(),
        days,
        through: upto as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budgets::forecast::Forecast;
    use crate::budgets::BudgetState;
    use time::macros::date;

    #[test]
    fn lines_are_scaled_to_round_ticks_and_stop_at_the_settled_data() {
        let period = Period::new(date!(2026 - 04 - 01), date!(2026 - 04 - 11)).unwrap();
        let daily: Vec<Decimal> = (0..10)
            .map(|i| Decimal::from(if i < 4 { 25 } else { 0 }))
            .collect();
        let f = Figures {
            period,
            actual: Decimal::from(100),
            forecast: Forecast {
                amount: Decimal::from(250),
                basis: String::new(),
            },
            state: BudgetState::Warning,
            thresholds: vec![],
        };
        let c = chart(
            period,
            &daily,
            Decimal::from(200),
            &f,
            Some(date!(2026 - 04 - 05)),
            date!(2026 - 04 - 06),
        );
        // Top tick 250 (ticks of 62.5 are not round: 100, 200, 300 → top 300).
        assert_eq!(c.ticks.last().unwrap().0, "300");
        // Four settled days: the actual line has the origin and four points.
        assert_eq!(c.actual.split(' ').count(), 5);
        assert_eq!(c.actual.split(' ').next_back(), Some("240,146.7"));
        // The forecast runs from there to the period's end at 250.
        assert_eq!(c.forecast, "240,146.7 600,36.7");
        // The budget line at 200 of 300.
        assert_eq!(c.budget_y, "73.3");
        assert_eq!(
            c.days[3],
            ("2026-04-04".into(), "25.00".into(), "100.00".into())
        );
        assert_eq!(c.through, 4);
    }
}
