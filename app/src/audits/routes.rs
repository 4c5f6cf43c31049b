//! The audits area's routes: its pages and server functions with their policy entries. No
//! plain routes (the export of an audit is the exports area's download with `audit=ID`).

use crate::paths;
use crate::policy::{Access::*, Endpoint, Permission::*};

/// The only writes open to auditors, each limited to the audits they are assigned to by the
/// area (`requests.rs`): raising requests, drawing samples, comments, accepting or returning;
/// and starting a background export of their audit (`exports::jobs`: its own record only).
pub const AUDITOR_WRITES: [&str; 5] = [
    "/api/add_audit_request",
    "/api/draw_sample",
    "/api/comment_audit_request",
    "/api/move_audit_request",
    "/api/start_evidence_export",
];

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::page(paths::AUDITS, Perm(ViewAudits)),
    Endpoint::page(paths::AUDIT_ITEM, Perm(ViewAudits)),
    Endpoint::page(paths::AUDIT_REQUEST, Perm(ViewAudits)),
    Endpoint::read_fn("/api/list_audits", Perm(ViewAudits)),
    Endpoint::read_fn("/api/get_audit", Perm(ViewAudits)),
    Endpoint::read_fn("/api/get_audit_request", Perm(ViewAudits)),
    Endpoint::read_fn("/api/my_audit_requests", Perm(ViewOwnWork)),
    Endpoint::write_fn("/api/save_audit", Perm(ManageAudits)),
    Endpoint::write_fn("/api/set_audit_status", Perm(ManageAudits)),
    Endpoint::write_fn("/api/attach_request_evidence", Perm(ManageAudits)),
    // Either side, on the audits it may see (checked by the area).
    Endpoint::write_fn(AUDITOR_WRITES[0], Perm(ViewAudits)),
    Endpoint::write_fn(AUDITOR_WRITES[1], Perm(AuditWork)),
    Endpoint::write_fn(AUDITOR_WRITES[2], Perm(ViewAudits)),
    Endpoint::write_fn(AUDITOR_WRITES[3], Perm(ViewAudits)),
];

#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    axum::Router::new().with_state(state)
}
