//! Page load benchmark: Steward beside nginx serving the very same bytes.
//!
//! For SQLite and (when reachable) PostgreSQL: seeds a fresh database with the demo data (the
//! real FOCUS sample, the CUR fixtures, the NIST SP 800-53 LOW baseline), starts the release
//! `steward serve --demo`, signs in as finance, saves each page's HTML and a static asset to a
//! folder that nginx serves on another port, and runs `wrk` against both with the same
//! threads, connections and duration. Prints req/s, p50 and p99 for each pair and the ratio.
//!
//! `scripts/build.sh --release` first; `scripts/bench-tools.sh` (run from here when needed)
//! installs nginx-light and wrk. `STEWARD_BENCH_SECONDS` (default 10), `STEWARD_BENCH_CONNECTIONS`
//! (default 64), `STEWARD_BENCH_DB` (`sqlite` or `postgres`) change the run.
//! Figures: docs/performance.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use steward_tests::{free_port, SpawnedServer};

/// The pages measured: name, path (signed in as finance unless static).
const PAGES: &[(&str, &str)] = &[
    ("dashboard", "/"),
    (
        "cost explorer, a month by service, daily",
        "/costs?from=2024-09-01&to=2024-09-30&granularity=daily&group_by=service",
    ),
    ("frameworks", "/frameworks"),
    ("controls list", "/controls"),
];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One wrk run: requests per second, p50 and p99 in milliseconds, non-2xx/3xx answers.
#[derive(Debug, Clone, Copy)]
struct Load {
    rps: f64,
    p50: f64,
    p99: f64,
    errors: u64,
}

fn ms(s: &str) -> f64 {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    num.trim().parse::<f64>().unwrap_or(f64::NAN) * scale
}

fn wrk(url: &str, cookie: Option<&str>, seconds: u64, connections: u64) -> Load {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    let out = run(cmd.arg(url));
    let field = |prefix: &str| {
        out.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    };
    Load {
        rps: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50: field("50%").map(|v| ms(&v)).unwrap_or(f64::NAN),
        p99: field("99%").map(|v| ms(&v)).unwrap_or(f64::NAN),
        errors: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

/// nginx in the foreground on `port`, serving `www` with everything it writes under `dir`.
struct Nginx(std::process::Child);

impl Nginx {
    fn start(dir: &Path, www: &Path, port: u16) -> Nginx {
        let conf = dir.join("nginx.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "worker_processes auto;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{\n  include /etc/nginx/mime.types;\n  default_type text/html;\n  \
                 access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n  \
                 client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
                 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
                 server {{ listen 127.0.0.1:{port}; root {w}; }}\n}}\n",
                w = www.display()
            ),
        )
        .unwrap();
        let child = Command::new("nginx")
            .args(["-c", conf.to_str().unwrap(), "-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx (scripts/bench-tools.sh installs it)");
        let ready = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(ready.elapsed().as_secs() < 10, "nginx did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Nginx(child)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT: graceful stop of the master and its workers.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGQUIT) };
        let _ = self.0.wait();
    }
}

struct Row {
    db: &'static str,
    page: String,
    bytes: usize,
    steward: Load,
    nginx: Load,
}

async fn measure(bin: &Path, db: &'static str, url: &str, dir: &Path) -> Vec<Row> {
    let (seconds, conns) = (
        env_or("STEWARD_BENCH_SECONDS", 10),
        env_or("STEWARD_BENCH_CONNECTIONS", 64),
    );
    let data = dir.join(format!("data-{db}"));
    std::fs::create_dir_all(&data).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cli = |args: &[&str]| {
        run(Command::new(bin)
            .args(args)
            .env("DATABASE_URL", url)
            .env("STEWARD_DATA_DIR", &data)
            .env("STEWARD_LOG_LEVEL", "warn"));
    };
    cli(&["migrate"]);
    for f in [
        "tests/fixtures/focus/focus-1.0-sample.csv",
        "tests/fixtures/costs/aws-cur-2.0.csv",
        "tests/fixtures/costs/aws-cur-legacy.csv",
    ] {
        cli(&["import-costs", root.join(f).to_str().unwrap()]);
    }
    cli(&["import-framework", "--builtin", "nist-800-53r5-low"]);
    let mut server = SpawnedServer::spawn_with(
        bin,
        &["--demo"],
        &[
            ("DATABASE_URL", url),
            ("STEWARD_DATA_DIR", data.to_str().unwrap()),
            ("STEWARD_LOG_LEVEL", "warn"),
        ],
        |_| {},
    )
    .await;
    server.drain_stdout();
    // The session cookie, for wrk.
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = server
        .login(&c, "finance", &server.password("finance"))
        .await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    assert!(cookie.contains("session"), "signed in: {cookie}");

    let www = dir.join(format!("www-{db}"));
    std::fs::create_dir_all(&www).unwrap();
    let mut targets: Vec<(String, String, Option<String>, String)> = Vec::new();
    for (i, (name, path)) in PAGES.iter().enumerate() {
        let body = c
            .get(server.url(path))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(body.status(), 200, "{path}");
        let bytes = body.bytes().await.unwrap();
        let file = format!("page{i}.html");
        std::fs::write(www.join(&file), &bytes).unwrap();
        targets.push((
            name.to_string(),
            path.to_string(),
            Some(cookie.clone()),
            file,
        ));
    }
    // A static asset: the stylesheet the pages name (content-hashed).
    let page = std::fs::read_to_string(www.join("page0.html")).unwrap();
    let css = page
        .split('"')
        .find(|s| s.starts_with("/pkg/") && s.ends_with(".css"))
        .expect("a stylesheet link")
        .to_string();
    let bytes = c
        .get(server.url(&css))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::create_dir_all(www.join("pkg")).unwrap();
    let file = css.trim_start_matches('/').to_string();
    std::fs::write(www.join(&file), &bytes).unwrap();
    targets.push((format!("static {css}"), css.clone(), None, file));

    let port = free_port();
    let nginx = Nginx::start(dir, &www, port);
    let mut rows = Vec::new();
    for (name, path, cookie, file) in targets {
        let bytes = std::fs::metadata(www.join(&file)).unwrap().len() as usize;
        let steward = wrk(&server.url(&path), cookie.as_deref(), seconds, conns);
        let nginx = wrk(
            &format!("http://127.0.0.1:{port}/{file}"),
            None,
            seconds,
            conns,
        );
        let row = Row {
            db,
            page: name,
            bytes,
            steward,
            nginx,
        };
        print_row(&row);
        rows.push(row);
    }
    drop(nginx);
    rows
}

fn header() {
    println!(
        "{:<10} {:<44} {:>8} | {:>9} {:>7} {:>7} | {:>9} {:>7} {:>7} | {:>6}",
        "database",
        "page",
        "bytes",
        "steward/s",
        "p50 ms",
        "p99 ms",
        "nginx/s",
        "p50 ms",
        "p99 ms",
        "ratio"
    );
}

fn print_row(r: &Row) {
    println!(
        "{:<10} {:<44} {:>8} | {:>9.0} {:>7.2} {:>7.2} | {:>9.0} {:>7.2} {:>7.2} | {:>5.1}%{}",
        r.db,
        r.page,
        r.bytes,
        r.steward.rps,
        r.steward.p50,
        r.steward.p99,
        r.nginx.rps,
        r.nginx.p50,
        r.nginx.p99,
        100.0 * r.steward.rps / r.nginx.rps.max(1.0),
        if r.steward.errors > 0 {
            format!("  ({} non-2xx answers!)", r.steward.errors)
        } else {
            String::new()
        }
    );
}

fn release_bin() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .ancestors()
        .map(|p| p.join("release/steward"))
        .find(|p| p.is_file())
        .expect("target/release/steward: run scripts/build.sh --release first")
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    run(&mut Command::new(root.join("scripts/bench-tools.sh")));
    let bin = release_bin();
    let dir = std::env::temp_dir().join(format!("steward-pages-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let only = std::env::var("STEWARD_BENCH_DB").unwrap_or_default();
    println!(
        "wrk -t2 -c{} -d{}s, signed in as finance; nginx serves the same bytes as static files",
        env_or("STEWARD_BENCH_CONNECTIONS", 64),
        env_or("STEWARD_BENCH_SECONDS", 10)
    );
    header();
    let mut rows = Vec::new();
    if only != "postgres" {
        let url = format!("sqlite://{}", dir.join("steward.db").display());
        rows.extend(measure(&bin, "SQLite", &url, &dir).await);
    }
    if only != "sqlite" {
        let admin = steward_tests::pg_admin_url();
        let name = format!("steward_pages_{}", std::process::id());
        let psql = |sql: &str| {
            Command::new("psql")
                .args([admin.as_str(), "-qc", sql])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if psql(&format!("CREATE DATABASE {name}")) {
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            let url = format!("{base}/{name}");
            rows.extend(measure(&bin, "PostgreSQL", &url, &dir).await);
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        } else {
            println!("PostgreSQL not reachable ({admin}): its rows are skipped");
        }
    }
    println!();
    header();
    for r in &rows {
        print_row(r);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
