//! Signed checkpoints: the audit chain anchored outside the database. Exact verification
//! under concurrent writes, a rewrite by the database owner caught by stored checkpoints and
//! by tokens from the logs, the key file's handling, forged checkpoints, who may sign.

use super::*;
use app::audit::chain::{self, AuditCtx};
use app::audit::checkpoint::{self, Checkpoint};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn steward(app: &TestApp, args: &[&str], data_dir: &Path) -> Output {
    Command::new(steward_tests::steward_bin())
        .args(args)
        .env("DATABASE_URL", &app.db.url)
        .env("STEWARD_DATA_DIR", data_dir)
        .env_remove("STEWARD_SIGNING_KEY_FILE")
        .env("STEWARD_LOG_FORMAT", "json")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run steward")
}

fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// `steward verify-audit` with the server's key file.
fn verify_cli(app: &TestApp, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["verify-audit"];
    args.extend_from_slice(extra);
    let (code, out, err) = text(&steward(app, &args, &app.db.data_dir()));
    (code, format!("{out}{err}"))
}

/// `steward checkpoint`; returns the token found in its JSON log line (target
/// `steward::checkpoint`), after checking stdout prints the same one.
fn checkpoint_cli(app: &TestApp) -> Checkpoint {
    let (code, out, err) = text(&steward(app, &["checkpoint"], &app.db.data_dir()));
    assert_eq!(code, 0, "{out}{err}");
    let line = err
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["target"] == "steward::checkpoint")
        .unwrap_or_else(|| panic!("a steward::checkpoint log line: {err}"));
    let logged = line["fields"]["message"].as_str().unwrap().to_string();
    let cp = Checkpoint::parse_token(&logged).unwrap();
    assert!(
        out.contains(&cp.token()),
        "stdout shows the logged token: {out}"
    );
    cp
}

/// A few audited events (sign-ins).
async fn events(app: &TestApp, n: usize) {
    for _ in 0..n {
        app.client_as(Role::Compliance).await;
    }
}

async fn head_seq(app: &TestApp) -> i64 {
    let pool = app.db.pool().await;
    let s = sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    s
}

/// As the database owner: lift the append-only triggers of a table.
async fn bypass_triggers(app: &TestApp, pool: &sqlx::AnyPool, table: &str) {
    let sql: Vec<String> = match app.db.backend {
        Backend::Sqlite => vec![
            format!("DROP TRIGGER IF EXISTS {table}_no_update"),
            format!("DROP TRIGGER IF EXISTS {table}_no_delete"),
        ],
        Backend::Postgres => vec![format!("ALTER TABLE {table} DISABLE TRIGGER USER")],
    };
    for s in sql {
        sqlx::query(&s).execute(pool).await.unwrap();
    }
}

/// Rewrites event `k`'s summary and recomputes every later hash and the head, as someone
/// with write access to the database (but not the signing key) would.
async fn rewrite_history(app: &TestApp, k: i64) {
    let pool = app.db.pool().await;
    bypass_triggers(app, &pool, "audit_events").await;
    let sql = format!(
        "SELECT {} FROM audit_events WHERE seq >= $1 ORDER BY seq",
        chain::EVENT_COLUMNS
    );
    let rows = sqlx::query(&sql)
        .bind(k - 1)
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut prev = chain::event_from_row(&rows[0]).unwrap().hash;
    for row in &rows[1..] {
        let mut e = chain::event_from_row(row).unwrap();
        if e.seq == k {
            e.event.summary = "nothing happened here".into();
        }
        let hash = chain::chain_hash(&prev, e.seq, &e.event);
        sqlx::query(
            "UPDATE audit_events SET summary = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
        )
        .bind(&e.event.summary)
        .bind(&prev)
        .bind(&hash)
        .bind(e.seq)
        .execute(&pool)
        .await
        .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

fn empty_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("steward-nokey-{}", steward_tests::free_port()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

both_dbs!(verify_is_exact_under_concurrent_writes, |app| {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let db = app.state().app.db.clone();
    let signer = app.state().app.signer.clone();
    let key = signer.public_key();
    let stop = Arc::new(AtomicBool::new(false));
    // A writer appending audited events as fast as it can, signing a checkpoint now and then.
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let ctx = AuditCtx {
                    actor: "load".into(),
                    at: app::util::ts(time::OffsetDateTime::now_utc()),
                    ..Default::default()
                };
                let mut tx = db.write().await.unwrap();
                tx.audit(ctx.event("test.write", "test", n, "concurrent write"))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                if n % 20 == 0 {
                    checkpoint::create(&db, &signer, &ctx).await.unwrap();
                }
                n += 1;
                // Paced, so the chain grows through every round without each verification
                // (which reads it all) taking ever longer.
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            n
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..60 {
        match chain::verify(&db).await.unwrap() {
            chain::VerifyOutcome::Intact { events, .. } => {
                seen.insert(events);
            }
            broken => panic!("round {round}: a false break under concurrent writes: {broken:?}"),
        }
        let report = app::audit::verify::verify(&db, Some(&key), &[])
            .await
            .unwrap();
        assert!(
            report.intact(),
            "round {round}: {}\n{:?}",
            report.summary(),
            report.details()
        );
        seen.insert(report.events);
        if round % 15 == 0 {
            let (code, out) = verify_cli(&app, &[]);
            assert_eq!(code, 0, "round {round}: {out}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    // The verifications really ran while the chain grew.
    assert!(written >= 60, "only {written} concurrent writes");
    assert!(
        seen.len() >= 30,
        "the chain grew during only {} of the verifications",
        seen.len()
    );
    let (code, out) = verify_cli(&app, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signed checkpoints verified"), "{out}");
});

both_dbs!(a_rewritten_chain_fails_against_signed_checkpoints, |app| {
    events(&app, 2).await;
    let a = checkpoint_cli(&app);
    assert_eq!(a.prev_seq, 0);
    events(&app, 3).await;
    let b = checkpoint_cli(&app);
    assert_eq!(b.prev_seq, a.seq);
    events(&app, 2).await;
    let (code, out) = verify_cli(&app, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signed checkpoints verified"), "{out}");
    assert!(out.contains(&format!("(#{}..#{})", a.seq, b.seq)), "{out}");

    // Not the first event after checkpoint A, so naming the range start would be wrong.
    let k = a.seq + 2;
    assert!(k < b.seq);
    rewrite_history(&app, k).await;
    // The hash chain alone cannot tell.
    let db = &app.state().app.db;
    assert!(matches!(
        chain::verify(db).await.unwrap(),
        chain::VerifyOutcome::Intact { .. }
    ));
    // The stored checkpoints' signed event hashes name the event.
    let (code, out) = verify_cli(&app, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("audit chain BROKEN at event #{k}: ")),
        "{out}"
    );
    assert!(out.contains(&format!("checkpoint #{}", b.seq)), "{out}");
    assert!(!out.contains("intact"), "{out}");
    let admin = app.client_as(Role::Admin).await;
    let r = app
        .call(&admin, "/api/verify_audit_chain", steward_tests::NO_FIELDS)
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["intact"], false, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Broken at event #{k}:")),
        "{body}"
    );

    // The owner deletes the stored checkpoints too; the tokens from the logs remain.
    let pool = app.db.pool().await;
    bypass_triggers(&app, &pool, "audit_checkpoints").await;
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    // Without the private key: the public key alone, from another machine's point of view.
    let elsewhere = empty_dir();
    let pk = app.state().app.signer.public_key_b64();
    let run = |tokens: &[&Checkpoint]| {
        let mut args = vec![
            "verify-audit".to_string(),
            "--public-key".into(),
            pk.clone(),
        ];
        for t in tokens {
            args.push("--checkpoint".into());
            args.push(t.token());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = text(&steward(&app, &args, &elsewhere));
        (code, format!("{out}{err}"))
    };
    // One token: the rewrite lies somewhere before it.
    let (code, out) = run(&[&b]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("audit chain BROKEN in events #1..#{}: ", b.seq)),
        "{out}"
    );
    // Both tokens: A still matches, so the first differing event is after it.
    let (code, out) = run(&[&a, &b]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "audit chain BROKEN in events #{}..#{}: ",
            a.seq + 1,
            b.seq
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(": 1 (#{}..#{})", a.seq, a.seq)),
        "checkpoint A verified: {out}"
    );
    // Even without tokens the deletion shows: the chain records checkpoints that are gone.
    let (code, out) = run(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("audit checkpoint #{} BROKEN: ", a.seq)),
        "{out}"
    );
    assert!(out.contains("missing from audit_checkpoints"), "{out}");
    let _ = std::fs::remove_dir_all(elsewhere);
});

both_dbs!(a_token_and_a_chain_cut_short_are_checked, |app| {
    // Events removed from the end after a checkpoint: the signed head is gone.
    events(&app, 2).await;
    let a = checkpoint_cli(&app);
    let pool = app.db.pool().await;
    bypass_triggers(&app, &pool, "audit_events").await;
    bypass_triggers(&app, &pool, "audit_checkpoints").await;
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq >= $1")
        .bind(a.seq - 1)
        .execute(&pool)
        .await
        .unwrap();
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(
        verify_cli(&app, &[]).0,
        0,
        "without the token the cut is invisible"
    );
    let (code, out) = verify_cli(&app, &["--checkpoint", &a.token()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("audit chain BROKEN at event #{}: ", seq + 1)),
        "{out}"
    );
    assert!(out.contains("missing"), "{out}");
    // A malformed token is a usage error, not a verdict.
    let (code, out) = verify_cli(&app, &["--checkpoint", "steward-checkpoint:v1:nope"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not a checkpoint token"), "{out}");
});

both_dbs!(a_tampered_checkpoint_signature_is_detected, |app| {
    let admin = app.client_as(Role::Admin).await;
    let r = app
        .call(&admin, "/api/create_checkpoint", steward_tests::NO_FIELDS)
        .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["created"], true, "{body}");
    let cp = Checkpoint::parse_token(body["token"].as_str().unwrap()).unwrap();
    assert_eq!(verify_cli(&app, &[]).0, 0);
    // A token whose signature was altered (one byte) does not pass for the real one.
    let mut sig =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &cp.signature).unwrap();
    sig[10] ^= 1;
    let forged_sig = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &sig);
    let forged = Checkpoint {
        signature: forged_sig.clone(),
        ..cp.clone()
    };
    let (code, out) = verify_cli(&app, &["--checkpoint", &forged.token()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("audit checkpoint #{} BROKEN: ", cp.seq)),
        "{out}"
    );
    assert!(out.contains("signature does not verify"), "{out}");
    assert!(out.contains("log token"), "{out}");
    // Stored checkpoints are append-only for the application's own connections...
    let pool = app.db.pool().await;
    for sql in [
        "UPDATE audit_checkpoints SET at = 'x'",
        "DELETE FROM audit_checkpoints",
    ] {
        let e = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    if app.db.backend == Backend::Postgres {
        let e = sqlx::query("TRUNCATE audit_checkpoints")
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    // ...but not for the database owner: the stored row's signature altered.
    bypass_triggers(&app, &pool, "audit_checkpoints").await;
    sqlx::query("UPDATE audit_checkpoints SET signature = $1 WHERE seq = $2")
        .bind(&forged_sig)
        .bind(cp.seq)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (code, out) = verify_cli(&app, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature does not verify"), "{out}");
    let r = app
        .call(&admin, "/api/verify_audit_chain", steward_tests::NO_FIELDS)
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["intact"], false, "{body}");
    let r = app
        .call(&admin, "/api/signing_settings", steward_tests::NO_FIELDS)
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["checkpoints"][0]["verified"], false, "{body}");
    // Signed by another key (one the database owner could make): refused as well.
    let other_dir = empty_dir();
    let other = app::signing::Signer::load_or_create(&other_dir, None).unwrap();
    let mut by_other = cp.clone();
    by_other.signature = app::signing::signature_to_b64(&other.sign(&by_other.message()));
    let (code, out) = verify_cli(&app, &["--checkpoint", &by_other.token()]);
    assert_eq!(code, 1, "{out}");
    let _ = std::fs::remove_dir_all(other_dir);
});

both_dbs!(only_administrators_sign_checkpoints_on_demand, |app| {
    let count = |app: &TestApp| {
        let url = app.db.url.clone();
        async move {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_checkpoints")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
    };
    for role in [Role::Auditor, Role::Finance, Role::Compliance] {
        let c = app.client_as(role).await;
        let before = app.audit_count().await;
        let r = app
            .call(&c, "/api/create_checkpoint", steward_tests::NO_FIELDS)
            .await;
        assert_eq!(r.status(), 403, "{role:?}");
        assert_eq!(count(&app).await, 0, "{role:?} signed a checkpoint");
        assert_eq!(app.audit_count().await, before, "{role:?} wrote an event");
        // Without JavaScript the page shows no button to them.
        let page = app.get(&c, "/settings").await;
        let html = page.text().await.unwrap();
        assert!(!html.contains("Sign a checkpoint now"), "{role:?}");
    }
    let admin = app.client_as(Role::Admin).await;
    let html = app.get(&admin, "/settings").await.text().await.unwrap();
    assert!(html.contains("Sign a checkpoint now"));
    let r = app
        .call(&admin, "/api/create_checkpoint", steward_tests::NO_FIELDS)
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["created"], true, "{body}");
    let seq = body["seq"].as_i64().unwrap();
    assert_eq!(
        seq,
        head_seq(&app).await,
        "the checkpoint covers its own event"
    );
    let actions = app.audit_actions().await;
    assert_eq!(actions.last().map(String::as_str), Some("audit.checkpoint"));
    // Nothing new since: nothing is signed or written.
    let before = app.audit_count().await;
    let r = app
        .call(&admin, "/api/create_checkpoint", steward_tests::NO_FIELDS)
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["created"], false, "{body}");
    assert_eq!(count(&app).await, 1);
    assert_eq!(app.audit_count().await, before);
    // The schedule signs on its own, and only when the head moved.
    let st = &app.state().app;
    checkpoint::schedule(
        st.db.clone(),
        st.signer.clone(),
        st.clock.clone(),
        std::time::Duration::from_millis(150),
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(count(&app).await, 1, "no new events, no new checkpoint");
    events(&app, 1).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&app).await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the schedule did not sign"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(verify_cli(&app, &[]).0, 0);
});

both_dbs!(
    the_key_file_is_private_and_its_public_half_is_shown,
    |app| {
        use std::os::unix::fs::PermissionsExt;
        let dir = app.db.data_dir();
        let path = dir.join("signing-key.pem");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "created private");
        let (code, out, err) = text(&steward(&app, &["public-key"], &dir));
        assert_eq!(code, 0, "{out}{err}");
        let key = out
            .lines()
            .find_map(|l| l.strip_prefix("public key: "))
            .unwrap()
            .to_string();
        let fp = out
            .lines()
            .find_map(|l| l.strip_prefix("fingerprint: "))
            .unwrap()
            .to_string();
        assert_eq!(key.len(), 44, "{out}");
        assert_eq!(fp.len(), 16, "{out}");
        let pem = std::fs::read_to_string(&path).unwrap();
        let secret_body = pem.lines().nth(1).unwrap();
        for role in [Role::Auditor, Role::Admin] {
            let c = app.client_as(role).await;
            let r = app.get(&c, "/settings").await;
            assert_eq!(r.status(), 200);
            let html = r.text().await.unwrap();
            assert!(html.contains(&key), "{role:?} sees the public key");
            assert!(html.contains(&fp));
            assert!(html.contains(&path.display().to_string()), "the key's path");
            assert!(!html.contains(secret_body) && !html.contains("PRIVATE KEY"));
            let r = app
                .call(&c, "/api/signing_settings", steward_tests::NO_FIELDS)
                .await;
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["public_key"], key.as_str());
            assert_eq!(body["can_sign"], role == Role::Admin);
        }
        let finance = app.client_as(Role::Finance).await;
        assert_eq!(app.get(&finance, "/settings").await.status(), 403);
        // Readable by others: refused, by the server and by the tools.
        let loose = dir.join("loose.pem");
        std::fs::write(&loose, &pem).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        let port = steward_tests::free_port().to_string();
        let bind = format!("127.0.0.1:{port}");
        let loose_s = loose.display().to_string();
        for args in [
            vec!["serve", "--signing-key-file", &loose_s, "--bind", &bind],
            vec!["public-key", "--signing-key-file", &loose_s],
            vec!["checkpoint", "--signing-key-file", &loose_s],
        ] {
            let (code, out, err) = text(&steward(&app, &args, &dir));
            assert_eq!(code, 2, "{args:?}: {out}{err}");
            assert!(
                err.contains("mode 0644") && err.contains("chmod 600"),
                "{args:?}: {err}"
            );
        }
        // The server refuses too when started in-process.
        let res = server::start(
            server::ServeOptions {
                database_url: app.db.url.clone(),
                org_name: "x".into(),
                data_dir: dir.clone(),
                signing_key_file: Some(loose.clone()),
                checkpoint_interval_minutes: 0,
                ..server::ServeOptions::default()
            },
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            std::future::pending(),
        )
        .await;
        assert!(res.is_err());
        // Not a key at all.
        std::fs::write(&loose, "hello").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (code, _, err) = text(&steward(
            &app,
            &["public-key", "--signing-key-file", &loose_s],
            &dir,
        ));
        assert_eq!(code, 2);
        assert!(
            err.contains("not a PKCS#8 PEM Ed25519 private key"),
            "{err}"
        );
        // An explicit key file that does not exist is not created.
        let missing = dir.join("missing.pem");
        let missing_s = missing.display().to_string();
        let (code, _, _) = text(&steward(
            &app,
            &["checkpoint", "--signing-key-file", &missing_s],
            &dir,
        ));
        assert_eq!(code, 2);
        assert!(!missing.exists());
        // A key made by openssl works, and openssl reads ours (skipped without openssl).
        let made = dir.join("openssl.pem");
        if let Ok(o) = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&made)
            .output()
        {
            assert!(o.status.success());
            std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o600)).unwrap();
            let made_s = made.display().to_string();
            let (code, out, err) = text(&steward(
                &app,
                &["public-key", "--signing-key-file", &made_s],
                &dir,
            ));
            assert_eq!(code, 0, "{err}");
            let der = Command::new("openssl")
                .args(["pkey", "-pubout", "-outform", "DER", "-in"])
                .arg(&made)
                .output()
                .unwrap()
                .stdout;
            let raw = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &der[der.len() - 32..],
            );
            assert!(out.contains(&format!("public key: {raw}")), "{out}");
        }
    }
);
