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

/// Removes waiting CSVs older than `age` (an upload whose mapping was never chosen), leaving
/// every other file of the spool alone; how many.
pub fn sweep_pending(spool: &Path, age: std::time::Duration) -> usize {
    let Ok(dir) = std::fs::read_dir(spool) else {
        return 0;
    };
    let mut removed = 0;
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let ours = name.starts_with("accounts-") && name.ends_with(".csv");
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a >= age);
        if ours && old && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Sweeps waiting CSVs a day old, every `every`.
pub fn schedule_sweep(spool: std::path::PathBuf, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let n = sweep_pending(&spool, std::time::Duration::from_secs(24 * 3600));
            if n > 0 {
                tracing::info!(removed = n, "stale account uploads removed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_removes_only_waiting_account_files() {
        let dir =
            std::env::temp_dir().join(format!("steward-sweep-{}", crate::util::random_hex(8)));
        let token = keep_pending(&dir, "crm.csv", b"a,b\n1,2\n").unwrap();
        std::fs::write(dir.join("export-1.zip"), b"x").unwrap();
        assert_eq!(
            sweep_pending(&dir, std::time::Duration::from_secs(3600)),
            0,
            "too young"
        );
        assert!(load_pending(&dir, &token).is_ok());
        assert_eq!(sweep_pending(&dir, std::time::Duration::ZERO), 1);
        assert!(load_pending(&dir, &token).is_err());
        assert!(dir.join("export-1.zip").exists(), "other files stay");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
