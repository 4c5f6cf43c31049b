//! Sign-in, sign-out and password change: the server side of the auth server functions.

use super::{password, safe_next, session, throttle};
use crate::error::AppError;
use crate::state::{
    app_state, audit_ctx, request_headers, request_meta, require_user, set_response_header,
};
use http::header::SET_COOKIE;
use sqlx::Row;

/// The one message for every failed sign-in, so nobody learns which usernames exist.
const BAD_CREDENTIALS: &str = "Invalid username or password.";

pub fn normalize_username(u: &str) -> String {
    u.trim().to_lowercase()
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
        "SELECT id, username, password_hash, active, access_expires_at FROM users WHERE username = $1",
    )
    .bind(&account_key)
    .fetch_optional(state.db.pool())
    .await?;
    let user_id: Option<i64> = user.as_ref().map(|r| r.try_get("id")).transpose()?;

    let device = session::read_cookie(
        &request_headers(),
        session::device_cookie_name(&state.security),
    );
    let trusted = match (device.as_deref(), user_id) {
        (Some(tok), Some(id)) => session::device_trusted(&state, tok, id).await?,
        _ => false,
    };
    if let Err(e) = throttle::check(
        state.db.pool(),
        &state.security.throttle,
        &account_key,
        &meta.client_addr,
        trusted,
        now,
    )
    .await
    {
        let mut tx = state.db.write().await?;
        let ctx = audit_ctx(&state, None);
        tx.audit(ctx.event(
            "auth.login_throttled",
            "user",
            &account_key,
            "sign-in refused: too many failed attempts",
        ))
        .await?;
        tx.commit().await?;
        return Err(e);
    }

    let phc: Option<String> = user
        .as_ref()
        .map(|r| r.try_get("password_hash"))
        .transpose()?;
    let ok = state.hasher.verify(&password, phc.as_deref()).await?;
    let (active, access_expires) = match &user {
        Some(r) => (
            r.try_get::<i64, _>("active")?,
            r.try_get::<Option<String>, _>("access_expires_at")?,
        ),
        None => (0, None),
    };
    let open = session::account_open(active, access_expires.as_deref(), now);

    let mut tx = state.db.write().await?;
    match (user_id, ok, open) {
        (Some(id), true, true) => {
            // A new session id at every sign-in; the old one (if any) ends.
            if let Some(old) = crate::state::session_user() {
                session::end(tx.conn(), old.session_id).await?;
            }
            let token = session::create(&mut tx, &state.security, id, now, &meta).await?;
            throttle::clear(tx.conn(), &account_key, now).await?;
            let device_token = if trusted {
                None
            } else {
                Some(session::trust_device(&mut tx, id, now).await?)
            };
            let ctx = audit_ctx(&state, None);
            let mut ev = ctx.event("auth.login", "user", id, "signed in");
            ev.actor_id = Some(id);
            ev.actor = account_key.clone();
            tx.audit(ev).await?;
            tx.commit().await?;
            set_response_header(SET_COOKIE, session::session_cookie(&state.security, &token));
            if let Some(d) = device_token {
                set_response_header(SET_COOKIE, session::device_cookie(&state.security, &d));
            }
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        (id, ok, _) => {
            // The audit log says why; the user only ever sees BAD_CREDENTIALS.
            let reason = match (id, ok) {
                (None, _) => "unknown username",
                (_, false) => "wrong password",
                _ if active != 1 => "account deactivated",
                _ => "access period ended",
            };
            throttle::record_failure(tx.conn(), &account_key, &meta.client_addr, now).await?;
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
    leptos_axum::redirect("/login");
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
    let phc: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(su.user.id)
        .fetch_one(state.db.pool())
        .await?;
    if !state.hasher.verify(&current, Some(&phc)).await? {
        return Err(AppError::invalid("Current password: is not correct."));
    }
    let new_hash = state.hasher.hash(&new).await?;
    let now = state.clock.now();
    let mut tx = state.db.write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3")
        .bind(&new_hash)
        .bind(crate::util::ts(now))
        .bind(su.user.id)
        .execute(tx.conn())
        .await?;
    let ended = session::end_all(tx.conn(), su.user.id).await?;
    let token = session::create(&mut tx, &state.security, su.user.id, now, &meta).await?;
    tx.audit(audit_ctx(&state, Some(&su.user)).event(
        "user.password_change",
        "user",
        su.user.id,
        format!(
            "changed own password; {} other session(s) ended",
            ended.saturating_sub(1)
        ),
    ))
    .await?;
    tx.commit().await?;
    set_response_header(SET_COOKIE, session::session_cookie(&state.security, &token));
    leptos_axum::redirect("/account?changed=1");
    Ok(())
}
