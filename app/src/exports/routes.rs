//! The exports area's routes: the form page, its options, and the download (plain route),
//! which builds the archive on a blocking thread into an unlinked spool file and streams it.

use crate::paths;
use crate::policy::{Access::*, Endpoint, Permission::*};

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::EXPORTS, Perm(ExportEvidence)),
    // The archive is written at disk speed (hundreds of MiB/s) before the first byte is sent:
    // the request timeout bounds that wait, and the body then streams from an open file.
    Endpoint::page(paths::EVIDENCE_EXPORT, Perm(ExportEvidence)),
    Endpoint::page(paths::SOA_EXPORT, Perm(ExportEvidence)),
    Endpoint::read_fn("/api/export_options", Perm(ExportEvidence)),
    // Built in the background (the page shows progress), kept for download; auditors start
    // the exports of their audits (an export's only write is its own record).
    Endpoint::write_fn("/api/start_evidence_export", Perm(ExportEvidence)),
    Endpoint::read_fn("/api/list_evidence_exports", Perm(ExportEvidence)),
    Endpoint::page(paths::EXPORT_DOWNLOAD, Perm(ExportEvidence)),
];

#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    use axum::routing::get;
    axum::Router::new()
        .route(paths::EVIDENCE_EXPORT, get(ssr::download))
        .route(paths::SOA_EXPORT, get(ssr::soa))
        .route(paths::EXPORT_DOWNLOAD, get(ssr::built))
        .with_state(state)
}

#[cfg(feature = "ssr")]
pub(crate) use ssr::scope_for;

#[cfg(feature = "ssr")]
mod ssr {
    use super::super::run::{self, Request};
    use super::super::scope::Scope;
    use super::super::store::DOWNLOADED;
    use super::super::{answers, index, structure};
    use crate::context::{CurrentUser, RequestMeta, SessionUser};
    use crate::error::AppError;
    use crate::policy::Permission;
    use crate::state::AppState;
    use axum::body::Body;
    use axum::extract::{Path, Query, State};
    use axum::response::Response;
    use http::header::{self, HeaderValue};
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Params {
        #[serde(default)]
        framework: String,
        #[serde(default)]
        from: String,
        #[serde(default)]
        to: String,
        /// An audit's export: its period and frameworks (and its requests) instead.
        #[serde(default)]
        audit: String,
    }

    /// The Statement of Applicability of the same scope, alone: every requirement, its
    /// applicability from the mapped controls, their justifications and status (a read: no
    /// archive, no audit event).
    pub async fn soa(
        State(state): State<AppState>,
        su: SessionUser,
        Query(p): Query<Params>,
    ) -> Result<Response, AppError> {
        let scope = scope_for(&state, &su.user, &p.framework, &p.from, &p.to, &p.audit).await?;
        let mut tx = crate::audit::chain::begin_snapshot(&state.db).await?;
        let fid: Option<i64> = sqlx::query_scalar("SELECT id FROM frameworks WHERE key = $1")
            .bind(&scope.framework)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(fid) = fid else {
            return Err(AppError::Missing(format!(
                "framework: no imported framework has the key '{}'",
                scope.framework
            )));
        };
        let mut s = structure::read(&mut tx, fid, &scope.period).await?;
        tx.rollback().await?;
        let now = crate::util::ts(state.clock.now());
        structure::statuses(&state.db, &scope.period, &now, &mut s.controls).await?;
        let name = scope
            .file_name()
            .replace("steward-evidence-", "soa-")
            .replace(".zip", ".csv");
        Ok(crate::reply::csv_attachment(
            &name,
            index::soa(&s.requirements, &s.controls),
        ))
    }

    /// Compliance officers and administrators export any framework and period; auditors only
    /// the audits they are assigned to.
    pub(crate) async fn scope_for(
        state: &AppState,
        user: &CurrentUser,
        framework: &str,
        from: &str,
        to: &str,
        audit: &str,
    ) -> Result<Scope, AppError> {
        let organisation = user.can(Permission::ManageAudits);
        match audit.trim() {
            "" if organisation => Scope::parse(framework, from, to).map_err(AppError::Invalid),
            "" => Err(AppError::Denied(
                "Auditors export the evidence of their audits: open the audit and use its export link."
                    .into(),
            )),
            raw => {
                let id: i64 = raw
                    .parse()
                    .map_err(|_| AppError::Invalid(format!("audit: '{raw}' is not an audit number")))?;
                let pool = state.db.pool();
                if !organisation && !crate::audits::store::is_auditor_of(pool, id, user.id).await? {
                    return Err(AppError::Missing("audit: no such audit".into()));
                }
                answers::audit_scope(pool, id, framework).await
            }
        }
    }

    pub async fn download(
        State(state): State<AppState>,
        su: SessionUser,
        meta: RequestMeta,
        Query(p): Query<Params>,
    ) -> Result<Response, AppError> {
        let scope = scope_for(&state, &su.user, &p.framework, &p.from, &p.to, &p.audit).await?;
        let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
        std::fs::create_dir_all(&state.spool_dir).map_err(AppError::internal)?;
        let path = state
            .spool_dir
            .join(format!("export-{}.zip", crate::util::random_hex(8)));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(AppError::internal)?;
        // Unlinked at once: the open handle keeps the bytes until the response is sent, and
        // nothing is left behind if the server stops.
        std::fs::remove_file(&path).map_err(AppError::internal)?;
        let (file, built) = run::export(
            Request {
                db: &state.db,
                blobs: state.blobs.clone(),
                signer: &state.signer,
                scope: &scope,
                spool_dir: &state.spool_dir,
                ctx: &ctx,
                action: DOWNLOADED,
                progress: Default::default(),
            },
            file,
        )
        .await?;
        Ok(zip_response(
            file,
            &scope.file_name(),
            built.size,
            &built.sha256,
        ))
    }

    /// An export built in the background, once ready (each download is audited).
    pub async fn built(
        State(state): State<AppState>,
        su: SessionUser,
        meta: RequestMeta,
        Path(id): Path<String>,
    ) -> Result<Response, AppError> {
        let id: i64 = id
            .parse()
            .map_err(|_| AppError::Missing("No such export.".into()))?;
        let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
        let (file, name, size, sha256) =
            super::super::jobs::open(&state, &su.user, &ctx, id).await?;
        Ok(zip_response(file, &name, size, &sha256))
    }

    fn zip_response(file: std::fs::File, name: &str, size: u64, sha256: &str) -> Response {
        let stream = tokio_util::io::ReaderStream::with_capacity(
            tokio::fs::File::from_std(file),
            256 * 1024,
        );
        let mut resp = Response::new(Body::from_stream(stream));
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        if let Ok(v) = HeaderValue::from_str(sha256) {
            h.insert("x-steward-export-sha256", v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}
