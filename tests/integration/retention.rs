//! Retention: rules whose disposal dates are computed from ISO-8601 periods, a disposal queue
//! that legal holds suspend and releases free, two-person disposals certified as evidence;
//! Steward's own data disposed of by its job exactly as the dry run listed, nothing under
//! hold, the audit trail never cut below its minimum and its chain still verifying.

use super::evidence;
use super::exports::json;
use super::vendors::{form, ok};
use super::*;

fn descriptions(q: &serde_json::Value, section: &str) -> Vec<String> {
    q[section]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["description"].as_str().unwrap().to_string())
        .collect()
}

both_dbs!(holds_suspend_disposal_and_releases_free_it, |app| {
    let co = app.client_as(Role::Compliance).await;
    let admin = app.client_as(Role::Admin).await;
    let fin = app.client_as(Role::Finance).await;
    let today = app.state().app.clock.now().date();

    let vendor = ok(
        &app,
        &co,
        "/api/save_vendor",
        &form(&[("form[name]", "Acme CRM")]),
    )
    .await
    .as_i64()
    .unwrap();
    let cat = ok(
        &app,
        &co,
        "/api/save_retention_category",
        &form(&[
            ("form[name]", "Customer personal data"),
            ("form[personal]", "true"),
        ]),
    )
    .await
    .as_i64()
    .unwrap();
    ok(
        &app,
        &co,
        "/api/add_retention_location",
        &[
            ("category_id", cat.to_string()),
            ("place", format!("vendor:{vendor}")),
        ],
    )
    .await;

    // Every bad field of a rule at once.
    let r = app
        .call(
            &co,
            "/api/save_retention_rule",
            &[
                ("form[category_id]", cat.to_string()),
                ("form[name]", String::new()),
                ("form[period]", "18 months".into()),
                ("form[trigger]", "whenever".into()),
                ("form[action]", "shred".into()),
                ("form[review_every]", "P1X".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    for part in [
        "name: required",
        "period: '18 months' is not an ISO-8601 duration",
        "trigger: 'whenever'",
        "action: 'shred'",
        "legal basis: required",
        "review every:",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let rule = ok(
        &app,
        &co,
        "/api/save_retention_rule",
        &[
            ("form[category_id]", cat.to_string()),
            ("form[name]", "After the contract".into()),
            ("form[period]", "P1Y6M".into()),
            ("form[trigger]", "contract_end".into()),
            ("form[legal_basis]", "GDPR art. 5(1)(e)".into()),
            ("form[action]", "delete".into()),
            ("form[review_every]", "P1Y".into()),
        ],
    )
    .await
    .as_i64()
    .unwrap();
    let record = |desc: &'static str, from: &'static str| {
        vec![
            ("form[description]", desc.to_string()),
            ("form[rule_id]", rule.to_string()),
            ("form[place]", format!("vendor:{vendor}")),
            ("form[trigger_date]", from.to_string()),
        ]
    };
    // 31 August 2022 + P1Y6M: February 2024 has 29 days.
    ok(
        &app,
        &co,
        "/api/add_retention_record",
        &record("CRM export 2022", "2022-08-31"),
    )
    .await;
    // Disposal due on a day after today: not in the due list.
    let later = (today + time::Duration::days(400)).to_string();
    let later: &'static str = Box::leak(later.into_boxed_str());
    ok(
        &app,
        &co,
        "/api/add_retention_record",
        &record("CRM current", later),
    )
    .await;
    let r = app
        .call(&co, "/api/add_retention_record", &record("No date", ""))
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("from: required"));

    let q = ok(&app, &fin, "/api/disposal_queue", &[]).await;
    assert_eq!(descriptions(&q, "due"), ["CRM export 2022"]);
    assert_eq!(q["due"][0]["disposal_date"], "2024-02-29");
    assert_eq!(descriptions(&q, "later"), ["CRM current"]);
    assert_eq!(q["can_manage"], false);
    let id = q["due"][0]["id"].as_i64().unwrap();
    // Whoever manages retention hears of it once a day (compliance and admin here).
    let st = &app.state().app;
    let now = st.clock.now();
    assert_eq!(app::retention::reminders::run(st, now).await.unwrap(), 2);
    assert_eq!(
        app::retention::reminders::run(st, now).await.unwrap(),
        0,
        "once a day"
    );
    let inbox = ok(&app, &co, "/api/inbox", &[]).await;
    assert!(
        inbox.to_string().contains("1 record(s) due for disposal"),
        "{inbox}"
    );

    // A hold on the vendor suspends the record; the vendor's page and the dashboard say so.
    let hold = ok(
        &app,
        &co,
        "/api/place_legal_hold",
        &[
            ("form[name]", "Smith v. Us".into()),
            (
                "form[reason]",
                "Litigation: preserve customer records".into(),
            ),
            ("form[custodian]", "compliance".into()),
            ("form[target]", format!("vendor:{vendor}")),
        ],
    )
    .await
    .as_i64()
    .unwrap();
    let q = ok(&app, &co, "/api/disposal_queue", &[]).await;
    assert!(descriptions(&q, "due").is_empty());
    assert_eq!(descriptions(&q, "held"), ["CRM export 2022"]);
    assert_eq!(q["held"][0]["holds"][0], "Smith v. Us");
    let r = app
        .call(&co, "/api/approve_disposal", &[("id", id.to_string())])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("legal hold (Smith v. Us)"));
    let v = ok(&app, &co, "/api/get_vendor", &[("id", vendor.to_string())]).await;
    assert_eq!(v["holds"][0], "Smith v. Us");
    let d = ok(&app, &co, "/api/dashboard", &[]).await;
    assert_eq!(d["retention"]["disposals_due"], 0);
    assert_eq!(d["retention"]["held_due"], 1);
    assert_eq!(d["retention"]["active_holds"], 1);
    let holds = ok(&app, &fin, "/api/list_legal_holds", &[]).await;
    assert_eq!(holds["holds"][0]["records"], 2);
    assert_eq!(holds["holds"][0]["in_force"], true);

    // A second hold on the record itself: the record is under both.
    let second = ok(
        &app,
        &co,
        "/api/place_legal_hold",
        &[
            ("form[name]", "Audit query".into()),
            ("form[reason]", "Regulator asked for this export".into()),
            ("form[target]", format!("record:{id}")),
        ],
    )
    .await
    .as_i64()
    .unwrap();
    let q = ok(&app, &co, "/api/disposal_queue", &[]).await;
    assert_eq!(
        q["held"][0]["holds"],
        serde_json::json!(["Smith v. Us", "Audit query"])
    );

    // Release: a note is required; the record stays held while another hold is in force.
    let r = app
        .call(
            &co,
            "/api/release_legal_hold",
            &[("id", hold.to_string()), ("note", " ".into())],
        )
        .await;
    assert_eq!(r.status(), 422);
    ok(
        &app,
        &co,
        "/api/release_legal_hold",
        &[("id", hold.to_string()), ("note", "Case settled".into())],
    )
    .await;
    let q = ok(&app, &co, "/api/disposal_queue", &[]).await;
    assert_eq!(q["held"][0]["holds"], serde_json::json!(["Audit query"]));
    let r = app
        .call(
            &co,
            "/api/release_legal_hold",
            &[("id", hold.to_string()), ("note", "Again".into())],
        )
        .await;
    assert_eq!(r.status(), 409, "released already");
    ok(
        &app,
        &co,
        "/api/release_legal_hold",
        &[("id", second.to_string()), ("note", "Answered".into())],
    )
    .await;
    let q = ok(&app, &co, "/api/disposal_queue", &[]).await;
    assert_eq!(descriptions(&q, "due"), ["CRM export 2022"]);
    assert!(descriptions(&q, "held").is_empty());

    // Two people: one approves, another records; the certificate is evidence.
    let r = app
        .call(
            &co,
            "/api/record_disposal",
            &[("id", id.to_string()), ("note", String::new())],
        )
        .await;
    assert_eq!(r.status(), 409, "not approved yet");
    ok(
        &app,
        &co,
        "/api/approve_disposal",
        &[("id", id.to_string())],
    )
    .await;
    let r = app
        .call(
            &co,
            "/api/record_disposal",
            &[("id", id.to_string()), ("note", String::new())],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("separation of duties"));
    let evidence = ok(
        &app,
        &admin,
        "/api/record_disposal",
        &[
            ("id", id.to_string()),
            ("note", "Deleted in the CRM console".into()),
        ],
    )
    .await
    .as_i64()
    .unwrap();
    let e = ok(
        &app,
        &co,
        "/api/get_evidence",
        &[("id", evidence.to_string())],
    )
    .await;
    assert!(e
        .to_string()
        .contains("Certificate of disposal: CRM export 2022"));
    let cert = app
        .get(&co, &format!("/evidence/{evidence}/versions/1/download"))
        .await;
    assert_eq!(cert.status(), 200);
    let cert = cert.text().await.unwrap();
    for part in [
        "Record: #",
        "CRM export 2022",
        "Data category: Customer personal data",
        "Rule: After the contract (legal basis: GDPR art. 5(1)(e))",
        "Disposal due: 2024-02-29",
        "Method: delete",
        "Note: Deleted in the CRM console",
    ] {
        assert!(cert.contains(part), "{part} in {cert}");
    }
    let q = ok(&app, &co, "/api/disposal_queue", &[]).await;
    assert!(descriptions(&q, "due").is_empty());
    assert_eq!(descriptions(&q, "disposed"), ["CRM export 2022"]);
    assert_eq!(q["disposed"][0]["certificate"], evidence);

    // A changed rule moves its records' disposal dates.
    ok(
        &app,
        &co,
        "/api/save_retention_rule",
        &[
            ("form[id]", rule.to_string()),
            ("form[category_id]", cat.to_string()),
            ("form[name]", "After the contract".into()),
            ("form[period]", "P30D".into()),
            ("form[trigger]", "fiscal_year_end".into()),
            ("form[legal_basis]", "GDPR art. 5(1)(e)".into()),
            ("form[action]", "anonymise".into()),
        ],
    )
    .await;
    let q = ok(&app, &co, "/api/disposal_queue", &[]).await;
    let current = q["due"]
        .as_array()
        .unwrap()
        .iter()
        .chain(q["upcoming"].as_array().unwrap())
        .chain(q["later"].as_array().unwrap())
        .find(|r| r["description"] == "CRM current")
        .unwrap()
        .clone();
    let from = time::Date::parse(
        later,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let expected =
        time::Date::from_calendar_date(from.year() + 1, time::Month::January, 31).unwrap();
    assert_eq!(current["disposal_date"], expected.to_string());

    let actions = app.audit_actions().await;
    for a in [
        "retention.category.create",
        "retention.rule.create",
        "retention.record.create",
        "retention.hold.place",
        "retention.hold.release",
        "retention.disposal.approve",
        "retention.disposal.record",
        "retention.rule.update",
    ] {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
    // Who may do what, beyond the policy table: finance reads but cannot act; a member and
    // an auditor cannot read.
    let r = app
        .call(&fin, "/api/approve_disposal", &[("id", id.to_string())])
        .await;
    assert_eq!(r.status(), 403);
    for role in [Role::Member, Role::Auditor] {
        let c = app.client_as(role).await;
        assert_eq!(
            app.call(&c, "/api/disposal_queue", &[] as &[(&str, &str)])
                .await
                .status(),
            403
        );
        assert_eq!(app.get(&c, "/retention/holds").await.status(), 403);
    }
});

async fn own_counts(app: &TestApp, c: &reqwest::Client) -> Vec<(String, i64, Vec<String>)> {
    let s = ok(app, c, "/api/retention_schedule", &[]).await;
    s["own"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["key"].as_str().unwrap().to_string(),
                l["count"].as_i64().unwrap(),
                l["held_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let pool = app.db.pool().await;
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

both_dbs!(
    own_data_goes_as_the_dry_run_said_and_the_chain_verifies,
    |app| {
        let clock = app.state().app.clock.clone();
        // A past to dispose of: sign-ins, failed ones and audit events, then two years pass.
        for role in [Role::Finance, Role::Compliance] {
            app.client_as(role).await;
        }
        for _ in 0..3 {
            app.login(&app.client(), "finance", "wrong password").await;
        }
        // Cost line items, and evidence with a superseded version (its own file) and a current one.
        let sample = costs_fixture_sample();
        app.cli(&["import-costs", sample.to_str().unwrap()]);
        let line_items = count(&app, "SELECT COUNT(*) FROM cost_line_items").await;
        let rollups = count(&app, "SELECT COUNT(*) FROM cost_daily").await;
        assert!(line_items > 0 && rollups > 0);
        let co0 = app.client_as(Role::Compliance).await;
        let control = evidence::insert_control(&app, "SC-7", None).await;
        let r = evidence::upload(
            &app,
            &co0,
            evidence::new_evidence("Firewall review", &[control]).file(
                "v1.txt",
                None,
                b"old rules",
            ),
        )
        .await;
        assert_eq!(r.status(), 201);
        let item = json(r).await["evidence_id"].as_i64().unwrap();
        let r = evidence::upload(
            &app,
            &co0,
            evidence::Form::new()
                .text("evidence_id", &item.to_string())
                .text("effective_date", &evidence::today())
                .file("v2.txt", None, b"new rules"),
        )
        .await;
        assert_eq!(r.status(), 201);
        let old_blob = evidence::blob_path(&app, &app::util::sha256_hex(b"old rules"));
        let new_blob = evidence::blob_path(&app, &app::util::sha256_hex(b"new rules"));
        assert!(old_blob.exists() && new_blob.exists());
        clock.advance(time::Duration::days(730));
        let co = app.client_as(Role::Compliance).await;
        let admin = app.client_as(Role::Admin).await;
        let cats = ok(&app, &co, "/api/retention_schedule", &[]).await;
        let category = |key: &str| {
            cats["categories"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["builtin"] == key)
                .unwrap()
                .clone()
        };
        // A built-in category's one rule with another period.
        let period = |key: &str, period: &str| {
            let c = category(key);
            vec![
                ("form[id]", c["rules"][0]["id"].to_string()),
                ("form[category_id]", c["id"].to_string()),
                ("form[name]", "Default".into()),
                ("form[period]", period.to_string()),
                (
                    "form[trigger]",
                    c["rules"][0]["trigger"].as_str().unwrap().into(),
                ),
                ("form[legal_basis]", "Audit and financial records".into()),
                ("form[action]", "delete".into()),
            ]
        };
        // The audit trail is never kept less than the minimum (400 days by default).
        let r = app
            .call(
                &co,
                "/api/save_retention_rule",
                &period("audit_events", "P13M"),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("at least 400 days"));
        ok(
            &app,
            &co,
            "/api/save_retention_rule",
            &period("audit_events", "P1Y2M"),
        )
        .await;
        // Cost line items and superseded evidence versions after a year (seven by default).
        for key in ["cost_line_items", "evidence_versions"] {
            ok(&app, &co, "/api/save_retention_rule", &period(key, "P1Y")).await;
        }
        // A legal hold on the login failures stops that category only.
        let failures = category("login_failures");
        ok(
            &app,
            &co,
            "/api/place_legal_hold",
            &[
                ("form[name]", "Intrusion inquiry".into()),
                (
                    "form[reason]",
                    "Keep sign-in records for the investigation".into(),
                ),
                ("form[target]", format!("category:{}", failures["id"])),
            ],
        )
        .await;

        let plan = own_counts(&app, &co).await;
        let get = |key: &str| plan.iter().find(|l| l.0 == key).unwrap().clone();
        let (_, sessions, _) = get("sessions");
        let (_, events, _) = get("audit_events");
        let (_, fails, held) = get("login_failures");
        assert!(sessions >= 2, "{plan:?}");
        assert!(events >= 4, "{plan:?}");
        assert_eq!(fails, 3);
        assert_eq!(held, ["Intrusion inquiry"]);
        assert_eq!(get("cost_line_items").1, line_items);
        assert_eq!(get("evidence_versions").1, 1, "the superseded version only");
        // The command line's dry run, as of the server's day, lists the same.
        let day = clock.now().date().to_string();
        let dry = app.cli(&["retention", "run", "--dry-run", "--as-of", &day]);
        assert!(
            dry.contains(&format!("sessions: would dispose of {sessions} ")),
            "{dry}"
        );
        assert!(
            dry.contains(&format!("audit_events: would dispose of {events} ")),
            "{dry}"
        );
        assert!(dry.contains("(held: Intrusion inquiry)"), "{dry}");

        let sessions_before = count(&app, "SELECT COUNT(*) FROM sessions").await;
        let events_before = count(&app, "SELECT COUNT(*) FROM audit_events").await;
        let done = ok(&app, &admin, "/api/run_own_retention", &[]).await;
        let removed = |key: &str| {
            done.as_array()
                .unwrap()
                .iter()
                .find(|l| l["key"] == key)
                .unwrap()["count"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(removed("sessions"), sessions);
        assert_eq!(removed("audit_events"), events);
        assert_eq!(removed("login_failures"), 0);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM sessions").await,
            sessions_before - sessions
        );
        assert_eq!(count(&app, "SELECT COUNT(*) FROM login_attempts").await, 3);
        assert_eq!(removed("cost_line_items"), line_items);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM cost_line_items").await, 0);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM cost_daily").await,
            rollups,
            "the daily rollups (what reports read) stay"
        );
        assert_eq!(removed("evidence_versions"), 1);
        let versions = count(
            &app,
            &format!("SELECT COUNT(*) FROM evidence_versions WHERE evidence_id = {item}"),
        )
        .await;
        assert_eq!(versions, 1);
        assert!(!old_blob.exists(), "the superseded version's file is gone");
        assert!(new_blob.exists(), "the current version's file stays");
        let tombstones = count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'retention.dispose'",
        )
        .await;
        assert_eq!(
            tombstones, 4,
            "sessions, cost line items, the evidence version, audit events"
        );
        // Events before the run, minus those disposed of, plus the two tombstones.
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_events").await,
            events_before - events + tombstones
        );
        assert_eq!(count(&app, "SELECT seq FROM audit_base").await, events);
        // Nothing left to do: a second dry run lists nothing but what is held.
        let again = own_counts(&app, &co).await;
        assert!(
            again.iter().all(|l| l.1 == 0 || l.0 == "login_failures"),
            "{again:?}"
        );

        // The chain verifies (through the server, and by the command line with the key).
        let v = ok(&app, &admin, "/api/verify_audit_chain", &[]).await;
        assert_eq!(v["intact"], true, "{v}");
        let out = std::process::Command::new(steward_tests::steward_bin())
            .arg("verify-audit")
            .env("DATABASE_URL", &app.db.url)
            .env("STEWARD_DATA_DIR", app.db.data_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // Only what retention has disposed of may go: deleting a later event is refused.
        let pool = app.db.pool().await;
        let refused =
            sqlx::query("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
                .execute(&pool)
                .await;
        assert!(refused.is_err());
        let refused = sqlx::query("UPDATE audit_base SET seq = 0")
            .execute(&pool)
            .await;
        assert!(refused.is_err());
        pool.close().await;

        // Released, the held category goes on the next run.
        let holds = ok(&app, &co, "/api/list_legal_holds", &[]).await;
        let hold = holds["holds"][0]["id"].as_i64().unwrap();
        ok(
            &app,
            &co,
            "/api/release_legal_hold",
            &[("id", hold.to_string()), ("note", "Inquiry closed".into())],
        )
        .await;
        let done = ok(&app, &admin, "/api/run_own_retention", &[]).await;
        let line = done
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key"] == "login_failures")
            .unwrap();
        assert_eq!(line["count"], 3);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM login_attempts").await, 0);
        let v = ok(&app, &admin, "/api/verify_audit_chain", &[]).await;
        assert_eq!(v["intact"], true, "{v}");
    }
);
