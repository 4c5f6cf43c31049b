//! Evidence exports built in the background: a request records the export (`building`) and
//! returns at once; a task writes the archive under `<data dir>/exports` while the page shows
//! its progress; the finished file is kept `KEEP_DAYS` days for download, then deleted. Each
//! step (requested, built or failed, downloaded, expired) is an audit event written with the
//! row's change. Builds live in this process: one left `building` by a stopped server is
//! marked failed when the next one starts.

use super::run::{self, Progress, Request};
use super::scope::Scope;
use super::store::DOWNLOADED;
use super::ExportJob;
use crate::audit::chain::AuditCtx;
use crate::context::CurrentUser;
use crate::error::AppError;
use crate::policy::Permission;
use crate::state::AppState;
use crate::util::ts;
use sqlx::Row;
use std::path::PathBuf;
use std::sync::Arc;

pub const REQUESTED: &str = "export.requested";
pub const BUILT: &str = "export.built";
pub const FAILED: &str = "export.failed";
pub const EXPIRED: &str = "export.expired";

/// How long a built export stays downloadable.
pub const KEEP_DAYS: i64 = 7;
/// Builds at once, for the whole installation: each reads every evidence file of its scope.
pub const MAX_BUILDING: usize = 3;

/// Records the export and starts building it; its id.
pub async fn start(
    state: &AppState,
    user: &CurrentUser,
    scope: Scope,
    ctx: AuditCtx,
) -> Result<i64, AppError> {
    if state.export_jobs.running() >= MAX_BUILDING {
        return Err(AppError::Conflict(format!(
            "{MAX_BUILDING} exports are being built already: try again when one is ready."
        )));
    }
    std::fs::create_dir_all(&state.export_dir).map_err(AppError::internal)?;
    let stored = format!("export-{}.zip", crate::util::random_hex(12));
    let mut tx = state.db.write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO evidence_exports (requested_by, requested_at, framework, period_start, \
         period_end, audit_id, status, file_name, stored) \
         VALUES ($1, $2, $3, $4, $5, $6, 'building', $7, $8) RETURNING id",
    )
    .bind(user.id)
    .bind(&ctx.at)
    .bind(&scope.framework)
    .bind(scope.period.start.to_string())
    .bind(scope.period.end.to_string())
    .bind(scope.audit)
    .bind(scope.file_name())
    .bind(&stored)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(ctx.event(
        REQUESTED,
        "export",
        id,
        format!(
            "requested evidence export #{id} of {} for {}{}, built in the background",
            scope.framework,
            scope.period,
            scope.audit.map(|a| format!(" (audit #{a})")).unwrap_or_default()
        ),
    ))
    .await?;
    tx.commit().await?;
    let progress = Arc::new(Progress::default());
    state.export_jobs.lock().insert(id, progress.clone());
    let (state, user) = (state.clone(), user.clone());
    tokio::spawn(async move {
        let path = state.export_dir.join(&stored);
        // A checkpoint the build signs is dated when it runs, not when it was asked for.
        let ctx = AuditCtx {
            at: ts(state.clock.now()),
            ..ctx
        };
        let outcome = build(&state, &scope, &ctx, &path, progress).await;
        if let Err(e) = finish(&state, id, &user, &scope, &path, outcome).await {
            tracing::error!(export = id, error = %e, "recording the end of an export failed");
        }
        state.export_jobs.lock().remove(&id);
    });
    Ok(id)
}

async fn build(
    state: &AppState,
    scope: &Scope,
    ctx: &AuditCtx,
    path: &std::path::Path,
    progress: Arc<Progress>,
) -> Result<super::build::Built, AppError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(AppError::internal)?;
    let req = Request {
        db: &state.db,
        blobs: state.blobs.clone(),
        signer: &state.signer,
        scope,
        spool_dir: &state.spool_dir,
        ctx,
        action: BUILT,
        progress,
    };
    let (file, built) = run::build(&req, file).await?;
    file.sync_all().map_err(AppError::internal)?;
    Ok(built)
}

/// Marks the export ready (or failed, its file removed), with the audit event, in one
/// transaction; the event's time is the build's end.
async fn finish(
    state: &AppState,
    id: i64,
    user: &CurrentUser,
    scope: &Scope,
    path: &std::path::Path,
    outcome: Result<super::build::Built, AppError>,
) -> Result<(), AppError> {
    let ctx = crate::state::audit_ctx_for(state, &Default::default(), Some(user));
    let mut tx = state.db.write().await?;
    match &outcome {
        Ok(built) => {
            let expires = ts(state.clock.now() + time::Duration::days(KEEP_DAYS));
            sqlx::query(
                "UPDATE evidence_exports SET status = 'ready', size_bytes = $1, sha256 = $2, \
                 finished_at = $3, expires_at = $4 WHERE id = $5",
            )
            .bind(built.size as i64)
            .bind(&built.sha256)
            .bind(&ctx.at)
            .bind(&expires)
            .bind(id)
            .execute(tx.conn())
            .await?;
            let summary = format!("#{id}: {}", run::summary(scope, built));
            tx.audit(ctx.event(BUILT, "export", id, summary)).await?;
        }
        Err(e) => {
            let _ = std::fs::remove_file(path);
            let message = e.to_string();
            if matches!(e, AppError::Internal(_)) {
                tracing::error!(export = id, error = ?e, "evidence export failed");
            }
            mark_failed(&mut tx, &ctx, id, &message, &message).await?;
        }
    }
    tx.commit().await
}

/// The export's failure: its row and the audit event, in the caller's transaction.
async fn mark_failed(
    tx: &mut crate::db::WriteTx,
    ctx: &AuditCtx,
    id: i64,
    message: &str,
    why: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE evidence_exports SET status = 'failed', error = $1, finished_at = $2 WHERE id = $3",
    )
    .bind(message)
    .bind(&ctx.at)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        FAILED,
        "export",
        id,
        format!("evidence export #{id} failed: {why}"),
    ))
    .await?;
    Ok(())
}

/// Whether `user` may see this export: the organisation sees every one, an auditor those of
/// the audits they are assigned to.
async fn may_see(
    state: &AppState,
    user: &CurrentUser,
    audit: Option<i64>,
) -> Result<bool, AppError> {
    if user.can(Permission::ManageAudits) {
        return Ok(true);
    }
    match audit {
        Some(a) => crate::audits::store::is_auditor_of(state.db.pool(), a, user.id).await,
        None => Ok(false),
    }
}

/// The exports `user` may see, newest first (at most 50).
pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<ExportJob>, AppError> {
    let organisation = user.can(Permission::ManageAudits);
    let rows = sqlx::query(
        "SELECT x.id, x.framework, x.period_start, x.period_end, x.audit_id, a.name AS audit_name, \
         u.display_name, x.requested_at, x.status, x.size_bytes, x.sha256, x.error, x.expires_at \
         FROM evidence_exports x JOIN users u ON u.id = x.requested_by \
         LEFT JOIN audits a ON a.id = x.audit_id \
         WHERE $1 = 1 OR x.audit_id IN (SELECT audit_id FROM audit_auditors WHERE user_id = $2) \
         ORDER BY x.id DESC LIMIT 50",
    )
    .bind(organisation as i64)
    .bind(user.id)
    .fetch_all(state.db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let status: String = r.try_get("status")?;
        out.push(ExportJob {
            id,
            framework: r.try_get("framework")?,
            start: r.try_get("period_start")?,
            end: r.try_get("period_end")?,
            audit: r.try_get("audit_id")?,
            audit_name: r.try_get("audit_name")?,
            requested_by: r.try_get("display_name")?,
            requested_at: r.try_get("requested_at")?,
            percent: match status.as_str() {
                "building" => state.export_jobs.percent(id),
                _ => None,
            },
            status,
            size: r.try_get("size_bytes")?,
            sha256: r.try_get("sha256")?,
            error: r.try_get("error")?,
            expires_at: r.try_get("expires_at")?,
        });
    }
    Ok(out)
}

/// A built export to send: its open file, download name, size and SHA-256, after recording
/// the download.
pub async fn open(
    state: &AppState,
    user: &CurrentUser,
    ctx: &AuditCtx,
    id: i64,
) -> Result<(std::fs::File, String, u64, String), AppError> {
    let missing = || AppError::Missing("No such export.".into());
    let row = sqlx::query(
        "SELECT framework, period_start, period_end, audit_id, status, file_name, stored, \
         size_bytes, sha256, expires_at FROM evidence_exports WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(state.db.pool())
    .await?
    .ok_or_else(missing)?;
    let audit: Option<i64> = row.try_get("audit_id")?;
    if !may_see(state, user, audit).await? {
        return Err(missing());
    }
    let status: String = row.try_get("status")?;
    match status.as_str() {
        "ready" => {}
        "building" => {
            return Err(AppError::Conflict(
                "This export is still being built.".into(),
            ))
        }
        "failed" => {
            return Err(AppError::Conflict(
                "This export failed: build it again.".into(),
            ))
        }
        _ => {
            return Err(AppError::Missing(format!(
                "This export expired on {} and its file was deleted: build it again.",
                row.try_get::<Option<String>, _>("expires_at")?
                    .unwrap_or_default()
            )))
        }
    }
    let stored: String = row.try_get("stored")?;
    let size = row.try_get::<Option<i64>, _>("size_bytes")?.unwrap_or(0) as u64;
    let sha256: String = row
        .try_get::<Option<String>, _>("sha256")?
        .unwrap_or_default();
    let file = std::fs::File::open(state.export_dir.join(&stored)).map_err(AppError::internal)?;
    let on_disk = file.metadata().map_err(AppError::internal)?.len();
    if on_disk != size {
        return Err(AppError::Damaged(format!(
            "The stored export #{id} is {on_disk} bytes where {size} were written: build it again."
        )));
    }
    let scope = Scope {
        framework: row.try_get("framework")?,
        period: crate::calendar::Period::new(
            crate::util::parse_date(&row.try_get::<String, _>("period_start")?)
                .ok_or_else(missing)?,
            crate::util::parse_date(&row.try_get::<String, _>("period_end")?)
                .ok_or_else(missing)?,
        )
        .ok_or_else(missing)?,
        audit,
    };
    let summary = format!(
        "Download of evidence export #{id} of {} for {}: ZIP sha256 {sha256} ({size} bytes)",
        scope.framework, scope.period
    );
    super::store::record(&state.db, ctx, DOWNLOADED, &scope, &summary).await?;
    Ok((file, row.try_get("file_name")?, size, sha256))
}

/// Deletes the files of exports past their time and marks them expired; at start-up (before
/// any request can start a build), also marks builds a stopped server left unfinished as
/// failed, and removes files no export names. How many exports changed.
pub async fn sweep(state: &AppState, at_start: bool) -> Result<usize, AppError> {
    let now = ts(state.clock.now());
    let ctx = AuditCtx {
        actor: "system".into(),
        at: now.clone(),
        ..AuditCtx::default()
    };
    let mut changed = 0;
    let due: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, stored FROM evidence_exports WHERE status = 'ready' AND expires_at <= $1",
    )
    .bind(&now)
    .fetch_all(state.db.pool())
    .await?;
    for (id, stored) in due {
        let mut tx = state.db.write().await?;
        let n = sqlx::query(
            "UPDATE evidence_exports SET status = 'expired' WHERE id = $1 AND status = 'ready'",
        )
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if n == 1 {
            tx.audit(ctx.event(
                EXPIRED,
                "export",
                id,
                format!("evidence export #{id}: its file was deleted after {KEEP_DAYS} days"),
            ))
            .await?;
            tx.commit().await?;
            changed += 1;
        }
        // After the row says so: a download never finds a ready export without its file.
        remove(&state.export_dir.join(&stored));
    }
    if !at_start {
        return Ok(changed);
    }
    let left: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, stored FROM evidence_exports WHERE status = 'building'")
            .fetch_all(state.db.pool())
            .await?;
    for (id, stored) in left {
        remove(&state.export_dir.join(&stored));
        let mut tx = state.db.write().await?;
        mark_failed(
            &mut tx,
            &ctx,
            id,
            "The server stopped before the export was built: build it again.",
            "the server stopped while building it",
        )
        .await?;
        tx.commit().await?;
        changed += 1;
    }
    let kept: std::collections::HashSet<String> =
        sqlx::query_scalar("SELECT stored FROM evidence_exports WHERE status = 'ready'")
            .fetch_all(state.db.pool())
            .await?
            .into_iter()
            .collect();
    if let Ok(dir) = std::fs::read_dir(&state.export_dir) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !kept.contains(&name) {
                remove(&entry.path());
            }
        }
    }
    Ok(changed)
}

fn remove(path: &PathBuf) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not delete an export file");
        }
    }
}

/// Sweeps every `every` (the start-up sweep runs before the server takes requests).
pub fn schedule(state: AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = sweep(&state, false).await {
                tracing::error!(error = %e, "sweeping evidence exports failed");
            }
        }
    });
}
