//! Integration tests: the real server over HTTP, each test on SQLite and on PostgreSQL.

mod access_campaigns;
mod access_remediation;
mod access_reviews;
mod assets;
mod audit;
mod audits;
mod auth;
mod budgets;
mod checkpoints;
mod cli;
mod controls;
mod cost_cube;
mod cost_reports;
mod cost_sync;
mod costs;
mod errors;
mod evidence;
mod export_jobs;
mod exports;
mod frameworks_ecosystem;
mod hardening;
mod invariants;
mod migrations;
mod notifications;
mod ops;
mod page_cache;
mod policy_matrix;
mod retention;
mod users;
mod vendors;
mod vendors_csv;

pub use app::policy::Role;
pub use steward_tests::{both_dbs, Backend, TestApp};

/// The real FOCUS sample shipped as a fixture.
pub fn costs_fixture_sample() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/focus/focus-1.0-sample.csv")
}

/// The session cookie value from a response, if it sets one.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("steward_session=") && !v.contains("Max-Age=0"))
        .map(|v| v.to_string())
}

pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// A GET with exactly this session token and no cookie store.
pub async fn get_with_token(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("Cookie", format!("steward_session={token}"))
        .send()
        .await
        .unwrap()
}
