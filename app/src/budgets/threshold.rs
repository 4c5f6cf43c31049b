//! Budget thresholds: a percentage of the budget or an absolute amount, on the actual spend or
//! on the forecast, written `80%actual`, `100%forecast`, `5000actual`; a budget's list is
//! `;`-separated (`80%actual;100%actual;100%forecast`, the default).

use crate::costs::money::parse_amount;
use rust_decimal::Decimal;
use std::fmt;

/// What a threshold is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basis {
    Actual,
    Forecast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Percent of the budget's amount per period.
    Percent(Decimal),
    /// An amount in the budget's currency.
    Absolute(Decimal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Threshold {
    pub level: Level,
    pub basis: Basis,
}

pub const DEFAULT: &str = super::DEFAULT_THRESHOLDS;
/// More than this many on one budget is a mistake, not a policy.
pub const MAX_PER_BUDGET: usize = 20;

impl Threshold {
    pub fn parse(raw: &str) -> Result<Threshold, String> {
        let s = raw.trim().to_ascii_lowercase();
        let (num, basis) = if let Some(n) = s.strip_suffix("actual") {
            (n, Basis::Actual)
        } else if let Some(n) = s.strip_suffix("forecast") {
            (n, Basis::Forecast)
        } else {
            return Err(format!(
                "'{raw}' names no basis: end it with 'actual' or 'forecast' (e.g. 80%actual)"
            ));
        };
        let num = num.trim();
        let (num, percent) = match num.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (num, false),
        };
        let numeric = |c: char| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E');
        if num.contains(['e', 'E']) && num.chars().all(numeric) {
            return Err(format!(
                "'{raw}': write the number in full, without an exponent"
            ));
        }
        let v = parse_amount(num).map_err(|e| format!("'{raw}': {e}"))?;
        if v <= Decimal::ZERO {
            return Err(format!("'{raw}': a threshold must be above zero"));
        }
        if percent && v > Decimal::from(10_000) {
            return Err(format!("'{raw}': at most 10000%"));
        }
        let level = if percent {
            Level::Percent(v)
        } else {
            Level::Absolute(v)
        };
        Ok(Threshold { level, basis })
    }

    /// A list, in its order, without repeats; empty text (or only separators) is the default
    /// list.
    pub fn parse_list(raw: &str) -> Result<Vec<Threshold>, String> {
        let raw = if raw.trim().is_empty() { DEFAULT } else { raw };
        let mut out: Vec<Threshold> = Vec::new();
        for part in raw.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let t = Threshold::parse(part)?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if out.is_empty() {
            // Only separators: as if left empty.
            return Threshold::parse_list(DEFAULT);
        }
        if out.len() > MAX_PER_BUDGET {
            return Err(format!("at most {MAX_PER_BUDGET} thresholds per budget"));
        }
        Ok(out)
    }

    pub fn list_text(list: &[Threshold]) -> String {
        list.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The amount this threshold stands for on a budget of `amount` per period.
    pub fn amount_for(&self, amount: Decimal) -> Decimal {
        match self.level {
            Level::Absolute(v) => v,
            // ×percent then ÷100: exact (a budget has at most 28 digits; 10000% at most).
            Level::Percent(p) => (amount * p / Decimal::ONE_HUNDRED).normalize(),
        }
    }

    /// A person's reading: "80% of the budget, on the actual spend".
    pub fn describe(&self) -> String {
        let on = match self.basis {
            Basis::Actual => "actual spend",
            Basis::Forecast => "forecast",
        };
        match self.level {
            Level::Percent(p) => format!("{p}% of the budget, on the {on}"),
            Level::Absolute(v) => format!("{v}, on the {on}"),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let basis = match self.basis {
            Basis::Actual => "actual",
            Basis::Forecast => "forecast",
        };
        match self.level {
            Level::Percent(p) => write!(f, "{p}%{basis}"),
            Level::Absolute(v) => write!(f, "{v}{basis}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn the_default_list_reads_back_as_written() {
        let l = Threshold::parse_list("").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(Threshold::list_text(&l), DEFAULT);
        let l = Threshold::parse_list(" 90% Actual ; 2500.50forecast;90%actual").unwrap();
        assert_eq!(Threshold::list_text(&l), "90%actual;2500.50forecast");
    }

    #[test]
    fn amounts_are_exact() {
        let t = Threshold::parse("80%actual").unwrap();
        let a = Decimal::from_str("1234.56").unwrap();
        assert_eq!(t.amount_for(a).to_string(), "987.648");
        let t = Threshold::parse("12.5%forecast").unwrap();
        assert_eq!(t.amount_for(Decimal::from(1000)).to_string(), "125");
        let t = Threshold::parse("5000actual").unwrap();
        assert_eq!(t.amount_for(a).to_string(), "5000");
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for (bad, why) in [
            ("80%", "no basis"),
            ("%actual", "empty"),
            ("0%actual", "above zero"),
            ("-5actual", "above zero"),
            ("1e3actual", "exponent"),
            ("20000%forecast", "10000%"),
            ("80 percent actual", "not a decimal"),
        ] {
            let e = Threshold::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let many: Vec<String> = (1..=21).map(|i| format!("{i}actual")).collect();
        assert!(Threshold::parse_list(&many.join(";"))
            .unwrap_err()
            .contains("at most 20"));
    }
}
