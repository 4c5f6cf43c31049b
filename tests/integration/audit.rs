use super::*;
use std::process::Command;
use steward_tests::new_user_form;

async fn run_verify(app: &TestApp) -> (i32, String) {
    let out = Command::new(steward_tests::steward_bin())
        .arg("verify-audit")
        .env("DATABASE_URL", &app.db.url)
        // The server's data directory, so its signing key checks any checkpoint.
        .env("STEWARD_DATA_DIR", app.db.data_dir())
        .output()
        .expect("run steward verify-audit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

both_dbs!(mutations_and_logins_are_chained_events, |app| {
    let admin = app.client_as(Role::Admin).await;
    let r = app
        .call(
            &admin,
            "/api/create_user",
            &new_user_form("gale", "finance", "amber trellis quarry", ""),
        )
        .await;
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(r.status(), 200);
    let pool = app.db.pool().await;
    let (actor, object_id, req, addr, summary): (String, String, Option<String>, Option<String>, String) = sqlx::query_as(
        "SELECT actor, object_id, request_id, client_addr, summary FROM audit_events WHERE action = 'user.create' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(actor, "admin");
    assert_eq!(
        req.as_deref(),
        Some(rid.as_str()),
        "the event carries the request id"
    );
    assert_eq!(addr.as_deref(), Some("127.0.0.1"));
    assert!(
        summary.contains("created 'gale': role finance"),
        "{summary}"
    );
    let gale: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'gale'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(object_id, gale.to_string());
    let (code, out) = run_verify(&app).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain intact"), "{out}");
    // Filtering by action prefix in the audit page's server function.
    let r = app
        .call(
            &admin,
            "/api/list_audit_events",
            &[("filter[action]", "auth.")],
        )
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    let events = body["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("auth.")));
    let r = app
        .call(
            &admin,
            "/api/list_audit_events",
            &[("filter[from]", "yesterday")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("From: 'yesterday' is not a date"));
});

both_dbs!(the_database_refuses_update_and_delete, |app| {
    let pool = app.db.pool().await;
    let upd = sqlx::query("UPDATE audit_events SET summary = 'x' WHERE seq = 1")
        .execute(&pool)
        .await;
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = sqlx::query("DELETE FROM audit_events WHERE seq = 1")
        .execute(&pool)
        .await;
    assert!(del.unwrap_err().to_string().contains("append-only"));
    if app.db.backend == Backend::Postgres {
        let t = sqlx::query("TRUNCATE audit_events").execute(&pool).await;
        assert!(t.unwrap_err().to_string().contains("append-only"));
    }
});

async fn bypass_triggers(app: &TestApp, pool: &sqlx::AnyPool) {
    // As the database owner: the triggers are the app's guard, not a guard against the DBA;
    // that is what the hash chain is for.
    match app.db.backend {
        Backend::Sqlite => {
            sqlx::query("DROP TRIGGER audit_events_no_update")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("DROP TRIGGER audit_events_no_delete")
                .execute(pool)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER USER")
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

both_dbs!(tampering_is_detected_and_named, |app| {
    let _admin = app.client_as(Role::Admin).await;
    let _fin = app.client_as(Role::Finance).await;
    assert_eq!(run_verify(&app).await.0, 0);
    let pool = app.db.pool().await;
    bypass_triggers(&app, &pool).await;
    sqlx::query("UPDATE audit_events SET summary = 'nothing to see' WHERE seq = 3")
        .execute(&pool)
        .await
        .unwrap();
    let (code, out) = run_verify(&app).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at event #3"), "{out}");
    assert!(out.contains("altered"), "{out}");
    // The audit page's check says the same.
    let admin = app.client_as(Role::Admin).await;
    let r = app
        .call(&admin, "/api/verify_audit_chain", steward_tests::NO_FIELDS)
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["intact"], false);
});

both_dbs!(deleting_the_newest_event_is_detected, |app| {
    let _c = app.client_as(Role::Compliance).await;
    let pool = app.db.pool().await;
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    bypass_triggers(&app, &pool).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = $1")
        .bind(last)
        .execute(&pool)
        .await
        .unwrap();
    let (code, out) = run_verify(&app).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("#{last}")), "{out}");
});

both_dbs!(concurrent_writers_never_fork_the_chain, |app| {
    let admin = app.client_as(Role::Admin).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let c = admin.clone();
        let url = app.url("/api/create_user");
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("user{i:02}");
            c.post(url)
                .header("Origin", base)
                .form(&new_user_form(&name, "finance", "tangerine lattice 99", ""))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    // Failed sign-ins write too, at the same time.
    for _ in 0..4 {
        let c = app.client();
        let url = app.url("/api/login");
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .header("Origin", base)
                .form(&[("username", "admin"), ("password", "nope nope nope")])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 200 || s == 422, "{s}");
    }
    let pool = app.db.pool().await;
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM audit_events ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let (code, out) = run_verify(&app).await;
    assert_eq!(code, 0, "{out}");
});
