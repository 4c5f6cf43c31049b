//! Server-side sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie; only its
//! SHA-256 is stored. Idle and absolute timeouts are enforced here on every request.

use super::cache::SessionRow;
use crate::context::CurrentUser;
use crate::context::{RequestMeta, Security, SessionUser};
use crate::db::WriteTx;
use crate::error::AppError;
use crate::policy::Role;
use crate::state::AppState;
use crate::util::{parse_ts, random_bytes, sha256_hex, ts};
use http::HeaderValue;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

pub fn cookie_name(sec: &Security) -> &'static str {
    if sec.https {
        "__Host-steward_session"
    } else {
        "steward_session"
    }
}

pub fn device_cookie_name(sec: &Security) -> &'static str {
    if sec.https {
        "__Host-steward_device"
    } else {
        "steward_device"
    }
}

pub const DEVICE_DAYS: i64 = 90;

pub fn read_cookie(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn cookie(sec: &Security, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let c = cookie::Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(time::Duration::seconds(max_age_secs))
        .secure(sec.https)
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn session_cookie(sec: &Security, token: &str) -> HeaderValue {
    cookie(
        sec,
        cookie_name(sec),
        token,
        sec.absolute_timeout.as_secs() as i64,
    )
}

pub fn device_cookie(sec: &Security, token: &str) -> HeaderValue {
    cookie(sec, device_cookie_name(sec), token, DEVICE_DAYS * 86400)
}

pub fn clear_session_cookie(sec: &Security) -> HeaderValue {
    cookie(sec, cookie_name(sec), "", 0)
}

fn new_token() -> (String, String) {
    let token = hex::encode(random_bytes::<32>());
    let hash = sha256_hex(token.as_bytes());
    (token, hash)
}

/// Creates a session inside the login (or password change) transaction; returns the token.
pub async fn create(
    tx: &mut WriteTx,
    sec: &Security,
    user_id: i64,
    now: OffsetDateTime,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let (token, hash) = new_token();
    let expires = now + sec.absolute_timeout;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, \
         client_addr, user_agent) VALUES ($1, $2, $3, $3, $4, $5, $6)",
    )
    .bind(&hash)
    .bind(user_id)
    .bind(ts(now))
    .bind(ts(expires))
    .bind(&meta.client_addr)
    .bind(
        meta.user_agent
            .as_deref()
            .map(|s| s.chars().take(300).collect::<String>()),
    )
    .execute(tx.conn())
    .await?;
    Ok(token)
}

/// Ends every session of a user; returns how many there were.
pub async fn end_all(conn: &mut AnyConnection, user_id: i64) -> Result<u64, AppError> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}

pub async fn end(conn: &mut AnyConnection, session_id: i64) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether an account may be used now: active, and (for time-boxed users) within its access
/// period. Checked at sign-in and on every request.
pub fn account_open(active: i64, access_expires_at: Option<&str>, now: OffsetDateTime) -> bool {
    active == 1 && access_expires_at.and_then(parse_ts).is_none_or(|t| now < t)
}

/// Looks up the session for a cookie token at data version `seq` (the audit chain's head,
/// `context::DataVersion`): from `AppState::sessions` when it was read at that head, else from
/// the database. Expired or invalid sessions are deleted and yield `None` (judged on a fresh
/// row only: another server may have seen the session since this one kept it); a live one has
/// its idle clock refreshed (at most once a minute).
pub async fn resolve(
    state: &AppState,
    token: &str,
    seq: i64,
) -> Result<Option<SessionUser>, AppError> {
    let hash = sha256_hex(token.as_bytes());
    let now = state.clock.now();
    let mut row = state.sessions.get(&hash, seq);
    let mut fresh = false;
    loop {
        let r = match row.take() {
            Some(r) => r,
            None => {
                let Some(r) = read(state, &hash).await? else {
                    state.sessions.remove(&hash);
                    return Ok(None);
                };
                fresh = true;
                state.sessions.put(hash.clone(), seq, r.clone());
                r
            }
        };
        let idle_ok = r
            .last_seen
            .is_some_and(|t| now - t < state.security.idle_timeout);
        let abs_ok = r.expires.is_some_and(|t| now < t);
        let open = account_open(r.active, r.access_expires.as_deref(), now);
        let user = match (r.user, idle_ok && abs_ok && open) {
            (Some(user), true) => user,
            _ if !fresh => continue,
            _ => {
                // Refused, not deleted: the row is a record of the sign-in that retention
                // disposes of under the sessions rule.
                state.sessions.remove(&hash);
                return Ok(None);
            }
        };
        if r.last_seen
            .is_some_and(|t| now - t > time::Duration::minutes(1))
        {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(ts(now))
                .bind(r.session_id)
                .execute(state.db.pool())
                .await?;
            state.sessions.touch(&hash, now);
        }
        return Ok(Some(SessionUser {
            session_id: r.session_id,
            user,
        }));
    }
}

/// The session row of a token hash, with its user.
async fn read(state: &AppState, hash: &str) -> Result<Option<SessionRow>, AppError> {
    let row = sqlx::query(
        "SELECT s.id, s.last_seen_at, s.expires_at, u.id AS user_id, u.username, u.display_name, \
         u.role, u.active, u.access_expires_at, u.must_change_password \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(state.db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: Option<Role> = row.try_get::<String, _>("role")?.parse().ok();
    let user = match role {
        Some(role) => Some(CurrentUser {
            id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            role,
            must_change_password: row.try_get::<i64, _>("must_change_password")? == 1,
            unread: 0,
        }),
        None => None,
    };
    Ok(Some(SessionRow {
        session_id: row.try_get("id")?,
        last_seen: parse_ts(&row.try_get::<String, _>("last_seen_at")?),
        expires: parse_ts(&row.try_get::<String, _>("expires_at")?),
        active: row.try_get("active")?,
        access_expires: row.try_get("access_expires_at")?,
        user,
    }))
}

/// The stored hash of a trusted-device token (issued at an earlier successful sign-in) when
/// it belongs to `user_id` and has not expired; the throttle counts that device's attempts.
pub async fn trusted_device(
    state: &AppState,
    token: &str,
    user_id: i64,
) -> Result<Option<String>, AppError> {
    let now = ts(state.clock.now());
    let hash = sha256_hex(token.as_bytes());
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM trusted_devices WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3",
    )
    .bind(&hash)
    .bind(user_id)
    .bind(now)
    .fetch_one(state.db.pool())
    .await?;
    Ok((n > 0).then_some(hash))
}

/// Forgets every browser trusted for the user (after a password change or reset: trust was
/// earned with the old password). Returns how many there were.
pub async fn forget_devices(conn: &mut AnyConnection, user_id: i64) -> Result<u64, AppError> {
    Ok(
        sqlx::query("DELETE FROM trusted_devices WHERE user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Removes expired trusted devices (they are refused anyway; this bounds the table). Expired
/// sessions stay, refused, until retention disposes of them under the sessions rule (with a
/// tombstone, unless a legal hold keeps them). Returns how many rows went.
pub async fn prune(state: &AppState) -> Result<u64, AppError> {
    let now = state.clock.now();
    let devices = sqlx::query("DELETE FROM trusted_devices WHERE expires_at <= $1")
        .bind(ts(now))
        .execute(state.db.pool())
        .await?
        .rows_affected();
    Ok(devices)
}

/// Records a trusted device for the user; returns the token for the cookie.
pub async fn trust_device(
    tx: &mut WriteTx,
    user_id: i64,
    now: OffsetDateTime,
) -> Result<String, AppError> {
    let (token, hash) = new_token();
    sqlx::query("DELETE FROM trusted_devices WHERE expires_at <= $1")
        .bind(ts(now))
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO trusted_devices (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(&hash)
        .bind(user_id)
        .bind(ts(now))
        .bind(ts(now + time::Duration::days(DEVICE_DAYS)))
        .execute(tx.conn())
        .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_written_hardened_and_read_back() {
        let mut sec = Security::new("https://steward.example".into());
        let token = "ab".repeat(32);
        let set = session_cookie(&sec, &token);
        let set = set.to_str().unwrap();
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Secure",
            "Max-Age=28800",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        sec.https = false;
        assert!(!session_cookie(&sec, &token)
            .to_str()
            .unwrap()
            .contains("Secure"));
        let name = cookie_name(&sec);
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {name}={token}; x=\"y\"")).unwrap(),
        );
        assert_eq!(read_cookie(&h, name), Some(token));
        // Only a well-formed token is accepted.
        h.insert(
            http::header::COOKIE,
            HeaderValue::from_str(&format!("{name}=short")).unwrap(),
        );
        assert_eq!(read_cookie(&h, name), None);
    }
}
