//! Operational endpoints: liveness, readiness, Prometheus metrics, the favicon.

use crate::metrics::gauge;
use crate::ServerState;
use axum::extract::State;
use axum::response::IntoResponse;
use http::{header, StatusCode};

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// Ready when the database answers and every migration of this build is applied.
pub async fn readyz(State(st): State<ServerState>) -> impl IntoResponse {
    let db = &st.app.db;
    let ping: Result<i64, _> = sqlx::query_scalar("SELECT 1").fetch_one(db.pool()).await;
    match (ping, db.migrations_current().await) {
        (Ok(_), Ok(true)) => (StatusCode::OK, "ready\n".to_string()),
        (Ok(_), Ok(false)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations pending\n".to_string(),
        ),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable\n".to_string(),
            )
        }
    }
}

pub async fn metrics(State(st): State<ServerState>) -> impl IntoResponse {
    let mut out = String::new();
    st.metrics.render(&mut out);
    let pool = st.app.db.pool();
    let size = pool.size() as u64;
    let idle = pool.num_idle() as u64;
    gauge(
        &mut out,
        "steward_db_pool_connections",
        "Database pool connections by state.",
        "gauge",
        &[
            ("state=\"in_use\"", size.saturating_sub(idle)),
            ("state=\"idle\"", idle),
        ],
    );
    gauge(
        &mut out,
        "steward_db_pool_max_connections",
        "Database pool size limit.",
        "gauge",
        &[("", pool.options().get_max_connections() as u64)],
    );
    gauge(
        &mut out,
        "steward_password_verifications_total",
        "Password verifications performed (sign-ins and password changes).",
        "counter",
        &[("", st.app.hasher.verifications())],
    );
    let (rows, bytes) = st.app.cost_cube.size();
    gauge(
        &mut out,
        "steward_cost_cube_rows",
        "Rollup rows held in memory for cost reports.",
        "gauge",
        &[("", rows as u64)],
    );
    gauge(
        &mut out,
        "steward_cost_cube_bytes",
        "Heap bytes of the cost report cube.",
        "gauge",
        &[("", bytes as u64)],
    );
    gauge(
        &mut out,
        "steward_page_cache_pages",
        "Rendered pages kept for the current data version.",
        "gauge",
        &[("", st.pages.len() as u64)],
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><path d=\"M8 1l7 7-7 7-7-7z\" fill=\"#1f5f8b\"/></svg>";

pub async fn favicon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON)
}
