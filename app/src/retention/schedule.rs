//! The retention schedule's arithmetic, with no database: what starts the clock (the trigger),
//! what happens at the end (the action), the disposal date of a record, a rule's next review,
//! and whether a legal hold's scope covers a record.

use crate::calendar::{year_of, IsoDuration};
use time::Date;

/// What starts a rule's period.
pub const TRIGGERS: [(&str, &str); 7] = [
    ("creation", "creation"),
    ("contract_end", "end of contract"),
    ("relationship_end", "end of relationship"),
    ("fiscal_year_end", "end of fiscal year"),
    ("expiry", "expiry"),
    ("superseded", "superseded by a newer version"),
    ("event", "another event (dated per record)"),
];

/// What is done when the period ends.
pub const ACTIONS: [(&str, &str); 4] = [
    ("delete", "delete"),
    ("anonymise", "anonymise"),
    ("archive", "archive"),
    ("review", "review"),
];

pub fn trigger_label(t: &str) -> &'static str {
    TRIGGERS
        .iter()
        .find(|(k, _)| *k == t)
        .map(|(_, l)| *l)
        .unwrap_or("unknown trigger")
}

pub fn action_label(a: &str) -> &'static str {
    ACTIONS
        .iter()
        .find(|(k, _)| *k == a)
        .map(|(_, l)| *l)
        .unwrap_or("unknown action")
}

/// The shortest the audit trail may be kept: 400 days unless configured otherwise.
pub const AUDIT_MIN_DAYS: u32 = 400;

/// The day the period starts for a record whose trigger happened on `trigger_date`: that day,
/// except for `fiscal_year_end` where it is the first day after the fiscal year (the calendar
/// year here) containing it; periods are half-open, so the year's end is the next 1 January.
pub fn clock_starts(trigger: &str, trigger_date: Date) -> Date {
    match trigger {
        "fiscal_year_end" => year_of(trigger_date).end,
        _ => trigger_date,
    }
}

/// The day disposal falls due: the trigger's day moved forward by the period (months and
/// years first, clamped to the month's last day, then days).
pub fn disposal_date(trigger: &str, trigger_date: Date, period: &IsoDuration) -> Date {
    period.after(clock_starts(trigger, trigger_date))
}

/// Where a record sits: its id, its rule's category, and the system or vendor holding it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place {
    pub record: Option<i64>,
    pub category: Option<i64>,
    pub system: Option<i64>,
    pub vendor: Option<i64>,
}

/// One line of a hold's scope: exactly one of these is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoldScope {
    pub category: Option<i64>,
    pub system: Option<i64>,
    pub vendor: Option<i64>,
    pub record: Option<i64>,
}

impl HoldScope {
    /// Whether this scope line covers data at `p`: the same record, or the same category,
    /// system or vendor.
    pub fn covers(&self, p: &Place) -> bool {
        let same = |a: Option<i64>, b: Option<i64>| a.is_some() && a == b;
        same(self.record, p.record)
            || same(self.category, p.category)
            || same(self.system, p.system)
            || same(self.vendor, p.vendor)
    }
}

/// Whether a hold that started on `starts_on` and was released on `released` (if ever) is in
/// force on `today`: from its first day, until the day it is released.
pub fn in_force(starts_on: Date, released: Option<Date>, today: Date) -> bool {
    starts_on <= today && released.is_none_or(|r| today < r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn p(s: &str) -> IsoDuration {
        IsoDuration::parse(s).unwrap()
    }

    #[test]
    fn disposal_dates_across_month_ends_leap_days_and_year_ends() {
        // P1Y6M from 31 August: February has no 31st, so the day clamps (leap and common years).
        assert_eq!(
            disposal_date("creation", date!(2022 - 08 - 31), &p("P1Y6M")),
            date!(2024 - 02 - 29)
        );
        assert_eq!(
            disposal_date("creation", date!(2023 - 08 - 31), &p("P1Y6M")),
            date!(2025 - 02 - 28)
        );
        // P30D across a leap day and across a year end.
        assert_eq!(
            disposal_date("event", date!(2024 - 02 - 15), &p("P30D")),
            date!(2024 - 03 - 16)
        );
        assert_eq!(
            disposal_date("event", date!(2023 - 02 - 15), &p("P30D")),
            date!(2023 - 03 - 17)
        );
        assert_eq!(
            disposal_date("expiry", date!(2026 - 12 - 15), &p("P30D")),
            date!(2027 - 01 - 14)
        );
        // A leap day plus whole years lands on 28 February in common years.
        assert_eq!(
            disposal_date("contract_end", date!(2024 - 02 - 29), &p("P1Y")),
            date!(2025 - 02 - 28)
        );
        assert_eq!(
            disposal_date("contract_end", date!(2024 - 02 - 29), &p("P4Y")),
            date!(2028 - 02 - 29)
        );
        // End of fiscal year: the clock starts on the next 1 January.
        assert_eq!(
            disposal_date("fiscal_year_end", date!(2026 - 03 - 15), &p("P7Y")),
            date!(2034 - 01 - 01)
        );
        assert_eq!(
            disposal_date("fiscal_year_end", date!(2026 - 12 - 31), &p("P6M")),
            date!(2027 - 07 - 01)
        );
        assert_eq!(
            disposal_date("fiscal_year_end", date!(2027 - 01 - 01), &p("P30D")),
            date!(2028 - 01 - 31)
        );
    }

    #[test]
    fn a_scope_covers_its_record_category_system_or_vendor_only() {
        let at = Place {
            record: Some(5),
            category: Some(2),
            system: Some(9),
            vendor: None,
        };
        let line = |category, system, vendor, record| HoldScope {
            category,
            system,
            vendor,
            record,
        };
        assert!(line(None, None, None, Some(5)).covers(&at));
        assert!(!line(None, None, None, Some(6)).covers(&at));
        assert!(line(Some(2), None, None, None).covers(&at));
        assert!(line(None, Some(9), None, None).covers(&at));
        assert!(!line(None, None, Some(9), None).covers(&at));
        // An empty place is covered by nothing.
        assert!(!line(None, None, Some(1), None).covers(&Place::default()));
    }

    #[test]
    fn a_hold_is_in_force_from_its_start_until_its_release() {
        let d = date!(2026 - 06 - 01);
        assert!(!in_force(date!(2026 - 06 - 02), None, d));
        assert!(in_force(d, None, d));
        assert!(in_force(d, Some(date!(2026 - 06 - 02)), d));
        assert!(!in_force(date!(2026 - 05 - 01), Some(d), d));
    }
}
