//! The binary: bounded memory for made-up requests and hostile cost files; secrets, demo
//! users and a closed stdout.

use super::super::*;
use std::time::{Duration, Instant};

// --- The binary: bounded memory for made-up requests and hostile cost files. ---------------

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn series(base: &str) -> Vec<String> {
    reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth("metrics-token-for-this-test")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("steward_http_requests_total{"))
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(labels, _)| labels)
                .to_string()
        })
        .collect()
}

async fn random_requests(base: &str, n: usize) {
    use rand::Rng;
    let c = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (c, base) = (c.clone(), base.to_string());
        tasks.spawn(async move {
            for _ in 0..n / 8 {
                let (method, path) = {
                    let mut rng = rand::thread_rng();
                    let method: String = (0..10)
                        .map(|_| rng.gen_range(b'A'..=b'Z') as char)
                        .collect();
                    let path = format!("/{w}/{:016x}/{:08x}", rng.gen::<u64>(), rng.gen::<u32>());
                    (method, path)
                };
                let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let _ = c.request(m, format!("{base}{path}")).send().await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_and_paths_leave_metrics_and_memory_flat() {
    let server = steward_tests::SpawnedServer::spawn(
        &[],
        &[
            ("STEWARD_METRICS_TOKEN", "metrics-token-for-this-test"),
            ("STEWARD_LOG_LEVEL", "warn"),
        ],
    )
    .await;
    let base = server.base.clone();
    random_requests(&base, 2_000).await;
    series(&base).await; // the scrape's own series appears from the next scrape on
    let (series_before, rss_before) = (series(&base).await, rss_kib(server.pid()));
    random_requests(&base, 10_000).await;
    let (series_after, rss_after) = (series(&base).await, rss_kib(server.pid()));
    drop(server);
    assert_eq!(
        series_after, series_before,
        "made-up requests add no series"
    );
    assert!(
        rss_after <= rss_before + 2048,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
}

/// A FOCUS header and one good row (from the shipped sample), then `rest`.
fn focus_start() -> Vec<u8> {
    let csv = std::fs::read(costs_fixture_sample()).unwrap();
    let second = csv
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    csv[..second].to_vec()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Runs `steward import-costs FILE`; its exit status, stderr and peak RSS (KiB).
async fn import_cli(db: &steward_tests::TestDb, file: &std::path::Path) -> (bool, String, u64) {
    let err_path = file.with_extension("stderr");
    let mut child = std::process::Command::new(steward_tests::steward_bin())
        .args(["import-costs", &file.to_string_lossy()])
        .env("DATABASE_URL", &db.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let (status, peak) = steward_tests::wait_with_peak_rss(&mut child);
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(err_path);
    (status.success(), err, peak)
}

async fn hostile_cost_files(backend: Backend) {
    let Some(db) = steward_tests::TestDb::new(backend).await else {
        return;
    };
    let dir = db.data_dir();
    // A decompression bomb: gzip members of a mebibyte of blank lines, 300 times (0.3 MiB
    // that inflates to 300 MiB), after a valid start.
    let member = gzip(&vec![b'\n'; 1 << 20]);
    let mut bomb = gzip(&focus_start());
    for _ in 0..300 {
        bomb.extend_from_slice(&member);
    }
    let path = dir.join("bomb.csv.gz");
    std::fs::write(&path, &bomb).unwrap();
    let started = Instant::now();
    let (ok, err, peak) = import_cli(&db, &path).await;
    assert!(!ok, "a bomb is refused");
    assert!(err.contains("possible decompression bomb"), "{err}");
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    assert!(started.elapsed() < Duration::from_secs(60));
    // One field of 100 MB (an unclosed quote, or a bomb of one value).
    let mut huge = focus_start();
    huge.extend_from_slice(b"\"");
    huge.extend(std::iter::repeat_n(b'0', 100_000_000));
    let path = dir.join("huge-field.csv");
    std::fs::write(&path, &huge).unwrap();
    let (ok, err, peak) = import_cli(&db, &path).await;
    assert!(!ok);
    assert!(
        err.contains("row 2 (line 3): the record is larger than 4 MiB"),
        "{err}"
    );
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    // The same as a .gz of one 100 MB field.
    let path = dir.join("huge-field.csv.gz");
    std::fs::write(&path, gzip(&huge)).unwrap();
    let (ok, err, peak) = import_cli(&db, &path).await;
    assert!(!ok);
    assert!(err.contains("the record is larger than 4 MiB"), "{err}");
    assert!(peak < 150 * 1024, "peak RSS {peak} KiB");
    // Nothing was written.
    let pool = db.pool().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cost_batches")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cost_files_are_refused_in_bounded_memory_sqlite() {
    hostile_cost_files(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cost_files_are_refused_in_bounded_memory_postgres() {
    hostile_cost_files(Backend::Postgres).await;
}

#[test]
fn secrets_are_not_printed_by_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"][..],
        &["verify-audit", "--help"][..],
    ] {
        let out = std::process::Command::new(steward_tests::steward_bin())
            .args(args)
            .env(
                "DATABASE_URL",
                "postgres://steward:PASSWORD-XYZZY@db.internal/steward",
            )
            .env("STEWARD_METRICS_TOKEN", "TOKEN-PLUGH")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{args:?}");
        assert!(text.contains("DATABASE_URL"), "{text}");
        assert!(!text.contains("PASSWORD-XYZZY"), "{args:?}: {text}");
        assert!(!text.contains("TOKEN-PLUGH"), "{args:?}: {text}");
    }
}

/// `steward serve` on an empty database: the first-run box it prints.
async fn first_run_banner(extra: &[&str], env: &[(&str, &str)]) -> String {
    steward_tests::SpawnedServer::spawn(extra, env)
        .await
        .banner
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_users_only_when_asked_for() {
    let plain = first_run_banner(&[], &[]).await;
    assert!(
        steward_tests::banner_password(&plain, "admin").is_some(),
        "{plain}"
    );
    for demo in ["compliance", "finance", "auditor"] {
        assert!(
            steward_tests::banner_password(&plain, demo).is_none(),
            "{plain}"
        );
    }
    for (args, env) in [
        (&["--demo"][..], &[][..]),
        (&[][..], &[("STEWARD_DEMO", "true")][..]),
    ] {
        let demo = first_run_banner(args, env).await;
        for user in ["admin", "compliance", "finance", "auditor"] {
            assert!(
                steward_tests::banner_password(&demo, user).is_some(),
                "{demo}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_whoever_started_it_no_longer_reading() {
    use std::io::BufReader;
    let mut server = steward_tests::SpawnedServer::start(&["--demo"], &[]);
    // Read one line of the first-run box, then close the pipe: the rest goes nowhere.
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut BufReader::new(server.child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    server.wait_ready().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alive = server.child.try_wait().unwrap().is_none();
    let health = reqwest::get(server.url("/healthz"))
        .await
        .map(|r| r.status().as_u16());
    drop(server);
    assert!(alive, "steward serve died when its stdout closed");
    assert_eq!(health.ok(), Some(200));
}
