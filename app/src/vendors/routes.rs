//! The vendors' routes: pages and server functions with their policy entries, and the plain
//! handlers for the register as CSV (an upload that goes on to its mapping step, a multipart
//! form that works without JavaScript; the export). A vendor's page and the owner's records
//! are open to anyone who owns work (members included): the area checks the viewer owns the
//! vendor or may read the register.

use crate::paths;
use crate::policy::{Access::*, Body, Endpoint, Permission::*};

/// A vendor file plus room for the form around it.
pub const MAX_IMPORT_BODY: usize = 4 * 1024 * 1024 + 64 * 1024;

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::VENDORS, Perm(ViewVendors)),
    Endpoint::page(paths::VENDOR, Perm(ViewOwnWork)),
    Endpoint::page(paths::VENDOR_MAP, Perm(ManageVendors)),
    Endpoint::write_fn(paths::VENDOR_IMPORT, Perm(ManageVendors))
        .body(Body::Limit(MAX_IMPORT_BODY)),
    Endpoint::get_api(paths::VENDOR_EXPORT, Perm(ViewVendors)),
    Endpoint::read_fn("/api/list_vendors", Perm(ViewVendors)),
    Endpoint::read_fn("/api/get_vendor", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/save_vendor", Perm(ManageVendors)),
    Endpoint::write_fn("/api/save_vendor_contract", Perm(ManageVendors)),
    Endpoint::write_fn("/api/add_vendor_scope", Perm(ManageVendors)),
    Endpoint::write_fn("/api/remove_vendor_scope", Perm(ManageVendors)),
    Endpoint::write_fn("/api/add_vendor_assurance", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/add_vendor_document", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/record_vendor_review", Perm(ViewOwnWork)),
    Endpoint::read_fn("/api/pending_vendor_import", Perm(ManageVendors)),
    Endpoint::write_fn("/api/import_vendors", Perm(ManageVendors)),
];

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::context::SessionUser;
    use crate::error::AppError;
    use crate::policy::Permission;
    use crate::state::AppState;
    use crate::vendors::{csvio, import};
    use axum::extract::{Multipart, State};
    use axum::http::HeaderMap;
    use axum::response::Response;
    use axum::routing::{get, post};
    use axum::{Extension, Router};

    pub fn router<S: Clone + Send + Sync + 'static>(state: AppState) -> Router<S> {
        Router::new()
            .route(paths::VENDOR_IMPORT, post(upload))
            .route(paths::VENDOR_EXPORT, get(export))
            .with_state(state)
    }

    /// A vendor file, kept for its mapping step (readable as CSV, within the bounds).
    pub async fn upload(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        headers: HeaderMap,
        mp: Multipart,
    ) -> Response {
        let result = async {
            if !su.user.can(Permission::ManageVendors) {
                return Err(AppError::Forbidden);
            }
            let (name, bytes, _) = crate::ingest::small_form(mp, csvio::MAX_BYTES).await?;
            import::keep(&state, &name, &bytes)
        }
        .await;
        match result {
            Ok(token) => crate::reply::mapping_step(
                &headers,
                &format!("{}?upload={token}", paths::VENDOR_MAP),
                &token,
            ),
            Err(e) => e.back_to(paths::VENDORS),
        }
    }

    pub async fn export(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
    ) -> Result<Response, AppError> {
        if !su.user.can(Permission::ViewVendors) {
            return Err(AppError::Forbidden);
        }
        let body = import::export(&state).await?;
        Ok(crate::reply::csv_attachment("vendors.csv", body))
    }
}
