//! Budgets: the CSV as code (round trip, named errors, all or nothing), alerts raised exactly
//! once from imported data (re-imports, replacements that lower spend, concurrent
//! evaluations), and who sees and acts on which budget.

use super::*;
use app::budgets::alerts::{evaluate_all, Evaluation};
use serde_json::Value;
use std::path::PathBuf;

/// The canonical budgets file, as `export-budgets` writes it.
pub const BUDGETS: &str = "name,owner,deputy,period,amount,currency,start,end,provider,billing_account,sub_account,service,region,tag,thresholds,notes\n\
EC2,member,,monthly,100.00,USD,2024-08,,AWS,ba-1,,Amazon EC2,,,50%actual;100%actual;100%forecast,Owned by a member\n\
Everything,finance,compliance,monthly,1000,USD,2024-01,2024-12,,,,,,,80%actual;100%actual;100%forecast,\n";

/// A FOCUS file of September 2024: (day, service, billed).
pub fn focus(rows: &[(u32, &str, &str)]) -> String {
    let mut out = String::from(
        "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ListCost,BillingCurrency,\
         BillingPeriodStart,BillingPeriodEnd,ProviderName,BillingAccountId,ChargeCategory,\
         ServiceName,RegionId\n",
    );
    for (day, service, billed) in rows {
        out.push_str(&format!(
            "2024-09-{day:02}T00:00:00Z,2024-09-{day:02}T01:00:00Z,{billed},{billed},{billed},USD,\
             2024-09-01,2024-10-01,AWS,ba-1,Usage,{service},us-east-1\n"
        ));
    }
    out
}

pub fn write(app: &TestApp, name: &str, body: &str) -> PathBuf {
    let p = app.db.data_dir().join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// The member, finance and compliance users, `BUDGETS`, and September's costs (`rows`, if any).
pub async fn setup(app: &TestApp, rows: &[(u32, &str, &str)]) {
    for r in [Role::Member, Role::Finance, Role::Compliance] {
        app.user(r).await;
    }
    let file = write(app, "budgets.csv", BUDGETS);
    app.cli(&["import-budgets", file.to_str().unwrap()]);
    if !rows.is_empty() {
        let f = write(app, "sept.csv", &focus(rows));
        app.cli(&["import-costs", f.to_str().unwrap()]);
    }
}

/// 20 September 2024, noon: the test's clock.
pub fn sept_20() -> time::OffsetDateTime {
    time::macros::datetime!(2024-09-20 12:00 UTC)
}

async fn evaluate(app: &TestApp) -> Evaluation {
    evaluate_at(app, sept_20()).await
}

/// Evaluates as of `now` (the test's clock), escalating after 3 days.
pub async fn evaluate_at(app: &TestApp, now: time::OffsetDateTime) -> Evaluation {
    let st = &app.state().app;
    let ctx = server::bootstrap::system_ctx(&st.clock, "test");
    evaluate_all(&st.db, &st.cost_cube, &ctx, now, time::Duration::days(3))
        .await
        .unwrap()
}

/// (budget name, threshold, crossed) of every alert.
async fn alerts(app: &TestApp) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT b.name, a.threshold, a.crossed FROM budget_alerts a
         JOIN budgets b ON b.id = a.budget_id ORDER BY b.name, a.threshold",
    )
    .fetch_all(app.state().app.db.pool())
    .await
    .unwrap()
}

both_dbs!(budgets_round_trip_as_csv_and_refuse_bad_rows_whole, |app| {
    app.user(Role::Member).await;
    app.user(Role::Finance).await;
    app.user(Role::Compliance).await;
    app.user(Role::Auditor).await;
    let file = write(&app, "budgets.csv", BUDGETS);
    let out = app.cli(&["import-budgets", file.to_str().unwrap()]);
    assert!(out.contains("2 created"), "{out}");
    assert_eq!(app.cli(&["export-budgets"]), BUDGETS, "exact round trip");
    let out = app.cli(&["import-budgets", file.to_str().unwrap()]);
    assert!(out.contains("0 created, 0 updated, 2 unchanged"), "{out}");

    // Bad rows: each named with its line and column; nothing written, not even the good row.
    let bad = BUDGETS
        .replace("100.00,USD", "1O0,USD")
        .replace("Everything,finance,compliance", "Everything,nobody,auditor")
        + "New,finance,,weekly,5,USD,2024-01,,,,,,,,,\n";
    let bad_file = write(&app, "bad.csv", &bad);
    let res = std::process::Command::new(steward_tests::steward_bin())
        .args(["import-budgets", bad_file.to_str().unwrap()])
        .env("DATABASE_URL", &app.db.url)
        .env("STEWARD_DATA_DIR", app.db.data_dir())
        .env("STEWARD_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("Line 2 ('EC2'), amount"), "{err}");
    assert!(
        err.contains("Line 3 ('Everything'), owner: no user 'nobody'"),
        "{err}"
    );
    assert!(err.contains("Line 4 ('New'), period: 'weekly'"), "{err}");
    let fields = "name,owner,period,amount,currency,start\nA,finance,monthly,1,USD,2024-01\nB,nobody,monthly,1,USD,2024-01\nC,auditor,monthly,1,USD,2024-01\n";
    let f = write(&app, "people.csv", fields);
    let res = std::process::Command::new(steward_tests::steward_bin())
        .args(["import-budgets", f.to_str().unwrap()])
        .env("DATABASE_URL", &app.db.url)
        .env("STEWARD_DATA_DIR", app.db.data_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("Line 3 ('B'), owner: no user 'nobody'"),
        "{err}"
    );
    assert!(
        err.contains("Line 4 ('C'), owner: 'auditor' is an auditor"),
        "{err}"
    );
    assert_eq!(app.cli(&["export-budgets"]), BUDGETS, "nothing changed");

    // The page's import and export say the same, and only finance (and admins) import.
    let fin = app.client_as(Role::Finance).await;
    let csv = app.get(&fin, "/budgets/export.csv").await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.text().await.unwrap(), BUDGETS);
    let changed = BUDGETS.replace("1000,USD", "1200.50,USD");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(changed.clone().into_bytes()).file_name("b.csv"),
    );
    let r = fin
        .post(app.url("/budgets/import"))
        .header("origin", app.url(""))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(app.cli(&["export-budgets"]), changed);
    let aud = app.client_as(Role::Auditor).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(BUDGETS.as_bytes().to_vec()).file_name("b.csv"),
    );
    let r = aud
        .post(app.url("/budgets/import"))
        .header("origin", app.url(""))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.cli(&["export-budgets"]), changed);
});

both_dbs!(
    thresholds_crossed_by_imported_data_raise_each_alert_once,
    |app| {
        // EC2: 60 of 100 by the 2nd (50% crossed); a run-rate of 30 a day forecasts 900.
        // Everything: 70 of 1000; forecast 1,050.
        let sept = [
            (1, "Amazon EC2", "30.00000000001"),
            (2, "Amazon EC2", "29.99999999999"),
            (1, "Amazon S3", "4"),
            (2, "Amazon S3", "6"),
        ];
        setup(&app, &sept).await;
        let f = app.db.data_dir().join("sept.csv");
        // Two evaluations at once raise each alert once.
        let (a, b) = tokio::join!(evaluate(&app), evaluate(&app));
        assert_eq!(a.raised + b.raised, 3, "{a:?} {b:?}");
        let expected = vec![
            ("EC2".to_string(), "100%forecast".to_string(), 1),
            ("EC2".into(), "50%actual".into(), 1),
            ("Everything".into(), "100%forecast".into(), 1),
        ];
        assert_eq!(alerts(&app).await, expected);
        // Again, and after re-importing the same file: nothing new.
        assert_eq!(evaluate(&app).await.raised, 0);
        let out = app.cli(&["import-costs", f.to_str().unwrap()]);
        assert!(out.contains("already"), "{out}");
        assert_eq!(
            evaluate(&app).await,
            Evaluation {
                budgets: 2,
                ..Default::default()
            }
        );
        assert_eq!(alerts(&app).await, expected);

        // A replacement that lowers the spend: the alerts stay, marked no longer crossed.
        let lower = focus(&[
            (1, "Amazon EC2", "10"),
            (2, "Amazon EC2", "10"),
            (1, "Amazon S3", "1"),
        ]);
        let f2 = write(&app, "sept-restated.csv", &lower);
        app.cli(&["import-costs", f2.to_str().unwrap()]);
        let e = evaluate(&app).await;
        assert_eq!((e.raised, e.cleared), (0, 2), "{e:?}");
        assert_eq!(
            alerts(&app).await,
            vec![
                ("EC2".to_string(), "100%forecast".to_string(), 1),
                ("EC2".into(), "50%actual".into(), 0),
                ("Everything".into(), "100%forecast".into(), 0),
            ]
        );
        // Every change left its audit event.
        let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('budget.alert', 'budget.alert_change')",
    )
    .fetch_one(app.state().app.db.pool())
    .await
    .unwrap();
        assert_eq!(events, 5);
    }
);

both_dbs!(owners_act_on_their_budgets_only, |app| {
    setup(&app, &[(1, "Amazon EC2", "80"), (1, "Amazon S3", "900")]).await;
    evaluate(&app).await;
    let ids: Vec<(String, i64)> = sqlx::query_as("SELECT name, id FROM budgets ORDER BY name")
        .fetch_all(app.state().app.db.pool())
        .await
        .unwrap();
    let (ec2, everything) = (ids[0].1, ids[1].1);
    let alert_of = |budget: i64| {
        let pool = app.state().app.db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT MIN(id) FROM budget_alerts WHERE budget_id = $1")
                .bind(budget)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (mine, theirs) = (alert_of(ec2).await, alert_of(everything).await);

    let member = app.client_as(Role::Member).await;
    let r = app
        .call(&member, "/api/my_budgets", steward_tests::NO_FIELDS)
        .await;
    let list: Value = r.json().await.unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["EC2"]);
    assert_eq!(
        app.call(&member, "/api/list_budgets", &[("filter[q]", "")])
            .await
            .status(),
        403
    );
    let r = app.call(&member, "/api/get_budget", &[("id", ec2)]).await;
    assert_eq!(r.status(), 200);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["can_acknowledge"], true);
    assert_eq!(
        app.call(&member, "/api/get_budget", &[("id", everything)])
            .await
            .status(),
        403
    );
    // The owner acknowledges with a note; not someone else's alert, not twice, not without a note.
    let ack = |alert: i64, note: &str| [("alert", alert.to_string()), ("note", note.to_string())];
    assert_eq!(
        app.call(&member, "/api/acknowledge_alert", &ack(mine, " "))
            .await
            .status(),
        422
    );
    assert_eq!(
        app.call(&member, "/api/acknowledge_alert", &ack(theirs, "mine now"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call(
            &member,
            "/api/acknowledge_alert",
            &ack(mine, "Rightsizing the fleet")
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        app.call(&member, "/api/acknowledge_alert", &ack(mine, "again"))
            .await
            .status(),
        409
    );
    // Finance reads everything and sees the acknowledgement, but acknowledges only its own.
    let fin = app.client_as(Role::Finance).await;
    let d: Value = app
        .call(&fin, "/api/get_budget", &[("id", ec2)])
        .await
        .json()
        .await
        .unwrap();
    let acked = d["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == mine)
        .unwrap();
    assert_eq!(acked["acknowledged"][2], "Rightsizing the fleet");
    assert_eq!(
        app.call(&fin, "/api/acknowledge_alert", &ack(mine, "x"))
            .await
            .status(),
        403
    );
    let list: Value = app
        .call(&fin, "/api/list_budgets", &[("filter[q]", "")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["rows"].as_array().unwrap().len(), 2);
    assert_eq!(list["can_manage"], true);
    // Auditors and compliance read no budget, and change none.
    let aud = app.client_as(Role::Auditor).await;
    assert_eq!(
        app.call(&aud, "/api/list_budgets", &[("filter[q]", "")])
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call(&aud, "/api/acknowledge_alert", &ack(theirs, "x"))
            .await
            .status(),
        403
    );
    let comp = app.client_as(Role::Compliance).await;
    assert_eq!(
        app.call(&comp, "/api/list_budgets", &[("filter[q]", "")])
            .await
            .status(),
        403
    );
    // The deputy (compliance here) acknowledges the budget it deputises.
    assert_eq!(
        app.call(
            &comp,
            "/api/acknowledge_alert",
            &ack(theirs, "Finance to review")
        )
        .await
        .status(),
        200
    );
    // Pages: the member's "My work" lists the budget; the budget page shows the alert.
    let page = app.get(&member, "/my/work").await.text().await.unwrap();
    assert!(page.contains("data-budget=\"EC2\""), "{page}");
    let page = app
        .get(&member, &format!("/budgets/{ec2}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Rightsizing the fleet"), "{page}");
});

both_dbs!(
    a_closed_period_is_attested_as_evidence_for_the_named_control,
    |app| {
        // EC2 spends 150.00000000001 of its 100 in September 2024.
        setup(
            &app,
            &[
                (1, "Amazon EC2", "100"),
                (2, "Amazon EC2", "50.00000000001"),
            ],
        )
        .await;
        let admin = app.client_as(Role::Admin).await;
        let control = app
            .control("FIN-1", "Cloud spend is reviewed monthly", "monthly")
            .await;
        let fin = app.client_as(Role::Finance).await;
        let r = app
            .call(
                &fin,
                "/api/set_attestation_control",
                &[("reference", "NOPE-9")],
            )
            .await;
        assert_eq!(r.status(), 422);
        let r = app
            .call(
                &fin,
                "/api/set_attestation_control",
                &[("reference", "FIN-1")],
            )
            .await;
        assert_eq!(r.status(), 200);
        let ec2: i64 = sqlx::query_scalar("SELECT id FROM budgets WHERE name = 'EC2'")
            .fetch_one(app.state().app.db.pool())
            .await
            .unwrap();
        let member = app.client_as(Role::Member).await;
        let attest = |period: &str, statement: &str, note: &str| {
            vec![
                ("budget", ec2.to_string()),
                ("period", period.to_string()),
                ("statement", statement.to_string()),
                ("note", note.to_string()),
            ]
        };
        // Over the budget: confirming is refused, explaining needs words.
        let r = app
            .call(
                &member,
                "/api/attest_period",
                &attest("2024-09-01", "confirmed", ""),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("explain the variance"));
        let r = app
            .call(
                &member,
                "/api/attest_period",
                &attest("2024-09-01", "explained", " "),
            )
            .await;
        assert_eq!(r.status(), 422);
        // Not a period start, an open period, someone else's budget.
        let r = app
            .call(
                &member,
                "/api/attest_period",
                &attest("2024-09-02", "explained", "x"),
            )
            .await;
        assert_eq!(r.status(), 422);
        let open = app::util::fmt_date(app.state().app.clock.now().date().replace_day(1).unwrap());
        let r = app
            .call(
                &member,
                "/api/attest_period",
                &attest(&open, "confirmed", ""),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert_eq!(
            app.call(
                &fin,
                "/api/attest_period",
                &attest("2024-09-01", "explained", "x")
            )
            .await
            .status(),
            403
        );
        let note = "A load test ran for two days; it is over.";
        let r = app
            .call(
                &member,
                "/api/attest_period",
                &attest("2024-09-01", "explained", note),
            )
            .await;
        assert_eq!(r.status(), 200);
        let evidence: i64 = r.json().await.unwrap();
        let again = app
            .call(
                &member,
                "/api/attest_period",
                &attest("2024-09-01", "explained", note),
            )
            .await;
        assert_eq!(again.status(), 409);

        // The evidence: one immutable file whose SHA-256 is recorded, linked to FIN-1, which is
        // now effective (fresh evidence this month).
        let (sha, name): (String, String) = sqlx::query_as(
            "SELECT sha256, filename FROM evidence_versions WHERE evidence_id = $1 AND version = 1",
        )
        .bind(evidence)
        .fetch_one(app.state().app.db.pool())
        .await
        .unwrap();
        assert!(name.starts_with(&format!("budget-{ec2}-attestation-2024-09-01")));
        let doc = app
            .get(&fin, &app::paths::evidence_download(evidence, 1))
            .await;
        assert_eq!(doc.status(), 200);
        let body = doc.bytes().await.unwrap();
        assert_eq!(app::util::sha256_hex(&body), sha);
        let text = String::from_utf8(body.to_vec()).unwrap();
        for want in [
            "Budget: EC2",
            "Period: [2024-09-01, 2024-10-01)",
            "Actual (billed cost, exact): 150.00000000001 USD",
            "Variance (actual - budget): 50.00000000001 USD",
            "Statement: explained",
            note,
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
        let detail: serde_json::Value = app
            .call(&admin, "/api/get_control", &[("id", control)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(detail["row"]["status"], "effective", "{detail}");
        // The budget page lists it for finance; "My work" no longer asks for it.
        let d: serde_json::Value = app
            .call(&fin, "/api/get_budget", &[("id", ec2)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(d["attestations"][0]["period"], "2024-09-01");
        assert_eq!(d["attestations"][0]["sha256"], sha.as_str());
        assert_eq!(d["attestation_control"], "FIN-1");
        let events: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'budget.attest'")
                .fetch_one(app.state().app.db.pool())
                .await
                .unwrap();
        assert_eq!(events, 1);
    }
);

both_dbs!(the_dashboard_tiles_count_what_the_lists_show, |app| {
    setup(&app, &[(1, "Amazon EC2", "120"), (1, "Amazon S3", "10")]).await;
    // The server's clock on 20 September 2024: EC2 is breached, Everything at risk by its
    // forecast.
    let clock = &app.state().app.clock;
    clock.advance(sept_20() - clock.now());
    evaluate(&app).await;
    let fin = app.client_as(Role::Finance).await;
    let dash: serde_json::Value = app
        .call(&fin, "/api/dashboard", steward_tests::NO_FIELDS)
        .await
        .json()
        .await
        .unwrap();
    let tile = &dash["budgets"];
    let list: serde_json::Value = app
        .call(&fin, "/api/list_budgets", &[("filter[state]", "at-risk")])
        .await
        .json()
        .await
        .unwrap();
    let rows = list["rows"].as_array().unwrap();
    let at_risk = tile["warning"].as_u64().unwrap() + tile["breached"].as_u64().unwrap();
    assert_eq!(at_risk as usize, rows.len());
    assert_eq!(
        (tile["breached"].as_u64(), tile["warning"].as_u64()),
        (Some(1), Some(1))
    );
    let named: Vec<&str> = tile["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap())
        .collect();
    assert_eq!(named, ["EC2", "Everything"], "breached first");
    let page = app.get(&fin, "/").await.text().await.unwrap();
    assert!(page.contains("id=\"budgets-at-risk\">2<"), "{page}");
    // The member's tile: their one budget, at risk, with its alerts to acknowledge.
    let member = app.client_as(Role::Member).await;
    let dash: serde_json::Value = app
        .call(&member, "/api/dashboard", steward_tests::NO_FIELDS)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dash["budgets"], serde_json::Value::Null);
    assert_eq!(dash["my_work"]["budgets"], 1);
    assert_eq!(dash["my_work"]["at_risk"], 1);
    assert_eq!(dash["my_work"]["open_alerts"], 3);
    assert_eq!(
        dash["my_work"]["attestations_due"], 1,
        "August closed unattested"
    );
});
