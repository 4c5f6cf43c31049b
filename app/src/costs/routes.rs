//! The cost area's routes: every endpoint it serves with its policy entry, and the plain
//! handlers (the upload form's streamed import and the report's CSV export).

use crate::paths;
use crate::policy::{Access::*, Body, Endpoint, Permission::*};

/// Largest cost file accepted over HTTP (CUR files run to gigabytes; the import streams).
pub const MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::COSTS, Perm(ViewCosts)).cached(),
    Endpoint::page(paths::COST_DATA, Perm(ViewCosts)),
    Endpoint::get_api(paths::COST_EXPORT, Perm(ViewCosts)),
    // Spooled at the client's pace under its own size and idle limits, then imported.
    Endpoint::write_fn(paths::COST_UPLOAD, Perm(ManageCosts)).body(Body::Streamed),
    Endpoint::read_fn("/api/cost_report", Perm(ViewCosts)),
    Endpoint::read_fn("/api/list_cost_batches", Perm(ViewCosts)),
    Endpoint::read_fn("/api/cost_sync_status", Perm(ViewCosts)),
    Endpoint::write_fn("/api/start_cost_sync", Perm(ManageCosts)),
];

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::context::{RequestMeta, SessionUser};
    use crate::costs::import::import_upload;
    use crate::costs::report::{self, ReportQuery};
    use crate::error::AppError;
    use crate::ingest::{self, Form, FormError, FormLimits};
    use crate::policy::Permission;
    use crate::state::AppState;
    use axum::body::Body;
    use axum::extract::{Query, State};
    use axum::http::{header, HeaderMap};
    use axum::response::Response;
    use axum::routing::{get, post};
    use axum::{Extension, Router};

    pub fn router<S: Clone + Send + Sync + 'static>(state: AppState) -> Router<S> {
        Router::new()
            .route(paths::COST_UPLOAD, post(upload))
            .route(paths::COST_EXPORT, get(export))
            .with_state(state)
    }

    /// Bytes of multipart framing allowed beside the file.
    const FRAMING_BYTES: u64 = 64 * 1024;

    /// A display name only: the last path component, printable characters, bounded.
    fn display_name(raw: Option<&str>) -> String {
        let base = raw
            .unwrap_or("upload.csv")
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("upload.csv");
        let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
        if clean.trim().is_empty() || clean == "." || clean == ".." {
            "upload.csv".into()
        } else {
            clean
        }
    }

    /// Receives the file into the spool folder first, at the client's pace, and only then
    /// imports it: the import's write lock is never held while a client sends (a slow or
    /// stalled upload would hold up every other writer). A refused or abandoned upload leaves
    /// nothing behind.
    pub async fn upload(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        headers: HeaderMap,
        body: Body,
    ) -> Response {
        let result = async {
            if !su.user.can(Permission::ManageCosts) {
                return Err(AppError::Forbidden);
            }
            let declared = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > MAX_UPLOAD_BYTES + FRAMING_BYTES) {
                return Err(AppError::invalid(format!(
                    "The file is larger than {} GiB.",
                    MAX_UPLOAD_BYTES >> 30
                )));
            }
            let limits = FormLimits {
                max_bytes: MAX_UPLOAD_BYTES + FRAMING_BYTES,
                max_header: 16 * 1024,
                max_field: 1024,
                file: ("file", MAX_UPLOAD_BYTES),
                max_fields: 8,
                idle: state.upload_idle,
            };
            let form_error = |e: FormError| AppError::invalid(e.to_string());
            let mut form = Form::new(&headers, body, limits).map_err(form_error)?;
            let (file_name, spooled) = loop {
                match form.next_field().await.map_err(form_error)? {
                    Some(mut f) if f.name() == Some("file") => {
                        let name = display_name(f.file_name());
                        let spooled = ingest::spool(&mut f, &state.spool_dir, MAX_UPLOAD_BYTES)
                            .await
                            .map_err(form_error)?;
                        break (name, spooled);
                    }
                    // Other fields (a submit button) are read and ignored, within bounds.
                    Some(mut f) => {
                        ingest::text(&mut f, "field", 1024)
                            .await
                            .map_err(AppError::invalid)?;
                    }
                    None => return Err(AppError::invalid("Choose a cost file to import.")),
                }
            };
            let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
            let report = import_upload(&state.db, spooled.path(), file_name, ctx)
                .await
                .map_err(AppError::from)?;
            drop(spooled);
            state.cost_cube.refresh_soon(&state.db);
            state.budgets_due.notify_one();
            Ok(report.to_text().lines().collect::<Vec<_>>().join("; "))
        }
        .await;
        match result {
            Ok(msg) => crate::reply::done(&headers, paths::COST_DATA, &msg),
            Err(e) => e.back_to(paths::COST_DATA),
        }
    }

    pub async fn export(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Query(q): Query<ReportQuery>,
    ) -> Result<Response, AppError> {
        let result = async {
            if !su.user.can(Permission::ViewCosts) {
                return Err(AppError::Forbidden);
            }
            let r = report::build(&state.db, &state.cost_cube, q, state.clock.now().date()).await?;
            let body = report::to_csv(&r)?;
            let name = format!(
                "costs-{}-{}-by-{}.csv",
                r.query.from,
                r.query.to,
                r.query.group_by.replace(':', "-")
            );
            Ok((name, body))
        }
        .await;
        result.map(|(name, body)| crate::reply::csv_attachment(&name, body))
    }
}
