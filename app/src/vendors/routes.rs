//! The vendors' routes: pages and server functions with their policy entries. No plain routes.
//! A vendor's page and the owner's records are open to anyone who owns work (members
//! included): the area checks the viewer owns the vendor or may read the register.

use crate::paths;
use crate::policy::{Access::*, Endpoint, Permission::*};

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::VENDORS, Perm(ViewVendors)),
    Endpoint::page(paths::VENDOR, Perm(ViewOwnWork)),
    Endpoint::read_fn("/api/list_vendors", Perm(ViewVendors)),
    Endpoint::read_fn("/api/get_vendor", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/save_vendor", Perm(ManageVendors)),
    Endpoint::write_fn("/api/save_vendor_contract", Perm(ManageVendors)),
    Endpoint::write_fn("/api/add_vendor_scope", Perm(ManageVendors)),
    Endpoint::write_fn("/api/remove_vendor_scope", Perm(ManageVendors)),
    Endpoint::write_fn("/api/add_vendor_assurance", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/add_vendor_document", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/record_vendor_review", Perm(ViewOwnWork)),
];

#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    axum::Router::new().with_state(state)
}
