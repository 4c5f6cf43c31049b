//! The dashboard area's routes: every endpoint it serves, with its policy entry. It has no plain
//! routes (its pages are `App`'s, its server functions are at `/api/<name>`), so its router is
//! empty; a plain route added here is declared in `ENDPOINTS` and routed in `router`.

use crate::paths;
use crate::policy::{Access::*, Endpoint, Permission::*};

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::DASHBOARD, Perm(ViewDashboard)).cached(),
    Endpoint::read_fn("/api/dashboard", Perm(ViewDashboard)),
];

#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    axum::Router::new().with_state(state)
}
