//! What a security review and a hostile client found (issue 8), each as a test that failed on
//! the code before the fix: sign-in throttling under concurrency and shared addresses, forced
//! password changes, trusted devices, `next` and request ids (`signin`); uploads that stall or
//! never end (`uploads`); and the binary with made-up requests, hostile cost files, `--help`,
//! demo users and a closed stdout (`binary`).

mod binary;
mod signin;
mod uploads;

use super::*;

pub fn ok(status: reqwest::StatusCode) -> bool {
    status.is_success() || status.is_redirection()
}

pub async fn count_where(app: &TestApp, sql: &str) -> i64 {
    let pool = app.db.pool().await;
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

/// A signed-in user's session token.
pub async fn token_for(app: &TestApp, user: &str) -> String {
    let r = app
        .login(&app.client(), user, &app.password(user).await)
        .await;
    cookie_value(&session_cookie(&r).expect("session"))
}
