//! The cost explorer over HTTP: streamed upload, report sums exact to the source, tag grouping,
//! CSV export of what is shown, the dashboard's spend tile, and who may do what.

use super::*;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;
use steward_tests::NO_FIELDS;

fn sample_bytes() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/focus/focus-1.0-sample.csv"),
    )
    .unwrap()
}

/// Exact sums from the file itself, read here without the importer: per ServiceName and in
/// total, for USD rows, of one cost column.
fn expected(column: &str) -> (BTreeMap<String, Decimal>, Decimal) {
    let bytes = sample_bytes();
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let h = rdr.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (cost, svc, cur) = (at(column), at("ServiceName"), at("BillingCurrency"));
    let mut per = BTreeMap::new();
    let mut total = Decimal::ZERO;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if &rec[cur] != "USD" {
            continue;
        }
        let v = if &rec[cost] == "NULL" {
            Decimal::ZERO
        } else {
            Decimal::from_str(&rec[cost]).unwrap()
        };
        let name = if &rec[svc] == "NULL" {
            "(none)".to_string()
        } else {
            rec[svc].to_string()
        };
        *per.entry(name).or_insert(Decimal::ZERO) += v;
        total += v;
    }
    (per, total)
}

fn cents(d: Decimal) -> String {
    app::costs::report::cents(d)
}

async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    c.post(app.url("/costs/upload"))
        .header("Origin", &app.base)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn report(app: &TestApp, c: &reqwest::Client, q: &[(&str, &str)]) -> Value {
    let fields: Vec<(String, String)> = q
        .iter()
        .map(|(k, v)| (format!("query[{k}]"), v.to_string()))
        .collect();
    let r = app.call(c, "/api/cost_report", &fields).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

const SEPT: [(&str, &str); 2] = [("from", "2024-09-01"), ("to", "2024-09-30")];

both_dbs!(
    the_report_reconciles_with_the_source_to_the_last_digit,
    |app| {
        let fin = app.client_as(Role::Finance).await;
        for r in [Role::Auditor, Role::Compliance] {
            let c = app.client_as(r).await;
            // A small body: the refusal comes before the server reads it, and a large one
            // could still be in flight when the connection closes.
            let small = b"BilledCost\n1\n".to_vec();
            assert_eq!(
                upload(&app, &c, "focus.csv", small).await.status(),
                403,
                "{r:?}"
            );
        }
        let res = upload(&app, &fin, "focus-1.0-sample.csv", sample_bytes()).await;
        let text = res.text().await.unwrap();
        assert!(
            text.contains("imported 'focus-1.0-sample.csv' as batch #1"),
            "{text}"
        );
        let again = upload(&app, &fin, "focus-1.0-sample.csv", sample_bytes())
            .await
            .text()
            .await
            .unwrap();
        assert!(again.contains("already imported"), "{again}");

        for (metric, column) in [("billed", "BilledCost"), ("effective", "EffectiveCost")] {
            let (per, total) = expected(column);
            let mut q = SEPT.to_vec();
            q.extend([
                ("group_by", "service"),
                ("metric", metric),
                ("granularity", "monthly"),
            ]);
            let r = report(&app, &fin, &q).await;
            assert_eq!(
                r["grand_total_exact"],
                total.normalize().to_string(),
                "{metric}"
            );
            assert_eq!(r["grand_total"], cents(total));
            let groups = r["groups"].as_array().unwrap();
            for g in groups {
                assert!(
                    per.contains_key(g["key"].as_str().unwrap()),
                    "unexpected group {g}"
                );
            }
            for (svc, want) in &per {
                let Some(g) = groups.iter().find(|g| g["key"] == svc.as_str()) else {
                    assert!(want.is_zero(), "{svc} missing");
                    continue;
                };
                assert_eq!(
                    g["total_exact"],
                    want.normalize().to_string(),
                    "{metric} {svc}"
                );
                assert_eq!(g["total"], cents(*want), "{metric} {svc}");
            }
            assert_eq!(r["periods"], serde_json::json!(["2024-09"]));
        }

        // Daily: one column per day of September, summing to the same total.
        let (_, total) = expected("BilledCost");
        let mut q = SEPT.to_vec();
        q.push(("granularity", "daily"));
        let r = report(&app, &fin, &q).await;
        assert_eq!(r["periods"].as_array().unwrap().len(), 30);
        assert_eq!(r["grand_total_exact"], total.normalize().to_string());
        assert!(!r["bars"].as_array().unwrap().is_empty());

        // Filtered reports read the full daily rollup; unfiltered ones the per-dimension sums:
        // both reconcile with the file.
        let aws: Decimal = {
            let bytes = sample_bytes();
            let mut rdr = csv::Reader::from_reader(bytes.as_slice());
            let h = rdr.headers().unwrap().clone();
            let at = |n: &str| h.iter().position(|c| c == n).unwrap();
            let (cost, prov, cur) = (at("BilledCost"), at("ProviderName"), at("BillingCurrency"));
            rdr.records()
                .map(|r| r.unwrap())
                .filter(|r| &r[prov] == "AWS" && &r[cur] == "USD")
                .map(|r| Decimal::from_str(&r[cost]).unwrap_or_default())
                .sum()
        };
        let mut q = SEPT.to_vec();
        q.extend([("group_by", "region"), ("provider", "AWS")]);
        let r = report(&app, &fin, &q).await;
        assert_eq!(r["grand_total_exact"], aws.normalize().to_string());

        // Bad input is named.
        let r = app
            .call(&fin, "/api/cost_report", &[("query[from]", "2024-13-01")])
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("From"));
        let r = app
            .call(&fin, "/api/cost_report", &[("query[group_by]", "colour")])
            .await;
        assert_eq!(r.status(), 422);
    }
);

both_dbs!(grouping_by_a_tag_accounts_for_every_cent, |app| {
    let fin = app.client_as(Role::Finance).await;
    assert_eq!(
        upload(&app, &fin, "focus.csv", sample_bytes())
            .await
            .status(),
        200
    );
    let r = report(&app, &fin, &SEPT).await;
    let keys: Vec<String> = serde_json::from_value(r["tag_keys"].clone()).unwrap();
    assert!(!keys.is_empty(), "the sample has tags");
    let (_, total) = expected("BilledCost");
    for key in keys.iter().take(3) {
        let g = format!("tag:{key}");
        let mut q = SEPT.to_vec();
        q.push(("group_by", g.as_str()));
        let r = report(&app, &fin, &q).await;
        let sum: Decimal = r["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| Decimal::from_str(g["total_exact"].as_str().unwrap()).unwrap())
            .sum();
        assert_eq!(sum, total, "tag {key}: values plus untagged make the total");
    }
});

both_dbs!(
    the_csv_export_is_what_the_page_shows_and_formula_safe,
    |app| {
        let fin = app.client_as(Role::Finance).await;
        // A one-row FOCUS file whose service name a spreadsheet would run as a formula.
        let bytes = sample_bytes();
        let mut rdr = csv::Reader::from_reader(bytes.as_slice());
        let header = rdr.headers().unwrap().clone();
        let first = rdr.records().next().unwrap().unwrap();
        let svc = header.iter().position(|c| c == "ServiceName").unwrap();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&header).unwrap();
        let row: Vec<&str> = first
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == svc {
                    "=HYPERLINK(\"http://x\")"
                } else {
                    v
                }
            })
            .collect();
        w.write_record(&row).unwrap();
        let res = upload(&app, &fin, "evil.csv", w.into_inner().unwrap()).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let mut q = SEPT.to_vec();
        q.extend([("granularity", "monthly"), ("group_by", "service")]);
        let r = report(&app, &fin, &q).await;
        let qs = "from=2024-09-01&to=2024-09-30&granularity=monthly&group_by=service";
        let aud = app.client_as(Role::Auditor).await;
        let res = app.get(&aud, &format!("/costs/export.csv?{qs}")).await;
        assert_eq!(res.status(), 403, "auditors read no costs");
        for role in [Role::Finance, Role::Admin] {
            let c = app.client_as(role).await;
            let res = app.get(&c, &format!("/costs/export.csv?{qs}")).await;
            assert_eq!(res.status(), 200, "{role:?}");
            assert!(res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with(
                    "attachment; filename=\"costs-2024-09-01-2024-09-30-by-service.csv\""
                ));
            let csv = res.text().await.unwrap();
            let mut lines = csv.lines();
            assert_eq!(lines.next(), Some("Service,2024-09,Total"));
            let g = &r["groups"][0];
            let amount = g["total"].as_str().unwrap().replace(',', "");
            assert_eq!(
                lines.next().unwrap(),
                format!("\"'=HYPERLINK(\"\"http://x\"\")\",{amount},{amount}")
            );
            assert_eq!(lines.next().unwrap(), format!("Total,{amount},{amount}"));
        }
        let co = app.client_as(Role::Compliance).await;
        assert_eq!(
            app.get(&co, &format!("/costs/export.csv?{qs}"))
                .await
                .status(),
            403
        );
    }
);

both_dbs!(
    the_dashboard_shows_spend_month_to_date_and_last_month,
    |app| {
        let fin = app.client_as(Role::Finance).await;
        let d = json_of(app.call(&fin, "/api/dashboard", NO_FIELDS).await).await;
        assert!(d["spend"]["latest_day"].is_null());
        assert_eq!(
            upload(&app, &fin, "focus.csv", sample_bytes())
                .await
                .status(),
            200
        );
        // Move the clock to 10 October 2024: September is last month, October has nothing yet.
        let clock = &app.state().app.clock;
        let target = time::macros::datetime!(2024-10-10 12:00 UTC);
        clock.advance(target - clock.now());
        let fin = app.client_as(Role::Finance).await;
        let d = json_of(app.call(&fin, "/api/dashboard", NO_FIELDS).await).await;
        let (_, total) = expected("BilledCost");
        assert_eq!(d["spend"]["last_month"], cents(total));
        assert_eq!(d["spend"]["month_to_date"], "0.00");
        assert_eq!(d["spend"]["currency"], "USD");
        assert_eq!(d["spend"]["latest_day"], "2024-09-30");
        let html = app.get(&fin, "/").await.text().await.unwrap();
        assert!(html.contains("id=\"spend-tile\""), "{html}");
        // Compliance officers do not read costs.
        let co = app.client_as(Role::Compliance).await;
        let d = json_of(app.call(&co, "/api/dashboard", NO_FIELDS).await).await;
        assert!(d["spend"].is_null());
        assert_eq!(
            app.call(&co, "/api/cost_report", &[("query[from]", "")])
                .await
                .status(),
            403
        );
    }
);

/// A small FOCUS file: (service, region, billed) rows for account ba-1, September 2024.
fn focus_file(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut out = String::from(
        "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ListCost,BillingCurrency,\
         BillingPeriodStart,BillingPeriodEnd,ProviderName,BillingAccountId,ChargeCategory,\
         ServiceName,RegionId\n",
    );
    for (i, (service, region, billed)) in rows.iter().enumerate() {
        out.push_str(&format!(
            "2024-09-{:02}T00:00:00Z,2024-09-{:02}T01:00:00Z,{billed},{billed},{billed},USD,\
             2024-09-01,2024-10-01,AWS,ba-1,Usage,{service},{region}\n",
            i + 1,
            i + 1
        ));
    }
    out.into_bytes()
}

fn groups_of(r: &Value) -> BTreeMap<String, String> {
    r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                g["total_exact"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

both_dbs!(
    reports_follow_new_and_replaced_data_on_every_server,
    |app| {
        let other = app.second_server().await;
        let fin = app.client_as(Role::Finance).await;
        let fin2 = other.client_as(Role::Finance).await;
        let mut q = SEPT.to_vec();
        q.extend([("granularity", "monthly"), ("group_by", "service")]);
        // Reports before any data: both servers' caches start empty.
        for (srv, c) in [(&app, &fin), (&other, &fin2)] {
            assert_eq!(report(srv, c, &q).await["grand_total_exact"], "0");
        }
        let first = focus_file(&[
            ("S3", "eu-west-1", "1.25"),
            ("EC2", "us-east-1", "2.50"),
            ("EC2", "eu-west-1", "0.005"),
        ]);
        assert_eq!(upload(&app, &fin, "first.csv", first).await.status(), 200);
        // The other server sees the import without being told.
        let r = report(&other, &fin2, &q).await;
        assert_eq!(r["grand_total_exact"], "3.755");
        assert_eq!(
            groups_of(&r),
            BTreeMap::from([
                ("EC2".to_string(), "2.505".to_string()),
                ("S3".to_string(), "1.25".to_string())
            ])
        );
        let mut by_region = q.clone();
        by_region.push(("region", "eu-west-1"));
        let r = report(&other, &fin2, &by_region).await;
        assert_eq!(r["grand_total_exact"], "1.255", "filtered by region");

        // A newer file for the same account and period replaces the first one's data.
        let second = focus_file(&[("S3", "eu-west-1", "10")]);
        assert_eq!(
            upload(&other, &fin2, "second.csv", second).await.status(),
            200
        );
        for (srv, c) in [(&app, &fin), (&other, &fin2)] {
            let r = report(srv, c, &q).await;
            assert_eq!(r["grand_total_exact"], "10");
            assert_eq!(
                groups_of(&r),
                BTreeMap::from([("S3".to_string(), "10".to_string())])
            );
            let r = report(srv, c, &by_region).await;
            assert_eq!(r["grand_total_exact"], "10");
            assert_eq!(
                r["regions"],
                serde_json::json!(["eu-west-1"]),
                "choices follow"
            );
        }
    }
);

async fn json_of(r: reqwest::Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

both_dbs!(
    without_dates_the_explorer_opens_on_the_latest_months_with_data_and_labels_its_axis,
    |app| {
        let fin = app.client_as(Role::Finance).await;
        upload(&app, &fin, "focus-1.0-sample.csv", sample_bytes()).await;
        // The newest charge day in the file, read here without the importer.
        let bytes = sample_bytes();
        let mut rdr = csv::Reader::from_reader(bytes.as_slice());
        let at = rdr
            .headers()
            .unwrap()
            .iter()
            .position(|c| c == "ChargePeriodStart")
            .unwrap();
        let latest = rdr
            .records()
            .map(|r| r.unwrap()[at][..10].to_string())
            .max()
            .unwrap();
        assert!(
            latest.as_str() < "2026-01-01",
            "the sample is older than today"
        );

        // As the page asks with no dates chosen: the fields present, empty.
        let r = report(&app, &fin, &[("from", ""), ("to", "")]).await;
        assert_eq!(r["query"]["to"], latest.as_str());
        // Three calendar months: from the first of the month two before the latest.
        let (y, m): (i32, i32) = (latest[..4].parse().unwrap(), latest[5..7].parse().unwrap());
        let idx = y * 12 + (m - 1) - 2;
        let from = format!("{}-{:02}-01", idx / 12, idx % 12 + 1);
        assert_eq!(r["query"]["from"], from.as_str());
        let note = r["range_note"]
            .as_str()
            .expect("the page says why this range");
        assert!(note.contains(&latest), "{note}");
        assert!(r["grand_total"] != "0.00", "the range holds the data");

        // The value axis: round ticks, the top one at the plot's top, above the tallest bar.
        let axis = r["axis"].as_array().unwrap();
        assert!((1..=6).contains(&axis.len()), "{axis:?}");
        let num = |v: &Value| Decimal::from_str(&v.as_str().unwrap().replace(',', "")).unwrap();
        let (top_pm, top) = (&axis.last().unwrap()[0], num(&axis.last().unwrap()[1]));
        assert_eq!(top_pm, 1000);
        let tallest = r["period_totals"]
            .as_array()
            .unwrap()
            .iter()
            .map(num)
            .max()
            .unwrap();
        assert!(top >= tallest, "{top} < {tallest}");
        let mut last = Decimal::ZERO;
        for t in axis {
            let v = num(&t[1]);
            assert!(v > last, "{axis:?}");
            last = v;
        }

        // Dates asked for: no note.
        let r = report(&app, &fin, &SEPT).await;
        assert!(r["range_note"].is_null());
    }
);

both_dbs!(
    the_dashboard_is_fresh_on_the_next_request_after_any_change,
    |app| {
        let fin = app.client_as(Role::Finance).await;
        let before = json_of(app.call(&fin, "/api/dashboard", NO_FIELDS).await).await;
        assert!(before["spend"]["latest_day"].is_null());
        // Asked again with nothing changed: the same figures (from the cache).
        let again = json_of(app.call(&fin, "/api/dashboard", NO_FIELDS).await).await;
        assert_eq!(again, before);
        // A change by another process (the CLI on the same database): seen at once.
        let sample = costs_fixture_sample();
        let out = app.cli(&["import-costs", sample.to_str().unwrap()]);
        assert!(out.contains("imported"), "{out}");
        let after = json_of(app.call(&fin, "/api/dashboard", NO_FIELDS).await).await;
        assert_eq!(after["spend"]["latest_day"], "2024-09-30");
        assert_eq!(
            after["organisation"], before["organisation"],
            "the rest is unchanged"
        );
        // Each role still sees only its cards.
        let co = app.client_as(Role::Compliance).await;
        let d = json_of(app.call(&co, "/api/dashboard", NO_FIELDS).await).await;
        assert!(d["spend"].is_null() && d["users_by_role"].is_null());
        assert!(!d["posture"].is_null());
    }
);
