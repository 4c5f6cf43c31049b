//! Budgets with accountable owners: an amount per period over a scope of the cost data, its
//! actual (exact, from the cost cube), forecast and state, threshold alerts raised once per
//! budget, period and threshold, and their acknowledgement by the owner. Finance manages
//! budgets (the form, or CSV: budgets as code); owners and deputies see and act on theirs.

pub mod pages;
pub mod routes;

#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod attest;
#[cfg(feature = "ssr")]
pub mod burndown;
#[cfg(feature = "ssr")]
pub mod csvio;
#[cfg(feature = "ssr")]
pub mod evaluate;
#[cfg(feature = "ssr")]
pub mod forecast;
#[cfg(feature = "ssr")]
pub mod requests;
#[cfg(feature = "ssr")]
pub mod spec;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod threshold;

use crate::error::AppError;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

/// The thresholds a budget gets when none are given.
pub const DEFAULT_THRESHOLDS: &str = "80%actual;100%actual;100%forecast";

/// The CSV columns, in order (`notes` may be left out of a file).
pub const COLUMNS: [&str; 16] = [
    "name",
    "owner",
    "deputy",
    "period",
    "amount",
    "currency",
    "start",
    "end",
    "provider",
    "billing_account",
    "sub_account",
    "service",
    "region",
    "tag",
    "thresholds",
    "notes",
];

/// A budget's fields as text, as a CSV row or the form gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub deputy: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub billing_account: String,
    #[serde(default)]
    pub sub_account: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub thresholds: String,
    #[serde(default)]
    pub notes: String,
}

impl BudgetForm {
    /// The fields in `COLUMNS` order.
    pub fn cells(&self) -> [&str; 16] {
        [
            &self.name,
            &self.owner,
            &self.deputy,
            &self.period,
            &self.amount,
            &self.currency,
            &self.start,
            &self.end,
            &self.provider,
            &self.billing_account,
            &self.sub_account,
            &self.service,
            &self.region,
            &self.tag,
            &self.thresholds,
            &self.notes,
        ]
    }

    pub fn from_cells(c: &[&str]) -> BudgetForm {
        let g = |i: usize| c.get(i).map(|s| s.to_string()).unwrap_or_default();
        BudgetForm {
            name: g(0),
            owner: g(1),
            deputy: g(2),
            period: g(3),
            amount: g(4),
            currency: g(5),
            start: g(6),
            end: g(7),
            provider: g(8),
            billing_account: g(9),
            sub_account: g(10),
            service: g(11),
            region: g(12),
            tag: g(13),
            thresholds: g(14),
            notes: g(15),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BudgetState {
    Ok,
    Warning,
    Breached,
}

impl BudgetState {
    pub const ALL: [BudgetState; 3] =
        [BudgetState::Ok, BudgetState::Warning, BudgetState::Breached];
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetState::Ok => "ok",
            BudgetState::Warning => "warning",
            BudgetState::Breached => "breached",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            BudgetState::Ok => "On track",
            BudgetState::Warning => "Warning",
            BudgetState::Breached => "Breached",
        }
    }
}

/// A budget in one period, for display (amounts in cents, exact figures beside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodView {
    /// `2026-04`, `2026-04 – 2026-06`.
    pub label: String,
    pub start: String,
    pub amount: String,
    pub actual: String,
    pub actual_exact: String,
    pub forecast: String,
    /// Budget − actual.
    pub remaining: String,
    /// Forecast − budget: above zero is the forecast overspend.
    pub variance: String,
    /// Actual as whole percent of the budget.
    pub used_percent: String,
    pub state: BudgetState,
    pub forecast_basis: String,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetSummary {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub owner_id: i64,
    pub deputy: Option<String>,
    pub period: String,
    pub amount: String,
    pub currency: String,
    pub scope: String,
    /// The period running today (none before the start or after the end).
    pub current: Option<PeriodView>,
    pub open_alerts: usize,
    /// The last closed period (its start), when its owner has not attested it yet.
    pub attestation_due: Option<String>,
}

impl BudgetSummary {
    pub fn state(&self) -> Option<BudgetState> {
        self.current.as_ref().map(|c| c.state)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetFilter {
    /// `ok`, `warning`, `breached`, or `at-risk` (warning or breached).
    #[serde(default)]
    pub state: String,
    /// An owner's user id.
    #[serde(default)]
    pub owner: String,
    /// Text in the name or scope.
    #[serde(default)]
    pub q: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetList {
    pub rows: Vec<BudgetSummary>,
    /// (user id, name) of every owner.
    pub owners: Vec<(i64, String)>,
    pub counts: Vec<(BudgetState, usize)>,
    pub can_manage: bool,
    /// The control attestations count for (its reference).
    pub attestation_control: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationView {
    pub period: String,
    pub statement: String,
    pub note: String,
    pub actual: String,
    pub by: String,
    pub at: String,
    pub evidence_id: i64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    pub period: String,
    pub threshold: String,
    pub threshold_amount: String,
    pub value_at_raise: String,
    pub raised_at: String,
    pub crossed: bool,
    /// (when, by whom, note).
    pub acknowledged: Option<(String, String, String)>,
}

/// The current period's burn-down, drawn by the page (geometry from `burndown`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurndownView {
    pub width: i64,
    pub height: i64,
    /// SVG points of the cumulative actual, from the origin to the last settled day.
    pub actual: String,
    pub actual_end: (String, String),
    /// From the last actual point to the forecast at the period's end.
    pub forecast: String,
    pub budget_y: String,
    /// (label, y).
    pub ticks: Vec<(String, String)>,
    /// (day, spend, cumulative).
    pub days: Vec<(String, String, String)>,
    /// Days drawn as actual.
    pub through: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetDetail {
    pub summary: BudgetSummary,
    pub form: BudgetForm,
    /// (threshold described, amount, crossed in the current period).
    pub thresholds: Vec<(String, String, bool)>,
    /// Periods from the start up to the current one, newest first.
    pub history: Vec<PeriodView>,
    pub alerts: Vec<AlertView>,
    pub attestations: Vec<AttestationView>,
    /// Closed periods not attested yet (start, label, spend over the budget), newest first.
    pub attestations_due: Vec<(String, String, bool)>,
    pub attestation_control: Option<String>,
    pub burndown: Option<BurndownView>,
    pub notes: String,
    pub can_manage: bool,
    pub can_acknowledge: bool,
}

#[server(endpoint = "list_budgets")]
pub async fn list_budgets(filter: BudgetFilter) -> Result<BudgetList, AppError> {
    requests::list(filter).await
}

#[server(endpoint = "get_budget")]
pub async fn get_budget(id: i64) -> Result<BudgetDetail, AppError> {
    requests::detail(id).await
}

#[server(endpoint = "my_budgets")]
pub async fn my_budgets() -> Result<Vec<BudgetSummary>, AppError> {
    requests::mine().await
}

#[server(endpoint = "save_budget")]
pub async fn save_budget(id: Option<i64>, form: BudgetForm) -> Result<i64, AppError> {
    let id = requests::save(id, form).await?;
    leptos_axum::redirect(&crate::paths::budget(id));
    Ok(id)
}

/// The owner (or deputy) attests a closed period: `statement` is `confirmed` or `explained`.
#[server(endpoint = "attest_period")]
pub async fn attest_period(
    budget: i64,
    period: String,
    statement: String,
    note: String,
) -> Result<i64, AppError> {
    requests::attest(budget, period, statement, note).await
}

/// Names the control whose evidence attestations become (by reference; empty: none).
#[server(endpoint = "set_attestation_control")]
pub async fn set_attestation_control(reference: String) -> Result<(), AppError> {
    requests::set_control(reference).await
}

#[server(endpoint = "acknowledge_alert")]
pub async fn acknowledge_alert(alert: i64, note: String) -> Result<(), AppError> {
    requests::acknowledge(alert, note).await
}
