//! Evidence export benchmark: 1 GiB of evidence (64 files of 16 MiB, incompressible; set
//! `STEWARD_BENCH_EXPORT_MIB` to change the total) in a fresh SQLite installation, exported
//! with `steward export-evidence` (the release build when present), beside `zip -0 -r` over
//! the same files. Prints throughput, the ratio (target at least 50%) and the peak RSS of the
//! export and of `steward verify-export` (target under 64 MiB).
//! Run: `cargo build --release -p server && scripts/bench-tools.sh &&
//! cargo bench -p steward-tests --bench exports`.

use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use steward_tests::{release_bin, wait_with_peak_rss, SpawnedServer};

const MIB: usize = 1024 * 1024;
const FILE_MIB: usize = 16;

/// `FILE_MIB` of xorshift bytes, different per `seed`, starting like a PDF.
fn file_bytes(seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(FILE_MIB * MIB);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    while v.len() < FILE_MIB * MIB {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v[..9].copy_from_slice(b"%PDF-1.7\n");
    v
}

fn run_measured(cmd: &mut Command) -> (f64, u64, String) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (status, peak_kib) = wait_with_peak_rss(&mut child);
    let secs = start.elapsed().as_secs_f64();
    let out = child.wait_with_output().expect("output");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{cmd:?}: {text}");
    (secs, peak_kib, text)
}

#[tokio::main]
async fn main() {
    let total_mib: usize = std::env::var("STEWARD_BENCH_EXPORT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let files = (total_mib / FILE_MIB).max(1);
    let (bin, build) = match release_bin() {
        Some(b) => (b, "release"),
        None => (
            steward_tests::steward_bin(),
            "debug (no release build found)",
        ),
    };
    // A real first run makes the database, the signing key and the blob store.
    let mut server =
        SpawnedServer::spawn_with(&bin, &[], &[("STEWARD_LOG_LEVEL", "warn")], |_| {}).await;
    let dir = server.data_dir.clone();
    server.terminate();
    let db_url = format!("sqlite://{}", dir.join("steward.db").display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db_url).await.unwrap();
    let now = app::util::ts(time::OffsetDateTime::now_utc());
    let today = time::OffsetDateTime::now_utc().date();
    let fw: i64 = sqlx::query_scalar(
        "INSERT INTO frameworks (key, name, version, source_format, source_name, source_sha256, imported_at, updated_at) \
         VALUES ('bench', 'Benchmark', '1', 'csv', 'bench.csv', '', $1, $1) RETURNING id",
    )
    .bind(&now)
    .fetch_one(&pool)
    .await
    .unwrap();
    let plain = dir.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let gen_start = Instant::now();
    for i in 0..files {
        let req: i64 = sqlx::query_scalar(
            "INSERT INTO requirements (framework_id, ref, label, title, sort_order) VALUES ($1, $2, $2, 'Requirement', $3) RETURNING id",
        )
        .bind(fw)
        .bind(format!("R-{i}"))
        .bind(i as i64)
        .fetch_one(&pool)
        .await
        .unwrap();
        let ctl: i64 = sqlx::query_scalar(
            "INSERT INTO controls (ref, title, created_at, updated_at) VALUES ($1, 'Control', $2, $2) RETURNING id",
        )
        .bind(format!("C-{i}"))
        .bind(&now)
        .fetch_one(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO control_requirements (control_id, requirement_id, created_at) VALUES ($1, $2, $3)")
            .bind(ctl)
            .bind(req)
            .bind(&now)
            .execute(&pool)
            .await
            .unwrap();
        let bytes = file_bytes(i as u64);
        let sha = hex::encode(Sha256::digest(&bytes));
        let blob = dir.join("blobs").join(&sha[..2]);
        std::fs::create_dir_all(&blob).unwrap();
        std::fs::write(blob.join(&sha), &bytes).unwrap();
        std::fs::write(plain.join(format!("evidence-{i}.pdf")), &bytes).unwrap();
        sqlx::query("INSERT INTO blobs (sha256, size_bytes, media_type, stored_at) VALUES ($1, $2, 'application/pdf', $3)")
            .bind(&sha)
            .bind(bytes.len() as i64)
            .bind(&now)
            .execute(&pool)
            .await
            .unwrap();
        let ev: i64 = sqlx::query_scalar(
            "INSERT INTO evidence (title, kind, created_by, created_at, updated_at) VALUES ('Evidence', 'file', 1, $1, $1) RETURNING id",
        )
        .bind(&now)
        .fetch_one(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO evidence_versions (evidence_id, version, effective_date, sha256, filename, media_type, size_bytes, uploaded_by, uploaded_at) \
             VALUES ($1, 1, $2, $3, $4, 'application/pdf', $5, 1, $6)",
        )
        .bind(ev)
        .bind(today.to_string())
        .bind(&sha)
        .bind(format!("evidence-{i}.pdf"))
        .bind(bytes.len() as i64)
        .bind(&now)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO evidence_controls (evidence_id, control_id, created_at) VALUES ($1, $2, $3)")
            .bind(ev)
            .bind(ctl)
            .bind(&now)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let bytes_total = (files * FILE_MIB * MIB) as f64;
    println!(
        "evidence: {files} files of {FILE_MIB} MiB ({:.0} MiB), made in {:.1} s; steward {build} build",
        bytes_total / MIB as f64,
        gen_start.elapsed().as_secs_f64()
    );

    let out = dir.join("export.zip");
    let from = format!("{}-01-01", today.year());
    let to = (today + time::Duration::days(1)).to_string();
    let steward = |args: &[&str]| {
        let mut c = Command::new(&bin);
        c.args(args)
            .env("DATABASE_URL", &db_url)
            .env("STEWARD_DATA_DIR", &dir)
            .env("STEWARD_LOG_LEVEL", "warn");
        c
    };
    let (secs, peak, text) = run_measured(&mut steward(&[
        "export-evidence",
        "--framework",
        "bench",
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        out.to_str().unwrap(),
    ]));
    let zip_size = std::fs::metadata(&out).unwrap().len();
    print!("{text}");
    let export_rate = bytes_total / MIB as f64 / secs;
    println!(
        "steward export-evidence: {secs:.2} s, {export_rate:.0} MiB/s, archive {:.0} MiB, peak RSS {:.1} MiB",
        zip_size as f64 / MIB as f64,
        peak as f64 / 1024.0
    );

    let zip_out = dir.join("plain.zip");
    let zip_rate = if Command::new("zip").arg("-v").output().is_ok() {
        let (secs, peak, _) = run_measured(
            Command::new("zip")
                .args(["-0", "-r", "-q", zip_out.to_str().unwrap(), "plain"])
                .current_dir(&dir),
        );
        let rate = bytes_total / MIB as f64 / secs;
        println!(
            "zip -0 -r (same files): {secs:.2} s, {rate:.0} MiB/s, peak RSS {:.1} MiB",
            peak as f64 / 1024.0
        );
        Some(rate)
    } else {
        println!("zip -0 -r: not installed (scripts/bench-tools.sh installs it)");
        None
    };
    if let Some(z) = zip_rate {
        println!(
            "export throughput / zip -0 -r: {:.0}% (target >= 50%)",
            export_rate / z * 100.0
        );
    }

    let (secs, peak, text) = run_measured(&mut steward(&["verify-export", out.to_str().unwrap()]));
    print!("{text}");
    println!(
        "steward verify-export: {secs:.2} s, {:.0} MiB/s, peak RSS {:.1} MiB",
        zip_size as f64 / MIB as f64 / secs,
        peak as f64 / 1024.0
    );
    cleanup(&dir);
}

fn cleanup(dir: &Path) {
    for p in ["export.zip", "plain.zip"] {
        let _ = std::fs::remove_file(dir.join(p));
    }
    let _ = std::fs::remove_dir_all(dir.join("plain"));
}
