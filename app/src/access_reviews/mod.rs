//! Access reviews: systems (applications, cloud accounts, databases, and Steward itself) with
//! an owner, criticality and data categories; account snapshots imported from any CSV through
//! a saved column mapping (`mapped.rs`), from the AWS IAM credential report
//! (`credential_report.rs`) or from Steward's own users; a people list for orphans and manager
//! routing; and the flags each account gets at import (`flags.rs`).

pub mod accounts;
pub mod campaign_pages;
pub mod campaigns;
#[cfg(feature = "ssr")]
pub mod credential_report;
pub mod flags;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod mapped;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod people;
pub mod remediation;
pub mod remediation_pages;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod report;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod routing;
#[cfg(feature = "ssr")]
pub mod sources;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
pub use campaign_pages::*;
pub use campaigns::*;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

/// The largest account file accepted (a 100,000-account export is about 20 MiB).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

pub const KINDS: [(&str, &str); 3] = [
    ("application", "Application"),
    ("cloud_account", "Cloud account"),
    ("database", "Database"),
];
pub const CRITICALITIES: [&str; 4] = ["low", "medium", "high", "critical"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemSummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub owner: Option<String>,
    pub criticality: String,
    pub data_categories: Vec<String>,
    /// The latest snapshot: when, how many accounts, how many flagged.
    pub snapshot_at: Option<String>,
    pub accounts: i64,
    pub flagged: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemList {
    pub systems: Vec<SystemSummary>,
    /// (username, display name) of who may own a system.
    pub owners: Vec<(String, String)>,
    pub people: i64,
    pub can_manage: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemForm {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub criticality: String,
    #[serde(default)]
    pub data_categories: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub key: String,
    pub user_id: String,
    pub email: Option<String>,
    pub name: String,
    pub entitlement: String,
    pub account_type: String,
    pub active: bool,
    pub last_used: Option<String>,
    pub mfa: Option<bool>,
    pub manager_email: Option<String>,
    /// (flag code, explanation).
    pub flags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotView {
    pub id: i64,
    pub taken_at: String,
    pub source: String,
    pub file_name: String,
    pub file_sha256: String,
    pub encoding: String,
    pub accounts: i64,
    pub imported_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemDetail {
    pub system: SystemSummary,
    pub description: String,
    pub snapshots: Vec<SnapshotView>,
    /// The latest snapshot's accounts matching the filter (one page).
    pub accounts: Vec<AccountView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// (flag code, label, accounts with it) in the latest snapshot.
    pub flag_counts: Vec<(String, String, i64)>,
    /// Accounts the last completed campaign reviewed that the latest snapshot no longer has:
    /// (account, name, entitlement).
    pub removed: Vec<(String, String, String)>,
    pub can_manage: bool,
    /// Legal holds in force on this system's data (retention).
    #[serde(default)]
    pub holds: Vec<String>,
}

/// What an import did, said on the page and by the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    pub system_id: i64,
    pub snapshot_id: Option<i64>,
    pub source: String,
    pub accounts: i64,
    /// (flag label, accounts with it).
    pub flags: Vec<(String, i64)>,
    /// The same file as the latest snapshot: nothing was written.
    pub unchanged: bool,
}

impl ImportOutcome {
    pub fn describe(&self) -> String {
        if self.unchanged {
            return "The same file as the latest snapshot: nothing changed.".into();
        }
        let flags = self
            .flags
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| format!("{l} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "Imported {} account(s) from {}{}.",
            self.accounts,
            self.source.replace('_', " "),
            if flags.is_empty() {
                String::new()
            } else {
                format!("; flagged: {flags}")
            }
        )
    }
}

/// A CSV waiting for its column mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingImport {
    pub system_id: i64,
    pub system: String,
    #[serde(flatten)]
    pub file: crate::tabular::Preview,
}

#[server(endpoint = "list_systems")]
pub async fn list_systems() -> Result<SystemList, AppError> {
    store::requests::list().await
}

#[server(endpoint = "save_system")]
pub async fn save_system(form: SystemForm) -> Result<i64, AppError> {
    store::requests::save(form).await
}

#[server(endpoint = "get_system")]
pub async fn get_system(
    id: i64,
    q: String,
    flag: String,
    page: i64,
) -> Result<SystemDetail, AppError> {
    store::requests::detail(id, q, flag, page).await
}

#[server(endpoint = "pending_account_import")]
pub async fn pending_account_import(system: i64, token: String) -> Result<PendingImport, AppError> {
    store::requests::pending(system, token).await
}

/// Imports a waiting CSV with the mapping chosen (`map[field] = header`), and saves the
/// mapping for the system.
#[server(endpoint = "import_mapped_accounts")]
pub async fn import_mapped_accounts(
    system: i64,
    token: String,
    map: std::collections::BTreeMap<String, String>,
) -> Result<ImportOutcome, AppError> {
    let out = store::requests::import_mapped(system, token, map).await?;
    // On to the system's page, with or without JavaScript (the upload is gone now).
    leptos_axum::redirect(&crate::reply::with_param(
        &crate::paths::access_system(system),
        "imported",
        &out.describe(),
    ));
    Ok(out)
}

/// A snapshot of Steward's own users into the built-in system (created on first use).
#[server(endpoint = "snapshot_steward_users")]
pub async fn snapshot_steward_users() -> Result<ImportOutcome, AppError> {
    let out = store::requests::snapshot_steward().await?;
    leptos_axum::redirect(&crate::reply::with_param(
        &crate::paths::access_system(out.system_id),
        "imported",
        &out.describe(),
    ));
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeopleList {
    pub people: Vec<flags::Person>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub rules: flags::Rules,
    pub can_manage: bool,
}

#[server(endpoint = "list_people")]
pub async fn list_people(q: String, page: i64) -> Result<PeopleList, AppError> {
    store::requests::people(q, page).await
}

/// The flag rules: days until an account is dormant and a credential stale, and the
/// entitlement words that make an account privileged (one a line). Applied at each import.
#[server(endpoint = "save_access_rules")]
pub async fn save_access_rules(
    dormant_days: i64,
    stale_credential_days: i64,
    privileged_patterns: String,
) -> Result<(), AppError> {
    store::requests::save_rules(dormant_days, stale_credential_days, privileged_patterns).await
}

#[server(endpoint = "list_access_campaigns")]
pub async fn list_access_campaigns() -> Result<CampaignList, AppError> {
    store::campaigns::list_request().await
}

#[server(endpoint = "get_access_campaign")]
pub async fn get_access_campaign(id: i64) -> Result<CampaignDetail, AppError> {
    store::campaigns::detail_request(id).await
}

#[server(endpoint = "save_access_campaign")]
pub async fn save_access_campaign(form: CampaignForm) -> Result<i64, AppError> {
    let id = store::campaigns::save_request(form).await?;
    leptos_axum::redirect(&crate::paths::access_campaign(id));
    Ok(id)
}

/// Freezes the snapshots and routes every account; the campaign is then in review.
#[server(endpoint = "start_access_campaign")]
pub async fn start_access_campaign(id: i64) -> Result<i64, AppError> {
    store::campaigns::start_request(id).await
}

/// The signed-in reviewer's entries (only theirs).
#[server(endpoint = "my_access_entries")]
pub async fn my_access_entries(filter: QueueFilter, page: i64) -> Result<Queue, AppError> {
    store::entries::queue_request(filter, page).await
}

#[server(endpoint = "decide_access_entry")]
pub async fn decide_access_entry(id: i64, decision: String, note: String) -> Result<(), AppError> {
    store::entries::decide_request(id, decision, note).await
}

/// One decision for every open entry of the reviewer's that the filter keeps; how many.
#[server(endpoint = "bulk_decide_access_entries")]
pub async fn bulk_decide_access_entries(
    filter: QueueFilter,
    decision: String,
    note: String,
) -> Result<i64, AppError> {
    store::entries::bulk_request(filter, decision, note).await
}

/// Hands an entry to another reviewer, with the reason (the campaign's owner or compliance).
#[server(endpoint = "reassign_access_entry")]
pub async fn reassign_access_entry(id: i64, to: String, reason: String) -> Result<(), AppError> {
    store::entries::reassign_request(id, to, reason).await
}

/// Closes the review (every entry decided): revoke and modify decisions become remediation items.
#[server(endpoint = "close_access_review")]
pub async fn close_access_review(id: i64) -> Result<i64, AppError> {
    store::lifecycle::close_request(id).await
}

/// The owner's sign-off once remediation is done: the report becomes evidence; its id.
#[server(endpoint = "complete_access_campaign")]
pub async fn complete_access_campaign(id: i64) -> Result<i64, AppError> {
    store::lifecycle::complete_request(id).await
}

#[server(endpoint = "cancel_access_campaign")]
pub async fn cancel_access_campaign(id: i64, reason: String) -> Result<(), AppError> {
    store::lifecycle::cancel_request(id, reason).await
}

/// Remediation items: all to compliance, their own (or their campaigns') to anyone else.
#[server(endpoint = "remediation_board")]
pub async fn remediation_board(
    status: String,
    campaign: Option<i64>,
) -> Result<remediation::Board, AppError> {
    store::remediation::board_request(status, campaign).await
}

#[server(endpoint = "accept_remediation_exception")]
pub async fn accept_remediation_exception(id: i64, justification: String) -> Result<(), AppError> {
    store::remediation::exception_request(id, justification).await
}

/// The signed-in person's open entries by campaign and their open remediation items.
#[server(endpoint = "my_access_work")]
pub async fn my_access_work() -> Result<AccessWork, AppError> {
    store::entries::my_work_request().await
}
