//! Cost import benchmark: generates an N-row FOCUS 1.0 file (default 1,000,000;
//! `STEWARD_BENCH_ROWS` to change), imports it with the release `steward import-costs` into a
//! fresh SQLite database, and prints rows/s and the importer's peak RSS beside `sqlite3 .import`
//! of the same file into a plain table (no parsing of amounts or times, no rollups, no indexes).
//! With a reachable PostgreSQL (`STEWARD_TEST_PG_URL` or the test default) it does the same on
//! PostgreSQL beside `psql \copy`.
//! Run `scripts/build.sh --release` first. Installs nothing: skips a comparison whose tool
//! (`sqlite3`, `psql`) is not on PATH.
//!
//! The importer stores more than the plain copies (typed columns, the rest of the row as JSON,
//! two rollup tables, the audit event) and SQLite writes through the WAL. Figures: README.md
//! ("Benchmarks").

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "gen_focus.rs"]
mod gen_focus;
use gen_focus::{gen_focus, HEADER};

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command to completion; returns its wall time and peak RSS (KiB) from wait4.
fn run_measured(cmd: &mut Command) -> (Duration, u64, String) {
    let t = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    // Read output on threads so a full pipe cannot block the child.
    let mut child = child;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = t.elapsed();
    assert_eq!(rc, pid, "wait4");
    let (stdout, stderr) = (out_t.join().unwrap(), err_t.join().unwrap());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed:\n{stdout}\n{stderr}"
    );
    (took, usage.ru_maxrss as u64, stdout)
}

fn rate(rows: u64, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64()
}

fn print_row(label: &str, rows: u64, d: Duration, rss_kib: Option<u64>) {
    println!(
        "{label:<44} {:>8.2} s {:>10.0} rows/s{}",
        d.as_secs_f64(),
        rate(rows, d),
        rss_kib
            .map(|k| format!("   peak RSS {:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_default()
    );
}

fn release_steward() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .map(|p| p.join("release/steward"))
        .find(|p| p.is_file())
        .expect("target/release/steward: run scripts/build.sh --release first")
}

fn main() {
    let rows: u64 = std::env::var("STEWARD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let bin = release_steward();
    let dir = std::env::temp_dir().join(format!("steward-costs-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // STEWARD_BENCH_CSV: write the generated file there and keep it (for profiling).
    let csv = std::env::var_os("STEWARD_BENCH_CSV")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("focus.csv"));
    let t = Instant::now();
    let size = gen_focus(&csv, rows, 1).unwrap();
    println!(
        "generated {rows} FOCUS 1.0 rows, {:.1} MiB, in {:.1} s",
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    // SQLite: migrate first so the import measures the import only.
    let db = dir.join("steward.db");
    let url = format!("sqlite://{}", db.display());
    run_measured(Command::new(&bin).arg("migrate").env("DATABASE_URL", &url));
    let (took, rss, out) = run_measured(
        Command::new(&bin)
            .arg("import-costs")
            .arg(&csv)
            .env("DATABASE_URL", &url)
            .env("STEWARD_LOG_LEVEL", "warn"),
    );
    assert!(
        out.contains(&format!("rows: {rows} read, {rows} accepted")),
        "{out}"
    );
    print_row("steward import-costs (SQLite)", rows, took, Some(rss));
    let steward_sqlite = took;
    if on_path("sqlite3") {
        let plain = dir.join("plain.db");
        let (took, rss, _) = run_measured(
            Command::new("sqlite3")
                .arg(&plain)
                .arg(".mode csv")
                .arg(format!(".import {} focus_raw", csv.display())),
        );
        print_row(
            "sqlite3 .import (plain table, text only)",
            rows,
            took,
            Some(rss),
        );
        println!(
            "  steward / sqlite3 speed: {:.2}x",
            took.as_secs_f64() / steward_sqlite.as_secs_f64()
        );
    } else {
        println!("sqlite3 not on PATH: comparison skipped (apt-get install sqlite3)");
    }

    // PostgreSQL, when one is reachable.
    let admin = steward_tests::pg_admin_url();
    if on_path("psql")
        && Command::new("psql")
            .arg(&admin)
            .arg("-qc")
            .arg("SELECT 1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    {
        let name = format!("steward_bench_{}", std::process::id());
        let psql = |url: &str, sql: &str| {
            let ok = Command::new("psql")
                .arg(url)
                .arg("-qc")
                .arg(sql)
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "psql: {sql}");
        };
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let url = format!("{base}/{name}");
        run_measured(Command::new(&bin).arg("migrate").env("DATABASE_URL", &url));
        let (took, rss, out) = run_measured(
            Command::new(&bin)
                .arg("import-costs")
                .arg(&csv)
                .env("DATABASE_URL", &url)
                .env("STEWARD_LOG_LEVEL", "warn"),
        );
        assert!(out.contains(&format!("rows: {rows} read")), "{out}");
        print_row("steward import-costs (PostgreSQL)", rows, took, Some(rss));
        let cols: Vec<String> = HEADER.split(',').map(|c| format!("\"{c}\" text")).collect();
        psql(
            &url,
            &format!("CREATE TABLE focus_raw ({})", cols.join(", ")),
        );
        let (took_copy, _, _) =
            run_measured(Command::new("psql").arg(&url).arg("-qc").arg(format!(
                "\\copy focus_raw FROM '{}' WITH (FORMAT csv, HEADER true)",
                csv.display()
            )));
        print_row(
            "psql \\copy (plain table, text only)",
            rows,
            took_copy,
            None,
        );
        println!(
            "  steward / psql speed: {:.2}x",
            took_copy.as_secs_f64() / took.as_secs_f64()
        );
        psql(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    } else {
        println!("PostgreSQL or psql not available: PostgreSQL figures skipped");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
