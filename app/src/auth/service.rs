//! Sign-in, sign-out and password change: the server side of the auth server functions.

use super::{password, safe_next, session, throttle};
use crate::context::{request_headers, request_meta, require_user, set_response_header};
use crate::error::AppError;
use crate::state::{app_state, audit_ctx};
use http::header::SET_COOKIE;
use sqlx::Row;

/// The one message for every failed sign-in, so nobody learns which usernames exist.
const BAD_CREDENTIALS: &str = "Invalid username or password.";

pub fn normalize_username(u: &str) -> String {
    u.trim().to_lowercase()
}

/// The throttle's view of this attempt: the account, the client's address, and the trusted
/// device when the browser shows one that belongs to the account.
async fn attempt(
    state: &crate::state::AppState,
    account: &str,
    user_id: Option<i64>,
    purpose: throttle::Purpose,
) -> Result<throttle::Attempt, AppError> {
    let device = session::read_cookie(
        &request_headers(),
        session::device_cookie_name(&state.security),
    );
    let device = match (device.as_deref(), user_id) {
        (Some(tok), Some(id)) => session::trusted_device(state, tok, id).await?,
        _ => None,
    };
    Ok(throttle::Attempt {
        account: account.to_string(),
        client: throttle::client_key(&request_meta().client_addr),
        device,
        purpose,
    })
}

/// Counts the attempt before any password is verified; a refusal is noted (once per window)
/// and returned.
async fn reserve(
    state: &crate::state::AppState,
    a: &throttle::Attempt,
    actor: Option<&crate::context::CurrentUser>,
) -> Result<throttle::Reservation, AppError> {
    let now = state.clock.now();
    let cfg = &state.security.throttle;
    match throttle::reserve(&state.db, cfg, a, now).await {
        Err(e @ AppError::Throttled { .. }) => {
            let ctx = audit_ctx(state, actor);
            throttle::note_refusal(&state.db, &state.refusals, cfg, &ctx, a, now).await?;
            Err(e)
        }
        other => other,
    }
}

pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    let state = app_state()?;
    let meta = request_meta();
    let now = state.clock.now();
    let account = normalize_username(&username);
    let account_key: String = account.chars().take(128).collect();

    let user = sqlx::query(
        "SELECT id, username, password_hash, active, access_expires_at, must_change_password \
         FROM users WHERE username = $1",
    )
    .bind(&account_key)
    .fetch_optional(state.db.pool())
    .await?;
    let user_id: Option<i64> = user.as_ref().map(|r| r.try_get("id")).transpose()?;
    let attempt = attempt(&state, &account_key, user_id, throttle::Purpose::Login).await?;
    let reservation = reserve(&state, &attempt, None).await?;

    let phc: Option<String> = user
        .as_ref()
        .map(|r| r.try_get("password_hash"))
        .transpose()?;
    let ok = state.hasher.verify(&password, phc.as_deref()).await?;
    let (active, access_expires, must_change) = match &user {
        Some(r) => (
            r.try_get::<i64, _>("active")?,
            r.try_get::<Option<String>, _>("access_expires_at")?,
            r.try_get::<i64, _>("must_change_password")? == 1,
        ),
        None => (0, None, false),
    };
    let open = session::account_open(active, access_expires.as_deref(), now);

    let mut tx = state.db.write().await?;
    match (user_id, ok, open) {
        (Some(id), true, true) => {
            // A new session id at every sign-in; the old one (if any) ends.
            if let Some(old) = crate::context::session_user() {
                session::end(tx.conn(), old.session_id).await?;
            }
            let token = session::create(&mut tx, &state.security, id, now, &meta).await?;
            throttle::succeeded(tx.conn(), reservation, &attempt).await?;
            let device_token = if attempt.device.is_some() {
                None
            } else {
                Some(session::trust_device(&mut tx, id, now).await?)
            };
            let ctx = audit_ctx(&state, None);
            let mut ev = ctx.event(
                "auth.login",
                "user",
                id,
                if must_change {
                    "signed in; must change the password an administrator set"
                } else {
                    "signed in"
                },
            );
            ev.actor_id = Some(id);
            ev.actor = account_key.clone();
            tx.audit(ev).await?;
            tx.commit().await?;
            set_response_header(SET_COOKIE, session::session_cookie(&state.security, &token));
            if let Some(d) = device_token {
                set_response_header(SET_COOKIE, session::device_cookie(&state.security, &d));
            }
            if must_change {
                leptos_axum::redirect(super::MUST_CHANGE_PATH);
            } else {
                leptos_axum::redirect(&safe_next(next.as_deref()));
            }
            Ok(())
        }
        (id, ok, _) => {
            // The audit log says why; the user only ever sees BAD_CREDENTIALS. The reserved
            // attempt stays: it is the failure the throttle counts.
            let reason = match (id, ok) {
                (None, _) => "unknown username",
                (_, false) => "wrong password",
                _ if active != 1 => "account deactivated",
                _ => "access period ended",
            };
            let ctx = audit_ctx(&state, None);
            let object = id
                .map(|i| i.to_string())
                .unwrap_or_else(|| account_key.clone());
            tx.audit(ctx.event(
                "auth.login_failed",
                "user",
                object,
                format!("sign-in failed: {reason}"),
            ))
            .await?;
            tx.commit().await?;
            Err(AppError::invalid(BAD_CREDENTIALS))
        }
    }
}

pub async fn logout() -> Result<(), AppError> {
    let state = app_state()?;
    let su = require_user()?;
    let mut tx = state.db.write().await?;
    session::end(tx.conn(), su.session_id).await?;
    tx.audit(audit_ctx(&state, Some(&su.user)).event(
        "auth.logout",
        "user",
        su.user.id,
        "signed out",
    ))
    .await?;
    tx.commit().await?;
    set_response_header(SET_COOKIE, session::clear_session_cookie(&state.security));
    leptos_axum::redirect(crate::paths::LOGIN);
    Ok(())
}

pub async fn change_password(
    current: String,
    new: String,
    confirm: String,
) -> Result<(), AppError> {
    let state = app_state()?;
    let su = require_user()?;
    let meta = request_meta();
    if new != confirm {
        return Err(AppError::invalid(
            "Repeat new password: does not match the new password.",
        ));
    }
    password::check_policy(&new, &su.user.username)?;
    if new == current {
        return Err(AppError::invalid(
            "New password: choose a password different from the current one.",
        ));
    }
    // Checking the current password is a guess like a sign-in: same limits, counted first.
    let attempt = attempt(
        &state,
        &su.user.username,
        Some(su.user.id),
        throttle::Purpose::PasswordChange,
    )
    .await?;
    let reservation = reserve(&state, &attempt, Some(&su.user)).await?;
    let phc: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(su.user.id)
        .fetch_one(state.db.pool())
        .await?;
    if !state.hasher.verify(&current, Some(&phc)).await? {
        let mut tx = state.db.write().await?;
        tx.audit(audit_ctx(&state, Some(&su.user)).event(
            "user.password_change_failed",
            "user",
            su.user.id,
            "password change refused: the current password was wrong",
        ))
        .await?;
        tx.commit().await?;
        return Err(AppError::invalid("Current password: is not correct."));
    }
    let new_hash = state.hasher.hash(&new).await?;
    let now = state.clock.now();
    let mut tx = state.db.write().await?;
    sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, \
         must_change_password = 0 WHERE id = $3",
    )
    .bind(&new_hash)
    .bind(crate::util::ts(now))
    .bind(su.user.id)
    .execute(tx.conn())
    .await?;
    throttle::succeeded(tx.conn(), reservation, &attempt).await?;
    let ended = session::end_all(tx.conn(), su.user.id).await?;
    // Trust earned with the old password ends with it; this browser is trusted afresh.
    let forgotten = session::forget_devices(tx.conn(), su.user.id).await?;
    let device = session::trust_device(&mut tx, su.user.id, now).await?;
    let token = session::create(&mut tx, &state.security, su.user.id, now, &meta).await?;
    tx.audit(audit_ctx(&state, Some(&su.user)).event(
        "user.password_change",
        "user",
        su.user.id,
        format!(
            "changed own password; {} other session(s) ended, {} other trusted device(s) forgotten",
            ended.saturating_sub(1),
            forgotten.saturating_sub(u64::from(attempt.device.is_some()))
        ),
    ))
    .await?;
    tx.commit().await?;
    set_response_header(SET_COOKIE, session::session_cookie(&state.security, &token));
    set_response_header(SET_COOKIE, session::device_cookie(&state.security, &device));
    leptos_axum::redirect("/account?changed=1");
    Ok(())
}
