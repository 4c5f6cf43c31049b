use super::*;

both_dbs!(health_readiness_and_metrics, |app| {
    let c = app.client();
    assert_eq!(app.get(&c, "/healthz").await.text().await.unwrap(), "ok\n");
    let r = app.get(&c, "/readyz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get(&c, "/metrics").await.status(), 401);
    let fin = app.client_as(Role::Finance).await;
    assert_eq!(app.get(&fin, "/metrics").await.status(), 403);
    let _ = app.get(&fin, "/").await;
    let admin = app.client_as(Role::Admin).await;
    let text = app.get(&admin, "/metrics").await.text().await.unwrap();
    assert!(
        text.contains("steward_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("steward_http_request_duration_seconds_bucket{route=\"/\",method=\"GET\",status=\"200\",le=\"+Inf\"} 1"));
    assert!(text.contains("steward_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("steward_password_verifications_total"));
    // A scraper with the token needs no session.
    let r = c
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
});

both_dbs!(security_headers_and_request_ids, |app| {
    let c = app.client_as(Role::Admin).await;
    let r = c
        .get(app.url("/"))
        .header("X-Request-Id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    let h = r.headers().clone();
    assert_eq!(h["x-request-id"], "trace-abc.123");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "same-origin");
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce")
        .to_string();
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\">")),
        "hydration script carries the nonce"
    );
    // A fresh nonce on every response.
    let r2 = app.get(&c, "/").await;
    assert!(!r2.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&nonce));
    // A bad request id is replaced.
    let r = c
        .get(app.url("/healthz"))
        .header("X-Request-Id", "bad id")
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "bad id");
    // Non-page responses get a deny-all CSP.
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    // Unknown paths are 404 before any handler.
    assert_eq!(app.get(&c, "/nope").await.status(), 404);
    assert_eq!(app.get(&c, "/api/not_a_function").await.status(), 404);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_finishes_and_closes() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let c = app.client_as(Role::Admin).await;
    let url = app.url("/");
    let inflight =
        tokio::spawn(async move { c.get(url).send().await.map(|r| r.status().as_u16()) });
    let base = app.base.clone();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.stop().await;
    assert_eq!(inflight.await.unwrap().unwrap_or(200), 200);
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer listening"
    );
}

// Pages keep rendering while other servers start in the same process. Leptos pauses resource
// loading process-wide while it builds a route list; a render caught in that window used to
// hang until the 60 s request timeout (the rare CI failure, leptos-rs/leptos#4773).
both_dbs!(pages_render_while_other_servers_start, |app| {
    use std::sync::atomic::{AtomicBool, Ordering};
    let admin = app.client_as(Role::Admin).await;
    let started = AtomicBool::new(false);
    let starting = async {
        for _ in 0..8 {
            if let Some(other) = TestApp::spawn(Backend::Sqlite).await {
                other.stop().await;
            }
        }
        started.store(true, Ordering::SeqCst);
    };
    let rendering = async {
        let mut statuses = Vec::new();
        while !started.load(Ordering::SeqCst) {
            let r = admin
                .get(app.url("/"))
                .timeout(std::time::Duration::from_secs(15))
                .send()
                .await;
            statuses.push(r.map(|r| r.status().as_u16()).map_err(|e| e.to_string()));
        }
        statuses
    };
    let ((), statuses) = tokio::join!(starting, rendering);
    let bad: Vec<_> = statuses.iter().filter(|s| *s != &Ok(200)).collect();
    assert!(
        bad.is_empty(),
        "{} of {} renders failed: {bad:?}",
        bad.len(),
        statuses.len()
    );
});
