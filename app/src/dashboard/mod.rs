//! The dashboard: one page for every role, showing only real figures; empty states say what
//! comes next.

pub mod pages;
pub mod routes;
#[cfg(feature = "ssr")]
mod store;

use crate::controls::status::ControlStatus;
use crate::error::AppError;
use crate::policy::Role;
use leptos::prelude::*;
pub use pages::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardData {
    pub organisation: String,
    pub display_name: String,
    pub role: Role,
    /// Active users per role (administrators only).
    pub users_by_role: Option<Vec<(Role, i64)>>,
    pub inactive_users: Option<i64>,
    /// Audit trail figures (administrators and auditors).
    pub audit: Option<AuditSummary>,
    /// Controls by status per framework, and overall (roles that read compliance).
    pub posture: Option<Posture>,
    /// Cloud spend (roles that read costs).
    pub spend: Option<Spend>,
    /// Budgets at risk (roles that read all budgets).
    pub budgets: Option<BudgetsAtRisk>,
    /// What the user owns: budgets, open alerts, attestations due (roles with "My work").
    pub my_work: Option<MyWork>,
    /// Access reviews: to whoever runs them.
    pub access: Option<AccessTile>,
    /// Vendors: to whoever reads the register.
    pub vendors: Option<VendorTile>,
    /// Retention: disposals due and legal holds in force, to whoever reads the schedule.
    pub retention: Option<RetentionTile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionTile {
    /// Records due for disposal and free of holds.
    pub disposals_due: i64,
    /// Records due but suspended by a legal hold.
    pub held_due: i64,
    pub active_holds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetsAtRisk {
    pub total: usize,
    pub warning: usize,
    pub breached: usize,
    /// (budget id, name, owner, state), breached first.
    pub at_risk: Vec<(i64, String, String, crate::budgets::BudgetState)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyWork {
    pub budgets: usize,
    pub at_risk: usize,
    pub open_alerts: usize,
    pub attestations_due: usize,
    /// Access review entries waiting for the user's decision.
    pub access_entries: i64,
    /// Remediation items assigned to the user, not yet verified.
    pub remediation_items: i64,
    /// Vendors the user owns, and how many of them have a warning.
    pub vendors: usize,
    pub vendor_warnings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorTile {
    pub total: usize,
    /// Vendors with at least one warning.
    pub needing_action: usize,
    /// Vendors with a notice deadline within 60 days.
    pub notices_due: usize,
    /// Vendors whose review is due within 30 days or overdue.
    pub reviews_due: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTile {
    /// Campaigns in review or in remediation.
    pub open_campaigns: i64,
    /// Undecided entries of campaigns past their due date.
    pub overdue_entries: i64,
    /// Revoke and modify decisions no later snapshot has verified yet (nor accepted).
    pub unverified: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    pub currency: String,
    /// Billed cost, in cents for display.
    pub month_to_date: String,
    pub last_month: String,
    /// Last month up to the same day of the month, for a fair comparison.
    pub last_month_same_days: String,
    /// Month to date against that, in whole percent (None when there is nothing to compare).
    pub trend: Option<String>,
    pub up: bool,
    /// The most recent day with cost data.
    pub latest_day: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posture {
    pub frameworks: Vec<crate::controls::FrameworkSummary>,
    pub controls: Vec<(ControlStatus, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSummary {
    pub events: i64,
    pub last_at: Option<String>,
    pub failed_logins_24h: i64,
}

#[server(endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<DashboardData, AppError> {
    store::load().await
}
