//! What a security review and a hostile client found (issue 8), each as a test that failed on
//! the code before the fix: sign-in throttling under concurrency and shared addresses, forced
//! password changes, trusted devices, `next`, request ids and stalled uploads.

use super::*;
use std::time::{Duration, Instant};
use steward_tests::both_dbs_with;

fn ok(status: reqwest::StatusCode) -> bool {
    status.is_success() || status.is_redirection()
}

async fn count_where(app: &TestApp, sql: &str) -> i64 {
    let pool = app.db.pool().await;
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

both_dbs!(concurrent_wrong_guesses_verify_at_most_the_limit, |app| {
    let hasher = app.state().app.hasher.clone();
    let before = hasher.verifications();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let c = app.client();
        let url = app.url("/api/login");
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .header("Origin", base)
                .header("Accept", "application/json")
                .form(&[
                    ("username", "finance"),
                    ("password", &format!("wrong guess {i}")),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let verified = hasher.verifications() - before;
    assert!(verified <= 5, "{verified} guesses were verified (limit 5)");
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count() as u64,
        verified
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count() as u64,
        60 - verified
    );
    // Failures are audited one by one; the 55 refusals are one aggregated event.
    let actions = app.audit_actions().await;
    let failed = actions.iter().filter(|a| *a == "auth.login_failed").count();
    let refused = actions
        .iter()
        .filter(|a| *a == "auth.login_throttled")
        .count();
    assert_eq!(failed as u64, verified);
    assert_eq!(refused, 1, "{actions:?}");
    // The right password is refused too now, without a verification.
    let before = hasher.verifications();
    let r = app
        .login(&app.client(), "finance", &app.password("finance"))
        .await;
    assert_eq!(r.status(), 429);
    assert_eq!(hasher.verifications(), before);
});

both_dbs!(one_account_hammered_does_not_lock_the_address_out, |app| {
    // 100 concurrent guesses at one account from one address: only the account is locked, so
    // everyone else behind that address (a proxy, an office NAT) still signs in.
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (c, url, base) = (app.client(), app.url("/api/login"), app.base.clone());
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .header("Origin", base)
                .header("Accept", "application/json")
                .form(&[
                    ("username", "finance"),
                    ("password", &format!("guess number {i}")),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), 422 | 429));
    }
    let r = app
        .login(&app.client(), "compliance", &app.password("compliance"))
        .await;
    assert!(ok(r.status()), "{}", r.status());
    assert!(count_where(&app, "SELECT COUNT(*) FROM login_attempts").await <= 6);
});

both_dbs!(
    the_owner_signs_in_while_an_attacker_hammers_the_same_address,
    |app| {
        let owner = app.client_as(Role::Auditor).await; // earns a trusted-device cookie
        assert!(ok(app
            .call(&owner, "/api/logout", steward_tests::NO_FIELDS)
            .await
            .status()));
        let attacker = app.client();
        // Spraying from the shared address locks the address for unknown browsers…
        for i in 0..25 {
            let r = app
                .login(&attacker, &format!("user{i}"), "password spraying!")
                .await;
            assert!(matches!(r.status().as_u16(), 422 | 429));
        }
        for i in 0..10 {
            let r = app
                .login(&attacker, "auditor", &format!("guess {i} for auditor"))
                .await;
            assert_eq!(r.status(), 429, "attempt {i}");
        }
        let stranger = app
            .login(&app.client(), "auditor", &app.password("auditor"))
            .await;
        assert_eq!(stranger.status(), 429);
        // …but the owner's own browser still gets in, with one try.
        let r = app.login(&owner, "auditor", &app.password("auditor")).await;
        assert!(ok(r.status()), "{}", r.status());
        assert_eq!(app.get(&owner, "/").await.status(), 200);
    }
);

both_dbs_with!(
    trusted_proxies_name_the_client_and_nothing_else_does,
    |o| o.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()],
    |app| {
        let app_ref = &app;
        let from = |ip: &'static str, n: usize| async move {
            let app = app_ref;
            let c = app.client();
            let r = c
                .post(app.url("/api/login"))
                .header("Origin", &app.base)
                .header("Accept", "application/json")
                .header("X-Forwarded-For", format!("10.9.9.9, {ip}"))
                .form(&[
                    ("username", format!("nobody{n}")),
                    ("password", "not the password".into()),
                ])
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        };
        for n in 0..20 {
            assert_eq!(from("203.0.113.9", n).await, 422);
        }
        assert_eq!(
            from("203.0.113.9", 20).await,
            429,
            "that client is throttled"
        );
        assert_eq!(
            from("198.51.100.4", 21).await,
            422,
            "another client behind the proxy is not"
        );
        let pool = app.db.pool().await;
        let addrs: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT DISTINCT client_addr FROM audit_events WHERE action = 'auth.login_failed'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        let mut addrs: Vec<String> = addrs.into_iter().flatten().collect();
        addrs.sort();
        assert_eq!(
            addrs,
            vec!["198.51.100.4", "203.0.113.9"],
            "the hop the proxy added"
        );
    }
);

both_dbs!(forwarded_for_is_ignored_without_trusted_proxies, |app| {
    let c = app.client();
    for i in 0..20 {
        let r = c
            .post(app.url("/api/login"))
            .header("Origin", &app.base)
            .header("Accept", "application/json")
            .header("X-Forwarded-For", format!("192.0.2.{i}"))
            .form(&[
                ("username", format!("someone{i}")),
                ("password", "not it at all".into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
    }
    // A client cannot escape the address limit by inventing addresses.
    let r = app.login(&app.client(), "nobody", "not it at all").await;
    assert_eq!(r.status(), 429);
    let n = count_where(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE client_addr LIKE '192.0.2.%'",
    )
    .await;
    assert_eq!(n, 0);
});

both_dbs!(refusals_are_cheap_and_storage_is_bounded, |app| {
    let audit_before = app.audit_count().await;
    let c = app.client();
    for i in 0..200 {
        let r = app
            .login(&c, "compliance", &format!("attempt {i} wrong"))
            .await;
        assert!(matches!(r.status().as_u16(), 422 | 429));
    }
    // 5 failures and one event for all the refusals.
    assert_eq!(app.audit_count().await - audit_before, 6);
    assert_eq!(
        count_where(&app, "SELECT COUNT(*) FROM login_attempts").await,
        5
    );
    assert_eq!(app.state().app.refusals.total(), 195);
    // Pruning on schedule: once out of the window the rows go.
    let st = &app.state().app;
    st.clock.advance(time::Duration::minutes(16));
    let pruned = app::auth::throttle::prune(&st.db, &st.security.throttle, st.clock.now())
        .await
        .unwrap();
    assert_eq!(pruned, 5);
    assert_eq!(
        count_where(&app, "SELECT COUNT(*) FROM login_attempts").await,
        0
    );
    // A new window notes a new refusal once more.
    for i in 0..7 {
        app.login(&c, "compliance", &format!("again {i} wrong"))
            .await;
    }
    let refused = app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "auth.login_throttled")
        .count();
    assert_eq!(refused, 2);
});

/// A client that shows only this session cookie (no trusted-device cookie), as a thief would.
async fn session_only(app: &TestApp, user: &str) -> reqwest::Client {
    let r = app.login(&app.client(), user, &app.password(user)).await;
    let token = cookie_value(&session_cookie(&r).expect("session"));
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        "cookie",
        format!("steward_session={token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

both_dbs!(password_changes_count_against_the_same_limit, |app| {
    let thief = session_only(&app, "finance").await;
    let hasher = app.state().app.hasher.clone();
    let before = hasher.verifications();
    let change = |c: reqwest::Client, current: String| {
        let app = &app;
        async move {
            app.call(
                &c,
                "/api/change_password",
                &[
                    ("current_password", current.as_str()),
                    ("new_password", "harbour lantern 2026 quiet"),
                    ("confirm_password", "harbour lantern 2026 quiet"),
                ],
            )
            .await
            .status()
            .as_u16()
        }
    };
    for i in 0..5 {
        assert_eq!(change(thief.clone(), format!("guess {i} wrong")).await, 422);
    }
    assert_eq!(change(thief.clone(), app.password("finance")).await, 429);
    assert_eq!(hasher.verifications() - before, 5);
    assert!(app
        .audit_actions()
        .await
        .contains(&"user.password_change_failed".to_string()));
});

both_dbs!(trusted_devices_end_with_a_password_change_or_reset, |app| {
    let old_browser = app.client_as(Role::Compliance).await;
    let new_browser = app.client_as(Role::Compliance).await;
    let new_pw = "violet cobalt harbour 1999";
    let r = app
        .call(
            &new_browser,
            "/api/change_password",
            &[
                ("current_password", app.password("compliance").as_str()),
                ("new_password", new_pw),
                ("confirm_password", new_pw),
            ],
        )
        .await;
    assert!(ok(r.status()), "{}", r.status());
    // Someone locks the account for unknown browsers.
    for i in 0..5 {
        app.login(&app.client(), "compliance", &format!("guess {i} wrong"))
            .await;
    }
    // The browser trusted under the old password is a stranger now; the one that changed it
    // is trusted afresh.
    assert_eq!(
        app.login(&old_browser, "compliance", new_pw).await.status(),
        429
    );
    assert!(ok(app
        .login(&new_browser, "compliance", new_pw)
        .await
        .status()));
    // An administrator's reset forgets every device of that user.
    let admin = app.client_as(Role::Admin).await;
    let id: i64 = count_where(&app, "SELECT id FROM users WHERE username = 'compliance'").await;
    let before = count_where(
        &app,
        &format!("SELECT COUNT(*) FROM trusted_devices WHERE user_id = {id}"),
    )
    .await;
    assert!(before >= 1);
    let r = app
        .call(
            &admin,
            "/api/reset_password",
            &[
                ("id", id.to_string()),
                ("password", "maple quartz ribbon 4411".into()),
            ],
        )
        .await;
    assert!(ok(r.status()), "{}", r.status());
    let after = count_where(
        &app,
        &format!("SELECT COUNT(*) FROM trusted_devices WHERE user_id = {id}"),
    )
    .await;
    assert_eq!(after, 0);
});

both_dbs!(a_password_set_by_an_admin_must_be_changed_first, |app| {
    let admin = app.client_as(Role::Admin).await;
    let initial = "granite meadow 7731 lamp";
    let r = app
        .call(
            &admin,
            "/api/create_user",
            &steward_tests::new_user_form("dana", "compliance", initial, ""),
        )
        .await;
    assert!(ok(r.status()), "{}", r.status());
    let dana = app.client();
    let r = app.login(&dana, "dana", initial).await;
    assert!(ok(r.status()));
    // Every page leads to the account page, every function is refused, until she changes it.
    let r = app.get(&dana, "/controls").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account?must_change=1");
    let r = app
        .call(&dana, "/api/list_controls", &[("filter[q]", "")])
        .await;
    assert_eq!(r.status(), 403);
    let e: app::error::AppError = r.json().await.unwrap();
    assert_eq!(e, app::error::AppError::PasswordChangeRequired);
    let page = app.get(&dana, "/account?must_change=1").await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("An administrator set your password"));
    let mine = "sparrow thimble 5520 coast";
    let r = app
        .call(
            &dana,
            "/api/change_password",
            &[
                ("current_password", initial),
                ("new_password", mine),
                ("confirm_password", mine),
            ],
        )
        .await;
    assert!(ok(r.status()), "{}", r.status());
    assert_eq!(app.get(&dana, "/controls").await.status(), 200);
    // A reset by an administrator asks again; demo users and one's own reset do not.
    let id: i64 = count_where(&app, "SELECT id FROM users WHERE username = 'dana'").await;
    app.call(
        &admin,
        "/api/reset_password",
        &[
            ("id", id.to_string()),
            ("password", "another admin choice 42".into()),
        ],
    )
    .await;
    let again = app.client();
    assert!(ok(app
        .login(&again, "dana", "another admin choice 42")
        .await
        .status()));
    assert_eq!(app.get(&again, "/").await.status(), 303);
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) FROM users WHERE must_change_password = 1"
        )
        .await,
        1
    );
});

both_dbs!(next_after_sign_in_never_leaves_the_site, |app| {
    for (next, want) in [
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/audit?x=1", "/audit?x=1"),
    ] {
        let r = app
            .form_post(
                &app.client(),
                "/api/login",
                "/login",
                &[
                    ("username", "admin"),
                    ("password", app.password("admin").as_str()),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status(), 302, "{next:?}");
        assert_eq!(r.headers()["location"], want, "{next:?}");
    }
});

both_dbs!(request_ids_are_kept_only_when_short_and_plain, |app| {
    let c = app.client_as(Role::Admin).await;
    for (sent, kept) in [
        ("plain-id_42.x", true),
        ("has spaces in it", false),
        ("<script>alert(1)</script>", false),
        (&*"a".repeat(65), false),
    ] {
        let r = c
            .post(app.url("/api/logout"))
            .header("Origin", &app.base)
            .header("X-Request-Id", sent)
            .send()
            .await
            .unwrap();
        let echoed = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(echoed == sent, kept, "{sent}");
        let stored: Option<String> = {
            let pool = app.db.pool().await;
            let v = sqlx::query_scalar(
                "SELECT request_id FROM audit_events WHERE action = 'auth.logout' ORDER BY seq DESC LIMIT 1",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            pool.close().await;
            v
        };
        assert_eq!(stored.as_deref(), Some(echoed.as_str()));
        assert!(app
            .login(&c, "admin", &app.password("admin"))
            .await
            .status()
            .is_success());
    }
});

// --- Uploads: a client's pace never holds the write lock; stalled uploads leave nothing. ----

/// Sends a request head and the start of a body, then goes quiet (the stream is returned so
/// the connection stays open).
async fn stall(
    app: &TestApp,
    path: &str,
    token: &str,
    body_start: &[u8],
    chunked: bool,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let length = if chunked {
        "Transfer-Encoding: chunked\r\n".to_string()
    } else {
        "Content-Length: 50000000\r\n".to_string()
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nCookie: steward_session={token}\r\n\
         Accept: application/json\r\nContent-Type: {}\r\n{length}\r\n",
        app.base.trim_start_matches("http://"),
        app.base,
        super::evidence::content_type()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    if chunked {
        s.write_all(format!("{:x}\r\n", body_start.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(body_start).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
    } else {
        s.write_all(body_start).await.unwrap();
    }
    s.flush().await.unwrap();
    s
}

async fn token_for(app: &TestApp, user: &str) -> String {
    let r = app.login(&app.client(), user, &app.password(user)).await;
    cookie_value(&session_cookie(&r).expect("session"))
}

/// Signs in and edits a control; each must answer within a second while an upload stalls.
async fn writers_are_not_held_up(app: &TestApp, control: i64) {
    let t = Instant::now();
    let c = app.client_as(Role::Compliance).await;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "sign-in took {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let r = app
        .call(
            &c,
            "/api/save_control",
            &[
                ("form[id]", control.to_string()),
                ("form[ref]", "STALL-1".into()),
                ("form[title]", format!("Edited at {:?}", t)),
                ("form[cadence]", "monthly".into()),
                ("form[owner]", "".into()),
                ("form[description]", "".into()),
                ("form[justification]", "".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "a control edit took {:?}",
        t.elapsed()
    );
}

/// Reads what the server answers, waiting at most `within`.
async fn answer(mut s: tokio::net::TcpStream, within: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(within, s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).to_string()
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

both_dbs_with!(
    a_stalled_cost_upload_holds_up_no_one_and_leaves_nothing,
    |o| o.upload_idle = Duration::from_secs(3),
    |app| {
        let control = super::evidence::insert_control(&app, "STALL-1", None).await;
        let token = token_for(&app, "finance").await;
        let csv = std::fs::read(super::costs_fixture_sample()).unwrap();
        // The header and two rows, then silence.
        let third_line = csv
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(2)
            .map(|(i, _)| i + 1)
            .unwrap();
        let head: Vec<u8> = super::evidence::Form::new()
            .file_header("focus.csv", Some("text/csv"))
            .into_head()
            .into_iter()
            .chain(csv[..third_line].iter().copied())
            .collect();
        let batches = count_where(&app, "SELECT COUNT(*) FROM cost_batches").await;
        let stalled = stall(&app, app::costs::files::UPLOAD_PATH, &token, &head, false).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let spool = app.db.data_dir().join("tmp");
        assert_eq!(files_in(&spool), 1, "the upload is being received");
        writers_are_not_held_up(&app, control).await;
        let reply = answer(stalled, Duration::from_secs(10)).await;
        assert!(reply.contains("stalled"), "{reply}");
        assert_eq!(files_in(&spool), 0, "the partial upload is gone");
        assert_eq!(
            count_where(&app, "SELECT COUNT(*) FROM cost_batches").await,
            batches
        );
        assert_eq!(
            count_where(&app, "SELECT COUNT(*) FROM cost_line_items").await,
            0
        );
    }
);

both_dbs_with!(
    a_stalled_chunked_evidence_upload_holds_up_no_one_and_leaves_nothing,
    |o| o.upload_idle = Duration::from_secs(3),
    |app| {
        let control = super::evidence::insert_control(&app, "STALL-1", None).await;
        let token = token_for(&app, "compliance").await;
        let head = super::evidence::new_evidence("Stalled", &[control])
            .file_header("report.pdf", Some("application/pdf"))
            .into_head()
            .into_iter()
            .chain(b"%PDF-1.7\n".iter().copied())
            .collect::<Vec<u8>>();
        let stalled = stall(&app, app::evidence::UPLOAD_PATH, &token, &head, true).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        writers_are_not_held_up(&app, control).await;
        let reply = answer(stalled, Duration::from_secs(10)).await;
        assert!(reply.contains("stalled"), "{reply}");
        let staging = app.db.data_dir().join("blobs").join("tmp");
        assert_eq!(files_in(&staging), 0, "nothing staged");
        assert_eq!(count_where(&app, "SELECT COUNT(*) FROM evidence").await, 0);
        assert_eq!(count_where(&app, "SELECT COUNT(*) FROM blobs").await, 0);
    }
);

/// Streams `head` and then up to 200 MiB of `fill` bytes with no `Content-Length`; returns the
/// status and how many bytes the server had pulled when it answered.
async fn endless_upload(app: &TestApp, c: &reqwest::Client, head: Vec<u8>, fill: u8) -> (u16, u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let chunks = std::iter::once(head).chain((0..200).map(move |_| vec![fill; 1 << 20]));
    let stream = futures_util::stream::iter(chunks.map(move |c| {
        counter.fetch_add(c.len() as u64, Ordering::Relaxed);
        Ok::<_, std::io::Error>(c)
    }));
    let status = c
        .post(app.url(app::evidence::UPLOAD_PATH))
        .header("Origin", &app.base)
        .header("Accept", "application/json")
        .header("Content-Type", super::evidence::content_type())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, sent.load(Ordering::Relaxed))
}

both_dbs!(
    chunked_evidence_bodies_are_bounded_outside_the_file_too,
    |app| {
        let control = super::evidence::insert_control(&app, "BIG-1", None).await;
        let c = app.client_as(Role::Compliance).await;
        let boundary = super::evidence::BOUNDARY;
        // A field the form does not have, before the file, that never ends: refused once it
        // passes the text fields' budget, long before the 200 MiB are sent.
        let head = super::evidence::new_evidence("Big", &[control])
            .into_head()
            .into_iter()
            .chain(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"padding\"\r\n\r\n")
                    .into_bytes(),
            )
            .collect();
        let (status, sent) = endless_upload(&app, &c, head, b'x').await;
        assert!(matches!(status, 422 | 0), "{status}");
        assert!(
            sent < 32 << 20,
            "the server read {} MiB of an unknown field",
            sent >> 20
        );
        // A part header that never ends: refused at the header budget, not buffered.
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\nX-Padding: "
        )
        .into_bytes();
        let (status, sent) = endless_upload(&app, &c, head, b'p').await;
        assert!(matches!(status, 422 | 0), "{status}");
        assert!(
            sent < 32 << 20,
            "the server buffered {} MiB of part header",
            sent >> 20
        );
        assert_eq!(count_where(&app, "SELECT COUNT(*) FROM evidence").await, 0);
        assert_eq!(files_in(&app.db.data_dir().join("blobs").join("tmp")), 0);
    }
);

both_dbs_with!(
    an_evidence_upload_stalled_between_parts_is_dropped,
    |o| o.upload_idle = Duration::from_secs(2),
    |app| {
        // Silence inside a part header (no file data yet): the idle limit still applies.
        let token = token_for(&app, "compliance").await;
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"title\"\r\n",
            super::evidence::BOUNDARY
        );
        let stalled = stall(
            &app,
            app::evidence::UPLOAD_PATH,
            &token,
            head.as_bytes(),
            true,
        )
        .await;
        let started = Instant::now();
        let reply = answer(stalled, Duration::from_secs(15)).await;
        assert!(reply.contains("stalled"), "{reply}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
);

// --- The binary: bounded memory for made-up requests and hostile cost files. ---------------

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn series(base: &str) -> Vec<String> {
    reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth("metrics-token-for-this-test")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("steward_http_requests_total{"))
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(labels, _)| labels)
                .to_string()
        })
        .collect()
}

async fn random_requests(base: &str, n: usize) {
    use rand::Rng;
    let c = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (c, base) = (c.clone(), base.to_string());
        tasks.spawn(async move {
            for _ in 0..n / 8 {
                let (method, path) = {
                    let mut rng = rand::thread_rng();
                    let method: String = (0..10)
                        .map(|_| rng.gen_range(b'A'..=b'Z') as char)
                        .collect();
                    let path = format!("/{w}/{:016x}/{:08x}", rng.gen::<u64>(), rng.gen::<u32>());
                    (method, path)
                };
                let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let _ = c.request(m, format!("{base}{path}")).send().await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_and_paths_leave_metrics_and_memory_flat() {
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("steward-metrics-{}", steward_tests::free_port()));
    let port = steward_tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(steward_tests::steward_bin())
        .arg("serve")
        .env("STEWARD_DATA_DIR", &dir)
        .env("STEWARD_BIND", format!("127.0.0.1:{port}"))
        .env("STEWARD_METRICS_TOKEN", "metrics-token-for-this-test")
        .env("STEWARD_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn steward serve");
    steward_tests::wait_ready(&base).await;
    random_requests(&base, 2_000).await;
    series(&base).await; // the scrape's own series appears from the next scrape on
    let (series_before, rss_before) = (series(&base).await, rss_kib(child.id()));
    random_requests(&base, 10_000).await;
    let (series_after, rss_after) = (series(&base).await, rss_kib(child.id()));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(
        series_after, series_before,
        "made-up requests add no series"
    );
    assert!(
        rss_after <= rss_before + 2048,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
}

/// A FOCUS header and one good row (from the shipped sample), then `rest`.
fn focus_start() -> Vec<u8> {
    let csv = std::fs::read(costs_fixture_sample()).unwrap();
    let second = csv
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    csv[..second].to_vec()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Runs `steward import-costs FILE`; its exit status, stderr and peak RSS (KiB).
async fn import_cli(db: &steward_tests::TestDb, file: &std::path::Path) -> (bool, String, u64) {
    let err_path = file.with_extension("stderr");
    let mut child = std::process::Command::new(steward_tests::steward_bin())
        .args(["import-costs", &file.to_string_lossy()])
        .env("DATABASE_URL", &db.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let (status, peak) = steward_tests::wait_with_peak_rss(&mut child);
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(err_path);
    (status.success(), err, peak)
}

async fn hostile_cost_files(backend: Backend) {
    let Some(db) = steward_tests::TestDb::new(backend).await else {
        return;
    };
    let dir = db.data_dir();
    // A decompression bomb: gzip members of a mebibyte of blank lines, 300 times (0.3 MiB
    // that inflates to 300 MiB), after a valid start.
    let member = gzip(&vec![b'\n'; 1 << 20]);
    let mut bomb = gzip(&focus_start());
    for _ in 0..300 {
        bomb.extend_from_slice(&member);
    }
    let path = dir.join("bomb.csv.gz");
    std::fs::write(&path, &bomb).unwrap();
    let started = Instant::now();
    let (ok, err, peak) = import_cli(&db, &path).await;
    assert!(!ok, "a bomb is refused");
    assert!(err.contains("possible decompression bomb"), "{err}");
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    assert!(started.elapsed() < Duration::from_secs(60));
    // One field of 100 MB (an unclosed quote, or a bomb of one value).
    let mut huge = focus_start();
    huge.extend_from_slice(b"\"");
    huge.extend(std::iter::repeat_n(b'0', 100_000_000));
    let path = dir.join("huge-field.csv");
    std::fs::write(&path, &huge).unwrap();
    let (ok, err, peak) = import_cli(&db, &path).await;
    assert!(!ok);
    assert!(
        err.contains("row 2 (line 3): the record is larger than 4 MiB"),
        "{err}"
    );
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    // The same as a .gz of one 100 MB field.
    let path = dir.join("huge-field.csv.gz");
    std::fs::write(&path, gzip(&huge)).unwrap();
    let (ok, err, peak) = import_cli(&db, &path).await;
    assert!(!ok);
    assert!(err.contains("the record is larger than 4 MiB"), "{err}");
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    // Nothing was written.
    let pool = db.pool().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cost_batches")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cost_files_are_refused_in_bounded_memory_sqlite() {
    hostile_cost_files(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cost_files_are_refused_in_bounded_memory_postgres() {
    hostile_cost_files(Backend::Postgres).await;
}

#[test]
fn secrets_are_not_printed_by_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"][..],
        &["verify-audit", "--help"][..],
    ] {
        let out = std::process::Command::new(steward_tests::steward_bin())
            .args(args)
            .env(
                "DATABASE_URL",
                "postgres://steward:PASSWORD-XYZZY@db.internal/steward",
            )
            .env("STEWARD_METRICS_TOKEN", "TOKEN-PLUGH")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{args:?}");
        assert!(text.contains("DATABASE_URL"), "{text}");
        assert!(!text.contains("PASSWORD-XYZZY"), "{args:?}: {text}");
        assert!(!text.contains("TOKEN-PLUGH"), "{args:?}: {text}");
    }
}

/// `steward serve` on an empty database: the first-run box it prints.
async fn first_run_banner(extra: &[&str], env: &[(&str, &str)]) -> String {
    use std::io::BufReader;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("steward-first-{}", steward_tests::free_port()));
    let port = steward_tests::free_port();
    let mut child = Command::new(steward_tests::steward_bin())
        .arg("serve")
        .args(extra)
        .env("STEWARD_DATA_DIR", &dir)
        .env("STEWARD_BIND", format!("127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn steward serve");
    steward_tests::wait_ready(&format!("http://127.0.0.1:{port}")).await;
    let banner = steward_tests::read_banner(&mut BufReader::new(child.stdout.take().unwrap()));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
    banner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_users_only_when_asked_for() {
    let plain = first_run_banner(&[], &[]).await;
    assert!(
        steward_tests::banner_password(&plain, "admin").is_some(),
        "{plain}"
    );
    for demo in ["compliance", "finance", "auditor"] {
        assert!(
            steward_tests::banner_password(&plain, demo).is_none(),
            "{plain}"
        );
    }
    for (args, env) in [
        (&["--demo"][..], &[][..]),
        (&[][..], &[("STEWARD_DEMO", "true")][..]),
    ] {
        let demo = first_run_banner(args, env).await;
        for user in ["admin", "compliance", "finance", "auditor"] {
            assert!(
                steward_tests::banner_password(&demo, user).is_some(),
                "{demo}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_whoever_started_it_no_longer_reading() {
    use std::io::BufReader;
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("steward-pipe-{}", steward_tests::free_port()));
    let port = steward_tests::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(steward_tests::steward_bin())
        .args(["serve", "--demo"])
        .env("STEWARD_DATA_DIR", &dir)
        .env("STEWARD_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn steward serve");
    // Read one line of the first-run box, then close the pipe: the rest goes nowhere.
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    steward_tests::wait_ready(&base).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alive = child.try_wait().unwrap().is_none();
    let health = reqwest::get(format!("{base}/healthz"))
        .await
        .map(|r| r.status().as_u16());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
    assert!(alive, "steward serve died when its stdout closed");
    assert_eq!(health.ok(), Some(200));
}
