//! The access reviews' routes: every endpoint with its policy entry, and the plain handler for
//! an account file (a multipart form that works without JavaScript): a credential report
//! imports at once, a CSV goes on to its mapping step.

use crate::paths;
use crate::policy::{Access::*, Body, Endpoint, Permission::*};

/// An account file plus room for the form around it.
pub const MAX_IMPORT_BODY: usize = super::MAX_FILE_BYTES + 64 * 1024;

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::ACCESS_SYSTEMS, Perm(ViewAccessReviews)),
    Endpoint::page(paths::ACCESS_SYSTEM, Perm(ViewAccessReviews)),
    Endpoint::page(paths::ACCESS_MAP, Perm(ManageAccessReviews)),
    Endpoint::write_fn(paths::ACCESS_IMPORT, Perm(ManageAccessReviews))
        .body(Body::Limit(MAX_IMPORT_BODY)),
    Endpoint::page(paths::ACCESS_PEOPLE, Perm(ViewAccessReviews)),
    Endpoint::write_fn(paths::ACCESS_PEOPLE_IMPORT, Perm(ManageAccessReviews))
        .body(Body::Limit(MAX_IMPORT_BODY)),
    Endpoint::read_fn("/api/list_people", Perm(ViewAccessReviews)),
    Endpoint::write_fn("/api/save_access_rules", Perm(ManageAccessReviews)),
    Endpoint::page(paths::ACCESS_CAMPAIGNS, Perm(ViewAccessReviews)),
    Endpoint::page(paths::ACCESS_CAMPAIGN, Perm(ViewAccessReviews)),
    Endpoint::read_fn("/api/list_access_campaigns", Perm(ViewAccessReviews)),
    Endpoint::read_fn("/api/get_access_campaign", Perm(ViewAccessReviews)),
    Endpoint::write_fn("/api/save_access_campaign", Perm(ManageAccessReviews)),
    Endpoint::write_fn("/api/start_access_campaign", Perm(ManageAccessReviews)),
    // A reviewer's own entries: anyone who owns work (members included); the area checks
    // each entry is theirs (reassigning: the campaign's owner or compliance).
    Endpoint::page(paths::ACCESS_REVIEW, Perm(ViewOwnWork)),
    Endpoint::read_fn("/api/my_access_entries", Perm(ViewOwnWork)),
    Endpoint::read_fn("/api/my_access_work", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/decide_access_entry", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/bulk_decide_access_entries", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/reassign_access_entry", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/close_access_review", Perm(ManageAccessReviews)),
    // The area checks the signer is the campaign's owner.
    Endpoint::write_fn("/api/complete_access_campaign", Perm(ManageAccessReviews)),
    Endpoint::write_fn("/api/cancel_access_campaign", Perm(ManageAccessReviews)),
    // Assignees see their own items (members included); compliance sees every item.
    Endpoint::page(paths::ACCESS_REMEDIATION, Perm(ViewOwnWork)),
    Endpoint::read_fn("/api/remediation_board", Perm(ViewOwnWork)),
    Endpoint::write_fn(
        "/api/accept_remediation_exception",
        Perm(ManageAccessReviews),
    ),
    Endpoint::read_fn("/api/list_systems", Perm(ViewAccessReviews)),
    Endpoint::read_fn("/api/get_system", Perm(ViewAccessReviews)),
    Endpoint::write_fn("/api/save_system", Perm(ManageAccessReviews)),
    Endpoint::read_fn("/api/pending_account_import", Perm(ManageAccessReviews)),
    Endpoint::write_fn("/api/import_mapped_accounts", Perm(ManageAccessReviews)),
    Endpoint::write_fn("/api/snapshot_steward_users", Perm(ManageAccessReviews)),
];

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::access_reviews::import::{self, Outcome};
    use crate::context::{RequestMeta, SessionUser};
    use crate::error::AppError;
    use crate::policy::Permission;
    use crate::state::AppState;
    use axum::extract::{Multipart, Path, State};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Extension, Router};

    pub fn router<S: Clone + Send + Sync + 'static>(state: AppState) -> Router<S> {
        Router::new()
            .route(paths::ACCESS_IMPORT, post(upload))
            .route(paths::ACCESS_PEOPLE_IMPORT, post(people))
            .with_state(state)
    }

    pub async fn upload(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        Path(id): Path<String>,
        headers: HeaderMap,
        mp: Multipart,
    ) -> Response {
        let Ok(id) = id.parse::<i64>() else {
            return AppError::NotFound.into_response();
        };
        let back = paths::access_system(id);
        let result = async {
            if !su.user.can(Permission::ManageAccessReviews) {
                return Err(AppError::Forbidden);
            }
            let (name, bytes, _) =
                crate::ingest::small_form(mp, crate::access_reviews::mapped::MAX_BYTES).await?;
            let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
            import::import(
                &state.db,
                &ctx,
                import::File {
                    system_id: id,
                    file_name: &name,
                    bytes: &bytes,
                    today: state.clock.now().date(),
                    by: Some(su.user.id),
                },
                Some(&state.spool_dir),
            )
            .await
        }
        .await;
        match result {
            Ok(Outcome::Imported(out)) => crate::reply::done(&headers, &back, &out.describe()),
            Ok(Outcome::NeedsMapping(token)) => {
                crate::reply::mapping_step(&headers, &paths::access_map(id, &token), &token)
            }
            Err(e) => e.back_to(&back),
        }
    }

    /// The people list, replaced whole (all or nothing; a bad row is named).
    pub async fn people(
        State(state): State<AppState>,
        Extension(su): Extension<SessionUser>,
        Extension(meta): Extension<RequestMeta>,
        headers: HeaderMap,
        mp: Multipart,
    ) -> Response {
        let result = async {
            if !su.user.can(Permission::ManageAccessReviews) {
                return Err(AppError::Forbidden);
            }
            let (name, bytes, _) =
                crate::ingest::small_form(mp, crate::access_reviews::MAX_FILE_BYTES).await?;
            let read = crate::access_reviews::sources::read(&bytes)?;
            let people = crate::access_reviews::people::read(&read.rows)
                .map_err(|e| AppError::invalid(e.to_string()))?;
            let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
            let sha = crate::util::sha256_hex(&bytes);
            crate::access_reviews::store::people::replace(&state.db, &ctx, &people, &name, &sha)
                .await?;
            let active = people.iter().filter(|p| p.active).count();
            Ok(format!(
                "Imported {} people ({active} active); accounts imported from now on are matched against them.",
                people.len()
            ))
        }
        .await;
        match result {
            Ok(msg) => crate::reply::done(&headers, paths::ACCESS_PEOPLE, &msg),
            Err(e) => e.back_to(paths::ACCESS_PEOPLE),
        }
    }
}
