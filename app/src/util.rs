//! Small shared helpers: UTC timestamps as stored, random tokens, the test-controllable clock.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Storage format for instants: fixed-width UTC with microseconds, so text order is time order
/// on both databases (the sqlx `Any` driver cannot decode native timestamp types; see README).
pub const TS_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

pub fn ts(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (year, month, day) = t.to_calendar_date();
    if !(0..=9999).contains(&year) {
        return t.format(TS_FORMAT).unwrap_or_else(|_| t.to_string());
    }
    // By hand: the cost importer formats four instants per row, and the format-description
    // path was a visible share of its profile.
    let (h, m, s, micro) = t.to_hms_micro();
    let mut out = String::with_capacity(27);
    push_digits(&mut out, year as u32, 4);
    out.push('-');
    push_digits(&mut out, u8::from(month) as u32, 2);
    out.push('-');
    push_digits(&mut out, day as u32, 2);
    out.push('T');
    push_digits(&mut out, h as u32, 2);
    out.push(':');
    push_digits(&mut out, m as u32, 2);
    out.push(':');
    push_digits(&mut out, s as u32, 2);
    out.push('.');
    push_digits(&mut out, micro, 6);
    out.push('Z');
    out
}

/// Appends `n` as exactly `width` decimal digits (zero-padded; `n` must fit).
fn push_digits(out: &mut String, n: u32, width: u32) {
    for i in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
    }
}

pub fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, TS_FORMAT)
        .map(|p| p.assume_utc())
        .ok()
        .or_else(|| OffsetDateTime::parse(s, &Rfc3339).ok())
}

/// What `urlencode` escapes: everything but unreserved characters and `/` (readable paths).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes a query value (UTF-8); keeps unreserved characters and `/`.
pub fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// A timestamp for people: `2026-11-27 14:03 UTC`.
pub fn display_ts(stored: &str) -> String {
    match parse_ts(stored) {
        Some(t) => {
            let f = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
            t.format(f).unwrap_or_else(|_| stored.to_string())
        }
        None => stored.to_string(),
    }
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use rand::RngCore;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    use time::OffsetDateTime;

    pub fn random_bytes<const N: usize>() -> [u8; N] {
        let mut b = [0u8; N];
        rand::rngs::OsRng.fill_bytes(&mut b);
        b
    }

    pub fn random_hex(n: usize) -> String {
        let mut b = vec![0u8; n];
        rand::rngs::OsRng.fill_bytes(&mut b);
        hex::encode(b)
    }

    /// Removes the files in `dir` last modified longer than `age` ago (what a crash left in a
    /// staging or spool folder); a missing folder is fine.
    pub fn remove_stale_files(dir: &std::path::Path, age: std::time::Duration) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let now = std::time::SystemTime::now();
        for e in entries.flatten() {
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|a| a > age);
            if stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// `scheme://host[:port]` of an http(s) URL as browsers serialise an origin (lower-case
    /// host, IDN in ASCII, default port dropped); `None` for anything else or with credentials.
    pub fn normalized_origin(raw: &str) -> Option<String> {
        let u = url::Url::parse(raw.trim()).ok()?;
        let ok = matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.username().is_empty()
            && u.password().is_none();
        ok.then(|| u.origin().ascii_serialization())
    }

    pub fn sha256_hex(data: &[u8]) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(data))
    }

    /// The application's clock. Production uses system time; tests move it forward to see
    /// timeouts and due dates happen without sleeping.
    #[derive(Clone, Default)]
    pub struct Clock {
        offset_secs: Arc<AtomicI64>,
    }

    impl Clock {
        pub fn now(&self) -> OffsetDateTime {
            OffsetDateTime::now_utc()
                + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
        }

        pub fn advance(&self, by: time::Duration) {
            self.offset_secs
                .fetch_add(by.whole_seconds(), Ordering::Relaxed);
        }
    }
}

/// Calendar dates are stored and exchanged as `YYYY-MM-DD`.
pub const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

pub fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s.trim(), DATE_FORMAT).ok()
}

pub fn fmt_date(d: time::Date) -> String {
    d.format(DATE_FORMAT).unwrap_or_else(|_| d.to_string())
}

/// A cell for CSV files people open in spreadsheets: text that a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`, tab, carriage return first) is prefixed with `'`.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// A cell as `csv_cell` wrote it (`'=x` for `=x`), as it was.
pub fn csv_uncell(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => s,
    }
}

/// A byte count for people: `100 MiB`, `1.5 MiB`, `12.0 KiB`.
pub fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded_as_utf8() {
        assert_eq!(urlencode("a b/é&c=d~_.-"), "a%20b/%C3%A9%26c%3Dd~_.-");
        assert_eq!(urlencode(""), "");
    }

    #[test]
    fn ts_by_hand_matches_the_storage_format() {
        for unix in [
            0i64,
            951_782_400,
            1_727_740_800,
            4_102_444_799,
            253_402_300_799,
        ] {
            for nanos in [0u32, 1_000, 999_999_000, 123_456_789] {
                let t = OffsetDateTime::from_unix_timestamp(unix).unwrap()
                    + time::Duration::nanoseconds(nanos as i64);
                assert_eq!(ts(t), t.format(TS_FORMAT).unwrap(), "{t}");
                assert_eq!(parse_ts(&ts(t)).map(|p| p.unix_timestamp()), Some(unix));
            }
        }
        // Another offset is stored as UTC.
        let t = OffsetDateTime::from_unix_timestamp(0)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(5, 30, 0).unwrap());
        assert_eq!(ts(t), "1970-01-01T00:00:00.000000Z");
    }
}
