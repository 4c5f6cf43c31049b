//! Sign-in throttling, trusted devices and proxies, forced password changes, `next`, request ids.

use super::super::*;
use super::{count_where, ok};
use steward_tests::both_dbs_with;

/// `n` wrong passwords for `user` at once, each from a new browser; their statuses.
async fn concurrent_guesses(app: &TestApp, user: &'static str, n: usize) -> Vec<u16> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let (c, url, base) = (app.client(), app.url("/api/login"), app.base.clone());
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .header("Origin", base)
                .header("Accept", "application/json")
                .form(&[
                    ("username", user),
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
    statuses
}

both_dbs!(concurrent_wrong_guesses_verify_at_most_the_limit, |app| {
    let hasher = app.state().app.hasher.clone();
    let before = hasher.verifications();
    let statuses = concurrent_guesses(&app, "finance", 60).await;
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
        .login(&app.client(), "finance", &app.password("finance").await)
        .await;
    assert_eq!(r.status(), 429);
    assert_eq!(hasher.verifications(), before);
});

both_dbs!(one_account_hammered_does_not_lock_the_address_out, |app| {
    // 100 concurrent guesses at one account from one address: only the account is locked, so
    // everyone else behind that address (a proxy, an office NAT) still signs in.
    for status in concurrent_guesses(&app, "finance", 100).await {
        assert!(matches!(status, 422 | 429));
    }
    let r = app
        .login(
            &app.client(),
            "compliance",
            &app.password("compliance").await,
        )
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
            .login(&app.client(), "auditor", &app.password("auditor").await)
            .await;
        assert_eq!(stranger.status(), 429);
        // …but the owner's own browser still gets in, with one try.
        let r = app
            .login(&owner, "auditor", &app.password("auditor").await)
            .await;
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
    // Storage stays bounded: past its retention rule (90 days by default) the retention job
    // disposes of the attempts, leaving a tombstone with the hash of what went.
    let st = &app.state().app;
    st.clock.advance(time::Duration::days(91));
    let ctx = app::audit::chain::AuditCtx {
        actor: "retention".into(),
        at: app::util::ts(st.clock.now()),
        ..Default::default()
    };
    let env = app::retention::own::Env {
        db: &st.db,
        blobs: st.blobs.as_ref(),
        ctx: &ctx,
        audit_min_days: st.audit_min_days,
    };
    let lines = app::retention::own::run(&env, st.clock.now(), false)
        .await
        .unwrap();
    let line = lines.iter().find(|l| l.key == "login_failures").unwrap();
    assert_eq!(line.count, 5);
    assert_eq!(
        count_where(&app, "SELECT COUNT(*) FROM login_attempts").await,
        0
    );
    assert!(app
        .audit_actions()
        .await
        .contains(&"retention.dispose".to_string()));
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
    let r = app
        .login(&app.client(), user, &app.password(user).await)
        .await;
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
    assert_eq!(
        change(thief.clone(), app.password("finance").await).await,
        429
    );
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
                (
                    "current_password",
                    app.password("compliance").await.as_str(),
                ),
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
                    ("password", app.password("admin").await.as_str()),
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
            .login(&c, "admin", &app.password("admin").await)
            .await
            .status()
            .is_success());
    }
});
