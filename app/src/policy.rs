//! The one declarative authorization policy: roles → permissions, and every endpoint → the
//! access it needs. The server enforces it for every request (unknown endpoints are refused),
//! and the role × endpoint test matrix reads the same table.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Compliance,
    Finance,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Compliance, Role::Finance, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Compliance => "compliance",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Compliance => "Compliance officer",
            Role::Finance => "Finance",
            Role::Auditor => "Auditor (read-only)",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "compliance" => Ok(Role::Compliance),
            "finance" => Ok(Role::Finance),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!(
                "unknown role '{other}' (expected admin, compliance, finance or auditor)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// See the dashboard and one's own account.
    ViewDashboard,
    /// Create users, change roles, deactivate, reset passwords.
    ManageUsers,
    /// Browse the audit trail.
    ViewAudit,
    /// Read operational metrics.
    ViewMetrics,
    /// Read frameworks, controls and evidence.
    ViewCompliance,
    /// Import frameworks; create, edit and map controls; manage any evidence.
    ManageCompliance,
    /// Add evidence: compliance staff for any control, other users only for controls they own
    /// (the ownership check is made by the evidence area).
    SubmitEvidence,
    /// Read cloud spend: cost reports and import history.
    ViewCosts,
    /// Import cost files, run syncs, configure cost sources.
    ManageCosts,
    /// Sign an audit checkpoint on demand (the key itself never leaves the server).
    SignCheckpoints,
}

/// Role → permissions. Ownership (of controls, budgets, systems) is a relation on the owned
/// object, not a role, and is checked by each area on top of these permissions.
pub fn permissions(role: Role) -> &'static [Permission] {
    use Permission::*;
    match role {
        Role::Admin => &[
            ViewDashboard,
            ManageUsers,
            ViewAudit,
            ViewMetrics,
            ViewCompliance,
            ManageCompliance,
            SubmitEvidence,
            ViewCosts,
            ManageCosts,
            SignCheckpoints,
        ],
        Role::Compliance => &[
            ViewDashboard,
            ViewCompliance,
            ManageCompliance,
            SubmitEvidence,
        ],
        Role::Finance => &[
            ViewDashboard,
            ViewCompliance,
            SubmitEvidence,
            ViewCosts,
            ManageCosts,
        ],
        Role::Auditor => &[ViewDashboard, ViewAudit, ViewCompliance, ViewCosts],
    }
}

pub fn role_has(role: Role, perm: Permission) -> bool {
    permissions(role).contains(&perm)
}

/// What an endpoint requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in, active user.
    SignedIn,
    /// A signed-in user whose role grants this permission.
    Perm(Permission),
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (_, None) => false,
            (Access::SignedIn, Some(_)) => true,
            (Access::Perm(p), Some(r)) => role_has(r, p),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A server-rendered page: anonymous users are redirected to the login page.
    Page,
    /// A server function or API route: answers 401/403.
    Api,
    /// Static files and operational endpoints.
    Asset,
}

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    /// `/literal/{param}/{*rest}` (axum's syntax, from `crate::paths`); `{*rest}` matches the
    /// remainder.
    pub path: &'static str,
    pub kind: Kind,
    pub access: Access,
    /// Whether the endpoint changes state (checked by the CSRF tests).
    pub mutating: bool,
}

const fn page(path: &'static str, access: Access) -> Endpoint {
    Endpoint {
        method: "GET",
        path,
        kind: Kind::Page,
        access,
        mutating: false,
    }
}
const fn read_fn(path: &'static str, access: Access) -> Endpoint {
    Endpoint {
        method: "POST",
        path,
        kind: Kind::Api,
        access,
        mutating: false,
    }
}
const fn write_fn(path: &'static str, access: Access) -> Endpoint {
    Endpoint {
        method: "POST",
        path,
        kind: Kind::Api,
        access,
        mutating: true,
    }
}
/// A file or data a script fetches (CSV exports, metrics): answers 401/403, never redirects.
const fn get_api(path: &'static str, access: Access) -> Endpoint {
    Endpoint {
        method: "GET",
        path,
        kind: Kind::Api,
        access,
        mutating: false,
    }
}
const fn asset(path: &'static str) -> Endpoint {
    Endpoint {
        method: "GET",
        path,
        kind: Kind::Asset,
        access: Access::Public,
        mutating: false,
    }
}

use crate::paths::*;
use Access::*;
use Permission::*;

/// Every endpoint Steward serves. A request that matches none of these is answered 404 before
/// any handler runs, so forgetting an entry fails closed (and fails the role-matrix test).
/// Pages are `App`'s routes, `/api/…` the server functions, the rest the areas' plain routes
/// (`routes.rs`) and the server's own; a test checks each has exactly one entry here.
pub const ENDPOINTS: &[Endpoint] = &[
    // Pages
    page(LOGIN, Public),
    page(DASHBOARD, Perm(ViewDashboard)),
    page(ACCOUNT, SignedIn),
    page(USERS, Perm(ManageUsers)),
    page(AUDIT, Perm(ViewAudit)),
    page(SETTINGS, Perm(ViewAudit)),
    // Server functions: auth
    write_fn("/api/login", Public),
    write_fn("/api/logout", SignedIn),
    write_fn("/api/change_password", SignedIn),
    read_fn("/api/me", Public),
    // Server functions: users
    read_fn("/api/list_users", Perm(ManageUsers)),
    write_fn("/api/create_user", Perm(ManageUsers)),
    write_fn("/api/update_user", Perm(ManageUsers)),
    write_fn("/api/reset_password", Perm(ManageUsers)),
    // Server functions: audit, dashboard
    read_fn("/api/list_audit_events", Perm(ViewAudit)),
    read_fn("/api/verify_audit_chain", Perm(ViewAudit)),
    read_fn("/api/signing_settings", Perm(ViewAudit)),
    write_fn("/api/create_checkpoint", Perm(SignCheckpoints)),
    read_fn("/api/dashboard", Perm(ViewDashboard)),
    // Frameworks and controls
    get_api(FRAMEWORK_EXPORT, Perm(ViewCompliance)),
    get_api(CONTROL_EXPORT, Perm(ViewCompliance)),
    // (The exports come before `/controls/{id}`: the first matching entry applies.)
    page(FRAMEWORKS, Perm(ViewCompliance)),
    page(FRAMEWORK, Perm(ViewCompliance)),
    page(CONTROLS, Perm(ViewCompliance)),
    page(CONTROL, Perm(ViewCompliance)),
    page(MY_CONTROLS, Perm(ViewCompliance)),
    write_fn(FRAMEWORK_IMPORT, Perm(ManageCompliance)),
    write_fn(CONTROL_IMPORT, Perm(ManageCompliance)),
    read_fn("/api/list_frameworks", Perm(ViewCompliance)),
    write_fn("/api/import_builtin_framework", Perm(ManageCompliance)),
    read_fn("/api/list_requirements", Perm(ViewCompliance)),
    read_fn("/api/list_controls", Perm(ViewCompliance)),
    read_fn("/api/get_control", Perm(ViewCompliance)),
    write_fn("/api/save_control", Perm(ManageCompliance)),
    write_fn("/api/map_control", Perm(ManageCompliance)),
    write_fn("/api/unmap_control", Perm(ManageCompliance)),
    write_fn("/api/set_due_soon_days", Perm(ManageCompliance)),
    // Cloud costs
    page(COSTS, Perm(ViewCosts)),
    page(COST_DATA, Perm(ViewCosts)),
    get_api(COST_EXPORT, Perm(ViewCosts)),
    write_fn(COST_UPLOAD, Perm(ManageCosts)),
    read_fn("/api/cost_report", Perm(ViewCosts)),
    read_fn("/api/list_cost_batches", Perm(ViewCosts)),
    read_fn("/api/cost_sync_status", Perm(ViewCosts)),
    write_fn("/api/start_cost_sync", Perm(ManageCosts)),
    // Evidence
    page(EVIDENCE, Perm(ViewCompliance)),
    page(EVIDENCE_NEW, Perm(SubmitEvidence)),
    page(EVIDENCE_ITEM, Perm(ViewCompliance)),
    // A file download (plain route): anonymous browsers are sent to sign in, like a page.
    page(EVIDENCE_DOWNLOAD, Perm(ViewCompliance)),
    // The multipart upload (plain route); ownership of the controls is checked by the handler.
    write_fn(EVIDENCE_UPLOAD, Perm(SubmitEvidence)),
    read_fn("/api/list_evidence", Perm(ViewCompliance)),
    read_fn("/api/get_evidence", Perm(ViewCompliance)),
    read_fn("/api/evidence_options", Perm(ViewCompliance)),
    // Operations
    asset(HEALTHZ),
    asset(READYZ),
    get_api(METRICS, Perm(ViewMetrics)),
    // Static files
    asset(PKG),
    asset(FAVICON),
];

/// Finds the policy entry for a request. HEAD is treated as GET.
pub fn lookup(method: &str, path: &str) -> Option<&'static Endpoint> {
    let method = if method == "HEAD" { "GET" } else { method };
    ENDPOINTS
        .iter()
        .find(|e| e.method == method && path_matches(e.path, path))
}

/// The entry written for exactly this method and path pattern (how a route declaration finds
/// its policy entry).
pub fn entry(method: &str, pattern: &str) -> Option<&'static Endpoint> {
    ENDPOINTS
        .iter()
        .find(|e| e.method == method && e.path == pattern)
}

/// Whether any entry has this path, whatever the method (to answer 405 rather than 404).
pub fn path_known(path: &str) -> bool {
    ENDPOINTS.iter().any(|e| path_matches(e.path, path))
}

/// Whether the signed-in role may open this page (the nav shows only those).
pub fn may_open(role: Role, page: &str) -> bool {
    lookup("GET", page).is_some_and(|e| e.access.allows(Some(role)))
}

pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return true,
            (Some(p), Some(g)) if p.starts_with("{*") => {
                // The rest must be non-empty and free of traversal.
                return !g.is_empty() && g != ".." && got.all(|s| s != "..");
            }
            (Some(p), Some(g)) if p.starts_with('{') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(p), Some(g)) => {
                if p != g {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exactly() {
        assert!(path_matches("/", "/"));
        assert!(!path_matches("/", "/x"));
        assert!(path_matches("/pkg/{*file}", "/pkg/steward.wasm"));
        assert!(!path_matches("/pkg/{*file}", "/pkg/"));
        assert!(!path_matches("/pkg/{*file}", "/pkg/../secret"));
        assert!(path_matches("/controls/{id}", "/controls/7"));
        assert!(!path_matches("/controls/{id}", "/controls/7/edit"));
        assert!(!path_matches("/admin/users", "/admin/users/"));
    }

    #[test]
    fn auditor_is_read_only() {
        for e in ENDPOINTS.iter().filter(|e| e.mutating) {
            let open_to_auditor = e.access.allows(Some(Role::Auditor));
            let open_to_all = matches!(e.access, Public | SignedIn);
            assert!(
                !open_to_auditor || open_to_all,
                "{} lets auditors write",
                e.path
            );
        }
    }

    /// Each entry is the one that applies to its own paths: none is shadowed by an earlier one.
    #[test]
    fn every_entry_is_reachable() {
        for e in ENDPOINTS {
            let concrete = crate::paths::fill(e.path, &[&1, &1]);
            let found = lookup(e.method, &concrete).map(|f| f.path);
            assert_eq!(found, Some(e.path), "{} {concrete}", e.method);
            assert_eq!(
                ENDPOINTS
                    .iter()
                    .filter(|f| f.method == e.method && f.path == e.path)
                    .count(),
                1,
                "{} {} is listed twice",
                e.method,
                e.path
            );
        }
    }

    #[test]
    fn head_is_get() {
        assert_eq!(lookup("HEAD", "/healthz").map(|e| e.path), Some("/healthz"));
        assert!(lookup("DELETE", "/healthz").is_none());
    }
}
