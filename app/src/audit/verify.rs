//! Full verification of the audit trail: the hash chain, and every signed checkpoint (stored
//! ones and tokens copied from the logs) against it, all in one read snapshot.
//!
//! The hash chain alone proves only that nobody edited the database *carelessly*; a database
//! owner can rewrite an event and recompute every later hash. A checkpoint's signature cannot
//! be recomputed without the key, so the chain must pass through every checkpoint: event `seq`
//! has the signed hash, and the events since the previous checkpoint hash to the signed
//! digest. When they do not, the stored per-event hashes (authenticated by that digest) name
//! the first event that differs. A token from the logs carries only the digest: when its
//! stored copy was deleted, the verifier names the range between the last checkpoint that
//! still matches and the failing one (more tokens narrow it).

use super::chain::{self, VerifyOutcome};
use super::checkpoint::{self, Checkpoint, ACTION};
use crate::db::Db;
use crate::signing::PublicKey;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Checkpoints exist but there is no public key to check them with.
    #[error(
        "{0} signed checkpoint(s) to check but no public key: give --public-key BASE64 \
         (see `steward public-key`) or the signing key file"
    )]
    NoKey(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Stored,
    Token,
    /// Stored, and the same checkpoint was also given as a token.
    Both,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Stored => "stored",
            Source::Token => "log token",
            Source::Both => "stored and log token",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Verified,
    Failed(String),
    NotChecked(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointResult {
    pub seq: i64,
    pub at: String,
    pub source: Source,
    pub status: Status,
}

/// The first thing wrong, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact,
    /// The first bad event is known.
    BrokenAt {
        seq: i64,
        reason: String,
    },
    /// The first bad event is somewhere in `from ..= to` (a token without its event hashes).
    BrokenIn {
        from: i64,
        to: i64,
        reason: String,
    },
    /// The chain holds, but a checkpoint itself was forged, altered or deleted.
    Checkpoint {
        seq: i64,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct Report {
    /// Events in the snapshot and the head's hash (as far as the chain held).
    pub events: i64,
    pub head: String,
    pub verdict: Verdict,
    pub checkpoints: Vec<CheckpointResult>,
    /// The key checkpoints were checked with.
    pub key_fingerprint: Option<String>,
}

impl Report {
    pub fn intact(&self) -> bool {
        self.verdict == Verdict::Intact
    }

    /// The first line of `steward verify-audit`.
    pub fn summary(&self) -> String {
        match &self.verdict {
            Verdict::Intact => format!(
                "audit chain intact: {} events, head {}",
                self.events, self.head
            ),
            Verdict::BrokenAt { seq, reason } => {
                format!("audit chain BROKEN at event #{seq}: {reason}")
            }
            Verdict::BrokenIn { from, to, reason } => {
                format!("audit chain BROKEN in events #{from}..#{to}: {reason}")
            }
            Verdict::Checkpoint { seq, reason } => {
                format!("audit checkpoint #{seq} BROKEN: {reason}")
            }
        }
    }

    /// What follows the summary: every checkpoint that did not verify, then one line for
    /// those that did (a year of hourly checkpoints would otherwise be 8,760 lines).
    pub fn details(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut verified = Vec::new();
        for c in &self.checkpoints {
            let what = format!("checkpoint #{} ({}, {})", c.seq, c.at, c.source.label());
            match &c.status {
                Status::Verified => verified.push(c),
                Status::Failed(why) => out.push(format!("{what}: FAILED: {why}")),
                Status::NotChecked(why) => out.push(format!("{what}: not checked: {why}")),
            }
        }
        let key = self
            .key_fingerprint
            .as_deref()
            .map(|k| format!(" with key {k}"))
            .unwrap_or_default();
        match (verified.first(), verified.last()) {
            (Some(first), Some(last)) => out.push(format!(
                "signed checkpoints verified{key}: {} (#{}..#{}), the newest #{} at {}",
                verified.len(),
                first.seq,
                last.seq,
                last.seq,
                last.at
            )),
            _ if self.checkpoints.is_empty() => out.push(
                "no signed checkpoints: nothing outside the database vouches for this chain \
                 (steward checkpoint signs one; tokens from the logs go in --checkpoint)"
                    .into(),
            ),
            _ => out.push(format!("signed checkpoints verified{key}: 0")),
        }
        out
    }
}

/// A checkpoint to check, from the table, a token, or both.
struct Anchor {
    cp: Checkpoint,
    source: Source,
    /// For the message: which key the stored row says signed it.
    stored_key: Option<String>,
    state: State,
    /// Running SHA-256 over the event hashes of its range while the events stream by.
    hasher: Option<Sha256>,
}

enum State {
    /// Signed; not yet reached by the stream.
    Pending,
    /// The chain does not pass through it; `locate` says where it differs.
    Mismatch,
    Done(Status),
}

/// Verifies the chain and every checkpoint in one snapshot. `key` may be `None` only when
/// there is nothing signed to check.
pub async fn verify(
    db: &Db,
    key: Option<&PublicKey>,
    tokens: &[Checkpoint],
) -> Result<Report, VerifyError> {
    let mut tx = chain::begin_snapshot(db).await?;
    // The head first: it fixes the snapshot on SQLite, and every later read agrees with it.
    let head = chain::read_head(&mut tx).await?;
    let stored = checkpoint::list_stored(&mut tx, None).await?;
    let mut anchors = merge(&stored, tokens);
    if key.is_none() && !anchors.is_empty() {
        return Err(VerifyError::NoKey(anchors.len()));
    }
    let mut findings = Vec::new();
    for a in &mut anchors {
        // (With no key there are no anchors.)
        let Some(key) = key else { break };
        if !a.cp.signed_by(key) {
            let by = match &a.stored_key {
                Some(fp) if *fp != key.fingerprint() => format!(" (the row names key {fp})"),
                _ => String::new(),
            };
            let why = format!(
                "its signature does not verify with key {}{by}: the checkpoint was altered \
                 or forged",
                key.fingerprint()
            );
            findings.push(Verdict::Checkpoint {
                seq: a.cp.seq,
                reason: why.clone(),
            });
            a.state = State::Done(Status::Failed(why));
        }
    }

    // Checkpoints over events retention disposed of: their signature is checked above, their
    // events are gone (the tombstone in the chain vouches for where it now starts).
    let base = chain::read_base(&mut tx).await?;
    for a in &mut anchors {
        if matches!(a.state, State::Pending) && a.cp.prev_seq < base.seq {
            a.state = State::Done(if a.cp.seq == base.seq && a.cp.hash == base.hash {
                Status::Verified
            } else {
                Status::NotChecked(format!(
                    "events up to #{} were disposed of under retention",
                    base.seq
                ))
            });
        }
    }
    // Stream the chain once; each signed anchor hashes the events of its range as they pass.
    let mut order: Vec<usize> = (0..anchors.len())
        .filter(|&i| matches!(anchors[i].state, State::Pending))
        .collect();
    order.sort_by_key(|&i| anchors[i].cp.prev_seq);
    let mut next = 0;
    let mut active: Vec<usize> = Vec::new();
    let mut recorded = BTreeSet::new();
    let mut last_good = 0i64;
    let outcome = chain::verify_in(&mut tx, &head, |e| {
        last_good = e.seq;
        if e.event.action == ACTION {
            recorded.insert(e.seq);
        }
        while next < order.len() && anchors[order[next]].cp.prev_seq < e.seq {
            anchors[order[next]].hasher = Some(Sha256::new());
            active.push(order[next]);
            next += 1;
        }
        let raw = checkpoint::raw_hash(&e.hash);
        active.retain(|&i| {
            let a = &mut anchors[i];
            if let Some(h) = a.hasher.as_mut() {
                h.update(&raw);
            }
            if e.seq < a.cp.seq {
                return true;
            }
            let digest = a.hasher.take().map(|h| hex::encode(h.finalize()));
            a.state = if e.hash == a.cp.hash && digest.as_deref() == Some(a.cp.digest.as_str()) {
                State::Done(Status::Verified)
            } else {
                State::Mismatch
            };
            false
        });
    })
    .await?;

    let chain_broken_at = match &outcome {
        VerifyOutcome::Broken { seq, reason } => {
            findings.push(Verdict::BrokenAt {
                seq: *seq,
                reason: reason.clone(),
            });
            Some(*seq)
        }
        VerifyOutcome::Intact { .. } => None,
    };
    // Checkpoints the stream never completed.
    for a in anchors.iter_mut() {
        if !matches!(a.state, State::Pending) {
            continue;
        }
        match chain_broken_at {
            Some(k) => {
                a.state = State::Done(Status::NotChecked(format!(
                    "the chain is broken at event #{k}, before this checkpoint's events end"
                )))
            }
            None => {
                let why = format!(
                    "it signed event #{} but the chain ends at #{last_good}: events were removed",
                    a.cp.seq
                );
                findings.push(Verdict::BrokenAt {
                    seq: last_good + 1,
                    reason: format!(
                        "events #{}..#{} are missing: signed checkpoint #{} ({}) covers them",
                        last_good + 1,
                        a.cp.seq,
                        a.cp.seq,
                        a.source.label()
                    ),
                });
                a.state = State::Done(Status::Failed(why));
            }
        }
    }
    // Name the first differing event of each checkpoint the chain does not pass through.
    let passed: Vec<i64> = anchors
        .iter()
        .filter(|a| matches!(a.state, State::Done(Status::Verified)))
        .map(|a| a.cp.seq)
        .collect();
    for a in anchors.iter_mut() {
        if !matches!(a.state, State::Mismatch) {
            continue;
        }
        let (finding, why) = locate(&mut tx, a, &passed).await?;
        a.state = State::Done(Status::Failed(why));
        findings.push(finding);
    }
    // A checkpoint event in the chain without its row: the row was deleted.
    let stored_seqs: BTreeSet<i64> = stored.iter().map(|s| s.checkpoint.seq).collect();
    for seq in recorded.difference(&stored_seqs) {
        let why = format!(
            "event #{seq} records a signed checkpoint that is missing from audit_checkpoints \
             (it was deleted)"
        );
        findings.push(Verdict::Checkpoint {
            seq: *seq,
            reason: why.clone(),
        });
        anchors.push(Anchor {
            cp: Checkpoint {
                seq: *seq,
                hash: String::new(),
                at: "missing".into(),
                prev_seq: 0,
                digest: String::new(),
                signature: String::new(),
            },
            source: Source::Stored,
            stored_key: None,
            state: State::Done(Status::Failed(why)),
            hasher: None,
        });
    }
    tx.rollback().await?;
    anchors.sort_by_key(|a| a.cp.seq);
    let results = anchors
        .into_iter()
        .map(|a| CheckpointResult {
            seq: a.cp.seq,
            at: a.cp.at,
            source: a.source,
            status: match a.state {
                State::Done(s) => s,
                // Every anchor is settled above; this keeps an oversight visible, not silent.
                State::Pending | State::Mismatch => Status::NotChecked("not reached".into()),
            },
        })
        .collect();
    let mut report = from_chain(outcome, results, key.map(|k| k.fingerprint()));
    report.verdict = first(findings);
    Ok(report)
}

fn from_chain(
    outcome: VerifyOutcome,
    checkpoints: Vec<CheckpointResult>,
    key_fingerprint: Option<String>,
) -> Report {
    let (events, head, verdict) = match outcome {
        VerifyOutcome::Intact { events, head } => (events, head, Verdict::Intact),
        VerifyOutcome::Broken { seq, reason } => {
            (seq - 1, String::new(), Verdict::BrokenAt { seq, reason })
        }
    };
    Report {
        events,
        head,
        verdict,
        checkpoints,
        key_fingerprint,
    }
}

/// The earliest broken event wins; a bad checkpoint matters only when the events are fine.
fn first(findings: Vec<Verdict>) -> Verdict {
    let start = |v: &Verdict| match v {
        Verdict::BrokenAt { seq, .. } => (0, *seq),
        Verdict::BrokenIn { from, .. } => (0, *from),
        Verdict::Checkpoint { seq, .. } => (1, *seq),
        Verdict::Intact => (2, 0),
    };
    findings
        .into_iter()
        .min_by_key(start)
        .unwrap_or(Verdict::Intact)
}

/// Stored checkpoints and tokens as one list; a token equal to a stored row is one anchor.
fn merge(stored: &[checkpoint::StoredCheckpoint], tokens: &[Checkpoint]) -> Vec<Anchor> {
    let mut anchors: Vec<Anchor> = stored
        .iter()
        .map(|s| Anchor {
            cp: s.checkpoint.clone(),
            source: Source::Stored,
            stored_key: Some(s.key_fingerprint.clone()),
            state: State::Pending,
            hasher: None,
        })
        .collect();
    for t in tokens {
        if let Some(a) = anchors.iter_mut().find(|a| a.cp == *t) {
            if a.source == Source::Stored {
                a.source = Source::Both;
            }
            continue;
        }
        anchors.push(Anchor {
            cp: t.clone(),
            source: Source::Token,
            stored_key: None,
            state: State::Pending,
            hasher: None,
        });
    }
    anchors
}

/// For a checkpoint the chain does not pass through: the first event that differs, from the
/// stored event hashes when a copy matching the signed digest exists; else the range after
/// the last checkpoint that still matches.
async fn locate(
    conn: &mut sqlx::AnyConnection,
    a: &Anchor,
    passed: &[i64],
) -> Result<(Verdict, String), sqlx::Error> {
    let cp = &a.cp;
    // Events up to a matching checkpoint are authentic; the difference is after it.
    let proven = passed
        .iter()
        .copied()
        .filter(|s| *s < cp.seq)
        .max()
        .unwrap_or(0);
    let what = format!(
        "signed checkpoint #{} ({}, {})",
        cp.seq,
        cp.at,
        a.source.label()
    );
    let span = (cp.seq - cp.prev_seq) as usize;
    // Only a copy whose SHA-256 is the signed digest counts: the database owner may have
    // rewritten the stored list as well.
    let signed_list = checkpoint::stored_event_hashes(conn, cp.seq)
        .await?
        .filter(|l| l.len() == 32 * span && checkpoint::digest_of_raw(l) == cp.digest);
    if let Some(list) = signed_list {
        let current = checkpoint::event_hashes(conn, cp.prev_seq + 1, cp.seq).await?;
        let mut first_diff = cp.seq;
        for (i, signed) in list.chunks(32).enumerate() {
            let seq = cp.prev_seq + 1 + i as i64;
            let now = current.iter().find(|(s, _)| *s == seq);
            if now.is_none_or(|(_, h)| checkpoint::raw_hash(h) != signed) {
                first_diff = seq;
                break;
            }
        }
        let why = format!(
            "event #{first_diff} differs from what it signed (hashes recomputed after a rewrite)"
        );
        // Event `first_diff - 1` is authentic when it is inside the signed list or proven by
        // an earlier checkpoint; otherwise the change may lie before this checkpoint's range.
        if first_diff > cp.prev_seq + 1 || cp.prev_seq <= proven {
            return Ok((
                Verdict::BrokenAt {
                    seq: first_diff,
                    reason: format!(
                        "it differs from {what}: the chain was rewritten and its hashes recomputed"
                    ),
                },
                why,
            ));
        }
        return Ok((
            Verdict::BrokenIn {
                from: proven + 1,
                to: first_diff,
                reason: format!(
                    "they differ from {what}; the checkpoint before it is missing, so the \
                     change may lie before #{first_diff}"
                ),
            },
            why,
        ));
    }
    let why = format!(
        "the chain does not pass through it: events #{}..#{} differ from what it signed",
        proven + 1,
        cp.seq
    );
    Ok((
        Verdict::BrokenIn {
            from: proven + 1,
            to: cp.seq,
            reason: format!(
                "they differ from {what} (the chain was rewritten and its hashes recomputed); \
                 no stored copy of its event hashes remains to name the event, so give the \
                 tokens of earlier checkpoints to narrow it down"
            ),
        },
        why,
    ))
}
