//! The auditor's workspace: audits (engagements) with their frameworks, period `[start, end)`,
//! assigned auditors and status (`planned → fieldwork → reporting → closed`); the request list
//! (PBC) with comment threads, evidence versions as answers and the `open → submitted →
//! accepted | returned` cycle (`pbc.rs`); samples an auditor draws and anyone can draw again
//! (`sampling.rs`); reminders through the outbox (`reminders.rs`). Auditors see and act on the
//! audits they are assigned to, and write nothing else.

#[cfg(feature = "ssr")]
mod answers;
pub mod pages;
pub mod pbc;
#[cfg(feature = "ssr")]
pub mod reach;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
mod requests;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod sampling;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use pbc::Side;
use serde::{Deserialize, Serialize};

pub const STATUSES: [&str; 4] = ["planned", "fieldwork", "reporting", "closed"];

/// The populations a sample can be drawn from, with their labels.
pub const POPULATIONS: [(&str, &str); 2] = [
    (
        "evidence_versions",
        "Evidence versions effective in the period (the audit's frameworks)",
    ),
    (
        "budget_attestations",
        "Budget attestations of periods starting in the audit period",
    ),
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub open: i64,
    pub submitted: i64,
    pub accepted: i64,
    pub returned: i64,
    /// Open or returned past their due date.
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSummary {
    pub id: i64,
    pub name: String,
    pub start: String,
    /// The first day after the period.
    pub end: String,
    pub status: String,
    /// Framework keys.
    pub frameworks: Vec<String>,
    /// Auditors' usernames.
    pub auditors: Vec<String>,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditsView {
    pub audits: Vec<AuditSummary>,
    pub can_manage: bool,
    /// (key, label) of every framework, for the form.
    pub frameworks: Vec<(String, String)>,
    /// Usernames of active auditor accounts, for the form.
    pub auditor_accounts: Vec<String>,
}

/// The audit form: frameworks by key and auditors by username, comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditForm {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub frameworks: String,
    #[serde(default)]
    pub auditors: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRow {
    pub id: i64,
    /// "PBC-001".
    pub reference: String,
    pub text: String,
    pub requirement: String,
    pub control: String,
    pub due: String,
    pub assignee: String,
    pub status: String,
    pub overdue: bool,
    pub evidence: i64,
    pub comments: i64,
    pub sample_item: Option<String>,
    /// The audit's name.
    pub audit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleView {
    pub id: i64,
    pub population: String,
    pub population_size: i64,
    pub population_sha256: String,
    pub size: i64,
    pub seed: String,
    pub items: Vec<String>,
    pub drawn_by: String,
    pub drawn_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetail {
    pub audit: AuditSummary,
    pub requests: Vec<RequestRow>,
    pub samples: Vec<SampleView>,
    pub side: Side,
    pub can_manage: bool,
    /// Who requests can be assigned to: (username, name).
    pub assignees: Vec<(String, String)>,
    /// (key, label) of every framework, and this audit's keys and auditors, for the edit form.
    pub frameworks: Vec<(String, String)>,
    pub auditor_accounts: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    pub audit_id: i64,
    #[serde(default)]
    pub text: String,
    /// A requirement label of one of the audit's frameworks ("AC-2"), optional.
    #[serde(default)]
    pub requirement: String,
    /// A control reference, optional.
    #[serde(default)]
    pub control: String,
    #[serde(default)]
    pub population: String,
    #[serde(default)]
    pub due: String,
    /// A username, optional.
    #[serde(default)]
    pub assignee: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleForm {
    #[serde(default)]
    pub audit_id: i64,
    #[serde(default)]
    pub population: String,
    #[serde(default)]
    pub size: String,
    #[serde(default)]
    pub seed: String,
    #[serde(default)]
    pub due: String,
    #[serde(default)]
    pub assignee: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedEvidence {
    pub evidence_id: i64,
    pub version: i64,
    pub title: String,
    pub effective_date: String,
    pub file: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentView {
    pub author: String,
    pub action: String,
    pub body: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub row: RequestRow,
    pub audit_id: i64,
    pub audit_name: String,
    pub audit_closed: bool,
    pub period: String,
    pub population: String,
    pub evidence: Vec<AttachedEvidence>,
    pub thread: Vec<CommentView>,
    pub side: Side,
    /// Evidence versions the organisation can attach: ("id:version", label).
    pub candidates: Vec<(String, String)>,
}

#[server(endpoint = "list_audits")]
pub async fn list_audits() -> Result<AuditsView, AppError> {
    requests::list().await
}

#[server(endpoint = "get_audit")]
pub async fn get_audit(id: i64) -> Result<AuditDetail, AppError> {
    requests::detail(id).await
}

/// Creates (then opens it) or updates an audit.
#[server(endpoint = "save_audit")]
pub async fn save_audit(form: AuditForm) -> Result<i64, AppError> {
    let creating = form.id.is_none();
    let id = requests::save(form).await?;
    if creating {
        leptos_axum::redirect(&crate::paths::audit(id));
    }
    Ok(id)
}

#[server(endpoint = "set_audit_status")]
pub async fn set_audit_status(id: i64, status: String) -> Result<(), AppError> {
    requests::set_status(id, status).await
}

#[server(endpoint = "add_audit_request")]
pub async fn add_audit_request(form: RequestForm) -> Result<i64, AppError> {
    requests::add_request(form).await
}

#[server(endpoint = "draw_sample")]
pub async fn draw_sample(form: SampleForm) -> Result<SampleView, AppError> {
    requests::draw(form).await
}

#[server(endpoint = "get_audit_request")]
pub async fn get_audit_request(id: i64) -> Result<RequestDetail, AppError> {
    answers::request_detail(id).await
}

#[server(endpoint = "comment_audit_request")]
pub async fn comment_audit_request(id: i64, body: String) -> Result<(), AppError> {
    answers::comment(id, body).await
}

/// Attaches an evidence version ("id:version") to a request.
#[server(endpoint = "attach_request_evidence")]
pub async fn attach_request_evidence(id: i64, evidence: String) -> Result<(), AppError> {
    answers::attach(id, evidence).await
}

/// Submits (organisation), accepts or returns (auditors) a request: `action` is `submit`,
/// `accept` or `return`; the note goes into the thread (required to return).
#[server(endpoint = "move_audit_request")]
pub async fn move_audit_request(id: i64, action: String, note: String) -> Result<String, AppError> {
    answers::move_request(id, action, note).await
}

/// The requests waiting on the signed-in user (My work).
#[server(endpoint = "my_audit_requests")]
pub async fn my_audit_requests() -> Result<Vec<RequestRow>, AppError> {
    answers::mine().await
}
