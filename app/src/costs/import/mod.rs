//! Streaming, all-or-nothing import of a cost file into one batch (the pipeline).
//!
//! Three stages run at once. A blocking thread reads the file (gunzipping when it starts with
//! the gzip magic), hashes its bytes, recognises the format and maps rows; a second folds them
//! into per-day rollups (small: days × dimensions) and packs them for the database (both in
//! `read`); the async side writes the chunks through the cost writer (`costs::store`) inside
//! ONE `NativeWriteTx` (PostgreSQL: `COPY`). At the end it replaces the older data for the same
//! source and billing period, writes the rollups and the audit events, and commits. Any error,
//! a dropped future or a crash rolls everything back. Memory stays bounded: bounded channels
//! hold at most a few chunks of line items, and the rollups grow with their cardinality.

mod read;

pub use crate::costs::store::Sums;
pub use read::{MAX_FIELDS, MAX_INFLATED_BYTES, MAX_RATIO, MAX_RECORD_BYTES, RATIO_CHECK_AFTER};

use super::money::parse_amount;
use crate::audit::chain::AuditCtx;
use crate::costs::store::{self, totals_json, BatchWriter};
use crate::db::{fetch_int, Arg, Db, NativeWriteTx};
use crate::error::AppError;
use read::Msg;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Chunks in flight between the parser and the inserter (bounds memory).
const CHANNEL_CHUNKS: usize = 4;

/// Where the data comes from and who imports it.
#[derive(Debug, Clone)]
pub struct ImportMeta {
    pub file_name: String,
    /// The file's size, for the percentage.
    pub total_bytes: Option<u64>,
    /// Actor, time (`at` is the import time) and request for the audit events.
    pub ctx: AuditCtx,
}

/// How far an import is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Data rows stored so far.
    pub rows: u64,
    /// Bytes of the file read so far (compressed bytes for a .gz).
    pub bytes_read: u64,
    pub total_bytes: Option<u64>,
    /// Set on the last call, once the batch is committed.
    pub done: bool,
}

impl Progress {
    pub fn percent(&self) -> Option<u8> {
        let total = self.total_bytes.filter(|t| *t > 0)?;
        Some((self.bytes_read.min(total) * 100 / total) as u8)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub batch_id: i64,
    /// True when this exact file (same SHA-256) was imported before: nothing changed.
    pub already_imported: bool,
    pub format: String,
    pub file_name: String,
    pub sha256: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    /// Earliest charge period start and latest end, stored format.
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// Per currency.
    pub totals: BTreeMap<String, Sums>,
    /// Batches whose data for the same source and billing period this import replaced.
    pub replaced_batches: Vec<i64>,
}

impl ImportReport {
    /// The report as `steward import-costs` prints it.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        if self.already_imported {
            let _ = writeln!(
                s,
                "already imported: '{}' is batch #{} (nothing changed)",
                self.file_name, self.batch_id
            );
        } else {
            let _ = writeln!(
                s,
                "imported '{}' as batch #{}",
                self.file_name, self.batch_id
            );
        }
        let _ = writeln!(s, "format: {}", self.format);
        let _ = writeln!(
            s,
            "rows: {} read, {} accepted, {} rejected",
            self.rows_read, self.rows_accepted, self.rows_rejected
        );
        let _ = writeln!(
            s,
            "charge periods: {} to {}",
            self.period_start.as_deref().unwrap_or("-"),
            self.period_end.as_deref().unwrap_or("-")
        );
        for (cur, t) in &self.totals {
            let _ = writeln!(
                s,
                "total {cur}: billed {} effective {} list {} ({} rows)",
                t.billed, t.effective, t.list, t.rows
            );
        }
        for old in &self.replaced_batches {
            let _ = writeln!(s, "replaced the data of batch #{old} for the same periods");
        }
        let _ = writeln!(s, "sha256: {}", self.sha256);
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A data row is wrong; `row` is the 1-based data row, `line` the file line it starts on.
    #[error("row {row} (line {line}){}: {reason}", column_part(.column))]
    Row {
        row: u64,
        line: u64,
        column: String,
        reason: String,
    },
    /// The file as a whole is wrong (unknown format, missing columns, unreadable, empty).
    #[error("{0}")]
    File(String),
    #[error(transparent)]
    Db(#[from] AppError),
}

fn column_part(column: &str) -> String {
    if column.is_empty() {
        String::new()
    } else {
        format!(", column {column}")
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Db(e.into())
    }
}

impl From<ImportError> for AppError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Db(e) => e,
            other => AppError::Invalid(other.to_string()),
        }
    }
}

/// Imports a file from disk. Its hash is computed on a thread of its own while the import
/// runs (not first: that would add a full read to every import); a file imported before is
/// recognised as soon as the hash is known, and the import stops there.
pub async fn import_file(
    db: &Db,
    path: &Path,
    ctx: AuditCtx,
    progress: impl Fn(Progress) + Send + Sync,
) -> Result<ImportReport, ImportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let shown = path.display().to_string();
    import_path(db, path, name, &shown, ctx, progress).await
}

/// Imports a file received over HTTP and spooled to disk: errors name the upload, not where
/// the server keeps it.
pub async fn import_upload(
    db: &Db,
    path: &Path,
    file_name: String,
    ctx: AuditCtx,
) -> Result<ImportReport, ImportError> {
    let shown = format!("the uploaded file '{file_name}'");
    import_path(db, path, file_name, &shown, ctx, |_| {}).await
}

async fn import_path(
    db: &Db,
    path: &Path,
    file_name: String,
    shown: &str,
    ctx: AuditCtx,
    progress: impl Fn(Progress) + Send + Sync,
) -> Result<ImportReport, ImportError> {
    let unreadable = |e: std::io::Error| ImportError::File(format!("cannot read {shown}: {e}"));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let p = path.to_path_buf();
    let display = shown.to_string();
    let hashing = tokio::task::spawn_blocking(move || -> Result<String, ImportError> {
        let mut h = Sha256::new();
        std::fs::File::open(&p)
            .and_then(|mut f| std::io::copy(&mut f, &mut h))
            .map_err(|e| ImportError::File(format!("cannot read {display}: {e}")))?;
        Ok(hex::encode(h.finalize()))
    });
    let meta = ImportMeta {
        file_name,
        total_bytes: Some(size),
        ctx,
    };
    import(db, file, meta, Some(hashing), progress).await
}

/// Imports one cost file (CSV or gzip-compressed CSV) as one batch, all or nothing.
pub async fn import_reader<R>(
    db: &Db,
    reader: R,
    meta: ImportMeta,
    progress: impl Fn(Progress) + Send + Sync,
) -> Result<ImportReport, ImportError>
where
    R: Read + Send + 'static,
{
    import(db, reader, meta, None, progress).await
}

/// A hash being computed elsewhere (`import_file`).
type PendingHash = tokio::task::JoinHandle<Result<String, ImportError>>;

async fn import<R>(
    db: &Db,
    reader: R,
    meta: ImportMeta,
    mut pending_hash: Option<PendingHash>,
    progress: impl Fn(Progress) + Send + Sync,
) -> Result<ImportReport, ImportError>
where
    R: Read + Send + 'static,
{
    let bytes = Arc::new(AtomicU64::new(0));
    // Dropped (and so cancelled) when this function returns early: the threads' next send
    // fails and they stop.
    let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
    let counter = bytes.clone();
    // A file whose hash is computed elsewhere is not hashed a second time.
    let hash = pending_hash.is_none();
    let mut known_sha = None;
    // Two threads: one reads and maps rows, one folds them into the rollups and packs them;
    // the async side only writes. (Two cores keep all three busy.)
    let (parsed_tx, parsed_rx) = std::sync::mpsc::sync_channel(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = read::parse(reader, counter, hash, &parsed_tx) {
            let _ = parsed_tx.send(Err(e));
        }
    });
    let dialect = db.dialect();
    let (batch_tx, batch_rx) = std::sync::mpsc::channel();
    tokio::task::spawn_blocking(move || read::fold(parsed_rx, dialect, batch_rx, &tx));
    let (format, extra_columns) = match rx.recv().await {
        Some(Msg::Format(f, extra_columns)) => (f, extra_columns),
        Some(Msg::Failed(e)) => return Err(e),
        _ => return Err(ImportError::File("the file could not be read".into())),
    };

    let ctx = &meta.ctx;
    let mut w = db.write_native().await?;
    let extra = serde_json::Value::from(extra_columns).to_string();
    let batch_id = fetch_int(
        w.sql(),
        "INSERT INTO cost_batches (source_kind, source_name, format, imported_by_id, \
         imported_by, imported_at, extra_columns) VALUES ('file', $1, $2, $3, $4, $5, $6) \
         RETURNING id",
        &[
            Arg::Text(&meta.file_name),
            Arg::Text(format.as_str()),
            Arg::OptInt(ctx.actor_id),
            Arg::Text(&ctx.actor),
            Arg::Text(&ctx.at),
            Arg::Text(&extra),
        ],
    )
    .await?
    .ok_or_else(|| ImportError::Db(AppError::internal("no batch id returned")))?;
    let mut writer = BatchWriter::start(&mut w, dialect, batch_id).await?;
    // A folding thread that already stopped has sent its reason; it is read below.
    let _ = batch_tx.send(batch_id);

    let started = std::time::Instant::now();
    let (rows_read, computed_sha, acc) = loop {
        let msg = match pending_hash.as_mut() {
            Some(h) => tokio::select! {
                msg = rx.recv() => msg,
                sha = h => {
                    pending_hash = None;
                    let sha = sha.map_err(|e| ImportError::File(format!("hashing failed: {e}")))??;
                    // Imported before: stop here (dropping the transaction rolls back).
                    if let Some(id) = batch_with_sha(&mut w, &sha).await? {
                        drop(w);
                        return load_report(db.pool(), id, true).await;
                    }
                    known_sha = Some(sha);
                    continue;
                }
            },
            None => rx.recv().await,
        };
        match msg {
            Some(Msg::Chunk(rows)) => {
                writer.line_items(&mut w, rows).await?;
                progress(Progress {
                    rows: writer.stored,
                    bytes_read: bytes.load(Ordering::Relaxed),
                    total_bytes: meta.total_bytes,
                    done: false,
                });
            }
            Some(Msg::Done {
                rows,
                sha256,
                rollup,
            }) => break (rows, sha256, rollup),
            Some(Msg::Failed(e)) => return Err(e),
            Some(Msg::Format(..)) | None => {
                return Err(ImportError::File(
                    "reading the file stopped unexpectedly".into(),
                ))
            }
        }
    };
    if let Some(h) = pending_hash.take() {
        known_sha = Some(
            h.await
                .map_err(|e| ImportError::File(format!("hashing failed: {e}")))??,
        );
    }
    let sha256 = known_sha.unwrap_or(computed_sha);
    // Checked under the write lock: another import of the same file may have won meanwhile.
    if let Some(id) = batch_with_sha(&mut w, &sha256).await? {
        drop(w);
        return load_report(db.pool(), id, true).await;
    }
    if rows_read == 0 {
        return Err(ImportError::File(
            "the file has a header but no data rows: nothing to import".into(),
        ));
    }

    tracing::debug!(batch_id, rows = writer.stored, elapsed = ?started.elapsed(), "cost import: line items stored");
    let replaced = store::replace_older_slices(&mut w, batch_id, &acc, &ctx.at).await?;
    let acc: Arc<store::Rollup> = Arc::from(acc);
    writer.finish(&mut w, acc.clone()).await?;
    tracing::debug!(batch_id, daily = acc.daily_rows(), tags = acc.tag_rows(), elapsed = ?started.elapsed(), "cost import: rollups stored");
    let (period_start, period_end) = acc.period.clone().unzip();
    let totals = totals_json(&acc.totals);
    w.sql()
        .execute_args(
            "UPDATE cost_batches SET sha256 = $1, rows_read = $2, rows_accepted = $3, \
             rows_rejected = 0, period_start = $4, period_end = $5, totals = $6 WHERE id = $7",
            &[
                Arg::Text(&sha256),
                Arg::Int(rows_read as i64),
                Arg::Int(acc.rows as i64),
                Arg::OptText(period_start.as_deref()),
                Arg::OptText(period_end.as_deref()),
                Arg::Text(&totals),
                Arg::Int(batch_id),
            ],
        )
        .await?;

    let report = ImportReport {
        batch_id,
        already_imported: false,
        format: format.as_str().to_string(),
        file_name: meta.file_name.clone(),
        sha256,
        rows_read,
        rows_accepted: acc.rows,
        rows_rejected: 0,
        period_start,
        period_end,
        totals: acc.totals.clone(),
        replaced_batches: replaced.clone(),
    };
    w.audit(ctx.event("costs.imported", "cost_batch", batch_id, summary(&report)))
        .await?;
    for old in &replaced {
        w.audit(ctx.event(
            "costs.replaced",
            "cost_batch",
            old,
            format!(
                "cost batch #{old}: its data for the billing period(s) in '{}' was replaced by batch #{batch_id}",
                meta.file_name
            ),
        ))
        .await?;
    }
    w.commit().await?;
    tracing::debug!(batch_id, elapsed = ?started.elapsed(), "cost import: committed");
    progress(Progress {
        rows: acc.rows,
        bytes_read: bytes.load(Ordering::Relaxed),
        total_bytes: meta.total_bytes,
        done: true,
    });
    Ok(report)
}

fn summary(r: &ImportReport) -> String {
    let totals: Vec<String> = r
        .totals
        .iter()
        .map(|(cur, s)| format!("{cur} billed {} effective {}", s.billed, s.effective))
        .collect();
    format!(
        "imported '{}' ({}, sha256 {}): {} rows, charges {} to {}; {}{}",
        r.file_name,
        r.format,
        &r.sha256[..r.sha256.len().min(12)],
        r.rows_accepted,
        r.period_start.as_deref().unwrap_or("?"),
        r.period_end.as_deref().unwrap_or("?"),
        totals.join("; "),
        if r.replaced_batches.is_empty() {
            String::new()
        } else {
            format!("; replaces data of batch(es) {:?}", r.replaced_batches)
        }
    )
}

/// A line item's other source columns by name: its `extra` array zipped with the batch's
/// `extra_columns` (empty values left out). Rows stored before the array form hold the object.
pub fn extra_by_name(
    extra_columns: &str,
    extra: &str,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value as J;
    match serde_json::from_str::<J>(extra) {
        Ok(J::Object(m)) => m,
        Ok(J::Array(values)) => {
            let names: Vec<String> = serde_json::from_str(extra_columns).unwrap_or_default();
            names
                .into_iter()
                .zip(values)
                .filter(|(_, v)| !v.is_null())
                .collect()
        }
        _ => serde_json::Map::new(),
    }
}

async fn batch_with_sha(w: &mut NativeWriteTx, sha: &str) -> Result<Option<i64>, ImportError> {
    Ok(fetch_int(
        w.sql(),
        "SELECT id FROM cost_batches WHERE sha256 = $1",
        &[Arg::Text(sha)],
    )
    .await?)
}

/// The report of a stored batch (for "already imported").
pub async fn load_report(
    pool: &sqlx::AnyPool,
    batch_id: i64,
    already_imported: bool,
) -> Result<ImportReport, ImportError> {
    type Row = (
        String,
        String,
        Option<String>,
        i64,
        i64,
        i64,
        Option<String>,
        Option<String>,
        String,
    );
    let (file_name, format, sha256, read, accepted, rejected, start, end, totals): Row =
        sqlx::query_as(
            "SELECT source_name, format, sha256, rows_read, rows_accepted, rows_rejected, \
             period_start, period_end, totals FROM cost_batches WHERE id = $1",
        )
        .bind(batch_id)
        .fetch_one(pool)
        .await?;
    Ok(ImportReport {
        batch_id,
        already_imported,
        format,
        file_name,
        sha256: sha256.unwrap_or_default(),
        rows_read: read as u64,
        rows_accepted: accepted as u64,
        rows_rejected: rejected as u64,
        period_start: start,
        period_end: end,
        totals: parse_totals(&totals),
        replaced_batches: Vec::new(),
    })
}

fn parse_totals(json: &str) -> BTreeMap<String, Sums> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let amount = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .and_then(|s| parse_amount(s).ok())
            .unwrap_or_default()
    };
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(cur, s)| {
                    (
                        cur.clone(),
                        Sums {
                            billed: amount(s, "billed"),
                            effective: amount(s, "effective"),
                            list: amount(s, "list"),
                            rows: s.get("rows").and_then(|r| r.as_i64()).unwrap_or(0),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
