//! The notifications area's routes: the inbox (everyone signed in: their own messages) and the
//! delivery status with webhooks (administrators). No plain routes.

use crate::paths;
use crate::policy::{Access::*, Endpoint, Permission::*};

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::NOTIFICATIONS, SignedIn),
    Endpoint::page(paths::DELIVERIES, Perm(ManageNotifications)),
    Endpoint::read_fn("/api/inbox", SignedIn),
    Endpoint::read_fn("/api/unread_count", SignedIn),
    Endpoint::write_fn("/api/mark_read", SignedIn),
    Endpoint::write_fn("/api/save_preferences", SignedIn),
    Endpoint::read_fn("/api/list_deliveries", Perm(ManageNotifications)),
    Endpoint::write_fn("/api/retry_delivery", Perm(ManageNotifications)),
    Endpoint::write_fn("/api/add_webhook", Perm(ManageNotifications)),
];

#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    axum::Router::new().with_state(state)
}
