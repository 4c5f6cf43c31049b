//! A control's status, derived from its evidence and tests, never typed in.
//!
//! Each cadence divides the calendar into occurrences (months, quarters, half-years, years).
//! Evidence whose effective date falls inside an occurrence satisfies it. After the latest
//! satisfied occurrence, the next one must be satisfied by its end: that end is the due date.

use crate::calendar;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    None,
    Monthly,
    Quarterly,
    Semiannual,
    Annual,
}

impl Cadence {
    pub const ALL: [Cadence; 5] = [
        Cadence::None,
        Cadence::Monthly,
        Cadence::Quarterly,
        Cadence::Semiannual,
        Cadence::Annual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::None => "none",
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
            Cadence::Semiannual => "semiannual",
            Cadence::Annual => "annual",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Cadence::None => "No recurring evidence",
            Cadence::Monthly => "Monthly",
            Cadence::Quarterly => "Quarterly",
            Cadence::Semiannual => "Semi-annual",
            Cadence::Annual => "Annual",
        }
    }

    /// Months per occurrence.
    fn months(self) -> Option<i32> {
        match self {
            Cadence::None => None,
            Cadence::Monthly => Some(1),
            Cadence::Quarterly => Some(3),
            Cadence::Semiannual => Some(6),
            Cadence::Annual => Some(12),
        }
    }
}

impl FromStr for Cadence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', '_', ' '], "");
        match norm.as_str() {
            "" | "none" => Ok(Cadence::None),
            "monthly" => Ok(Cadence::Monthly),
            "quarterly" => Ok(Cadence::Quarterly),
            "semiannual" | "semiannually" | "halfyearly" => Ok(Cadence::Semiannual),
            "annual" | "annually" | "yearly" => Ok(Cadence::Annual),
            _ => Err(format!(
                "unknown cadence '{}' (expected none, monthly, quarterly, semiannual or annual)",
                s.trim()
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    Failing,
    Overdue,
    NoEvidence,
    DueSoon,
    Effective,
    NotApplicable,
}

impl ControlStatus {
    pub const ALL: [ControlStatus; 6] = [
        ControlStatus::Effective,
        ControlStatus::DueSoon,
        ControlStatus::Overdue,
        ControlStatus::Failing,
        ControlStatus::NoEvidence,
        ControlStatus::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Effective => "effective",
            ControlStatus::Failing => "failing",
            ControlStatus::DueSoon => "due_soon",
            ControlStatus::Overdue => "overdue",
            ControlStatus::NoEvidence => "no_evidence",
            ControlStatus::NotApplicable => "not_applicable",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ControlStatus::Effective => "Effective",
            ControlStatus::Failing => "Failing",
            ControlStatus::DueSoon => "Due soon",
            ControlStatus::Overdue => "Overdue",
            ControlStatus::NoEvidence => "No evidence yet",
            ControlStatus::NotApplicable => "Not applicable",
        }
    }

    /// Whether the control's evidence currently counts (for framework coverage).
    pub fn is_fresh(self) -> bool {
        matches!(self, ControlStatus::Effective | ControlStatus::DueSoon)
    }
}

impl fmt::Display for ControlStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for ControlStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ControlStatus::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| format!("unknown status '{s}'"))
    }
}

/// Everything the status depends on.
#[derive(Debug, Clone)]
pub struct StatusInput<'a> {
    pub applicable: bool,
    pub cadence: Cadence,
    /// Effective dates of the control's evidence (any order).
    pub evidence_dates: &'a [Date],
    /// The most recent test's result (by test date, then upload time): true = pass.
    pub last_test_passed: Option<bool>,
    pub today: Date,
    pub due_soon_days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    pub status: ControlStatus,
    /// The date by which the next evidence is due (exclusive), for controls with a cadence.
    pub next_due: Option<Date>,
    pub last_evidence: Option<Date>,
}

/// The occurrence `[start, end)` that contains `d`.
pub fn occurrence(cadence: Cadence, d: Date) -> Option<(Date, Date)> {
    let p = calendar::period_containing(d, cadence.months()?);
    Some((p.start, p.end))
}

pub fn derive(input: &StatusInput) -> Derived {
    // Evidence dated in the future speaks for nothing yet.
    let last_evidence = input
        .evidence_dates
        .iter()
        .copied()
        .filter(|d| *d <= input.today)
        .max();
    let mut next_due = None;
    let status = if !input.applicable {
        ControlStatus::NotApplicable
    } else if last_evidence.is_none() {
        ControlStatus::NoEvidence
    } else if input.last_test_passed == Some(false) {
        ControlStatus::Failing
    } else {
        match (input.cadence.months(), last_evidence) {
            (Some(len), Some(last)) => {
                // Evidence satisfies its occurrence; the next one's is due by that one's end.
                let current = calendar::period_containing(last, len);
                let due = calendar::add_months(current.end, len);
                next_due = Some(due);
                let days_left = (due - input.today).whole_days();
                if days_left <= 0 {
                    ControlStatus::Overdue
                } else if days_left <= input.due_soon_days {
                    ControlStatus::DueSoon
                } else {
                    ControlStatus::Effective
                }
            }
            _ => ControlStatus::Effective,
        }
    };
    Derived {
        status,
        next_due,
        last_evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn at(cadence: Cadence, dates: &[Date], test: Option<bool>, today: Date) -> Derived {
        derive(&StatusInput {
            applicable: true,
            cadence,
            evidence_dates: dates,
            last_test_passed: test,
            today,
            due_soon_days: 14,
        })
    }

    #[test]
    fn quarterly_evidence_ages_through_due_soon_to_overdue() {
        let ev = [date!(2026 - 02 - 10)]; // Q1 satisfied: Q2 is due by 1 July.
        let d = at(Cadence::Quarterly, &ev, None, date!(2026 - 05 - 01));
        assert_eq!(d.status, ControlStatus::Effective);
        assert_eq!(d.next_due, Some(date!(2026 - 07 - 01)));
        let d = at(Cadence::Quarterly, &ev, None, date!(2026 - 06 - 17));
        assert_eq!(d.status, ControlStatus::DueSoon);
        let d = at(Cadence::Quarterly, &ev, None, date!(2026 - 07 - 01));
        assert_eq!(d.status, ControlStatus::Overdue);
        // Evidence for Q3 makes it effective again, due by 1 January.
        let ev2 = [date!(2026 - 02 - 10), date!(2026 - 07 - 02)];
        let d = at(Cadence::Quarterly, &ev2, None, date!(2026 - 07 - 03));
        assert_eq!(d.status, ControlStatus::Effective);
        assert_eq!(d.next_due, Some(date!(2027 - 01 - 01)));
    }

    #[test]
    fn occurrences_follow_the_calendar() {
        assert_eq!(
            occurrence(Cadence::Semiannual, date!(2026 - 11 - 27)),
            Some((date!(2026 - 07 - 01), date!(2027 - 01 - 01)))
        );
        assert_eq!(
            occurrence(Cadence::Monthly, date!(2026 - 12 - 31)),
            Some((date!(2026 - 12 - 01), date!(2027 - 01 - 01)))
        );
        assert_eq!(occurrence(Cadence::None, date!(2026 - 12 - 31)), None);
    }

    #[test]
    fn a_failed_test_fails_until_a_later_pass() {
        let ev = [date!(2026 - 11 - 01)];
        let today = date!(2026 - 11 - 05);
        assert_eq!(
            at(Cadence::Annual, &ev, Some(false), today).status,
            ControlStatus::Failing
        );
        assert_eq!(
            at(Cadence::Annual, &ev, Some(true), today).status,
            ControlStatus::Effective
        );
    }

    #[test]
    fn no_evidence_future_evidence_and_not_applicable() {
        let today = date!(2026 - 11 - 05);
        assert_eq!(
            at(Cadence::Monthly, &[], None, today).status,
            ControlStatus::NoEvidence
        );
        assert_eq!(
            at(Cadence::Monthly, &[date!(2026 - 12 - 01)], None, today).status,
            ControlStatus::NoEvidence
        );
        let na = derive(&StatusInput {
            applicable: false,
            cadence: Cadence::Monthly,
            evidence_dates: &[],
            last_test_passed: None,
            today,
            due_soon_days: 14,
        });
        assert_eq!(na.status, ControlStatus::NotApplicable);
        // Without a cadence, evidence never goes stale.
        assert_eq!(
            at(Cadence::None, &[date!(2019 - 01 - 01)], None, today).status,
            ControlStatus::Effective
        );
    }
}
