//! Every path Steward serves outside `/api/`, written once, in axum's syntax (`{id}`, `{*rest}`)
//! as the router and the policy table both read it: pages (what the nav and links point at),
//! plain routes (uploads, downloads, file imports and exports), operations and static files.
//!
//! A leaf: the policy table, the areas' routers and their pages all name paths from here.
//! Server functions are not listed: `#[server(endpoint = "…")]` puts each at `/api/<endpoint>`.
//! (Page routes in `App` repeat the page paths in Leptos's own `path!` syntax; a test checks
//! that each has its policy entry.)

// Pages.
pub const LOGIN: &str = "/login";
pub const DASHBOARD: &str = "/";
pub const ACCOUNT: &str = "/account";
pub const USERS: &str = "/admin/users";
pub const AUDIT: &str = "/audit";
pub const SETTINGS: &str = "/settings";
pub const FRAMEWORKS: &str = "/frameworks";
pub const FRAMEWORK: &str = "/frameworks/{id}";
pub const CONTROLS: &str = "/controls";
pub const CONTROL: &str = "/controls/{id}";
pub const MY_CONTROLS: &str = "/my/controls";
pub const COSTS: &str = "/costs";
pub const COST_DATA: &str = "/costs/import";
pub const EVIDENCE: &str = "/evidence";
pub const EVIDENCE_NEW: &str = "/evidence/new";
pub const EVIDENCE_ITEM: &str = "/evidence/{id}";
pub const BUDGETS: &str = "/budgets";
pub const BUDGET: &str = "/budgets/{id}";
/// What the signed-in user owns or deputises, across areas.
pub const MY_WORK: &str = "/my/work";
pub const NOTIFICATIONS: &str = "/notifications";
pub const DELIVERIES: &str = "/admin/deliveries";
/// Evidence exports: the form, and (plain route) the signed ZIP it downloads.
pub const EXPORTS: &str = "/exports";
pub const ACCESS_SYSTEMS: &str = "/access/systems";
pub const ACCESS_SYSTEM: &str = "/access/systems/{id}";
/// An account file for a system (multipart; a CSV then goes to the mapping step).
pub const ACCESS_IMPORT: &str = "/access/systems/{id}/import";
/// The mapping step of a CSV waiting under `?upload=TOKEN`.
pub const ACCESS_MAP: &str = "/access/systems/{id}/map";
/// The people list (HR export) and the flag rules.
pub const ACCESS_PEOPLE: &str = "/access/people";
pub const ACCESS_PEOPLE_IMPORT: &str = "/access/people/import";
pub const ACCESS_CAMPAIGNS: &str = "/access/campaigns";
pub const ACCESS_CAMPAIGN: &str = "/access/campaigns/{id}";
/// A reviewer's queue: their entries only.
pub const ACCESS_REVIEW: &str = "/access/review";
/// Remediation items: what to remove or change, and whether a later snapshot shows it done.
pub const ACCESS_REMEDIATION: &str = "/access/remediation";
pub const VENDORS: &str = "/vendors";
pub const VENDOR: &str = "/vendors/{id}";
pub const RETENTION: &str = "/retention";
pub const RETENTION_DISPOSALS: &str = "/retention/disposals";
pub const LEGAL_HOLDS: &str = "/retention/holds";
/// The mapping step of a vendor file waiting under `?upload=TOKEN`.
pub const VENDOR_MAP: &str = "/vendors/import/map";
/// Audits (engagements) and their request lists (PBC).
pub const AUDITS: &str = "/audits";
pub const AUDIT_ITEM: &str = "/audits/{id}";
pub const AUDIT_REQUEST: &str = "/audits/requests/{id}";

// Plain routes (each area's `routes.rs`).
pub const FRAMEWORK_IMPORT: &str = "/frameworks/import";
pub const FRAMEWORK_EXPORT: &str = "/frameworks/{id}/export.csv";
pub const FRAMEWORK_SOA: &str = "/frameworks/{id}/soa.csv";
pub const FRAMEWORK_MAP: &str = "/frameworks/import/map";
pub const CONTROL_IMPORT: &str = "/controls/import";
pub const CONTROL_EXPORT: &str = "/controls/export.csv";
pub const COST_UPLOAD: &str = "/costs/upload";
pub const COST_EXPORT: &str = "/costs/export.csv";
/// Not under `/evidence/…`, so that no page path can answer a GET for it.
pub const EVIDENCE_UPLOAD: &str = "/upload/evidence";
pub const EVIDENCE_DOWNLOAD: &str = "/evidence/{id}/versions/{version}/download";
pub const BUDGET_IMPORT: &str = "/budgets/import";
pub const BUDGET_EXPORT: &str = "/budgets/export.csv";
/// A vendor file (multipart; then the mapping step), and the register as CSV.
pub const VENDOR_IMPORT: &str = "/vendors/import";
pub const VENDOR_EXPORT: &str = "/vendors/export.csv";
pub const EVIDENCE_EXPORT: &str = "/exports/evidence.zip";
/// The Statement of Applicability alone, for the same scope as the export.
pub const SOA_EXPORT: &str = "/exports/soa.csv";
/// An export built in the background, once ready.
pub const EXPORT_DOWNLOAD: &str = "/exports/{id}/download";

// Operations and static files (the server's own routes).
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";
pub const FAVICON: &str = "/favicon.ico";
pub const PKG: &str = "/pkg/{*file}";

/// A path with its `{…}` parameters filled in order: `fill(CONTROL, &[&7])` is `/controls/7`.
pub fn fill(pattern: &str, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut args = args.iter();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        match args.next() {
            Some(a) => out.push_str(&a.to_string()),
            None => out.push_str(&rest[open..close]),
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

pub fn framework(id: i64) -> String {
    fill(FRAMEWORK, &[&id])
}

pub fn framework_export(id: i64) -> String {
    fill(FRAMEWORK_EXPORT, &[&id])
}

pub fn framework_soa(id: i64) -> String {
    fill(FRAMEWORK_SOA, &[&id])
}

pub fn control(id: i64) -> String {
    fill(CONTROL, &[&id])
}

pub fn evidence_item(id: i64) -> String {
    fill(EVIDENCE_ITEM, &[&id])
}

pub fn budget(id: i64) -> String {
    fill(BUDGET, &[&id])
}

pub fn access_system(id: i64) -> String {
    fill(ACCESS_SYSTEM, &[&id])
}

pub fn vendor(id: i64) -> String {
    fill(VENDOR, &[&id])
}

pub fn access_campaign(id: i64) -> String {
    fill(ACCESS_CAMPAIGN, &[&id])
}

pub fn access_import(id: i64) -> String {
    fill(ACCESS_IMPORT, &[&id])
}

pub fn access_map(id: i64, token: &str) -> String {
    format!("{}?upload={token}", fill(ACCESS_MAP, &[&id]))
}

pub fn export_download(id: i64) -> String {
    fill(EXPORT_DOWNLOAD, &[&id])
}

pub fn audit(id: i64) -> String {
    fill(AUDIT_ITEM, &[&id])
}

pub fn audit_request(id: i64) -> String {
    fill(AUDIT_REQUEST, &[&id])
}

pub fn evidence_download(id: i64, version: i64) -> String {
    fill(EVIDENCE_DOWNLOAD, &[&id, &version])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_filled_in_order() {
        assert_eq!(control(7), "/controls/7");
        assert_eq!(evidence_download(3, 2), "/evidence/3/versions/2/download");
        assert_eq!(framework_export(12), "/frameworks/12/export.csv");
        assert_eq!(fill(FRAMEWORK, &[]), FRAMEWORK);
    }
}
