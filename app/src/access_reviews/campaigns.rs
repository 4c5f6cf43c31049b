//! Review campaigns' types (their server functions are in `mod.rs`): a campaign (systems in scope, due date, recurrence, mapped controls)
//! is planned as a draft and started, which freezes each system's latest snapshot and routes
//! every account to a reviewer; reviewers see and decide only their own entries (keep, revoke
//! or modify, a note required for the last two), one by one or in bulk over a filter.

use serde::{Deserialize, Serialize};

pub const RECURRENCES: [&str; 4] = ["none", "quarterly", "semiannual", "annual"];
pub const DECISIONS: [&str; 3] = ["keep", "revoke", "modify"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignForm {
    #[serde(default)]
    pub name: String,
    /// Username or email of the owner (signs off; escalations go to them).
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub due: String,
    #[serde(default)]
    pub recurrence: String,
    /// System names, comma-separated.
    #[serde(default)]
    pub systems: String,
    /// Lines `System name = username`: that user reviews every account of the system.
    #[serde(default)]
    pub reviewers: String,
    /// Control references, comma-separated: the report becomes their evidence.
    #[serde(default)]
    pub controls: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub total: i64,
    pub decided: i64,
    pub keep: i64,
    pub revoke: i64,
    pub modify: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub status: String,
    pub due: String,
    pub recurrence: String,
    pub systems: Vec<String>,
    pub progress: Progress,
    /// Undecided entries past the due date.
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub campaign: CampaignSummary,
    /// (system, snapshot frozen, named reviewer).
    pub systems: Vec<(String, Option<i64>, Option<String>)>,
    pub controls: Vec<String>,
    /// (reviewer, progress of their entries).
    pub reviewers: Vec<(String, Progress)>,
    /// (status, remediation items with it).
    pub remediation: Vec<(String, i64)>,
    /// The report's evidence id and SHA-256, once signed off.
    pub report: Option<(i64, String)>,
    /// The draft a recurring campaign planned when it completed.
    pub next_campaign: Option<i64>,
    /// The report's summary (its evidence's description), once signed off.
    pub summary: String,
    /// Why it was cancelled.
    pub closed_note: String,
    pub can_manage: bool,
    /// The viewer owns it (signs it off).
    pub is_owner: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignSummary>,
    pub can_manage: bool,
}

/// What a reviewer filters their queue by; bulk decisions take the same filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueFilter {
    #[serde(default)]
    pub campaign: Option<i64>,
    #[serde(default)]
    pub q: String,
    /// A flag code, `none` (no flag at all), or empty for any.
    #[serde(default)]
    pub flag: String,
    /// `open`, `decided` or empty.
    #[serde(default)]
    pub state: String,
    /// Only accounts with MFA on.
    #[serde(default)]
    pub mfa: bool,
    /// Only accounts used within this many days.
    #[serde(default)]
    pub used_within: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub id: i64,
    pub campaign: String,
    pub system: String,
    pub account: super::AccountView,
    pub routed_by: String,
    pub decision: Option<String>,
    pub note: String,
    pub decided_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub entries: Vec<EntryView>,
    pub total: i64,
    pub open: i64,
    pub page: i64,
    pub per_page: i64,
    /// (id, name) of the campaigns with entries for this reviewer.
    pub campaigns: Vec<(i64, String)>,
}

/// What access reviews ask of one person, for "My work".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessWork {
    /// (campaign id, name, due date, open entries) of campaigns in review.
    pub campaigns: Vec<(i64, String, String, i64)>,
    /// Open remediation items assigned to them.
    pub remediation: i64,
}

/// The due date of a recurring campaign's next draft (`None` when it does not recur).
pub fn next_due(due: &str, recurrence: &str) -> Option<String> {
    let months = match recurrence {
        "quarterly" => 3,
        "semiannual" => 6,
        "annual" => 12,
        _ => return None,
    };
    let d = crate::util::parse_date(due)?;
    Some(crate::util::fmt_date(crate::calendar::add_months(
        d, months,
    )))
}

#[cfg(test)]
mod tests {
    use super::next_due;

    #[test]
    fn recurrence_moves_the_due_date_by_calendar_months() {
        assert_eq!(
            next_due("2026-11-30", "quarterly").as_deref(),
            Some("2027-02-28")
        );
        assert_eq!(
            next_due("2026-03-31", "semiannual").as_deref(),
            Some("2026-09-30")
        );
        assert_eq!(
            next_due("2028-02-29", "annual").as_deref(),
            Some("2029-02-28")
        );
        assert_eq!(next_due("2026-03-31", "none"), None);
    }
}
