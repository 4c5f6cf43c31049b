//! The append-only, hash-chained audit trail.
//!
//! `hash = SHA-256(prev_hash ‖ canonical(event))`, where `canonical` is the JSON array
//! `["steward.audit.v1", seq, at, actor_id, actor, action, object_type, object_id, summary,
//! request_id, client_addr]` (serde_json's compact, deterministic encoding) and `prev_hash` is
//! the previous event's hash as 32 raw bytes (zeros before the first event). The database
//! refuses UPDATE and DELETE on `audit_events` (triggers); `verify` recomputes the chain in one
//! read snapshot. Signed checkpoints (`checkpoint`) anchor it outside the database.

use crate::db::{Arg, Db, Dialect, Sql};
use crate::error::AppError;
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection, Row, Transaction};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it and from where; attached to every event of a request.
#[derive(Debug, Clone, Default)]
pub struct AuditCtx {
    pub actor_id: Option<i64>,
    pub actor: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub at: String,
}

impl AuditCtx {
    pub fn event(
        &self,
        action: &str,
        object_type: &str,
        object_id: impl ToString,
        summary: impl Into<String>,
    ) -> NewEvent {
        NewEvent {
            at: self.at.clone(),
            actor_id: self.actor_id,
            actor: self.actor.clone(),
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id: object_id.to_string(),
            summary: truncate(summary.into(), 2000),
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
        }
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

pub fn canonical(seq: i64, ev: &NewEvent) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!([
        "steward.audit.v1",
        seq,
        ev.at,
        ev.actor_id,
        ev.actor,
        ev.action,
        ev.object_type,
        ev.object_id,
        ev.summary,
        ev.request_id,
        ev.client_addr,
    ]))
    .unwrap_or_default()
}

pub fn chain_hash(prev_hash_hex: &str, seq: i64, ev: &NewEvent) -> String {
    let mut h = Sha256::new();
    h.update(hex::decode(prev_hash_hex).unwrap_or_else(|_| prev_hash_hex.as_bytes().to_vec()));
    h.update(canonical(seq, ev));
    hex::encode(h.finalize())
}

/// Inserts event `seq` after `prev_hash`; returns its hash. Called only through `WriteTx`, on
/// either kind of connection it holds.
pub(crate) async fn insert(
    conn: &mut (impl Sql + ?Sized),
    seq: i64,
    prev_hash: &str,
    ev: &NewEvent,
) -> Result<String, AppError> {
    let hash = chain_hash(prev_hash, seq, ev);
    conn.execute_args(
        "INSERT INTO audit_events (seq, at, actor_id, actor, action, object_type, object_id, \
         summary, request_id, client_addr, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            Arg::Int(seq),
            Arg::Text(&ev.at),
            Arg::OptInt(ev.actor_id),
            Arg::Text(&ev.actor),
            Arg::Text(&ev.action),
            Arg::Text(&ev.object_type),
            Arg::Text(&ev.object_id),
            Arg::Text(&ev.summary),
            Arg::OptText(ev.request_id.as_deref()),
            Arg::OptText(ev.client_addr.as_deref()),
            Arg::Text(prev_hash),
            Arg::Text(&hash),
        ],
    )
    .await?;
    Ok(hash)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    Intact { events: i64, head: String },
    Broken { seq: i64, reason: String },
}

/// The chain head as recorded in `audit_head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// A read-only transaction in which every read sees the database as of one instant, so a
/// verifier never mixes events and a head written at different times. SQLite (WAL): the
/// snapshot is taken by the first read after `BEGIN`; PostgreSQL: `REPEATABLE READ` keeps the
/// first statement's snapshot for the whole transaction. Neither blocks writers.
pub async fn begin_snapshot(db: &Db) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match db.dialect() {
        Dialect::Sqlite => db.pool().begin_with("BEGIN DEFERRED").await,
        Dialect::Postgres => {
            db.pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await
        }
    }
}

pub async fn read_head(conn: &mut AnyConnection) -> Result<Head, sqlx::Error> {
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(conn)
            .await?;
    Ok(Head { seq, hash })
}

/// Where the chain starts: events up to `seq` were disposed of under retention, `hash` being
/// the last one's (genesis when nothing was). A tombstone event later in the chain vouches for
/// both (`TOMBSTONE_ACTION`, object `audit_events`, id `seq`, the hash in its summary).
pub async fn read_base(conn: &mut AnyConnection) -> Result<Head, sqlx::Error> {
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_base WHERE id = 1")
            .fetch_one(conn)
            .await?;
    Ok(Head { seq, hash })
}

/// The action of the event retention writes for what it removed.
pub const TOMBSTONE_ACTION: &str = "retention.dispose";

/// The columns `event_from_row` reads, in a SELECT list.
pub const EVENT_COLUMNS: &str = "seq, at, actor_id, actor, action, object_type, object_id, \
     summary, request_id, client_addr, prev_hash, hash";

/// An event as stored: its sequence number, its content, `prev_hash` and `hash`.
pub struct StoredEvent {
    pub seq: i64,
    pub event: NewEvent,
    pub prev_hash: String,
    pub hash: String,
}

pub fn event_from_row(row: &sqlx::any::AnyRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        event: NewEvent {
            at: row.try_get("at")?,
            actor_id: row.try_get("actor_id")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            object_type: row.try_get("object_type")?,
            object_id: row.try_get("object_id")?,
            summary: row.try_get("summary")?,
            request_id: row.try_get("request_id")?,
            client_addr: row.try_get("client_addr")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Checks one stored event against the hash of the event before it; `None` when it chains.
pub fn check_link(expected_seq: i64, prev: &str, e: &StoredEvent) -> Option<VerifyOutcome> {
    let broken = |seq, reason: String| Some(VerifyOutcome::Broken { seq, reason });
    if e.seq != expected_seq {
        return broken(
            expected_seq,
            format!(
                "event #{expected_seq} is missing (next stored event is #{})",
                e.seq
            ),
        );
    }
    if e.prev_hash != prev {
        return broken(
            e.seq,
            "its prev_hash does not match the previous event's hash".into(),
        );
    }
    if chain_hash(prev, e.seq, &e.event) != e.hash {
        return broken(
            e.seq,
            "its content does not match its hash (the event was altered)".into(),
        );
    }
    None
}

/// Recomputes the whole chain in one read snapshot. Stops at the first bad event.
pub async fn verify(db: &Db) -> Result<VerifyOutcome, sqlx::Error> {
    let mut tx = begin_snapshot(db).await?;
    let head = read_head(&mut tx).await?;
    let outcome = verify_in(&mut tx, &head, |_| {}).await?;
    tx.rollback().await?;
    Ok(outcome)
}

/// Recomputes the chain inside the caller's snapshot (in which `head` was read first),
/// streaming rows in order; `each` sees every event that chains correctly.
pub async fn verify_in(
    conn: &mut AnyConnection,
    head: &Head,
    mut each: impl FnMut(&StoredEvent),
) -> Result<VerifyOutcome, sqlx::Error> {
    use futures_util::TryStreamExt;
    let base = read_base(&mut *conn).await?;
    let sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq");
    let mut rows = sqlx::query(&sql).bind(base.seq).fetch(&mut *conn);
    let mut expected_seq = base.seq + 1;
    let mut prev = base.hash.clone();
    let mut vouched = base.seq == 0;
    let base_id = base.seq.to_string();
    while let Some(row) = rows.try_next().await? {
        let e = event_from_row(&row)?;
        if let Some(broken) = check_link(expected_seq, &prev, &e) {
            return Ok(broken);
        }
        vouched |= e.event.action == TOMBSTONE_ACTION
            && e.event.object_type == "audit_events"
            && e.event.object_id == base_id
            && e.event.summary.contains(&base.hash);
        each(&e);
        prev = e.hash;
        expected_seq += 1;
    }
    drop(rows);
    if !vouched {
        return Ok(VerifyOutcome::Broken {
            seq: base.seq + 1,
            reason: format!(
                "the chain starts after event #{} but no retention tombstone in it vouches for \
                 that start (events were removed outside retention)",
                base.seq
            ),
        });
    }
    let events = expected_seq - 1;
    if head.seq != events || head.hash != prev {
        return Ok(VerifyOutcome::Broken {
            seq: head.seq.max(events),
            reason: format!(
                "the chain head records event #{} but the table ends at #{events} \
                 (events were removed or the head was altered)",
                head.seq
            ),
        });
    }
    Ok(VerifyOutcome::Intact { events, head: prev })
}

/// Reads a single event's row for display.
pub fn row_to_view(row: &sqlx::any::AnyRow) -> Result<super::AuditEventView, sqlx::Error> {
    Ok(super::AuditEventView {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        object_type: row.try_get("object_type")?,
        object_id: row.try_get("object_id")?,
        summary: row.try_get("summary")?,
        request_id: row.try_get("request_id")?,
        client_addr: row.try_get("client_addr")?,
        hash: row.try_get("hash")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> NewEvent {
        AuditCtx {
            actor: "alice".into(),
            at: "2026-01-01T00:00:00.000000Z".into(),
            ..Default::default()
        }
        .event("user.create", "user", 7, "role: finance")
    }

    #[test]
    fn hash_depends_on_every_field_and_the_previous_hash() {
        let base = chain_hash(GENESIS_HASH, 1, &ev());
        assert_eq!(base.len(), 64);
        assert_eq!(base, chain_hash(GENESIS_HASH, 1, &ev()));
        assert_ne!(base, chain_hash(&base, 1, &ev()));
        assert_ne!(base, chain_hash(GENESIS_HASH, 2, &ev()));
        let mut e = ev();
        e.summary.push('!');
        assert_ne!(base, chain_hash(GENESIS_HASH, 1, &e));
        let mut e = ev();
        e.client_addr = Some("10.0.0.1".into());
        assert_ne!(base, chain_hash(GENESIS_HASH, 1, &e));
    }
}
