//! Evidence exports: one ZIP for a framework and a period `[start, end)` — per requirement its
//! controls and every evidence version effective in the period (files as stored), the
//! Statement of Applicability, an offline index, the period's audit trail with the signed
//! checkpoints that cover it, `manifest.json` with every file's SHA-256, `SHA256SUMS`, and
//! `manifest.sig` (Ed25519, Steward's audit key). The same data gives the same bytes; anyone
//! can check it with `sha256sum -c`, `openssl` or `steward verify-export`.

#[cfg(feature = "ssr")]
pub mod build;
#[cfg(feature = "ssr")]
mod index;
pub mod manifest;
pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod run;
pub mod scope;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod verify;

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
}

#[server(endpoint = "export_options")]
pub async fn export_options() -> Result<ExportChoices, AppError> {
    use crate::policy::Permission;
    crate::context::require(Permission::ExportEvidence)?;
    let state = crate::state::app_state()?;
    Ok(ExportChoices {
        frameworks: store::framework_choices(&state.db).await?,
        public_key: state.signer.public_key_b64(),
        fingerprint: state.signer.fingerprint(),
    })
}
