//! The `steward` binary itself: first-run output, JSON logs with request ids, SIGTERM,
//! `create-admin`, `verify-audit`, demo users only with `--demo`.

use super::*;
use std::io::Read;
use std::process::{Command, Stdio};
use steward_tests::{free_port, SpawnedServer};

async fn serve_and_stop(backend: Backend) {
    let Some(db) = steward_tests::TestDb::new(backend).await else {
        return;
    };
    let mut server = SpawnedServer::spawn_with(
        &steward_tests::steward_bin(),
        &["--demo"],
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("STEWARD_LOG_FORMAT", "json"),
        ],
        |cmd| {
            cmd.current_dir(std::env::temp_dir()) // works from any directory
                .stderr(Stdio::piped());
        },
    )
    .await;
    let base = server.base.clone();
    let banner = server.banner.clone();
    assert!(banner.contains(&format!("Sign in at {base}")), "{banner}");
    for role in ["compliance", "finance", "auditor"] {
        assert!(banner.contains(role), "demo user {role} printed");
    }
    // The admin's password is printed and signs in.
    let c = server.client_as("admin").await;
    let r = c
        .get(format!("{base}/"))
        .header("X-Request-Id", "cli-test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text().await.unwrap().contains("Administrator"),
        "the bundle-less page still renders"
    );

    // SIGTERM: stops gracefully (within 20 s) with exit code 0.
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let mut logs = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let request_line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["span"]["id"] == "cli-test-42")
        .unwrap_or_else(|| panic!("a JSON log line with the request id: {logs}"));
    assert_eq!(request_line["fields"]["status"], 200);
    assert!(logs.contains("shutting down"), "{logs}");

    // A second start does not set up again; --demo applies only to empty databases.
    let out = Command::new(steward_tests::steward_bin())
        .arg("verify-audit")
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = Command::new(steward_tests::steward_bin())
        .args(["create-admin", "--username", "ops-admin"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Password (shown once): "), "{text}");
    let out = Command::new(steward_tests::steward_bin())
        .args(["create-admin", "--username", "ops-admin"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already taken"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_logs_json_and_stops_on_sigterm_sqlite() {
    serve_and_stop(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_logs_json_and_stops_on_sigterm_postgres() {
    serve_and_stop(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_demo_creates_only_the_admin_and_sqlite_file_appears() {
    let dir = std::env::temp_dir().join(format!("steward-nodemo-{}", free_port()));
    let app = TestApp::spawn_with(Backend::Sqlite, |o| {
        o.demo = false;
        o.database_url = format!("sqlite://{}/nested/steward.db", dir.display());
    })
    .await
    .unwrap();
    assert_eq!(app.first_run.users.len(), 1);
    assert_eq!(app.first_run.users[0].username, "admin");
    assert!(
        dir.join("nested/steward.db").is_file(),
        "database file created on first run"
    );
    app.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn import_framework_cli(backend: Backend) {
    let Some(db) = steward_tests::TestDb::new(backend).await else {
        return;
    };
    let run = |args: &[&str]| {
        Command::new(steward_tests::steward_bin())
            .arg("import-framework")
            .args(args)
            .env("DATABASE_URL", &db.url)
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run import-framework")
    };
    let out = run(&["--builtin", "nist-800-53r5-low"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("version 5.1.1+u4 created: 149 requirement(s) added"),
        "{text}"
    );
    let dir = std::env::temp_dir().join(format!("steward-fw-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("custom.csv");
    std::fs::write(&bad, "id,title\nX-1,One\nX-2,\n").unwrap();
    let out = run(&[bad.to_str().unwrap(), "--name", "Custom"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Line 3, title: empty (id 'X-2')"), "{err}");
    std::fs::write(&bad, "id,title\nX-1,One\nX-2,Two\n").unwrap();
    let out = run(&[bad.to_str().unwrap(), "--name", "Custom", "--version", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Framework 'Custom' version 1 created: 2 requirement(s) added"),
        "{text}"
    );
    // Two libraries and their crosswalk in one command, in French where the library has it.
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/frameworks");
    let f = |n: &str| fixtures.join(n).to_str().unwrap().to_string();
    let (a, b, m) = (
        f("ca-alpha.yaml"),
        f("ca-beta.yaml"),
        f("ca-mapping-alpha-beta.yaml"),
    );
    let out = run(&[&a, &b, &m, "--locale", "fr"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Framework 'Référentiel de sécurité Alpha' version 2 created"),
        "{text}"
    );
    assert!(text.contains("Crosswalk 'Alpha -> Beta'"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn import_framework_from_the_command_line_sqlite() {
    import_framework_cli(Backend::Sqlite).await;
}

#[tokio::test]
async fn import_framework_from_the_command_line_postgres() {
    import_framework_cli(Backend::Postgres).await;
}
