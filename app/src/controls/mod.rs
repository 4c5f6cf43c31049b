//! Frameworks, their requirements, the organisation's controls, mappings between them
//! ("test once, comply many") and each control's derived status.
//!
//! - `import`: OSCAL and CSV framework parsing (no database).
//! - `library`: CISO Assistant libraries (YAML frameworks and mapping sets); `crosswalk`: the
//!   links between frameworks' requirements and their CSV (no database).
//! - `status`: the status rules (no database).
//! - `store`: SQL. `csvio`: control and framework CSV import/export. `routes`: endpoints and file routes.
//! - this file: shared types, server functions; `pages`: the pages.

#[cfg(feature = "ssr")]
pub mod crosswalk;
#[cfg(feature = "ssr")]
pub mod csvio;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod library;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod reminders;
pub mod routes;
pub mod status;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};
use status::{Cadence, ControlStatus};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    pub framework_id: i64,
    pub key: String,
    pub name: String,
    pub version: String,
    pub created: bool,
    /// False when the file matched what is stored: nothing was written.
    pub changed: bool,
    pub added: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub retired: Vec<RetiredRequirement>,
    pub restored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredRequirement {
    pub label: String,
    pub title: String,
    pub mapped_controls: i64,
}

impl ImportOutcome {
    /// One line for people (CLI output, page notices).
    pub fn describe(&self) -> String {
        let what = if self.created {
            "created"
        } else if self.changed {
            "updated"
        } else {
            "unchanged (already imported)"
        };
        let mut s = format!(
            "Framework '{}' version {} {what}: {} requirement(s) added, {} updated, {} unchanged, {} retired",
            self.name,
            self.version,
            self.added,
            self.updated,
            self.unchanged,
            self.retired.len()
        );
        if !self.retired.is_empty() {
            let list: Vec<String> = self
                .retired
                .iter()
                .map(|r| {
                    if r.mapped_controls > 0 {
                        format!("{} ({} mapped control(s))", r.label, r.mapped_controls)
                    } else {
                        r.label.clone()
                    }
                })
                .collect();
            s.push_str(&format!(
                " [no longer in the framework: {}]",
                list.join(", ")
            ));
        }
        if !self.restored.is_empty() {
            s.push_str(&format!("; restored: {}", self.restored.join(", ")));
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkSummary {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub version: String,
    pub format: String,
    pub requirements: i64,
    /// Requirements mapped to at least one control.
    pub mapped: i64,
    /// Requirements whose applicable mapped controls all have fresh evidence.
    pub fresh: i64,
    pub retired: i64,
    /// Mapped controls by status.
    pub by_status: Vec<(ControlStatus, i64)>,
    pub imported_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFilter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub owner: Option<i64>,
    #[serde(default)]
    pub framework: Option<i64>,
    #[serde(default)]
    pub mine: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRow {
    pub id: i64,
    pub r#ref: String,
    pub title: String,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub cadence: Cadence,
    pub applicable: bool,
    pub status: ControlStatus,
    pub next_due: Option<String>,
    pub last_evidence: Option<String>,
    pub frameworks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlForm {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub r#ref: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// A user id, or empty for none.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub cadence: String,
    /// "yes" (default) or "no".
    #[serde(default)]
    pub applicable: Option<String>,
    #[serde(default)]
    pub justification: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedRequirement {
    pub requirement_id: i64,
    pub framework_id: i64,
    pub framework: String,
    pub label: String,
    pub title: String,
    pub retired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceEntry {
    pub evidence_id: i64,
    pub version: i64,
    pub title: String,
    pub kind: String,
    pub effective_date: String,
    pub uploaded_at: String,
    pub uploaded_by: String,
    pub filename: Option<String>,
    pub url: Option<String>,
    pub test_result: Option<String>,
    pub tested_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlDetail {
    pub row: ControlRow,
    pub description: String,
    pub justification: String,
    pub created_at: String,
    pub updated_at: String,
    pub mappings: Vec<MappedRequirement>,
    pub evidence: Vec<EvidenceEntry>,
    /// What the viewer may do here.
    pub can_manage: bool,
    pub can_submit_evidence: bool,
    pub users: Vec<(i64, String)>,
    pub frameworks: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementRow {
    pub id: i64,
    pub framework_id: i64,
    pub framework: String,
    pub r#ref: String,
    pub label: String,
    pub parent_ref: Option<String>,
    pub group_title: String,
    pub title: String,
    pub statement: String,
    pub retired: bool,
    pub controls: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementPage {
    pub framework: Option<FrameworkSummary>,
    pub rows: Vec<RequirementRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlList {
    pub rows: Vec<ControlRow>,
    pub users: Vec<(i64, String)>,
    pub frameworks: Vec<(i64, String)>,
    pub can_manage: bool,
    pub due_soon_days: i64,
    /// Due in the window, overdue: the freshness lists.
    pub counts: Vec<(ControlStatus, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkList {
    pub frameworks: Vec<FrameworkSummary>,
    /// Built-in frameworks: key and label.
    pub builtin: Vec<(String, String)>,
    pub can_manage: bool,
    /// An auditor's list: only the frameworks of their audits.
    #[serde(default)]
    pub scoped: bool,
}

#[server(endpoint = "list_frameworks")]
pub async fn list_frameworks() -> Result<FrameworkList, AppError> {
    store::requests::frameworks().await
}

#[server(endpoint = "import_builtin_framework")]
pub async fn import_builtin_framework(key: String) -> Result<ImportOutcome, AppError> {
    store::requests::import_builtin(key).await
}

#[server(endpoint = "list_requirements")]
pub async fn list_requirements(
    framework: Option<i64>,
    q: String,
    page: i64,
) -> Result<RequirementPage, AppError> {
    store::requests::requirements(framework, q, page).await
}

#[server(endpoint = "list_controls")]
pub async fn list_controls(filter: ControlFilter) -> Result<ControlList, AppError> {
    store::requests::controls(filter).await
}

/// The controls the signed-in user owns, with their status ("My work"; members too, who
/// read no other control).
#[server(endpoint = "owned_controls")]
pub async fn owned_controls() -> Result<Vec<ControlRow>, AppError> {
    let su = crate::context::require(crate::policy::Permission::ViewOwnWork)?;
    let state = crate::state::app_state()?;
    let pool = state.db.pool();
    let st = store::statuses(pool, state.clock.now().date()).await?;
    let mine = ControlFilter {
        mine: true,
        ..ControlFilter::default()
    };
    store::list_controls(pool, &st, &mine, su.user.id).await
}

#[server(endpoint = "get_control")]
pub async fn get_control(id: i64) -> Result<ControlDetail, AppError> {
    store::requests::control(id).await
}

#[server(endpoint = "save_control")]
pub async fn save_control(form: ControlForm) -> Result<i64, AppError> {
    let editing = form.id;
    let r = store::requests::save(form).await;
    if let Ok(id) = &r {
        if editing.is_none() {
            leptos_axum::redirect(&crate::paths::control(*id));
        }
    }
    r
}

#[server(endpoint = "map_control")]
pub async fn map_control(
    control_id: i64,
    framework_id: i64,
    requirements: String,
) -> Result<usize, AppError> {
    store::requests::map(control_id, framework_id, requirements).await
}

#[server(endpoint = "unmap_control")]
pub async fn unmap_control(control_id: i64, requirement_id: i64) -> Result<(), AppError> {
    store::requests::unmap(control_id, requirement_id).await
}

#[server(endpoint = "set_due_soon_days")]
pub async fn set_due_soon_days(days: i64) -> Result<(), AppError> {
    store::requests::set_window(days).await
}
