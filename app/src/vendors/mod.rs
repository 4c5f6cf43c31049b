//! Vendors: the register with owners, data shared and sub-processor chains; the tier from a
//! rubric (`tier.rs`); contracts whose notice deadlines and next reviews are computed
//! (`dates.rs`); assurance reports with their expiry; documents kept as evidence; warnings
//! (`warnings.rs`). Compliance manages the register; finance reads it; a vendor's owner (a
//! member, say) records its reports, documents and reviews.

#[cfg(feature = "ssr")]
pub mod csvio;
pub mod dates;
#[cfg(feature = "ssr")]
pub mod import;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod records;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod requests;
pub mod routes;
#[cfg(feature = "ssr")]
pub mod spend;
#[cfg(feature = "ssr")]
pub mod store;
pub mod tier;
pub mod warnings;
#[cfg(feature = "ssr")]
pub mod write;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

pub const REVIEW_STATUSES: [&str; 4] = ["not_started", "in_progress", "approved", "rejected"];
pub const DOCUMENT_KINDS: [&str; 4] = ["contract", "dpa", "baa", "other"];
/// Assurance report kinds and how they are named.
pub const ASSURANCE_KINDS: [(&str, &str); 8] = [
    ("soc2_type1", "SOC 2 type I report"),
    ("soc2_type2", "SOC 2 type II report"),
    ("iso27001", "ISO/IEC 27001 certificate"),
    ("iso27701", "ISO/IEC 27701 certificate"),
    ("pci_dss", "PCI DSS attestation"),
    ("hipaa", "HIPAA attestation"),
    ("pentest", "penetration test report"),
    ("other", "other assurance report"),
];

pub fn assurance_label(kind: &str) -> &'static str {
    ASSURANCE_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("assurance report")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorForm {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub legal_name: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub category: String,
    /// Username or email; empty for none.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub services: String,
    #[serde(default)]
    pub countries: String,
    #[serde(default)]
    pub data_categories: String,
    /// The vendor (by name) this one is a sub-processor of.
    #[serde(default)]
    pub subprocessor_of: String,
    #[serde(default)]
    pub data_sensitivity: String,
    #[serde(default)]
    pub business_impact: String,
    /// Empty (the rubric decides), or 1, 2, 3.
    #[serde(default)]
    pub tier_override: String,
    #[serde(default)]
    pub override_reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractForm {
    pub vendor_id: i64,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub start: String,
    /// Exclusive; empty for open-ended.
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub auto_renew: Option<String>,
    #[serde(default)]
    pub renewal_term: String,
    #[serde(default)]
    pub notice_period: String,
    #[serde(default)]
    pub annual_value: String,
    #[serde(default)]
    pub currency: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssuranceForm {
    pub vendor_id: i64,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub period_start: String,
    #[serde(default)]
    pub period_end: String,
    #[serde(default)]
    pub issued: String,
    #[serde(default)]
    pub valid_until: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub evidence_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorSummary {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub owner: Option<String>,
    pub tier: u8,
    pub tier_overridden: bool,
    pub review_status: String,
    pub next_review: String,
    pub next_review_why: String,
    /// The earliest notice deadline still ahead, with its contract.
    pub notice_deadline: Option<(String, String)>,
    /// Annual contract value by currency (exact text).
    pub annual_value: Vec<(String, String)>,
    /// (code, sentence).
    pub warnings: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    pub id: i64,
    pub title: String,
    pub start: String,
    pub end: Option<String>,
    pub auto_renew: bool,
    pub renewal_term: String,
    pub notice_period: String,
    pub term_end: Option<String>,
    pub notice_deadline: Option<String>,
    pub standing: String,
    pub annual_value: Option<String>,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssuranceView {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub period: Option<(String, String)>,
    pub issued: String,
    pub valid_until: String,
    pub current: bool,
    pub note: String,
    pub evidence_id: Option<i64>,
    pub added_by: String,
}

/// Where a vendor's spend is in the cost data; empty fields mean any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendScope {
    pub id: i64,
    pub provider: String,
    pub billing_account: String,
    pub service: String,
    pub tag_key: String,
    pub tag_value: String,
}

/// A vendor's spend in one currency (see `spend.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendFigures {
    pub currency: String,
    pub year_to_date: String,
    pub last_12_months: String,
    /// (first day of the month, amount), oldest first.
    pub months: Vec<(String, String)>,
    /// Each month's bar height for the chart, 0 to 56, from the exact amounts.
    pub bars: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorDetail {
    pub vendor: VendorSummary,
    pub legal_name: String,
    pub website: String,
    pub services: String,
    pub countries: Vec<String>,
    pub data_categories: Vec<String>,
    pub data_sensitivity: String,
    pub business_impact: String,
    pub override_reason: String,
    /// The override itself (the form shows it again when editing).
    pub tier_override: Option<i64>,
    /// The owner's username (the form shows it again when editing).
    pub owner_username: Option<String>,
    pub last_review: Option<String>,
    pub subprocessor_of: Option<(i64, String)>,
    pub subprocessors: Vec<(i64, String)>,
    pub contracts: Vec<ContractView>,
    pub assurance: Vec<AssuranceView>,
    /// (evidence id, title, kind).
    pub documents: Vec<(i64, String, String)>,
    /// (scope id, its description) of where the vendor's spend is in the cost data.
    pub scopes: Vec<(i64, String)>,
    /// Spend of the last twelve months by currency.
    pub spend: Vec<SpendFigures>,
    pub can_manage: bool,
    /// The viewer owns it (records reports, documents, reviews).
    pub is_owner: bool,
    /// Legal holds in force on this vendor's data (retention).
    #[serde(default)]
    pub holds: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorFilter {
    /// 1, 2, 3 or 0 for any.
    #[serde(default)]
    pub tier: i64,
    /// Username, or empty.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub review_status: String,
    /// Only vendors with a notice deadline within this many days.
    #[serde(default)]
    pub renewal_within: Option<i64>,
    /// Only vendors with a warning.
    #[serde(default)]
    pub warnings: bool,
    /// Spend with no vendor is listed from this amount (default 1000).
    #[serde(default)]
    pub unknown_min: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorList {
    pub vendors: Vec<VendorSummary>,
    /// Spend of the last twelve months no vendor's scope covers: (provider, service,
    /// currency, amount), largest first.
    pub unknown: Vec<(String, String, String, String)>,
    /// (username, display name) of who may own a vendor.
    pub owners: Vec<(String, String)>,
    pub can_manage: bool,
}

#[server(endpoint = "list_vendors")]
pub async fn list_vendors(filter: VendorFilter) -> Result<VendorList, AppError> {
    requests::list(filter).await
}

#[server(endpoint = "get_vendor")]
pub async fn get_vendor(id: i64) -> Result<VendorDetail, AppError> {
    requests::detail(id).await
}

#[server(endpoint = "save_vendor")]
pub async fn save_vendor(form: VendorForm) -> Result<i64, AppError> {
    let id = requests::save(form).await?;
    leptos_axum::redirect(&crate::paths::vendor(id));
    Ok(id)
}

#[server(endpoint = "save_vendor_contract")]
pub async fn save_vendor_contract(form: ContractForm) -> Result<i64, AppError> {
    requests::save_contract(form).await
}

/// A report or certificate with its expiry (the vendor's owner, or compliance).
#[server(endpoint = "add_vendor_assurance")]
pub async fn add_vendor_assurance(form: AssuranceForm) -> Result<i64, AppError> {
    records::add_assurance(form).await
}

/// Files a piece of evidence as the vendor's contract, DPA, BAA or other document.
#[server(endpoint = "add_vendor_document")]
pub async fn add_vendor_document(
    vendor_id: i64,
    evidence_id: i64,
    kind: String,
) -> Result<(), AppError> {
    records::add_document(vendor_id, evidence_id, kind).await
}

/// Records the security review's status (approved: on that date, the cadence restarts).
#[server(endpoint = "record_vendor_review")]
pub async fn record_vendor_review(
    vendor_id: i64,
    status: String,
    date: String,
) -> Result<(), AppError> {
    records::record_review(vendor_id, status, date).await
}

/// Where a vendor's spend is: any of provider, billing account, service, and a tag `key=value`.
#[server(endpoint = "add_vendor_scope")]
pub async fn add_vendor_scope(
    vendor_id: i64,
    provider: String,
    billing_account: String,
    service: String,
    tag: String,
) -> Result<i64, AppError> {
    requests::add_scope(vendor_id, [provider, billing_account, service, tag]).await
}

#[server(endpoint = "remove_vendor_scope")]
pub async fn remove_vendor_scope(vendor_id: i64, scope_id: i64) -> Result<(), AppError> {
    requests::remove_scope(vendor_id, scope_id).await
}

/// A vendor file waiting for its mapping: what was detected, the first rows, each field with
/// the column guessed for it.
#[server(endpoint = "pending_vendor_import")]
pub async fn pending_vendor_import(token: String) -> Result<crate::tabular::Preview, AppError> {
    import::pending_file(token).await
}

/// Imports a waiting vendor file with the mapping chosen (`map[field] = header`): all rows or
/// none.
#[server(endpoint = "import_vendors")]
pub async fn import_vendors(
    token: String,
    map: std::collections::BTreeMap<String, String>,
) -> Result<String, AppError> {
    let msg = import::import_mapped(token, map).await?;
    // Back to the register, with or without JavaScript (the upload is gone now).
    leptos_axum::redirect(&crate::reply::with_param(
        crate::paths::VENDORS,
        "imported",
        &msg,
    ));
    Ok(msg)
}
