//! What an export covers: a framework and a half-open period `[start, end)`, and which
//! evidence versions speak for that period. Pure rules, no I/O.

use crate::calendar::Period;
use time::Date;

/// The longest period one export may cover: an audit period is a year, a type II report at
/// most a few; ten years bounds the work a request can ask for.
pub const MAX_DAYS: i64 = 3660;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub framework: String,
    pub period: Period,
    /// An audit's export: its period, its requests and their answers too.
    pub audit: Option<i64>,
}

impl Scope {
    /// From the form or command-line words: `to` is the first day after the period.
    pub fn parse(framework: &str, from: &str, to: &str) -> Result<Scope, String> {
        let framework = framework.trim();
        if framework.is_empty() || framework.len() > 200 {
            return Err("framework: give the key of an imported framework".into());
        }
        let date = |field: &str, raw: &str| {
            crate::util::parse_date(raw)
                .ok_or_else(|| format!("{field}: '{}' is not a date (YYYY-MM-DD)", raw.trim()))
        };
        let start = date("from", from)?;
        let end = date("to", to)?;
        let period = Period::new(start, end).ok_or_else(|| {
            format!("to: the period ends ({end}) before or when it starts ({start}); `to` is the first day after it")
        })?;
        if period.days() > MAX_DAYS {
            return Err(format!(
                "to: the period covers {} days; one export covers at most {MAX_DAYS}",
                period.days()
            ));
        }
        Ok(Scope {
            framework: framework.to_string(),
            period,
            audit: None,
        })
    }

    /// A name for the file: `steward-evidence-<key>-<start>-<end>.zip`, key reduced to safe
    /// characters.
    pub fn file_name(&self) -> String {
        let key: String = self
            .framework
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        let audit = self.audit.map(|a| format!("audit{a}-")).unwrap_or_default();
        format!(
            "steward-evidence-{key}-{audit}{}-{}.zip",
            self.period.start, self.period.end
        )
    }
}

/// The dates of one evidence version that decide whether it speaks for a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated {
    pub version: i64,
    pub effective: Date,
    /// The period the version says it covers, when it says one.
    pub covers: Option<Period>,
}

/// The versions of one evidence item that an auditor of `period` must see: those effective in
/// it, those whose covered period overlaps it, and the one in force when it opened (the
/// newest effective before `start`, unless a version takes effect on `start` itself). Returns
/// version numbers in ascending order.
pub fn versions_in(period: &Period, versions: &[Dated]) -> Vec<i64> {
    let opens_with_new = versions.iter().any(|v| v.effective == period.start);
    let in_force_at_start = versions
        .iter()
        .filter(|v| v.effective < period.start)
        .max_by_key(|v| (v.effective, v.version))
        .map(|v| v.version)
        .filter(|_| !opens_with_new);
    let mut out: Vec<i64> = versions
        .iter()
        .filter(|v| {
            period.contains(v.effective)
                || v.covers.is_some_and(|c| c.overlaps(period))
                || Some(v.version) == in_force_at_start
        })
        .map(|v| v.version)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The path of an evidence file version inside the archive.
pub fn evidence_path(evidence_id: i64, version: i64, filename: &str) -> String {
    format!("evidence/{evidence_id}/v{version}/{}", entry_name(filename))
}

/// A name that is safe as the last part of a path inside the archive: no separators, no
/// control characters, no `.`/`..`, at most 120 characters.
pub fn entry_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() || c == ':' {
                '_'
            } else {
                c
            }
        })
        .take(120)
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') {
        "evidence".into()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn v(version: i64, effective: Date) -> Dated {
        Dated {
            version,
            effective,
            covers: None,
        }
    }

    fn year_2026() -> Period {
        Period::new(date!(2026 - 01 - 01), date!(2027 - 01 - 01)).unwrap()
    }

    #[test]
    fn the_version_in_force_at_the_start_comes_with_those_effective_inside() {
        let got = versions_in(
            &year_2026(),
            &[
                v(1, date!(2025 - 03 - 01)),
                v(2, date!(2025 - 11 - 01)),
                v(3, date!(2026 - 06 - 01)),
                v(4, date!(2027 - 01 - 01)),
            ],
        );
        assert_eq!(got, vec![2, 3]);
    }

    #[test]
    fn a_version_effective_on_the_first_day_replaces_the_older_one() {
        let got = versions_in(
            &year_2026(),
            &[v(1, date!(2025 - 03 - 01)), v(2, date!(2026 - 01 - 01))],
        );
        assert_eq!(got, vec![2]);
    }

    #[test]
    fn a_later_report_covering_the_period_is_included() {
        let mut report = v(2, date!(2027 - 02 - 15));
        report.covers = Period::new(date!(2026 - 07 - 01), date!(2027 - 01 - 01));
        let after = v(3, date!(2027 - 03 - 01));
        assert_eq!(versions_in(&year_2026(), &[report, after]), vec![2]);
    }

    #[test]
    fn nothing_before_or_after_is_nothing() {
        assert!(versions_in(&year_2026(), &[v(1, date!(2027 - 05 - 01))]).is_empty());
        assert!(versions_in(&year_2026(), &[]).is_empty());
    }

    #[test]
    fn scope_words_are_checked() {
        assert!(Scope::parse("nist", "2026-01-01", "2027-01-01").is_ok());
        let e = Scope::parse("nist", "2026-01-01", "2026-01-01").unwrap_err();
        assert!(e.starts_with("to:"), "{e}");
        let e = Scope::parse("nist", "2026-13-01", "2027-01-01").unwrap_err();
        assert!(e.starts_with("from:"), "{e}");
        let e = Scope::parse(" ", "2026-01-01", "2027-01-01").unwrap_err();
        assert!(e.starts_with("framework:"), "{e}");
        let e = Scope::parse("x", "2000-01-01", "2027-01-01").unwrap_err();
        assert!(e.contains("at most"), "{e}");
        let s = Scope::parse("iso/27001 v2", "2026-01-01", "2027-01-01").unwrap();
        assert_eq!(
            s.file_name(),
            "steward-evidence-iso_27001_v2-2026-01-01-2027-01-01.zip"
        );
    }

    #[test]
    fn entry_names_never_leave_their_folder() {
        assert_eq!(entry_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(entry_name(".."), "evidence");
        assert_eq!(entry_name(""), "evidence");
        assert_eq!(entry_name("a\\b\u{0}c"), "a_b_c");
        assert_eq!(entry_name("Richtlinie ä.pdf"), "Richtlinie ä.pdf");
    }
}
