//! Access reviews closing the loop: revoke and modify decisions become remediation items that
//! only a later snapshot verifies (or a documented exception accepts); the owner's sign-off
//! stores the report as evidence on the mapped control and plans the next draft; new and
//! removed accounts since the last completed campaign; reminders and escalation.

use super::access_campaigns::{entry_of, import_csv, keys, member, queue};
use super::exports::json;
use super::*;
use sha2::{Digest, Sha256};

async fn intact(app: &TestApp) {
    let outcome = app::audit::chain::verify(&app.state().app.db)
        .await
        .unwrap();
    assert!(
        matches!(outcome, app::audit::chain::VerifyOutcome::Intact { .. }),
        "{outcome:?}"
    );
}

async fn ok(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> serde_json::Value {
    let r = app.call(c, path, form).await;
    assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    json(r).await
}

async fn decide(app: &TestApp, c: &reqwest::Client, entry: i64, decision: &str, note: &str) {
    let form = [
        ("id", entry.to_string()),
        ("decision", decision.to_string()),
        ("note", note.to_string()),
    ];
    ok(app, c, "/api/decide_access_entry", &form).await;
}

fn id(v: i64) -> Vec<(&'static str, String)> {
    vec![("id", v.to_string())]
}

async fn system(app: &TestApp, c: &reqwest::Client, name: &str, owner: &str) -> i64 {
    let form = [
        ("form[name]", name.to_string()),
        ("form[kind]", "application".into()),
        ("form[owner]", owner.into()),
    ];
    ok(app, c, "/api/save_system", &form)
        .await
        .as_i64()
        .unwrap()
}

async fn campaign(app: &TestApp, c: &reqwest::Client, fields: &[(&str, &str)]) -> i64 {
    let form: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
    ok(app, c, "/api/save_access_campaign", &form)
        .await
        .as_i64()
        .unwrap()
}

async fn board(app: &TestApp, c: &reqwest::Client, campaign: i64) -> serde_json::Value {
    let form = [
        ("status", String::new()),
        ("campaign", campaign.to_string()),
    ];
    ok(app, c, "/api/remediation_board", &form).await
}

fn statuses(b: &serde_json::Value) -> Vec<(String, String)> {
    b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["account_key"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn control_status(app: &TestApp, control: i64) -> String {
    let c = app.client_as(Role::Compliance).await;
    let v = ok(app, &c, "/api/get_control", &id(control)).await;
    v["row"]["status"].as_str().unwrap().to_string()
}

both_dbs!(
    a_revoke_is_verified_only_by_a_later_snapshot_and_the_report_becomes_evidence,
    |app| {
        let co = app.client_as(Role::Compliance).await;
        let admin = app.client_as(Role::Admin).await;
        let mia = member(&app, "mia", "mia@x.io").await;
        let olly = member(&app, "olly", "olly@x.io").await;
        let control = ok(
            &app,
            &co,
            "/api/save_control",
            &[
                ("form[ref]", "AC-2".into()),
                ("form[title]", "Account management".into()),
                ("form[cadence]", "monthly".into()),
                ("form[owner]", String::new()),
                ("form[description]", String::new()),
                ("form[justification]", String::new()),
            ],
        )
        .await
        .as_i64()
        .unwrap();
        assert_eq!(control_status(&app, control).await, "no_evidence");
        let crm = system(&app, &co, "CRM", "olly").await;
        import_csv(&app, &co, crm, "login,email,role\nann,ann@x.io,admin\nbob,bob@x.io,sales\ncat,cat@x.io,sales\nsvc,,integration\n").await;
        let today = app.state().app.clock.now().date();
        let due = (today + time::Duration::days(10)).to_string();
        let c = campaign(
            &app,
            &co,
            &[
                ("form[name]", "CRM quarterly"),
                ("form[owner]", "compliance"),
                ("form[due]", &due),
                ("form[systems]", "CRM"),
                ("form[reviewers]", "CRM = mia"),
                ("form[recurrence]", "quarterly"),
                ("form[controls]", "AC-2"),
            ],
        )
        .await;
        // A member cannot own a campaign: the owner closes and signs off.
        let r = app
            .call(
                &co,
                "/api/save_access_campaign",
                &[
                    ("form[name]", "x".to_string()),
                    ("form[owner]", "mia".into()),
                    ("form[due]", due.clone()),
                    ("form[systems]", "CRM".into()),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("the owner runs access reviews"));
        ok(&app, &co, "/api/start_access_campaign", &id(c)).await;

        // Closing needs every entry decided.
        let q = queue(&app, &mia, c, &[]).await;
        assert_eq!(keys(&q), ["ann", "bob", "cat", "svc"]);
        decide(
            &app,
            &mia,
            entry_of(&q, "ann"),
            "revoke",
            "left the company",
        )
        .await;
        decide(&app, &mia, entry_of(&q, "bob"), "modify", "read-only").await;
        let r = app.call(&co, "/api/close_access_review", &id(c)).await;
        assert_eq!(r.status(), 409);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("2 entries are still undecided"));
        let bulk = [
            ("filter[campaign]", c.to_string()),
            ("filter[state]", "open".into()),
            ("decision", "keep".into()),
            ("note", String::new()),
        ];
        assert_eq!(
            ok(&app, &mia, "/api/bulk_decide_access_entries", &bulk).await,
            2
        );
        // Only compliance closes; the members get 403 from the policy.
        assert_eq!(
            app.call(&mia, "/api/close_access_review", &id(c))
                .await
                .status(),
            403
        );
        assert_eq!(ok(&app, &co, "/api/close_access_review", &id(c)).await, 2);
        assert_eq!(
            app.call(
                &mia,
                "/api/decide_access_entry",
                &[
                    ("id", entry_of(&q, "cat").to_string()),
                    ("decision", "revoke".into()),
                    ("note", "x".into()),
                ]
            )
            .await
            .status(),
            409,
            "decisions are closed in remediation"
        );

        // The board: the assignee (the system's owner) and compliance see the items; the
        // reviewer, neither owner nor assignee, sees none.
        let b = board(&app, &olly, c).await;
        assert_eq!(
            statuses(&b),
            [("ann".into(), "open".into()), ("bob".into(), "open".into())]
        );
        assert_eq!(b["items"][0]["can_accept"], false);
        assert!(statuses(&board(&app, &mia, c).await).is_empty());
        assert_eq!(statuses(&board(&app, &co, c).await).len(), 2);
        assert_eq!(
            app.call(
                &olly,
                "/api/accept_remediation_exception",
                &[("id", "1"), ("justification", "x")]
            )
            .await
            .status(),
            403
        );

        // Sign-off waits for remediation.
        let r = app.call(&co, "/api/complete_access_campaign", &id(c)).await;
        assert_eq!(r.status(), 409);
        assert!(r.text().await.unwrap().contains("2 remediation item(s)"));

        // A snapshot where the accounts are still there verifies nothing and says so.
        import_csv(&app, &co, crm, "login,email,role\nann,ann@x.io,admin\nbob,bob@x.io,sales\ncat,cat@x.io,sales\nsvc,,integration\nzed,zed@x.io,sales\n").await;
        let b = board(&app, &co, c).await;
        assert_eq!(
            statuses(&b),
            [("ann".into(), "open".into()), ("bob".into(), "open".into())]
        );
        assert!(b["items"][0]["resolution"]
            .as_str()
            .unwrap()
            .starts_with("Still active in snapshot #"));
        assert!(b["items"][1]["resolution"]
            .as_str()
            .unwrap()
            .contains("Still 'sales'"));
        assert_eq!(
            app.call(&co, "/api/complete_access_campaign", &id(c))
                .await
                .status(),
            409
        );

        // The next one: ann gone, bob read-only: both verified.
        import_csv(&app, &co, crm, "login,email,role\nbob,bob@x.io,read\ncat,cat@x.io,sales\nsvc,,integration\nzed,zed@x.io,sales\n").await;
        let b = board(&app, &co, c).await;
        assert_eq!(
            statuses(&b),
            [
                ("ann".into(), "verified".into()),
                ("bob".into(), "verified".into())
            ]
        );
        assert!(b["items"][1]["resolution"]
            .as_str()
            .unwrap()
            .contains("'sales' → 'read'"));

        // Only the owner signs off.
        let r = app
            .call(&admin, "/api/complete_access_campaign", &id(c))
            .await;
        assert_eq!(r.status(), 403);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Only the campaign's owner"));
        let evidence = ok(&app, &co, "/api/complete_access_campaign", &id(c))
            .await
            .as_i64()
            .unwrap();
        assert_eq!(
            app.call(&co, "/api/complete_access_campaign", &id(c))
                .await
                .status(),
            409,
            "once"
        );

        // The report: evidence on AC-2, its file the CSV of every account, hash recorded.
        let pool = app.state().app.db.pool();
        let linked: Vec<i64> =
            sqlx::query_scalar("SELECT control_id FROM evidence_controls WHERE evidence_id = $1")
                .bind(evidence)
                .fetch_all(pool)
                .await
                .unwrap();
        assert_eq!(linked, [control]);
        assert_eq!(
            control_status(&app, control).await,
            "effective",
            "the report moves its freshness"
        );
        let d = ok(&app, &co, "/api/get_access_campaign", &id(c)).await;
        assert_eq!(d["campaign"]["status"], "completed");
        let sha = d["report"][1].as_str().unwrap().to_string();
        let summary = d["summary"].as_str().unwrap();
        assert!(
            summary.contains("4 account(s) of CRM reviewed; kept 2, revoked 1, modified 1")
                && summary.contains("2 verified by a later snapshot"),
            "{summary}"
        );
        let r = co
            .get(app.url(&app::paths::evidence_download(evidence, 1)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body = r.bytes().await.unwrap();
        assert_eq!(hex::encode(Sha256::digest(&body)), sha);
        let text = String::from_utf8(body.to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("system,account_key,user_id,email"));
        let ann = lines.iter().find(|l| l.contains(",ann,")).unwrap();
        assert!(
            ann.contains("revoke,left the company")
                && ann.contains("verified,Gone from snapshot #"),
            "{ann}"
        );
        assert!(lines
            .iter()
            .any(|l| l.contains(",cat,") && l.contains(",keep,")));

        // The next quarter's draft, with the same systems, reviewer and control.
        let next = d["next_campaign"].as_i64().unwrap();
        let n = ok(&app, &co, "/api/get_access_campaign", &id(next)).await;
        assert_eq!(n["campaign"]["status"], "draft");
        assert_eq!(
            n["campaign"]["due"].as_str().unwrap(),
            app::util::fmt_date(app::calendar::add_months(
                today + time::Duration::days(10),
                3
            ))
        );
        assert_eq!(n["controls"], serde_json::json!(["AC-2"]));
        assert_eq!(n["systems"][0][2], "Test Person");

        // New and removed since that completed campaign (it reviewed ann, bob, cat, svc).
        import_csv(&app, &co, crm, "login,email,role\nbob,bob@x.io,read\nsvc,,integration\nzed,zed@x.io,sales\ndan,dan@x.io,sales\n").await;
        let s = ok(
            &app,
            &co,
            "/api/get_system",
            &[
                ("id", crm.to_string()),
                ("q", String::new()),
                ("flag", "new".into()),
                ("page", "1".into()),
            ],
        )
        .await;
        let new: Vec<&str> = s["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["user_id"].as_str().unwrap())
            .collect();
        assert_eq!(new, ["dan", "zed"]);
        let removed: Vec<&str> = s["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_str().unwrap())
            .collect();
        assert_eq!(removed, ["ann", "cat"]);

        let actions = app.audit_actions().await;
        for a in [
            "access.review_closed",
            "access.campaign_completed",
            "access.campaign_created",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a}");
        }
        intact(&app).await;
    }
);

both_dbs!(exceptions_reminders_escalation_and_cancelling, |app| {
    let co = app.client_as(Role::Compliance).await;
    let mia = member(&app, "mia", "mia@x.io").await;
    let crm = system(&app, &co, "CRM", "compliance").await;
    import_csv(
        &app,
        &co,
        crm,
        "login,email,role\nann,ann@x.io,admin\nbob,bob@x.io,sales\n",
    )
    .await;
    let now = app.state().app.clock.now();
    let past = (now.date() - time::Duration::days(2)).to_string();
    let c = campaign(
        &app,
        &co,
        &[
            ("form[name]", "Late review"),
            ("form[owner]", "compliance"),
            ("form[due]", &past),
            ("form[systems]", "CRM"),
            ("form[reviewers]", "CRM = mia"),
        ],
    )
    .await;
    ok(&app, &co, "/api/start_access_campaign", &id(c)).await;

    // Overdue: the reviewer is reminded and the owner hears who is behind, once a day.
    let st = &app.state().app;
    assert_eq!(
        app::access_reviews::reminders::run(st, now).await.unwrap(),
        2
    );
    assert_eq!(
        app::access_reviews::reminders::run(st, now).await.unwrap(),
        0,
        "once a day"
    );
    let pool = st.db.pool();
    let bodies: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_key, body FROM notifications WHERE kind = 'access.review' AND channel = 'inapp' ORDER BY event_key",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies[0].0.starts_with("access.escalation:") && bodies[0].1.contains("(mia) 2"),
        "{bodies:?}"
    );
    assert!(
        bodies[1].0.starts_with("access.reminder:") && bodies[1].1.contains("overdue since"),
        "{bodies:?}"
    );
    let tile = ok(&app, &co, "/api/dashboard", &[]).await;
    assert_eq!(tile["access"]["overdue_entries"], 2);
    let mine = ok(&app, &mia, "/api/dashboard", &[]).await;
    assert_eq!(mine["my_work"]["access_entries"], 2);
    assert!(mine["access"].is_null(), "members see their own work only");
    let work = ok(&app, &mia, "/api/my_access_work", &[]).await;
    assert_eq!(work["campaigns"][0][1], "Late review");
    assert_eq!(work["campaigns"][0][3], 2);
    assert_eq!(work["remediation"], 0);

    let q = queue(&app, &mia, c, &[]).await;
    decide(&app, &mia, entry_of(&q, "ann"), "revoke", "not needed").await;
    decide(&app, &mia, entry_of(&q, "bob"), "keep", "").await;
    ok(&app, &co, "/api/close_access_review", &id(c)).await;
    let tile = ok(&app, &co, "/api/dashboard", &[]).await;
    assert_eq!(tile["access"]["unverified"], 1);
    let work = ok(&app, &co, "/api/my_access_work", &[]).await;
    assert_eq!(work["remediation"], 1, "the system's owner is the assignee");
    assert_eq!(work["campaigns"], serde_json::json!([]));
    assert_eq!(tile["access"]["overdue_entries"], 0);
    // Past the due date, the assignee of the open item is reminded too.
    assert_eq!(
        app::access_reviews::reminders::run(st, now).await.unwrap(),
        1
    );

    // A documented exception: the justification is required.
    let b = board(&app, &co, c).await;
    let item = b["items"][0]["id"].as_i64().unwrap();
    assert_eq!(b["items"][0]["can_accept"], true);
    let r = app
        .call(
            &co,
            "/api/accept_remediation_exception",
            &[("id", item.to_string()), ("justification", " ".into())],
        )
        .await;
    assert_eq!(r.status(), 422);
    ok(
        &app,
        &co,
        "/api/accept_remediation_exception",
        &[
            ("id", item.to_string()),
            (
                "justification",
                "Break-glass admin; CFO accepted the risk".into(),
            ),
        ],
    )
    .await;
    assert_eq!(
        statuses(&board(&app, &co, c).await),
        [("ann".into(), "exception".into())]
    );
    let evidence = ok(&app, &co, "/api/complete_access_campaign", &id(c))
        .await
        .as_i64()
        .unwrap();
    let d = ok(&app, &co, "/api/get_access_campaign", &id(c)).await;
    assert!(d["next_campaign"].is_null(), "no recurrence, no next draft");
    let r = co
        .get(app.url(&app::paths::evidence_download(evidence, 1)))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Exception accepted by") && text.contains("CFO accepted the risk"),
        "{text}"
    );
    // Cancelled: not once completed; a draft cancels with a reason.
    let form = [("id", c.to_string()), ("reason", "dup".to_string())];
    assert_eq!(
        app.call(&co, "/api/cancel_access_campaign", &form)
            .await
            .status(),
        409
    );
    let draft = campaign(
        &app,
        &co,
        &[
            ("form[name]", "Spare"),
            ("form[owner]", "compliance"),
            ("form[due]", &past),
            ("form[systems]", "CRM"),
        ],
    )
    .await;
    let r = app
        .call(
            &co,
            "/api/cancel_access_campaign",
            &[("id", draft.to_string()), ("reason", String::new())],
        )
        .await;
    assert_eq!(r.status(), 422);
    ok(
        &app,
        &co,
        "/api/cancel_access_campaign",
        &[
            ("id", draft.to_string()),
            ("reason", "planned twice".into()),
        ],
    )
    .await;
    let d = ok(&app, &co, "/api/get_access_campaign", &id(draft)).await;
    assert_eq!(
        (d["campaign"]["status"].as_str(), d["closed_note"].as_str()),
        (Some("cancelled"), Some("planned twice"))
    );
    intact(&app).await;
});
