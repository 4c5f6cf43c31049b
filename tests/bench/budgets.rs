//! Budgets benchmark: 1,000 budgets over an N-row FOCUS file (default 10,000,000 over twelve
//! months; `STEWARD_BENCH_ROWS`, `STEWARD_BENCH_BUDGETS` to change; `STEWARD_BENCH_PG=1` adds
//! a PostgreSQL run, `STEWARD_BENCH_PG=only` runs PostgreSQL alone). Imports the file into a test server's database, imports the budgets
//! (scopes by service, sub-account, region, tag, service and region, billing account; monthly,
//! quarterly, annual), puts the server's clock on 20 September 2024 and prints:
//! - evaluating every budget after the import (the first evaluation raises and notifies the
//!   alerts; the second finds nothing new), target at most 1 s;
//! - the finance budget list (`/api/list_budgets`, the whole request): the first after a
//!   change (every budget summed) and p50 / p95 / max of the next 200, target p95 at most 50 ms.
//!
//! Figures: see docs/performance.md, measured on the 2-core development machine.

#[path = "gen_focus.rs"]
mod gen_focus;

use app::policy::Role;
use std::time::{Duration, Instant};
use steward_tests::{Backend, TestApp};

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    (p(0.5), p(0.95), ms(*v.last().unwrap()))
}

async fn distinct(app: &TestApp, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(app.state().app.db.pool())
        .await
        .unwrap()
}

/// `n` budgets over the dimensions the data has, owned by finance.
async fn budgets_csv(app: &TestApp, n: usize) -> String {
    let services = distinct(
        app,
        "SELECT DISTINCT service_name FROM cost_daily ORDER BY 1",
    )
    .await;
    let accounts = distinct(
        app,
        "SELECT DISTINCT sub_account_id FROM cost_daily ORDER BY 1",
    )
    .await;
    let regions = distinct(app, "SELECT DISTINCT region_id FROM cost_daily ORDER BY 1").await;
    let billing = distinct(
        app,
        "SELECT DISTINCT billing_account_id FROM cost_daily ORDER BY 1",
    )
    .await;
    let tags = distinct(
        app,
        "SELECT DISTINCT tag_key || '=' || tag_value FROM cost_daily_tags ORDER BY 1",
    )
    .await;
    let mut out = String::from(
        "name,owner,period,amount,currency,start,provider,billing_account,sub_account,service,region,tag\n",
    );
    for i in 0..n {
        let pick = |v: &Vec<String>| v[i % v.len()].clone();
        // Amounts from 100 to 1,000,000: some budgets breach, most do not.
        let amount = 10u64.pow(2 + (i % 5) as u32) * (1 + (i as u64 * 7) % 9);
        let (period, start, scope) = match i % 6 {
            0 => ("monthly", "2024-01", format!(",,,{},,", pick(&services))),
            1 => ("monthly", "2024-01", format!(",,{},,,", pick(&accounts))),
            2 => (
                "quarterly",
                "2024-01",
                format!("AWS,,,,{},", pick(&regions)),
            ),
            3 => ("monthly", "2024-01", format!(",,,,,{}", pick(&tags))),
            4 => (
                "monthly",
                "2024-01",
                format!(",,,{},{},", pick(&services), pick(&regions)),
            ),
            _ => ("annual", "2023-10", format!(",{},,,,", pick(&billing))),
        };
        out.push_str(&format!(
            "budget-{i:04},finance,{period},{amount},USD,{start},{scope}\n"
        ));
    }
    out
}

async fn run(backend: Backend, rows: u64, budgets: usize) {
    let Some(app) = TestApp::spawn(backend).await else {
        println!("{backend:?}: no database, skipped");
        return;
    };
    println!("--- {backend:?}: {rows} cost rows, {budgets} budgets");
    let dir = app.db.data_dir();
    let csv = dir.join("focus.csv");
    let t = Instant::now();
    gen_focus::gen_focus(&csv, rows, 12).unwrap();
    println!("generated in {:.1} s", t.elapsed().as_secs_f64());
    let st = app.state().app.clone();
    let ctx = server::bootstrap::system_ctx(&st.clock, "bench");
    let t = Instant::now();
    app::costs::import::import_file(&st.db, &csv, ctx.clone(), |_| {})
        .await
        .unwrap();
    println!("imported in {:.1} s", t.elapsed().as_secs_f64());
    let _ = std::fs::remove_file(&csv);
    app.user(Role::Finance).await;
    let rows = budgets_csv(&app, budgets).await;
    let parsed = app::budgets::csvio::parse(rows.as_bytes()).unwrap();
    let now = st.clock.now();
    app::budgets::store::import(&st.db, &ctx, "bench.csv", &parsed, now)
        .await
        .unwrap();
    st.clock
        .advance(time::macros::datetime!(2024-09-20 12:00 UTC) - st.clock.now());

    let t = Instant::now();
    st.cost_cube.snapshot(&st.db).await.unwrap();
    println!(
        "cube loaded in {:.0} ms ({} rollup rows)",
        t.elapsed().as_secs_f64() * 1000.0,
        st.cost_cube.size().0
    );
    let evaluate = || async {
        let t = Instant::now();
        let e = app::budgets::alerts::evaluate_all(
            &st.db,
            &st.cost_cube,
            &ctx,
            st.clock.now(),
            time::Duration::days(3),
        )
        .await
        .unwrap();
        (t.elapsed(), e)
    };
    let (first, e) = evaluate().await;
    println!(
        "evaluation after the import: {:.0} ms ({})   [target <= 1000 ms]",
        first.as_secs_f64() * 1000.0,
        e.to_text()
    );
    let (again, e) = evaluate().await;
    println!(
        "evaluation with nothing new: {:.0} ms ({})",
        again.as_secs_f64() * 1000.0,
        e.to_text()
    );

    let fin = app.client_as(Role::Finance).await;
    let list = || async {
        let t = Instant::now();
        let r = app
            .call(&fin, "/api/list_budgets", &[("filter[state]", "")])
            .await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        t.elapsed()
    };
    let cold = list().await;
    let times: Vec<Duration> = {
        let mut v = Vec::new();
        for _ in 0..200 {
            v.push(list().await);
        }
        v
    };
    let (p50, p95, max) = percentiles(times);
    println!(
        "budget list: first after a change {:.0} ms; then p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms   [target p95 <= 50 ms]",
        cold.as_secs_f64() * 1000.0
    );
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let rows: u64 = std::env::var("STEWARD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let budgets: usize = std::env::var("STEWARD_BENCH_BUDGETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // STEWARD_BENCH_PG: 1 adds PostgreSQL, `only` runs it alone.
    let pg = std::env::var("STEWARD_BENCH_PG").unwrap_or_default();
    if pg != "only" {
        run(Backend::Sqlite, rows, budgets).await;
    }
    if pg == "1" || pg == "only" {
        run(Backend::Postgres, rows, budgets).await;
    }
}
