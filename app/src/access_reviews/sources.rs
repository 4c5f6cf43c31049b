//! From an uploaded file to accounts: the format is recognised by its header (an IAM
//! credential report, else any CSV read through a mapping), and a CSV waiting for its mapping
//! is kept in the spool directory under a random token until it is imported.

use super::accounts::{Account, RowError};
use super::credential_report;
use super::mapped::{self, Field, Mapping};
use crate::error::AppError;
use std::path::{Path, PathBuf};

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

/// Decodes and splits a file (bounded: `mapped::MAX_BYTES`, rows, columns).
pub fn read(bytes: &[u8]) -> Result<Read, AppError> {
    if bytes.len() > mapped::MAX_BYTES {
        return Err(AppError::TooLarge(format!(
            "The account file is larger than {}.",
            crate::util::human_size(mapped::MAX_BYTES as u64)
        )));
    }
    let (text, encoding) = mapped::decode(bytes);
    let delimiter = mapped::delimiter(&text);
    let rows = mapped::rows(&text, delimiter).map_err(invalid)?;
    if rows.len() < 2 {
        return Err(AppError::invalid(
            "The file has no accounts: a header line and one line per account are expected.",
        ));
    }
    Ok(Read {
        encoding,
        delimiter,
        rows,
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
    let mut m = Mapping::new();
    for (k, v) in form {
        let f = Field::parse(k)
            .ok_or_else(|| AppError::invalid(format!("map: '{k}' is not an account field")))?;
        if !v.trim().is_empty() {
            m.insert(f, v.trim().to_string());
        }
    }
    Ok(m)
}

/// Where a waiting CSV is kept: the token is checked to be ours (hex) before it names a file.
pub fn pending_path(spool: &Path, token: &str) -> Result<PathBuf, AppError> {
    let ok = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(AppError::Missing(
            "No such upload: send the file again.".into(),
        ));
    }
    Ok(spool.join(format!("accounts-{token}.csv")))
}

/// Keeps an uploaded CSV until its mapping is chosen; its token.
pub fn keep_pending(spool: &Path, file_name: &str, bytes: &[u8]) -> Result<String, AppError> {
    std::fs::create_dir_all(spool).map_err(AppError::internal)?;
    let token = crate::util::random_hex(16);
    let path = pending_path(spool, &token)?;
    let name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    // The file name first, on its own line, then the bytes as received.
    let mut data = Vec::with_capacity(bytes.len() + name.len() + 1);
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(bytes);
    std::fs::write(&path, data).map_err(AppError::internal)?;
    Ok(token)
}

/// A waiting CSV: its file name and bytes.
pub fn load_pending(spool: &Path, token: &str) -> Result<(String, Vec<u8>), AppError> {
    let path = pending_path(spool, token)?;
    let data = std::fs::read(&path).map_err(|_| {
        AppError::Missing(
            "This upload is gone (imported already, or the server restarted): send the file again."
                .into(),
        )
    })?;
    let cut = data.iter().position(|b| *b == b'\n').unwrap_or(0);
    let name = String::from_utf8_lossy(&data[..cut]).to_string();
    Ok((name, data[(cut + 1).min(data.len())..].to_vec()))
}

pub fn drop_pending(spool: &Path, token: &str) {
    if let Ok(p) = pending_path(spool, token) {
        let _ = std::fs::remove_file(p);
    }
}
