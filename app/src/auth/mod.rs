//! Authentication: sign in and out, one's own account, sessions, throttling, password policy.

#[cfg(feature = "ssr")]
pub mod cache;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod password;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod throttle;

/// Prunes expired trusted devices every `every`. Sessions and sign-in attempts are records
/// kept under their retention rules: the retention job disposes of them, daily, with a
/// tombstone (`retention::own`).
#[cfg(feature = "ssr")]
pub fn schedule_housekeeping(state: crate::state::AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.db.pool().is_closed() {
                return;
            }
            match session::prune(&state).await {
                Ok(n) if n > 0 => tracing::debug!(devices = n, "housekeeping"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                _ => {}
            }
        }
    });
}

use crate::context::CurrentUser;
use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;

/// Where someone whose password an administrator set is sent until they choose their own.
pub const MUST_CHANGE_PATH: &str = "/account?must_change=1";

/// What such a user may still reach (besides static files): the account page to change the
/// password, the change itself, signing out, and who they are.
pub fn allowed_before_password_change(path: &str) -> bool {
    path == crate::paths::ACCOUNT
        || matches!(path, "/api/change_password" | "/api/logout" | "/api/me")
}

/// Where to go after signing in: only a path on this site, never another site. Browsers drop
/// tabs and newlines from URLs (`/\t/evil.example` becomes `//evil.example`) and treat `\` as
/// `/`, so any control character, whitespace or backslash refuses the value outright.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => "/".to_string(),
    }
}

fn is_local_path(n: &str) -> bool {
    let plain = n.len() < 512
        && n.starts_with('/')
        && !n.starts_with("//")
        && !n
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    // Belt and braces on the server: resolved against this site, it must stay on it.
    #[cfg(feature = "ssr")]
    let plain = plain
        && url::Url::parse("http://steward.invalid/")
            .and_then(|base| base.join(n))
            .is_ok_and(|u| u.host_str() == Some("steward.invalid") && u.port().is_none());
    plain
}

#[server(endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    service::login(username, password, next).await
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    service::logout().await
}

#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    service::change_password(current_password, new_password, confirm_password).await
}

/// The signed-in user, or `None`.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    let Some(mut user) = crate::context::session_user().map(|s| s.user) else {
        return Ok(None);
    };
    // The bell's count travels with the user: one resource for the menu, so hydration
    // meets the same resources in the same order on every page.
    let state = crate::state::app_state()?;
    user.unread = crate::notifications::store::unread(&state.db, user.id).await?;
    Ok(Some(user))
}

pub type MeResource = Resource<Result<Option<CurrentUser>, AppError>>;

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for ok in [
            "/",
            "/audit",
            "/controls?status=overdue&x=%2F%2Fevil",
            "/a/b#c",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "evil.example",
            "/\u{0}/x",
            "/\u{a0}/evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(600)))), "/");
        assert_eq!(safe_next(None), "/");
    }
}
