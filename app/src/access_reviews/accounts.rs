//! One account of a system, as every source format reads into it, and the readers of the
//! loose values real exports hold (dates in several layouts, yes/no in several languages,
//! `N/A`, `no_information`, `not_supported`). Pure rules, no I/O.

use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    Human,
    Service,
    Shared,
    /// A cloud account's root user.
    Root,
    /// A credential of another account (an IAM access key): reviewed on its own, so one key
    /// can be revoked without the user.
    AccessKey,
}

impl AccountType {
    pub const ALL: [AccountType; 5] = [
        AccountType::Human,
        AccountType::Service,
        AccountType::Shared,
        AccountType::Root,
        AccountType::AccessKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::Human => "human",
            AccountType::Service => "service",
            AccountType::Shared => "shared",
            AccountType::Root => "root",
            AccountType::AccessKey => "access_key",
        }
    }

    pub fn parse_stored(s: &str) -> Option<AccountType> {
        AccountType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// From a file's own words (`user`, `Service account`, `bot`, `shared mailbox`…); empty
    /// is a person's account.
    pub fn parse_loose(s: &str) -> Option<AccountType> {
        let v = s.trim().to_lowercase();
        if v.is_empty() {
            return Some(AccountType::Human);
        }
        let has = |words: &[&str]| words.iter().any(|w| v.contains(w));
        Some(
            if has(&["shared", "group", "team", "gemeinsam", "partagé"]) {
                AccountType::Shared
            } else if has(&[
                "service",
                "bot",
                "system",
                "technical",
                "technisch",
                "api",
                "machine",
            ]) {
                AccountType::Service
            } else if has(&["root"]) {
                AccountType::Root
            } else if has(&["key"]) {
                AccountType::AccessKey
            } else if has(&[
                "human",
                "user",
                "person",
                "employee",
                "staff",
                "member",
                "benutzer",
                "utilisateur",
                "mitarbeiter",
                "regular",
                "standard",
                "normal",
            ]) {
                AccountType::Human
            } else {
                return None;
            },
        )
    }
}

/// An account as read from a source, before flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Unique within a snapshot: the user id, or `user/access_key_1` for a key.
    pub key: String,
    pub user_id: String,
    pub email: Option<String>,
    pub name: String,
    /// Role, group or entitlement text (an ARN for IAM).
    pub entitlement: String,
    pub account_type: AccountType,
    pub active: bool,
    /// Last sign-in or use (`None`: never, or not known).
    pub last_used: Option<Date>,
    pub created: Option<Date>,
    /// `None` where the source does not say (or it does not apply: keys).
    pub mfa: Option<bool>,
    pub manager_email: Option<String>,
    /// When the credential was last rotated (keys).
    pub rotated: Option<Date>,
}

pub use crate::tabular::RowError;

/// Values that mean "nothing here" in real exports.
pub fn is_blank(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "n/a" | "na" | "-" | "none" | "null" | "no_information" | "not_supported" | "never"
    )
}

/// A day from the layouts real exports use: `2026-03-01`, ISO timestamps with or without a
/// zone (`2026-03-01T10:00:00+00:00`, `2026-03-01 10:00:00`), `01.03.2026` (day first),
/// `2026/03/01`. Slashed day-month orders are ambiguous and refused.
pub fn parse_day(raw: &str) -> Result<Option<Date>, String> {
    let s = raw.trim();
    if is_blank(s) {
        return Ok(None);
    }
    let bad = || format!("'{s}' is not a date (use YYYY-MM-DD, an ISO timestamp or DD.MM.YYYY)");
    let num = |t: &str| t.parse::<i32>().map_err(|_| bad());
    let ymd = |y: i32, m: i32, d: i32| {
        let month =
            time::Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?;
        Date::from_calendar_date(y, month, u8::try_from(d).map_err(|_| bad())?).map_err(|_| bad())
    };
    let head: String = s
        .chars()
        .take_while(|c| !matches!(c, 'T' | ' ' | 't'))
        .collect();
    if head.len() > 12 {
        return Err(bad());
    }
    let parts: Vec<&str> = head.split(['-', '.', '/']).collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let date = if parts[0].len() == 4 {
        ymd(num(parts[0])?, num(parts[1])?, num(parts[2])?)?
    } else if head.contains('.') && parts[2].len() == 4 {
        ymd(num(parts[2])?, num(parts[1])?, num(parts[0])?)?
    } else {
        return Err(bad());
    };
    Ok(Some(date))
}

/// Yes or no, in the words exports use; blank is unknown.
pub fn parse_flag(raw: &str) -> Result<Option<bool>, String> {
    let v = raw.trim().to_lowercase();
    if is_blank(&v) {
        return Ok(None);
    }
    match v.as_str() {
        "true" | "yes" | "y" | "1" | "enabled" | "on" | "active" | "ja" | "oui" | "sí" | "si"
        | "x" => Ok(Some(true)),
        "false" | "no" | "n" | "0" | "disabled" | "off" | "inactive" | "nein" | "non" => {
            Ok(Some(false))
        }
        _ => Err(format!("'{}' is not yes or no", raw.trim())),
    }
}

/// Whether an account's status means it can be used; blank is active.
pub fn parse_status(raw: &str) -> Result<bool, String> {
    let v = raw.trim().to_lowercase();
    if v.is_empty() {
        return Ok(true);
    }
    let has = |words: &[&str]| words.iter().any(|w| v.contains(w));
    if has(&[
        "inactive",
        "disabled",
        "suspend",
        "locked",
        "deactivat",
        "deleted",
        "terminated",
        "deprovision",
        "gesperrt",
        "inaktiv",
        "désactivé",
        "false",
    ]) {
        Ok(false)
    } else if has(&[
        "active",
        "enabled",
        "true",
        "aktiv",
        "actif",
        "provisioned",
        "ok",
    ]) {
        Ok(true)
    } else {
        Err(format!(
            "'{}' is not a status (active, enabled, disabled, suspended…)",
            raw.trim()
        ))
    }
}

/// An email as given, lower-cased; blank is none. Refuses what cannot be one.
pub fn parse_email(raw: &str) -> Result<Option<String>, String> {
    let v = raw.trim();
    if is_blank(v) {
        return Ok(None);
    }
    let ok = v.len() <= 254
        && v.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.contains('@'))
        && !v.chars().any(char::is_whitespace);
    if ok {
        Ok(Some(v.to_lowercase()))
    } else {
        Err(format!("'{v}' is not an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_in_the_layouts_exports_use() {
        for (raw, want) in [
            ("2026-03-01", Some(date!(2026 - 03 - 01))),
            ("2016-08-19T21:00:34+00:00", Some(date!(2016 - 08 - 19))),
            ("2026-03-01 10:00:00", Some(date!(2026 - 03 - 01))),
            ("01.03.2026", Some(date!(2026 - 03 - 01))),
            ("2026/03/01", Some(date!(2026 - 03 - 01))),
            ("N/A", None),
            ("no_information", None),
            ("not_supported", None),
            ("", None),
        ] {
            assert_eq!(parse_day(raw), Ok(want), "{raw}");
        }
        for bad in [
            "03/01/2026",
            "2026-02-30",
            "yesterday",
            "2026-13-01",
            "99999999999-1-1",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn yes_no_status_and_types_in_several_languages() {
        assert_eq!(parse_flag("TRUE"), Ok(Some(true)));
        assert_eq!(parse_flag("nein"), Ok(Some(false)));
        assert_eq!(parse_flag("not_supported"), Ok(None));
        assert!(parse_flag("maybe").is_err());
        assert_eq!(parse_status("Suspended"), Ok(false));
        assert_eq!(parse_status("Inactive"), Ok(false), "not read as 'active'");
        assert_eq!(parse_status("aktiv"), Ok(true));
        assert_eq!(parse_status(""), Ok(true));
        assert!(parse_status("purple").is_err());
        assert_eq!(
            AccountType::parse_loose("Service account"),
            Some(AccountType::Service)
        );
        assert_eq!(
            AccountType::parse_loose("shared mailbox"),
            Some(AccountType::Shared)
        );
        assert_eq!(AccountType::parse_loose(""), Some(AccountType::Human));
        assert_eq!(AccountType::parse_loose("wizard"), None);
        assert_eq!(
            parse_email(" Ana@Example.COM "),
            Ok(Some("ana@example.com".into()))
        );
        assert!(parse_email("ana at example").is_err());
    }
}
