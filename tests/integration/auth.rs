use super::*;
use time::Duration;

both_dbs!(login_sets_a_hardened_session_cookie, |app| {
    let c = app.client();
    let res = app.login(&c, "admin", &app.password("admin").await).await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let cookie = session_cookie(&res).expect("session cookie");
    assert!(cookie.starts_with("steward_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
    assert_eq!(cookie_value(&cookie).len(), 64);
    // The stored value is the token's hash, never the token.
    let pool = app.db.pool().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(!stored.contains(&cookie_value(&cookie)));
    assert!(stored.contains(&app::util::sha256_hex(cookie_value(&cookie).as_bytes())));
    let res = app.get(&c, "/").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Test organisation"));
});

both_dbs!(unknown_user_and_wrong_password_answer_alike, |app| {
    let c = app.client();
    let hasher = &app.state().app.hasher;
    let before = hasher.verifications();
    let a = app.login(&c, "admin", "not the right password").await;
    let (sa, ba) = (a.status(), a.text().await.unwrap());
    let mid = hasher.verifications();
    let b = app.login(&c, "nobody-here", "not the right password").await;
    let (sb, bb) = (b.status(), b.text().await.unwrap());
    // Same status and body, and the unknown user cost a password verification too.
    assert_eq!(sa, sb);
    assert_eq!(ba, bb);
    assert!(ba.contains("Invalid username or password."), "{ba}");
    assert_eq!(mid - before, 1);
    assert_eq!(hasher.verifications() - mid, 1);
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.login_failed").count(),
        2
    );
});

both_dbs!(a_new_session_id_at_every_login_and_logout_ends_it, |app| {
    let c = app.client();
    let t1 = cookie_value(
        &session_cookie(
            &app.login(&c, "finance", &app.password("finance").await)
                .await,
        )
        .unwrap(),
    );
    let t2 = cookie_value(
        &session_cookie(
            &app.login(&c, "finance", &app.password("finance").await)
                .await,
        )
        .unwrap(),
    );
    assert_ne!(t1, t2);
    assert_eq!(
        get_with_token(&app, "/", &t1).await.status(),
        303,
        "the old session must be gone"
    );
    assert_eq!(get_with_token(&app, "/", &t2).await.status(), 200);
    let res = app.call(&c, "/api/logout", steward_tests::NO_FIELDS).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let res = get_with_token(&app, "/", &t2).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login");
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"auth.logout".to_string()));
    assert_eq!(actions.iter().filter(|a| *a == "auth.login").count(), 2);
});

both_dbs!(idle_and_absolute_timeouts_end_sessions, |app| {
    let clock = app.state().app.clock.clone();
    let idle = app.client_as(Role::Compliance).await;
    let busy = app.client_as(Role::Finance).await;
    clock.advance(Duration::minutes(29));
    assert_eq!(
        app.get(&idle, "/").await.status(),
        200,
        "29 minutes idle is fine"
    );
    clock.advance(Duration::minutes(31));
    assert_eq!(
        app.get(&idle, "/").await.status(),
        303,
        "31 minutes idle ends the session"
    );
    // Active every 25 minutes: survives until 8 hours after sign-in, not beyond.
    let busy2 = app.client_as(Role::Finance).await;
    let _ = busy;
    for _ in 0..18 {
        clock.advance(Duration::minutes(25));
        assert_eq!(app.get(&busy2, "/").await.status(), 200);
    }
    clock.advance(Duration::minutes(35)); // 8 h 5 min after sign-in
    assert_eq!(app.get(&busy2, "/").await.status(), 303);
});

both_dbs!(
    throttling_is_per_account_and_per_address_and_never_permanent,
    |app| {
        let owner = app.client_as(Role::Finance).await; // holds a trusted-device cookie now
        let attacker = app.client();
        for _ in 0..5 {
            let r = app
                .login(&attacker, "finance", "guessing wrongly 123")
                .await;
            assert_eq!(r.status(), 422);
        }
        // Locked for strangers, even with the right password…
        let stranger = app.client();
        let r = app
            .login(&stranger, "finance", &app.password("finance").await)
            .await;
        assert_eq!(r.status(), 429);
        let err: app::error::AppError = r.json().await.unwrap();
        assert_eq!(
            err.to_string(),
            "Too many attempts. Try again in 15 minute(s)."
        );
        assert!(app
            .audit_actions()
            .await
            .contains(&"auth.login_throttled".to_string()));
        // …but not for the owner's browser, which signed in before.
        let r = app
            .login(&owner, "finance", &app.password("finance").await)
            .await;
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{}",
            r.status()
        );
        // Other accounts are unaffected, and the lock ends when the window slides past.
        let r = app
            .login(
                &app.client(),
                "compliance",
                &app.password("compliance").await,
            )
            .await;
        assert_eq!(r.status(), 200);
        app.state().app.clock.advance(Duration::minutes(16));
        let r = app
            .login(&app.client(), "finance", &app.password("finance").await)
            .await;
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{}",
            r.status()
        );

        // Per address: 20 failures across accounts lock this address out.
        for i in 0..20 {
            let r = app
                .login(&attacker, &format!("someone{i}"), "guessing wrongly 123")
                .await;
            assert_eq!(r.status(), 422, "attempt {i}");
        }
        let r = app
            .login(&app.client(), "auditor", &app.password("auditor").await)
            .await;
        assert_eq!(r.status(), 429);
    }
);

both_dbs!(forms_work_without_javascript, |app| {
    let c = app.client();
    // A failed sign-in redirects back to the form with the error, which the page renders.
    let r = app
        .form_post(
            &c,
            "/api/login",
            "/login",
            &[
                ("username", "admin"),
                ("password", "wrong password here"),
                ("next", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.contains("__err="), "{loc}");
    let page = app
        .get(&c, loc.trim_start_matches(&app.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Invalid username or password."),
        "error not rendered without JS"
    );
    // A good one redirects to `next` with the cookie.
    let r = app
        .form_post(
            &c,
            "/api/login",
            "/login",
            &[
                ("username", "admin"),
                ("password", &app.password("admin").await),
                ("next", "/audit"),
            ],
        )
        .await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/audit");
    assert!(session_cookie(&r).is_some());
    // An off-site `next` is ignored.
    let r = app
        .form_post(
            &c,
            "/api/login",
            "/login",
            &[
                ("username", "admin"),
                ("password", &app.password("admin").await),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.headers()["location"], "/");
    // Create a user with a plain form post.
    let r = app
        .form_post(
            &c,
            "/api/create_user",
            "/admin/users",
            &[
                ("user[username]", "dana"),
                ("user[display_name]", "Dana Reviewer"),
                ("user[email]", ""),
                ("user[role]", "compliance"),
                ("user[password]", "orbit lantern cobalt 42"),
                ("user[access_until]", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        loc.trim_end_matches('?'),
        app.url("/admin/users"),
        "{}",
        app.get(&c, loc.trim_start_matches(&app.base))
            .await
            .text()
            .await
            .unwrap()
    );
    let page = app.get(&c, "/admin/users").await.text().await.unwrap();
    assert!(page.contains("Dana Reviewer"));
    // Sign out with a plain form post.
    let r = app
        .form_post(&c, "/api/logout", "/", steward_tests::NO_FIELDS)
        .await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(app.get(&c, "/").await.status(), 303);
});

both_dbs!(password_change_ends_other_sessions, |app| {
    let a = app.client_as(Role::Compliance).await;
    let b = app.client_as(Role::Compliance).await;
    let old = app.password("compliance").await;
    let r = app
        .call(
            &a,
            "/api/change_password",
            &[
                ("current_password", "wrong"),
                ("new_password", "x"),
                ("confirm_password", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .call(
            &a,
            "/api/change_password",
            &[
                ("current_password", old.as_str()),
                ("new_password", "password12345"),
                ("confirm_password", "password12345"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("commonly used"));
    let new = "quiet harbour violet 1987";
    let r = app
        .call(
            &a,
            "/api/change_password",
            &[
                ("current_password", old.as_str()),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    assert_eq!(
        app.get(&a, "/").await.status(),
        200,
        "this browser stays signed in"
    );
    assert_eq!(
        app.get(&b, "/").await.status(),
        303,
        "the other session ended"
    );
    assert_eq!(
        app.login(&app.client(), "compliance", &old).await.status(),
        422
    );
    assert_eq!(
        app.login(&app.client(), "compliance", new).await.status(),
        200
    );
    assert!(app
        .audit_actions()
        .await
        .contains(&"user.password_change".to_string()));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_public_url_hardens_cookie_and_adds_hsts() {
    let app = TestApp::spawn_with(Backend::Sqlite, |o| {
        o.public_url = Some("https://steward.example".into())
    })
    .await
    .unwrap();
    let c = app.client();
    let res = c
        .post(app.url("/api/login"))
        .header("Origin", "https://steward.example")
        .form(&[
            ("username", "admin"),
            ("password", &app.password("admin").await),
        ])
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-steward_session="))
        .expect("__Host- cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age=63072000"));
    // Requests from the bound address are now cross-origin.
    let res = app
        .login(&app.client(), "admin", &app.password("admin").await)
        .await;
    assert_eq!(res.status(), 403);
}

both_dbs!(
    unreadable_server_function_arguments_are_422_not_500,
    |app| {
        // The function body never runs when its arguments cannot be decoded: the status still
        // comes from the error, not server_fn's blanket 500.
        let r = app
            .call(&app.client(), "/api/login", steward_tests::NO_FIELDS)
            .await;
        assert_eq!(r.status(), 422);
        let e: app::error::AppError = r.json().await.unwrap();
        assert!(matches!(e, app::error::AppError::Invalid(_)), "{e:?}");
        let admin = app.client_as(Role::Admin).await;
        let r = app
            .call(&admin, "/api/reset_password", &[("id", "not a number")])
            .await;
        assert_eq!(r.status(), 422);
    }
);

steward_tests::both_dbs_with!(
    production_servers_hash_with_the_owasp_argon2id_parameters,
    |o| o.password_cost = app::auth::password::HashCost::PRODUCTION,
    |app| {
        // Test servers hash at the smallest cost; this one keeps production's, as `steward
        // serve` does: argon2id, m = 19 MiB, t = 2, p = 1.
        let (_, pw) = app.user(Role::Finance).await;
        let pool = app.db.pool().await;
        let hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        assert_eq!(hashes.len(), 2);
        for h in &hashes {
            assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        }
        let r = app.login(&app.client(), "finance", &pw).await;
        assert_eq!(r.status(), 200);
    }
);

both_dbs!(
    a_session_kept_in_memory_ends_at_once_when_another_process_ends_it,
    |app| {
        let c = app.client_as(Role::Finance).await;
        assert_eq!(app.get(&c, "/account").await.status(), 200);
        assert_eq!(app.get(&c, "/account").await.status(), 200, "kept");
        assert!(!app.state().app.sessions.is_empty());
        // Another process (here: a write straight to the database, not through this server)
        // ends every session of the user, with its audit event as every change has.
        let db = &app.state().app.db;
        let mut tx = db.write().await.unwrap();
        sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'finance')")
            .execute(tx.conn())
            .await
            .unwrap();
        tx.audit(app::audit::chain::NewEvent {
            at: app::util::ts(app.state().app.clock.now()),
            actor_id: None,
            actor: "operator".into(),
            action: "session.end_all".into(),
            object_type: "user".into(),
            object_id: "finance".into(),
            summary: "ended by another process".into(),
            request_id: None,
            client_addr: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            app.get(&c, "/account").await.status(),
            303,
            "the next request is signed out"
        );
    }
);
