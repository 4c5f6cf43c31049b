use super::*;

use steward_tests::new_user_form as new_user;

steward_tests::both_dbs_with!(
    admin_manages_users_with_clear_errors,
    |o| o.demo = true,
    |app| {
        let admin = app.client_as(Role::Admin).await;
        let r = app
            .call(
                &admin,
                "/api/create_user",
                &new_user("erin", "finance", "copper meadow falcon", ""),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        assert!(app
            .login(&app.client(), "erin", "copper meadow falcon")
            .await
            .status()
            .is_success());

        let r = app
            .call(
                &admin,
                "/api/create_user",
                &new_user("ERIN", "finance", "copper meadow falcon", ""),
            )
            .await;
        assert_eq!(r.status(), 409);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Username: 'erin' is already taken."));
        let r = app
            .call(
                &admin,
                "/api/create_user",
                &new_user("x", "finance", "copper meadow falcon", ""),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Username: must be 3 to 64 characters"));
        let r = app
            .call(
                &admin,
                "/api/create_user",
                &new_user("zed", "superuser", "copper meadow falcon", ""),
            )
            .await;
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Role: unknown role 'superuser'"));
        let r = app
            .call(
                &admin,
                "/api/create_user",
                &new_user("zed", "finance", "short", ""),
            )
            .await;
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Password: must be at least 12 characters"));
        let r = app
            .call(
                &admin,
                "/api/create_user",
                &new_user("zed", "auditor", "copper meadow falcon", ""),
            )
            .await;
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Access until: required for auditors"));
        let r = app
            .call(
                &admin,
                "/api/create_user",
                &new_user("zed", "auditor", "copper meadow falcon", "2001-01-01"),
            )
            .await;
        assert!(r.text().await.unwrap().contains("is in the past"));
        // Nothing half-written: only erin was added.
        let pool = app.db.pool().await;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 5);
        let creates = app
            .audit_actions()
            .await
            .iter()
            .filter(|a| *a == "user.create")
            .count();
        assert_eq!(creates, 5, "4 first-run users + erin");
    }
);

both_dbs!(role_changes_and_deactivation_end_sessions, |app| {
    let admin = app.client_as(Role::Admin).await;
    let fin = app.client_as(Role::Finance).await;
    let pool = app.db.pool().await;
    let fin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'finance'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let id = fin_id.to_string();
    let change = |role: &'static str, active: bool| {
        let mut v = vec![
            ("change[id]", id.clone()),
            ("change[display_name]", "Frankie".to_string()),
            ("change[email]", "frankie@example.com".to_string()),
            ("change[role]", role.to_string()),
            ("change[access_until]", String::new()),
        ];
        if active {
            v.push(("change[active]", "on".to_string()));
        }
        v
    };
    let form = change("compliance", true);
    let r = app.call(&admin, "/api/update_user", &form).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(
        app.get(&fin, "/").await.status(),
        303,
        "a role change signs the user out"
    );
    let summary: String =
        sqlx::query_scalar("SELECT summary FROM audit_events WHERE action = 'user.role_change'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(summary.contains("role: finance → compliance"), "{summary}");
    assert!(
        summary.contains("email: - → frankie@example.com"),
        "{summary}"
    );

    let fin = app.client();
    assert!(app
        .login(&fin, "finance", &app.password("finance").await)
        .await
        .status()
        .is_success());
    let form = change("compliance", false);
    assert_eq!(
        app.call(&admin, "/api/update_user", &form).await.status(),
        200
    );
    assert_eq!(
        app.get(&fin, "/").await.status(),
        303,
        "deactivation signs the user out"
    );
    let r = app
        .login(&app.client(), "finance", &app.password("finance").await)
        .await;
    assert_eq!(r.status(), 422, "a deactivated user cannot sign in");

    // An administrator cannot demote themself, and the last admin stays.
    let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let aid = admin_id.to_string();
    let form = [
        ("change[id]", aid.as_str()),
        ("change[display_name]", "Administrator"),
        ("change[email]", ""),
        ("change[role]", "finance"),
        ("change[active]", "on"),
        ("change[access_until]", ""),
    ];
    let r = app.call(&admin, "/api/update_user", &form).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("cannot change your own role"));
});

both_dbs!(auditor_access_is_time_boxed, |app| {
    let admin = app.client_as(Role::Admin).await;
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .date()
        .to_string();
    let r = app
        .call(
            &admin,
            "/api/create_user",
            &new_user("ext-auditor", "auditor", "granite willow parade", &until),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let aud = app.client();
    assert!(app
        .login(&aud, "ext-auditor", "granite willow parade")
        .await
        .status()
        .is_success());
    // The password the administrator set must be replaced before anything else.
    assert_eq!(app.get(&aud, "/audit").await.status(), 303);
    let own = "auditor chose this 2026";
    let r = app
        .call(
            &aud,
            "/api/change_password",
            &[
                ("current_password", "granite willow parade"),
                ("new_password", own),
                ("confirm_password", own),
            ],
        )
        .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    assert_eq!(app.get(&aud, "/audit").await.status(), 200);
    // Auditors read; they never write.
    let r = app
        .call(
            &aud,
            "/api/create_user",
            &new_user("sneaky", "admin", "granite willow parade", ""),
        )
        .await;
    assert_eq!(r.status(), 403);
    app.state().app.clock.advance(time::Duration::days(3));
    assert_eq!(
        app.get(&aud, "/audit").await.status(),
        303,
        "access ended with its period"
    );
    assert_eq!(
        app.login(&app.client(), "ext-auditor", own).await.status(),
        422
    );
});

both_dbs!(admin_resets_a_password, |app| {
    let admin = app.client_as(Role::Admin).await;
    let fin = app.client_as(Role::Finance).await;
    let pool = app.db.pool().await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'finance'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let ids = id.to_string();
    let r = app
        .call(
            &admin,
            "/api/reset_password",
            &[("id", ids.as_str()), ("password", "letmein12345")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .call(
            &admin,
            "/api/reset_password",
            &[("id", "999999"), ("password", "saffron kettle drum 7")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .call(
            &admin,
            "/api/reset_password",
            &[("id", ids.as_str()), ("password", "saffron kettle drum 7")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get(&fin, "/").await.status(), 303);
    assert!(app
        .login(&app.client(), "finance", "saffron kettle drum 7")
        .await
        .status()
        .is_success());
    assert!(app
        .audit_actions()
        .await
        .contains(&"user.password_reset".to_string()));
});
