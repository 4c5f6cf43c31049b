//! One export from start to end, for the download route and `steward export-evidence` alike:
//! sign a checkpoint when the period's last events are not yet covered, read the plan in one
//! snapshot, write the ZIP on a blocking thread, record the audit event with its SHA-256.

use super::build::{self, Blobs, BuildError, Built};
use super::scope::Scope;
use super::store;
use crate::audit::chain::AuditCtx;
use crate::db::Db;
use crate::error::AppError;
use crate::evidence::blobs::BlobStore;
use crate::signing::Signer;
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::runtime::Handle;

/// The async blob store, read from the blocking thread that writes the archive.
struct Bridge {
    store: Arc<dyn BlobStore>,
    handle: Handle,
}

impl Blobs for Bridge {
    fn open(&self, sha256: &str) -> io::Result<Box<dyn Read + '_>> {
        let r = self
            .handle
            .block_on(self.store.open(sha256))
            .map_err(io::Error::other)?;
        Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
            r.reader,
            self.handle.clone(),
        )))
    }
}

pub struct Request<'a> {
    pub db: &'a Db,
    pub blobs: Arc<dyn BlobStore>,
    pub signer: &'a Signer,
    pub scope: &'a Scope,
    pub spool_dir: &'a Path,
    pub ctx: &'a AuditCtx,
    /// `store::EXPORTED` (a file written by the command line) or `store::DOWNLOADED`.
    pub action: &'a str,
    pub progress: Arc<Progress>,
}

/// How far a build has come: archive bytes written, against the evidence bytes it will copy
/// (known once the plan is read; the archive ends a little larger).
#[derive(Debug, Default)]
pub struct Progress {
    pub written: AtomicU64,
    pub expected: AtomicU64,
}

impl Progress {
    /// Whole percent, at most 99 while building (the last bytes are the index and manifest).
    pub fn percent(&self) -> u8 {
        let expected = self.expected.load(Ordering::Relaxed);
        if expected == 0 {
            return 0;
        }
        let done = self.written.load(Ordering::Relaxed);
        (done.saturating_mul(100) / expected).min(99) as u8
    }
}

/// The builds running in this process, by export id.
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<i64, Arc<Progress>>>);

impl Jobs {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Progress>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn percent(&self, id: i64) -> Option<u8> {
        self.lock().get(&id).map(|p| p.percent())
    }

    pub(super) fn running(&self) -> usize {
        self.lock().len()
    }
}

/// Writes the export into `out` (empty, readable and writable) and returns it rewound, and
/// records it in the audit trail (`req.action`).
pub async fn export(
    req: Request<'_>,
    out: std::fs::File,
) -> Result<(std::fs::File, Built), AppError> {
    let (file, built) = build(&req, out).await?;
    store::record(
        req.db,
        req.ctx,
        req.action,
        req.scope,
        &summary(req.scope, &built),
    )
    .await?;
    Ok((file, built))
}

/// The export's line in the audit trail: what it holds and the archive's SHA-256.
pub fn summary(scope: &Scope, built: &Built) -> String {
    let c = &built.manifest.counts;
    format!(
        "Evidence export of {} for {}: {} evidence file(s) ({}), {} link(s), {} audit event(s), \
         as of event #{}; ZIP sha256 {} ({} bytes)",
        scope.framework,
        scope.period,
        c.evidence_files,
        crate::util::human_size(c.evidence_bytes),
        c.links,
        c.audit_events,
        built.manifest.as_of.seq,
        built.sha256,
        built.size
    )
}

/// Writes the export into `out` without recording it (the caller does, with its own state).
pub async fn build(
    req: &Request<'_>,
    out: std::fs::File,
) -> Result<(std::fs::File, Built), AppError> {
    store::ensure_checkpoint(req.db, req.signer, req.scope, req.ctx).await?;
    let mut plan = store::plan(req.db, req.scope, req.spool_dir).await?;
    store::statuses(req.db, &mut plan).await?;
    req.progress.expected.store(
        plan.versions.iter().map(|v| v.size).sum(),
        Ordering::Relaxed,
    );
    let bridge = Bridge {
        store: req.blobs.clone(),
        handle: Handle::current(),
    };
    let signer = req.signer.clone();
    let progress = req.progress.clone();
    let (file, built) = tokio::task::spawn_blocking(move || {
        build::write(&plan, &bridge, &signer, out, &progress.written)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| match e {
        e @ (BuildError::Damaged { .. } | BuildError::Missing { .. }) => {
            tracing::error!(error = %e, "evidence export stopped");
            AppError::Damaged(e.to_string())
        }
        e => AppError::internal(e),
    })?;
    Ok((file, built))
}
