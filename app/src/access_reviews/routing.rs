//! Who reviews an account: the system's named reviewer, else the account holder's manager
//! (from the account, else the people list) when that manager is a Steward user, else the
//! system's owner, else the campaign's owner. No one reviews their own account: then the
//! reviewer's own manager, else the campaign's owner, else the system's owner takes it.

use super::flags::Person;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
}

/// The account's identity, as far as routing needs it.
pub struct Holder<'a> {
    pub user_id: &'a str,
    pub email: Option<&'a str>,
    pub manager_email: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Named,
    Manager,
    Owner,
    CampaignOwner,
    /// The first choice held the account; the next one took it.
    SelfReview,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Named => "named",
            Route::Manager => "manager",
            Route::Owner => "owner",
            Route::CampaignOwner => "campaign_owner",
            Route::SelfReview => "self_review",
        }
    }
}

/// Steward's users who may review (by lower-case email), and the people list.
pub struct Directory<'a> {
    pub by_email: HashMap<String, Reviewer>,
    pub people: Option<&'a HashMap<String, Person>>,
}

impl Directory<'_> {
    fn manager_of(&self, email: Option<&str>) -> Option<&Reviewer> {
        let person = self.people?.get(&email?.to_lowercase())?;
        self.by_email
            .get(&person.manager_email.as_ref()?.to_lowercase())
    }
}

fn holds(r: &Reviewer, h: &Holder) -> bool {
    r.username.eq_ignore_ascii_case(h.user_id)
        || matches!((&r.email, h.email), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// The reviewer of one account, and why; `Err` when everyone who could review it holds it.
pub fn route(
    h: &Holder,
    named: Option<&Reviewer>,
    owner: Option<&Reviewer>,
    campaign_owner: &Reviewer,
    dir: &Directory,
) -> Result<(Reviewer, Route), String> {
    let manager = h
        .manager_email
        .and_then(|m| dir.by_email.get(&m.to_lowercase()))
        .or_else(|| dir.manager_of(h.email));
    let (first, why) = if let Some(n) = named {
        (n, Route::Named)
    } else if let Some(m) = manager {
        (m, Route::Manager)
    } else if let Some(o) = owner {
        (o, Route::Owner)
    } else {
        (campaign_owner, Route::CampaignOwner)
    };
    if !holds(first, h) {
        return Ok((first.clone(), why));
    }
    [
        dir.manager_of(first.email.as_deref()),
        Some(campaign_owner),
        owner,
    ]
    .into_iter()
    .flatten()
    .find(|r| !holds(r, h))
    .map(|r| (r.clone(), Route::SelfReview))
    .ok_or_else(|| {
        format!(
            "'{}': everyone who could review it holds it; name another reviewer for the system",
            h.user_id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: i64, name: &str) -> Reviewer {
        Reviewer {
            id,
            username: name.into(),
            email: Some(format!("{name}@x.io")),
        }
    }

    fn person(email: &str, manager: Option<&str>) -> (String, Person) {
        (
            email.into(),
            Person {
                email: email.into(),
                name: email.into(),
                manager_email: manager.map(String::from),
                active: true,
                department: String::new(),
            },
        )
    }

    #[test]
    fn named_then_manager_then_owner_then_campaign_owner() {
        let people: HashMap<String, Person> = [
            person("ann@x.io", Some("mia@x.io")),
            person("mia@x.io", Some("boss@x.io")),
        ]
        .into_iter()
        .collect();
        let dir = Directory {
            by_email: [r(2, "mia"), r(3, "boss"), r(4, "olga"), r(9, "cam")]
                .into_iter()
                .map(|x| (x.email.clone().unwrap(), x))
                .collect(),
            people: Some(&people),
        };
        let (owner, cam) = (r(4, "olga"), r(9, "cam"));
        let ann = Holder {
            user_id: "ann",
            email: Some("ANN@x.io"),
            manager_email: None,
        };
        let got = |h: &Holder, named: Option<&Reviewer>, owner: Option<&Reviewer>| {
            route(h, named, owner, &cam, &dir).map(|(r, w)| (r.id, w))
        };
        assert_eq!(
            got(&ann, Some(&r(7, "nina")), Some(&owner)),
            Ok((7, Route::Named))
        );
        assert_eq!(
            got(&ann, None, Some(&owner)),
            Ok((2, Route::Manager)),
            "from the people list"
        );
        let direct = Holder {
            user_id: "ann",
            email: None,
            manager_email: Some("boss@x.io"),
        };
        assert_eq!(
            got(&direct, None, Some(&owner)),
            Ok((3, Route::Manager)),
            "from the account"
        );
        let stranger = Holder {
            user_id: "z",
            email: Some("z@y.io"),
            manager_email: None,
        };
        assert_eq!(got(&stranger, None, Some(&owner)), Ok((4, Route::Owner)));
        assert_eq!(got(&stranger, None, None), Ok((9, Route::CampaignOwner)));
        // Mia's own account: her manager reviews it, not Mia.
        let mia = Holder {
            user_id: "mia",
            email: Some("mia@x.io"),
            manager_email: None,
        };
        assert_eq!(
            got(&mia, Some(&r(2, "mia")), None),
            Ok((3, Route::SelfReview))
        );
        // The owner's own account with no manager known: the campaign owner.
        let olga = Holder {
            user_id: "olga",
            email: None,
            manager_email: None,
        };
        assert_eq!(got(&olga, None, Some(&owner)), Ok((9, Route::SelfReview)));
        // Only the holder could review: refused, named.
        let cam_acct = Holder {
            user_id: "cam",
            email: None,
            manager_email: None,
        };
        let e = got(&cam_acct, None, None).unwrap_err();
        assert!(e.contains("'cam'"), "{e}");
    }
}
