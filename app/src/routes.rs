//! The one policy table and the one router, assembled from the areas' declarations: each area's
//! `routes.rs` lists every endpoint it serves (`ENDPOINTS`: path, access, body bound, timeout)
//! and routes its plain handlers (`router`). The server merges `router` and enforces `TABLE`;
//! it knows no area's path. A new area adds its two lines here.

use crate::paths;
use crate::policy::{Access::*, Endpoint, Permission::*, Table};
use std::sync::LazyLock;

/// The server's own endpoints: operations and static files.
pub const SERVER: &[Endpoint] = &[
    Endpoint::asset(paths::HEALTHZ),
    Endpoint::asset(paths::READYZ),
    Endpoint::get_api(paths::METRICS, Perm(ViewMetrics)),
    Endpoint::asset(paths::PKG),
    Endpoint::asset(paths::FAVICON),
];

/// Every endpoint Steward serves: the areas' lists and the server's.
pub static TABLE: LazyLock<Table> = LazyLock::new(|| {
    Table::new(
        [
            crate::auth::routes::ENDPOINTS,
            crate::users::routes::ENDPOINTS,
            crate::audit::routes::ENDPOINTS,
            crate::settings::routes::ENDPOINTS,
            crate::dashboard::routes::ENDPOINTS,
            crate::controls::routes::ENDPOINTS,
            crate::costs::routes::ENDPOINTS,
            crate::evidence::routes::ENDPOINTS,
            crate::budgets::routes::ENDPOINTS,
            crate::notifications::routes::ENDPOINTS,
            crate::exports::routes::ENDPOINTS,
            crate::audits::routes::ENDPOINTS,
            crate::access_reviews::routes::ENDPOINTS,
            crate::vendors::routes::ENDPOINTS,
            crate::retention::routes::ENDPOINTS,
            SERVER,
        ]
        .concat(),
    )
});

/// The areas' plain routes (uploads, downloads, file imports and exports), merged.
#[cfg(feature = "ssr")]
pub fn router<S: Clone + Send + Sync + 'static>(state: crate::state::AppState) -> axum::Router<S> {
    axum::Router::new()
        .merge(crate::auth::routes::router(state.clone()))
        .merge(crate::users::routes::router(state.clone()))
        .merge(crate::audit::routes::router(state.clone()))
        .merge(crate::settings::routes::router(state.clone()))
        .merge(crate::dashboard::routes::router(state.clone()))
        .merge(crate::controls::routes::router(state.clone()))
        .merge(crate::costs::routes::router(state.clone()))
        .merge(crate::evidence::routes::router(state.clone()))
        .merge(crate::budgets::routes::router(state.clone()))
        .merge(crate::notifications::routes::router(state.clone()))
        .merge(crate::exports::routes::router(state.clone()))
        .merge(crate::audits::routes::router(state.clone()))
        .merge(crate::access_reviews::routes::router(state.clone()))
        .merge(crate::vendors::routes::router(state.clone()))
        .merge(crate::retention::routes::router(state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Role;

    /// Auditors write nothing but their audit work (requests, samples, comments, accepting or
    /// returning answers), and the area limits that to the audits they are assigned to.
    #[test]
    fn auditor_is_read_only() {
        let mut writes = Vec::new();
        for e in TABLE.endpoints().iter().filter(|e| e.mutating) {
            let open_to_auditor = e.access.allows(Some(Role::Auditor));
            let open_to_all = matches!(e.access, Public | SignedIn);
            if open_to_auditor && !open_to_all {
                writes.push(e.path);
            }
        }
        let mut expected = crate::audits::routes::AUDITOR_WRITES.to_vec();
        writes.sort_unstable();
        expected.sort_unstable();
        assert_eq!(writes, expected);
    }

    /// Each entry is the one that applies to its own paths (none is shadowed by another), and
    /// no method and path is declared twice, by one area or by two.
    #[test]
    fn every_entry_is_reachable_and_declared_once() {
        for e in TABLE.endpoints() {
            let concrete = paths::fill(e.path, &[&1, &1]);
            let found = TABLE.lookup(e.method, &concrete).map(|f| f.path);
            assert_eq!(found, Some(e.path), "{} {concrete}", e.method);
            assert_eq!(
                TABLE
                    .endpoints()
                    .iter()
                    .filter(|f| f.method == e.method && f.path == e.path)
                    .count(),
                1,
                "{} {} is declared twice",
                e.method,
                e.path
            );
        }
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        assert_eq!(
            TABLE.lookup("GET", "/controls/export.csv").map(|e| e.path),
            Some(paths::CONTROL_EXPORT)
        );
        assert_eq!(
            TABLE.lookup("GET", "/evidence/new").map(|e| e.path),
            Some(paths::EVIDENCE_NEW)
        );
        assert_eq!(
            TABLE.lookup("GET", "/evidence/12").map(|e| e.path),
            Some(paths::EVIDENCE_ITEM)
        );
    }

    #[test]
    fn head_is_get() {
        assert_eq!(
            TABLE.lookup("HEAD", "/healthz").map(|e| e.path),
            Some("/healthz")
        );
        assert!(TABLE.lookup("DELETE", "/healthz").is_none());
    }

    /// Uploads stream under their own limits; everything else is bounded and timed.
    #[test]
    fn only_the_uploads_stream() {
        let streamed: Vec<_> = TABLE
            .endpoints()
            .iter()
            .filter(|e| !e.timed())
            .map(|e| e.path)
            .collect();
        assert_eq!(streamed, [paths::COST_UPLOAD, paths::EVIDENCE_UPLOAD]);
        assert!(TABLE
            .endpoints()
            .iter()
            .all(|e| e.timed() == e.body_limit().is_some()));
    }

    /// The indexed lookup answers as a scan of the whole table does, for every endpoint's
    /// own pattern filled in, and for paths no endpoint has.
    #[test]
    fn the_literal_index_changes_no_answer() {
        let table = &TABLE;
        let scan = |method: &str, path: &str| {
            let method = if method == "HEAD" { "GET" } else { method };
            table
                .endpoints()
                .iter()
                .filter(|e| e.method == method && crate::policy::path_matches(e.path, path))
                .min_by_key(|e| e.path.matches('{').count())
                .map(|e| (e.method, e.path))
        };
        let mut paths: Vec<String> = table
            .endpoints()
            .iter()
            .map(|e| {
                e.path
                    .split('/')
                    .map(|seg| match seg {
                        s if s.starts_with("{*") => "a/b",
                        s if s.starts_with('{') => "7",
                        s => s,
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        paths.extend(["/nowhere".into(), "/controls/export.csv".into(), "/".into()]);
        for path in &paths {
            for method in ["GET", "HEAD", "POST", "DELETE"] {
                assert_eq!(
                    table.lookup(method, path).map(|e| (e.method, e.path)),
                    scan(method, path),
                    "{method} {path}"
                );
            }
        }
    }
}
