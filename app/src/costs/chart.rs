//! The cost chart's value axis: round tick values (1, 2, 2.5 or 5 × a power of ten) whose top
//! tick is the plot's top, so bars can be read against labelled lines without the table.

use rust_decimal::Decimal;

/// At most this many ticks above zero.
const TICKS: u32 = 4;

/// The plot's top and the ticks (ascending, the last is the top) for bars up to `tallest`.
/// No data (zero): one tick at 1.
pub fn value_axis(tallest: Decimal) -> (Decimal, Vec<Decimal>) {
    let step = nice_step(tallest / Decimal::from(TICKS));
    let mut ticks = Vec::new();
    let mut t = step;
    loop {
        ticks.push(t);
        // Exact decimal steps: the loop ends at the first tick at or above the tallest bar.
        if t >= tallest || ticks.len() > TICKS as usize + 1 {
            break;
        }
        t += step;
    }
    (t, ticks)
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is at least `raw` (1 for nothing to show).
fn nice_step(raw: Decimal) -> Decimal {
    if raw <= Decimal::ZERO {
        return Decimal::ONE;
    }
    let ten = Decimal::TEN;
    let mut p = Decimal::ONE;
    // Bounded: Decimal spans 10^-28 … 10^28.
    for _ in 0..30 {
        if p * ten > raw {
            break;
        }
        p *= ten;
    }
    for _ in 0..30 {
        if p <= raw || p.scale() >= 27 {
            break;
        }
        p /= ten;
    }
    // 1, 2, 2.5, 5, 10
    for m in [(1, 0), (2, 0), (25, 1), (5, 0), (10, 0)] {
        let c = p * Decimal::new(m.0, m.1);
        if c >= raw {
            return c;
        }
    }
    p * ten
}

/// A tick's label: thousands grouped, no trailing zeros ("2,500", "0.25").
pub fn tick_label(v: Decimal) -> String {
    let s = v.normalize().to_string();
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = super::money::group_thousands(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn axis(s: &str) -> (String, Vec<String>) {
        let (top, ticks) = value_axis(d(s));
        (tick_label(top), ticks.into_iter().map(tick_label).collect())
    }

    #[test]
    fn ticks_are_round_and_the_top_covers_the_tallest_bar() {
        assert_eq!(axis("1234.56").1, ["500", "1,000", "1,500"]);
        assert_eq!(axis("1234.56").0, "1,500");
        assert_eq!(axis("1000").1, ["250", "500", "750", "1,000"]);
        assert_eq!(axis("7").1, ["2", "4", "6", "8"]);
        assert_eq!(axis("0.0371").1, ["0.01", "0.02", "0.03", "0.04"]);
        assert_eq!(axis("0").1, ["1"]);
        assert_eq!(axis("98765432.1").0, "100,000,000");
        assert_eq!(
            axis("0.00000080000").1,
            ["0.0000002", "0.0000004", "0.0000006", "0.0000008"]
        );
    }

    #[test]
    fn any_amount_gets_a_few_ticks_and_no_endless_loop() {
        for s in [
            "0.0000000000000000000000001",
            "1",
            "3.3",
            "79228162514264337593543950",
            "12345678901234567.123",
        ] {
            let (top, ticks) = value_axis(d(s));
            assert!(top >= d(s), "{s}");
            assert!((1..=6).contains(&ticks.len()), "{s}: {ticks:?}");
            assert_eq!(ticks.last(), Some(&top));
        }
    }
}
