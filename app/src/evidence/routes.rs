//! The evidence area's routes: every endpoint it serves with its policy entry, and the router
//! for its two plain routes, the multipart upload (`upload`, streamed to the blob store, never
//! held in memory) and the file download (`download`, hash-checked before and while sending).

use crate::paths;
use crate::policy::{Access::*, Body, Endpoint, Permission::*};

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::EVIDENCE, Perm(ViewCompliance)),
    Endpoint::page(paths::EVIDENCE_NEW, Perm(SubmitEvidence)),
    Endpoint::page(paths::EVIDENCE_ITEM, Perm(ViewCompliance)),
    // A file download (plain route): anonymous browsers are sent to sign in, like a page.
    Endpoint::page(paths::EVIDENCE_DOWNLOAD, Perm(ViewCompliance)),
    // The multipart upload counts its own bytes against the configured limit and abandons a
    // stalled stream; ownership of the controls is checked by the handler.
    Endpoint::write_fn(paths::EVIDENCE_UPLOAD, Perm(SubmitEvidence)).body(Body::Streamed),
    Endpoint::read_fn("/api/list_evidence", Perm(ViewCompliance)),
    Endpoint::read_fn("/api/get_evidence", Perm(ViewCompliance)),
    Endpoint::read_fn("/api/evidence_options", Perm(ViewCompliance)),
];

/// The plain routes, with their own state so any router can merge them.
#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(paths::EVIDENCE_UPLOAD, post(super::upload::upload))
        .route(paths::EVIDENCE_DOWNLOAD, get(super::download::download))
        .with_state(state)
}
