//! Cost report benchmark: generates an N-row FOCUS file over twelve months (default 10,000,000;
//! `STEWARD_BENCH_ROWS` to change), imports it with the release `steward import-costs` into a
//! fresh SQLite database, starts the release `steward serve` on it and times the cost
//! explorer's server function (the whole request: session, the cube's sums, chart geometry,
//! JSON) for the reports finance runs most, filtered and not. Prints the first request (which
//! loads the rollups into the server's cube) and p50 / p95 / max per report, the cube's memory
//! per million line items, then restarts the server and times the first report again (the
//! cube's segments come back from their files). Targets at 10M rows: p95 at most 50 ms; the
//! first report after a restart within 1 s of start. Run `scripts/build.sh --release` first.
//!
//! Figures: see README.md ("Performance"), measured on the 2-core development machine.

#[path = "gen_focus.rs"]
mod gen_focus;

use std::process::Command;
use std::time::{Duration, Instant};
use steward_tests::{free_port, SpawnedServer};

/// A process's resident memory, from /proc.
fn rss_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.trim_start_matches("VmRSS:").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    (p(0.5), p(0.95), ms(*v.last().unwrap()))
}

/// September's report, as the explorer first asks for it.
async fn first_report(c: &reqwest::Client, base: &str) {
    let r = c
        .post(format!("{base}/api/cost_report"))
        .header("Origin", base)
        .header("Accept", "application/json")
        .form(&[("query[from]", "2024-09-01"), ("query[to]", "2024-09-30")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
}

#[tokio::main]
async fn main() {
    let rows: u64 = std::env::var("STEWARD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .ancestors()
        .map(|p| p.join("release/steward"))
        .find(|p| p.is_file())
        .expect("target/release/steward: run scripts/build.sh --release first");
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("steward-report-bench-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("focus.csv");
    let t = Instant::now();
    let size = gen_focus::gen_focus(&csv, rows, 12).unwrap();
    println!(
        "generated {rows} rows over 12 months ({:.0} MiB) in {:.1} s",
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let db = format!("sqlite://{}", dir.join("steward.db").display());
    let t = Instant::now();
    let out = Command::new(&bin)
        .args(["import-costs", csv.to_str().unwrap()])
        .env("DATABASE_URL", &db)
        .env("STEWARD_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "imported in {:.1} s ({:.0} rows/s)",
        t.elapsed().as_secs_f64(),
        rows as f64 / t.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&csv);

    let mut server = SpawnedServer::spawn_with(
        &bin,
        &[],
        &[
            ("DATABASE_URL", db.as_str()),
            ("STEWARD_DATA_DIR", dir.to_str().expect("a UTF-8 path")),
            ("STEWARD_LOG_LEVEL", "warn"),
        ],
        |_| {},
    )
    .await;
    server.drain_stdout();
    let base = server.base.clone();
    let c = server.client();
    let r = server.login(&c, "admin", &server.password("admin")).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let (rollups, tags) = {
        let out = Command::new("sqlite3")
            .arg(dir.join("steward.db"))
            .arg("SELECT (SELECT COUNT(*) FROM cost_daily) || ' ' || (SELECT COUNT(*) FROM cost_daily_tags)")
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
                let mut it = s.split(' ');
                (
                    it.next().unwrap_or("?").to_string(),
                    it.next().unwrap_or("?").to_string(),
                )
            }
            _ => ("?".into(), "?".into()),
        }
    };
    println!("daily rollup rows: {rollups}; tag rollup rows: {tags}");
    // The first report after the import loads the rollups into the server's cube.
    let t = Instant::now();
    first_report(&c, &base).await;
    println!(
        "first report (loads the cube): {:.0} ms; server RSS after: {}",
        t.elapsed().as_secs_f64() * 1000.0,
        rss_of(server.pid())
    );
    let reports: &[(&str, &[(&str, &str)])] = &[
        (
            "month by service, daily",
            &[
                ("from", "2024-09-01"),
                ("to", "2024-09-30"),
                ("granularity", "daily"),
                ("group_by", "service"),
            ],
        ),
        (
            "quarter by account, daily",
            &[
                ("from", "2024-07-01"),
                ("to", "2024-09-30"),
                ("granularity", "daily"),
                ("group_by", "account"),
            ],
        ),
        (
            "year by region, monthly",
            &[
                ("from", "2023-10-01"),
                ("to", "2024-09-30"),
                ("granularity", "monthly"),
                ("group_by", "region"),
            ],
        ),
        (
            "month by tag business_unit, daily",
            &[
                ("from", "2024-09-01"),
                ("to", "2024-09-30"),
                ("granularity", "daily"),
                ("group_by", "tag:business_unit"),
            ],
        ),
        (
            "year by service, monthly, one region",
            &[
                ("from", "2023-10-01"),
                ("to", "2024-09-30"),
                ("granularity", "monthly"),
                ("group_by", "service"),
                ("region", "eu-west-1"),
            ],
        ),
        (
            "quarter by region, daily, one account",
            &[
                ("from", "2024-07-01"),
                ("to", "2024-09-30"),
                ("granularity", "daily"),
                ("group_by", "region"),
                ("account", "100000000007"),
            ],
        ),
        (
            "year by tag business_unit, monthly, one service",
            &[
                ("from", "2023-10-01"),
                ("to", "2024-09-30"),
                ("granularity", "monthly"),
                ("group_by", "tag:business_unit"),
                ("service", "Amazon Simple Storage Service"),
            ],
        ),
        (
            "year by service, daily",
            &[
                ("from", "2023-10-01"),
                ("to", "2024-09-30"),
                ("granularity", "daily"),
                ("group_by", "service"),
            ],
        ),
    ];
    println!(
        "{:<40} {:>9} {:>9} {:>9}",
        "report (30 runs each)", "p50 ms", "p95 ms", "max ms"
    );
    let mut worst: f64 = 0.0;
    for (label, q) in reports {
        let form: Vec<(String, String)> = q
            .iter()
            .map(|(k, v)| (format!("query[{k}]"), v.to_string()))
            .collect();
        let mut took = Vec::new();
        for i in 0..33 {
            let t = Instant::now();
            let r = c
                .post(format!("{base}/api/cost_report"))
                .header("Origin", &base)
                .header("Accept", "application/json")
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{label}");
            r.bytes().await.unwrap();
            if i >= 3 {
                took.push(t.elapsed()); // the first runs warm the page cache
            }
        }
        let (p50, p95, max) = percentiles(took);
        worst = worst.max(p95);
        println!("{label:<40} {p50:>9.1} {p95:>9.1} {max:>9.1}");
    }
    println!("worst p95: {worst:.1} ms (target <= 50 ms)");
    println!("server RSS at the end: {}", rss_of(server.pid()));

    // The cube's memory, as it counts its own heap bytes (`/metrics`).
    let r = c.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200, "metrics");
    let metrics = r.text().await.unwrap();
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    };
    let (cube_rows, cube_bytes) = (
        gauge("steward_cost_cube_rows"),
        gauge("steward_cost_cube_bytes"),
    );
    println!(
        "cube: {cube_rows:.0} rollup rows in {:.1} MiB = {:.1} MiB per million line items",
        cube_bytes / 1048576.0,
        cube_bytes / 1048576.0 / (rows as f64 / 1e6)
    );

    // Cold start: the same database and data folder after a restart. The cube's segments
    // come back from its files (written after the first load).
    let admin = server.password("admin");
    drop(server);
    let started = Instant::now();
    // No first-run box this time: nothing to read from its output.
    let server = SpawnedServer::start_with(
        &bin,
        &[],
        &[
            ("DATABASE_URL", db.as_str()),
            ("STEWARD_DATA_DIR", dir.to_str().expect("a UTF-8 path")),
            ("STEWARD_LOG_LEVEL", "warn"),
        ],
        |cmd| {
            cmd.stdout(std::process::Stdio::null());
        },
    );
    server.wait_ready().await;
    let listening = started.elapsed();
    let base = server.base.clone();
    let c = server.client();
    let r = server.login(&c, "admin", &admin).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let t = Instant::now();
    first_report(&c, &base).await;
    println!(
        "after a restart: listening in {:.0} ms; first report {:.0} ms, answered {:.0} ms after \
         start (target <= 1 s); server RSS {}",
        listening.as_secs_f64() * 1000.0,
        t.elapsed().as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() * 1000.0,
        rss_of(server.pid())
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
