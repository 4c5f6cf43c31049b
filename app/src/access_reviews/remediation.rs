//! Remediation closes the loop: every revoke or modify decision becomes an item with an
//! assignee when the review closes, and an item is verified only by a later snapshot of its
//! system (the account gone or disabled; for a modify, its entitlement changed too), or
//! accepted as a documented exception. Types here, the check is pure; SQL in
//! `store/remediation.rs`.

use serde::{Deserialize, Serialize};

pub const STATUSES: [&str; 3] = ["open", "verified", "exception"];

/// What a later snapshot says of an item's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Done: the sentence recorded as the item's resolution.
    Verified(String),
    /// Not done yet: why, shown on the board.
    StillPresent(String),
}

/// Checks one item against a snapshot: `now` is the account there as (active, entitlement),
/// `None` when the snapshot no longer holds it.
pub fn check(action: &str, under_review: &str, now: Option<(bool, &str)>, snapshot: i64) -> Check {
    match now {
        None => Check::Verified(format!("Gone from snapshot #{snapshot}.")),
        Some((false, _)) => Check::Verified(format!("Disabled in snapshot #{snapshot}.")),
        Some((true, e)) if action == "modify" && e != under_review => Check::Verified(format!(
            "Entitlement changed in snapshot #{snapshot}: '{under_review}' → '{e}'."
        )),
        Some((true, _)) if action == "modify" => {
            Check::StillPresent(format!("Still '{under_review}' in snapshot #{snapshot}."))
        }
        Some(_) => Check::StillPresent(format!("Still active in snapshot #{snapshot}.")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationView {
    pub id: i64,
    pub campaign_id: i64,
    pub campaign: String,
    pub system: String,
    pub account_key: String,
    pub account_name: String,
    pub action: String,
    pub entitlement: String,
    /// The reviewer's note: what to remove or change, and why.
    pub note: String,
    pub assignee: String,
    pub status: String,
    /// The latest snapshot checked, while still open.
    pub checked_snapshot: Option<i64>,
    pub resolution: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    /// The viewer may accept it as a documented exception.
    pub can_accept: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    pub items: Vec<RemediationView>,
    /// (status, items) over what the viewer sees.
    pub counts: Vec<(String, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoke_is_verified_only_when_the_account_is_gone_or_disabled() {
        assert!(
            matches!(check("revoke", "admin", None, 7), Check::Verified(w) if w.contains("#7"))
        );
        assert!(matches!(
            check("revoke", "admin", Some((false, "admin")), 7),
            Check::Verified(_)
        ));
        assert!(matches!(
            check("revoke", "admin", Some((true, "read")), 7),
            Check::StillPresent(_)
        ));
    }

    #[test]
    fn a_modify_is_verified_when_the_entitlement_changes() {
        assert!(matches!(
            check("modify", "admin", Some((true, "read")), 3),
            Check::Verified(w) if w.contains("'admin' → 'read'")
        ));
        assert!(matches!(
            check("modify", "admin", Some((true, "admin")), 3),
            Check::StillPresent(w) if w.contains("Still 'admin'")
        ));
        assert!(matches!(
            check("modify", "admin", None, 3),
            Check::Verified(_)
        ));
    }
}
