//! Browser tests: headless Debian Chromium through chromedriver (W3C WebDriver).
//! - hydrated: sign in, prove hydration (a filter handled client-side, no page load), sign out;
//!   a screenshot is saved under target/test-artifacts/.
//! - JavaScript disabled: sign in, create a user, sign out, with plain forms only.
//!
//! - compliance: import a framework, create and map a control, upload evidence, see it effective.
//! - finance: import the FOCUS sample, report by service, download the CSV.
//!
//! All run on SQLite and on PostgreSQL: each is written once, in `browser_test!`.

use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use steward_tests::{free_port, Backend, TestApp};

/// Defines the tests `<name>::sqlite` and `<name>::postgres` (as `both_dbs!` does), running the
/// same body on a fresh server on each database (PostgreSQL skipped when unreachable outside
/// CI). `browser_test!(name, |app| { … })`, or with changed server options:
/// `browser_test!(name, spawn = |o| …, |app| { … })`.
macro_rules! browser_test {
    ($name:ident, |$app:ident| $body:block) => {
        browser_test!($name, spawn = |_| {}, |$app| $body);
    };
    ($name:ident, spawn = $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn_with(Backend::Sqlite, $tweak)
                    .await
                    .expect("sqlite app");
                run(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::spawn_with(Backend::Postgres, $tweak).await {
                    run(app).await;
                }
            }
        }
    };
}

struct Driver {
    child: Child,
    _profile: PathGuard,
}

struct PathGuard(std::path::PathBuf);

impl Driver {
    fn downloads(&self) -> std::path::PathBuf {
        self._profile.0.join("downloads")
    }
}
impl Drop for PathGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(javascript: bool) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (scripts/setup.sh --test installs Debian's chromium-driver)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = std::env::temp_dir().join(format!("steward-chromium-{port}"));
    let binary = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromium installed");
    let mut opts = serde_json::json!({
        "binary": binary,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
        ],
    });
    // Downloads land in the profile, where tests read them.
    opts["prefs"] = serde_json::json!({
        "download.default_directory": profile.join("downloads").to_string_lossy(),
        "download.prompt_for_download": false,
    });
    if !javascript {
        opts["prefs"]["profile.managed_default_content_settings.javascript"] = 2.into();
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert("goog:chromeOptions".into(), opts);
    // The console (errors, CSP violations) is read back by `assert_clean_console`.
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({ "browser": "ALL" }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session");
    (
        Driver {
            child,
            _profile: PathGuard(profile),
        },
        client,
    )
}

/// chromedriver's log endpoint (the console since the last read).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// Fails on any console error or Content-Security-Policy violation since the last check:
/// every page a test visits must be clean (a CSP violation means a page lost a style or a
/// script the browser refused).
async fn assert_clean_console(c: &Client, context: &str) {
    let entries = c
        .issue_cmd(BrowserLog)
        .await
        .expect("read the browser console");
    let problems: Vec<String> = entries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            let message = e["message"].as_str().unwrap_or_default();
            e["level"] == "SEVERE"
                || message.contains("Content Security Policy")
                || message.contains("Content-Security-Policy")
        })
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        problems.is_empty(),
        "console errors or CSP violations {context}:\n{}",
        problems.join("\n")
    );
}

/// Goes to a page, then checks the console of everything up to and including it.
async fn visit(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    assert_clean_console(c, &format!("at {url}")).await;
}

async fn wait_for_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected to reach {path}, still at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The element's text, waiting for it: a hydrated page may be re-rendering (a GET form
/// submitted through the router swaps the table) when the test asks.
async fn text(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await,
            Err(e) => Err(e),
        };
        match found {
            Ok(t) => return t,
            Err(e) if Instant::now() >= deadline => panic!("{css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn sign_in(c: &Client, app: &TestApp, user: &str) {
    visit(c, &app.url("/login")).await;
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(&app.password(user).await)
        .await
        .unwrap();
    c.find(Locator::Css("#login-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(c, "/").await;
}

fn artifact(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .find(|p| p.ends_with("target"))
        .unwrap_or(exe.parent().unwrap())
        .to_path_buf();
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

async fn hydrated_flow(app: TestApp) {
    let backend = app.db.backend;
    assert!(
        server::find_site_root(None).is_some(),
        "the wasm bundle is built (scripts/build.sh --site-only)"
    );
    let (_driver, c) = start(true).await;
    sign_in(&c, &app, "admin").await;
    assert_eq!(text(&c, "h1").await, "Test organisation");

    visit(&c, &app.url("/admin/users")).await;
    assert_eq!(text(&c, "#user-count").await, "Showing 4 of 4 users");
    // Mark this page: a full page load would wipe the mark.
    c.execute("window.__stewardMark = 42; return null;", vec![])
        .await
        .unwrap();
    let started = Instant::now();
    let count = loop {
        let input = c.find(Locator::Css("#user-filter")).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys("auditor").await.unwrap();
        let t = text(&c, "#user-count").await;
        if t != "Showing 4 of 4 users" || started.elapsed() > Duration::from_secs(20) {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        count, "Showing 1 of 4 users",
        "the filter ran in the browser (hydrated)"
    );
    let mark = c
        .execute("return window.__stewardMark;", vec![])
        .await
        .unwrap();
    assert_eq!(
        mark,
        serde_json::json!(42),
        "no page load happened: the change was client-side"
    );
    let visible = c
        .execute("return [...document.querySelectorAll('tbody tr')].filter(r => !r.hidden).map(r => r.dataset.username);", vec![])
        .await
        .unwrap();
    assert_eq!(visible, serde_json::json!(["auditor"]));
    eprintln!(
        "hydration: first client-side reaction {} ms after the page loaded",
        started.elapsed().as_millis()
    );
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        artifact(&format!("browser-users-{backend:?}.png").to_lowercase()),
        png,
    )
    .unwrap();

    // Sign out through the hydrated form; the server's redirect loads the sign-in page.
    c.find(Locator::Css("form[action='/api/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/login").await;
    visit(&c, &app.url("/admin/users")).await;
    wait_for_path(&c, "/login").await;
    assert_clean_console(&c, "at the end").await;
    c.close().await.unwrap();
    app.stop().await;
}

// The user list needs every role's demo user from the start.
browser_test!(
    hydrated_sign_in_filter_sign_out,
    spawn = |o| o.demo = true,
    |app| { hydrated_flow(app).await }
);

async fn no_javascript_flow(app: TestApp) {
    let backend = app.db.backend;
    let (_driver, c) = start(false).await;
    // With JavaScript off, a wrong password comes back as a rendered error.
    visit(&c, &app.url("/login")).await;
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("definitely wrong")
        .await
        .unwrap();
    c.find(Locator::Css("#login-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.find(Locator::Css("p.error")).await.is_err() {
        assert!(Instant::now() < deadline, "no error shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&c, "p.error").await, "Invalid username or password.");
    sign_in(&c, &app, "admin").await;
    visit(&c, &app.url("/admin/users")).await;
    for (css, value) in [
        ("#new-username", "nojs.user"),
        ("#new-display", "Plain Form Person"),
        ("#new-password", "hollow violet engine 5"),
    ] {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Css("#create-user-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let src = c.source().await.unwrap();
        if src.contains("Plain Form Person") {
            break;
        }
        assert!(Instant::now() < deadline, "the new user did not appear");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        artifact(&format!("browser-nojs-{backend:?}.png").to_lowercase()),
        png,
    )
    .unwrap();
    c.find(Locator::Css("form[action='/api/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/login").await;
    assert_clean_console(&c, "at the end").await;
    c.close().await.unwrap();
    assert!(app
        .audit_actions()
        .await
        .contains(&"user.create".to_string()));
    app.stop().await;
}

browser_test!(forms_without_javascript, |app| {
    no_javascript_flow(app).await
});

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn type_into(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(value)
        .await
        .unwrap();
}

/// Waits until an element matching `css` exists (the page may still be loading or hydrating).
/// Sets a form field's value the way a person's input would (date inputs take no typing in a
/// locale-neutral way).
async fn set_value(c: &Client, css: &str, value: &str) {
    c.execute(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input', { bubbles: true })); return null;",
        vec![serde_json::json!(css), serde_json::json!(value)],
    )
    .await
    .unwrap_or_else(|e| panic!("{css}: {e}"));
}

async fn wait_until_url_has(c: &Client, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.unwrap();
        if url.as_str().contains(part) {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never held {part}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.find(Locator::Css(css)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{css} did not appear on {}",
            c.current_url().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A compliance officer imports the built-in baseline, creates a control, maps it, uploads
/// evidence from the control's page and sees its status turn effective.
async fn compliance_flow(app: TestApp) {
    let backend = app.db.backend;
    let (_driver, c) = start(true).await;
    sign_in(&c, &app, "compliance").await;

    visit(&c, &app.url("/frameworks")).await;
    wait_for(&c, "form[action='/api/import_builtin_framework'] button").await;
    click(&c, "form[action='/api/import_builtin_framework'] button").await;
    wait_for(&c, "article.framework").await;
    assert!(text(&c, "article.framework h2").await.contains("800-53"));

    visit(&c, &app.url("/controls")).await;
    wait_for(&c, "#create-control-form").await;
    type_into(&c, "#c-ref-new", "IAM-07").await;
    type_into(&c, "#c-title-new", "Quarterly access review").await;
    click(&c, "#c-cadence-new option[value='quarterly']").await;
    click(&c, "#create-control-form button[type=submit]").await;
    // The server sends the browser to the new control's page.
    let deadline = Instant::now() + Duration::from_secs(20);
    let control_path = loop {
        let p = c.current_url().await.unwrap().path().to_string();
        if p.starts_with("/controls/") {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "no redirect to the control, at {p}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    wait_for(&c, "#control-status[data-status='no_evidence']").await;

    wait_for(&c, "#map-form").await;
    type_into(&c, "#m-req", "AC-2").await;
    click(&c, "#map-form button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.source().await.unwrap().contains("class=\"mappings\"") {
        assert!(Instant::now() < deadline, "the mapping did not appear");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text(&c, "ul.mappings").await.contains("AC-2"));

    click(&c, "#add-evidence").await;
    wait_for_path(&c, "/evidence/new").await;
    wait_for(&c, "#ev-title").await;
    type_into(&c, "#ev-title", "Q4 access review sign-off").await;
    let pdf = std::env::temp_dir().join(format!("steward-evidence-{}.pdf", free_port()));
    std::fs::write(
        &pdf,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
    )
    .unwrap();
    type_into(&c, "#ev-file", pdf.to_str().unwrap()).await;
    click(&c, "#evidence-new-form button[type=submit]").await;
    // Back on the control's page, with the evidence, the status has turned effective.
    wait_for_path(&c, &control_path).await;
    wait_for(&c, "#control-status[data-status='effective']").await;
    assert!(text(&c, "ol.timeline")
        .await
        .contains("Q4 access review sign-off"));
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        artifact(&format!("browser-control-{backend:?}.png").to_lowercase()),
        png,
    )
    .unwrap();
    let _ = std::fs::remove_file(pdf);
    // The dashboard's posture tile now draws coverage bars: still clean under the page CSP,
    // and the bar is drawn to its percentage.
    visit(&c, &app.url("/")).await;
    wait_for(&c, ".coverage svg.bar rect.bar-fill").await;
    let width = c
        .execute(
            "return document.querySelector('.coverage svg.bar rect.bar-fill').getAttribute('width');",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        width.as_str().is_some_and(|w| w.parse::<u32>().is_ok()),
        "{width}"
    );
    assert_clean_console(&c, "at the end").await;
    c.close().await.unwrap();
    let actions = app.audit_actions().await;
    for a in ["framework.import", "control.create", "control.map"] {
        assert!(actions.contains(&a.to_string()), "{a}: {actions:?}");
    }
    app.stop().await;
}

browser_test!(
    compliance_officer_maps_a_control_and_evidence_makes_it_effective,
    |app| { compliance_flow(app).await }
);

/// Finance imports the FOCUS sample, opens the report grouped by service and downloads the CSV.
async fn finance_flow(app: TestApp) {
    let backend = app.db.backend;
    let (driver, c) = start(true).await;
    sign_in(&c, &app, "finance").await;
    visit(&c, &app.url("/costs/import")).await;
    wait_for(&c, "#cost-file").await;
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/focus/focus-1.0-sample.csv");
    type_into(&c, "#cost-file", sample.to_str().unwrap()).await;
    click(&c, "#cost-upload-form button[type=submit]").await;
    wait_for(&c, "#import-result").await;
    assert!(text(&c, "#import-result")
        .await
        .contains("imported 'focus-1.0-sample.csv'"));
    wait_for(&c, "#batches tr[data-status='active']").await;

    visit(
        &c,
        &app.url("/costs?from=2024-09-01&to=2024-09-30&granularity=monthly"),
    )
    .await;
    wait_for(&c, "#report-table").await;
    click(&c, "#r-group option[value='service']").await;
    click(&c, "#report-form button[type=submit]").await;
    wait_until_url_has(&c, "group_by=service").await;
    wait_for(&c, "#report-table tbody tr[data-group]").await;
    let grand = text(&c, "#grand-total").await;
    assert_eq!(grand, "20.52", "the sample's billed total in cents");
    assert!(
        c.find(Locator::Css("#cost-chart rect")).await.is_ok(),
        "the chart has bars"
    );
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        artifact(&format!("browser-costs-{backend:?}.png").to_lowercase()),
        png,
    )
    .unwrap();

    click(&c, "#export-csv").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let csv = loop {
        let done = std::fs::read_dir(driver.downloads()).ok().and_then(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "csv"))
        });
        if let Some(p) = done {
            break std::fs::read_to_string(p).unwrap();
        }
        assert!(Instant::now() < deadline, "no CSV was downloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(csv.starts_with("Service,2024-09,Total\n"), "{csv}");
    assert!(csv.trim_end().ends_with("Total,20.52,20.52"), "{csv}");
    assert_clean_console(&c, "at the end").await;
    c.close().await.unwrap();
    assert!(app
        .audit_actions()
        .await
        .contains(&"costs.imported".to_string()));
    app.stop().await;
}

browser_test!(
    finance_imports_reports_by_service_and_downloads_csv,
    |app| { finance_flow(app).await }
);

/// Evidence upload in a real browser: the hydrated form (sent with XMLHttpRequest, which
/// checks the size limit before sending) and the plain multipart form without JavaScript.
async fn evidence_upload_flow(app: TestApp, javascript: bool) {
    let backend = app.db.backend;
    let control: i64 = {
        let pool = app.db.pool().await;
        let now = app::util::ts(time::OffsetDateTime::now_utc());
        let id = sqlx::query_scalar(
            "INSERT INTO controls (ref, title, created_at, updated_at) VALUES ('AC-2', 'Account reviews', $1, $1) RETURNING id",
        )
        .bind(&now)
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        id
    };
    let files = std::env::temp_dir().join(format!("steward-browser-files-{}", free_port()));
    std::fs::create_dir_all(&files).unwrap();
    let _cleanup = PathGuard(files.clone());
    let small = files.join("access-review.pdf");
    std::fs::write(&small, b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n").unwrap();
    let big = files.join("too-big.pdf");
    let mut big_bytes = b"%PDF-1.7\n".to_vec();
    big_bytes.resize(2 * 1024 * 1024, b'x');
    std::fs::write(&big, big_bytes).unwrap();

    let (_driver, c) = start(javascript).await;
    sign_in(&c, &app, "compliance").await;
    visit(&c, &app.url(&format!("/evidence/new?control={control}"))).await;
    let checked = c
        .execute(
            "return document.querySelector('input[name=controls]').checked;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(checked, serde_json::json!(true), "?control= preselects it");
    c.find(Locator::Css("#ev-title"))
        .await
        .unwrap()
        .send_keys("Access review Q3")
        .await
        .unwrap();
    let file_input = c.find(Locator::Css("#ev-file")).await.unwrap();
    if javascript {
        // Hydrated: a file over the limit is refused in the page, before any upload.
        c.execute("window.__stewardMark = 7; return null;", vec![])
            .await
            .unwrap();
        file_input.send_keys(big.to_str().unwrap()).await.unwrap();
        c.find(Locator::Css("#evidence-new-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while c
            .find(Locator::Css("#evidence-new-form p.error"))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "no size error shown");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(text(&c, "#evidence-new-form p.error")
            .await
            .contains("larger than the upload limit of 1 MiB"));
        let mark = c
            .execute("return window.__stewardMark;", vec![])
            .await
            .unwrap();
        assert_eq!(
            mark,
            serde_json::json!(7),
            "refused without leaving the page"
        );
        file_input.clear().await.unwrap();
    }
    file_input.send_keys(small.to_str().unwrap()).await.unwrap();
    c.find(Locator::Css("#evidence-new-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let url = c.current_url().await.unwrap();
        if let Some(id) = url
            .path()
            .strip_prefix("/evidence/")
            .and_then(|s| s.parse::<i64>().ok())
        {
            break id;
        }
        assert!(Instant::now() < deadline, "still at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.source().await.unwrap().contains("access-review.pdf") {
        assert!(Instant::now() < deadline, "the version is not listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&c, "h1").await, "Access review Q3");
    let png = c.screenshot().await.unwrap();
    let mode = if javascript { "hydrated" } else { "nojs" };
    std::fs::write(
        artifact(&format!("browser-evidence-{mode}-{backend:?}.png").to_lowercase()),
        png,
    )
    .unwrap();
    assert_clean_console(&c, "at the end").await;
    c.close().await.unwrap();
    assert!(app
        .audit_actions()
        .await
        .contains(&"evidence.created".to_string()));
    assert!(id > 0);
    app.stop().await;
}

/// A 1 MiB upload limit, for the evidence tests.
fn small_uploads(o: &mut server::ServeOptions) {
    o.max_upload_bytes = 1024 * 1024;
}

browser_test!(evidence_upload_hydrated, spawn = small_uploads, |app| {
    evidence_upload_flow(app, true).await
});

browser_test!(
    evidence_upload_without_javascript,
    spawn = small_uploads,
    |app| { evidence_upload_flow(app, false).await }
);

/// An administrator signs a checkpoint from the Settings page; it shows as verified. Hydrated,
/// without a page load; without JavaScript, through the plain form post.
async fn settings_flow(app: TestApp, javascript: bool) {
    let backend = app.db.backend;
    let (_driver, c) = start(javascript).await;
    sign_in(&c, &app, "admin").await;
    visit(&c, &app.url("/settings")).await;
    wait_for(&c, "#public-key").await;
    assert_eq!(
        text(&c, "#public-key").await,
        app.state().app.signer.public_key_b64()
    );
    assert!(c.find(Locator::Css("#checkpoints")).await.is_err());
    c.execute("window.__stewardMark = 7; return null;", vec![])
        .await
        .unwrap();
    // Hydrated, the button must be live before the click counts.
    if javascript {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    click(&c, "#sign-form button").await;
    wait_for(&c, "#checkpoints tbody tr[data-verified=true]").await;
    let row = text(&c, "#checkpoints tbody tr").await;
    assert!(row.contains("yes"), "{row}");
    let mark = c
        .execute("return window.__stewardMark ?? null;", vec![])
        .await
        .unwrap();
    assert_eq!(
        mark == serde_json::json!(7),
        javascript,
        "a page load happens only without JavaScript"
    );
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        artifact(&format!("browser-settings-{backend:?}-js-{javascript}.png").to_lowercase()),
        png,
    )
    .unwrap();
    assert_clean_console(&c, "at the end").await;
    c.close().await.unwrap();
    app.stop().await;
}

browser_test!(settings_sign_checkpoint_hydrated, |app| {
    settings_flow(app, true).await
});

browser_test!(settings_sign_checkpoint_without_javascript, |app| {
    settings_flow(app, false).await
});

/// What a first visit moves, read from the browser's Performance API: every resource's bytes
/// on the wire and decoded; then a second visit, which takes the content-named bundle from
/// the cache without asking the server.
async fn first_visit_transfer(app: TestApp) {
    let (_driver, c) = start(true).await;
    let entries = "const all = [performance.getEntriesByType('navigation')[0], \
                   ...performance.getEntriesByType('resource')]; \
                   const wasm = all.find(e => e && e.name.endsWith('.wasm')); \
                   if (!wasm || !(wasm.responseEnd > 0)) return null; \
                   return all.map(e => [e.name, e.transferSize, e.encodedBodySize, e.decodedBodySize]);";
    let read = |c: Client| async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = c.execute(entries, vec![]).await.unwrap();
            if let Some(list) = v.as_array() {
                return list
                    .iter()
                    .map(|e| {
                        let n = |i: usize| e[i].as_f64().unwrap_or(0.0) as u64;
                        (e[0].as_str().unwrap_or("").to_string(), n(1), n(2), n(3))
                    })
                    .collect::<Vec<_>>();
            }
            assert!(
                Instant::now() < deadline,
                "the wasm module was never fetched"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    visit(&c, &app.url("/login")).await;
    let first = read(c.clone()).await;
    let (wire, decoded): (u64, u64) = first.iter().fold((0, 0), |(w, d), e| (w + e.1, d + e.3));
    println!(
        "first visit to /login: {} requests, {} KB on the wire, {} KB decoded",
        first.len(),
        wire / 1000,
        decoded / 1000
    );
    for (name, transfer, encoded, decoded) in &first {
        println!("  {name}: {transfer} B transferred, {encoded} B encoded, {decoded} B decoded");
    }
    let wasm = first.iter().find(|e| e.0.ends_with(".wasm")).unwrap();
    let file = wasm.0.rsplit('/').next().unwrap();
    assert!(
        app::assets::is_hashed_name(file),
        "the module has a content name: {file}"
    );
    assert!(
        wasm.2 * 2 < wasm.3,
        "the module travels compressed: {} of {} bytes",
        wasm.2,
        wasm.3
    );
    // Before content names and compression a first visit moved 1.85 MB.
    assert!(wire < 900_000, "a first visit moves {wire} bytes");

    // Again, in the same browser: the bundle comes from the cache, not the network.
    visit(&c, &app.url("/login")).await;
    let second = read(c.clone()).await;
    for e in second.iter().filter(|e| e.0.contains("/pkg/steward.")) {
        assert_eq!(e.1, 0, "{} was fetched again: {} bytes", e.0, e.1);
    }
    assert_clean_console(&c, "after the second visit").await;
    c.close().await.unwrap();
    app.stop().await;
}

browser_test!(
    a_first_visit_moves_the_bundle_compressed_and_a_second_none,
    |app| { first_visit_transfer(app).await }
);

// After `browser_test!`, which it uses.
mod access;
mod audits;
mod budgets;
mod frameworks;
mod retention;
mod vendors;
