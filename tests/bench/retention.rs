//! Retention benchmark: Steward's own data job over 1,000,000 cost line items
//! (`STEWARD_BENCH_ROWS` to change; `STEWARD_BENCH_PG=1` adds a PostgreSQL run, `only` runs it
//! alone). Prints the dry run's time, the job's time and rows per second, and, measured by a
//! writer committing an audited change every 20 ms while the job runs, how long other writes
//! waited (p50 / p95 / max): the job takes the write lock one batch of 2,000 rows at a time,
//! so no write waits for the whole job.
//!
//! Figures: see docs/performance.md, measured on the 2-core development machine.

#[path = "gen_focus.rs"]
mod gen_focus;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use steward_tests::{Backend, TestApp};

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    (p(0.5), p(0.95), ms(*v.last().unwrap()))
}

async fn run(backend: Backend, rows: u64) {
    let Some(app) = TestApp::spawn(backend).await else {
        println!("{backend:?}: no database, skipped");
        return;
    };
    println!("--- {backend:?}: {rows} cost line items");
    let csv = app.db.data_dir().join("focus.csv");
    gen_focus::gen_focus(&csv, rows, 12).unwrap();
    let st = app.state().app.clone();
    let ctx = server::bootstrap::system_ctx(&st.clock, "bench");
    let t = Instant::now();
    app::costs::import::import_file(&st.db, &csv, ctx.clone(), |_| {})
        .await
        .unwrap();
    println!("imported in {:.1} s", t.elapsed().as_secs_f64());
    let _ = std::fs::remove_file(&csv);
    // Eight years on, the default rule (seven years) has every line item due.
    st.clock.advance(time::Duration::days(8 * 366));
    let now = st.clock.now();
    let ctx = server::bootstrap::system_ctx(&st.clock, "retention");
    let env = app::retention::own::Env {
        db: &st.db,
        blobs: st.blobs.as_ref(),
        ctx: &ctx,
        audit_min_days: st.audit_min_days,
    };
    let t = Instant::now();
    let plan = app::retention::own::plan(&st.db, now, st.audit_min_days)
        .await
        .unwrap();
    let due: i64 = plan.iter().map(|l| l.count).sum();
    println!(
        "dry run: {due} rows due in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop, clock) = (st.db.clone(), stop.clone(), st.clock.clone());
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let ctx = server::bootstrap::system_ctx(&clock, "bench");
                let t = Instant::now();
                let mut tx = db.write().await.unwrap();
                tx.audit(ctx.event("bench.write", "bench", 1, "a change during the job"))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                waits.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            waits
        })
    };
    let t = Instant::now();
    let done = app::retention::own::run(&env, now, false).await.unwrap();
    let took = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let waits = writer.await.unwrap();
    let removed: i64 = done.iter().map(|l| l.count).sum();
    assert_eq!(removed, due, "the job removes what the dry run listed");
    println!(
        "job: {removed} rows in {took:.1} s ({:.0} rows/s, {} batches)",
        removed as f64 / took,
        (removed + 1999) / 2000
    );
    let (p50, p95, max) = percentiles(waits.clone());
    println!(
        "other writes during the job ({}): wait p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms",
        waits.len()
    );
    let check = app::audit::chain::verify(&st.db).await.unwrap();
    println!("audit chain after the job: {check:?}");
    app.stop().await;
}

#[tokio::main]
async fn main() {
    let rows: u64 = std::env::var("STEWARD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let pg = std::env::var("STEWARD_BENCH_PG").unwrap_or_default();
    if pg != "only" {
        run(Backend::Sqlite, rows).await;
    }
    if !pg.is_empty() {
        run(Backend::Postgres, rows).await;
    }
}
