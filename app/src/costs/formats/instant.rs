//! Instants as cost files write them, parsed strictly (client input: errors, never panics).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses an instant as cost files write it: `2024-09-18T22:00:00Z`, `2024-09-18 22:00:00`
/// (UTC assumed without an offset), fractional seconds, `+hh:mm` offsets, or a bare date
/// (midnight UTC). Any other text is an error, never a panic: the file comes from a client.
pub fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    let bad =
        |why: &str| format!("'{s}' is not a timestamp ({why}); expected e.g. 2024-09-01T00:00:00Z");
    // Every accepted form is ASCII; refusing anything else first makes every byte index below
    // a character boundary (a non-ASCII character used to be sliced through and panic).
    if let Some(c) = s.chars().find(|c| !c.is_ascii()) {
        return Err(bad(&format!("unexpected character '{c}'")));
    }
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad("no YYYY-MM-DD date"));
    }
    let num = |part: &str| -> Option<u32> {
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    // Clock fields go through `u8::try_from`: `as u8` wrapped hour 256 to midnight.
    let small = |part: &str| num(part).and_then(|v| u8::try_from(v).ok());
    let year = num(&s[0..4]).ok_or_else(|| bad("bad year"))?;
    let month = small(&s[5..7])
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| bad("bad month"))?;
    let dom = small(&s[8..10]).ok_or_else(|| bad("bad day"))?;
    let date =
        Date::from_calendar_date(year as i32, month, dom).map_err(|_| bad("no such date"))?;
    if b.len() == 10 {
        return Ok(date.midnight().assume_utc());
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad("expected T or a space after the date"));
    }
    let rest = &s[11..];
    // Split off the zone: Z, or +hh[:mm] / -hh[:mm] after the clock time.
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, UtcOffset::UTC)
    } else if let Some(pos) = rest.rfind(['+', '-']) {
        let z = &rest[pos + 1..];
        let (h, m) = match z.len() {
            2 => (small(z), Some(0)),
            4 => (small(&z[..2]), small(&z[2..])),
            5 if z.as_bytes()[2] == b':' => (small(&z[..2]), small(&z[3..])),
            _ => (None, None),
        };
        let (h, m) = h.zip(m).ok_or_else(|| bad("bad UTC offset"))?;
        // Two digits each, so both fit an i8.
        let (h, m) = (h as i8, m as i8);
        let sign = if rest.as_bytes()[pos] == b'-' { -1 } else { 1 };
        let off = UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad("bad UTC offset"))?;
        (&rest[..pos], off)
    } else {
        (rest, UtcOffset::UTC)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let h = parts
        .next()
        .and_then(small)
        .ok_or_else(|| bad("bad hour"))?;
    let m = parts
        .next()
        .and_then(small)
        .ok_or_else(|| bad("bad minute"))?;
    let sec = match parts.next() {
        Some(p) => small(p).ok_or_else(|| bad("bad second"))?,
        None => 0,
    };
    if parts.next().is_some() {
        return Err(bad("bad time"));
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        if frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("bad fraction of a second"));
        }
        num(frac).unwrap_or(0) * 10u32.pow(9 - frac.len() as u32)
    };
    let time = Time::from_hms_nano(h, m, sec, nanos).map_err(|_| bad("no such time"))?;
    // `to_offset` panics past the year 9999; and the stored text is four-digit years only.
    PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
        .filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(|| bad("outside the years 0000-9999 in UTC"))
}
