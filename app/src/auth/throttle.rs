//! Sign-in throttling that holds under concurrency and costs an attacker more than it costs us.
//!
//! - **Counted before the password is checked.** Every attempt first *reserves* a row in
//!   `login_attempts`, inside a short transaction serialised with every other reservation
//!   (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock). The row is
//!   the count: N concurrent guesses for one account verify at most the limit, because the
//!   (N−limit) later ones see the earlier rows. A success removes its own row; a failure
//!   leaves it; every row ages out of the window and is pruned on a schedule.
//! - **Limits**: per account and per client address (IPv6 by /64) for unknown browsers; a
//!   browser holding a trusted-device cookie of that user (issued at an earlier successful
//!   sign-in, OWASP's "device cookies") counts only against that device's own limit. So an
//!   attacker who is not on the owner's device cannot lock the owner out, whatever address
//!   they share (a reverse proxy, a NAT), while a stolen device cookie is still limited.
//! - **Cheap refusals**: a refused attempt is one read, no password hash and no write; the
//!   audit trail gets one `auth.login_throttled` event per account and address per window
//!   (later refusals are only counted, in `steward_login_throttled_total`).

use crate::audit::chain::AuditCtx;
pub use crate::context::ThrottleConfig;
use crate::db::{Db, Dialect};
use crate::error::AppError;
use crate::util::{parse_ts, ts};
use sqlx::{Any, Transaction};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

/// What the attempt is for (both count against the same limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    PasswordChange,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::PasswordChange => "password_change",
        }
    }
}

/// Who is trying, as the limits count them.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The normalised username (at most 128 characters).
    pub account: String,
    /// `client_key` of the client's address.
    pub client: String,
    /// SHA-256 of a trusted-device token that belongs to this account, when one was shown.
    pub device: Option<String>,
    pub purpose: Purpose,
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64 (one subscriber's
/// allocation: counting single IPv6 addresses would give an attacker billions of fresh keys).
pub fn client_key(addr: &str) -> String {
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(ip) => ip.to_string(),
        // Unknown (no peer address, e.g. an in-process call): one shared key.
        Err(_) => "unknown".into(),
    }
}

/// A reserved attempt: pass it to `succeeded` when the password was right.
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    pub id: i64,
}

/// Lock key for the reservations' PostgreSQL advisory lock ("LOGN").
const RESERVATION_LOCK: i64 = 0x4c4f_474e;

async fn serialized(db: &Db) -> Result<Transaction<'static, Any>, AppError> {
    Ok(match db.dialect() {
        Dialect::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
        Dialect::Postgres => {
            let mut tx = db.pool().begin().await?;
            // In FROM, so the row has a column the Any driver can decode (not `void`).
            sqlx::query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
                .bind(RESERVATION_LOCK)
                .execute(&mut *tx)
                .await?;
            tx
        }
    })
}

/// When the `limit`-th most recent attempt matching `condition` leaves the window, if the
/// limit is reached. `condition` is one of the fixed strings below, never input.
async fn locked_until(
    tx: &mut Transaction<'static, Any>,
    condition: &str,
    key: &str,
    limit: i64,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, AppError> {
    let sql = format!(
        "SELECT at FROM login_attempts WHERE {condition} AND at >= $2 ORDER BY at DESC LIMIT $3"
    );
    let recent: Vec<String> = sqlx::query_scalar(&sql)
        .bind(key)
        .bind(ts(now - window))
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    if (recent.len() as i64) < limit {
        return Ok(None);
    }
    Ok(recent
        .last()
        .and_then(|t| parse_ts(t))
        .map(|oldest| oldest + window)
        .filter(|until| *until > now))
}

/// Counts the attempt, or refuses it with how long to wait. Call before verifying a password.
pub async fn reserve(
    db: &Db,
    cfg: &ThrottleConfig,
    a: &Attempt,
    now: OffsetDateTime,
) -> Result<Reservation, AppError> {
    let mut tx = serialized(db).await?;
    let w = cfg.window;
    let until = match &a.device {
        Some(d) => locked_until(&mut tx, "device = $1", d, cfg.per_device, w, now).await?,
        None => {
            let acct = "account = $1 AND device IS NULL";
            let addr = "client_key = $1 AND device IS NULL";
            let by_account = locked_until(&mut tx, acct, &a.account, cfg.per_account, w, now);
            let by_account = by_account.await?;
            let by_address = locked_until(&mut tx, addr, &a.client, cfg.per_address, w, now);
            by_account.max(by_address.await?)
        }
    };
    if let Some(until) = until {
        drop(tx); // rolls back: a refusal writes nothing
        let secs = (until - now).whole_seconds().max(1);
        return Err(AppError::Throttled {
            minutes: ((secs + 59) / 60) as u32,
        });
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_attempts (account, client_key, device, purpose, at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&a.account)
    .bind(&a.client)
    .bind(&a.device)
    .bind(a.purpose.as_str())
    .bind(ts(now))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Reservation { id })
}

/// The password was right: the attempt and this browser's own earlier misses (same account
/// and address, or same device) are forgotten. Others' failures stay until they age out, so
/// the owner signing in does not hand an attacker a fresh allowance.
pub async fn succeeded(
    conn: &mut sqlx::AnyConnection,
    r: Reservation,
    a: &Attempt,
) -> Result<(), AppError> {
    sqlx::query(
        "DELETE FROM login_attempts WHERE id = $1 \
         OR (account = $2 AND client_key = $3 AND device IS NULL) \
         OR (device IS NOT NULL AND device = $4)",
    )
    .bind(r.id)
    .bind(&a.account)
    .bind(&a.client)
    .bind(&a.device)
    .execute(conn)
    .await?;
    Ok(())
}

/// Refusals already in the audit trail this window, per account and address: later ones are
/// only counted. Bounded: past windows are dropped, and past `MAX_NOTED` keys new ones are
/// counted without an event rather than growing memory.
#[derive(Default)]
pub struct Refusals {
    noted: Mutex<HashMap<(String, String), i64>>,
    total: AtomicU64,
}

const MAX_NOTED: usize = 10_000;

impl Refusals {
    /// All refused attempts since start (a metric).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Whether this is the first refusal for the key in the window, as far as this process
    /// knows (the caller also checks the audit trail, which other servers write too).
    fn first_in_window(&self, account: &str, client: &str, window: i64) -> bool {
        self.total.fetch_add(1, Ordering::Relaxed);
        let Ok(mut map) = self.noted.lock() else {
            return false;
        };
        let key = (account.to_string(), client.to_string());
        if map.get(&key) == Some(&window) {
            return false;
        }
        if map.len() >= MAX_NOTED {
            map.retain(|_, w| *w == window);
            if map.len() >= MAX_NOTED {
                return false;
            }
        }
        map.insert(key, window);
        true
    }
}

/// Records a refused attempt: one audit event per account, address and window.
pub async fn note_refusal(
    db: &Db,
    refusals: &Refusals,
    cfg: &ThrottleConfig,
    ctx: &AuditCtx,
    a: &Attempt,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let secs = cfg.window.as_secs().max(1) as i64;
    let window = now.unix_timestamp().div_euclid(secs);
    if !refusals.first_in_window(&a.account, &a.client, window) {
        return Ok(());
    }
    let window_start = OffsetDateTime::from_unix_timestamp(window * secs).unwrap_or(now);
    let mut tx = db.write().await?;
    let logged: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM audit_events WHERE action = 'auth.login_throttled' AND object_id = $1 \
         AND client_addr = $2 AND at >= $3 LIMIT 1",
    )
    .bind(&a.account)
    .bind(&ctx.client_addr)
    .bind(ts(window_start))
    .fetch_optional(tx.conn())
    .await?;
    if logged.is_some() {
        return Ok(()); // another server logged it; dropping `tx` writes nothing
    }
    let what = match a.purpose {
        Purpose::Login => "sign-in",
        Purpose::PasswordChange => "password change",
    };
    tx.audit(ctx.event(
        "auth.login_throttled",
        "user",
        &a.account,
        format!(
            "{what} refused: too many failed attempts; further refusals for this account from \
             this address until {} are counted, not logged",
            crate::util::display_ts(&ts(window_start + cfg.window))
        ),
    ))
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_keyed_by_subscriber() {
        assert_eq!(client_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(client_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            client_key("2001:db8:1:2:ffff:1:2:3"),
            client_key("2001:db8:1:2::9")
        );
        assert_ne!(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
        assert_eq!(client_key("::ffff:198.51.100.4"), "198.51.100.4");
        assert_eq!(client_key(""), "unknown");
    }

    #[test]
    fn refusals_are_noted_once_per_window_and_bounded() {
        let r = Refusals::default();
        assert!(r.first_in_window("a", "1.2.3.4", 7));
        assert!(!r.first_in_window("a", "1.2.3.4", 7));
        assert!(r.first_in_window("a", "1.2.3.5", 7));
        assert!(r.first_in_window("a", "1.2.3.4", 8));
        for i in 0..(MAX_NOTED * 2) {
            r.first_in_window(&format!("user{i}"), "x", 9);
        }
        assert!(r.noted.lock().unwrap().len() <= MAX_NOTED);
        assert_eq!(r.total(), 4 + (MAX_NOTED * 2) as u64);
    }
}
