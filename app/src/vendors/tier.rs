//! The criticality tier from a short rubric: how sensitive the data the vendor holds is, times
//! how much the business depends on it. Tier 1 is the most critical; an override (with its
//! reason, required) replaces the computed tier. Each tier has its review cadence.

use crate::calendar::IsoDuration;

pub const SENSITIVITIES: [&str; 4] = ["none", "internal", "confidential", "restricted"];
pub const IMPACTS: [&str; 4] = ["low", "medium", "high", "critical"];

/// The rubric: sensitivity (0–3) plus impact (0–3); 4 or more is tier 1, 2 or 3 is tier 2,
/// less is tier 3. Unknown words count as the lowest.
pub fn tier(sensitivity: &str, impact: &str) -> u8 {
    let rank = |list: &[&str], v: &str| list.iter().position(|x| *x == v).unwrap_or(0);
    match rank(&SENSITIVITIES, sensitivity) + rank(&IMPACTS, impact) {
        4.. => 1,
        2..=3 => 2,
        _ => 3,
    }
}

/// How often a vendor of a tier is reviewed: yearly, every two years, every three.
pub fn cadence(tier: u8) -> IsoDuration {
    IsoDuration {
        years: match tier {
            1 => 1,
            2 => 2,
            _ => 3,
        },
        ..IsoDuration::default()
    }
}

pub fn cadence_text(tier: u8) -> &'static str {
    match tier {
        1 => "yearly",
        2 => "every two years",
        _ => "every three years",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rubric_ranks_sensitivity_times_impact() {
        assert_eq!(tier("restricted", "critical"), 1);
        assert_eq!(tier("confidential", "high"), 1);
        assert_eq!(tier("restricted", "low"), 2);
        assert_eq!(tier("internal", "medium"), 2);
        assert_eq!(tier("none", "medium"), 3);
        assert_eq!(tier("internal", "low"), 3);
        assert_eq!(cadence(1).to_string(), "P1Y");
        assert_eq!(cadence(3).to_string(), "P3Y");
    }
}
