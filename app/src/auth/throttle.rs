//! Login throttling by account and by client address, on a sliding window.
//!
//! An attacker cannot lock a user out for good: the account limit is skipped for a browser that
//! holds a trusted-device cookie from an earlier successful login of that user (OWASP's
//! "device cookies"), so the owner still gets in while strangers are throttled; the address
//! limit still applies to everyone, and every lock ends when the window slides past.

use crate::error::AppError;
use crate::util::{parse_ts, ts};
use sqlx::AnyPool;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    pub window: Duration,
    pub per_account: i64,
    pub per_address: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            window: Duration::from_secs(15 * 60),
            per_account: 5,
            per_address: 20,
        }
    }
}

async fn locked_until(
    pool: &AnyPool,
    column: &str,
    key: &str,
    limit: i64,
    cfg: &ThrottleConfig,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, AppError> {
    let since = ts(now - cfg.window);
    // `column` is one of two fixed names, never input.
    let sql = format!(
        "SELECT at FROM login_failures WHERE {column} = $1 AND at >= $2 ORDER BY at DESC LIMIT $3"
    );
    let recent: Vec<String> = sqlx::query_scalar(&sql)
        .bind(key)
        .bind(since)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    if (recent.len() as i64) < limit {
        return Ok(None);
    }
    Ok(recent
        .last()
        .and_then(|t| parse_ts(t))
        .map(|oldest| oldest + cfg.window))
}

/// Refuses the attempt when a limit is reached, saying how long to wait.
pub async fn check(
    pool: &AnyPool,
    cfg: &ThrottleConfig,
    account: &str,
    addr: &str,
    trusted_device: bool,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let mut until = locked_until(pool, "client_addr", addr, cfg.per_address, cfg, now).await?;
    if !trusted_device {
        let acct = locked_until(pool, "account", account, cfg.per_account, cfg, now).await?;
        until = until.max(acct);
    }
    match until {
        Some(t) if t > now => {
            let secs = (t - now).whole_seconds().max(1);
            Err(AppError::Throttled {
                minutes: ((secs + 59) / 60) as u32,
            })
        }
        _ => Ok(()),
    }
}

pub async fn record_failure(
    conn: &mut sqlx::AnyConnection,
    account: &str,
    addr: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    sqlx::query("INSERT INTO login_failures (account, client_addr, at) VALUES ($1, $2, $3)")
        .bind(account)
        .bind(addr)
        .bind(ts(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// After a successful login: forget this account's failures and prune old rows.
pub async fn clear(
    conn: &mut sqlx::AnyConnection,
    account: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_failures WHERE account = $1 OR at < $2")
        .bind(account)
        .bind(ts(now - time::Duration::days(1)))
        .execute(conn)
        .await?;
    Ok(())
}
