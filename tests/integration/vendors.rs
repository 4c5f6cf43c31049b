//! Vendors: the tier from the rubric (and an override that needs its reason), contracts whose
//! notice deadlines and standing are computed, assurance reports whose expiry drives the next
//! review, documents filed as evidence, warnings that clear when the cause does; who may do
//! what; every bad field named.

use super::access_campaigns::member;
use super::exports::json;
use super::*;

pub(super) async fn ok(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> serde_json::Value {
    let r = app.call(c, path, form).await;
    assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    json(r).await
}

pub(super) fn form(fields: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    fields.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

async fn vendor(app: &TestApp, c: &reqwest::Client, id: i64) -> serde_json::Value {
    ok(app, c, "/api/get_vendor", &[("id", id.to_string())]).await
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["vendor"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w[0].as_str().unwrap().to_string())
        .collect()
}

both_dbs!(vendors_compute_their_dates_and_warnings, |app| {
    let co = app.client_as(Role::Compliance).await;
    let fin = app.client_as(Role::Finance).await;
    let mia = member(&app, "mia", "mia@x.io").await;
    let other = member(&app, "otto", "otto@x.io").await;
    let today = app.state().app.clock.now().date();
    let day = |n: i64| (today + time::Duration::days(n)).to_string();

    // Every bad field at once.
    let r = app
        .call(
            &co,
            "/api/save_vendor",
            &form(&[
                ("form[name]", ""),
                ("form[website]", "ftp://acme"),
                ("form[countries]", "USA"),
                ("form[data_sensitivity]", "secret"),
                ("form[tier_override]", "5"),
                ("form[owner]", "nobody"),
            ]),
        )
        .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    for part in [
        "name: required",
        "website: 'ftp://acme'",
        "countries: 'USA'",
        "data sensitivity: 'secret'",
        "tier override: '5'",
        "owner: no user 'nobody'",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let r = app
        .call(
            &co,
            "/api/save_vendor",
            &form(&[("form[name]", "X"), ("form[tier_override]", "2")]),
        )
        .await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("override reason: required"));

    let acme = ok(
        &app,
        &co,
        "/api/save_vendor",
        &form(&[
            ("form[name]", "Acme Cloud"),
            ("form[owner]", "mia"),
            ("form[countries]", "us, de"),
            ("form[data_categories]", "Personal, Financial"),
            ("form[data_sensitivity]", "restricted"),
            ("form[business_impact]", "critical"),
        ]),
    )
    .await
    .as_i64()
    .unwrap();
    let v = vendor(&app, &co, acme).await;
    assert_eq!(v["vendor"]["tier"], 1);
    assert_eq!(v["countries"], serde_json::json!(["US", "DE"]));
    assert_eq!(v["vendor"]["next_review_why"], "never reviewed");
    assert_eq!(
        v["owner_username"], "mia",
        "the edit form shows the owner again"
    );

    // Contracts: every bad field named; the deadline and standing computed.
    let r = app
        .call(
            &co,
            "/api/save_vendor_contract",
            &form(&[
                ("form[vendor_id]", &acme.to_string()),
                ("form[title]", "Platform"),
                ("form[start]", "2026-05-01"),
                ("form[end]", "2026-04-01"),
                ("form[notice_period]", "30 days"),
                ("form[annual_value]", "1,000"),
                ("form[currency]", "dollars"),
            ]),
        )
        .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    for part in [
        "end: 2026-04-01 is not after the start",
        "notice period: '30 days' is not an ISO-8601 duration",
        "annual value:",
        "currency: 'DOLLARS'",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let start = day(-300);
    let end = day(70);
    ok(
        &app,
        &co,
        "/api/save_vendor_contract",
        &form(&[
            ("form[vendor_id]", &acme.to_string()),
            ("form[title]", "Platform"),
            ("form[start]", &start),
            ("form[end]", &end),
            ("form[auto_renew]", "on"),
            ("form[renewal_term]", "P1Y"),
            ("form[notice_period]", "P30D"),
            ("form[annual_value]", "120000.50"),
            ("form[currency]", "usd"),
        ]),
    )
    .await;
    let v = vendor(&app, &co, acme).await;
    let c = &v["contracts"][0];
    assert_eq!(c["notice_deadline"].as_str(), Some(day(40).as_str()));
    assert_eq!(c["standing"], "in its notice window");
    assert_eq!(
        v["vendor"]["annual_value"],
        serde_json::json!([["USD", "120000.5"]])
    );
    assert_eq!(codes(&v), ["renewal_without_soc2", "tier1_without_dpa"]);
    assert!(v["vendor"]["warnings"][0][1]
        .as_str()
        .unwrap()
        .contains("there is no SOC 2 report"));

    // Who records what: the owner (a member) and compliance; finance reads; others see nothing.
    let expired = form(&[
        ("form[vendor_id]", &acme.to_string()),
        ("form[kind]", "soc2_type2"),
        ("form[issued]", &day(-400)),
        ("form[valid_until]", &day(-10)),
    ]);
    assert_eq!(
        app.call(&fin, "/api/add_vendor_assurance", &expired)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.call(&other, "/api/add_vendor_assurance", &expired)
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call(&other, "/api/get_vendor", &[("id", acme.to_string())])
            .await
            .status(),
        404
    );
    assert_eq!(
        app.call(&mia, "/api/save_vendor_contract", &expired)
            .await
            .status(),
        403
    );
    ok(&app, &mia, "/api/add_vendor_assurance", &expired).await;
    let v = vendor(&app, &mia, acme).await;
    assert_eq!(v["is_owner"], true);
    assert!(v["vendor"]["warnings"][0][1]
        .as_str()
        .unwrap()
        .contains(&format!("expired on {}", day(-10))));
    let bad = form(&[
        ("form[vendor_id]", &acme.to_string()),
        ("form[kind]", "soc3"),
        ("form[issued]", "2026-02-30"),
        ("form[valid_until]", &day(10)),
        ("form[period_start]", &day(-10)),
    ]);
    let r = app.call(&mia, "/api/add_vendor_assurance", &bad).await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    for part in ["kind: 'soc3'", "issued: '2026-02-30'", "period: give both"] {
        assert!(text.contains(part), "{part} in {text}");
    }
    // A current SOC 2 clears the renewal warning.
    ok(
        &app,
        &mia,
        "/api/add_vendor_assurance",
        &form(&[
            ("form[vendor_id]", &acme.to_string()),
            ("form[kind]", "soc2_type2"),
            ("form[period_start]", &day(-200)),
            ("form[period_end]", &day(-20)),
            ("form[issued]", &day(-5)),
            ("form[valid_until]", &day(360)),
        ]),
    )
    .await;
    assert_eq!(codes(&vendor(&app, &co, acme).await), ["tier1_without_dpa"]);

    // A DPA filed as evidence clears the tier-1 warning.
    let pool = app.state().app.db.pool();
    let evidence: i64 = sqlx::query_scalar(
        "INSERT INTO evidence (title, description, kind, created_by, created_at, updated_at) \
         VALUES ('Acme DPA 2026', '', 'link', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let doc = [
        ("vendor_id", acme.to_string()),
        ("evidence_id", evidence.to_string()),
        ("kind", "dpa".to_string()),
    ];
    ok(&app, &mia, "/api/add_vendor_document", &doc).await;
    assert_eq!(
        app.call(&mia, "/api/add_vendor_document", &doc)
            .await
            .status(),
        409
    );
    let v = vendor(&app, &co, acme).await;
    assert!(codes(&v).is_empty(), "{v}");
    assert_eq!(v["documents"][0][2], "dpa");

    // The next review: an approved review restarts the yearly cadence, unless a report expires first.
    let reviewed = day(-100);
    ok(
        &app,
        &mia,
        "/api/record_vendor_review",
        &[
            ("vendor_id", acme.to_string()),
            ("status", "approved".into()),
            ("date", reviewed.clone()),
        ],
    )
    .await;
    let v = vendor(&app, &co, acme).await;
    let by_cadence = app::util::fmt_date(app::calendar::add_months(
        today - time::Duration::days(100),
        12,
    ));
    assert_eq!(
        v["vendor"]["next_review"].as_str(),
        Some(by_cadence.as_str())
    );
    ok(
        &app,
        &co,
        "/api/add_vendor_assurance",
        &form(&[
            ("form[vendor_id]", &acme.to_string()),
            ("form[kind]", "iso27001"),
            ("form[issued]", &day(-600)),
            ("form[valid_until]", &day(200)),
        ]),
    )
    .await;
    let v = vendor(&app, &co, acme).await;
    assert_eq!(v["vendor"]["next_review"].as_str(), Some(day(200).as_str()));
    assert_eq!(
        v["vendor"]["next_review_why"],
        "the ISO/IEC 27001 certificate expires"
    );

    // Sub-processor chains, never circles.
    let beta = ok(
        &app,
        &co,
        "/api/save_vendor",
        &form(&[
            ("form[name]", "Beta Mail"),
            ("form[subprocessor_of]", "acme cloud"),
        ]),
    )
    .await
    .as_i64()
    .unwrap();
    assert_eq!(
        vendor(&app, &co, acme).await["subprocessors"][0][1],
        "Beta Mail"
    );
    let r = app
        .call(
            &co,
            "/api/save_vendor",
            &form(&[
                ("form[id]", &acme.to_string()),
                ("form[name]", "Acme Cloud"),
                ("form[subprocessor_of]", "Beta Mail"),
            ]),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already downstream"));
    let r = app
        .call(
            &co,
            "/api/save_vendor",
            &form(&[("form[name]", "acme cloud")]),
        )
        .await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("a vendor is named 'acme cloud' already"));

    // The register's filters; finance reads it.
    let list = |f: Vec<(&'static str, String)>| {
        let (app, fin) = (&app, &fin);
        async move {
            let v = ok(app, fin, "/api/list_vendors", &f).await;
            v["vendors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(form(&[("filter[tier]", "0")])).await,
        ["Acme Cloud", "Beta Mail"]
    );
    assert_eq!(list(form(&[("filter[tier]", "1")])).await, ["Acme Cloud"]);
    assert_eq!(
        list(form(&[("filter[owner]", "mia")])).await,
        ["Acme Cloud"]
    );
    assert_eq!(
        list(form(&[("filter[renewal_within]", "50")])).await,
        ["Acme Cloud"]
    );
    assert!(list(form(&[("filter[renewal_within]", "30")]))
        .await
        .is_empty());
    assert!(list(form(&[("filter[warnings]", "true")])).await.is_empty());
    // An override makes Beta tier 1, and a tier-1 vendor needs a DPA.
    ok(
        &app,
        &co,
        "/api/save_vendor",
        &form(&[
            ("form[id]", &beta.to_string()),
            ("form[name]", "Beta Mail"),
            ("form[subprocessor_of]", "Acme Cloud"),
            ("form[tier_override]", "1"),
            ("form[override_reason]", "holds every customer email"),
        ]),
    )
    .await;
    assert_eq!(
        list(form(&[("filter[warnings]", "true")])).await,
        ["Beta Mail"]
    );
    let v = vendor(&app, &co, beta).await;
    assert_eq!(
        (
            v["vendor"]["tier"].as_i64(),
            v["vendor"]["tier_overridden"].as_bool()
        ),
        (Some(1), Some(true))
    );
    assert_eq!(
        v["tier_override"], 1,
        "the edit form shows the override again"
    );
    // The dashboard: the register's tile, and the owner's own work.
    let d = ok(&app, &co, "/api/dashboard", &[]).await;
    assert_eq!(
        (
            d["vendors"]["total"].as_i64(),
            d["vendors"]["needing_action"].as_i64(),
            d["vendors"]["notices_due"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let d = ok(&app, &mia, "/api/dashboard", &[]).await;
    assert!(
        d["vendors"].is_null(),
        "members read only their own vendors"
    );
    assert_eq!(
        (
            d["my_work"]["vendors"].as_i64(),
            d["my_work"]["vendor_warnings"].as_i64()
        ),
        (Some(1), Some(0))
    );

    // Reminders: a notice deadline within 30 days reaches the owner, once a day.
    let st = &app.state().app;
    let now = st.clock.now();
    assert_eq!(
        app::vendors::reminders::run(st, now).await.unwrap(),
        0,
        "nothing due soon yet"
    );
    let (start, end) = (day(-10), day(45));
    ok(
        &app,
        &co,
        "/api/save_vendor_contract",
        &form(&[
            ("form[vendor_id]", &acme.to_string()),
            ("form[title]", "Support add-on"),
            ("form[start]", &start),
            ("form[end]", &end),
            ("form[notice_period]", "P30D"),
        ]),
    )
    .await;
    assert_eq!(app::vendors::reminders::run(st, now).await.unwrap(), 1);
    assert_eq!(
        app::vendors::reminders::run(st, now).await.unwrap(),
        0,
        "once a day"
    );
    let body: String = sqlx::query_scalar(
        "SELECT body FROM notifications WHERE kind = 'vendor.reminder' AND channel = 'inapp'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(
        body.contains(&format!(
            "Acme Cloud: notice on 'Support add-on' by {}",
            day(15)
        )),
        "{body}"
    );

    let actions = app.audit_actions().await;
    for a in [
        "vendor.create",
        "vendor.update",
        "vendor.contract_create",
        "vendor.assurance_add",
        "vendor.document_add",
        "vendor.review",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
});

/// FOCUS rows: (day, service, billed cost).
fn focus(rows: &[(time::Date, &str, &str)]) -> String {
    let mut out = String::from(
        "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingPeriodStart,\
         BillingPeriodEnd,ProviderName,BillingAccountId,ChargeCategory,ServiceName,RegionId\n",
    );
    for (d, service, cost) in rows {
        let first = app::calendar::first_of_month(*d);
        let next = app::calendar::add_months(first, 1);
        out.push_str(&format!(
            "{d}T00:00:00Z,{d}T01:00:00Z,{cost},{cost},{cost},USD,{first},{next},AWS,ba-1,Usage,{service},us-east-1\n"
        ));
    }
    out
}

both_dbs!(vendor_spend_is_the_exact_sum_of_its_cost_rows, |app| {
    let co = app.client_as(Role::Compliance).await;
    let today = app.state().app.clock.now().date();
    let early = app::calendar::add_months(app::calendar::first_of_month(today), -11);
    let old = app::calendar::add_months(app::calendar::first_of_month(today), -13);
    let file = app.db.data_dir().join("focus.csv");
    std::fs::write(
        &file,
        focus(&[
            (today, "Amazon S3", "100.12345678901"),
            (early, "Amazon S3", "0.00000000099"),
            (old, "Amazon S3", "5000"),
            (today, "Amazon EC2", "2000.5"),
            (today, "AWS Lambda", "12.5"),
        ]),
    )
    .unwrap();
    app.cli(&["import-costs", file.to_str().unwrap()]);
    let s3 = ok(
        &app,
        &co,
        "/api/save_vendor",
        &form(&[
            ("form[name]", "S3 storage"),
            ("form[data_sensitivity]", "internal"),
        ]),
    )
    .await
    .as_i64()
    .unwrap();
    // Before a scope: everything is unknown spend above the threshold.
    let list = |min: &'static str| {
        let (app, co) = (&app, &co);
        async move {
            let v = ok(
                app,
                co,
                "/api/list_vendors",
                &form(&[("filter[tier]", "0"), ("filter[unknown_min]", min)]),
            )
            .await;
            v["unknown"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| {
                    (
                        u[1].as_str().unwrap().to_string(),
                        u[3].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list("100").await,
        [
            ("Amazon EC2".to_string(), "2000.5".to_string()),
            ("Amazon S3".into(), "100.12345679".into())
        ]
    );
    let r = app
        .call(
            &co,
            "/api/add_vendor_scope",
            &[
                ("vendor_id", s3.to_string()),
                ("provider", String::new()),
                ("billing_account", String::new()),
                ("service", String::new()),
                ("tag", "team".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let t = r.text().await.unwrap();
    assert!(
        t.contains("tag: 'team' is not key=value") && t.contains("name at least"),
        "{t}"
    );
    ok(
        &app,
        &co,
        "/api/add_vendor_scope",
        &[
            ("vendor_id", s3.to_string()),
            ("provider", "AWS".into()),
            ("billing_account", String::new()),
            ("service", "Amazon S3".into()),
            ("tag", String::new()),
        ],
    )
    .await;
    let v = vendor(&app, &co, s3).await;
    assert_eq!(v["scopes"][0][1], "provider AWS · service Amazon S3");
    let spend = &v["spend"][0];
    assert_eq!(spend["currency"], "USD");
    // Exact to the last digit the source gives; the row 13 months back is outside.
    assert_eq!(spend["last_12_months"], "100.12345679");
    let ytd = if early.year() == today.year() {
        "100.12345679"
    } else {
        "100.12345678901"
    };
    assert_eq!(spend["year_to_date"], ytd);
    assert_eq!(spend["months"].as_array().unwrap().len(), 12);
    assert_eq!(spend["months"][11][1], "100.12345678901");
    assert_eq!(spend["months"][0][1], "0.00000000099");
    // Mapped: S3 is no longer unknown; EC2 is; Lambda is below the threshold.
    assert_eq!(
        list("1000").await,
        [("Amazon EC2".to_string(), "2000.5".to_string())]
    );
    assert_eq!(list("10").await.len(), 2);
    // Spend above the contract's annual value warns.
    ok(
        &app,
        &co,
        "/api/save_vendor_contract",
        &form(&[
            ("form[vendor_id]", &s3.to_string()),
            ("form[title]", "Storage"),
            (
                "form[start]",
                &(today - time::Duration::days(30)).to_string(),
            ),
            ("form[annual_value]", "100"),
        ]),
    )
    .await;
    let v = vendor(&app, &co, s3).await;
    assert_eq!(codes(&v), ["spend_over_contract"]);
    assert!(v["vendor"]["warnings"][0][1]
        .as_str()
        .unwrap()
        .contains("100.12345679 USD"));
});
