//! The import's blocking threads: one reads the file (gunzipping within bounds, hashing,
//! counting bytes), parses CSV and maps rows to line items; one folds them into the rollups
//! and packs them for the database. Bounded channels between the stages bound memory.

use super::ImportError;
use crate::costs::formats::{Format, LineItem, RowMapper};
use crate::costs::store::{line_item_packer, pack_line_item, Packed, Rollup};
use crate::csvread::{CsvError, Records};
use crate::db::Dialect;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Rows per chunk (one insert statement, one progress report): small at first, so progress
/// shows at once, then large, so per-statement costs vanish.
const FIRST_CHUNK_ROWS: usize = 250;
const CHUNK_ROWS: usize = 2000;
/// Rows read before chunks grow.
const SMALL_CHUNKS_UNTIL: u64 = 2000;

/// Counts and hashes the file's bytes as they are read.
pub(super) struct Tap<R> {
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
pub(super) enum Parsed {
    Format(Format, Vec<String>),
    /// Line items with their data row and file line (for errors).
    Items(Vec<(u64, u64, LineItem)>),
    Done {
        rows: u64,
        sha256: String,
    },
}

/// What the folding thread hands the inserter.
pub(super) enum Msg {
    /// The format and the columns kept in `extra`; the inserter answers with the batch id.
    Format(Format, Vec<String>),
    /// Line items, packed for the database.
    Chunk(Packed),
    Done {
        rows: u64,
        sha256: String,
        rollup: Box<Rollup>,
    },
    Failed(ImportError),
}

/// The folding thread: rollups and stored form for each line item, then on to the inserter.
/// After the format it waits for the batch id (PostgreSQL's COPY rows carry it).
pub(super) fn fold(
    input: std::sync::mpsc::Receiver<Result<Parsed, ImportError>>,
    dialect: Dialect,
    batch: std::sync::mpsc::Receiver<i64>,
    out: &mpsc::Sender<Msg>,
) {
    let mut acc = Box::<Rollup>::default();
    let mut batch_id = None;
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
                let id = match batch_id {
                    Some(id) => id,
                    None => match batch.recv() {
                        Ok(id) => *batch_id.insert(id),
                        Err(_) => return, // the import was abandoned
                    },
                };
                let mut chunk = line_item_packer(dialect, id, items.len());
                let mut failed = None;
                for (row, line, item) in items {
                    if let Err(reason) = acc.add(&item) {
                        failed = Some(ImportError::Row {
                            row,
                            line,
                            column: String::new(),
                            reason,
                        });
                        break;
                    }
                    pack_line_item(&mut chunk, row, item);
                }
                match failed {
                    Some(e) => Msg::Failed(e),
                    None => Msg::Chunk(chunk.finish()),
                }
            }
        };
        let last = matches!(next, Msg::Failed(_) | Msg::Done { .. });
        if out.blocking_send(next).is_err() || last {
            return; // the import was abandoned, or this was the end
        }
    }
}

pub(super) fn parse<R: Read>(
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
