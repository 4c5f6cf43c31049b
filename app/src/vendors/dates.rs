//! The dates that drive vendors: a contract's current term end (rolled forward while it
//! auto-renews) and its notice deadline; a vendor's next review, from its tier's cadence or the
//! earliest expiry of its current reports, whichever comes first. Pure, over dates; every end
//! is exclusive (periods are half-open).

use crate::calendar::{deadline, IsoDuration};
use time::Date;

/// How many days before a notice deadline a contract is said to be in its notice window.
pub const NOTICE_WINDOW_DAYS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub start: Date,
    pub end: Option<Date>,
    pub auto_renew: bool,
    pub renewal_term: IsoDuration,
    pub notice: IsoDuration,
}

/// The end of the term running on `today`: the end itself, or for an auto-renewing contract
/// whose end has passed, the end moved on by whole renewal terms until it is after `today`.
/// `None` for an open-ended contract.
pub fn term_end(t: &Terms, today: Date) -> Option<Date> {
    let mut end = t.end?;
    if !t.auto_renew || t.renewal_term.is_zero() {
        return Some(end);
    }
    // Bounded: a renewal term is at least a day, and contracts do not run for millennia.
    for _ in 0..10_000 {
        if end > today {
            break;
        }
        end = t.renewal_term.after(end);
    }
    Some(end)
}

/// The last day notice can be given for the running term (`None` when open-ended).
pub fn notice_deadline(t: &Terms, today: Date) -> Option<Date> {
    term_end(t, today).map(|e| deadline(e, &t.notice))
}

/// Where a contract stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    NotStarted,
    /// Running, its notice deadline more than the window away (or open-ended).
    Running,
    /// The notice deadline is within `NOTICE_WINDOW_DAYS` (still ahead or today).
    NoticeWindow,
    /// Notice can no longer be given for this term: it renews (or ends) at its term end.
    NoticePassed,
    Ended,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::NotStarted => "not started",
            Standing::Running => "running",
            Standing::NoticeWindow => "in its notice window",
            Standing::NoticePassed => "notice deadline passed",
            Standing::Ended => "ended",
        }
    }
}

pub fn standing(t: &Terms, today: Date) -> Standing {
    if today < t.start {
        return Standing::NotStarted;
    }
    let Some(end) = term_end(t, today) else {
        return Standing::Running;
    };
    if end <= today {
        return Standing::Ended;
    }
    let last = deadline(end, &t.notice);
    if today > last {
        Standing::NoticePassed
    } else if (last - today).whole_days() <= NOTICE_WINDOW_DAYS {
        Standing::NoticeWindow
    } else {
        Standing::Running
    }
}

/// The next review and why: the cadence from the last review (or from when the vendor was
/// added, never reviewed), or a current report's expiry when that comes first.
pub fn next_review(
    last_review: Option<Date>,
    added: Date,
    cadence: &IsoDuration,
    cadence_text: &str,
    expiries: &[(String, Date)],
) -> (Date, String) {
    let by_cadence = match last_review {
        Some(d) => (
            cadence.after(d),
            format!("reviewed {d}, then {cadence_text}"),
        ),
        None => (added, "never reviewed".to_string()),
    };
    match expiries.iter().min_by_key(|(_, d)| *d) {
        Some((what, d)) if *d < by_cadence.0 => (*d, format!("the {what} expires")),
        _ => by_cadence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn terms(end: Option<Date>, auto: bool, renewal: &str, notice: &str) -> Terms {
        Terms {
            start: date!(2024 - 01 - 31),
            end,
            auto_renew: auto,
            renewal_term: IsoDuration::parse(renewal).unwrap(),
            notice: IsoDuration::parse(notice).unwrap(),
        }
    }

    #[test]
    fn notice_deadlines_cross_month_ends_leap_days_and_years() {
        // 90 days before 1 March 2024 crosses the leap day.
        let t = terms(Some(date!(2024 - 03 - 01)), false, "P1Y", "P90D");
        assert_eq!(
            notice_deadline(&t, date!(2024 - 01 - 01)),
            Some(date!(2023 - 12 - 02))
        );
        // A month before 31 March is 29 February in a leap year, 28 in another.
        let t = terms(Some(date!(2024 - 03 - 31)), false, "P1Y", "P1M");
        assert_eq!(
            notice_deadline(&t, date!(2024 - 02 - 01)),
            Some(date!(2024 - 02 - 29))
        );
        let t = terms(Some(date!(2025 - 03 - 31)), false, "P1Y", "P1M");
        assert_eq!(
            notice_deadline(&t, date!(2025 - 02 - 01)),
            Some(date!(2025 - 02 - 28))
        );
        // P1Y6M back from 1 January 2027 is 1 July 2025.
        let t = terms(Some(date!(2027 - 01 - 01)), false, "P1Y", "P1Y6M");
        assert_eq!(
            notice_deadline(&t, date!(2025 - 01 - 01)),
            Some(date!(2025 - 07 - 01))
        );
        // Open-ended: no deadline.
        assert_eq!(
            notice_deadline(&terms(None, false, "P1Y", "P30D"), date!(2025 - 01 - 01)),
            None
        );
    }

    #[test]
    fn an_auto_renewing_term_rolls_forward_past_today() {
        // Ends 29 February 2024, renews yearly: 28 February 2025, then 28 February 2026.
        let t = terms(Some(date!(2024 - 02 - 29)), true, "P1Y", "P30D");
        assert_eq!(
            term_end(&t, date!(2024 - 02 - 28)),
            Some(date!(2024 - 02 - 29))
        );
        assert_eq!(
            term_end(&t, date!(2024 - 02 - 29)),
            Some(date!(2025 - 02 - 28))
        );
        assert_eq!(
            term_end(&t, date!(2025 - 06 - 01)),
            Some(date!(2026 - 02 - 28))
        );
        assert_eq!(
            notice_deadline(&t, date!(2025 - 06 - 01)),
            Some(date!(2026 - 01 - 29))
        );
        // A fixed contract does not roll.
        let f = terms(Some(date!(2024 - 02 - 29)), false, "P1Y", "P30D");
        assert_eq!(
            term_end(&f, date!(2025 - 06 - 01)),
            Some(date!(2024 - 02 - 29))
        );
    }

    #[test]
    fn standing_moves_through_the_notice_window() {
        let t = terms(Some(date!(2025 - 12 - 31)), true, "P1Y", "P30D");
        // The deadline is 1 December 2025.
        assert_eq!(standing(&t, date!(2024 - 01 - 01)), Standing::NotStarted);
        assert_eq!(standing(&t, date!(2025 - 09 - 01)), Standing::Running);
        assert_eq!(standing(&t, date!(2025 - 10 - 02)), Standing::NoticeWindow);
        assert_eq!(standing(&t, date!(2025 - 12 - 01)), Standing::NoticeWindow);
        assert_eq!(standing(&t, date!(2025 - 12 - 02)), Standing::NoticePassed);
        let fixed = terms(Some(date!(2025 - 12 - 31)), false, "P1Y", "P30D");
        assert_eq!(standing(&fixed, date!(2025 - 12 - 31)), Standing::Ended);
    }

    #[test]
    fn the_next_review_is_the_cadence_or_an_earlier_expiry() {
        let y = IsoDuration::parse("P1Y").unwrap();
        let (d, why) = next_review(
            Some(date!(2024 - 02 - 29)),
            date!(2020 - 01 - 01),
            &y,
            "yearly",
            &[],
        );
        assert_eq!(
            (d, why.as_str()),
            (date!(2025 - 02 - 28), "reviewed 2024-02-29, then yearly")
        );
        let soc = [("SOC 2 type II report".to_string(), date!(2024 - 10 - 01))];
        let (d, why) = next_review(
            Some(date!(2024 - 02 - 29)),
            date!(2020 - 01 - 01),
            &y,
            "yearly",
            &soc,
        );
        assert_eq!(
            (d, why.as_str()),
            (date!(2024 - 10 - 01), "the SOC 2 type II report expires")
        );
        let (d, why) = next_review(None, date!(2024 - 05 - 01), &y, "yearly", &[]);
        assert_eq!((d, why.as_str()), (date!(2024 - 05 - 01), "never reviewed"));
    }
}
