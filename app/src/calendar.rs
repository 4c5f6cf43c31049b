//! Calendar arithmetic, written once for every area: half-open periods `[start, end)` of UTC
//! dates, months, quarters, half-years and years (adding months clamps the day of the month:
//! 31 January + 1 month is the last day of February), the occurrences of a cadence, deadlines
//! (`end − notice`) and ISO-8601 durations (`P1Y`, `P3M`, `P2W`, `P30D`, `P1Y6M`).

use std::fmt;
use time::{Date, Duration, Month};

/// A half-open range of days: `start` is in it, `end` is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

impl Period {
    /// `None` unless `start < end`.
    pub fn new(start: Date, end: Date) -> Option<Period> {
        (start < end).then_some(Period { start, end })
    }

    pub fn contains(&self, d: Date) -> bool {
        self.start <= d && d < self.end
    }

    /// How many days it holds.
    pub fn days(&self) -> i64 {
        (self.end - self.start).whole_days()
    }

    /// Whether the two share at least one day.
    pub fn overlaps(&self, other: &Period) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Every day in it, in order.
    pub fn iter_days(&self) -> impl Iterator<Item = Date> {
        let end = self.end;
        std::iter::successors(Some(self.start), |d| d.next_day()).take_while(move |d| *d < end)
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Period {
        Period {
            start: self.start - Duration::days(self.days()),
            end: self.start,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// Months since year 0 (January of year 0 is 0): month arithmetic is integer arithmetic.
pub fn month_index(d: Date) -> i32 {
    d.year() * 12 + (d.month() as i32 - 1)
}

/// The first day of the month with this index.
pub fn month_from_index(index: i32) -> Date {
    let year = index.div_euclid(12);
    let month = Month::try_from((index.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN)
}

pub fn first_of_month(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

/// `d` moved by `n` months (negative: back), its day clamped to the target month's length.
pub fn add_months(d: Date, n: i32) -> Date {
    let first = month_from_index(month_index(d) + n);
    let last_day = first.month().length(first.year());
    first.replace_day(d.day().min(last_day)).unwrap_or(first)
}

/// `d` moved by `n` years, 29 February becoming 28 February in a common year.
pub fn add_years(d: Date, n: i32) -> Date {
    add_months(d, n.saturating_mul(12))
}

/// The calendar period of `months` months (1 month, 3 a quarter, 6 a half-year, 12 a year)
/// that contains `d`; periods are aligned on January (quarters start in January, April, …).
pub fn period_containing(d: Date, months: i32) -> Period {
    let len = months.max(1);
    let k = month_index(d).div_euclid(len);
    Period {
        start: month_from_index(k * len),
        end: month_from_index((k + 1) * len),
    }
}

pub fn month_of(d: Date) -> Period {
    period_containing(d, 1)
}

pub fn quarter_of(d: Date) -> Period {
    period_containing(d, 3)
}

pub fn year_of(d: Date) -> Period {
    period_containing(d, 12)
}

/// The months a period touches, as their first days, in order.
pub fn months_in(p: &Period) -> impl Iterator<Item = Date> {
    let (from, to) = (month_index(p.start), month_index(p.end - Duration::days(1)));
    (from..=to).map(month_from_index)
}

/// Midnight UTC of a day in the stored instant form (`YYYY-MM-DDT00:00:00.000000Z`).
pub fn midnight(d: Date) -> String {
    crate::util::ts(d.midnight().assume_utc())
}

/// An ISO-8601 duration of whole days, weeks, months and years (`P1Y6M`, `P2W`, `P30D`): the
/// form notice periods, retention periods and review cadences are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IsoDuration {
    pub years: i32,
    pub months: i32,
    pub weeks: i32,
    pub days: i32,
}

impl IsoDuration {
    pub fn parse(raw: &str) -> Result<IsoDuration, String> {
        let s = raw.trim();
        let bad =
            |why: &str| format!("'{raw}' is not an ISO-8601 duration ({why}); e.g. P1Y, P3M, P30D");
        let body = s
            .strip_prefix(['P', 'p'])
            .ok_or_else(|| bad("it must start with P"))?;
        if body.is_empty() {
            return Err(bad("nothing after P"));
        }
        if body.contains(['T', 't']) {
            return Err(bad("times of day are not supported, only days and longer"));
        }
        let mut out = IsoDuration::default();
        let mut number = String::new();
        let mut last_rank = 0;
        for c in body.chars() {
            if c.is_ascii_digit() {
                if number.len() >= 6 {
                    return Err(bad("a number is too large"));
                }
                number.push(c);
                continue;
            }
            let n: i32 = number.parse().map_err(|_| bad("a unit without a number"))?;
            number.clear();
            let (slot, rank) = match c.to_ascii_uppercase() {
                'Y' => (&mut out.years, 1),
                'M' => (&mut out.months, 2),
                'W' => (&mut out.weeks, 3),
                'D' => (&mut out.days, 4),
                other => return Err(bad(&format!("unknown unit '{other}'"))),
            };
            if rank <= last_rank {
                return Err(bad("units must come once each, in the order Y M W D"));
            }
            last_rank = rank;
            *slot = n;
        }
        if !number.is_empty() {
            return Err(bad("a number without a unit"));
        }
        Ok(out)
    }

    pub fn is_zero(&self) -> bool {
        *self == IsoDuration::default()
    }

    /// `d` moved forward by this duration: years and months first (clamped), then days.
    pub fn after(&self, d: Date) -> Date {
        let months = self.years.saturating_mul(12).saturating_add(self.months);
        let days = i64::from(self.weeks) * 7 + i64::from(self.days);
        add_months(d, months)
            .checked_add(Duration::days(days))
            .unwrap_or(Date::MAX)
    }

    /// `d` moved back by this duration.
    pub fn before(&self, d: Date) -> Date {
        let months = self.years.saturating_mul(12).saturating_add(self.months);
        let days = i64::from(self.weeks) * 7 + i64::from(self.days);
        add_months(d, -months)
            .checked_sub(Duration::days(days))
            .unwrap_or(Date::MIN)
    }
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("P0D");
        }
        f.write_str("P")?;
        for (n, unit) in [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ] {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// The last day on which notice can still be given for something that ends on `end`
/// (exclusive, as every period here): the end moved back by the notice.
pub fn deadline(end: Date, notice: &IsoDuration) -> Date {
    notice.before(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_clamp_the_day() {
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2023 - 01 - 31), 1), date!(2023 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 03 - 31), -1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2024 - 12 - 15), 1), date!(2025 - 01 - 15));
        assert_eq!(add_months(date!(2025 - 01 - 15), -1), date!(2024 - 12 - 15));
        assert_eq!(add_months(date!(2024 - 05 - 31), 13), date!(2025 - 06 - 30));
        assert_eq!(add_years(date!(2024 - 02 - 29), 1), date!(2025 - 02 - 28));
        assert_eq!(add_years(date!(2024 - 02 - 29), 4), date!(2028 - 02 - 29));
    }

    #[test]
    fn calendar_periods_are_half_open_and_aligned() {
        let q = quarter_of(date!(2024 - 05 - 17));
        assert_eq!(
            (q.start, q.end),
            (date!(2024 - 04 - 01), date!(2024 - 07 - 01))
        );
        assert!(q.contains(date!(2024 - 06 - 30)) && !q.contains(date!(2024 - 07 - 01)));
        assert_eq!(q.days(), 91);
        let y = year_of(date!(2024 - 12 - 31));
        assert_eq!(
            (y.start, y.end),
            (date!(2024 - 01 - 01), date!(2025 - 01 - 01))
        );
        assert_eq!(y.days(), 366);
        let m = month_of(date!(2023 - 02 - 10));
        assert_eq!(m.days(), 28);
        assert_eq!(
            period_containing(date!(2024 - 08 - 01), 6),
            Period::new(date!(2024 - 07 - 01), date!(2025 - 01 - 01)).unwrap()
        );
        assert_eq!(
            month_from_index(month_index(date!(1999 - 12 - 05))),
            date!(1999 - 12 - 01)
        );
        assert!(Period::new(date!(2024 - 01 - 02), date!(2024 - 01 - 02)).is_none());
        assert_eq!(m.iter_days().count(), 28);
        assert_eq!(
            m.previous(),
            Period::new(date!(2023 - 01 - 04), date!(2023 - 02 - 01)).unwrap()
        );
        let span = Period::new(date!(2024 - 11 - 20), date!(2025 - 02 - 01)).unwrap();
        assert_eq!(
            months_in(&span).collect::<Vec<_>>(),
            vec![
                date!(2024 - 11 - 01),
                date!(2024 - 12 - 01),
                date!(2025 - 01 - 01)
            ]
        );
        assert!(span.overlaps(&y) && !span.overlaps(&q));
    }

    #[test]
    fn iso_durations_parse_print_and_move_dates() {
        for (raw, shown) in [
            ("P1Y", "P1Y"),
            ("p3m", "P3M"),
            ("P2W", "P2W"),
            ("P1Y6M10D", "P1Y6M10D"),
            ("P0D", "P0D"),
        ] {
            assert_eq!(IsoDuration::parse(raw).unwrap().to_string(), shown, "{raw}");
        }
        for bad in [
            "",
            "P",
            "1Y",
            "PT1H",
            "P1H",
            "PM",
            "P3",
            "P1M1Y",
            "P1Y1Y",
            "P9999999D",
            "P-1D",
        ] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad}");
        }
        let notice = IsoDuration::parse("P3M").unwrap();
        // A contract ending 31 May (exclusive end 2025-06-01) with three months' notice.
        assert_eq!(
            deadline(date!(2025 - 06 - 01), &notice),
            date!(2025 - 03 - 01)
        );
        assert_eq!(
            deadline(date!(2025 - 05 - 31), &notice),
            date!(2025 - 02 - 28)
        );
        let keep = IsoDuration::parse("P7Y").unwrap();
        assert_eq!(keep.after(date!(2024 - 02 - 29)), date!(2031 - 02 - 28));
        assert_eq!(
            IsoDuration::parse("P2W3D")
                .unwrap()
                .after(date!(2024 - 12 - 25)),
            date!(2025 - 01 - 11)
        );
        assert_eq!(
            IsoDuration::parse("P1M")
                .unwrap()
                .before(date!(2024 - 03 - 31)),
            date!(2024 - 02 - 29)
        );
    }
}
