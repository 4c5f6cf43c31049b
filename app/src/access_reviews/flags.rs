//! The flags an account gets at import, each with the sentence shown on hover: dormant, no
//! MFA, privileged, orphaned, shared or service, stale credential. Pure rules over the
//! account, the settings, the people list and the import day.

use super::accounts::{Account, AccountType};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Dormant,
    NoMfa,
    Privileged,
    Orphaned,
    SharedOrService,
    StaleCredential,
    /// Not in the snapshot the system's last completed campaign reviewed.
    New,
}

impl Flag {
    pub const ALL: [Flag; 7] = [
        Flag::Dormant,
        Flag::NoMfa,
        Flag::Privileged,
        Flag::Orphaned,
        Flag::SharedOrService,
        Flag::StaleCredential,
        Flag::New,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Dormant => "dormant",
            Flag::NoMfa => "no_mfa",
            Flag::Privileged => "privileged",
            Flag::Orphaned => "orphaned",
            Flag::SharedOrService => "shared_or_service",
            Flag::StaleCredential => "stale_credential",
            Flag::New => "new",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Flag::Dormant => "Dormant",
            Flag::NoMfa => "No MFA",
            Flag::Privileged => "Privileged",
            Flag::Orphaned => "Orphaned",
            Flag::SharedOrService => "Shared or service",
            Flag::StaleCredential => "Stale credential",
            Flag::New => "New since last review",
        }
    }

    pub fn parse(s: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// What the flags are measured against (kept in the settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub dormant_days: i64,
    pub stale_credential_days: i64,
    /// Case-insensitive words that make an entitlement privileged.
    pub privileged_patterns: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            dormant_days: 90,
            stale_credential_days: 90,
            privileged_patterns: [
                "admin",
                "root",
                "owner",
                "superuser",
                "administratoraccess",
                "poweruser",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

/// A person of the people list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: String,
    pub name: String,
    pub manager_email: Option<String>,
    pub active: bool,
    pub department: String,
}

/// An account's flags with their explanations, in `Flag::ALL` order.
pub fn flags(
    a: &Account,
    rules: &Rules,
    people: Option<&HashMap<String, Person>>,
    today: Date,
) -> Vec<(Flag, String)> {
    let mut out = Vec::new();
    let days = |d: Date| (today - d).whole_days();
    if a.active {
        match (a.last_used, a.created) {
            (Some(used), _) if days(used) > rules.dormant_days => out.push((
                Flag::Dormant,
                format!(
                    "Last used {used}, {} days ago (dormant after {} days).",
                    days(used),
                    rules.dormant_days
                ),
            )),
            (None, Some(created)) if days(created) > rules.dormant_days => out.push((
                Flag::Dormant,
                format!(
                    "Never used, created {created}, {} days ago (dormant after {} days).",
                    days(created),
                    rules.dormant_days
                ),
            )),
            _ => {}
        }
    }
    let signs_in = matches!(
        a.account_type,
        AccountType::Human | AccountType::Root | AccountType::Shared
    );
    if a.active && signs_in && a.mfa == Some(false) {
        out.push((
            Flag::NoMfa,
            "Signs in without multi-factor authentication.".into(),
        ));
    }
    let ent = a.entitlement.to_lowercase();
    if a.account_type == AccountType::Root {
        out.push((
            Flag::Privileged,
            "The root user of the account: every permission.".into(),
        ));
    } else if let Some(p) = rules
        .privileged_patterns
        .iter()
        .find(|p| !p.is_empty() && ent.contains(&p.to_lowercase()))
    {
        out.push((
            Flag::Privileged,
            format!("The entitlement matches the privileged pattern '{p}'."),
        ));
    }
    if let (Some(people), AccountType::Human) = (people, a.account_type) {
        match a.email.as_ref().map(|e| people.get(e)) {
            None => out.push((
                Flag::Orphaned,
                "No email to match against the people list.".into(),
            )),
            Some(None) => out.push((
                Flag::Orphaned,
                "No one with this email is on the people list.".into(),
            )),
            Some(Some(p)) if !p.active => out.push((
                Flag::Orphaned,
                format!("{} has left (inactive on the people list).", p.name),
            )),
            _ => {}
        }
    }
    match a.account_type {
        AccountType::Shared => out.push((
            Flag::SharedOrService,
            "A shared account: no one person answers for its use.".into(),
        )),
        AccountType::Service => out.push((
            Flag::SharedOrService,
            "A service account: a program's identity; check it still has an owner and a use."
                .into(),
        )),
        _ => {}
    }
    if let Some(rotated) = a.rotated.filter(|_| a.active) {
        if days(rotated) > rules.stale_credential_days {
            out.push((
                Flag::StaleCredential,
                format!(
                    "Rotated {rotated}, {} days ago (stale after {} days).",
                    days(rotated),
                    rules.stale_credential_days
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn account(t: AccountType) -> Account {
        Account {
            key: "k".into(),
            user_id: "k".into(),
            email: Some("ann@example.com".into()),
            name: "Ann".into(),
            entitlement: "Reader".into(),
            account_type: t,
            active: true,
            last_used: Some(date!(2026 - 11 - 20)),
            created: Some(date!(2020 - 01 - 01)),
            mfa: Some(true),
            manager_email: None,
            rotated: None,
        }
    }

    fn codes(v: &[(Flag, String)]) -> Vec<Flag> {
        v.iter().map(|f| f.0).collect()
    }

    #[test]
    fn each_flag_by_its_rule() {
        let today = date!(2026 - 12 - 01);
        let rules = Rules::default();
        let clean = account(AccountType::Human);
        assert!(flags(&clean, &rules, None, today).is_empty());
        let mut a = clean.clone();
        a.last_used = Some(date!(2026 - 08 - 01));
        a.mfa = Some(false);
        a.entitlement = "arn:aws:iam::1:role/AdministratorAccess".into();
        let f = flags(&a, &rules, None, today);
        assert_eq!(codes(&f), [Flag::Dormant, Flag::NoMfa, Flag::Privileged]);
        assert!(f[0].1.contains("122 days ago"), "{}", f[0].1);
        a.active = false;
        assert_eq!(codes(&flags(&a, &rules, None, today)), [Flag::Privileged]);
        let mut never = clean.clone();
        never.last_used = None;
        assert_eq!(codes(&flags(&never, &rules, None, today)), [Flag::Dormant]);
        let mut key = account(AccountType::AccessKey);
        key.rotated = Some(date!(2025 - 01 - 01));
        key.mfa = None;
        assert_eq!(
            codes(&flags(&key, &rules, None, today)),
            [Flag::StaleCredential]
        );
        assert_eq!(
            codes(&flags(&account(AccountType::Service), &rules, None, today)),
            [Flag::SharedOrService]
        );
        assert_eq!(
            codes(&flags(&account(AccountType::Root), &rules, None, today)),
            [Flag::Privileged]
        );
    }

    #[test]
    fn orphans_against_the_people_list() {
        let today = date!(2026 - 12 - 01);
        let rules = Rules::default();
        let mut people = HashMap::new();
        let a = account(AccountType::Human);
        assert_eq!(
            codes(&flags(&a, &rules, Some(&people), today)),
            [Flag::Orphaned]
        );
        people.insert(
            "ann@example.com".to_string(),
            Person {
                email: "ann@example.com".into(),
                name: "Ann".into(),
                manager_email: None,
                active: true,
                department: String::new(),
            },
        );
        assert!(flags(&a, &rules, Some(&people), today).is_empty());
        people.get_mut("ann@example.com").unwrap().active = false;
        let f = flags(&a, &rules, Some(&people), today);
        assert!(f[0].1.contains("has left"));
        assert!(
            flags(&account(AccountType::Root), &rules, Some(&people), today)
                .iter()
                .all(|f| f.0 != Flag::Orphaned),
            "only people's accounts are orphans"
        );
    }
}
