//! Authorization's vocabulary: roles → permissions, and what an endpoint needs (access, kind,
//! body bound). The table itself is made of the areas' route declarations (`<area>/routes.rs`),
//! assembled in `crate::routes`; the server enforces it for every request (unknown endpoints
//! are refused), and the role × endpoint test matrix reads the same table.

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
    /// Owns things (budgets, controls) without running a function: sees "My work", acts on
    /// what they own or deputise.
    Member,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Compliance,
        Role::Finance,
        Role::Auditor,
        Role::Member,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Compliance => "compliance",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
            Role::Member => "member",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Compliance => "Compliance officer",
            Role::Finance => "Finance",
            Role::Auditor => "Auditor (read-only)",
            Role::Member => "Member (owns budgets, controls)",
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
            "member" => Ok(Role::Member),
            other => Err(format!(
                "unknown role '{other}' (expected admin, compliance, finance, auditor or member)"
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
    /// Read every budget, its periods and alerts.
    ViewBudgets,
    /// Create, edit and import budgets.
    ManageBudgets,
    /// See every email and webhook delivery, send dead letters again, add webhooks.
    ManageNotifications,
    /// See "My work": what one owns or deputises (budgets, controls), and act on it (the
    /// ownership check is made by each area on the object).
    ViewOwnWork,
    /// Download signed, period-scoped evidence exports (each download is audited).
    ExportEvidence,
    /// See audits (engagements) and their request lists: every audit for the organisation,
    /// only their own for auditors (checked by the audits area).
    ViewAudits,
    /// Plan audits, assign auditors, raise requests and answer them with evidence.
    ManageAudits,
    /// See systems, their account snapshots and flags, and the people list.
    ViewAccessReviews,
    /// Add and edit systems, import account snapshots and the people list.
    ManageAccessReviews,
    /// See the vendor register: contracts, assurance reports, documents, warnings.
    ViewVendors,
    /// Add and edit vendors and their contracts (owners record their own vendors' reports).
    ManageVendors,
    /// See the retention schedule, the disposal queue and legal holds.
    ViewRetention,
    /// Manage retention rules and records, approve and record disposals, place and release
    /// legal holds, run the own-data job.
    ManageRetention,
    /// An auditor's work on the audits they are assigned to: draw samples, raise requests,
    /// comment, accept or return answers (the assignment is checked by the audits area).
    AuditWork,
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
            ViewBudgets,
            ManageBudgets,
            ViewOwnWork,
            ManageNotifications,
            ExportEvidence,
            ViewAudits,
            ManageAudits,
            ViewAccessReviews,
            ManageAccessReviews,
            ViewVendors,
            ManageVendors,
            ViewRetention,
            ManageRetention,
        ],
        Role::Compliance => &[
            ViewDashboard,
            ViewCompliance,
            ManageCompliance,
            SubmitEvidence,
            ViewOwnWork,
            ExportEvidence,
            ViewAudits,
            ManageAudits,
            ViewAccessReviews,
            ManageAccessReviews,
            ViewVendors,
            ManageVendors,
            ViewRetention,
            ManageRetention,
        ],
        Role::Finance => &[
            ViewDashboard,
            ViewCompliance,
            SubmitEvidence,
            ViewCosts,
            ManageCosts,
            ViewBudgets,
            ManageBudgets,
            ViewOwnWork,
            ViewVendors,
            ViewRetention,
        ],
        // Read-only, and within the compliance areas only what their audits cover
        // (`audits::reach`): no costs or budgets (a sampled budget attestation is shown on
        // the audit's own request).
        Role::Auditor => &[
            ViewDashboard,
            ViewAudit,
            ViewCompliance,
            ExportEvidence,
            ViewAudits,
            AuditWork,
        ],
        Role::Member => &[ViewDashboard, ViewOwnWork],
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

/// How an endpoint's request body is bounded, and whether the request timeout applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Forms and server functions: up to 1 MiB, within the 60 s request timeout.
    Small,
    /// Read whole by the handler (file imports): up to this many bytes, within the timeout.
    Limit(usize),
    /// Streamed by the handler, which bounds its own size and idle time: the server applies
    /// neither a body limit nor the request timeout (a large file on a slow link takes long).
    Streamed,
}

impl Body {
    pub const SMALL_BYTES: usize = 1024 * 1024;
}

/// One route as its area declares it (`<area>/routes.rs`): path, authorization, body bound
/// and timeout together. The areas' lists together are the one policy table (`crate::routes`).
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
    pub body: Body,
    /// A page that is a function of the signed-in user, its URL and the data's version alone
    /// (`context::DataVersion`): the server keeps its HTML and answers repeats from memory.
    pub cached: bool,
}

impl Endpoint {
    /// A server-rendered page (or a download a browser navigates to).
    pub const fn page(path: &'static str, access: Access) -> Self {
        Self::new("GET", path, Kind::Page, access, false)
    }
    /// A server function that reads.
    pub const fn read_fn(path: &'static str, access: Access) -> Self {
        Self::new("POST", path, Kind::Api, access, false)
    }
    /// A server function or plain POST route that changes state.
    pub const fn write_fn(path: &'static str, access: Access) -> Self {
        Self::new("POST", path, Kind::Api, access, true)
    }
    /// A file or data a script fetches (CSV exports, metrics): answers 401/403, never redirects.
    pub const fn get_api(path: &'static str, access: Access) -> Self {
        Self::new("GET", path, Kind::Api, access, false)
    }
    /// Static files and health checks: public, no session lookup.
    pub const fn asset(path: &'static str) -> Self {
        Self::new("GET", path, Kind::Asset, Access::Public, false)
    }
    const fn new(
        method: &'static str,
        path: &'static str,
        kind: Kind,
        access: Access,
        mutating: bool,
    ) -> Self {
        Endpoint {
            method,
            path,
            kind,
            access,
            mutating,
            body: Body::Small,
            cached: false,
        }
    }
    /// The same page, its HTML kept per user, URL and data version (see `cached`). Only for
    /// pages that read nothing else: not the session, other cookies or request headers.
    pub const fn cached(self) -> Self {
        Endpoint {
            cached: true,
            ..self
        }
    }
    /// The same endpoint with another body bound.
    pub const fn body(self, body: Body) -> Self {
        Endpoint { body, ..self }
    }
    /// The body limit the server enforces, `None` for a streamed body.
    pub fn body_limit(&self) -> Option<usize> {
        match self.body {
            Body::Small => Some(Body::SMALL_BYTES),
            Body::Limit(n) => Some(n),
            Body::Streamed => None,
        }
    }
    /// Whether the server's request timeout applies.
    pub fn timed(&self) -> bool {
        self.body != Body::Streamed
    }
}

/// The policy table: every endpoint Steward serves. A request that matches none of them is
/// answered 404 before any handler runs, so a forgotten entry fails closed (and fails the
/// role-matrix test).
#[derive(Debug)]
pub struct Table {
    endpoints: Vec<Endpoint>,
    /// Patterns without parameters, by (method, path): a request (and every nav link a page
    /// checks) is found with one hash lookup instead of a scan of the table.
    literal: std::collections::HashMap<(&'static str, &'static str), usize>,
}

impl Table {
    pub fn new(endpoints: Vec<Endpoint>) -> Table {
        let mut literal = std::collections::HashMap::new();
        for (i, e) in endpoints.iter().enumerate() {
            if !e.path.contains('{') {
                // The first entry wins, as in the scan.
                literal.entry((e.method, e.path)).or_insert(i);
            }
        }
        Table { endpoints, literal }
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The entry for a request; HEAD is treated as GET. Where several patterns match, the one
    /// with the most literal segments applies (`/controls/export.csv` over `/controls/{id}`),
    /// so the order of the areas' lists does not matter. A literal pattern has none, so an
    /// exact match needs no scan.
    pub fn lookup(&self, method: &str, path: &str) -> Option<&Endpoint> {
        let method = if method == "HEAD" { "GET" } else { method };
        if let Some(&i) = self.literal.get(&(method, path)) {
            return Some(&self.endpoints[i]);
        }
        self.endpoints
            .iter()
            .filter(|e| e.method == method && e.path.contains('{') && path_matches(e.path, path))
            .min_by_key(|e| e.path.matches('{').count())
    }

    /// The entry written for exactly this method and pattern.
    pub fn entry(&self, method: &str, pattern: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.method == method && e.path == pattern)
    }

    /// Whether any entry has this path, whatever the method (to answer 405 rather than 404).
    pub fn path_known(&self, path: &str) -> bool {
        self.endpoints.iter().any(|e| path_matches(e.path, path))
    }

    /// Whether the signed-in role may open this page (the nav shows only those).
    pub fn may_open(&self, role: Role, page: &str) -> bool {
        self.lookup("GET", page)
            .is_some_and(|e| e.access.allows(Some(role)))
    }
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
}
