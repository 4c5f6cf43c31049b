//! The AWS IAM credential report (`aws iam get-credential-report`, CSV): the 22-column layout
//! (with each access key's last use) and the older 16-column one, read by header name. One
//! account per IAM user (`<root_account>` is the root user), plus one per active access key:
//! a key is a credential to review on its own. `N/A`, `no_information` and `not_supported`
//! mean "nothing here".

use super::accounts::{parse_day, parse_flag, Account, AccountType, RowError};

/// Every column both layouts have; the 22-column one adds each key's last use.
pub const REQUIRED: [&str; 16] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

pub const ROOT: &str = "<root_account>";

/// Whether a header row is a credential report's (either layout).
pub fn is_credential_report(headers: &[String]) -> bool {
    REQUIRED
        .iter()
        .all(|c| headers.iter().any(|h| h.eq_ignore_ascii_case(c)))
}

/// Reads the report's rows (`rows[0]` is the header, line 1).
pub fn read(rows: &[Vec<String>]) -> Result<Vec<Account>, RowError> {
    let Some(header) = rows.first() else {
        return Err(RowError::new(1, "header", "the file is empty"));
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    for c in REQUIRED {
        if col(c).is_none() {
            return Err(RowError::new(
                1,
                c,
                "missing: this is not an IAM credential report (22 or 16 columns)",
            ));
        }
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, row) in rows.iter().enumerate().skip(1) {
        let line = i as u64 + 1;
        let get = |name: &str| {
            col(name)
                .and_then(|c| row.get(c))
                .map(String::as_str)
                .unwrap_or("")
        };
        let day = |name: &str| parse_day(get(name)).map_err(|e| RowError::new(line, name, e));
        let flag = |name: &str| parse_flag(get(name)).map_err(|e| RowError::new(line, name, e));
        let user = get("user").trim();
        if user.is_empty() {
            return Err(RowError::new(line, "user", "empty"));
        }
        // IAM user names never hold '/': a key's account is `user/access_key_N`, so one that
        // did could stand for another user's key.
        if user.contains('/') {
            return Err(RowError::new(
                line,
                "user",
                format!("'{user}' is not an IAM user name (it contains '/')"),
            ));
        }
        if !seen.insert(user.to_string()) {
            return Err(RowError::new(
                line,
                "user",
                format!("'{user}' appears twice"),
            ));
        }
        let root = user == ROOT;
        let created = day("user_creation_time")?;
        let password = match get("password_enabled").trim() {
            // The root user's password is reported as not_supported: it always has one.
            "not_supported" if root => true,
            _ => flag("password_enabled")?.unwrap_or(false),
        };
        let mut last_used = day("password_last_used")?;
        let mut keys = Vec::new();
        for n in [1, 2] {
            let active = flag(&format!("access_key_{n}_active"))?.unwrap_or(false);
            let rotated = day(&format!("access_key_{n}_last_rotated"))?;
            let used = match col(&format!("access_key_{n}_last_used_date")) {
                Some(_) => day(&format!("access_key_{n}_last_used_date"))?,
                None => None,
            };
            last_used = last_used.max(used);
            if active {
                keys.push((n, rotated, used));
            }
        }
        let arn = get("arn").trim().to_string();
        let account_type = if root {
            AccountType::Root
        } else if !password && !keys.is_empty() {
            // Keys and no console password: a program's identity.
            AccountType::Service
        } else {
            AccountType::Human
        };
        out.push(Account {
            key: user.to_string(),
            user_id: user.to_string(),
            email: None,
            name: user.to_string(),
            entitlement: arn.clone(),
            account_type,
            active: root || password || !keys.is_empty(),
            last_used,
            created,
            mfa: flag("mfa_active")?,
            manager_email: None,
            rotated: None,
        });
        for (n, rotated, used) in keys {
            out.push(Account {
                key: format!("{user}/access_key_{n}"),
                user_id: user.to_string(),
                email: None,
                name: format!("{user}: access key {n}"),
                entitlement: arn.clone(),
                account_type: AccountType::AccessKey,
                active: true,
                last_used: used,
                created: rotated.or(created),
                mfa: None,
                manager_email: None,
                rotated,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    pub const LONG: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2019-01-10T09:00:00+00:00,not_supported,2026-10-01T08:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::123456789012:user/alice,2020-02-01T10:00:00+00:00,true,2026-11-20T10:00:00+00:00,2026-06-01T10:00:00+00:00,N/A,false,true,2025-01-01T00:00:00+00:00,2026-11-25T00:00:00+00:00,eu-west-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
ci-deploy,arn:aws:iam::123456789012:user/ci-deploy,2021-03-01T10:00:00+00:00,false,no_information,N/A,N/A,false,true,2026-09-01T00:00:00+00:00,2026-11-29T00:00:00+00:00,us-east-1,ecr,true,2023-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A
";

    fn rows(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn the_22_column_report_with_root_and_keys() {
        let a = read(&rows(LONG)).unwrap();
        let keys: Vec<&str> = a.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                ROOT,
                "alice",
                "alice/access_key_1",
                "ci-deploy",
                "ci-deploy/access_key_1",
                "ci-deploy/access_key_2"
            ]
        );
        assert_eq!(a[0].account_type, AccountType::Root);
        assert!(a[0].active && a[0].mfa == Some(true));
        assert_eq!(a[1].account_type, AccountType::Human);
        assert_eq!(
            a[1].last_used,
            Some(date!(2026 - 11 - 25)),
            "the key's use counts"
        );
        assert_eq!(a[2].rotated, Some(date!(2025 - 01 - 01)));
        assert_eq!(a[3].account_type, AccountType::Service);
        assert_eq!(a[5].last_used, None, "N/A: never used");
    }

    #[test]
    fn the_older_16_column_report() {
        let text = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_2_active,access_key_2_last_rotated,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::1:root,2014-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,false,false,N/A,false,N/A,false,N/A,false,N/A
bob,arn:aws:iam::1:user/bob,2015-01-01T00:00:00+00:00,true,2016-01-01T00:00:00+00:00,N/A,N/A,true,true,2015-06-01T00:00:00+00:00,false,N/A,false,N/A,false,N/A
";
        let a = read(&rows(text)).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].mfa, Some(false));
        assert_eq!(a[0].last_used, None);
        assert_eq!(a[2].key, "bob/access_key_1");
        assert_eq!(a[2].last_used, None, "the old layout has no key use");
    }

    #[test]
    fn bad_rows_are_named() {
        let mut r = rows(LONG);
        r[2][7] = "perhaps".into();
        let e = read(&r).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "mfa_active"));
        let mut r = rows(LONG);
        r[3][0] = "alice".into();
        assert!(read(&r).unwrap_err().why.contains("twice"));
        let mut r = rows(LONG);
        r[2][0] = "ci-deploy/access_key_1".into();
        assert!(read(&r).unwrap_err().why.contains("not an IAM user name"));
        let mut r = rows(LONG);
        r[0].retain(|h| h != "arn");
        assert_eq!(read(&r).unwrap_err().field, "arn");
    }
}
