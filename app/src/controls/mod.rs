//! Frameworks, their requirements, the organisation's controls, mappings between them
//! ("test once, comply many") and each control's derived status.
//!
//! - `import`: OSCAL and CSV framework parsing (no database).
//! - `profile`: OSCAL profile resolution into a catalog for `import` (no database).
//! - `library`: CISO Assistant libraries (YAML frameworks and mapping sets); `crosswalk`: the
//!   links between frameworks' requirements and their CSV (no database).
//! - `framework_csv`: any framework CSV through a column mapping; `soa`: the Statement of
//!   Applicability CSV (no database). `intake`: any framework file in, detected and applied in
//!   one transaction.
//! - `status`: the status rules (no database).
//! - `store`: SQL. `csvio`: control and framework CSV import/export. `routes`: endpoints and file routes.
//! - this file: shared types, server functions; `pages`: the pages.

#[cfg(feature = "ssr")]
pub mod crosswalk;
#[cfg(feature = "ssr")]
pub mod csvio;
#[cfg(feature = "ssr")]
pub mod framework_csv;
pub mod framework_pages;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod intake;
#[cfg(feature = "ssr")]
pub mod library;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod profile;
#[cfg(feature = "ssr")]
pub mod reminders;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod soa;
pub mod status;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
pub use framework_pages::*;
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
    /// What the source asked for that could not be applied (a profile's alter on a control
    /// it does not select, a language the library lacks).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// What an import did to one framework or crosswalk, in a word.
fn outcome_word(created: bool, changed: bool) -> &'static str {
    match (created, changed) {
        (true, _) => "created",
        (false, true) => "updated",
        (false, false) => "unchanged (already imported)",
    }
}

/// What importing one crosswalk (a requirement mapping set) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingOutcome {
    pub name: String,
    pub source: String,
    pub target: String,
    pub created: bool,
    pub changed: bool,
    pub added: i64,
    pub updated: i64,
    pub removed: i64,
    pub unchanged: i64,
    /// Links naming a requirement the framework does not have (a library may be newer or
    /// older than the framework imported): skipped, listed here.
    pub skipped: Vec<String>,
}

impl MappingOutcome {
    pub fn describe(&self) -> String {
        let what = outcome_word(self.created, self.changed);
        let mut s = format!(
            "Crosswalk '{}' ({} → {}) {what}: {} link(s) added, {} updated, {} removed, {} unchanged",
            self.name, self.source, self.target, self.added, self.updated, self.removed, self.unchanged
        );
        if !self.skipped.is_empty() {
            let shown: Vec<&str> = self.skipped.iter().take(10).map(String::as_str).collect();
            s.push_str(&format!(
                "; {} skipped (not in the framework): {}{}",
                self.skipped.len(),
                shown.join(", "),
                if self.skipped.len() > 10 { ", …" } else { "" }
            ));
        }
        s
    }
}

/// Coverage a crosswalk suggests for a requirement: a control mapped to a related requirement
/// of another framework. Accepting it maps the control here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub requirement_id: i64,
    pub control_id: i64,
    pub control_ref: String,
    /// The related requirement: its framework and label.
    pub via_framework: String,
    pub via_label: String,
    /// What the related requirement is to this one: equal, subset, superset, intersect.
    pub relationship: String,
    pub crosswalk: String,
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
        let what = outcome_word(self.created, self.changed);
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
        if !self.warnings.is_empty() {
            s.push_str(&format!(". Note: {}", self.warnings.join("; ")));
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
    /// Requirements the Statement of Applicability excludes (not counted above).
    #[serde(default)]
    pub excluded: i64,
    /// Unmapped requirements a crosswalk relates to a mapped requirement elsewhere.
    #[serde(default)]
    pub suggested: i64,
    /// The language the text is in, those the source offers, and where it is published.
    #[serde(default)]
    pub locale: String,
    #[serde(default)]
    pub locales: Vec<String>,
    #[serde(default)]
    pub source_url: String,
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
    /// A heading groups requirements and is not assessed itself.
    #[serde(default)]
    pub assessable: bool,
    #[serde(default)]
    pub depth: i64,
    #[serde(default)]
    pub applicable: bool,
    #[serde(default)]
    pub justification: String,
    #[serde(default)]
    pub reference_controls: String,
    /// Coverage crosswalks suggest (not accepted yet).
    #[serde(default)]
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementPage {
    pub framework: Option<FrameworkSummary>,
    pub rows: Vec<RequirementRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// Crosswalks touching the framework: name, the other framework, links, format.
    #[serde(default)]
    pub crosswalks: Vec<(String, String, i64, String)>,
    #[serde(default)]
    pub can_manage: bool,
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

/// A framework CSV waiting for its column mapping: what was detected, the first rows, each
/// field with the column remembered or guessed for it.
#[server(endpoint = "pending_framework_import")]
pub async fn pending_framework_import(token: String) -> Result<crate::tabular::Preview, AppError> {
    store::framework_requests::pending_file(token).await
}

/// Imports a waiting framework CSV with the mapping chosen (`map[field] = header`).
#[server(endpoint = "import_mapped_framework")]
pub async fn import_mapped_framework(
    token: String,
    map: std::collections::BTreeMap<String, String>,
    name: String,
    version: String,
) -> Result<String, AppError> {
    let (id, msg) = store::framework_requests::import_mapped(token, map, name, version).await?;
    leptos_axum::redirect(&crate::reply::with_param(
        &crate::paths::framework(id),
        "imported",
        &msg,
    ));
    Ok(msg)
}

/// Marks a requirement applicable, or excluded with a justification (the Statement of
/// Applicability). `applicable` is "yes" or "no", as the form sends it.
#[server(endpoint = "set_requirement_applicability")]
pub async fn set_requirement_applicability(
    requirement_id: i64,
    applicable: String,
    justification: String,
) -> Result<(), AppError> {
    let applicable = match applicable.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::invalid("Applicable: yes or no.")),
    };
    store::framework_requests::set_applicability(requirement_id, applicable, justification).await
}

/// Accepts coverage a crosswalk suggests: maps the control to the requirement.
#[server(endpoint = "accept_suggestion")]
pub async fn accept_suggestion(control_id: i64, requirement_id: i64) -> Result<(), AppError> {
    store::framework_requests::accept(control_id, requirement_id).await
}
