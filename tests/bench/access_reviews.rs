//! Access reviews benchmark: a campaign of 10,000 accounts (`STEWARD_BENCH_ACCOUNTS` to
//! change; `STEWARD_BENCH_PG=1` adds a PostgreSQL run, `only` runs it alone). Prints:
//! - the import of the account CSV through `steward import-accounts` (the whole process);
//! - starting the campaign (snapshot frozen, every account routed);
//! - the reviewer's queue, p50 / p95 / max of 200 requests over pages and filters, both the
//!   server function and the whole server-rendered page, target p95 at most 100 ms;
//! - a bulk decision over a filter, closing the review, and the owner's sign-off (the report
//!   of every account stored as evidence).
//!
//! Figures: see docs/performance.md, measured on the 2-core development machine.

use app::policy::Role;
use std::time::{Duration, Instant};
use steward_tests::{Backend, TestApp};

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    (p(0.5), p(0.95), ms(*v.last().unwrap()))
}

/// `n` accounts: one in fifty an admin, one in seven without MFA, one in nine unused for a
/// year, one in a hundred a service account.
fn accounts(n: usize, today: time::Date) -> String {
    let mut out = String::from("user_id,email,name,entitlement,last_login,mfa,account_type\n");
    for i in 0..n {
        let ent = if i % 50 == 0 {
            "admin"
        } else {
            ["sales", "support", "finance", "engineering"][i % 4]
        };
        let used = today - time::Duration::days(if i % 9 == 0 { 400 } else { (i % 60) as i64 });
        let mfa = if i % 7 == 0 { "no" } else { "yes" };
        let kind = if i % 100 == 0 { "service" } else { "human" };
        out.push_str(&format!(
            "user-{i:05},user-{i:05}@example.com,User {i},{ent},{used},{mfa},{kind}\n"
        ));
    }
    out
}

async fn ok(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> serde_json::Value {
    let r = app.call(c, path, form).await;
    assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn run(backend: Backend, n: usize) {
    let Some(app) = TestApp::spawn(backend).await else {
        println!("{backend:?}: no database, skipped");
        return;
    };
    println!("--- {backend:?}: a campaign of {n} accounts");
    app.user(Role::Member).await;
    let co = app.client_as(Role::Compliance).await;
    let member = app.client_as(Role::Member).await;
    let form = [
        ("form[name]", "CRM".to_string()),
        ("form[kind]", "application".into()),
        ("form[owner]", "compliance".into()),
    ];
    ok(&app, &co, "/api/save_system", &form).await;
    let today = app.state().app.clock.now().date();
    let file = app.db.data_dir().join("accounts.csv");
    std::fs::write(&file, accounts(n, today)).unwrap();
    let t = Instant::now();
    let out = app.cli(&["import-accounts", "--system", "CRM", file.to_str().unwrap()]);
    let import = t.elapsed();
    assert!(out.contains(&format!("Imported {n} account(s)")), "{out}");
    println!(
        "import ({} KiB CSV, the whole `steward import-accounts` process): {:.0} ms",
        std::fs::metadata(&file).unwrap().len() / 1024,
        import.as_secs_f64() * 1000.0
    );
    let due = (today + time::Duration::days(30)).to_string();
    let form = [
        ("form[name]", "CRM quarterly".to_string()),
        ("form[owner]", "compliance".into()),
        ("form[due]", due),
        ("form[systems]", "CRM".into()),
        ("form[reviewers]", "CRM = member".into()),
    ];
    let campaign = ok(&app, &co, "/api/save_access_campaign", &form)
        .await
        .as_i64()
        .unwrap();
    let t = Instant::now();
    let routed = ok(
        &app,
        &co,
        "/api/start_access_campaign",
        &[("id", campaign.to_string())],
    )
    .await;
    println!(
        "start (freeze and route {routed} accounts): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    // The queue: pages across the whole campaign and the filters a reviewer uses.
    let filters: [&[(&str, &str)]; 5] = [
        &[],
        &[("filter[flag]", "none")],
        &[("filter[q]", "user-04")],
        &[
            ("filter[mfa]", "true"),
            ("filter[used_within]", "30"),
            ("filter[flag]", "none"),
        ],
        &[("filter[state]", "open"), ("filter[flag]", "privileged")],
    ];
    let pages = (n as i64 / 100).max(1);
    let mut api = Vec::new();
    for i in 0..200usize {
        let mut form = vec![
            ("filter[campaign]", campaign.to_string()),
            ("page", ((i as i64 * 37) % pages + 1).to_string()),
        ];
        for (k, v) in filters[i % filters.len()] {
            form.push((k, v.to_string()));
        }
        let t = Instant::now();
        let r = app.call(&member, "/api/my_access_entries", &form).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        api.push(t.elapsed());
    }
    let (p50, p95, max) = percentiles(api);
    println!("queue (server function, 100 rows a page): p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms   [target p95 <= 100 ms]");
    let mut page = Vec::new();
    for i in 0..200usize {
        let url = format!(
            "{}?campaign={campaign}&page={}&flag={}",
            app::paths::ACCESS_REVIEW,
            (i as i64 * 37) % pages + 1,
            if i % 2 == 0 { "" } else { "none" }
        );
        let t = Instant::now();
        let r = app.get(&member, &url).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        page.push(t.elapsed());
    }
    let (p50, p95, max) = percentiles(page);
    println!("queue (whole server-rendered page): p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms   [target p95 <= 100 ms]");

    // Bulk: keep every non-privileged account with MFA used in the last 30 days.
    let form = [
        ("filter[campaign]", campaign.to_string()),
        ("filter[flag]", "none".into()),
        ("filter[mfa]", "true".into()),
        ("filter[used_within]", "30".into()),
        ("decision", "keep".into()),
        ("note", String::new()),
    ];
    let t = Instant::now();
    let kept = ok(&app, &member, "/api/bulk_decide_access_entries", &form).await;
    println!(
        "bulk keep over a filter: {kept} entries in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    // The rest: admins revoked, everyone else kept, in two more bulk decisions.
    let form = [
        ("filter[campaign]", campaign.to_string()),
        ("filter[flag]", "privileged".into()),
        ("decision", "revoke".into()),
        ("note", "no standing admin".into()),
    ];
    let revoked = ok(&app, &member, "/api/bulk_decide_access_entries", &form).await;
    let form = [
        ("filter[campaign]", campaign.to_string()),
        ("decision", "keep".into()),
        ("note", String::new()),
    ];
    ok(&app, &member, "/api/bulk_decide_access_entries", &form).await;
    let t = Instant::now();
    let items = ok(
        &app,
        &co,
        "/api/close_access_review",
        &[("id", campaign.to_string())],
    )
    .await;
    println!(
        "close the review ({items} remediation items, {revoked} revoked): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    // The admins removed: the next snapshot verifies every item.
    let without: String = accounts(n, today)
        .lines()
        .filter(|l| !l.contains(",admin,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&file, without).unwrap();
    let t = Instant::now();
    app.cli(&["import-accounts", "--system", "CRM", file.to_str().unwrap()]);
    println!(
        "next snapshot, verifying {items} items: {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    ok(
        &app,
        &co,
        "/api/complete_access_campaign",
        &[("id", campaign.to_string())],
    )
    .await;
    println!(
        "sign-off (report of {n} accounts stored as evidence): {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("STEWARD_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let pg = std::env::var("STEWARD_BENCH_PG").unwrap_or_default();
    if pg != "only" {
        run(Backend::Sqlite, n).await;
    }
    if pg == "1" || pg == "only" {
        run(Backend::Postgres, n).await;
    }
}
