//! Every endpoint × every role (and anonymous), against the policy table; plus CSRF.

use super::*;
use app::policy::{Access, Kind};
use app::routes::TABLE;
use std::collections::BTreeSet;

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with("{*") {
                "steward.css"
            } else if s.starts_with('{') {
                "1"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_and_server_function_has_a_policy_entry() {
    // Through the server's once-per-process list: generating another one here could stall
    // pages rendering in parallel tests (see server::route_list).
    let routes = server::route_list();
    let fns: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert!(!fns.is_empty());
    let mut missing = BTreeSet::new();
    for r in &routes {
        if TABLE.lookup("GET", r.path()).is_none() {
            missing.insert(format!("page GET {}", r.path()));
        }
    }
    for (p, m) in &fns {
        match TABLE.lookup(m, p) {
            Some(e) => assert_eq!(e.kind, Kind::Api, "{p}"),
            None => {
                missing.insert(format!("server fn {m} {p}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "endpoints without a policy entry: {missing:?}"
    );
    // And the table names nothing that does not exist (no stale entries).
    for e in TABLE
        .endpoints()
        .iter()
        .filter(|e| e.path.starts_with("/api/"))
    {
        assert!(
            fns.iter().any(|(p, _)| p == e.path),
            "policy entry {} has no server function",
            e.path
        );
    }
}

/// Objects with id 1 for the `:id` routes, so allowed roles see them rather than a 404.
async fn seed_objects(app: &TestApp) {
    let admin = app.client_as(Role::Admin).await;
    let ok = |r: reqwest::Response| assert!(r.status().is_success(), "seed: {}", r.status());
    ok(app
        .call(
            &admin,
            "/api/import_builtin_framework",
            &[("key", "nist-800-53r5-low")],
        )
        .await);
    ok(app
        .call(
            &admin,
            "/api/save_control",
            &[
                ("form[ref]", "SEED-1"),
                ("form[title]", "Seed"),
                ("form[cadence]", "none"),
            ],
        )
        .await);
    // Audit #1 with the demo auditor on it, and its request #1.
    app.user(Role::Auditor).await;
    let key: String = sqlx::query_scalar("SELECT key FROM frameworks ORDER BY id LIMIT 1")
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
    ok(app
        .call(
            &admin,
            "/api/save_audit",
            &[
                ("form[name]", "Seed audit"),
                ("form[start]", "2026-01-01"),
                ("form[end]", "2026-02-01"),
                ("form[frameworks]", key.as_str()),
                ("form[auditors]", "auditor"),
            ],
        )
        .await);
    ok(app
        .call(
            &admin,
            "/api/add_audit_request",
            &[
                ("form[audit_id]", "1"),
                ("form[text]", "Seed request"),
                ("form[due]", "2026-01-15"),
            ],
        )
        .await);
}

both_dbs!(role_matrix_matches_the_policy_table, |app| {
    seed_objects(&app).await;
    // Paths with ids are called with 1: make evidence #1 (version 1) exist.
    super::evidence::seed_for_matrix(&app).await;
    // Within the auditor's reach: controls #1 and #2 (evidence #1's) map to audit #1's framework.
    let admin = app.client_as(Role::Admin).await;
    for control in ["1", "2"] {
        let r = app
            .call(
                &admin,
                "/api/map_control",
                &[
                    ("control_id", control),
                    ("framework_id", "1"),
                    ("requirements", "AC-1"),
                ],
            )
            .await;
        assert!(r.status().is_success(), "map: {}", r.status());
    }
    // Background export #1, of audit #1, ready for its download path.
    let r = app
        .call(
            &admin,
            "/api/start_evidence_export",
            &[("framework", ""), ("from", ""), ("to", ""), ("audit", "1")],
        )
        .await;
    assert!(r.status().is_success(), "export: {}", r.status());
    let mut ready = false;
    for _ in 0..600 {
        let rows: serde_json::Value = app
            .call(
                &admin,
                "/api/list_evidence_exports",
                steward_tests::NO_FIELDS,
            )
            .await
            .json()
            .await
            .unwrap();
        if rows[0]["status"] == "ready" {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "export #1 was built");
    let mut who: Vec<(Option<Role>, reqwest::Client)> = vec![(None, app.client())];
    for r in Role::ALL {
        who.push((Some(r), app.client_as(r).await));
    }
    // The export download needs its scope (without one it is a 422 for everyone): audit #1,
    // which every role that may export may take.
    let export_query = "?audit=1";
    for ep in TABLE.endpoints() {
        for (role, client) in who.iter_mut() {
            let mut path = concrete(ep.path);
            if ep.path == app::paths::EVIDENCE_EXPORT || ep.path == app::paths::SOA_EXPORT {
                path.push_str(export_query);
            }
            let res = if ep.method == "GET" {
                app.get(client, &path).await
            } else {
                app.call(client, &path, steward_tests::NO_FIELDS).await
            };
            let status = res.status().as_u16();
            let allowed = ep.access.allows(*role);
            let ctx = format!("{} {} as {:?}: {status}", ep.method, ep.path, role);
            // A server error is a bug whoever asks: never read as "allowed".
            assert!(status < 500, "{ctx}");
            match (ep.kind, allowed, role.is_some()) {
                (Kind::Page, true, _) => assert_eq!(status, 200, "{ctx}"),
                (Kind::Page, false, false) => {
                    assert_eq!(status, 303, "{ctx}");
                    assert!(
                        res.headers()["location"]
                            .to_str()
                            .unwrap()
                            .starts_with("/login"),
                        "{ctx}"
                    );
                }
                (Kind::Page, false, true) => assert_eq!(status, 403, "{ctx}"),
                (Kind::Api, true, _) => {
                    assert!(status != 401 && status != 403 && status != 404, "{ctx}")
                }
                (Kind::Api, false, false) => assert_eq!(status, 401, "{ctx}"),
                (Kind::Api, false, true) => assert_eq!(status, 403, "{ctx}"),
                (Kind::Asset, _, _) => {
                    assert!(matches!(ep.access, Access::Public));
                    assert!(
                        status == 200 || (status == 404 && ep.path.starts_with("/pkg/")),
                        "{ctx}"
                    );
                }
            }
            // Mutating calls may have ended the session (sign-out) or changed nothing; sign in again.
            if ep.mutating {
                if let Some(r) = role {
                    *client = app.client_as(*r).await;
                }
            }
        }
    }
});

both_dbs!(cross_origin_writes_are_refused, |app| {
    let admin = app.client_as(Role::Admin).await;
    let before = app.audit_count().await;
    for ep in TABLE.endpoints().iter().filter(|e| e.method == "POST") {
        let url = app.url(ep.path);
        let cases: [(&str, Option<&str>, Option<&str>); 4] = [
            ("foreign origin", Some("http://evil.example"), None),
            ("no origin", None, None),
            (
                "cross-site fetch",
                Some("http://evil.example"),
                Some("cross-site"),
            ),
            (
                "same-site but not same-origin",
                Some(&app.base),
                Some("same-site"),
            ),
        ];
        for (what, origin, site) in cases {
            let mut req = admin
                .post(&url)
                .form(&[("username", "admin"), ("password", "x")]);
            if let Some(o) = origin {
                req = req.header("Origin", o);
            }
            if let Some(s) = site {
                req = req.header("Sec-Fetch-Site", s);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 403, "{} with {what}", ep.path);
            assert!(res
                .text()
                .await
                .unwrap()
                .contains("Cross-origin request refused"));
        }
        if ep.mutating {
            // Mutating server functions never accept GET.
            let res = app.get(&admin, ep.path).await;
            assert_eq!(res.status(), 405, "GET {}", ep.path);
        }
    }
    assert_eq!(app.audit_count().await, before, "nothing was written");
    assert_eq!(
        app.get(&admin, "/").await.status(),
        200,
        "the admin is still signed in"
    );
});
