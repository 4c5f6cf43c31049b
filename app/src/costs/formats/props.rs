//! Property tests for `parse_instant`: every date-time written in an accepted form parses to the
//! instant `time` computes for it, and no text at all makes it panic.

use super::parse_instant;
use proptest::prelude::*;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// A calendar date in the years the stored format holds.
fn date() -> impl Strategy<Value = Date> {
    (0i32..=9999, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| {
        let month = Month::try_from(m).unwrap_or(Month::January);
        let last = time::util::days_in_month(month, y);
        Date::from_calendar_date(y, month, d.min(last)).unwrap_or(Date::MIN)
    })
}

/// How the zone is written: nothing (UTC), `Z`/`z`, or an offset as `+hh:mm`, `+hhmm`, `+hh`.
#[derive(Debug, Clone)]
enum Zone {
    None,
    Z(char),
    Offset { minutes: i16, style: u8 },
}

fn zone() -> impl Strategy<Value = Zone> {
    prop_oneof![
        Just(Zone::None),
        prop::sample::select(vec!['Z', 'z']).prop_map(Zone::Z),
        (-(23 * 60 + 59)..=(23 * 60 + 59i16), 0u8..3).prop_map(|(minutes, style)| {
            // `+hh` carries no minutes.
            let minutes = if style == 2 {
                minutes / 60 * 60
            } else {
                minutes
            };
            Zone::Offset { minutes, style }
        }),
    ]
}

impl Zone {
    fn text(&self) -> String {
        match *self {
            Zone::None => String::new(),
            Zone::Z(c) => c.to_string(),
            Zone::Offset { minutes, style } => {
                let sign = if minutes < 0 { '-' } else { '+' };
                let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
                match style {
                    0 => format!("{sign}{h:02}:{m:02}"),
                    1 => format!("{sign}{h:02}{m:02}"),
                    _ => format!("{sign}{h:02}"),
                }
            }
        }
    }

    fn offset(&self) -> UtcOffset {
        match *self {
            Zone::Offset { minutes, .. } => {
                UtcOffset::from_whole_seconds(i32::from(minutes) * 60).unwrap_or(UtcOffset::UTC)
            }
            _ => UtcOffset::UTC,
        }
    }
}

/// A clock time as written: seconds may be left out, a fraction has 1–9 digits.
fn clock() -> impl Strategy<Value = (Time, String)> {
    (
        0u8..24,
        0u8..60,
        0u8..60,
        proptest::option::of("[0-9]{1,9}"),
        any::<bool>(),
    )
        .prop_map(|(h, m, s, frac, with_seconds)| {
            let with_seconds = with_seconds || frac.is_some();
            let s = if with_seconds { s } else { 0 };
            let nanos = frac.as_deref().map_or(0, |f| {
                f.parse::<u32>().unwrap_or(0) * 10u32.pow(9 - f.len() as u32)
            });
            let mut text = format!("{h:02}:{m:02}");
            if with_seconds {
                text.push_str(&format!(":{s:02}"));
            }
            if let Some(f) = &frac {
                text.push('.');
                text.push_str(f);
            }
            (
                Time::from_hms_nano(h, m, s, nanos).unwrap_or(Time::MIDNIGHT),
                text,
            )
        })
}

fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

proptest! {
    #[test]
    fn a_bare_date_is_midnight_utc(d in date()) {
        prop_assert_eq!(parse_instant(&date_text(d)), Ok(d.midnight().assume_utc()));
    }

    #[test]
    fn every_accepted_form_parses_to_its_instant(
        d in date(),
        (t, clock_text) in clock(),
        sep in prop::sample::select(vec!['T', 't', ' ']),
        z in zone(),
    ) {
        let text = format!("{}{sep}{clock_text}{}", date_text(d), z.text());
        let expected = PrimitiveDateTime::new(d, t)
            .assume_offset(z.offset())
            .checked_to_offset(UtcOffset::UTC)
            .filter(|t| (0..=9999).contains(&t.year()));
        match expected {
            Some(want) => prop_assert_eq!(parse_instant(&text), Ok(want), "{}", text),
            // Shifted out of the four-digit years by its offset: refused, not wrapped.
            None => prop_assert!(parse_instant(&text).is_err(), "{}", text),
        }
    }

    /// A valid instant with one character replaced by any character (non-ASCII included, at
    /// any position): the shape of the `é` crash.
    #[test]
    fn a_damaged_instant_never_panics(
        d in date(),
        (_, clock_text) in clock(),
        z in zone(),
        at in any::<prop::sample::Index>(),
        c in any::<char>(),
    ) {
        let text = format!("{}T{clock_text}{}", date_text(d), z.text());
        let i = at.index(text.len());
        let damaged: String = text
            .chars()
            .enumerate()
            .map(|(j, x)| if j == i { c } else { x })
            .collect();
        let _ = parse_instant(&damaged);
    }

    #[test]
    fn any_text_never_panics(
        any in any::<String>(),
        near in "[0-9T:+. Zz\\-é]{0,40}",
    ) {
        let _ = parse_instant(&any);
        let _ = parse_instant(&near);
    }
}
