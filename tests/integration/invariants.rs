//! Authorization invariants written by hand, independently of the policy table the role
//! matrix reads: if the table itself were wrong (an auditor given a write, finance given user
//! administration), the matrix would agree with it; these would not.

use super::*;

/// Everything that changes state, as a client would call it. Bodies are empty or minimal: the
/// answer for a role that may not write must come before any input is looked at.
const WRITES: &[&str] = &[
    "/api/create_user",
    "/api/update_user",
    "/api/reset_password",
    "/api/import_builtin_framework",
    "/api/save_control",
    "/api/map_control",
    "/api/unmap_control",
    "/api/set_due_soon_days",
    "/api/start_cost_sync",
    "/api/create_checkpoint",
    "/frameworks/import",
    "/controls/import",
    "/costs/upload",
    "/upload/evidence",
    "/api/save_budget",
    "/budgets/import",
    "/api/retry_delivery",
    "/api/add_webhook",
];

/// Pages and reads that exist for some signed-in role.
const PAGES: &[&str] = &[
    "/",
    "/account",
    "/admin/users",
    "/audit",
    "/settings",
    "/frameworks",
    "/controls",
    "/my/controls",
    "/evidence",
    "/evidence/new",
    "/costs",
    "/costs/import",
    "/budgets",
    "/my/work",
    "/notifications",
    "/admin/deliveries",
];

async fn post(app: &TestApp, c: &reqwest::Client, path: &str) -> u16 {
    app.call(c, path, steward_tests::NO_FIELDS)
        .await
        .status()
        .as_u16()
}

both_dbs!(auditors_write_nothing_anywhere, |app| {
    let auditor = app.client_as(Role::Auditor).await;
    let before = app.audit_count().await;
    for path in WRITES {
        assert_eq!(post(&app, &auditor, path).await, 403, "auditor POST {path}");
    }
    assert_eq!(app.audit_count().await, before, "nothing was written");
    // …but they read the audit trail, the compliance areas (what their audits cover) and
    // their audits; not costs or budgets.
    for page in ["/costs", "/budgets"] {
        assert_eq!(
            app.get(&auditor, page).await.status(),
            403,
            "auditor GET {page}"
        );
    }
    for page in [
        "/audit",
        "/controls",
        "/frameworks",
        "/evidence",
        "/audits",
        "/settings",
    ] {
        assert_eq!(
            app.get(&auditor, page).await.status(),
            200,
            "auditor GET {page}"
        );
    }
});

both_dbs!(
    anonymous_reaches_only_sign_in_health_and_static_files,
    |app| {
        let anon = app.client();
        for open in ["/login", "/healthz", "/readyz", "/favicon.ico"] {
            assert_eq!(app.get(&anon, open).await.status(), 200, "GET {open}");
        }
        for page in PAGES {
            let r = app.get(&anon, page).await;
            assert_eq!(r.status(), 303, "anonymous GET {page}");
            assert!(r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login"));
        }
        for path in WRITES {
            assert_eq!(post(&app, &anon, path).await, 401, "anonymous POST {path}");
        }
        assert_eq!(app.get(&anon, "/metrics").await.status(), 401);
        assert_eq!(app.get(&anon, "/costs/export.csv").await.status(), 401);
        assert_eq!(app.get(&anon, "/controls/export.csv").await.status(), 401);
    }
);

both_dbs!(each_role_stays_in_its_lane, |app| {
    let finance = app.client_as(Role::Finance).await;
    let compliance = app.client_as(Role::Compliance).await;
    let admin = app.client_as(Role::Admin).await;
    // Only administrators manage users, read metrics and sign checkpoints.
    for (who, c) in [("finance", &finance), ("compliance", &compliance)] {
        assert_eq!(app.get(c, "/admin/users").await.status(), 403, "{who}");
        for path in [
            "/api/create_user",
            "/api/update_user",
            "/api/reset_password",
            "/api/create_checkpoint",
        ] {
            assert_eq!(post(&app, c, path).await, 403, "{who} POST {path}");
        }
        assert_eq!(app.get(c, "/metrics").await.status(), 403, "{who}");
    }
    assert_eq!(app.get(&admin, "/admin/users").await.status(), 200);
    // Finance does not run the compliance programme; compliance does not see spend.
    for path in [
        "/api/import_builtin_framework",
        "/api/save_control",
        "/frameworks/import",
    ] {
        assert_eq!(post(&app, &finance, path).await, 403, "finance POST {path}");
    }
    assert_eq!(app.get(&compliance, "/costs").await.status(), 403);
    assert_eq!(post(&app, &compliance, "/api/cost_report").await, 403);
    assert_eq!(post(&app, &compliance, "/costs/upload").await, 403);
    // Budgets are finance's (and administrators'); deliveries and webhooks administrators'.
    assert_eq!(app.get(&compliance, "/budgets").await.status(), 403);
    assert_eq!(post(&app, &compliance, "/api/save_budget").await, 403);
    assert_eq!(app.get(&finance, "/budgets").await.status(), 200);
    assert_eq!(app.get(&finance, "/admin/deliveries").await.status(), 403);
    assert_eq!(post(&app, &finance, "/api/add_webhook").await, 403);
    // Members see their own work and nothing of anyone else's.
    let member = app.client_as(Role::Member).await;
    for page in [
        "/budgets",
        "/costs",
        "/controls",
        "/evidence",
        "/audit",
        "/admin/users",
        "/admin/deliveries",
    ] {
        assert_eq!(
            app.get(&member, page).await.status(),
            403,
            "member GET {page}"
        );
    }
    for path in [
        "/api/list_budgets",
        "/api/save_budget",
        "/api/cost_report",
        "/api/save_control",
        "/budgets/import",
    ] {
        assert_eq!(post(&app, &member, path).await, 403, "member POST {path}");
    }
    assert_eq!(app.get(&member, "/my/work").await.status(), 200);
    assert_eq!(app.get(&member, "/notifications").await.status(), 200);
    // Everyone signed in has a dashboard and an account page.
    for c in [&finance, &compliance, &admin, &member] {
        assert_eq!(app.get(c, "/").await.status(), 200);
        assert_eq!(app.get(c, "/account").await.status(), 200);
    }
});
