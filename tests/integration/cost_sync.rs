//! AWS Cost Explorer sync with the real SDK client: against moto's server (two pages, a tag
//! grouping, re-sync without double counting) and against an in-test stub speaking
//! `AWSInsightsIndexService.GetCostAndUsage` (throttling retried, errors reported).

use super::*;
use app::costs::sync::AwsSettings;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use steward_tests::{free_port, NO_FIELDS};

fn settings(endpoint: String, tag_keys: &[&str]) -> AwsSettings {
    let mut s = AwsSettings::new("us-east-1");
    s.endpoint = Some(endpoint);
    s.static_credentials = Some(("test".into(), "test".into()));
    s.tag_keys = tag_keys.iter().map(|k| k.to_string()).collect();
    s.payer_account = "123456789012".into();
    s.base_backoff = Duration::from_millis(10);
    s
}

async fn json_of(r: reqwest::Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Starts a sync as finance and waits for its result.
async fn sync_now(app: &TestApp) -> Value {
    let fin = app.client_as(Role::Finance).await;
    let before = json_of(app.call(&fin, "/api/cost_sync_status", NO_FIELDS).await).await;
    let before_id = before["last"]["id"].as_i64().unwrap_or(0);
    let started = json_of(app.call(&fin, "/api/start_cost_sync", NO_FIELDS).await).await;
    assert_eq!(started["running"], true);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = json_of(app.call(&fin, "/api/cost_sync_status", NO_FIELDS).await).await;
        if st["running"] == false && st["last"]["id"].as_i64().unwrap_or(0) > before_id {
            return st["last"].clone();
        }
        assert!(Instant::now() < deadline, "the sync did not finish: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn day(app: &TestApp, back: i64) -> String {
    (app.state().app.clock.now().date() - time::Duration::days(back)).to_string()
}

fn result(day: &str, estimated: bool, groups: Value) -> Value {
    let next = time::Date::parse(day, &time::format_description::well_known::Iso8601::DATE)
        .unwrap()
        + time::Duration::days(1);
    json!({"TimePeriod": {"Start": day, "End": next.to_string()}, "Total": {}, "Groups": groups, "Estimated": estimated})
}

fn group(keys: [&str; 2], unblended: &str, net: &str, amortized: &str) -> Value {
    json!({"Keys": keys, "Metrics": {
        "UnblendedCost": {"Amount": unblended, "Unit": "USD"},
        "NetUnblendedCost": {"Amount": net, "Unit": "USD"},
        "AmortizedCost": {"Amount": amortized, "Unit": "USD"}}})
}

struct Moto(Child, u16);
impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn moto_bin() -> Option<std::path::PathBuf> {
    steward_tests::venv_tool("moto-venv/bin/moto_server", "STEWARD_MOTO_SERVER")
}

async fn start_moto() -> Option<Moto> {
    let bin = moto_bin()?;
    let port = free_port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto(child, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("http://127.0.0.1:{port}/moto-api/"))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "moto_server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(moto)
}

async fn seed(moto: &Moto, results: Vec<Value>) {
    let r = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/moto-api/static/ce/cost-and-usage-results",
            moto.1
        ))
        .json(&json!({"results": results}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn report_total(app: &TestApp, from: &str, to: &str, group_by: &str) -> Value {
    let fin = app.client_as(Role::Finance).await;
    json_of(
        app.call(
            &fin,
            "/api/cost_report",
            &[
                ("query[from]", from),
                ("query[to]", to),
                ("query[group_by]", group_by),
                ("query[granularity]", "monthly"),
            ],
        )
        .await,
    )
    .await
}

async fn moto_flow(backend: Backend) {
    let Some(moto) = start_moto().await else {
        return;
    };
    let endpoint = format!("http://127.0.0.1:{}", moto.1);
    let Some(app) = TestApp::spawn_with(backend, |o| {
        o.aws = Some(settings(endpoint, &["CostCenter"]))
    })
    .await
    else {
        return;
    };
    let (d1, d2) = (day(&app, 3), day(&app, 2));
    // Page 1 and page 2 of the service × account grouping, then the tag grouping.
    let page1 = json!({"GroupDefinitions": [], "ResultsByTime": [
        result(&d1, false, json!([group(["Amazon EC2", "111111111111"], "10.12345678901", "9.12345678901", "8.5"),
                                   group(["Amazon S3", "111111111111"], "0.00000080000", "0.00000080000", "0.00000080000")]))],
        "DimensionValueAttributes": [{"Value": "111111111111", "Attributes": {"description": "Production"}}],
        "NextPageToken": "page-2"});
    let page2 = json!({"GroupDefinitions": [], "ResultsByTime": [
        result(&d2, true, json!([group(["Amazon EC2", "222222222222"], "3.3", "3.3", "3.1")]))],
        "DimensionValueAttributes": []});
    let tags = json!({"GroupDefinitions": [], "ResultsByTime": [
        result(&d1, false, json!([group(["Amazon EC2", "CostCenter$cc-42"], "6", "5.5", "5"),
                                   group(["Amazon EC2", "CostCenter$"], "4.12345678901", "3.62345678901", "3.5")]))],
        "DimensionValueAttributes": []});
    seed(&moto, vec![page1, page2, tags]).await;

    let run = sync_now(&app).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["pages"], 3, "two pages of accounts and one of tags");
    assert_eq!(run["estimated_from"], d2.as_str());
    // Billed = net unblended: 9.12345678901 + 0.00000080000 + 3.3, to the last digit.
    let want = Decimal::from_str("9.12345678901").unwrap()
        + Decimal::from_str("0.00000080000").unwrap()
        + Decimal::from_str("3.3").unwrap();
    let r = report_total(&app, &day(&app, 10), &day(&app, 0), "service").await;
    assert_eq!(r["grand_total_exact"], want.normalize().to_string(), "{r}");
    let by_account = report_total(&app, &day(&app, 10), &day(&app, 0), "account").await;
    let keys: Vec<&str> = by_account["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"111111111111") && keys.contains(&"222222222222"),
        "{keys:?}"
    );
    let by_tag = report_total(&app, &day(&app, 10), &day(&app, 0), "tag:CostCenter").await;
    let cc = by_tag["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "cc-42")
        .expect("tag value");
    assert_eq!(cc["total_exact"], "5.5");
    assert!(app
        .audit_actions()
        .await
        .contains(&"costs.synced".to_string()));

    // The next sync is incremental: it starts at the first day AWS still called an estimate,
    // and the revised amount for that day replaces the estimate instead of adding to it.
    let revised = json!({"GroupDefinitions": [], "ResultsByTime": [
        result(&d2, false, json!([group(["Amazon EC2", "222222222222"], "3.4", "3.4", "3.2")]))],
        "DimensionValueAttributes": []});
    let no_tags =
        json!({"GroupDefinitions": [], "ResultsByTime": [], "DimensionValueAttributes": []});
    seed(&moto, vec![revised, no_tags]).await;
    let again = sync_now(&app).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(again["range_from"], d2.as_str(), "{again}");
    assert!(again["estimated_from"].is_null());
    let want = want - Decimal::from_str("3.3").unwrap() + Decimal::from_str("3.4").unwrap();
    let r = report_total(&app, &day(&app, 10), &day(&app, 0), "service").await;
    assert_eq!(r["grand_total_exact"], want.normalize().to_string());
    let pool = app.db.pool().await;
    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM cost_batches ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(statuses, ["partially_replaced", "active"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_sync_sqlite() {
    moto_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_sync_postgres() {
    moto_flow(Backend::Postgres).await;
}

/// A Cost Explorer stand-in: refuses the first `throttle` calls, then answers one page.
async fn stub(throttle: usize, always_fail: bool) -> (String, Arc<AtomicUsize>) {
    use axum::http::{HeaderMap, StatusCode};
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let calls = counter.clone();
            async move {
                let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                assert_eq!(target, "AWSInsightsIndexService.GetCostAndUsage");
                let req: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(req["Granularity"], "DAILY");
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let ct = [("content-type", "application/x-amz-json-1.1")];
                if always_fail {
                    return (StatusCode::BAD_REQUEST, ct, json!({"__type": "com.amazonaws.ce#DataUnavailableException", "message": "Data is not available yet"}).to_string());
                }
                if n < throttle {
                    return (StatusCode::BAD_REQUEST, ct, json!({"__type": "com.amazonaws.ce#LimitExceededException", "message": "Rate exceeded"}).to_string());
                }
                let start = req["TimePeriod"]["Start"].as_str().unwrap().to_string();
                let body = json!({"ResultsByTime": [result(&start, false, json!([group(["AWS Lambda", "333333333333"], "1.23", "1.20", "1.10")]))], "DimensionValueAttributes": []});
                (StatusCode::OK, ct, body.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

async fn throttling_flow(backend: Backend) {
    let (endpoint, calls) = stub(2, false).await;
    let Some(app) = TestApp::spawn_with(backend, |o| o.aws = Some(settings(endpoint, &[]))).await
    else {
        return;
    };
    let run = sync_now(&app).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["retries"], 2);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let pool = app.db.pool().await;
    let billed: Vec<String> = sqlx::query_scalar("SELECT billed_cost FROM cost_line_items")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(billed, ["1.20"]);
    app.stop().await;

    // An error AWS keeps giving is reported, stored as a failed run, and writes no cost data.
    let (endpoint, calls) = stub(0, true).await;
    let Some(app) = TestApp::spawn_with(backend, |o| o.aws = Some(settings(endpoint, &[]))).await
    else {
        return;
    };
    let run = sync_now(&app).await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("DataUnavailableException"),
        "{run}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "not retried: it is not throttling"
    );
    let pool = app.db.pool().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cost_line_items")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(n, 0);
    assert!(app
        .audit_actions()
        .await
        .contains(&"costs.sync_failed".to_string()));
    // Without settings the button explains what to configure.
    let plain = TestApp::spawn(backend).await.unwrap();
    let fin = plain.client_as(Role::Finance).await;
    let r = plain.call(&fin, "/api/start_cost_sync", NO_FIELDS).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("STEWARD_AWS_CE_REGION"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stub_throttling_and_errors_sqlite() {
    throttling_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stub_throttling_and_errors_postgres() {
    throttling_flow(Backend::Postgres).await;
}

/// A stub answering every request with the same groups for the first day asked for.
async fn fixed_stub(groups: Value) -> String {
    use axum::http::HeaderMap;
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |_: HeaderMap, body: String| {
            let groups = groups.clone();
            async move {
                let req: Value = serde_json::from_str(&body).unwrap();
                let start = req["TimePeriod"]["Start"].as_str().unwrap().to_string();
                let body = json!({"ResultsByTime": [result(&start, false, groups)], "DimensionValueAttributes": []});
                ([("content-type", "application/x-amz-json-1.1")], body.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// One writer: the same costs through the sync and through a FOCUS file give the same rollup
/// rows and totals.
async fn one_writer_flow(backend: Backend) {
    let groups = [
        ("AWS Lambda", "333333333333", "1.23", "1.20", "1.10"),
        (
            "Amazon Simple Storage Service",
            "333333333333",
            "0.000000125",
            "0.0000001",
            "0.0000001",
        ),
        ("AWS Lambda", "444444444444", "7.5", "7.5", "7.25"),
    ];
    let json_groups = Value::Array(
        groups
            .iter()
            .map(|(svc, acct, u, n, a)| group([svc, acct], u, n, a))
            .collect(),
    );
    let endpoint = fixed_stub(json_groups).await;
    let Some(app) = TestApp::spawn_with(backend, |o| o.aws = Some(settings(endpoint, &[]))).await
    else {
        return;
    };
    let run = sync_now(&app).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let sync_batch = run["batch_id"].as_i64().unwrap();
    let start = run["range_from"].as_str().unwrap().to_string();

    // The same rows as a FOCUS file: billed = net unblended, effective = amortized, list =
    // unblended, as the sync maps them.
    let date =
        time::Date::parse(&start, &time::format_description::well_known::Iso8601::DATE).unwrap();
    let month = app::calendar::month_of(date);
    let mut csv = String::from(
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,\
         BillingPeriodStart,BillingPeriodEnd,ProviderName,BillingAccountId,ChargeCategory,\
         ServiceName,SubAccountId\n",
    );
    for (svc, acct, u, n, a) in groups {
        csv.push_str(&format!(
            "{n},{a},{u},USD,{date}T00:00:00Z,{}T00:00:00Z,{}T00:00:00Z,{}T00:00:00Z,AWS,\
             123456789012,Usage,{svc},{acct}\n",
            date.next_day().unwrap(),
            month.start,
            month.end
        ));
    }
    let path =
        std::env::temp_dir().join(format!("steward-one-writer-{}.csv", rand::random::<u64>()));
    std::fs::write(&path, csv).unwrap();
    let ctx = app::audit::chain::AuditCtx {
        actor: "finance".into(),
        at: app::util::ts(app.state().app.clock.now()),
        ..Default::default()
    };
    let report = app::costs::import::import_file(&app.state().app.db, &path, ctx, |_| {})
        .await
        .unwrap();
    let _ = std::fs::remove_file(&path);

    let pool = app.db.pool().await;
    let daily = |batch: i64| {
        let pool = pool.clone();
        async move {
            // One text per row (tuples this wide have no PartialEq).
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT provider || '|' || billing_account_id || '|' || billing_period_start
                        || '|' || day || '|' || sub_account_id || '|' || sub_account_name
                        || '|' || service_name || '|' || service_category || '|' || region_id
                        || '|' || charge_category || '|' || currency || '|' || billed_cost
                        || '|' || effective_cost || '|' || list_cost
                        || '|' || CAST(row_count AS TEXT)
                 FROM cost_daily WHERE batch_id = $1
                 ORDER BY day, sub_account_id, service_name",
            )
            .bind(batch)
            .fetch_all(&pool)
            .await
            .unwrap();
            rows
        }
    };
    let from_sync = daily(sync_batch).await;
    let from_file = daily(report.batch_id).await;
    assert_eq!(from_sync.len(), 3);
    assert_eq!(
        from_sync, from_file,
        "the same rollup rows from both sources"
    );
    let totals = |batch: i64| {
        let pool = pool.clone();
        async move {
            let t: String = sqlx::query_scalar("SELECT totals FROM cost_batches WHERE id = $1")
                .bind(batch)
                .fetch_one(&pool)
                .await
                .unwrap();
            t
        }
    };
    assert_eq!(totals(sync_batch).await, totals(report.batch_id).await);
    pool.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_import_write_the_same_rollups_sqlite() {
    one_writer_flow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_import_write_the_same_rollups_postgres() {
    one_writer_flow(Backend::Postgres).await;
}
