//! Foundation benchmark: starts the release `steward serve` (SQLite, fresh data dir) and prints
//! idle RSS, sign-in latency (argon2-dominated), page latency, RSS after load, and the browser
//! bundle's size. Run `scripts/build.sh --release` first.

use std::process::Command;
use std::time::{Duration, Instant};
use steward_tests::{release_bin, SpawnedServer};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    (p(0.5), p(0.95), ms(*v.last().unwrap()))
}

/// `n` sequential GETs of `url`, each read to the end and required to be 200.
async fn timed_gets(c: &reqwest::Client, url: &str, n: usize) -> Vec<Duration> {
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = c.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        r.bytes().await.unwrap();
        took.push(t.elapsed());
    }
    took
}

#[tokio::main]
async fn main() {
    let bin = release_bin().expect("target/release/steward: run scripts/build.sh --release first");
    let mut server =
        SpawnedServer::spawn_with(&bin, &[], &[("STEWARD_LOG_LEVEL", "warn")], |_| {}).await;
    let base = server.base.clone();
    let password = server.password("admin");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(server.pid());

    // Sign-in: each one a new client, as a person signing in.
    let mut logins = Vec::new();
    let mut signed_in = None;
    for _ in 0..30 {
        let c = server.client();
        let t = Instant::now();
        let r = server.login(&c, "admin", &password).await;
        assert_eq!(r.status(), 200);
        logins.push(t.elapsed());
        signed_in = Some(c);
    }
    let c = signed_in.unwrap();
    // Warm up, then time pages one request at a time.
    timed_gets(&c, &format!("{base}/"), 20).await;
    let dash = timed_gets(&c, &format!("{base}/"), 300).await;
    let anon = reqwest::Client::new();
    let plain = timed_gets(&anon, &format!("{base}/login"), 300).await;
    let health = timed_gets(&anon, &format!("{base}/healthz"), 300).await;
    let loaded = rss_kib(server.pid());
    server.terminate();
    drop(server);

    let wasm = bin.parent().unwrap().join("../site/pkg/steward.wasm");
    let raw = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
    let gz = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -9 -c '{}' | wc -c", wasm.display()))
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0);
    let js = std::fs::metadata(bin.parent().unwrap().join("../site/pkg/steward.js"))
        .map(|m| m.len())
        .unwrap_or(0);

    println!(
        "steward foundation benchmark (release build, SQLite, {} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "  idle server RSS                 {:>8.1} MiB",
        idle as f64 / 1024.0
    );
    let (p50, p95, max) = percentiles(logins);
    println!("  sign-in (argon2id m=19MiB t=2)  p50 {p50:>7.1} ms   p95 {p95:>7.1} ms   max {max:>7.1} ms   (n=30)");
    let (p50, p95, max) = percentiles(dash);
    println!("  dashboard page, signed in       p50 {p50:>7.2} ms   p95 {p95:>7.2} ms   max {max:>7.2} ms   (n=300)");
    let (p50, p95, max) = percentiles(plain);
    println!("  sign-in page, anonymous         p50 {p50:>7.2} ms   p95 {p95:>7.2} ms   max {max:>7.2} ms   (n=300)");
    let (p50, p95, max) = percentiles(health);
    println!("  /healthz                        p50 {p50:>7.2} ms   p95 {p95:>7.2} ms   max {max:>7.2} ms   (n=300)");
    println!(
        "  server RSS after the load       {:>8.1} MiB",
        loaded as f64 / 1024.0
    );
    println!(
        "  wasm bundle                     {:>8.1} KiB raw, {:.1} KiB gzip; JS loader {:.1} KiB",
        raw as f64 / 1024.0,
        gz as f64 / 1024.0,
        js as f64 / 1024.0
    );
}
