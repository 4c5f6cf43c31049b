//! Signed checkpoints: the audit chain's head, signed with a key kept outside the database
//! (`crate::signing`), so that rewriting history and recomputing every hash no longer passes
//! verification.
//!
//! **What a checkpoint covers.** Creating one is a write: in one `WriteTx` it appends an
//! `audit.checkpoint` event, then signs the head *after* that event, so `seq` is the
//! checkpoint's own event and the checkpoint vouches for itself too. When the head has not
//! moved since the newest checkpoint (its `seq` is still the head), nothing is written. Before
//! signing, the events since the previous checkpoint are re-chained from its hash, so a break
//! that is already there is never signed over.
//!
//! **The signed message** (version 1) is the compact JSON array (serde_json, no spaces)
//!
//! ```text
//! ["steward.checkpoint.v1", seq, hash, at, prev_seq, digest]
//! ```
//!
//! `seq`, `prev_seq`: integers (`prev_seq` is the previous checkpoint's `seq`, 0 for the
//! first); `hash`: the hex SHA-256 of event `seq`; `at`: UTC text as `util::ts` writes it
//! (`YYYY-MM-DDTHH:MM:SS.ffffffZ`); `digest`: hex SHA-256 over the raw 32-byte hashes of
//! events `prev_seq + 1 ..= seq`, concatenated in order. The signature is Ed25519 over those
//! bytes. The event hashes themselves are stored with the checkpoint (`event_hashes`), so a
//! verifier can compare event by event and name the first one that differs.
//!
//! **The log token.** Each checkpoint is also logged (target `steward::checkpoint`) as one
//! self-contained token that can be copied out of the logs and given to
//! `steward verify-audit --checkpoint`, because whoever owns the database can delete stored
//! checkpoints:
//!
//! ```text
//! steward-checkpoint:v1:<seq>:<hash>:<at>:<prev_seq>:<digest>:<signature, standard base64>
//! ```
//!
//! `at` contains colons; the fields before it and after it have none, so a token splits
//! unambiguously from both ends.

use super::chain::{self, AuditCtx};
use crate::db::Db;
use crate::error::AppError;
use crate::signing::{signature_from_b64, signature_to_b64, PublicKey, Signer};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use std::time::Duration;

pub const MESSAGE_VERSION: &str = "steward.checkpoint.v1";
pub const TOKEN_PREFIX: &str = "steward-checkpoint:v1:";
/// The tracing target of the line that carries each new checkpoint's token.
pub const LOG_TARGET: &str = "steward::checkpoint";
/// The action of the audit event each checkpoint writes.
pub const ACTION: &str = "audit.checkpoint";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    pub prev_seq: i64,
    pub digest: String,
    /// Standard base64 of the 64-byte Ed25519 signature over `message()`.
    pub signature: String,
}

/// The canonical bytes a checkpoint signs (see the module documentation).
pub fn message(seq: i64, hash: &str, at: &str, prev_seq: i64, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!([
        MESSAGE_VERSION,
        seq,
        hash,
        at,
        prev_seq,
        digest
    ]))
    .unwrap_or_default()
}

/// An event hash as its 32 raw bytes (a malformed stored hash keeps its text bytes, which
/// then simply fail to match).
pub fn raw_hash(hex_hash: &str) -> Vec<u8> {
    hex::decode(hex_hash).unwrap_or_else(|_| hex_hash.as_bytes().to_vec())
}

/// The hex SHA-256 over event hashes given as concatenated raw bytes.
pub fn digest_of_raw(concatenated: &[u8]) -> String {
    hex::encode(Sha256::digest(concatenated))
}

impl Checkpoint {
    pub fn message(&self) -> Vec<u8> {
        message(self.seq, &self.hash, &self.at, self.prev_seq, &self.digest)
    }

    /// Whether `key` signed exactly this checkpoint.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        signature_from_b64(&self.signature).is_ok_and(|sig| key.verify(&self.message(), &sig))
    }

    pub fn token(&self) -> String {
        format!(
            "{TOKEN_PREFIX}{}:{}:{}:{}:{}:{}",
            self.seq, self.hash, self.at, self.prev_seq, self.digest, self.signature
        )
    }

    /// Reads a token, alone or inside a copied log line (text or JSON).
    pub fn parse_token(text: &str) -> Result<Checkpoint, String> {
        let bad = |why: &str| format!("not a checkpoint token ({why}): '{}'", text.trim());
        let start = text
            .find(TOKEN_PREFIX)
            .ok_or_else(|| bad("it must start with steward-checkpoint:v1:"))?;
        let token = text[start..]
            .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
            .next()
            .unwrap_or_default();
        let rest = &token[TOKEN_PREFIX.len()..];
        let mut left = rest.splitn(3, ':');
        let (seq, hash, rest) = match (left.next(), left.next(), left.next()) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => return Err(bad("too few fields")),
        };
        let mut right = rest.rsplitn(4, ':');
        let (signature, digest, prev_seq, at) =
            match (right.next(), right.next(), right.next(), right.next()) {
                (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
                _ => return Err(bad("too few fields")),
            };
        let is_hash = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        let seq: i64 = seq.parse().map_err(|_| bad("bad sequence number"))?;
        let prev_seq: i64 = prev_seq
            .parse()
            .map_err(|_| bad("bad previous sequence number"))?;
        if prev_seq < 0 || prev_seq >= seq {
            return Err(bad("the previous checkpoint must come before it"));
        }
        if !is_hash(hash) || !is_hash(digest) {
            return Err(bad("bad hash"));
        }
        if crate::util::parse_ts(at).is_none() {
            return Err(bad("bad time"));
        }
        signature_from_b64(signature).map_err(|_| bad("bad signature encoding"))?;
        Ok(Checkpoint {
            seq,
            hash: hash.to_ascii_lowercase(),
            at: at.to_string(),
            prev_seq,
            digest: digest.to_ascii_lowercase(),
            signature: signature.to_string(),
        })
    }
}

/// A checkpoint as stored, with the fingerprint of the key that signed it (informational:
/// the signature is what counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub checkpoint: Checkpoint,
    pub key_fingerprint: String,
}

/// Stored checkpoints, oldest first; the newest `limit` when given. Not the event hashes
/// (`stored_event_hashes` reads those when a comparison needs them).
pub async fn list_stored(
    conn: &mut AnyConnection,
    limit: Option<i64>,
) -> Result<Vec<StoredCheckpoint>, sqlx::Error> {
    let sql = match limit {
        Some(n) => format!(
            "SELECT seq, hash, at, prev_seq, digest, signature, key_fingerprint \
             FROM audit_checkpoints ORDER BY seq DESC LIMIT {}",
            n.max(0)
        ),
        None => "SELECT seq, hash, at, prev_seq, digest, signature, key_fingerprint \
                 FROM audit_checkpoints ORDER BY seq"
            .to_string(),
    };
    let rows = sqlx::query(&sql).fetch_all(conn).await?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(StoredCheckpoint {
                checkpoint: Checkpoint {
                    seq: r.try_get("seq")?,
                    hash: r.try_get("hash")?,
                    at: r.try_get("at")?,
                    prev_seq: r.try_get("prev_seq")?,
                    digest: r.try_get("digest")?,
                    signature: r.try_get("signature")?,
                },
                key_fingerprint: r.try_get("key_fingerprint")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    if limit.is_some() {
        out.reverse();
    }
    Ok(out)
}

/// The stored event hashes of checkpoint `seq` (concatenated raw 32-byte hashes).
pub async fn stored_event_hashes(
    conn: &mut AnyConnection,
    seq: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT event_hashes FROM audit_checkpoints WHERE seq = $1")
        .bind(seq)
        .fetch_optional(conn)
        .await
}

/// The current hashes of events `from ..= to` as (seq, hash), in order.
pub async fn event_hashes(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT seq, hash FROM audit_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq")
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await
}

/// Signs the chain head now, unless it has not moved since the newest checkpoint (then
/// `Ok(None)` and nothing is written). The token is logged once the checkpoint is committed.
pub async fn create(
    db: &Db,
    signer: &Signer,
    ctx: &AuditCtx,
) -> Result<Option<Checkpoint>, AppError> {
    let mut tx = db.write().await?;
    let (head_seq, _) = tx.head();
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(tx.conn())
            .await?;
    let (prev_seq, prev_hash) = match last {
        // Nothing new since the newest checkpoint (which covers its own event): the rollback
        // on drop leaves everything as it was.
        Some((seq, _)) if seq == head_seq => return Ok(None),
        Some((seq, _)) if seq > head_seq => {
            return Err(refuse(format!(
                "stored checkpoint #{seq} is beyond the chain head #{head_seq}"
            )))
        }
        Some(last) => last,
        None => (0, chain::GENESIS_HASH.to_string()),
    };
    // Events retention disposed of are gone: a checkpoint starts at the chain's base at most.
    let base = chain::read_base(tx.conn()).await?;
    let (prev_seq, prev_hash) = if base.seq > prev_seq {
        (base.seq, base.hash)
    } else {
        (prev_seq, prev_hash)
    };
    let seq = tx
        .audit(ctx.event(
            ACTION,
            "audit_checkpoint",
            head_seq + 1,
            format!(
                "signed checkpoint of events #{}–#{} with key {}",
                prev_seq + 1,
                head_seq + 1,
                signer.fingerprint()
            ),
        ))
        .await?;
    let hash = tx.head().1.to_string();
    let hashes = rechain_range(tx.conn(), prev_seq, &prev_hash, seq).await?;
    let digest = digest_of_raw(&hashes);
    let msg = message(seq, &hash, &ctx.at, prev_seq, &digest);
    let cp = Checkpoint {
        seq,
        hash,
        at: ctx.at.clone(),
        prev_seq,
        digest,
        signature: signature_to_b64(&signer.sign(&msg)),
    };
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, prev_seq, hash, at, digest, event_hashes, \
         signature, key_fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(cp.seq)
    .bind(cp.prev_seq)
    .bind(&cp.hash)
    .bind(&cp.at)
    .bind(&cp.digest)
    .bind(hashes)
    .bind(&cp.signature)
    .bind(signer.fingerprint())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    tracing::info!(
        target: LOG_TARGET,
        seq = cp.seq,
        key = %signer.fingerprint(),
        "audit checkpoint signed: {}",
        cp.token()
    );
    Ok(Some(cp))
}

fn refuse(why: String) -> AppError {
    tracing::warn!(target: LOG_TARGET, "refusing to sign a checkpoint: {why}");
    AppError::Conflict(format!(
        "Not signed: {why}. The audit trail may have been tampered with; run `steward verify-audit`."
    ))
}

/// Re-chains events `prev_seq + 1 ..= seq` from `prev_hash` (the previous checkpoint's hash)
/// and returns their hashes as concatenated raw bytes. Refuses a gap or a bad link: a
/// checkpoint must never vouch for a chain that is already broken.
async fn rechain_range(
    conn: &mut AnyConnection,
    prev_seq: i64,
    prev_hash: &str,
    seq: i64,
) -> Result<Vec<u8>, AppError> {
    use futures_util::TryStreamExt;
    let sql = format!(
        "SELECT {} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq",
        chain::EVENT_COLUMNS
    );
    let mut rows = sqlx::query(&sql).bind(prev_seq).bind(seq).fetch(conn);
    let mut out = Vec::with_capacity(32 * (seq - prev_seq).clamp(0, 1 << 20) as usize);
    let mut prev = prev_hash.to_string();
    let mut expected = prev_seq + 1;
    while let Some(row) = rows.try_next().await? {
        let e = chain::event_from_row(&row)?;
        if let Some(chain::VerifyOutcome::Broken { seq, reason }) =
            chain::check_link(expected, &prev, &e)
        {
            return Err(refuse(format!(
                "the chain is broken at event #{seq}: {reason}"
            )));
        }
        out.extend_from_slice(&raw_hash(&e.hash));
        prev = e.hash;
        expected += 1;
    }
    if expected != seq + 1 {
        return Err(refuse(format!("event #{expected} is missing")));
    }
    Ok(out)
}

/// Signs a checkpoint every `every` (the first one `every` after start), as `scheduler`.
/// Servers sharing a database each run this; the head lock makes the later ones no-ops.
pub fn schedule(db: Db, signer: Signer, clock: crate::util::Clock, every: Duration) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let ctx = AuditCtx {
                actor: "scheduler".into(),
                at: crate::util::ts(clock.now()),
                ..Default::default()
            };
            match create(&db, &signer, &ctx).await {
                Ok(Some(_)) => {}
                Ok(None) => tracing::debug!(target: LOG_TARGET, "no new audit events to sign"),
                Err(e) => {
                    tracing::warn!(target: LOG_TARGET, error = %e, "scheduled checkpoint failed")
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            seq: 42,
            hash: "ab".repeat(32),
            at: "2026-11-30T08:15:00.123456Z".into(),
            prev_seq: 17,
            digest: "cd".repeat(32),
            signature: String::new(),
        }
    }

    #[test]
    fn the_signed_message_is_canonical_and_versioned() {
        let cp = sample();
        let expected = format!(
            "[\"steward.checkpoint.v1\",42,\"{}\",\"2026-11-30T08:15:00.123456Z\",17,\"{}\"]",
            "ab".repeat(32),
            "cd".repeat(32)
        );
        assert_eq!(String::from_utf8(cp.message()).unwrap(), expected);
        // Every field is bound.
        let base = cp.message();
        for change in [
            |c: &mut Checkpoint| c.seq += 1,
            |c: &mut Checkpoint| c.prev_seq -= 1,
            |c: &mut Checkpoint| c.hash = "ef".repeat(32),
            |c: &mut Checkpoint| c.digest = "ef".repeat(32),
            |c: &mut Checkpoint| c.at = "2026-11-30T08:15:00.123457Z".into(),
        ] {
            let mut c = sample();
            change(&mut c);
            assert_ne!(c.message(), base);
        }
    }

    #[test]
    fn the_digest_is_sha256_over_raw_hashes_in_order() {
        let (a, b) = ("11".repeat(32), "22".repeat(32));
        let mut raw = raw_hash(&a);
        raw.extend(raw_hash(&b));
        assert_eq!(raw.len(), 64);
        let d = digest_of_raw(&raw);
        assert_eq!(
            d,
            hex::encode(Sha256::digest([[0x11u8; 32], [0x22u8; 32]].concat()))
        );
        let mut swapped = raw_hash(&b);
        swapped.extend(raw_hash(&a));
        assert_ne!(digest_of_raw(&swapped), d);
    }

    fn signer() -> (Signer, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("steward-cp-{}", crate::util::random_hex(8)));
        (Signer::load_or_create(&dir, None).unwrap(), dir)
    }

    #[test]
    fn signatures_and_tokens_round_trip_and_tampering_shows() {
        let (s, dir) = signer();
        let mut cp = sample();
        cp.signature = signature_to_b64(&s.sign(&cp.message()));
        assert!(cp.signed_by(&s.public_key()));
        let token = cp.token();
        assert!(token.starts_with("steward-checkpoint:v1:42:"), "{token}");
        assert_eq!(Checkpoint::parse_token(&token).unwrap(), cp);
        // Straight from a copied log line, text or JSON.
        let line = format!("2026-11-30T08:15:00Z  INFO steward::checkpoint: audit checkpoint signed: {token} seq=42");
        assert_eq!(Checkpoint::parse_token(&line).unwrap(), cp);
        let json = format!("{{\"fields\":{{\"message\":\"audit checkpoint signed: {token}\"}}}}");
        assert_eq!(Checkpoint::parse_token(&json).unwrap(), cp);
        // Any changed field breaks the signature.
        let mut forged = cp.clone();
        forged.hash = "ef".repeat(32);
        assert!(!forged.signed_by(&s.public_key()));
        let mut forged = cp.clone();
        forged.prev_seq = 16;
        assert!(!Checkpoint::parse_token(&forged.token())
            .unwrap()
            .signed_by(&s.public_key()));
        // Another key did not sign it.
        let (other, dir2) = signer();
        assert!(!cp.signed_by(&other.public_key()));
        for bad in [
            "steward-checkpoint:v1:42",
            "steward-checkpoint:v2:42:aa:2026-11-30T08:15:00.123456Z:17:bb:AAAA",
            &token.replace(":17:", ":42:"),
            &token.replace(":17:", ":x:"),
            &token.replace("2026-11-30T08", "yesterday"),
            &token[..token.len() - 4],
        ] {
            assert!(Checkpoint::parse_token(bad).is_err(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(dir2);
    }
}
