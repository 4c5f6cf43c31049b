//! Test harness: a real Steward server on 127.0.0.1:0 with a fresh database per test, on
//! SQLite (a temporary file) or PostgreSQL (a new database on the server named by
//! `STEWARD_TEST_PG_URL`), driven over HTTP.
//!
//! PostgreSQL unreachable: with `CI=true` the test fails; otherwise it is skipped with a loud
//! message (the README's test command always starts one).

use app::policy::Role;
use server::bootstrap::FirstRun;
use server::{Running, ServeOptions};
use std::path::PathBuf;

pub use reqwest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const DEFAULT_PG_URL: &str = "postgres://postgres:steward@127.0.0.1:5432/postgres";

pub fn pg_admin_url() -> String {
    std::env::var("STEWARD_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

fn random_name(prefix: &str) -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{prefix}{n:016x}")
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    dir: Option<PathBuf>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(random_name("steward-test-"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}", dir.join("steward.db").display());
                Some(TestDb {
                    backend,
                    url,
                    dir: Some(dir),
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = pg_admin_url();
                let conn = sqlx::AnyPool::connect(&admin).await;
                let pool = match conn {
                    Ok(p) => p,
                    Err(e) => {
                        if in_ci() {
                            panic!(
                                "PostgreSQL at {} is unreachable in CI: {e}",
                                app::db::redact_url(&admin)
                            );
                        }
                        eprintln!(
                            "\n!!!!!!!! SKIPPING PostgreSQL test: {} unreachable ({e}). \
                             Run scripts/test.sh, or set STEWARD_TEST_PG_URL. !!!!!!!!\n",
                            app::db::redact_url(&admin)
                        );
                        return None;
                    }
                };
                let name = random_name("steward_t_");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .expect("create test database");
                pool.close().await;
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin.clone());
                // Stored files live in the data directory whatever the database.
                let dir = std::env::temp_dir().join(random_name("steward-test-"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                Some(TestDb {
                    backend,
                    url: format!("{base}/{name}"),
                    dir: Some(dir),
                    pg_name: Some(name),
                })
            }
        }
    }

    /// The server's data directory for this test (stored files go under `blobs/`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir
            .clone()
            .expect("every test database has a data directory")
    }

    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url)
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside any runtime we may block: use a thread with its own.
            let admin = pg_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async move {
                    sqlx::any::install_default_drivers();
                    let pool = sqlx::AnyPool::connect(&admin).await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&pool)
                        .await
                        .ok()?;
                    pool.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// Server logs (warnings and errors by default; `RUST_LOG` to change) go to the test's captured
/// output, so a failing test shows what the server said.
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// A running server with its first-run credentials.
pub struct TestApp {
    pub base: String,
    pub running: Option<Running>,
    pub first_run: FirstRun,
    pub db: TestDb,
    /// Demo users made on first use (`user`, `client_as`, `password`): username → password.
    /// Shared with `second_server`s, which see the same users.
    made: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(&mut ServeOptions),
    ) -> Option<TestApp> {
        init_logging();
        let db = TestDb::new(backend).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        // Only `admin` at first: a test's other users are made when it first asks for them.
        // Hashes at the smallest argon2 cost: tests about hashing ask for production's.
        let mut opts = ServeOptions {
            database_url: db.url.clone(),
            site_root: None, // found next to the test binary, as for `steward`
            demo: false,
            org_name: "Test organisation".into(),
            metrics_token: Some("scrape-token-for-tests".into()),
            data_dir: db.data_dir(),
            checkpoint_interval_minutes: 0,
            password_cost: app::auth::password::HashCost::TESTS_ONLY,
            ..ServeOptions::default()
        };
        tweak(&mut opts);
        let running = server::start(opts, listener, std::future::pending())
            .await
            .expect("server starts");
        let base = format!("http://{}", running.addr);
        let first_run = running
            .first_run
            .clone()
            .expect("fresh database bootstraps");
        Some(TestApp {
            base,
            running: Some(running),
            first_run,
            db,
            made: Default::default(),
        })
    }

    /// A second server on the same database, as in a deployment with several instances. It
    /// shares the first one's users; dropping it leaves the database alone.
    pub async fn second_server(&self) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let opts = ServeOptions {
            database_url: self.db.url.clone(),
            org_name: "Test organisation".into(),
            data_dir: self.db.data_dir(),
            checkpoint_interval_minutes: 0,
            password_cost: app::auth::password::HashCost::TESTS_ONLY,
            ..ServeOptions::default()
        };
        let running = server::start(opts, listener, std::future::pending())
            .await
            .expect("second server starts");
        TestApp {
            base: format!("http://{}", running.addr),
            running: Some(running),
            first_run: self.first_run.clone(),
            db: TestDb {
                backend: self.db.backend,
                url: self.db.url.clone(),
                dir: None,
                pg_name: None,
            },
            made: self.made.clone(),
        }
    }

    pub fn state(&self) -> &server::ServerState {
        &self.running.as_ref().expect("running").state
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A user's password: the first-run `admin`, or a demo user (`compliance`, `finance`,
    /// `auditor`, made now if this test had none yet).
    pub async fn password(&self, username: &str) -> String {
        if let Some(c) = self.first_run.users.iter().find(|c| c.username == username) {
            return c.password.clone();
        }
        let role = Role::ALL
            .into_iter()
            .find(|r| Self::username(*r) == username)
            .unwrap_or_else(|| panic!("no demo user {username}"));
        self.user(role).await.1
    }

    /// The demo user of a role, made on first use as the first run makes them (an audited
    /// `user.create`; auditors time-boxed to 30 days): username and password.
    pub async fn user(&self, role: Role) -> (&'static str, String) {
        let name = Self::username(role);
        if let Some(p) = self.made.lock().expect("users").get(name) {
            return (name, p.clone());
        }
        if let Some(c) = self.first_run.users.iter().find(|c| c.username == name) {
            return (name, c.password.clone());
        }
        let st = &self.state().app;
        let password = server::bootstrap::generate_password();
        let hash = st.hasher.hash(&password).await.expect("hash");
        let now = st.clock.now();
        let access = (role == Role::Auditor).then(|| app::util::ts(now + time::Duration::days(30)));
        let mut tx = st.db.write().await.expect("write");
        let id = app::users::store::insert(
            &mut tx,
            name,
            &format!("{} (demo)", role.label()),
            None,
            role,
            &hash,
            access.as_deref(),
            now,
        )
        .await
        .expect("demo user");
        let ctx = server::bootstrap::system_ctx(&st.clock, "system");
        tx.audit(ctx.event(
            "user.create",
            "user",
            id,
            format!("created '{name}': role {role} (demo user)"),
        ))
        .await
        .expect("audit");
        tx.commit().await.expect("commit");
        self.made
            .lock()
            .expect("users")
            .insert(name.to_string(), password.clone());
        (name, password)
    }

    /// The demo user's name for a role.
    pub fn username(role: Role) -> &'static str {
        match role {
            Role::Admin => "admin",
            Role::Compliance => "compliance",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
            Role::Member => "member",
        }
    }

    /// A control made by the administrator through the app (`cadence`: none, monthly, …),
    /// named as the one budget attestations count for; its id.
    pub async fn control(&self, reference: &str, title: &str, cadence: &str) -> i64 {
        let admin = self.client_as(Role::Admin).await;
        let r = self
            .call(
                &admin,
                "/api/save_control",
                &[
                    ("form[ref]", reference),
                    ("form[title]", title),
                    ("form[cadence]", cadence),
                ],
            )
            .await;
        assert!(
            r.status().is_success(),
            "control {reference}: {}",
            r.status()
        );
        let r = self
            .call(
                &admin,
                "/api/set_attestation_control",
                &[("reference", reference)],
            )
            .await;
        assert_eq!(r.status(), 200);
        sqlx::query_scalar("SELECT id FROM controls WHERE ref = $1")
            .bind(reference)
            .fetch_one(self.state().app.db.pool())
            .await
            .expect("the control")
    }

    /// A client that keeps cookies and never follows redirects (so tests see them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// POSTs a server function as the hydrated page does (fetch, same origin).
    pub async fn call<F: serde::Serialize + ?Sized>(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &F,
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("Origin", &self.base)
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// POSTs a server function as a plain HTML form does (no JavaScript).
    pub async fn form_post<F: serde::Serialize + ?Sized>(
        &self,
        client: &reqwest::Client,
        path: &str,
        referer: &str,
        form: &F,
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("Origin", &self.base)
            .header("Accept", "text/html,application/xhtml+xml")
            .header("Referer", self.url(referer))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        self.call(
            client,
            "/api/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// A client signed in as the demo user of `role`.
    pub async fn client_as(&self, role: Role) -> reqwest::Client {
        let c = self.client();
        let (u, password) = self.user(role).await;
        let res = self.login(&c, u, &password).await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "login as {u}: {}",
            res.status()
        );
        c
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        let pool = self.db.pool().await;
        let v = sqlx::query_scalar("SELECT action FROM audit_events ORDER BY seq")
            .fetch_all(&pool)
            .await
            .expect("audit");
        pool.close().await;
        v
    }

    pub async fn audit_count(&self) -> i64 {
        let pool = self.db.pool().await;
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        n
    }

    /// Runs `steward ARGS` (the debug binary) on this app's database and data folder, as an
    /// operator's command beside the running server; panics with its stderr when it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(steward_bin())
            .args(args)
            .env("DATABASE_URL", &self.db.url)
            .env("STEWARD_DATA_DIR", self.db.data_dir())
            .env("STEWARD_LOG_LEVEL", "warn")
            .output()
            .expect("run steward");
        assert!(
            out.status.success(),
            "steward {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("graceful stop");
        }
    }
}

/// An empty form body, for server functions without arguments.
pub const NO_FIELDS: &[(&str, &str)] = &[];

/// The fields of the admin page's "Add a user" form.
pub fn new_user_form(
    username: &str,
    role: &str,
    password: &str,
    access_until: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("user[username]", username.to_string()),
        ("user[display_name]", "Test Person".to_string()),
        ("user[email]", String::new()),
        ("user[role]", role.to_string()),
        ("user[password]", password.to_string()),
        ("user[access_until]", access_until.to_string()),
    ]
}

/// A port that was free a moment ago (for processes that must be told their port).
/// A program from a venv `scripts/setup.sh --test` makes under the tools folder (`rel`, e.g.
/// `moto-venv/bin/moto_server`), or `env` when set. Missing: CI fails; elsewhere the test
/// is skipped, loudly.
pub fn venv_tool(rel: &str, env: &str) -> Option<PathBuf> {
    let p = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").unwrap_or_default();
        let tools = std::env::var_os("STEWARD_TOOLS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(&home).join(".cache/steward-tools"));
        tools.join(rel)
    });
    if p.is_file() {
        Some(p)
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{} is missing (scripts/setup.sh --test installs it)",
            p.display()
        );
    } else {
        eprintln!(
            "!!!!!!!! SKIPPING: {} missing; run scripts/setup.sh --test !!!!!!!!",
            p.display()
        );
        None
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until a `steward serve` at `base` answers `/readyz` with 200.
pub async fn wait_ready(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "steward serve did not become ready at {base}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Reads the first-run box `steward serve` prints on stdout, up to its last line.
pub fn read_banner(stdout: &mut impl std::io::BufRead) -> String {
    let mut banner = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        banner.push_str(&line);
        if line.starts_with('└') {
            break;
        }
        line.clear();
    }
    banner
}

/// A user's password from the first-run box.
pub fn banner_password(banner: &str, username: &str) -> Option<String> {
    banner
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(username) && l.contains("password:"))
        .and_then(|l| l.split("password: ").nth(1))
        .map(|p| p.trim().to_string())
}

/// The `steward` binary built next to the tests (scripts/test.sh builds it first).
pub fn steward_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let bin = exe
        .ancestors()
        .map(|p| p.join("steward"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("the steward binary is not built: run `cargo build -p server` (scripts/test.sh does)"));
    bin
}

/// The release `steward` binary, when built (`scripts/build.sh --release`): for benchmarks.
pub fn release_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().expect("exe");
    exe.ancestors()
        .map(|p| p.join("release/steward"))
        .find(|p| p.is_file())
}

/// A `steward serve` process of its own, for tests and benchmarks of the binary itself: bound
/// to a port that was free, with a fresh data directory (removed afterwards) unless `env`
/// names one, and no `DATABASE_URL` from the environment (so SQLite in the data directory)
/// unless `env` gives one. Killed on drop.
///
/// `SpawnedServer::spawn(args, env)` starts it, reads its first-run box and waits until it is
/// ready; `start` only starts it, for tests about what it prints.
pub struct SpawnedServer {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub data_dir: PathBuf,
    /// The first-run box, once read (`spawn`, `read_banner`).
    pub banner: String,
    /// Kept open once the banner is read: a server whose stdout is closed prints nothing more.
    stdout: Option<std::io::BufReader<std::process::ChildStdout>>,
    own_data_dir: bool,
}

impl SpawnedServer {
    /// `steward serve ARGS` (the debug binary next to the tests), read its first-run box,
    /// wait until it is ready.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> SpawnedServer {
        Self::spawn_with(&steward_bin(), args, env, |_| {}).await
    }

    /// `spawn` with another binary (a benchmark's release build) and changes to the command
    /// (`stderr`, `current_dir`, …) made before it starts.
    pub async fn spawn_with(
        bin: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
        configure: impl FnOnce(&mut std::process::Command),
    ) -> SpawnedServer {
        let mut s = Self::start_with(bin, args, env, configure);
        s.read_banner();
        s.wait_ready().await;
        s
    }

    /// Only starts `steward serve ARGS`: stdout piped and unread (in `child.stdout`), stderr
    /// discarded.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> SpawnedServer {
        Self::start_with(&steward_bin(), args, env, |_| {})
    }

    pub fn start_with(
        bin: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
        configure: impl FnOnce(&mut std::process::Command),
    ) -> SpawnedServer {
        use std::process::{Command, Stdio};
        let port = free_port();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let given_dir = env
            .iter()
            .find(|(k, _)| *k == "STEWARD_DATA_DIR")
            .map(|(_, v)| PathBuf::from(v));
        let own_data_dir = given_dir.is_none();
        let data_dir =
            given_dir.unwrap_or_else(|| std::env::temp_dir().join(random_name("steward-serve-")));
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .args(args)
            .env_remove("DATABASE_URL")
            .env("STEWARD_DATA_DIR", &data_dir)
            .env("STEWARD_BIND", addr.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        configure(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} serve: {e}", bin.display()));
        SpawnedServer {
            child,
            addr,
            base: format!("http://{addr}"),
            data_dir,
            banner: String::new(),
            stdout: None,
            own_data_dir,
        }
    }

    /// Reads the first-run box from stdout (once), keeping the pipe open afterwards.
    pub fn read_banner(&mut self) -> &str {
        if let Some(out) = self.child.stdout.take() {
            let mut out = std::io::BufReader::new(out);
            self.banner = read_banner(&mut out);
            self.stdout = Some(out);
        }
        &self.banner
    }

    pub async fn wait_ready(&self) {
        wait_ready(&self.base).await
    }

    /// Keeps reading the server's stdout after the first-run box, so a long run that logs
    /// there never fills the pipe and blocks the server.
    pub fn drain_stdout(&mut self) {
        if let Some(mut out) = self.stdout.take() {
            std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A password from the first-run box (`admin`; the demo users with `--demo`).
    pub fn password(&self, username: &str) -> String {
        banner_password(&self.banner, username)
            .unwrap_or_else(|| panic!("{username}'s password printed: {}", self.banner))
    }

    /// A client that keeps cookies.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }

    /// Signs in through the sign-in form's endpoint, as a browser's form post (same origin).
    pub async fn login(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/api/login"))
            .header("Origin", &self.base)
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("login request")
    }

    /// A new client signed in as a user of the first-run box; the sign-in must answer 200.
    pub async fn client_as(&self, username: &str) -> reqwest::Client {
        let c = self.client();
        let r = self.login(&c, username, &self.password(username)).await;
        assert_eq!(r.status(), 200, "sign in as {username}");
        c
    }

    /// SIGTERM, then waits (at most 20 s) for the process to exit: its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: signals our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "steward serve did not stop within 20 s of SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.own_data_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// Defines `<name>_sqlite` and `<name>_postgres` tests running the same body on each backend.
#[macro_export]
macro_rules! both_dbs {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await.expect("sqlite app");
                run(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await {
                    run(app).await;
                }
            }
        }
    };
}

/// `both_dbs!` for a server started with changed options: `both_dbs_with!(name, |o| { … }, |app| { … })`.
#[macro_export]
macro_rules! both_dbs_with {
    ($name:ident, $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::spawn_with($crate::Backend::Sqlite, $tweak)
                    .await
                    .expect("sqlite app");
                run(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::TestApp::spawn_with($crate::Backend::Postgres, $tweak).await {
                    run(app).await;
                }
            }
        }
    };
}

/// Waits for a child and returns its exit status and peak resident memory in KiB, read from
/// `VmHWM` while it runs. (`wait4`'s `ru_maxrss` would be wrong here: a child spawned with
/// vfork/posix_spawn inherits the parent's high-water mark at exec, and the test process is
/// large.) Polled every 2 ms: the last reading before exit is the peak of the program's own
/// memory.
pub fn wait_with_peak_rss(child: &mut std::process::Child) -> (std::process::ExitStatus, u64) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (status, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
