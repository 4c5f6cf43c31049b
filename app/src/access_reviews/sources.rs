//! From an uploaded file to accounts: the format is recognised by its header (an IAM
//! credential report, else any CSV read through a mapping), and a CSV waiting for its mapping
//! is kept in the spool (`tabular::pending`, as `PENDING`) until it is imported.

use super::accounts::{Account, RowError};
use super::credential_report;
use super::mapped::{self, Field, Mapping};
use crate::error::AppError;

/// A file read into rows, with what was detected.
pub struct Read {
    pub encoding: &'static str,
    pub delimiter: u8,
    pub rows: Vec<Vec<String>>,
}

impl Read {
    pub fn is_credential_report(&self) -> bool {
        self.rows
            .first()
            .is_some_and(|h| credential_report::is_credential_report(h))
    }
}

fn invalid(e: RowError) -> AppError {
    AppError::invalid(e.to_string())
}

/// Decodes and splits a file (bounded: `mapped::LIMITS`).
pub fn read(bytes: &[u8]) -> Result<Read, AppError> {
    let t = crate::tabular::read::read(bytes, &mapped::LIMITS)?;
    Ok(Read {
        encoding: t.encoding,
        delimiter: t.delimiter,
        rows: t.rows,
    })
}

/// The accounts of a credential report.
pub fn credential_report(r: &Read) -> Result<Vec<Account>, AppError> {
    credential_report::read(&r.rows).map_err(invalid)
}

/// The accounts of a CSV through `mapping`.
pub fn mapped(r: &Read, mapping: &Mapping) -> Result<Vec<Account>, AppError> {
    mapped::read(&r.rows, mapping).map_err(invalid)
}

/// The mapping to offer for these headers: the system's saved one when every column it names
/// is there, else a guess from the headers.
pub fn offered(headers: &[String], saved: Option<&str>) -> Mapping {
    let saved: Option<Mapping> = saved.and_then(|s| serde_json::from_str(s).ok());
    match saved {
        Some(m)
            if m.values()
                .all(|h| headers.iter().any(|x| x.trim() == h.trim())) =>
        {
            m
        }
        _ => mapped::guess(headers),
    }
}

/// A mapping from the form's words (`field → header`, blank for none).
pub fn mapping_from(
    form: &std::collections::BTreeMap<String, String>,
) -> Result<Mapping, AppError> {
    crate::tabular::read::mapping_from(form, Field::parse, "an account")
}

/// Where waiting account files are kept in the spool (`tabular::pending`).
pub const PENDING: &str = "accounts";
