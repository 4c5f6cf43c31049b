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
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
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
    pub progress: Arc<AtomicU64>,
}

/// Writes the export into `out` (empty, readable and writable) and returns it rewound.
pub async fn export(
    req: Request<'_>,
    out: std::fs::File,
) -> Result<(std::fs::File, Built), AppError> {
    store::ensure_checkpoint(req.db, req.signer, req.scope, req.ctx).await?;
    let mut plan = store::plan(req.db, req.scope, req.spool_dir).await?;
    store::statuses(req.db, &mut plan).await?;
    let bridge = Bridge {
        store: req.blobs.clone(),
        handle: Handle::current(),
    };
    let signer = req.signer.clone();
    let progress = req.progress.clone();
    let (file, built) =
        tokio::task::spawn_blocking(move || build::write(&plan, &bridge, &signer, out, &progress))
            .await
            .map_err(AppError::internal)?
            .map_err(|e| match e {
                e @ (BuildError::Damaged { .. } | BuildError::Missing { .. }) => {
                    tracing::error!(error = %e, "evidence export stopped");
                    AppError::Damaged(e.to_string())
                }
                e => AppError::internal(e),
            })?;
    let c = &built.manifest.counts;
    let summary = format!(
        "Evidence export of {} for {}: {} evidence file(s) ({}), {} link(s), {} audit event(s), \
         as of event #{}; ZIP sha256 {} ({} bytes)",
        req.scope.framework,
        req.scope.period,
        c.evidence_files,
        crate::util::human_size(c.evidence_bytes),
        c.links,
        c.audit_events,
        built.manifest.as_of.seq,
        built.sha256,
        built.size
    );
    store::record(req.db, req.ctx, req.action, req.scope, &summary).await?;
    Ok((file, built))
}
