//! The outbox's SQL. Enqueueing runs inside the caller's write transaction (the event and its
//! messages commit together, or neither does); the unique key (event, channel, recipient)
//! makes a second enqueue of the same event a no-op.
//!
//! Delivery bookkeeping (claiming a row, marking it sent or failed) is the outbox's own state,
//! written with single statements outside `WriteTx` and without audit events: it records
//! that a message left, not a decision anyone made. An administrator's retry of a dead letter
//! and a user's read marks are audited like every other change.

use super::{Delivery, Notice};
use crate::audit::chain::AuditCtx;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use crate::util::ts;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// Attempts before a message becomes a dead letter.
pub const MAX_ATTEMPTS: i64 = 8;

/// Waits between attempts: 30 s, 1 min, 2 min, … at most 6 hours.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(1, 20).saturating_sub(1));
    Duration::seconds(secs.min(6 * 3600))
}

/// A user's email, active flag, email preference, muted kinds and digest preference.
type Reach = (
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// When a digest goes out: the next 07:00 UTC after `now`.
pub fn next_digest(now: OffsetDateTime) -> OffsetDateTime {
    let seven = now.date().midnight().assume_utc() + Duration::hours(7);
    if seven > now {
        seven
    } else {
        seven + Duration::days(1)
    }
}

/// Writes the notice's messages: in-app for each recipient (delivered as written), email to
/// those with an address who have not switched it (or this kind) off, and one per active
/// webhook subscribed to the kind. Returns how many rows were new.
pub async fn enqueue(tx: &mut WriteTx, n: &Notice, now: OffsetDateTime) -> Result<u64, AppError> {
    enqueue_all(tx, std::slice::from_ref(n), now).await
}

/// `enqueue` for many notices: each recipient's preferences and the webhooks are read once.
pub async fn enqueue_all(
    tx: &mut WriteTx,
    notices: &[Notice],
    now: OffsetDateTime,
) -> Result<u64, AppError> {
    if notices.is_empty() {
        return Ok(0);
    }
    let at = ts(now);
    let digest_at = ts(next_digest(now));
    let hooks: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, url, events FROM webhooks WHERE active = 1 ORDER BY id")
            .fetch_all(tx.conn())
            .await?;
    let mut reach: std::collections::HashMap<i64, Option<Reach>> = Default::default();
    let mut written = 0;
    for n in notices {
        let mut to = n.to.clone();
        to.sort_unstable();
        to.dedup();
        for user in to {
            let row = match reach.get(&user) {
                Some(r) => r.clone(),
                None => {
                    let r: Option<Reach> = sqlx::query_as(
                        "SELECT u.email, u.active, p.email, p.muted_kinds, p.digest FROM users u
                         LEFT JOIN notification_prefs p ON p.user_id = u.id WHERE u.id = $1",
                    )
                    .bind(user)
                    .fetch_optional(tx.conn())
                    .await?;
                    reach.insert(user, r.clone());
                    r
                }
            };
            let Some((email, active, email_on, muted, digest)) = row else {
                continue;
            };
            if active == 0 {
                continue;
            }
            let muted = muted
                .unwrap_or_default()
                .split(',')
                .any(|k| k.trim() == n.kind);
            let recipient = format!("user:{user}");
            let row = Target {
                recipient: &recipient,
                user: Some(user),
                webhook: None,
                address: "",
                due: &at,
                digest: false,
            };
            written += insert(tx, n, "inapp", &row, &at).await?;
            if let Some(addr) = email.filter(|_| email_on.unwrap_or(1) == 1 && !muted) {
                // A digest reader's email waits for the day's digest.
                let held = digest == Some(1);
                let row = Target {
                    address: &addr,
                    due: if held { &digest_at } else { &at },
                    digest: held,
                    ..row
                };
                written += insert(tx, n, "email", &row, &at).await?;
            }
        }
        for (id, url, events) in &hooks {
            let wanted = events
                .split(',')
                .map(str::trim)
                .any(|e| e == "*" || e == n.kind);
            if wanted {
                let recipient = format!("webhook:{id}");
                let row = Target {
                    recipient: &recipient,
                    user: None,
                    webhook: Some(*id),
                    address: url,
                    due: &at,
                    digest: false,
                };
                written += insert(tx, n, "webhook", &row, &at).await?;
            }
        }
    }
    Ok(written)
}

/// Where one message goes and when it is due.
#[derive(Clone, Copy)]
struct Target<'a> {
    recipient: &'a str,
    user: Option<i64>,
    webhook: Option<i64>,
    address: &'a str,
    due: &'a str,
    digest: bool,
}

async fn insert(
    tx: &mut WriteTx,
    n: &Notice,
    channel: &str,
    r: &Target<'_>,
    at: &str,
) -> Result<u64, AppError> {
    // In-app messages are delivered by being written.
    let (status, sent) = if channel == "inapp" {
        ("sent", Some(at))
    } else {
        ("pending", None)
    };
    Ok(sqlx::query(
        "INSERT INTO notifications (event_key, kind, channel, recipient, user_id, webhook_id,
            address, subject, body, link, status, next_attempt_at, created_at, sent_at, digest)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (event_key, channel, recipient) DO NOTHING",
    )
    .bind(&n.key)
    .bind(n.kind)
    .bind(channel)
    .bind(r.recipient)
    .bind(r.user)
    .bind(r.webhook)
    .bind(r.address)
    .bind(&n.subject)
    .bind(&n.body)
    .bind(&n.link)
    .bind(status)
    .bind(r.due)
    .bind(at)
    .bind(sent)
    .bind(i64::from(r.digest))
    .execute(tx.conn())
    .await?
    .rows_affected())
}

const DELIVERY: &str = "SELECT n.id, n.event_key, n.kind, n.channel, n.address, n.subject,
        n.body, n.link, n.attempts, n.created_at, COALESCE(w.secret, '') AS secret, n.digest
    FROM notifications n LEFT JOIN webhooks w ON w.id = n.webhook_id";

fn row_to_delivery(r: &sqlx::any::AnyRow) -> Result<Delivery, AppError> {
    Ok(Delivery {
        id: r.try_get("id")?,
        event_key: r.try_get("event_key")?,
        kind: r.try_get("kind")?,
        channel: r.try_get("channel")?,
        address: r.try_get("address")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        link: r.try_get("link")?,
        attempts: r.try_get("attempts")?,
        created_at: r.try_get("created_at")?,
        secret: r.try_get("secret")?,
        digest: r.try_get::<i64, _>("digest")? == 1,
    })
}

/// Claims up to `limit` due messages for `lease`: each is taken by one statement that only
/// succeeds while it is still due, so two workers never hold the same message. A message
/// whose worker died mid-delivery is due again when its lease ends.
pub async fn claim(
    db: &Db,
    now: OffsetDateTime,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Delivery>, AppError> {
    let at = ts(now);
    let due = "((status = 'pending' AND next_attempt_at <= $1)
                OR (status = 'sending' AND locked_until <= $1))";
    let ids: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM notifications WHERE {due} ORDER BY id LIMIT $2"
    ))
    .bind(&at)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let took = sqlx::query(&format!(
            "UPDATE notifications SET status = 'sending', locked_until = $2,
                attempts = attempts + 1
             WHERE id = $3 AND {due}"
        ))
        .bind(&at)
        .bind(ts(now + lease))
        .bind(id)
        .execute(db.pool())
        .await?
        .rows_affected();
        if took == 1 {
            let r = sqlx::query(&format!("{DELIVERY} WHERE n.id = $1"))
                .bind(id)
                .fetch_one(db.pool())
                .await?;
            out.push(row_to_delivery(&r)?);
        }
    }
    Ok(out)
}

pub async fn mark_sent(db: &Db, id: i64, now: OffsetDateTime) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE notifications SET status = 'sent', sent_at = $1, locked_until = NULL,
            last_error = '' WHERE id = $2 AND status = 'sending'",
    )
    .bind(ts(now))
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A failed attempt: again after the backoff, or a dead letter after `MAX_ATTEMPTS`.
pub async fn mark_failed(
    db: &Db,
    d: &Delivery,
    error: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    // `attempts` counts this one (the claim added it).
    let attempts = d.attempts;
    let status = if attempts >= MAX_ATTEMPTS {
        "dead"
    } else {
        "pending"
    };
    let error: String = error.chars().take(500).collect();
    sqlx::query(
        "UPDATE notifications SET status = $1, next_attempt_at = $2, locked_until = NULL,
            last_error = $3 WHERE id = $4 AND status = 'sending'",
    )
    .bind(status)
    .bind(ts(now + backoff(attempts)))
    .bind(error)
    .bind(d.id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// An administrator sends a dead letter again.
pub async fn retry(db: &Db, ctx: &AuditCtx, id: i64, now: OffsetDateTime) -> Result<(), AppError> {
    let mut tx = db.write().await?;
    let n = sqlx::query(
        "UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = $1,
            last_error = '' WHERE id = $2 AND status = 'dead'",
    )
    .bind(ts(now))
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict(format!(
            "Message #{id} is not a dead letter."
        )));
    }
    tx.audit(ctx.event(
        "notification.retry",
        "notification",
        id,
        "sent a dead letter again",
    ))
    .await?;
    tx.commit().await
}

/// The user's in-app messages, newest first, and how many are unread.
pub async fn inbox(
    db: &Db,
    user: i64,
    limit: i64,
) -> Result<(Vec<super::InboxItem>, i64), AppError> {
    let rows = sqlx::query(
        "SELECT id, kind, subject, body, link, created_at, read_at FROM notifications
         WHERE user_id = $1 AND channel = 'inapp' ORDER BY id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(super::InboxItem {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                link: r.try_get("link")?,
                created_at: crate::util::display_ts(&r.try_get::<String, _>("created_at")?),
                read: r.try_get::<Option<String>, _>("read_at")?.is_some(),
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok((items, unread(db, user).await?))
}

pub async fn unread(db: &Db, user: i64) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications
         WHERE user_id = $1 AND channel = 'inapp' AND read_at IS NULL",
    )
    .bind(user)
    .fetch_one(db.pool())
    .await?)
}

/// Marks one of the user's messages read, or all of them (`None`).
pub async fn mark_read(
    db: &Db,
    ctx: &AuditCtx,
    user: i64,
    id: Option<i64>,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let mut tx = db.write().await?;
    let n = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND channel = 'inapp'
            AND read_at IS NULL AND ($3 = 0 OR id = $3)",
    )
    .bind(ts(now))
    .bind(user)
    .bind(id.unwrap_or(0))
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(());
    }
    tx.audit(ctx.event(
        "notification.read",
        "user",
        user,
        format!("marked {n} notification(s) read"),
    ))
    .await?;
    tx.commit().await
}

/// Address, email on, muted kinds, digest, as stored.
type Prefs = (Option<String>, Option<i64>, Option<String>, Option<i64>);

/// The user's email preferences: (email on, muted kinds, has an address, daily digest).
pub async fn prefs(db: &Db, user: i64) -> Result<(bool, Vec<String>, bool, bool), AppError> {
    let row: Option<Prefs> = sqlx::query_as(
        "SELECT u.email, p.email, p.muted_kinds, p.digest FROM users u
         LEFT JOIN notification_prefs p ON p.user_id = u.id WHERE u.id = $1",
    )
    .bind(user)
    .fetch_optional(db.pool())
    .await?;
    let Some((address, email, muted, digest)) = row else {
        return Err(AppError::NotFound);
    };
    let muted = muted
        .unwrap_or_default()
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    Ok((
        email.unwrap_or(1) == 1,
        muted,
        address.is_some(),
        digest == Some(1),
    ))
}

pub async fn save_prefs(
    db: &Db,
    ctx: &AuditCtx,
    user: i64,
    email: bool,
    muted: &[&str],
    digest: bool,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let muted = muted.join(",");
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO notification_prefs (user_id, email, muted_kinds, digest, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET email = $2, muted_kinds = $3, digest = $4,
            updated_at = $5",
    )
    .bind(user)
    .bind(i64::from(email))
    .bind(&muted)
    .bind(i64::from(digest))
    .bind(ts(now))
    .execute(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "notification.preferences",
        "user",
        user,
        format!(
            "email {}{}; not by email: {}",
            if email { "on" } else { "off" },
            if digest { " (daily digest)" } else { "" },
            if muted.is_empty() { "nothing" } else { &muted }
        ),
    ))
    .await?;
    tx.commit().await
}

/// Email and webhook messages for administrators (newest first, optionally of one status),
/// the count per status, and the webhooks.
pub async fn deliveries(db: &Db, status: &str, limit: i64) -> Result<super::Deliveries, AppError> {
    let counts = sqlx::query_as(
        "SELECT status, COUNT(*) FROM notifications WHERE channel <> 'inapp'
         GROUP BY status ORDER BY status",
    )
    .fetch_all(db.pool())
    .await?;
    let hooks: Vec<(i64, String, String, i64)> =
        sqlx::query_as("SELECT id, url, events, active FROM webhooks ORDER BY id")
            .fetch_all(db.pool())
            .await?;
    Ok(super::Deliveries {
        rows: delivery_rows(db, status, limit).await?,
        counts,
        webhooks: hooks
            .into_iter()
            .map(|(i, u, e, a)| (i, u, e, a == 1))
            .collect(),
    })
}

/// Email and webhook messages for administrators: newest first, optionally of one status.
async fn delivery_rows(
    db: &Db,
    status: &str,
    limit: i64,
) -> Result<Vec<super::DeliveryRow>, AppError> {
    let rows = sqlx::query(
        "SELECT id, kind, channel, address, subject, status, attempts, last_error, created_at,
                sent_at, next_attempt_at
         FROM notifications WHERE channel <> 'inapp' AND ($1 = '' OR status = $1)
         ORDER BY id DESC LIMIT $2",
    )
    .bind(status)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(super::DeliveryRow {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                channel: r.try_get("channel")?,
                address: r.try_get("address")?,
                subject: r.try_get("subject")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                created_at: crate::util::display_ts(&r.try_get::<String, _>("created_at")?),
                sent_at: r
                    .try_get::<Option<String>, _>("sent_at")?
                    .map(|s| crate::util::display_ts(&s)),
                next_attempt_at: crate::util::display_ts(
                    &r.try_get::<String, _>("next_attempt_at")?,
                ),
            })
        })
        .collect()
}

/// Adds a webhook; returns its id and the generated secret (shown once).
pub async fn add_webhook(
    db: &Db,
    ctx: &AuditCtx,
    url: &str,
    events: &str,
    now: OffsetDateTime,
) -> Result<(i64, String), AppError> {
    let url = url.trim();
    let parsed = url::Url::parse(url)
        .map_err(|e| AppError::invalid(format!("URL: '{url}' is not a URL ({e}).")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(AppError::invalid(
            "URL: must be an http(s) URL with a host.",
        ));
    }
    let events = match events.trim() {
        "" => "*".to_string(),
        e => e
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>()
            .join(","),
    };
    let secret = crate::util::random_hex(32);
    let mut tx = db.write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhooks (url, secret, events, active, created_at)
         VALUES ($1, $2, $3, 1, $4) RETURNING id",
    )
    .bind(url)
    .bind(&secret)
    .bind(&events)
    .bind(ts(now))
    .fetch_one(tx.conn())
    .await?;
    tx.audit(ctx.event(
        "webhook.create",
        "webhook",
        id,
        format!("added webhook {url} for {events}"),
    ))
    .await?;
    tx.commit().await?;
    Ok((id, secret))
}
