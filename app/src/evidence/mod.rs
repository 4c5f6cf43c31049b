//! Evidence: files and links that show a control works, stored content-addressed, versioned,
//! each with the date it speaks for.
//!
//! Uploads and downloads are plain HTTP routes (`routes`): a multipart form (`form`) streamed
//! to the blob store (`blobs`) after its content type is checked (`filecheck`), then recorded
//! (`upload`); downloads are hash-checked (`download`). Pages read through server functions;
//! their SQL is in `store`.

#[cfg(feature = "ssr")]
pub mod blobs;
#[cfg(feature = "ssr")]
mod download;
pub mod filecheck;
#[cfg(feature = "ssr")]
pub mod form;
#[cfg(feature = "ssr")]
pub mod generated;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
mod upload;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRef {
    pub id: i64,
    /// The control's reference, e.g. `AC-2`.
    pub code: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceSummary {
    pub id: i64,
    pub title: String,
    /// `file` or `link`.
    pub kind: String,
    pub latest_version: i64,
    pub effective_date: String,
    pub uploaded_at: String,
    pub uploaded_by: String,
    pub controls: Vec<ControlRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFilter {
    /// Words in the title or description.
    pub q: Option<String>,
    /// A control id (text, so that the form's "any control" option is simply empty).
    pub control: Option<String>,
    /// `file` or `link`.
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestRecord {
    pub procedure: String,
    pub sample: String,
    /// `pass` or `fail`.
    pub result: String,
    pub tester: String,
    pub tested_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionView {
    pub version: i64,
    pub effective_date: String,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub media_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub url: Option<String>,
    pub note: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
    pub test: Option<TestRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceDetail {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub created_by: String,
    pub created_at: String,
    pub controls: Vec<ControlRef>,
    /// Newest first.
    pub versions: Vec<VersionView>,
    /// Whether the signed-in user may upload a new version.
    pub can_add_version: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceOptions {
    /// Every control (for the list filter).
    pub controls: Vec<ControlRef>,
    /// The controls the signed-in user may add evidence to.
    pub attachable: Vec<i64>,
    pub can_submit: bool,
    pub max_upload_bytes: u64,
    /// Today by the server's clock, `YYYY-MM-DD` (effective dates may not be later).
    pub today: String,
}

#[server(endpoint = "list_evidence")]
pub async fn list_evidence(filter: EvidenceFilter) -> Result<Vec<EvidenceSummary>, AppError> {
    let state = crate::state::app_state()?;
    let su = crate::context::require_user()?;
    let reach = crate::audits::reach::Reach::of(state.db.pool(), &su.user).await?;
    store::list(state.db.pool(), &filter, &reach).await
}

#[server(endpoint = "get_evidence")]
pub async fn get_evidence(id: i64) -> Result<EvidenceDetail, AppError> {
    let state = crate::state::app_state()?;
    let su = crate::context::require_user()?;
    let reach = crate::audits::reach::Reach::of(state.db.pool(), &su.user).await?;
    if !reach.evidence(id) {
        return Err(AppError::NotFound);
    }
    store::detail(state.db.pool(), id, &su.user, &reach).await
}

#[server(endpoint = "evidence_options")]
pub async fn get_evidence_options() -> Result<EvidenceOptions, AppError> {
    use crate::policy::Permission;
    let state = crate::state::app_state()?;
    let su = crate::context::require_user()?;
    let can_submit = su.user.can(Permission::SubmitEvidence);
    let reach = crate::audits::reach::Reach::of(state.db.pool(), &su.user).await?;
    Ok(EvidenceOptions {
        controls: store::all_controls(state.db.pool(), &reach).await?,
        attachable: if can_submit {
            store::attachable_ids(state.db.pool(), &su.user).await?
        } else {
            Vec::new()
        },
        can_submit,
        max_upload_bytes: state.max_upload_bytes,
        today: state.clock.now().date().to_string(),
    })
}
