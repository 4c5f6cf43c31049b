//! Retention: data categories and where they are held (systems, vendors), rules that say how
//! long and what happens then (`schedule.rs`), records tracked under a rule with their
//! disposal date, the disposal queue and its certificates (`disposal.rs`), legal holds as cases
//! that suspend disposal of everything in their scope (`holds.rs`), and Steward's own data under
//! built-in rules with a scheduled job and tombstones in the audit chain (`own.rs`).

#[cfg(feature = "ssr")]
pub mod disposal;
pub mod hold_pages;
#[cfg(feature = "ssr")]
pub mod holds;
#[cfg(feature = "ssr")]
pub mod own;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod requests;
pub mod routes;
pub mod schedule;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
pub use hold_pages::*;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

/// Disposal falls due within this many days: shown as coming up in the queue.
pub const UPCOMING_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub id: i64,
    pub category_id: i64,
    pub name: String,
    pub period: String,
    pub trigger: String,
    pub legal_basis: String,
    pub reference: String,
    pub action: String,
    pub review_every: String,
    pub last_reviewed: Option<String>,
    pub next_review: String,
    pub review_due: bool,
    pub records: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Steward's own data: the key the disposal job knows.
    pub builtin: Option<String>,
    pub personal: bool,
    /// Where it is held: ("system" | "vendor", id, name).
    pub locations: Vec<(String, i64, String)>,
    pub rules: Vec<RuleView>,
    /// Legal holds in force on the whole category.
    pub holds: Vec<String>,
}

/// One line of the own-data job's plan or result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnLine {
    pub key: String,
    pub category: String,
    pub rule: String,
    /// Data created (or expired, superseded) before this instant goes.
    pub cutoff: String,
    pub count: i64,
    /// Legal holds stopping it, or why nothing is disposed of.
    pub held_by: Vec<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub categories: Vec<CategoryView>,
    /// Choices for "held in": ("system:ID" | "vendor:ID", name).
    pub places: Vec<(String, String)>,
    /// What the own-data job would dispose of now (its dry run).
    pub own: Vec<OwnLine>,
    pub audit_min_days: u32,
    pub can_manage: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    pub id: i64,
    pub description: String,
    pub category: String,
    pub rule: String,
    pub action: String,
    pub held_in: String,
    pub trigger_date: String,
    pub disposal_date: String,
    pub status: String,
    pub approved_by: Option<String>,
    /// Legal holds in force on this record (by record, category, system or vendor).
    pub holds: Vec<String>,
    /// Once disposed: when, by whom, and the certificate kept as evidence.
    pub disposed_at: Option<String>,
    pub performed_by: Option<String>,
    pub certificate: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    /// Due now (or overdue) and free to dispose of.
    pub due: Vec<RecordView>,
    /// Due now but suspended by a legal hold.
    pub held: Vec<RecordView>,
    /// Due within `UPCOMING_DAYS`.
    pub upcoming: Vec<RecordView>,
    /// Every other record still held, and the last disposals.
    pub later: Vec<RecordView>,
    pub disposed: Vec<RecordView>,
    /// Rules for the record form: (id, "category — rule (period from trigger)").
    pub rules: Vec<(i64, String)>,
    pub places: Vec<(String, String)>,
    pub can_manage: bool,
    pub me: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldView {
    pub id: i64,
    pub name: String,
    pub reason: String,
    pub custodian: Option<String>,
    pub starts_on: String,
    pub released_at: Option<String>,
    pub released_by: Option<String>,
    pub release_note: String,
    pub in_force: bool,
    /// ("category" | "system" | "vendor" | "record", scope line id, what).
    pub scope: Vec<(String, i64, String)>,
    /// Tracked records it suspends now.
    pub records: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldsView {
    pub holds: Vec<HoldView>,
    /// Scope choices: ("category:ID" | "system:ID" | "vendor:ID" | "record:ID", name).
    pub targets: Vec<(String, String)>,
    /// Custodians: (username, display name).
    pub people: Vec<(String, String)>,
    pub can_manage: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub personal: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleForm {
    /// The rule to change; empty for a new one.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub category_id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub trigger: String,
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub review_every: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub rule_id: i64,
    /// "system:ID", "vendor:ID" or empty.
    #[serde(default)]
    pub place: String,
    /// `YYYY-MM-DD`; empty for a vendor's latest contract end (trigger `contract_end`).
    #[serde(default)]
    pub trigger_date: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub reason: String,
    /// Username or email.
    #[serde(default)]
    pub custodian: String,
    #[serde(default)]
    pub starts_on: String,
    /// The first scope line: "category:ID", "system:ID", "vendor:ID" or "record:ID".
    #[serde(default)]
    pub target: String,
}

#[server(endpoint = "retention_schedule")]
pub async fn retention_schedule() -> Result<ScheduleView, AppError> {
    requests::schedule().await
}

#[server(endpoint = "save_retention_category")]
pub async fn save_retention_category(form: CategoryForm) -> Result<i64, AppError> {
    requests::save_category(form).await
}

#[server(endpoint = "add_retention_location")]
pub async fn add_retention_location(category_id: i64, place: String) -> Result<(), AppError> {
    requests::add_location(category_id, place).await
}

#[server(endpoint = "save_retention_rule")]
pub async fn save_retention_rule(form: RuleForm) -> Result<i64, AppError> {
    requests::save_rule(form).await
}

#[server(endpoint = "review_retention_rule")]
pub async fn review_retention_rule(id: i64) -> Result<(), AppError> {
    requests::review_rule(id).await
}

#[server(endpoint = "disposal_queue")]
pub async fn disposal_queue() -> Result<QueueView, AppError> {
    disposal::queue().await
}

#[server(endpoint = "add_retention_record")]
pub async fn add_retention_record(form: RecordForm) -> Result<i64, AppError> {
    requests::add_record(form).await
}

#[server(endpoint = "approve_disposal")]
pub async fn approve_disposal(id: i64) -> Result<(), AppError> {
    disposal::approve(id).await
}

#[server(endpoint = "record_disposal")]
pub async fn record_disposal(id: i64, note: String) -> Result<i64, AppError> {
    disposal::record(id, note).await
}

#[server(endpoint = "list_legal_holds")]
pub async fn list_legal_holds() -> Result<HoldsView, AppError> {
    holds::list().await
}

#[server(endpoint = "place_legal_hold")]
pub async fn place_legal_hold(form: HoldForm) -> Result<i64, AppError> {
    holds::place(form).await
}

#[server(endpoint = "add_hold_scope")]
pub async fn add_hold_scope(id: i64, target: String) -> Result<(), AppError> {
    holds::add_scope(id, target).await
}

#[server(endpoint = "release_legal_hold")]
pub async fn release_legal_hold(id: i64, note: String) -> Result<(), AppError> {
    holds::release(id, note).await
}

#[server(endpoint = "run_own_retention")]
pub async fn run_own_retention() -> Result<Vec<OwnLine>, AppError> {
    own::run_now().await
}
