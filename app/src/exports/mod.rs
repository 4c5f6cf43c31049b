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
