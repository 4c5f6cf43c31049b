//! Evidence exports: one ZIP for a framework and a period `[start, end)` — per requirement its
//! controls and every evidence version effective in the period (files as stored), the
//! Statement of Applicability, an offline index, the period's audit trail with the signed
//! checkpoints that cover it, `manifest.json` with every file's SHA-256, `SHA256SUMS`, and
//! `manifest.sig` (Ed25519, Steward's audit key). The same data gives the same bytes; anyone
//! can check it with `sha256sum -c`, `openssl` or `steward verify-export`.

#[cfg(feature = "ssr")]
pub mod answers;
#[cfg(feature = "ssr")]
pub mod build;
#[cfg(feature = "ssr")]
pub(crate) mod index;
#[cfg(feature = "ssr")]
pub mod jobs;
pub mod manifest;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod run;
pub mod scope;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod structure;
#[cfg(feature = "ssr")]
pub mod verify;
#[cfg(feature = "ssr")]
pub mod versions;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportChoices {
    /// (key, name and version) of every imported framework.
    pub frameworks: Vec<(String, String)>,
    pub public_key: String,
    pub fingerprint: String,
    /// Any framework and period (the organisation), or only the audits below (auditors).
    pub any_scope: bool,
    /// The audits this user may export: (id, name).
    pub audits: Vec<(i64, String)>,
}

#[server(endpoint = "export_options")]
pub async fn export_options() -> Result<ExportChoices, AppError> {
    use crate::policy::Permission;
    let su = crate::context::require(Permission::ExportEvidence)?;
    let state = crate::state::app_state()?;
    let any_scope = su.user.can(Permission::ManageAudits);
    let audits =
        crate::audits::store::summaries(state.db.pool(), (!any_scope).then_some(su.user.id), "")
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
    Ok(ExportChoices {
        any_scope,
        audits,
        frameworks: if any_scope {
            store::framework_choices(&state.db).await?
        } else {
            Vec::new()
        },
        public_key: state.signer.public_key_b64(),
        fingerprint: state.signer.fingerprint(),
    })
}

/// An export built in the background, as the exports page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJob {
    pub id: i64,
    pub framework: String,
    pub start: String,
    /// The first day after the period.
    pub end: String,
    pub audit: Option<i64>,
    pub audit_name: Option<String>,
    pub requested_by: String,
    pub requested_at: String,
    /// `building`, `ready`, `failed` or `expired`.
    pub status: String,
    /// While building: how far, in whole percent.
    pub percent: Option<u8>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    pub expires_at: Option<String>,
}

/// Starts building an export in the background (the same scope rules as the download: the
/// organisation any framework and period, auditors their audits); its id.
#[server(endpoint = "start_evidence_export")]
pub async fn start_evidence_export(
    framework: String,
    from: String,
    to: String,
    audit: String,
) -> Result<i64, AppError> {
    use crate::policy::Permission;
    let su = crate::context::require(Permission::ExportEvidence)?;
    let state = crate::state::app_state()?;
    let scope = routes::scope_for(&state, &su.user, &framework, &from, &to, &audit).await?;
    let ctx = crate::state::audit_ctx(&state, Some(&su.user));
    jobs::start(&state, &su.user, scope, ctx).await
}

/// The background exports this user may see, newest first.
#[server(endpoint = "list_evidence_exports")]
pub async fn list_evidence_exports() -> Result<Vec<ExportJob>, AppError> {
    use crate::policy::Permission;
    let su = crate::context::require(Permission::ExportEvidence)?;
    let state = crate::state::app_state()?;
    jobs::list(&state, &su.user).await
}
