//! The budgets area's routes: every endpoint with its policy entry, and the plain handlers for
//! the budgets file (import, a multipart form that works without JavaScript; export). A
//! budget's page and its alerts are open to any signed-in user at the door; the area lets in
//! those who read all budgets and the budget's owner and deputy (checked on the object).

use crate::paths;
use crate::policy::{Access::*, Body, Endpoint, Permission::*};

/// The budgets file plus room for the form around it.
pub const MAX_IMPORT_BODY: usize = 4 * 1024 * 1024 + 64 * 1024;

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::BUDGETS, Perm(ViewBudgets)),
    Endpoint::page(paths::BUDGET, SignedIn),
    Endpoint::page(paths::MY_WORK, Perm(ViewOwnWork)),
    Endpoint::get_api(paths::BUDGET_EXPORT, Perm(ViewBudgets)),
    Endpoint::write_fn(paths::BUDGET_IMPORT, Perm(ManageBudgets))
        .body(Body::Limit(MAX_IMPORT_BODY)),
    Endpoint::read_fn("/api/list_budgets", Perm(ViewBudgets)),
    Endpoint::read_fn("/api/get_budget", SignedIn),
    Endpoint::read_fn("/api/my_budgets", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/save_budget", Perm(ManageBudgets)),
    Endpoint::write_fn("/api/acknowledge_alert", SignedIn),
    Endpoint::write_fn("/api/attest_period", SignedIn),
    Endpoint::write_fn("/api/set_attestation_control", Perm(ManageBudgets)),
];

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::budgets::{csvio, store};
    use crate::context::{RequestMeta, SessionUser};
    use crate::error::AppError;
    use crate::policy::Permission;
    use crate::state::AppState;
    use axum::extract::{Multipart, State};
    use axum::http::HeaderMap;
    use axum::response::Response;
    use axum::routing::{get, post};
    use axum::{Extension, Router};

    pub fn router<S: Clone + Send + Sync + 'static>(state: AppState) -> Router<S> {
        Router::new()
            .route(paths::BUDGET_IMPORT, post(import))
            .route(paths::BUDGET_EXPORT, get(export))
            .with_state(state)
    }

    pub async fn import(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        headers: HeaderMap,
        mp: Multipart,
    ) -> Response {
        let result = async {
            if !su.user.can(Permission::ManageBudgets) {
                return Err(AppError::Forbidden);
            }
            let (fname, bytes, _) = crate::ingest::small_form(mp, csvio::MAX_BYTES).await?;
            let rows = csvio::parse(&bytes)?;
            let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
            let report = store::import(&state.db, &ctx, &fname, &rows, state.clock.now()).await?;
            state.budgets_due.notify_one();
            Ok(report.to_text())
        }
        .await;
        match result {
            Ok(msg) => crate::reply::done(&headers, paths::BUDGETS, &msg),
            Err(e) => e.back_to(paths::BUDGETS),
        }
    }

    pub async fn export(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
    ) -> Result<Response, AppError> {
        if !su.user.can(Permission::ViewBudgets) {
            return Err(AppError::Forbidden);
        }
        let budgets = store::all(state.db.pool()).await?;
        let body = csvio::write(&budgets)?;
        Ok(crate::reply::csv_attachment("budgets.csv", body))
    }
}
