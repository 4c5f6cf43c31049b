//! Steward's HTTP server: configuration, the router and its middleware, start-up (migrations,
//! first-run bootstrap), operational endpoints and the command-line tools.

pub mod accounts_cli;
pub mod alloc;
pub mod audit_cli;
pub mod bootstrap;
pub mod budgets_cli;
pub mod config;
pub mod error;
pub mod export_cli;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod page_cache;
pub mod retention_cli;
pub mod statics;

use app::auth::password::PasswordHasher;
use app::context::Security;
use app::db::Db;
use app::state::AppState;
use app::util::Clock;
use axum::extract::FromRef;
use axum::routing::get;
use axum::Router;
use error::ServerError;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Everything `serve` needs, independent of where it came from (flags, environment, tests).
#[derive(Clone)]
pub struct ServeOptions {
    pub database_url: String,
    /// `scheme://host[:port]`; when `None`, `http://` + the bound address.
    pub public_url: Option<String>,
    /// Folder holding `pkg/steward.{js,wasm,css}`; found next to the binary when `None`.
    pub site_root: Option<PathBuf>,
    /// Create the demo users on first run.
    pub demo: bool,
    pub org_name: String,
    pub metrics_token: Option<String>,
    /// Print first-run credentials to stdout (the run command does; tests read them instead).
    pub print_credentials: bool,
    /// Folder for stored files (evidence blobs go under `blobs/`), whatever the database.
    pub data_dir: PathBuf,
    /// Largest evidence file accepted, in bytes.
    pub max_upload_bytes: u64,
    /// AWS Cost Explorer sync; `None` leaves it off.
    pub aws: Option<app::costs::sync::AwsSettings>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long an upload may send nothing before it is abandoned.
    pub upload_idle: std::time::Duration,
    /// The audit signing key file; `None`: `<data_dir>/signing-key.pem`, created on first run.
    pub signing_key_file: Option<PathBuf>,
    /// Minutes between signed audit checkpoints; 0 turns the schedule off.
    pub checkpoint_interval_minutes: u64,
    /// The cost of new password hashes: production everywhere but test servers.
    pub password_cost: app::auth::password::HashCost,
    /// Email for notifications; `None` leaves email messages waiting (and then dead letters).
    pub mail: Option<app::notifications::deliver::MailSettings>,
    /// How long a budget alert may wait for its owner before finance is told.
    pub budget_escalation: time::Duration,
    /// How often the outbox looks for messages due (it is also woken when some are queued).
    pub outbox_interval: std::time::Duration,
    /// The fewest days the audit trail is kept, whatever its retention rule says.
    pub audit_min_days: u32,
}

impl Default for ServeOptions {
    /// A SQLite database in `./data`, no demo users, the defaults of `steward serve`.
    fn default() -> Self {
        ServeOptions {
            database_url: "sqlite://data/steward.db".into(),
            public_url: None,
            site_root: None,
            demo: false,
            org_name: "Demo organisation".into(),
            metrics_token: None,
            print_credentials: false,
            data_dir: PathBuf::from("data"),
            max_upload_bytes: 100 * 1024 * 1024,
            aws: None,
            trusted_proxies: Vec::new(),
            upload_idle: std::time::Duration::from_secs(60),
            signing_key_file: None,
            checkpoint_interval_minutes: 60,
            password_cost: app::auth::password::HashCost::PRODUCTION,
            mail: None,
            budget_escalation: time::Duration::days(3),
            outbox_interval: std::time::Duration::from_secs(5),
            audit_min_days: app::retention::schedule::AUDIT_MIN_DAYS,
        }
    }
}

// By hand: the database URL may hold a password and the metrics token is a secret.
impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("database_url", &app::db::redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("site_root", &self.site_root)
            .field("demo", &self.demo)
            .field("org_name", &self.org_name)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("data_dir", &self.data_dir)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("aws", &self.aws)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("upload_idle", &self.upload_idle)
            .field("signing_key_file", &self.signing_key_file)
            .field(
                "checkpoint_interval_minutes",
                &self.checkpoint_interval_minutes,
            )
            .field("password_cost", &self.password_cost)
            .field(
                "mail",
                &self
                    .mail
                    .as_ref()
                    .map(|m| (&m.host, m.port, m.tls, &m.from)),
            )
            .field("budget_escalation", &self.budget_escalation)
            .field("audit_min_days", &self.audit_min_days)
            .finish()
    }
}

#[derive(Clone)]
pub struct ServerState {
    pub app: AppState,
    pub metrics: Arc<metrics::Metrics>,
    pub metrics_token: Option<Arc<str>>,
    /// Rendered pages of the current data version (`page_cache`).
    pub pages: Arc<page_cache::PageCache>,
}

impl FromRef<ServerState> for AppState {
    fn from_ref(s: &ServerState) -> Self {
        s.app.clone()
    }
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(s: &ServerState) -> Self {
        s.app.leptos_options.clone()
    }
}

/// A started server: its address, its state (tests use the clock and database), and a way
/// to stop it gracefully.
pub struct Running {
    pub addr: SocketAddr,
    pub state: ServerState,
    pub first_run: Option<bootstrap::FirstRun>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, closes the pool.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops on its own (after a signal).
    pub async fn wait(self) -> Result<(), ServerError> {
        let res = self
            .task
            .await
            .map_err(|e| ServerError::Config(e.to_string()))?;
        self.state.app.db.close().await;
        Ok(res?)
    }
}

/// Finds the built site (`pkg/steward.js` and friends) without relying on the working directory.
pub fn find_site_root(explicit: Option<PathBuf>) -> Option<PathBuf> {
    let has_bundle = |p: &PathBuf| {
        p.join("pkg")
            .join(format!("{}.js", app::OUTPUT_NAME))
            .is_file()
    };
    if let Some(p) = explicit {
        return Some(p);
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.to_path_buf()));
    let mut candidates = Vec::new();
    if let Some(d) = exe_dir {
        // target/{release,debug}/steward → target/site; target/debug/deps/test → target/site
        candidates.push(d.join("site"));
        candidates.push(d.join("../site"));
        candidates.push(d.join("../../site"));
    }
    candidates
        .into_iter()
        .find(has_bundle)
        .map(|p| p.canonicalize().unwrap_or(p))
}

pub async fn connect_and_migrate(url: &str) -> Result<Db, ServerError> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    Ok(db)
}

/// Builds the state and router, runs migrations and first-run setup, and starts serving on
/// `listener`. The server stops when `shutdown` resolves.
pub async fn start(
    opts: ServeOptions,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, ServerError> {
    let addr = listener.local_addr()?;
    let public_origin = match &opts.public_url {
        Some(u) => config::origin_of(u)?,
        None => format!("http://{addr}"),
    };
    // Before anything else: a key others can read, or one that does not parse, stops the start.
    let signer =
        app::signing::Signer::load_or_create(&opts.data_dir, opts.signing_key_file.as_deref())
            .map_err(|e| ServerError::Config(e.to_string()))?;
    let db = connect_and_migrate(&opts.database_url).await?;
    let hasher = PasswordHasher::with_cost(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        opts.password_cost,
    )?;
    let clock = Clock::default();
    let blobs = app::evidence::blobs::FsBlobStore::new(&opts.data_dir).map_err(|e| {
        ServerError::Config(format!(
            "cannot use {} for stored files: {e}",
            opts.data_dir.join("blobs").display()
        ))
    })?;
    // Cost uploads are received here before they are imported (created on first use).
    let spool_dir = opts.data_dir.join("tmp");
    app::ingest::clean_spool(&spool_dir);
    let first_run = bootstrap::first_run(&db, &hasher, &clock, &opts.org_name, opts.demo).await?;

    let site_root = find_site_root(opts.site_root.clone());
    match &site_root {
        Some(p) => tracing::info!(site_root = %p.display(), "serving the browser bundle"),
        None => tracing::warn!("no browser bundle found (pkg/steward.js); pages render but do not hydrate. Build it with scripts/build.sh"),
    }
    let site_root = site_root.unwrap_or_else(|| PathBuf::from("target/site"));
    // The content-hashed names the build wrote; leptos names the loader and module by the stem.
    let assets = app::assets::init(&site_root);
    let leptos_options = LeptosOptions::builder()
        .output_name(assets.bundle.as_str())
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();

    let state = ServerState {
        app: AppState {
            leptos_options: leptos_options.clone(),
            db,
            hasher,
            clock,
            security: Arc::new(Security {
                trusted_proxies: opts.trusted_proxies.clone(),
                ..Security::new(public_origin)
            }),
            blobs: Arc::new(blobs),
            max_upload_bytes: opts.max_upload_bytes,
            upload_idle: opts.upload_idle,
            spool_dir: spool_dir.clone(),
            cost_sync: app::costs::sync::CostSync::new(opts.aws.clone()),
            cost_cube: Arc::new(app::costs::cube::Cube::with_dir(opts.data_dir.join("cube"))),
            refusals: Arc::new(Default::default()),
            signer,
            dashboard: Default::default(),
            sessions: Default::default(),
            budgets_due: Default::default(),
            budget_escalation: opts.budget_escalation,
            budget_summaries: Default::default(),
            outbox_due: Default::default(),
            export_dir: opts.data_dir.join("exports"),
            export_jobs: Default::default(),
            audit_min_days: opts.audit_min_days,
        },
        metrics: Arc::new(metrics::Metrics::default()),
        metrics_token: opts.metrics_token.clone().map(Into::into),
        pages: Default::default(),
    };
    // Builds a stopped server left unfinished are marked failed before any new one can start.
    app::exports::jobs::sweep(&state.app, true).await?;
    app::exports::jobs::schedule(state.app.clone(), std::time::Duration::from_secs(3600));
    let router = router(state.clone(), site_root);
    state
        .app
        .cost_sync
        .schedule(state.app.db.clone(), state.app.clock.clone());
    // Expired sessions, trusted devices and sign-in attempts are pruned in the background.
    app::auth::schedule_housekeeping(state.app.clone(), std::time::Duration::from_secs(600));
    // Reports read the cube; keep it loaded (a check is one small query when nothing changed).
    state
        .app
        .cost_cube
        .keep_warm(state.app.db.clone(), std::time::Duration::from_secs(30));
    // Budgets are evaluated when cost data lands here, and every minute for the rest.
    app::budgets::alerts::schedule(state.app.clone(), std::time::Duration::from_secs(60));
    // Control owners hear of evidence due soon or overdue, once a day.
    app::controls::reminders::schedule(state.app.clone(), std::time::Duration::from_secs(3600));
    app::audits::reminders::schedule(state.app.clone(), std::time::Duration::from_secs(3600));
    app::access_reviews::reminders::schedule(
        state.app.clone(),
        std::time::Duration::from_secs(3600),
    );
    app::vendors::reminders::schedule(state.app.clone(), std::time::Duration::from_secs(3600));
    app::retention::reminders::schedule(state.app.clone(), std::time::Duration::from_secs(3600));
    // Steward's own data: daily, the first run ten minutes after start (not during start-up).
    app::retention::own::schedule(
        state.app.clone(),
        std::time::Duration::from_secs(600),
        std::time::Duration::from_secs(24 * 3600),
    );
    // Uploads whose column mapping was never chosen (accounts, vendors) go after a day.
    app::tabular::pending::schedule_sweep(
        state.app.spool_dir.clone(),
        std::time::Duration::from_secs(3600),
    );
    // The outbox sends email and webhooks (woken when messages are queued).
    let mailer = match opts
        .mail
        .as_ref()
        .map(app::notifications::deliver::Mailer::new)
    {
        Some(Ok(m)) => Some(Arc::new(m)),
        Some(Err(e)) => return Err(ServerError::Config(format!("email: {e}"))),
        None => None,
    };
    app::notifications::deliver::Outbox::new(state.app.db.clone(), state.app.clock.clone(), mailer)
        .schedule(state.app.outbox_due.clone(), opts.outbox_interval);

    app::audit::checkpoint::schedule(
        state.app.db.clone(),
        state.app.signer.clone(),
        state.app.clock.clone(),
        std::time::Duration::from_secs(opts.checkpoint_interval_minutes.saturating_mul(60)),
    );

    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        tokio::select! {
            _ = shutdown => {},
            _ = rx => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    };
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .await
    });
    if let Some(fr) = &first_run {
        if opts.print_credentials {
            bootstrap::print_credentials(fr, &state.app.security.public_origin);
        }
    }
    tracing::info!(address = %addr, public = %state.app.security.public_origin, database = state.app.db.dialect().name(), "Steward is listening");
    Ok(Running {
        addr,
        state,
        first_run,
        shutdown: Some(tx),
        task,
    })
}

/// The app's page routes, generated once per process: leptos suppresses resource loading
/// process-wide while it generates a route list, so a page rendering on another server in the
/// same process (the tests run many) at that moment would hang forever (leptos-rs/leptos#4773).
/// Anything in the process that needs the list must come here, never generate it again.
pub fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

pub fn router(state: ServerState, site_root: PathBuf) -> Router {
    use axum::middleware::from_fn_with_state as mw;
    use tower::ServiceBuilder;
    let routes = route_list();
    let app_state = state.app.clone();
    let options = state.app.leptos_options.clone();
    Router::new()
        .route(app::paths::HEALTHZ, get(ops::healthz))
        .route(app::paths::READYZ, get(ops::readyz))
        .route(app::paths::METRICS, get(ops::metrics))
        // The areas' plain routes (uploads, downloads, file imports and exports).
        .merge(app::routes::router(state.app.clone()))
        .leptos_routes_with_context(
            &state,
            routes,
            move || leptos::prelude::provide_context(app_state.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(|| async { middleware::not_found() })
        .layer(
            ServiceBuilder::new()
                .layer(html_compression())
                .layer(tower_http::catch_panic::CatchPanicLayer::new())
                .layer(mw(state.clone(), middleware::request_context))
                .layer(mw(state.clone(), middleware::security_headers))
                .layer(axum::middleware::from_fn(timeout))
                .layer(mw(state.clone(), middleware::csrf))
                .layer(mw(state.clone(), middleware::guard))
                .layer(mw(state.clone(), page_cache::layer))
                // Errors of plain routes as a browser should see them (`app::reply`).
                .layer(mw(state.app.clone(), app::reply::error_reply))
                // Innermost: per-endpoint body limits (axum's own default is replaced).
                .layer(axum::extract::DefaultBodyLimit::disable())
                .layer(axum::middleware::from_fn(middleware::body_limit))
                .layer(axum::middleware::from_fn(middleware::server_fn_status)),
        )
        // Added after the stack, so outside it: static files need no session, nonce, CSRF
        // check or database.
        .merge(static_files(site_root))
        .with_state(state)
}

/// Pages and server-function replies compressed on the fly when the client accepts it and
/// they are worth it (over 1 KiB): brotli or gzip at a level cheap enough per request (4).
/// Only HTML and JSON: files people download (evidence, exports) go out as they are stored.
fn html_compression(
) -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{Predicate, SizeAbove};
    use tower_http::compression::{CompressionLayer, CompressionLevel};
    let textual =
        |_: http::StatusCode, _: http::Version, headers: &http::HeaderMap, _: &http::Extensions| {
            headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/json"))
        };
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .quality(CompressionLevel::Precise(4))
        .compress_when(SizeAbove::new(1024).and(textual))
}

/// The bundle (from memory, `statics`) and the icon, as a static file server would send them.
fn static_files<S: Clone + Send + Sync + 'static>(site_root: PathBuf) -> Router<S> {
    Router::new()
        .route(app::paths::FAVICON, get(ops::favicon))
        .merge(statics::router(&site_root))
        .layer(axum::middleware::from_fn(middleware::static_headers))
}

/// Requests get 60 s to produce a response (503 after), except those whose endpoint streams its
/// body (uploads: a large file on a slow link takes longer; they bound their own size and
/// abandon stalled streams).
async fn timeout(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if middleware::matched(&req).is_some_and(|e| !e.timed()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(std::time::Duration::from_secs(60), next.run(req)).await {
        Ok(res) => res,
        Err(_) => http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
