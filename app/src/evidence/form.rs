//! The evidence upload form: its fields, their checks, and what the upload will do (`Plan`).

use super::filecheck::{self, FileProblem};
use crate::context::CurrentUser;
use crate::error::AppError;
use crate::ingest::{BodyError, FormError};
use std::time::Duration;

/// All text fields together (titles, notes, test details); also the allowance for multipart
/// framing when checking Content-Length against the file limit.
pub(super) const FIELDS_BUDGET: usize = 256 * 1024;
pub(super) const MAX_FIELDS: usize = 64;
/// The preamble and each part's header block: far more than any browser sends.
pub(super) const HEADER_BUDGET: u64 = 16 * 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("The upload stalled: nothing arrived for {} seconds.", .0.as_secs())]
    Stalled(Duration),
    #[error("{0}")]
    App(AppError),
}

impl From<UploadError> for AppError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge(m) => AppError::TooLarge(m),
            UploadError::Invalid(m) => AppError::Invalid(m),
            UploadError::Unsupported(m) => AppError::Unsupported(m),
            UploadError::Forbidden(m) => AppError::Denied(m),
            UploadError::NotFound(m) => AppError::Missing(m),
            UploadError::Stalled(_) => AppError::Stalled(e.to_string()),
            UploadError::App(e) => e,
        }
    }
}

impl UploadError {
    pub(super) fn file(name: &str, p: FileProblem) -> Self {
        match p {
            FileProblem::TooLarge(_) => UploadError::TooLarge(format!("{name}: {p}.")),
            FileProblem::Type(_) => UploadError::Unsupported(format!("{name} was refused: {p}.")),
        }
    }
}

impl From<AppError> for UploadError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(m) => UploadError::Invalid(m),
            other => UploadError::App(other),
        }
    }
}

impl From<sqlx::Error> for UploadError {
    fn from(e: sqlx::Error) -> Self {
        UploadError::App(e.into())
    }
}

impl From<FormError> for UploadError {
    fn from(e: FormError) -> Self {
        match e {
            FormError::Body(BodyError::TooLarge(n)) => UploadError::TooLarge(format!(
                "The upload is larger than the limit of {}.",
                filecheck::human_size(n)
            )),
            FormError::FieldTooLarge { field, limit } if field == "file" => {
                UploadError::TooLarge(format!(
                    "The file is larger than the limit of {}.",
                    filecheck::human_size(limit)
                ))
            }
            FormError::Body(BodyError::Stalled(d)) => UploadError::Stalled(d),
            FormError::NotMultipart => {
                UploadError::Unsupported("Send the evidence as a multipart/form-data form.".into())
            }
            other => UploadError::Invalid(other.to_string()),
        }
    }
}

/// Text fields of the form, as sent.
#[derive(Default, Debug)]
pub(super) struct Fields {
    pub(super) evidence_id: Option<String>,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) controls: Vec<String>,
    pub(super) effective_date: Option<String>,
    pub(super) period_start: Option<String>,
    pub(super) period_end: Option<String>,
    pub(super) note: Option<String>,
    pub(super) url: Option<String>,
    pub(super) test_procedure: Option<String>,
    pub(super) test_sample: Option<String>,
    pub(super) test_result: Option<String>,
    pub(super) tester: Option<String>,
    pub(super) tested_on: Option<String>,
    pub(super) return_to: Option<String>,
}

pub(super) fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// What the upload will create, once every field has been checked.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) target: Target,
    pub(super) effective_date: String,
    pub(super) period: Option<(String, String)>,
    pub(super) note: String,
    pub(super) url: Option<String>,
    pub(super) test: Option<super::TestRecord>,
    pub(super) return_to: Option<String>,
}

#[derive(Debug)]
pub(super) enum Target {
    New {
        title: String,
        description: String,
        control_ids: Vec<i64>,
    },
    Existing {
        id: i64,
    },
}

pub(super) fn parse_date(raw: &str, field: &str) -> Result<time::Date, UploadError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, fmt)
        .map_err(|_| UploadError::Invalid(format!("{field}: '{raw}' is not a date (YYYY-MM-DD).")))
}

pub(super) fn clean_text(
    v: &Option<String>,
    field: &str,
    max: usize,
    multiline: bool,
) -> Result<String, UploadError> {
    let s = v.as_deref().unwrap_or_default().trim().to_string();
    if s.chars().count() > max {
        return Err(UploadError::Invalid(format!(
            "{field}: at most {max} characters."
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(UploadError::Invalid(format!(
            "{field}: must not contain control characters."
        )));
    }
    Ok(s)
}

/// Only `http` and `https` links, with a host, no spaces or control characters.
pub fn check_url(raw: &str) -> Result<String, String> {
    let u = raw.trim();
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| format!("Link: '{u}' must start with http:// or https://."))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with('@') || host.starts_with(':') {
        return Err(format!("Link: '{u}' has no host name."));
    }
    if u.len() > 2048 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("Link: must be at most 2048 characters, without spaces.".into());
    }
    Ok(u.to_string())
}

/// A path on this site to go to after the upload: one leading `/`, not `//` or `/\`.
pub(super) fn check_return_to(raw: &str) -> Result<String, UploadError> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace())
        && raw.len() <= 512;
    if ok {
        Ok(raw.to_string())
    } else {
        Err(UploadError::Invalid(format!(
            "return_to: '{raw}' is not a path on this site (it must start with a single /)."
        )))
    }
}

pub(super) fn validate(
    f: &Fields,
    has_file: bool,
    today: time::Date,
    user: &CurrentUser,
) -> Result<Plan, UploadError> {
    let return_to = nonempty(&f.return_to).map(check_return_to).transpose()?;
    let target = match nonempty(&f.evidence_id) {
        Some(raw) => Target::Existing {
            id: raw.parse().map_err(|_| {
                UploadError::Invalid(format!("evidence_id: '{raw}' is not a number."))
            })?,
        },
        None => {
            let title = clean_text(&f.title, "Title", 200, false)?;
            if title.is_empty() {
                return Err(UploadError::Invalid("Title: required.".into()));
            }
            let mut control_ids = Vec::new();
            for raw in f
                .controls
                .iter()
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
            {
                let id: i64 = raw.parse().map_err(|_| {
                    UploadError::Invalid(format!("Controls: '{raw}' is not a control id."))
                })?;
                if !control_ids.contains(&id) {
                    control_ids.push(id);
                }
            }
            if control_ids.is_empty() {
                return Err(UploadError::Invalid(
                    "Controls: choose at least one control this evidence supports.".into(),
                ));
            }
            Target::New {
                title,
                description: clean_text(&f.description, "Description", 10_000, true)?,
                control_ids,
            }
        }
    };
    let effective_date = match nonempty(&f.effective_date) {
        None => {
            return Err(UploadError::Invalid(
                "Effective date: required (the date the evidence speaks for).".into(),
            ))
        }
        Some(raw) => {
            let d = parse_date(raw, "Effective date")?;
            if d > today {
                return Err(UploadError::Invalid(format!(
                    "Effective date: {d} is in the future (today is {today})."
                )));
            }
            d.to_string()
        }
    };
    let period = match (nonempty(&f.period_start), nonempty(&f.period_end)) {
        (None, None) => None,
        (Some(s), Some(e)) => {
            let (s, e) = (parse_date(s, "Period start")?, parse_date(e, "Period end")?);
            if e <= s {
                return Err(UploadError::Invalid(format!(
                    "Period: the end ({e}) must be after the start ({s}); the period covers [start, end)."
                )));
            }
            Some((s.to_string(), e.to_string()))
        }
        _ => {
            return Err(UploadError::Invalid(
                "Period: give both a start and an end, or neither.".into(),
            ))
        }
    };
    let url = nonempty(&f.url)
        .map(check_url)
        .transpose()
        .map_err(UploadError::Invalid)?;
    match (has_file, &url) {
        (true, Some(_)) => {
            return Err(UploadError::Invalid(
                "Give either a file or a link, not both.".into(),
            ))
        }
        (false, None) => {
            return Err(UploadError::Invalid(
                "Choose a file to upload or give a link.".into(),
            ))
        }
        _ => {}
    }
    let test_given = [
        &f.test_procedure,
        &f.test_sample,
        &f.test_result,
        &f.tester,
        &f.tested_on,
    ]
    .iter()
    .any(|v| nonempty(v).is_some());
    let test = if test_given {
        let result = match nonempty(&f.test_result) {
            Some(r @ ("pass" | "fail")) => r.to_string(),
            Some(other) => {
                return Err(UploadError::Invalid(format!(
                    "Test result: '{other}' must be pass or fail."
                )))
            }
            None => {
                return Err(UploadError::Invalid(
                    "Test result: choose pass or fail (or leave every test field empty).".into(),
                ))
            }
        };
        let procedure = clean_text(&f.test_procedure, "Test procedure", 5_000, true)?;
        if procedure.is_empty() {
            return Err(UploadError::Invalid(
                "Test procedure: describe how the control was tested.".into(),
            ));
        }
        let tested_on = match nonempty(&f.tested_on) {
            None => {
                return Err(UploadError::Invalid(
                    "Tested on: required with a test result.".into(),
                ))
            }
            Some(raw) => {
                let d = parse_date(raw, "Tested on")?;
                if d > today {
                    return Err(UploadError::Invalid(format!(
                        "Tested on: {d} is in the future (today is {today})."
                    )));
                }
                d.to_string()
            }
        };
        let tester = clean_text(&f.tester, "Tester", 200, false)?;
        Some(super::TestRecord {
            procedure,
            sample: clean_text(&f.test_sample, "Test sample", 5_000, true)?,
            result,
            tester: if tester.is_empty() {
                user.display_name.clone()
            } else {
                tester
            },
            tested_on,
        })
    } else {
        None
    };
    Ok(Plan {
        target,
        effective_date,
        period,
        note: clean_text(&f.note, "Note", 2_000, true)?,
        url,
        test,
        return_to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_http_or_https_only() {
        assert!(check_url("https://example.com/report").is_ok());
        assert!(check_url("HTTP://example.com").is_ok());
        assert!(check_url("javascript:alert(1)").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://exa mple.com").is_err());
    }

    #[test]
    fn return_to_is_a_local_path() {
        assert!(check_return_to("/controls/7").is_ok());
        assert!(check_return_to("//evil.example/x").is_err());
        assert!(check_return_to("/\\evil.example").is_err());
        assert!(check_return_to("https://evil.example").is_err());
        assert!(check_return_to("controls/7").is_err());
    }
}
