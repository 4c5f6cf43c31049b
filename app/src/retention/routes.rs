//! The retention routes: pages and server functions with their policy entries. No plain
//! routes. Compliance manages the schedule, the queue and legal holds; finance reads them.

use crate::paths;
use crate::policy::{Access::*, Endpoint, Permission::*};

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::RETENTION, Perm(ViewRetention)),
    Endpoint::page(paths::RETENTION_DISPOSALS, Perm(ViewRetention)),
    Endpoint::page(paths::LEGAL_HOLDS, Perm(ViewRetention)),
    Endpoint::read_fn("/api/retention_schedule", Perm(ViewRetention)),
    Endpoint::read_fn("/api/disposal_queue", Perm(ViewRetention)),
    Endpoint::read_fn("/api/list_legal_holds", Perm(ViewRetention)),
    Endpoint::write_fn("/api/save_retention_category", Perm(ManageRetention)),
    Endpoint::write_fn("/api/add_retention_location", Perm(ManageRetention)),
    Endpoint::write_fn("/api/save_retention_rule", Perm(ManageRetention)),
    Endpoint::write_fn("/api/review_retention_rule", Perm(ManageRetention)),
    Endpoint::write_fn("/api/add_retention_record", Perm(ManageRetention)),
    Endpoint::write_fn("/api/approve_disposal", Perm(ManageRetention)),
    Endpoint::write_fn("/api/record_disposal", Perm(ManageRetention)),
    Endpoint::write_fn("/api/place_legal_hold", Perm(ManageRetention)),
    Endpoint::write_fn("/api/add_hold_scope", Perm(ManageRetention)),
    Endpoint::write_fn("/api/release_legal_hold", Perm(ManageRetention)),
    Endpoint::write_fn("/api/run_own_retention", Perm(ManageRetention)),
];

#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    axum::Router::new().with_state(state)
}
