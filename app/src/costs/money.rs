//! Exact money: amounts are parsed from their text into `Decimal` without ever passing through
//! a float, keep the scale the source wrote (`0.00000080000` stays 11 places), and are stored
//! as that canonical text.

use rust_decimal::Decimal;

/// Largest scale `Decimal` holds.
const MAX_SCALE: i64 = 28;

/// Parses a decimal amount: optional sign, digits with an optional fraction, and an optional
/// exponent (`1.2E-5`, which AWS Cost and Usage Reports contain) applied exactly.
/// Refuses anything else (thousands separators, currency signs, `NaN`, `inf`, hex) with a reason.
pub fn parse_amount(text: &str) -> Result<Decimal, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("the amount is empty".into());
    }
    let (negative, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let bad = || format!("'{s}' is not a decimal number");
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], parse_exponent(&body[i + 1..]).ok_or_else(bad)?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err(bad());
    }
    let mut scale = frac.len() as i64 - exponent;
    let too_big = || format!("'{s}' has more digits than an exact amount can hold (28)");
    let mut m: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        m = m
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or_else(too_big)?;
    }
    if scale < 0 {
        // A positive exponent beyond the fraction: scale up the integer part exactly.
        let factor = 10i128.checked_pow((-scale) as u32).ok_or_else(too_big)?;
        m = m.checked_mul(factor).ok_or_else(too_big)?;
        scale = 0;
    }
    if scale > MAX_SCALE {
        return Err(format!(
            "'{s}' has more than {MAX_SCALE} decimal places, which cannot be stored exactly"
        ));
    }
    if negative && m != 0 {
        m = -m;
    }
    Decimal::try_from_i128_with_scale(m, scale as u32).map_err(|_| too_big())
}

fn parse_exponent(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    // Four digits are far beyond any real amount and keep the arithmetic small.
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Adds exactly; an overflow (beyond 28 significant digits) is an error, never a rounding.
pub fn add(a: Decimal, b: Decimal) -> Result<Decimal, String> {
    a.checked_add(b)
        .ok_or_else(|| format!("the sum of {a} and {b} exceeds the exact decimal range"))
}

/// Money for people: rounded half away from zero to cents, thousands separated.
pub fn cents(d: Decimal) -> String {
    let r = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let neg = r.is_sign_negative() && !r.is_zero();
    let s = format!("{:.2}", r.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    format!(
        "{}{}.{frac}",
        if neg { "-" } else { "" },
        group_thousands(int)
    )
}

/// Digits with a comma every three from the right (`1234567` → `1,234,567`).
pub fn group_thousands(int: &str) -> String {
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, Strategy};

    fn p(s: &str) -> String {
        parse_amount(s).unwrap().to_string()
    }

    #[test]
    fn keeps_the_source_scale() {
        assert_eq!(p("0.00000080000"), "0.00000080000");
        assert_eq!(p("12.50"), "12.50");
        assert_eq!(p("7"), "7");
        assert_eq!(p("+3.0"), "3.0");
        assert_eq!(p("-0.10"), "-0.10");
        assert_eq!(p(" 1.5 "), "1.5");
        assert_eq!(p(".5"), "0.5");
        assert_eq!(p("5."), "5");
        assert_eq!(p("-0.00"), "0.00", "no negative zero");
        assert_eq!(
            p("0.0000000000000000000000000001"),
            "0.0000000000000000000000000001"
        );
    }

    #[test]
    fn exponent_forms_are_exact() {
        assert_eq!(p("1.2E-5"), "0.000012");
        assert_eq!(p("1.2e-5"), "0.000012");
        assert_eq!(p("-3.5E+02"), "-350");
        assert_eq!(p("1e3"), "1000");
        assert_eq!(p("2.50E1"), "25.0");
        assert_eq!(p("4.2E-10"), "0.00000000042");
        // The value a float would get wrong: 0.1 + 0.2 stays exact.
        let s = add(parse_amount("1E-1").unwrap(), parse_amount("0.2").unwrap()).unwrap();
        assert_eq!(s.to_string(), "0.3");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for bad in [
            "", " ", "abc", "1,000.00", "$5", "NaN", "inf", "-", ".", "1.2.3", "0x10", "1e", "1e+",
            "1E5.5", "1e99999", "--1", "1 000", "NULL", "１",
        ] {
            let e = parse_amount(bad).expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(parse_amount("1E-40")
            .unwrap_err()
            .contains("decimal places"));
        assert!(parse_amount("99999999999999999999999999999999")
            .unwrap_err()
            .contains("digits"));
        assert!(parse_amount("1e50").is_err());
    }

    /// The plain decimal text of `digits` with the point moved `point` places from the left
    /// (negative: zeros before, beyond the length: zeros after), written without an exponent.
    fn plain(digits: &str, point: i64) -> String {
        let n = digits.len() as i64;
        if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point >= n {
            format!("{digits}{}", "0".repeat((point - n) as usize))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        }
    }

    /// Up to 28 significant digits split into integer and fraction, and an exponent that keeps
    /// the value exact (scale at most 28, the integer within 28 digits).
    fn exact_amount() -> impl Strategy<Value = (String, usize, i64)> {
        ("[0-9]{1,28}", 0usize..=28).prop_flat_map(|(digits, split)| {
            let split = split.min(digits.len());
            let frac = (digits.len() - split) as i64;
            let (low, high) = (frac - 28, frac + 28 - digits.len() as i64);
            (Just(digits), Just(split), low..=high)
        })
    }

    proptest::proptest! {
        /// Any decimal text within range parses to exactly the value of its plain form (read
        /// by rust_decimal's own exact parser), with the scale the text implies, and round-trips.
        #[test]
        fn exact_decimal_text_parses_exactly(
            (digits, split, exp) in exact_amount(),
            sign in proptest::sample::select(vec!["", "+", "-"]),
            e in proptest::sample::select(vec!["e", "E"]),
            plus in proptest::bool::ANY,
        ) {
            let (int, frac) = digits.split_at(split);
            let mantissa = format!("{sign}{int}.{frac}");
            // The point moved by the exponent, written out: the value the exponent forms mean.
            let expected = Decimal::from_str_exact(&format!(
                "{sign}{}",
                plain(&digits, split as i64 + exp)
            ))
            .unwrap();
            let exp_text = match (exp >= 0, plus) {
                (true, true) => format!("+{exp}"),
                _ => exp.to_string(),
            };
            let forms = [
                mantissa.clone(),
                format!("{mantissa}{e}{exp_text}"),
                format!(" {sign}{int}.{frac}{e}{exp_text}\t"),
            ];
            for (i, text) in forms.iter().enumerate() {
                // Only the exponent forms move the point.
                let want = if i == 0 {
                    Decimal::from_str_exact(&format!("{sign}{}", plain(&digits, split as i64)))
                        .unwrap()
                } else {
                    expected
                };
                let got = parse_amount(text);
                proptest::prop_assert!(got.is_ok(), "{}: {:?}", text, got);
                let got = got.unwrap();
                proptest::prop_assert_eq!(got, want, "{}", text);
                proptest::prop_assert_eq!(got.scale(), want.scale(), "{}", text);
                let shown = got.to_string();
                proptest::prop_assert!(!(got.is_zero() && shown.starts_with('-')), "{}", shown);
                let again = parse_amount(&shown).map(|d| d.to_string());
                proptest::prop_assert_eq!(again, Ok(shown));
            }
        }

        /// Anything at all, and text made of the characters amounts use: never a panic, and
        /// whatever is accepted round-trips.
        #[test]
        fn any_text_is_ok_or_err(
            any in proptest::prelude::any::<String>(),
            near in "[0-9eE+. \\-é]{0,40}",
        ) {
            for text in [&any, &near] {
                if let Ok(d) = parse_amount(text) {
                    proptest::prop_assert_eq!(parse_amount(&d.to_string()), Ok(d));
                }
            }
        }
    }

    #[test]
    fn sums_keep_the_largest_scale() {
        let a = parse_amount("0.00000080000").unwrap();
        let b = parse_amount("20.5").unwrap();
        assert_eq!(add(a, b).unwrap().to_string(), "20.50000080000");
    }

    #[test]
    fn cents_round_half_away_from_zero_and_group_thousands() {
        let c = |s: &str| cents(<Decimal as std::str::FromStr>::from_str(s).unwrap());
        assert_eq!(c("20.52471385921"), "20.52");
        assert_eq!(c("0.005"), "0.01");
        assert_eq!(c("-0.005"), "-0.01");
        assert_eq!(c("1234567.895"), "1,234,567.90");
        assert_eq!(c("-0.001"), "0.00");
        assert_eq!(c("999.999"), "1,000.00");
    }
}
