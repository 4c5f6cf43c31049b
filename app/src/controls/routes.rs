//! The controls area's routes: every endpoint it serves with its policy entry, and the plain
//! handlers for files: framework and control imports (multipart forms that work without
//! JavaScript) and CSV exports. The server's policy guard has already checked the role; the
//! handlers check again so they never rely on routing alone.

use crate::paths;
use crate::policy::{Access::*, Body, Endpoint, Permission::*};

/// The largest framework or controls file accepted (the NIST catalogs are 1–10 MB).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::FRAMEWORKS, Perm(ViewCompliance)).cached(),
    Endpoint::page(paths::FRAMEWORK, Perm(ViewCompliance)),
    Endpoint::page(paths::CONTROLS, Perm(ViewCompliance)).cached(),
    Endpoint::page(paths::CONTROL, Perm(ViewCompliance)),
    Endpoint::page(paths::MY_CONTROLS, Perm(ViewCompliance)),
    Endpoint::page(paths::FRAMEWORK_MAP, Perm(ManageCompliance)),
    Endpoint::get_api(paths::FRAMEWORK_EXPORT, Perm(ViewCompliance)),
    Endpoint::get_api(paths::FRAMEWORK_SOA, Perm(ViewCompliance)),
    Endpoint::get_api(paths::CONTROL_EXPORT, Perm(ViewCompliance)),
    // Read whole (an OSCAL catalog is parsed as one document).
    Endpoint::write_fn(paths::FRAMEWORK_IMPORT, Perm(ManageCompliance))
        .body(Body::Limit(MAX_IMPORT_BYTES)),
    Endpoint::write_fn(paths::CONTROL_IMPORT, Perm(ManageCompliance))
        .body(Body::Limit(MAX_IMPORT_BYTES)),
    Endpoint::read_fn("/api/list_frameworks", Perm(ViewCompliance)),
    Endpoint::write_fn("/api/import_builtin_framework", Perm(ManageCompliance)),
    Endpoint::read_fn("/api/list_requirements", Perm(ViewCompliance)),
    Endpoint::read_fn("/api/list_controls", Perm(ViewCompliance)),
    Endpoint::read_fn("/api/owned_controls", Perm(ViewOwnWork)),
    Endpoint::read_fn("/api/get_control", Perm(ViewCompliance)),
    Endpoint::write_fn("/api/save_control", Perm(ManageCompliance)),
    Endpoint::write_fn("/api/map_control", Perm(ManageCompliance)),
    Endpoint::write_fn("/api/unmap_control", Perm(ManageCompliance)),
    Endpoint::write_fn("/api/set_due_soon_days", Perm(ManageCompliance)),
    Endpoint::read_fn("/api/pending_framework_import", Perm(ManageCompliance)),
    Endpoint::write_fn("/api/import_mapped_framework", Perm(ManageCompliance)),
    Endpoint::write_fn("/api/set_requirement_applicability", Perm(ManageCompliance)),
    Endpoint::write_fn("/api/accept_suggestion", Perm(ManageCompliance)),
];

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::audits::reach::Reach;
    use crate::context::{RequestMeta, SessionUser};
    use crate::controls::csvio;
    use crate::error::AppError;
    use crate::policy::Permission;
    use crate::state::AppState;
    use axum::extract::{Multipart, Path, State};
    use axum::http::HeaderMap;
    use axum::response::Response;
    use axum::routing::{get, post};
    use axum::{Extension, Router};

    pub fn router<S: Clone + Send + Sync + 'static>(state: AppState) -> Router<S> {
        Router::new()
            .route(paths::FRAMEWORK_IMPORT, post(import_framework))
            .route(paths::CONTROL_IMPORT, post(import_controls))
            .route(paths::FRAMEWORK_EXPORT, get(export_framework))
            .route(paths::FRAMEWORK_SOA, get(export_soa))
            .route(paths::CONTROL_EXPORT, get(export_controls))
            .with_state(state)
    }

    /// Any framework file (or a profile with its catalogs): imported at once, except a
    /// framework CSV, which goes on to its mapping step.
    pub async fn import_framework(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        headers: HeaderMap,
        mp: Multipart,
    ) -> Response {
        use crate::controls::intake::{self, Kind, Options, Upload};
        let result = async {
            if !su.user.can(Permission::ManageCompliance) {
                return Err(AppError::Forbidden);
            }
            let (files, fields) = crate::ingest::small_files(mp, MAX_IMPORT_BYTES).await?;
            let nonempty = |k: &str| {
                fields
                    .get(k)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            if let [(name, bytes)] = files.as_slice() {
                if intake::kind(name, bytes) == Kind::FrameworkCsv {
                    let token =
                        crate::controls::store::framework_requests::keep(&state, name, bytes)?;
                    return Ok(Err(token));
                }
            }
            let out = intake::import(
                &state.db,
                &crate::state::audit_ctx_for(&state, &meta, Some(&su.user)),
                files
                    .into_iter()
                    .map(|(file_name, bytes)| Upload { file_name, bytes })
                    .collect(),
                Options {
                    name: nonempty("name"),
                    version: nonempty("version"),
                    locale: nonempty("locale"),
                },
            )
            .await?;
            let to = match out.framework_id() {
                Some(id) => paths::framework(id),
                None => paths::FRAMEWORKS.to_string(),
            };
            Ok(Ok((to, out.describe())))
        }
        .await;
        match result {
            Ok(Ok((to, msg))) => crate::reply::done(&headers, &to, &msg),
            Ok(Err(token)) => crate::reply::mapping_step(
                &headers,
                &format!("{}?upload={token}", paths::FRAMEWORK_MAP),
                &token,
            ),
            Err(e) => e.back_to(paths::FRAMEWORKS),
        }
    }

    pub async fn import_controls(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        headers: HeaderMap,
        mp: Multipart,
    ) -> Response {
        let result = async {
            if !su.user.can(Permission::ManageCompliance) {
                return Err(AppError::Forbidden);
            }
            let (_, bytes, _) = crate::ingest::small_form(mp, MAX_IMPORT_BYTES).await?;
            let out = csvio::import_controls(
                &state.db,
                &crate::state::audit_ctx_for(&state, &meta, Some(&su.user)),
                &bytes,
            )
            .await?;
            Ok((paths::CONTROLS.to_string(), out.describe()))
        }
        .await;
        match result {
            Ok((to, msg)) => crate::reply::done(&headers, &to, &msg),
            Err(e) => e.back_to(paths::CONTROLS),
        }
    }

    /// The framework `id` names, when the user may read it (an auditor: one of their audits');
    /// any other answers "not found".
    async fn readable_framework(
        state: &AppState,
        su: &SessionUser,
        id: &str,
    ) -> Result<i64, AppError> {
        if !su.user.can(Permission::ViewCompliance) {
            return Err(AppError::Forbidden);
        }
        let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
        let reach = Reach::of(state.db.pool(), &su.user).await?;
        if !reach.framework(id) {
            return Err(AppError::NotFound);
        }
        Ok(id)
    }

    pub async fn export_framework(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Path(id): Path<String>,
    ) -> Result<Response, AppError> {
        let id = readable_framework(&state, &su, &id).await?;
        let (name, body) = csvio::export_framework(state.db.pool(), id).await?;
        Ok(crate::reply::csv_attachment(&name, body))
    }

    /// The framework's Statement of Applicability.
    pub async fn export_soa(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Path(id): Path<String>,
    ) -> Result<Response, AppError> {
        let id = readable_framework(&state, &su, &id).await?;
        let pool = state.db.pool();
        let st = crate::controls::store::statuses(pool, state.clock.now().date()).await?;
        let (key, rows) = crate::controls::store::soa_rows(pool, id, &st).await?;
        let body = crate::controls::soa::to_csv(&rows)?;
        let name = format!("{}-statement-of-applicability.csv", key.replace(':', "-"));
        Ok(crate::reply::csv_attachment(&name, body))
    }

    pub async fn export_controls(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
    ) -> Result<Response, AppError> {
        if !su.user.can(Permission::ViewCompliance) {
            return Err(AppError::Forbidden);
        }
        let reach = Reach::of(state.db.pool(), &su.user).await?;
        let body = csvio::export_controls(state.db.pool(), &reach).await?;
        Ok(crate::reply::csv_attachment("controls.csv", body))
    }
}
