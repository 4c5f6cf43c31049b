//! The export's file formats, written by `build` and read back by `verify`: `manifest.json`
//! (signed by `manifest.sig`), the audit excerpt's lines and its checkpoints.

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "steward.evidence-export.v1";
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
pub const SUMS: &str = "SHA256SUMS";
pub const EVENTS: &str = "audit/events.jsonl";
pub const CHECKPOINTS: &str = "audit/checkpoints.json";
pub const PUBLIC_KEY: &str = "public-key.pem";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub framework: FrameworkRef,
    /// `[start, end)`: `end` is the first day after the period.
    pub period: PeriodRef,
    /// The audit this export was made for (its requests are in `requests.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditRef>,
    /// The newest audit event that changed what this export shows (its frameworks, controls,
    /// evidence, users' names, settings, or the period's trail): the export is the data as of
    /// this event. Not the raw chain head, which every sign-in and every export moves: the
    /// same data must give the same bytes. The export's own audit event, with the archive's
    /// SHA-256, follows it in the chain.
    pub as_of: HeadRef,
    /// When the data was as shown: the time of `as_of`. A fixed time keeps the same data's
    /// export byte-identical; the audit trail records when each export was made, and by whom.
    pub created_at: String,
    pub signing_key: KeyRef,
    pub counts: Counts,
    /// Every file in the archive but `manifest.json`, `manifest.sig` and `SHA256SUMS`.
    pub files: Vec<FileEntry>,
    /// Evidence versions that are links, not files.
    pub links: Vec<LinkEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRef {
    pub key: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodRef {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadRef {
    pub seq: i64,
    pub hash: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    /// Base64 of the 32-byte Ed25519 public key (as `steward public-key` prints it).
    pub public_key: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requirements: usize,
    #[serde(default)]
    pub requests: usize,
    pub controls: usize,
    pub evidence_versions: usize,
    pub evidence_files: usize,
    pub evidence_bytes: u64,
    pub links: usize,
    pub audit_events: usize,
    pub checkpoints: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// `evidence`, `soa`, `index`, `requests`, `audit`, `key` or `readme`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub evidence_id: i64,
    pub version: i64,
    pub title: String,
    pub effective_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<PeriodRef>,
    pub uploaded_by: String,
    pub uploaded_at: String,
    /// The controls (refs) this evidence is attached to, within the framework.
    pub controls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEntry {
    pub url: String,
    pub evidence: EvidenceRef,
}

/// One line of `audit/events.jsonl`: an audit event as stored, in the chain's field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// A signed checkpoint with the hashes it signs, so a verifier can anchor excerpt events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    pub seq: i64,
    pub prev_seq: i64,
    pub hash: String,
    pub at: String,
    pub digest: String,
    pub signature: String,
    pub key_fingerprint: String,
    /// Hex hashes of events `prev_seq + 1 ..= seq`, in order.
    pub event_hashes: Vec<String>,
}

/// `SHA256SUMS` as `sha256sum -c` reads it: `<hex>  <path>` per line.
pub fn sums_text<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (sha, path) in entries {
        out.push_str(sha);
        out.push_str("  ");
        out.push_str(path);
        out.push('\n');
    }
    out
}

#[cfg(feature = "ssr")]
impl EventLine {
    pub fn from_stored(e: &crate::audit::chain::StoredEvent) -> EventLine {
        EventLine {
            seq: e.seq,
            at: e.event.at.clone(),
            actor_id: e.event.actor_id,
            actor: e.event.actor.clone(),
            action: e.event.action.clone(),
            object_type: e.event.object_type.clone(),
            object_id: e.event.object_id.clone(),
            summary: e.event.summary.clone(),
            request_id: e.event.request_id.clone(),
            client_addr: e.event.client_addr.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }

    /// The hash this event's content gives after `prev_hash`.
    pub fn computed_hash(&self) -> String {
        crate::audit::chain::chain_hash(
            &self.prev_hash,
            self.seq,
            &crate::audit::chain::NewEvent {
                at: self.at.clone(),
                actor_id: self.actor_id,
                actor: self.actor.clone(),
                action: self.action.clone(),
                object_type: self.object_type.clone(),
                object_id: self.object_id.clone(),
                summary: self.summary.clone(),
                request_id: self.request_id.clone(),
                client_addr: self.client_addr.clone(),
            },
        )
    }
}
