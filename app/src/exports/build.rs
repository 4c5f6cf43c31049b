//! Writes the ZIP of a `Plan`: synchronous (run it on a blocking thread), streaming every
//! file through a fixed buffer, so memory stays bounded whatever the evidence weighs.
//!
//! Deterministic: entries in a fixed order, stored (no compression, so no compressor version
//! can change a byte), the same time (1980-01-01, the format's epoch) and mode on every entry,
//! and a manifest whose "created" time is the data's own.

use super::index;
use super::manifest::*;
use super::scope::evidence_path;
use super::store::Plan;
use crate::signing::Signer;
use sha2::{Digest, Sha256};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("evidence #{evidence_id} version {version}: the stored file does not match its SHA-256 (expected {expected}, found {found}); the export was stopped")]
    Damaged {
        evidence_id: i64,
        version: i64,
        expected: String,
        found: String,
    },
    #[error("evidence #{evidence_id} version {version}: the stored file is missing ({why})")]
    Missing {
        evidence_id: i64,
        version: i64,
        why: String,
    },
    #[error("writing the archive: {0}")]
    Io(#[from] io::Error),
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Where stored evidence comes from (the blob store, read on a blocking thread).
pub trait Blobs {
    fn open(&self, sha256: &str) -> io::Result<Box<dyn Read + '_>>;
}

/// The archive as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub sha256: String,
    pub size: u64,
    pub manifest: Manifest,
}

const CHUNK: usize = 256 * 1024;

struct Writer<'p, W: Write + Seek> {
    zip: ZipWriter<W>,
    files: Vec<FileEntry>,
    buf: Vec<u8>,
    progress: &'p AtomicU64,
}

fn options(size: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .system(zip::System::Unix)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(size >= u32::MAX as u64)
}

impl<W: Write + Seek> Writer<'_, W> {
    /// Copies `data` into a new entry while hashing it; returns its SHA-256 and size.
    fn entry(
        &mut self,
        path: &str,
        size_hint: u64,
        data: &mut dyn Read,
    ) -> io::Result<(String, u64)> {
        self.zip
            .start_file(path, options(size_hint))
            .map_err(io::Error::other)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&self.buf[..n]);
            self.zip.write_all(&self.buf[..n])?;
            size += n as u64;
            self.progress.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok((hex::encode(hasher.finalize()), size))
    }

    fn text(&mut self, path: &str, role: &str, bytes: &[u8]) -> io::Result<()> {
        let (sha256, size) = self.entry(path, bytes.len() as u64, &mut &bytes[..])?;
        self.files.push(FileEntry {
            path: path.into(),
            sha256,
            size,
            role: role.into(),
            evidence: None,
        });
        Ok(())
    }
}

/// A counter nobody reads, for callers that show no progress.
pub static NO_PROGRESS: AtomicU64 = AtomicU64::new(0);

/// Writes the archive to `out` (which must be empty) and returns what was written. `progress`
/// counts the bytes of entries written so far.
pub fn write<F: Read + Write + Seek>(
    plan: &Plan,
    blobs: &dyn Blobs,
    signer: &Signer,
    out: F,
    progress: &AtomicU64,
) -> Result<(F, Built), BuildError> {
    let mut w = Writer {
        zip: ZipWriter::new(BufWriter::with_capacity(CHUNK, out)),
        files: Vec::new(),
        buf: vec![0u8; CHUNK],
        progress,
    };
    let mut counts = Counts {
        requirements: plan.requirements.len(),
        requests: plan.answers.len(),
        controls: plan.controls.len(),
        evidence_versions: plan.versions.len(),
        audit_events: plan.event_count,
        checkpoints: plan.checkpoints.len(),
        ..Counts::default()
    };
    let mut links = Vec::new();
    for v in &plan.versions {
        let evidence = EvidenceRef {
            evidence_id: v.evidence_id,
            version: v.version,
            title: v.title.clone(),
            effective_date: v.effective_date.clone(),
            covers: v.covers.map(|c| PeriodRef {
                start: c.start.to_string(),
                end: c.end.to_string(),
            }),
            uploaded_by: v.uploaded_by.clone(),
            uploaded_at: v.uploaded_at.clone(),
            controls: v.controls.clone(),
        };
        let Some(expected) = &v.sha256 else {
            links.push(LinkEntry {
                url: v.url.clone().unwrap_or_default(),
                evidence,
            });
            continue;
        };
        let missing = |why: String| BuildError::Missing {
            evidence_id: v.evidence_id,
            version: v.version,
            why,
        };
        let mut reader = blobs.open(expected).map_err(|e| missing(e.to_string()))?;
        let path = evidence_path(v.evidence_id, v.version, &v.filename);
        let (found, size) = w.entry(&path, v.size, &mut reader)?;
        if &found != expected {
            return Err(BuildError::Damaged {
                evidence_id: v.evidence_id,
                version: v.version,
                expected: expected.clone(),
                found,
            });
        }
        counts.evidence_files += 1;
        counts.evidence_bytes += size;
        w.files.push(FileEntry {
            path,
            sha256: found,
            size,
            role: "evidence".into(),
            evidence: Some(evidence),
        });
    }
    counts.links = links.len();
    w.text("soa.csv", "soa", &index::soa_csv(plan))?;
    w.text("index.csv", "index", &index::index_csv(plan))?;
    if plan.audit.is_some() {
        let csv = super::answers::requests_csv(&plan.answers, &plan.versions);
        w.text("requests.csv", "requests", &csv)?;
    }
    w.text("index.html", "index", index::index_html(plan).as_bytes())?;
    w.text(
        "README.txt",
        "readme",
        index::readme(plan, signer).as_bytes(),
    )?;
    {
        let mut events = io::BufReader::new(std::fs::File::open(&plan.events.0)?);
        let size = std::fs::metadata(&plan.events.0)?.len();
        let (sha256, size) = w.entry(EVENTS, size, &mut events)?;
        w.files.push(FileEntry {
            path: EVENTS.into(),
            sha256,
            size,
            role: "audit".into(),
            evidence: None,
        });
    }
    let checkpoints = pretty(&plan.checkpoints)?;
    w.text(CHECKPOINTS, "audit", &checkpoints)?;
    let pem = signer.public_key().to_pem();
    w.text(PUBLIC_KEY, "key", pem.as_bytes())?;
    let manifest = Manifest {
        format: FORMAT.into(),
        framework: FrameworkRef {
            key: plan.framework.key.clone(),
            name: plan.framework.name.clone(),
            version: plan.framework.version.clone(),
        },
        period: PeriodRef {
            start: plan.scope.period.start.to_string(),
            end: plan.scope.period.end.to_string(),
        },
        audit: plan.audit.as_ref().map(|(id, name)| AuditRef {
            id: *id,
            name: name.clone(),
        }),
        as_of: plan.head.clone(),
        created_at: plan.head.at.clone(),
        signing_key: KeyRef {
            public_key: signer.public_key_b64(),
            fingerprint: signer.fingerprint(),
        },
        counts,
        files: w.files.clone(),
        links,
    };
    let manifest_bytes = pretty(&manifest)?;
    let signature = signer.sign(&manifest_bytes).to_bytes();
    let (manifest_sha, _) = w.entry(
        MANIFEST,
        manifest_bytes.len() as u64,
        &mut &manifest_bytes[..],
    )?;
    let (sig_sha, _) = w.entry(SIGNATURE, 64, &mut &signature[..])?;
    let sums = sums_text(
        w.files
            .iter()
            .map(|f| (f.sha256.as_str(), f.path.as_str()))
            .chain([
                (manifest_sha.as_str(), MANIFEST),
                (sig_sha.as_str(), SIGNATURE),
            ]),
    );
    w.entry(SUMS, sums.len() as u64, &mut sums.as_bytes())?;
    let mut out = w.zip.finish()?.into_inner().map_err(|e| e.into_error())?;
    out.flush()?;
    // The archive's own hash, for the audit trail and the response header.
    out.seek(io::SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = out.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    out.seek(io::SeekFrom::Start(0))?;
    Ok((
        out,
        Built {
            sha256: hex::encode(hasher.finalize()),
            size,
            manifest,
        },
    ))
}

fn pretty<T: serde::Serialize>(v: &T) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}
