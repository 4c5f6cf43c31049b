//! The audit trail: browse and filter events, check the chain.

#[cfg(feature = "ssr")]
pub mod chain;
#[cfg(feature = "ssr")]
pub mod checkpoint;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
mod store;
#[cfg(feature = "ssr")]
pub mod verify;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// Matches the action or any action starting with it (`user.` finds all user events).
    pub action: Option<String>,
    pub object_type: Option<String>,
    /// First day included, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day included, `YYYY-MM-DD` (UTC).
    pub to: Option<String>,
    /// Paging: show events before this sequence number.
    pub before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Sequence number to continue from, when there are older matching events.
    pub next_before: Option<i64>,
    pub head_seq: i64,
    pub head_hash: String,
}

pub const PAGE_SIZE: i64 = 50;

#[server(endpoint = "list_audit_events")]
pub async fn list_audit_events(filter: AuditFilter) -> Result<AuditPage, AppError> {
    store::list(filter).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCheck {
    pub intact: bool,
    pub events: i64,
    pub message: String,
    /// The signed checkpoints' results, one line each (failures first, then a count).
    pub details: Vec<String>,
}

#[server(endpoint = "verify_audit_chain")]
pub async fn verify_audit_chain() -> Result<ChainCheck, AppError> {
    store::verify().await
}
