//! A file waiting for its mapping, kept in the spool directory under a random token as
//! `<kind>-<token>.csv` (the file name on the first line, then the bytes as received) until it
//! is imported; a sweep removes the ones never imported.

use crate::error::AppError;
use std::path::{Path, PathBuf};

/// Where a waiting file is kept: the kind is ours (lower-case letters) and the token is
/// checked to be ours (hex) before they name a file.
pub fn path(spool: &Path, kind: &str, token: &str) -> Result<PathBuf, AppError> {
    let ok = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok || kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(AppError::Missing(
            "No such upload: send the file again.".into(),
        ));
    }
    Ok(spool.join(format!("{kind}-{token}.csv")))
}

/// Keeps a file that reads as a table within `limits` (refused now, not at the mapping step);
/// its token.
pub fn keep_table(
    spool: &Path,
    kind: &str,
    limits: &super::read::Limits,
    file_name: &str,
    bytes: &[u8],
) -> Result<String, AppError> {
    super::read::read(bytes, limits)?;
    keep(spool, kind, file_name, bytes)
}

/// A waiting file read as a table: its name, its bytes and the table.
pub fn load_table(
    spool: &Path,
    kind: &str,
    token: &str,
    limits: &super::read::Limits,
) -> Result<(String, Vec<u8>, super::read::Table), AppError> {
    let (file_name, bytes) = load(spool, kind, token)?;
    let t = super::read::read(&bytes, limits)?;
    Ok((file_name, bytes, t))
}

/// Keeps an uploaded file until its mapping is chosen; its token.
pub fn keep(spool: &Path, kind: &str, file_name: &str, bytes: &[u8]) -> Result<String, AppError> {
    std::fs::create_dir_all(spool).map_err(AppError::internal)?;
    let token = crate::util::random_hex(16);
    let path = path(spool, kind, &token)?;
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

/// A waiting file: its name and bytes.
pub fn load(spool: &Path, kind: &str, token: &str) -> Result<(String, Vec<u8>), AppError> {
    let path = path(spool, kind, token)?;
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

pub fn drop(spool: &Path, kind: &str, token: &str) {
    if let Ok(p) = path(spool, kind, token) {
        let _ = std::fs::remove_file(p);
    }
}

/// A name `keep` gives: `<letters>-<32 hex>.csv`.
fn is_waiting(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".csv") else {
        return false;
    };
    match stem.split_once('-') {
        Some((kind, token)) => {
            !kind.is_empty()
                && kind.bytes().all(|b| b.is_ascii_lowercase())
                && token.len() == 32
                && token.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Removes waiting files older than `age` (an upload whose mapping was never chosen), leaving
/// every other file of the spool alone; how many.
pub fn sweep(spool: &Path, age: std::time::Duration) -> usize {
    let Ok(dir) = std::fs::read_dir(spool) else {
        return 0;
    };
    let mut removed = 0;
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a >= age);
        if is_waiting(&name) && old && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Sweeps waiting files a day old, every `every`.
pub fn schedule_sweep(spool: PathBuf, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let n = sweep(&spool, std::time::Duration::from_secs(24 * 3600));
            if n > 0 {
                tracing::info!(removed = n, "stale uploads waiting for a mapping removed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_removes_only_waiting_files() {
        let dir =
            std::env::temp_dir().join(format!("steward-sweep-{}", crate::util::random_hex(8)));
        let token = keep(&dir, "accounts", "crm.csv", b"a,b\n1,2\n").unwrap();
        let other = keep(&dir, "vendors", "v.csv", b"name\nAcme\n").unwrap();
        std::fs::write(dir.join("export-1.zip"), b"x").unwrap();
        std::fs::write(dir.join("export-1.csv"), b"x").unwrap();
        assert_eq!(
            sweep(&dir, std::time::Duration::from_secs(3600)),
            0,
            "too young"
        );
        assert!(load(&dir, "accounts", &token).is_ok());
        assert!(
            load(&dir, "vendors", &token).is_err(),
            "a token is of its kind"
        );
        assert_eq!(load(&dir, "vendors", &other).unwrap().0, "v.csv");
        assert!(load(&dir, "../x", &other).is_err());
        assert_eq!(sweep(&dir, std::time::Duration::ZERO), 2);
        assert!(load(&dir, "accounts", &token).is_err());
        assert!(dir.join("export-1.zip").exists(), "other files stay");
        assert!(dir.join("export-1.csv").exists(), "other files stay");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
