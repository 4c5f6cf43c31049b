//! Streaming, all-or-nothing import of a cost file into one batch.
//!
//! Three stages run at once. A blocking thread reads the file (gunzipping when it starts with
//! the gzip magic), hashes its bytes, recognises the format and maps rows; a second folds them
//! into per-day rollups (small: days × dimensions) and packs their stored values for the
//! database (`Packed`); the async side inserts the chunks inside ONE `WriteTx`. At the end it
//! replaces the older data for the same source and billing period, writes the rollups and the
//! audit events, and commits. Any error, a dropped future or a crash rolls everything back.
//! Memory stays bounded: bounded channels hold at most a few chunks of line items.

use super::formats::{Format, LineItem, RowMapper};
use super::money::{add, parse_amount};
use crate::audit::chain::AuditCtx;
use crate::bulk::Value;
use crate::csvread::{CsvError, Records};
use crate::db::{Db, Dialect, WriteTx};
use crate::error::AppError;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Rows per chunk (one insert statement, one progress report): small at first, so progress
/// shows at once, then large, so per-statement costs vanish.
const FIRST_CHUNK_ROWS: usize = 250;
const CHUNK_ROWS: usize = 2000;
/// Rows read before chunks grow.
const SMALL_CHUNKS_UNTIL: u64 = 2000;
/// Rollup rows per INSERT.
const ROLLUP_CHUNK_ROWS: usize = 10_000;
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

/// Exact sums for one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub billed: Decimal,
    pub effective: Decimal,
    pub list: Decimal,
    pub rows: i64,
}

impl Sums {
    fn add(&mut self, item: &LineItem) -> Result<(), ImportError> {
        self.billed = add(self.billed, item.billed).map_err(ImportError::File)?;
        self.effective = add(self.effective, item.effective).map_err(ImportError::File)?;
        self.list = add(self.list, item.list).map_err(ImportError::File)?;
        self.rows += 1;
        Ok(())
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

enum Msg {
    /// The format and the columns kept in `extra`.
    Format(Format, Vec<String>),
    /// Line items, `LINE_ITEM_COLUMNS` without `batch_id`.
    Chunk(Packed),
    Done {
        rows: u64,
        sha256: String,
        rollup: Box<Rollup>,
    },
    Failed(ImportError),
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
    // Two threads: one reads and maps rows, one folds them into the rollups and renders their
    // stored text; the async side only inserts. (Two cores keep all three busy.)
    let (parsed_tx, parsed_rx) = std::sync::mpsc::sync_channel(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = parse(reader, counter, hash, &parsed_tx) {
            let _ = parsed_tx.send(Err(e));
        }
    });
    let dialect = db.dialect();
    tokio::task::spawn_blocking(move || fold(parsed_rx, dialect, &tx));
    let (format, extra_columns) = match rx.recv().await {
        Some(Msg::Format(f, extra_columns)) => (f, extra_columns),
        Some(Msg::Failed(e)) => return Err(e),
        _ => return Err(ImportError::File("the file could not be read".into())),
    };

    let ctx = &meta.ctx;
    let mut w = db.write().await?;
    let batch_id: i64 = sqlx::query_scalar(
        "INSERT INTO cost_batches (source_kind, source_name, format, imported_by_id, \
         imported_by, imported_at, extra_columns) VALUES ('file', $1, $2, $3, $4, $5, $6) \
         RETURNING id",
    )
    .bind(&meta.file_name)
    .bind(format.as_str())
    .bind(ctx.actor_id)
    .bind(&ctx.actor)
    .bind(&ctx.at)
    .bind(serde_json::Value::from(extra_columns).to_string())
    .fetch_one(w.conn())
    .await?;
    // Writers are serialised (WriteTx), so every line item above this id is this batch's.
    let id_before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM cost_line_items")
        .fetch_one(w.conn())
        .await?;

    let started = std::time::Instant::now();
    let mut stored: u64 = 0;
    let (rows_read, computed_sha, acc) = loop {
        let msg = match pending_hash.as_mut() {
            Some(h) => tokio::select! {
                msg = rx.recv() => msg,
                sha = h => {
                    pending_hash = None;
                    let sha = sha.map_err(|e| ImportError::File(format!("hashing failed: {e}")))??;
                    // Imported before: stop here (dropping the transaction rolls back).
                    if let Some(id) = batch_with_sha(w.conn(), &sha).await? {
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
                let n = rows.rows() as u64;
                insert_rows(
                    w.conn(),
                    "cost_line_items",
                    LINE_ITEM_COLUMNS,
                    batch_id,
                    rows,
                )
                .await?;
                stored += n;
                progress(Progress {
                    rows: stored,
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
    if let Some(id) = batch_with_sha(w.conn(), &sha256).await? {
        drop(w);
        return load_report(db.pool(), id, true).await;
    }
    if rows_read == 0 {
        return Err(ImportError::File(
            "the file has a header but no data rows: nothing to import".into(),
        ));
    }

    tracing::debug!(batch_id, rows = stored, elapsed = ?started.elapsed(), "cost import: line items stored");
    let (first_item, last_item) = item_range(w.conn(), id_before).await?;
    let replaced = replace_older_slices(&mut w, batch_id, &acc, &ctx.at).await?;
    insert_rollups(w.conn(), db.dialect(), batch_id, &acc).await?;
    tracing::debug!(batch_id, daily = acc.daily.len(), tags = acc.tags.len(), elapsed = ?started.elapsed(), "cost import: rollups stored");
    let (period_start, period_end) = acc.period.clone().unzip();
    sqlx::query(
        "UPDATE cost_batches SET sha256 = $1, rows_read = $2, rows_accepted = $3, \
         rows_rejected = 0, period_start = $4, period_end = $5, totals = $6, \
         first_item_id = $8, last_item_id = $9 WHERE id = $7",
    )
    .bind(&sha256)
    .bind(rows_read as i64)
    .bind(acc.rows as i64)
    .bind(&period_start)
    .bind(&period_end)
    .bind(totals_json(&acc.totals))
    .bind(batch_id)
    .bind(first_item)
    .bind(last_item)
    .execute(w.conn())
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

// ---------------------------------------------------------------------------------------------
// The blocking side: bytes → CSV → line items.

/// Counts and hashes the file's bytes as they are read.
struct Tap<R> {
    inner: R,
    /// None when the hash is computed elsewhere (`import_file`).
    hasher: Option<Sha256>,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What the reading thread hands the folding thread.
enum Parsed {
    Format(Format, Vec<String>),
    /// Line items with their data row and file line (for errors).
    Items(Vec<(u64, u64, LineItem)>),
    Done {
        rows: u64,
        sha256: String,
    },
}

/// The folding thread: rollups and stored text for each line item, then on to the inserter.
fn fold(
    input: std::sync::mpsc::Receiver<Result<Parsed, ImportError>>,
    dialect: Dialect,
    out: &mpsc::Sender<Msg>,
) {
    let mut acc = Box::<Rollup>::default();
    for msg in input {
        let next = match msg {
            Err(e) => Msg::Failed(e),
            Ok(Parsed::Format(f, extra)) => Msg::Format(f, extra),
            Ok(Parsed::Done { rows, sha256 }) => Msg::Done {
                rows,
                sha256,
                rollup: std::mem::take(&mut acc),
            },
            Ok(Parsed::Items(items)) => {
                let mut chunk = Vec::with_capacity(items.len() * (LINE_ITEM_COLUMNS.len() - 1));
                let mut failed = None;
                for (row, line, item) in items {
                    if let Err(e) = acc.add(&item) {
                        failed = Some(match e {
                            ImportError::File(reason) => ImportError::Row {
                                row,
                                line,
                                column: String::new(),
                                reason,
                            },
                            other => other,
                        });
                        break;
                    }
                    line_item_values(&mut chunk, row, item);
                }
                match failed {
                    Some(e) => Msg::Failed(e),
                    None => Msg::Chunk(Packed::new(dialect, LINE_ITEM_COLUMNS.len() - 1, chunk)),
                }
            }
        };
        let last = matches!(next, Msg::Failed(_) | Msg::Done { .. });
        if out.blocking_send(next).is_err() || last {
            return; // the import was abandoned, or this was the end
        }
    }
}

fn parse<R: Read>(
    reader: R,
    bytes: Arc<AtomicU64>,
    hash: bool,
    out: &std::sync::mpsc::SyncSender<Result<Parsed, ImportError>>,
) -> Result<(), ImportError> {
    let io = |e: std::io::Error| ImportError::File(format!("the file could not be read: {e}"));
    let counter = bytes.clone();
    let mut tap = Tap {
        inner: reader,
        hasher: hash.then(Sha256::new),
        bytes,
    };
    let rows = {
        let mut buf = BufReader::with_capacity(256 * 1024, &mut tap);
        let gzip = buf.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        let source: Box<dyn BufRead + '_> = if gzip {
            let inflated = Inflated {
                inner: flate2::bufread::MultiGzDecoder::new(buf),
                out: 0,
                compressed: counter,
            };
            Box::new(BufReader::with_capacity(256 * 1024, inflated))
        } else {
            Box::new(buf)
        };
        let mut csv = Records::new(source, MAX_RECORD_BYTES, MAX_FIELDS);
        let mut header = csv::StringRecord::new();
        if !csv.read(&mut header).map_err(|e| csv_error(e, 0, 1))? {
            return Err(ImportError::File(
                "the file is empty (no header row)".into(),
            ));
        }
        let header: Vec<String> = header.iter().map(str::to_string).collect();
        if header
            .iter()
            .all(|h| h.trim().trim_start_matches('\u{feff}').is_empty())
        {
            return Err(ImportError::File(
                "the file is empty (no header row)".into(),
            ));
        }
        let mapper = RowMapper::from_header(&header).map_err(ImportError::File)?;
        if out
            .send(Ok(Parsed::Format(mapper.format(), mapper.extra_columns())))
            .is_err()
        {
            return Ok(()); // the import was abandoned
        }
        let mut record = csv::StringRecord::new();
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        let mut row: u64 = 0;
        // The csv reader's line numbers skip newlines inside quoted fields; add them back so
        // an error names the line an editor shows.
        let mut quoted_newlines: u64 = 0;
        loop {
            match csv.read(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_error(e, row + 1, csv.line() + quoted_newlines)),
            }
            row += 1;
            let line = csv.line() + quoted_newlines;
            let item = mapper.map(&record).map_err(|e| ImportError::Row {
                row,
                line,
                column: e.column,
                reason: e.reason,
            })?;
            quoted_newlines += record
                .as_byte_record()
                .as_slice()
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            chunk.push((row, line, item));
            let size = if row <= SMALL_CHUNKS_UNTIL {
                FIRST_CHUNK_ROWS
            } else {
                CHUNK_ROWS
            };
            if chunk.len() >= size
                && out
                    .send(Ok(Parsed::Items(std::mem::replace(
                        &mut chunk,
                        Vec::with_capacity(CHUNK_ROWS),
                    ))))
                    .is_err()
            {
                return Ok(());
            }
        }
        if !chunk.is_empty() && out.send(Ok(Parsed::Items(chunk))).is_err() {
            return Ok(());
        }
        row
    };
    // The hash covers the whole file, including anything after the CSV data (gzip trailers).
    std::io::copy(&mut tap, &mut std::io::sink()).map_err(io)?;
    let sha256 = tap
        .hasher
        .map(|h| hex::encode(h.finalize()))
        .unwrap_or_default();
    let _ = out.send(Ok(Parsed::Done { rows, sha256 }));
    Ok(())
}

fn csv_error(e: CsvError, row: u64, line: u64) -> ImportError {
    match e {
        CsvError::Io(io) => ImportError::File(format!(
            "the file could not be read near line {line}: {io}{}",
            if io.get_ref().is_some_and(|i| i.is::<Expansion>()) {
                ""
            } else {
                " (a damaged or truncated .gz?)"
            }
        )),
        other => ImportError::Row {
            row,
            line,
            column: String::new(),
            reason: other.to_string(),
        },
    }
}

/// The largest CSV record accepted (cost rows are a few KiB even with many tags).
pub const MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;
/// The most columns a record may have (CUR files with many tag columns have hundreds).
pub const MAX_FIELDS: usize = 4096;
/// The most a `.gz` may expand to, whatever its size.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024 * 1024;
/// Past `RATIO_CHECK_AFTER` bytes inflated, a `.gz` may not expand more than this: real cost
/// exports compress 5–30 times; a decompression bomb, thousands of times.
pub const MAX_RATIO: u64 = 100;
pub const RATIO_CHECK_AFTER: u64 = 256 * 1024 * 1024;

/// Why a `.gz` was refused while inflating (travels inside the `io::Error`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Expansion(String);

/// Inflates a `.gz`, refusing to go past the bounds above (checked as the bytes come out).
struct Inflated<R> {
    inner: R,
    out: u64,
    /// Compressed bytes read so far (the tap's counter).
    compressed: Arc<AtomicU64>,
}

impl<R: Read> Read for Inflated<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let compressed = self.compressed.load(Ordering::Relaxed).max(1);
        let refuse = |why: String| Err(std::io::Error::other(Expansion(why)));
        if self.out > MAX_INFLATED_BYTES {
            return refuse(format!(
                "the .gz expands to more than {} GiB: refused",
                MAX_INFLATED_BYTES >> 30
            ));
        }
        if self.out > RATIO_CHECK_AFTER && self.out / compressed > MAX_RATIO {
            return refuse(format!(
                "the .gz expands more than {MAX_RATIO} times ({} MiB from {} KiB so far), \
                 which no cost export does: refused as a possible decompression bomb",
                self.out >> 20,
                compressed >> 10
            ));
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// The async side: SQL.

const LINE_ITEM_COLUMNS: &[&str] = &[
    "batch_id",
    "row_number",
    "provider",
    "billing_account_id",
    "billing_account_name",
    "billing_period_start",
    "billing_period_end",
    "sub_account_id",
    "sub_account_name",
    "service_name",
    "service_category",
    "region_id",
    "resource_id",
    "charge_category",
    "charge_period_start",
    "charge_period_end",
    "usage_date",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "currency",
    "tags",
    "extra",
];

/// Appends one line item's values in `LINE_ITEM_COLUMNS` order, without `batch_id`.
fn line_item_values(out: &mut Vec<Value>, row: u64, it: LineItem) {
    out.extend([
        Value::Int(row as i64),
        Value::Text(it.provider),
        Value::Text(it.billing_account_id),
        Value::Text(it.billing_account_name),
        Value::Text(it.billing_period_start),
        Value::Text(it.billing_period_end),
        Value::Text(it.sub_account_id),
        Value::Text(it.sub_account_name),
        Value::Text(it.service_name),
        Value::Text(it.service_category),
        Value::Text(it.region_id),
        Value::Text(it.resource_id),
        Value::Text(it.charge_category),
        Value::Text(it.charge_period_start),
        Value::Text(it.charge_period_end),
        Value::Text(it.usage_date),
        Value::Text(it.billed.to_string()),
        Value::Text(it.effective.to_string()),
        Value::Text(it.list.to_string()),
        Value::Text(it.currency),
        Value::Text(tags_json(&it.tags)),
        Value::Text(it.extra),
    ]);
}

/// Rows in the form their database takes fastest through the `Any` driver.
enum Packed {
    /// SQLite: values row after row, for the bulk-insert function (`crate::bulk`).
    Values { width: usize, values: Vec<Value> },
    /// PostgreSQL: one array literal per column, unnested into rows (a parameter per column
    /// instead of one per value).
    Arrays {
        rows: usize,
        arrays: Vec<String>,
        types: Vec<&'static str>,
    },
}

impl Packed {
    /// `values` hold `width` columns per row. Runs on the folding thread, off the inserter's
    /// path.
    fn new(dialect: Dialect, width: usize, values: Vec<Value>) -> Packed {
        match dialect {
            Dialect::Sqlite => Packed::Values { width, values },
            Dialect::Postgres => {
                let rows = values.len() / width;
                let types = values
                    .iter()
                    .take(width)
                    .map(|v| match v {
                        Value::Int(_) => "bigint",
                        Value::Text(_) => "text",
                    })
                    .collect();
                let mut arrays = vec![String::from("{"); width];
                for (i, v) in values.iter().enumerate() {
                    let a = &mut arrays[i % width];
                    if i >= width {
                        a.push(',');
                    }
                    match v {
                        Value::Int(n) => a.push_str(&n.to_string()),
                        Value::Text(t) => push_pg_array_text(a, t),
                    }
                }
                for a in &mut arrays {
                    a.push('}');
                }
                Packed::Arrays {
                    rows,
                    arrays,
                    types,
                }
            }
        }
    }

    fn rows(&self) -> usize {
        match self {
            Packed::Values { width, values } => values.len() / width,
            Packed::Arrays { rows, .. } => *rows,
        }
    }
}

/// Inserts packed rows into `table`; `columns` starts with `batch_id`, which every row gets.
async fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    batch_id: i64,
    rows: Packed,
) -> Result<(), ImportError> {
    if rows.rows() == 0 {
        return Ok(());
    }
    match rows {
        Packed::Values { width, values } => {
            let marks = vec!["?"; width].join(", ");
            let parked = crate::bulk::park(crate::bulk::Rows {
                // batch_id is our own integer: a literal, not a parameter.
                sql: format!(
                    "INSERT INTO {table} ({}) VALUES ({batch_id}, {marks})",
                    columns.join(", ")
                ),
                width,
                values,
            });
            sqlx::query(crate::bulk::RUN_SQL)
                .bind(parked.token())
                .execute(conn)
                .await?;
        }
        Packed::Arrays { arrays, types, .. } => {
            // Set-returning functions in the select list advance together (one row per
            // element) and, unlike unnest in FROM, are not first materialised.
            let unnest: Vec<String> = types
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("unnest(${}::{ty}[])", i + 2))
                .collect();
            let sql = format!(
                "INSERT INTO {table} ({}) SELECT $1::bigint, {}",
                columns.join(", "),
                unnest.join(", ")
            );
            let mut q = sqlx::query::<Any>(&sql).bind(batch_id);
            for a in arrays {
                q = q.bind(a);
            }
            q.execute(conn).await?;
        }
    }
    Ok(())
}

/// Appends `s` as a quoted element of a PostgreSQL array literal.
fn push_pg_array_text(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b'"' || b == b'\\' {
            out.push_str(&s[plain..i]);
            out.push('\\');
            plain = i;
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
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

fn tags_json(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

fn totals_json(totals: &BTreeMap<String, Sums>) -> String {
    let m: serde_json::Map<String, serde_json::Value> = totals
        .iter()
        .map(|(cur, s)| {
            (
                cur.clone(),
                serde_json::json!({
                    "billed": s.billed.to_string(),
                    "effective": s.effective.to_string(),
                    "list": s.list.to_string(),
                    "rows": s.rows,
                }),
            )
        })
        .collect();
    serde_json::Value::Object(m).to_string()
}

/// (provider, billing account id, billing period start), interned: what a newer import
/// replaces.
type SliceKey = [u32; 3];

#[derive(Debug, Default, Clone)]
struct SliceInfo {
    period_end: String,
    account_name: String,
    rows: i64,
}

/// provider, billing account, billing period start, day, sub account id and name, service
/// name and category, region, charge category, currency (interned).
type DailyKey = [u32; 11];
/// provider, billing account, billing period start, day, service name, currency, tag key, tag
/// value (interned). No sub-account: with it the tag rollup grows towards the line items.
type TagKey = [u32; 8];

/// Dimension values as small ids, so rollup keys are cheap to hash and hold.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }

    fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
}

/// What the batch adds up to, kept while rows stream past. Its size follows the number of
/// distinct day × dimension combinations, not the number of rows.
#[derive(Default)]
struct Rollup {
    rows: u64,
    names: Interner,
    daily: HashMap<DailyKey, Sums>,
    tags: HashMap<TagKey, Sums>,
    slices: BTreeMap<SliceKey, SliceInfo>,
    totals: BTreeMap<String, Sums>,
    period: Option<(String, String)>,
}

impl Rollup {
    fn add(&mut self, it: &LineItem) -> Result<(), ImportError> {
        self.rows += 1;
        let n = &mut self.names;
        let (provider, account, period, day, service, currency) = (
            n.id(&it.provider),
            n.id(&it.billing_account_id),
            n.id(&it.billing_period_start),
            n.id(&it.usage_date),
            n.id(&it.service_name),
            n.id(&it.currency),
        );
        let key: DailyKey = [
            provider,
            account,
            period,
            day,
            n.id(&it.sub_account_id),
            n.id(&it.sub_account_name),
            service,
            n.id(&it.service_category),
            n.id(&it.region_id),
            n.id(&it.charge_category),
            currency,
        ];
        self.daily.entry(key).or_default().add(it)?;
        for (k, v) in &it.tags {
            let key: TagKey = [
                provider,
                account,
                period,
                day,
                service,
                currency,
                n.id(k),
                n.id(v),
            ];
            self.tags.entry(key).or_default().add(it)?;
        }
        let slice = self.slices.entry([provider, account, period]).or_default();
        slice.rows += 1;
        if it.billing_period_end > slice.period_end {
            slice.period_end = it.billing_period_end.clone();
        }
        if slice.account_name.is_empty() {
            slice.account_name = it.billing_account_name.clone();
        }
        match self.totals.get_mut(&it.currency) {
            Some(t) => t.add(it)?,
            None => {
                let mut t = Sums::default();
                t.add(it)?;
                self.totals.insert(it.currency.clone(), t);
            }
        }
        match &mut self.period {
            None => {
                self.period = Some((it.charge_period_start.clone(), it.charge_period_end.clone()))
            }
            Some((s, e)) => {
                if it.charge_period_start < *s {
                    *s = it.charge_period_start.clone();
                }
                if it.charge_period_end > *e {
                    *e = it.charge_period_end.clone();
                }
            }
        }
        Ok(())
    }
}

/// Removes the data that other batches hold for the sources and billing periods of this batch
/// (line items and their rollups) and records the replacement; returns the batches affected.
async fn replace_older_slices(
    w: &mut WriteTx,
    batch_id: i64,
    acc: &Rollup,
    at: &str,
) -> Result<Vec<i64>, ImportError> {
    let mut replaced = BTreeSet::new();
    for (key, info) in &acc.slices {
        let [provider, account, period] = key.map(|id| acc.names.name(id));
        let older: Vec<i64> = sqlx::query_scalar(
            "SELECT batch_id FROM cost_batch_slices WHERE provider = $1 AND \
             billing_account_id = $2 AND billing_period_start = $3 AND replaced_by IS NULL \
             AND batch_id <> $4",
        )
        .bind(provider)
        .bind(account)
        .bind(period)
        .bind(batch_id)
        .fetch_all(w.conn())
        .await?;
        for old in older {
            delete_line_items(
                w.conn(),
                old,
                "provider = $4 AND billing_account_id = $5 AND billing_period_start = $6",
                &[provider, account, period],
            )
            .await?;
            for table in ["cost_daily", "cost_daily_tags"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE batch_id = $1 AND provider = $2 AND \
                     billing_account_id = $3 AND billing_period_start = $4"
                ))
                .bind(old)
                .bind(provider)
                .bind(account)
                .bind(period)
                .execute(w.conn())
                .await?;
            }
            bump_rollup_rev(w.conn(), old).await?;
            sqlx::query(
                "UPDATE cost_batch_slices SET replaced_by = $1 WHERE batch_id = $2 AND \
                 provider = $3 AND billing_account_id = $4 AND billing_period_start = $5",
            )
            .bind(batch_id)
            .bind(old)
            .bind(provider)
            .bind(account)
            .bind(period)
            .execute(w.conn())
            .await?;
            replaced.insert(old);
        }
        sqlx::query(
            "INSERT INTO cost_batch_slices (batch_id, provider, billing_account_id, \
             billing_period_start, billing_period_end, billing_account_name, row_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(batch_id)
        .bind(provider)
        .bind(account)
        .bind(period)
        .bind(&info.period_end)
        .bind(&info.account_name)
        .bind(info.rows)
        .execute(w.conn())
        .await?;
    }
    for old in &replaced {
        let remaining: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cost_batch_slices WHERE batch_id = $1 AND replaced_by IS NULL",
        )
        .bind(old)
        .fetch_one(w.conn())
        .await?;
        let status = if remaining == 0 {
            "replaced"
        } else {
            "partially_replaced"
        };
        sqlx::query(
            "UPDATE cost_batches SET status = $1, replaced_by = $2, replaced_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(batch_id)
        .bind(at)
        .bind(old)
        .execute(w.conn())
        .await?;
    }
    Ok(replaced.into_iter().collect())
}

/// The id range of the line items inserted after `id_before` (all this batch's).
pub(crate) async fn item_range(
    conn: &mut AnyConnection,
    id_before: i64,
) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    // Two primary-key seeks: line items have no batch index (it slowed every insert).
    let first: Option<i64> =
        sqlx::query_scalar("SELECT MIN(id) FROM cost_line_items WHERE id > $1")
            .bind(id_before)
            .fetch_one(&mut *conn)
            .await?;
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM cost_line_items")
        .fetch_one(&mut *conn)
        .await?;
    Ok((first, last.filter(|_| first.is_some())))
}

/// Deletes line items of batch `batch` matching `condition` (parameters from `$4` on), by the
/// batch's id range: a primary-key range scan instead of an index on batch_id.
pub(crate) async fn delete_line_items(
    conn: &mut AnyConnection,
    batch: i64,
    condition: &str,
    params: &[&str],
) -> Result<(), sqlx::Error> {
    let range: Option<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT first_item_id, last_item_id FROM cost_batches WHERE id = $1")
            .bind(batch)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((Some(first), Some(last))) = range else {
        return Ok(()); // the batch holds no line items
    };
    let sql = format!(
        "DELETE FROM cost_line_items WHERE id >= $1 AND id <= $2 AND batch_id = $3 AND {condition}"
    );
    let mut q = sqlx::query(&sql).bind(first).bind(last).bind(batch);
    for p in params {
        q = q.bind(*p);
    }
    q.execute(conn).await?;
    Ok(())
}

/// Marks a batch's rollups as changed, so report caches reload them (`super::cube`).
pub(crate) async fn bump_rollup_rev(
    conn: &mut AnyConnection,
    batch: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cost_batches SET rollup_rev = rollup_rev + 1 WHERE id = $1")
        .bind(batch)
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_rollups(
    conn: &mut AnyConnection,
    dialect: Dialect,
    batch_id: i64,
    acc: &Rollup,
) -> Result<(), ImportError> {
    const DAILY: &[&str] = &[
        "batch_id",
        "provider",
        "billing_account_id",
        "billing_period_start",
        "day",
        "sub_account_id",
        "sub_account_name",
        "service_name",
        "service_category",
        "region_id",
        "charge_category",
        "currency",
        "billed_cost",
        "effective_cost",
        "list_cost",
        "row_count",
    ];
    const TAGS: &[&str] = &[
        "batch_id",
        "provider",
        "billing_account_id",
        "billing_period_start",
        "day",
        "service_name",
        "currency",
        "tag_key",
        "tag_value",
        "billed_cost",
        "effective_cost",
        "list_cost",
        "row_count",
    ];
    insert_sums(
        conn,
        dialect,
        "cost_daily",
        DAILY,
        batch_id,
        &acc.names,
        &acc.daily,
    )
    .await?;
    insert_sums(
        conn,
        dialect,
        "cost_daily_tags",
        TAGS,
        batch_id,
        &acc.names,
        &acc.tags,
    )
    .await
}

/// Writes one rollup: `columns` are batch_id, the key's names, then the sums. Both rollup keys
/// hold the day at index 3; rows go in day order, so the (batch_id, day) index only appends.
async fn insert_sums<const N: usize>(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: &str,
    columns: &[&str],
    batch_id: i64,
    names: &Interner,
    sums: &HashMap<[u32; N], Sums>,
) -> Result<(), ImportError> {
    let mut rows: Vec<(&[u32; N], &Sums)> = sums.iter().collect();
    rows.sort_unstable_by_key(|(k, _)| names.name(k[3]));
    for chunk in rows.chunks(ROLLUP_CHUNK_ROWS) {
        let mut values = Vec::with_capacity(chunk.len() * (columns.len() - 1));
        for (key, s) in chunk {
            values.extend(key.iter().map(|k| Value::Text(names.name(*k).to_string())));
            values.extend([
                Value::Text(s.billed.to_string()),
                Value::Text(s.effective.to_string()),
                Value::Text(s.list.to_string()),
                Value::Int(s.rows),
            ]);
        }
        let rows = Packed::new(dialect, columns.len() - 1, values);
        insert_rows(conn, table, columns, batch_id, rows).await?;
    }
    Ok(())
}

async fn batch_with_sha<'c, E>(conn: E, sha: &str) -> Result<Option<i64>, ImportError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    Ok(
        sqlx::query_scalar("SELECT id FROM cost_batches WHERE sha256 = $1")
            .bind(sha)
            .fetch_optional(conn)
            .await?,
    )
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
