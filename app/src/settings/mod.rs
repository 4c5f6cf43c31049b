//! Settings (admins and auditors): the audit signing key's public half, where the key lives,
//! and the latest signed checkpoints; administrators can sign one now.

pub mod pages;
pub mod routes;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

/// How many of the newest checkpoints the page lists.
pub const CHECKPOINTS_SHOWN: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRow {
    pub seq: i64,
    pub prev_seq: i64,
    pub at: String,
    pub hash: String,
    /// Signed by this server's key, and the chain still has the event hashes it signed.
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningOverview {
    /// Standard base64 of the raw Ed25519 public key.
    pub public_key: String,
    pub fingerprint: String,
    /// Where the private key file is (never its content).
    pub key_path: String,
    /// Newest last.
    pub checkpoints: Vec<CheckpointRow>,
    pub total_checkpoints: i64,
    pub head_seq: i64,
    pub can_sign: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointOutcome {
    /// False when nothing happened since the newest checkpoint (nothing was signed).
    pub created: bool,
    pub seq: i64,
    pub message: String,
    /// The same token the log line carries.
    pub token: Option<String>,
}

#[server(endpoint = "signing_settings")]
pub async fn signing_settings() -> Result<SigningOverview, AppError> {
    ssr::settings().await
}

/// Signs a checkpoint of the audit chain now (administrators).
#[server(endpoint = "create_checkpoint")]
pub async fn create_checkpoint() -> Result<CheckpointOutcome, AppError> {
    ssr::create().await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::audit::chain;
    use crate::audit::checkpoint;
    use crate::context::require;
    use crate::policy::Permission;
    use crate::state::{app_state, audit_ctx};
    use crate::util::display_ts;

    pub async fn settings() -> Result<SigningOverview, AppError> {
        let su = require(Permission::ViewAudit)?;
        let state = app_state()?;
        let key = state.signer.public_key();
        // One snapshot: the head, the checkpoints and the event hashes agree with each other.
        let mut tx = chain::begin_snapshot(&state.db).await?;
        let head = chain::read_head(&mut tx).await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_checkpoints")
            .fetch_one(&mut *tx)
            .await?;
        let stored = checkpoint::list_stored(&mut tx, Some(CHECKPOINTS_SHOWN)).await?;
        let mut checkpoints = Vec::with_capacity(stored.len());
        for s in stored {
            let verified = passes_through(&mut tx, &s.checkpoint, &key).await?;
            let cp = s.checkpoint;
            checkpoints.push(CheckpointRow {
                seq: cp.seq,
                prev_seq: cp.prev_seq,
                at: cp.at,
                hash: cp.hash,
                verified,
            });
        }
        tx.rollback().await?;
        Ok(SigningOverview {
            public_key: key.to_b64(),
            fingerprint: key.fingerprint(),
            key_path: state.signer.path().display().to_string(),
            checkpoints,
            total_checkpoints: total,
            head_seq: head.seq,
            can_sign: su.user.can(Permission::SignCheckpoints),
        })
    }

    /// Whether `key` signed the checkpoint, its stored event hashes are the signed ones, and
    /// the chain still has exactly those hashes. (The audit page's "Verify chain" also
    /// recomputes every event's hash.)
    async fn passes_through(
        conn: &mut sqlx::AnyConnection,
        cp: &checkpoint::Checkpoint,
        key: &crate::signing::PublicKey,
    ) -> Result<bool, sqlx::Error> {
        if !cp.signed_by(key) {
            return Ok(false);
        }
        let Some(list) = checkpoint::stored_event_hashes(conn, cp.seq).await? else {
            return Ok(false);
        };
        if checkpoint::digest_of_raw(&list) != cp.digest {
            return Ok(false);
        }
        let current = checkpoint::event_hashes(conn, cp.prev_seq + 1, cp.seq).await?;
        let now: Vec<u8> = current
            .iter()
            .flat_map(|(_, h)| checkpoint::raw_hash(h))
            .collect();
        Ok(now == list && current.last().is_some_and(|(_, h)| *h == cp.hash))
    }

    pub async fn create() -> Result<CheckpointOutcome, AppError> {
        let su = require(Permission::SignCheckpoints)?;
        let state = app_state()?;
        let ctx = audit_ctx(&state, Some(&su.user));
        Ok(
            match checkpoint::create(&state.db, &state.signer, &ctx).await? {
                Some(cp) => CheckpointOutcome {
                    created: true,
                    seq: cp.seq,
                    message: format!("Signed checkpoint #{} ({}).", cp.seq, display_ts(&cp.at)),
                    token: Some(cp.token()),
                },
                None => {
                    let mut conn = state.db.pool().acquire().await?;
                    let head = chain::read_head(&mut conn).await?;
                    CheckpointOutcome {
                        created: false,
                        seq: head.seq,
                        message: format!(
                            "Nothing new since checkpoint #{}: nothing was signed.",
                            head.seq
                        ),
                        token: None,
                    }
                }
            },
        )
    }
}
