//! Evidence upload benchmark: starts `steward serve` (the release build when present; SQLite,
//! fresh data dir), signs in, uploads a generated 1 GiB file streamed from this client (one
//! 1 MiB block sent 1024 times, so the client does not hold the file either), then downloads
//! it (hash-checked before sending). Prints throughput and the server's peak RSS (VmHWM).
//! Run: `cargo build --release -p server && cargo bench -p steward-tests --bench evidence_upload`.

use futures_util::StreamExt;
use std::time::Instant;
use steward_tests::{release_bin, SpawnedServer};

const MIB: usize = 1024 * 1024;
const FILE_MIB: usize = 1024;
const BOUNDARY: &str = "----steward-bench-5b2e";

fn proc_status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// A 1 MiB block of pseudo-random bytes (xorshift), starting like a PDF so the type check
/// accepts it; the rest of the file repeats a variant of it.
fn block(first: bool) -> bytes::Bytes {
    let mut v = Vec::with_capacity(MIB);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while v.len() < MIB {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    if first {
        v[..9].copy_from_slice(b"%PDF-1.7\n");
    }
    bytes::Bytes::from(v)
}

#[tokio::main]
async fn main() {
    let (bin, build) = match release_bin() {
        Some(b) => (b, "release"),
        None => (
            steward_tests::steward_bin(),
            "debug (no release build found)",
        ),
    };
    let mut server = SpawnedServer::spawn_with(
        &bin,
        &[],
        &[
            ("STEWARD_LOG_LEVEL", "warn"),
            ("STEWARD_MAX_UPLOAD_MB", "2048"),
        ],
        |_| {},
    )
    .await;
    let (base, dir, pid) = (server.base.clone(), server.data_dir.clone(), server.pid());

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", dir.join("steward.db").display()))
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let control: i64 = sqlx::query_scalar(
        "INSERT INTO controls (ref, title, created_at, updated_at) VALUES ('BENCH-1', 'Benchmark', $1, $1) RETURNING id",
    )
    .bind(app::util::ts(now))
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;

    let c = server.client_as("admin").await;
    let idle_rss = proc_status_kib(pid, "VmRSS:");
    let hwm_before = proc_status_kib(pid, "VmHWM:");

    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nBenchmark 1 GiB\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"controls\"\r\n\r\n{control}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"effective_date\"\r\n\r\n{}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n",
        now.date()
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let total = (head.len() + FILE_MIB * MIB + tail.len()) as u64;
    let (first, rest) = (block(true), block(false));
    let parts = futures_util::stream::iter(
        std::iter::once(bytes::Bytes::from(head))
            .chain(std::iter::once(first))
            .chain(std::iter::repeat_n(rest, FILE_MIB - 1))
            .chain(std::iter::once(bytes::Bytes::from(tail))),
    )
    .map(Ok::<_, std::io::Error>);
    let t = Instant::now();
    let r = c
        .post(format!("{base}/upload/evidence"))
        .header("Origin", &base)
        .header("Accept", "application/json")
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("Content-Length", total)
        .body(reqwest::Body::wrap_stream(parts))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    let upload_secs = t.elapsed().as_secs_f64();
    assert_eq!(status, 201, "{body}");
    let hwm_upload = proc_status_kib(pid, "VmHWM:");

    let id = body["evidence_id"].as_i64().unwrap();
    let t = Instant::now();
    let r = c
        .get(format!("{base}/evidence/{id}/versions/1/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    let mut got = 0usize;
    while let Some(chunk) = stream.next().await {
        got += chunk.unwrap().len();
    }
    let download_secs = t.elapsed().as_secs_f64();
    assert_eq!(got, FILE_MIB * MIB);
    let hwm_after = proc_status_kib(pid, "VmHWM:");

    server.terminate();
    drop(server);

    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "steward evidence upload benchmark ({build} build, SQLite, {} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "  server RSS, signed in, idle      {:>8.1} MiB",
        mib(idle_rss)
    );
    println!(
        "  upload {FILE_MIB} MiB (stream, hash, fsync, rename, commit)  {:>7.2} s  {:>7.1} MiB/s",
        upload_secs,
        FILE_MIB as f64 / upload_secs
    );
    println!(
        "  download {FILE_MIB} MiB (verify hash, then stream)          {:>7.2} s  {:>7.1} MiB/s",
        download_secs,
        FILE_MIB as f64 / download_secs
    );
    println!(
        "  server peak RSS (VmHWM): before {:.1} MiB, after upload {:.1} MiB, after download {:.1} MiB (target < 64 MiB)",
        mib(hwm_before),
        mib(hwm_upload),
        mib(hwm_after)
    );
}
