//! Cost import benchmark: generates a FOCUS 1.0 file shaped like the FinOps sample (its 44
//! columns, 12 months, 50 sub-accounts; `gen_focus.rs`), imports it with the release
//! `steward import-costs` into a fresh SQLite database and a fresh PostgreSQL database, and
//! prints, side by side, rows/s beside `sqlite3 .import` and `psql \copy` of the same file into
//! a table of 44 text columns (no parsing, no rollups, no indexes), the ratio, and the
//! importer's peak RSS. On PostgreSQL a second row loads, with the same `psql \copy`, the very
//! rows Steward stored (line items, daily and tag rollups, exported after its import) into
//! empty copies of its own tables: the like-for-like comparison.
//!
//! Sizes: 1M and 3M rows; `STEWARD_BENCH_ROWS=1000000` (or `1000000,3000000`) picks.
//! `STEWARD_BENCH_DB=sqlite` or `postgres` runs one database only. PostgreSQL is used when
//! reachable (`STEWARD_TEST_PG_URL` or the test default). Run `scripts/build.sh --release`
//! first. Installs nothing: skips a comparison whose tool (`sqlite3`, `psql`) is not on PATH.
//! Figures: README.md ("Benchmarks").

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "gen_focus.rs"]
mod gen_focus;
use gen_focus::{gen_focus, COLUMNS};

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command to completion; returns its wall time, peak RSS (KiB, from wait4) and stdout.
fn run_measured(cmd: &mut Command) -> (Duration, u64, String) {
    let t = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    // Read output on threads so a full pipe cannot block the child (reaped by wait4 below).
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

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn release_steward() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .map(|p| p.join("release/steward"))
        .find(|p| p.is_file())
        .expect("target/release/steward: run scripts/build.sh --release first")
}

/// One comparison: the importer beside the plain loader.
struct Line {
    rows: u64,
    db: &'static str,
    steward: Duration,
    rss_kib: u64,
    plain: Option<Duration>,
    /// PostgreSQL only: `psql \copy` of the very rows Steward stored (line items and both
    /// rollups, exported after its import) into empty copies of its tables: like for like.
    own: Option<Duration>,
    load: String,
}

impl Line {
    fn print(&self) {
        let rate = |d: Duration| self.rows as f64 / d.as_secs_f64();
        let (plain, ratio) = match self.plain {
            Some(p) => (
                format!("{:>7.2} s {:>8.0}/s", p.as_secs_f64(), rate(p)),
                format!("{:>5.2}x", p.as_secs_f64() / self.steward.as_secs_f64()),
            ),
            None => (format!("{:>20}", "skipped"), "    -".into()),
        };
        println!(
            "{:>9} {:<10} {:>7.2} s {:>8.0}/s {plain} {ratio} {:>8.1} MiB   {}",
            self.rows,
            self.db,
            self.steward.as_secs_f64(),
            rate(self.steward),
            self.rss_kib as f64 / 1024.0,
            self.load
        );
        if let Some(own) = self.own {
            println!(
                "{:>9} {:<10} {:>20} {:>7.2} s {:>8.0}/s {:>5.2}x   (psql \\copy of the rows Steward stored, into its tables)",
                "",
                "",
                "",
                own.as_secs_f64(),
                rate(own),
                own.as_secs_f64() / self.steward.as_secs_f64()
            );
        }
    }
}

fn header() {
    println!(
        "{:>9} {:<10} {:>20} {:>20} {:>6} {:>12}   load before (1/5/15 min)",
        "rows", "database", "steward import-costs", "plain loader", "ratio", "peak RSS"
    );
}

fn import(bin: &Path, csv: &Path, url: &str, rows: u64) -> (Duration, u64) {
    run_measured(Command::new(bin).arg("migrate").env("DATABASE_URL", url));
    let (took, rss, out) = run_measured(
        Command::new(bin)
            .arg("import-costs")
            .arg(csv)
            .env("DATABASE_URL", url)
            .env("STEWARD_LOG_LEVEL", "warn"),
    );
    assert!(
        out.contains(&format!("rows: {rows} read, {rows} accepted")),
        "{out}"
    );
    (took, rss)
}

fn sqlite(bin: &Path, csv: &Path, dir: &Path, rows: u64) -> Line {
    let db = dir.join("steward.db");
    let load = load();
    let (steward, rss_kib) = import(bin, csv, &format!("sqlite://{}", db.display()), rows);
    // Removed before the plain load: at 3M rows both databases at once need ~10 GB of disk.
    for f in ["steward.db", "steward.db-wal", "steward.db-shm"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let plain = on_path("sqlite3").then(|| {
        let plain = dir.join("plain.db");
        // `.import` into a new table creates it from the header: 44 TEXT columns.
        let (took, _, _) = run_measured(
            Command::new("sqlite3")
                .arg(&plain)
                .arg(".mode csv")
                .arg(format!(".import {} focus_raw", csv.display())),
        );
        let _ = std::fs::remove_file(plain);
        took
    });
    Line {
        rows,
        db: "SQLite",
        steward,
        rss_kib,
        plain,
        own: None,
        load,
    }
}

fn psql_ok(url: &str, sql: &str) -> bool {
    Command::new("psql")
        .arg(url)
        .arg("-qc")
        .arg(sql)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn postgres(bin: &Path, csv: &Path, admin: &str, rows: u64) -> Line {
    let name = format!("steward_bench_{}", std::process::id());
    let psql = |url: &str, sql: &str| assert!(psql_ok(url, sql), "psql: {sql}");
    psql(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    psql(admin, &format!("CREATE DATABASE {name}"));
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    let url = format!("{base}/{name}");
    let load = load();
    let (steward, rss_kib) = import(bin, csv, &url, rows);
    // What Steward stored, for the like-for-like load below.
    const BULK: [&str; 3] = ["cost_line_items", "cost_daily", "cost_daily_tags"];
    let stored = csv.with_extension("stored");
    std::fs::create_dir_all(&stored).unwrap();
    for t in BULK {
        let f = stored.join(format!("{t}.csv"));
        psql(
            &url,
            &format!("\\copy {t} TO '{}' WITH (FORMAT csv)", f.display()),
        );
    }
    // A fresh database for the plain load (disk: see `sqlite`).
    psql(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    psql(admin, &format!("CREATE DATABASE {name}"));
    let cols: Vec<String> = COLUMNS.iter().map(|c| format!("\"{c}\" text")).collect();
    psql(
        &url,
        &format!("CREATE TABLE focus_raw ({})", cols.join(", ")),
    );
    let (plain, _, _) = run_measured(Command::new("psql").arg(&url).arg("-qc").arg(format!(
        "\\copy focus_raw FROM '{}' WITH (FORMAT csv, HEADER true)",
        csv.display()
    )));
    // Like for like: the rows Steward stored, into its own (empty, migrated) tables, with
    // their indexes, by the same plain loader.
    psql(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    psql(admin, &format!("CREATE DATABASE {name}"));
    run_measured(Command::new(bin).arg("migrate").env("DATABASE_URL", &url));
    let mut cmd = Command::new("psql");
    cmd.arg(&url).arg("-q");
    for t in BULK {
        let f = stored.join(format!("{t}.csv"));
        cmd.arg("-c").arg(format!(
            "\\copy {t} FROM '{}' WITH (FORMAT csv)",
            f.display()
        ));
    }
    let (own, _, _) = run_measured(&mut cmd);
    let _ = std::fs::remove_dir_all(&stored);
    psql(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    Line {
        rows,
        db: "PostgreSQL",
        steward,
        rss_kib,
        plain: Some(plain),
        own: Some(own),
        load,
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::var("STEWARD_BENCH_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000_000, 3_000_000]);
    let only = std::env::var("STEWARD_BENCH_DB").unwrap_or_default();
    let bin = release_steward();
    let dir = std::env::temp_dir().join(format!("steward-costs-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let admin = steward_tests::pg_admin_url();
    let pg = only != "sqlite" && on_path("psql") && psql_ok(&admin, "SELECT 1");
    if !pg && only != "sqlite" {
        println!("PostgreSQL or psql not available: PostgreSQL figures skipped");
    }
    if !on_path("sqlite3") {
        println!("sqlite3 not on PATH: that comparison is skipped (apt-get install sqlite3)");
    }
    let mut lines = Vec::new();
    for &rows in &sizes {
        // STEWARD_BENCH_CSV: write the generated file there and keep it (for profiling).
        let csv = std::env::var_os("STEWARD_BENCH_CSV")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.join("focus.csv"));
        let t = Instant::now();
        let size = gen_focus(&csv, rows, 12).unwrap();
        println!(
            "generated {rows} FOCUS 1.0 rows (44 columns, 12 months, 50 sub-accounts), \
             {:.0} MiB, in {:.1} s",
            size as f64 / 1048576.0,
            t.elapsed().as_secs_f64()
        );
        if only != "postgres" {
            let l = sqlite(&bin, &csv, &dir, rows);
            l.print();
            lines.push(l);
        }
        if pg {
            let l = postgres(&bin, &csv, &admin, rows);
            l.print();
            lines.push(l);
        }
        if std::env::var_os("STEWARD_BENCH_CSV").is_none() {
            let _ = std::fs::remove_file(&csv);
        }
    }
    println!();
    println!("plain loaders: sqlite3 .import and psql \\copy into 44 text columns; ratio = their time / steward's (>= 1 is as fast or faster)");
    println!("PostgreSQL's second row: psql \\copy of the rows Steward stored (its line items and rollups) into its own empty tables, with their indexes");
    header();
    for l in &lines {
        l.print();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
