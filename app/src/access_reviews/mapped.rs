//! Any account list as CSV, read through a column mapping: the text's encoding (UTF-8 with or
//! without a BOM, UTF-16 with a BOM, else Windows-1252) and delimiter (`,` `;` tab `|`) are
//! detected, the first rows shown, and each field mapped to a column by the person importing
//! (a guess from the headers first, in several languages). The mapping is saved per system.

use super::accounts::{
    parse_day, parse_email, parse_flag, parse_status, Account, AccountType, RowError,
};
use crate::tabular::read::{self as tabular, Limits};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest account file accepted, and its bounds once read.
pub const MAX_BYTES: usize = super::MAX_FILE_BYTES;
pub const MAX_ROWS: usize = 200_000;
pub const MAX_COLUMNS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    UserId,
    Email,
    Name,
    Entitlement,
    LastLogin,
    Mfa,
    ManagerEmail,
    AccountType,
    Status,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::UserId,
        Field::Email,
        Field::Name,
        Field::Entitlement,
        Field::LastLogin,
        Field::Mfa,
        Field::ManagerEmail,
        Field::AccountType,
        Field::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::UserId => "user_id",
            Field::Email => "email",
            Field::Name => "name",
            Field::Entitlement => "entitlement",
            Field::LastLogin => "last_login",
            Field::Mfa => "mfa",
            Field::ManagerEmail => "manager_email",
            Field::AccountType => "account_type",
            Field::Status => "status",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::UserId => "User id (required)",
            Field::Email => "Email",
            Field::Name => "Name",
            Field::Entitlement => "Role or entitlement",
            Field::LastLogin => "Last login",
            Field::Mfa => "MFA",
            Field::ManagerEmail => "Manager's email",
            Field::AccountType => "Account type",
            Field::Status => "Status",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Header words that name this field, lower-case, in the languages exports come in.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::UserId => &[
                "user_id",
                "userid",
                "user id",
                "username",
                "user name",
                "login",
                "account",
                "account id",
                "user",
                "uid",
                "samaccountname",
                "benutzer",
                "benutzername",
                "identifiant",
                "utilisateur",
                "usuario",
                "id",
            ],
            Field::Email => &[
                "email",
                "e-mail",
                "mail",
                "email address",
                "courriel",
                "correo",
            ],
            Field::Name => &[
                "name",
                "full name",
                "display name",
                "displayname",
                "fullname",
                "nom",
                "nombre",
                "vollständiger name",
                "anzeigename",
            ],
            Field::Entitlement => &[
                "role",
                "roles",
                "entitlement",
                "entitlements",
                "group",
                "groups",
                "permission",
                "permissions",
                "access",
                "rolle",
                "rôle",
                "profil",
                "profile",
                "privileges",
            ],
            Field::LastLogin => &[
                "last_login",
                "last login",
                "lastlogin",
                "last sign-in",
                "last signin",
                "last_sign_in",
                "last activity",
                "last used",
                "letzte anmeldung",
                "dernière connexion",
                "last_seen",
                "last seen",
            ],
            Field::Mfa => &[
                "mfa",
                "2fa",
                "mfa enabled",
                "mfa_enabled",
                "two factor",
                "mfa status",
            ],
            Field::ManagerEmail => &[
                "manager",
                "manager email",
                "manager_email",
                "manager e-mail",
                "vorgesetzter",
                "responsable",
            ],
            Field::AccountType => &["type", "account type", "account_type", "kind", "kontotyp"],
            Field::Status => &["status", "state", "enabled", "active", "statut", "zustand"],
        }
    }
}

/// Field → the header of the column it is read from.
pub type Mapping = BTreeMap<Field, String>;

/// The bounds of an account file, and how its rows are named.
pub const LIMITS: Limits = Limits {
    max_bytes: MAX_BYTES,
    max_rows: MAX_ROWS,
    max_columns: MAX_COLUMNS,
    file: "account file",
    rows: "accounts",
    row: "account",
};

/// A mapping guessed from the headers: each field to the first column one of its words names.
pub fn guess(headers: &[String]) -> Mapping {
    tabular::guess(headers, &Field::ALL, Field::synonyms)
}

/// Reads the accounts of `rows` (header first) through `mapping`.
pub fn read(rows: &[Vec<String>], mapping: &Mapping) -> Result<Vec<Account>, RowError> {
    let Some(header) = rows.first() else {
        return Err(RowError::new(1, "header", "the file is empty"));
    };
    let col = tabular::columns(header, mapping, Field::as_str)?;
    if !col.contains_key(&Field::UserId) {
        return Err(RowError::new(1, "user_id", "map a column to the user id"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate().skip(1) {
        let line = i as u64 + 1;
        let get = |f: Field| {
            col.get(&f)
                .and_then(|c| row.get(*c))
                .map(String::as_str)
                .unwrap_or("")
        };
        let err = |f: Field| move |why: String| RowError::new(line, f.as_str(), why);
        let user = get(Field::UserId).trim();
        if user.is_empty() {
            return Err(RowError::new(line, "user_id", "empty"));
        }
        if user.chars().count() > 320 {
            return Err(RowError::new(line, "user_id", "longer than 320 characters"));
        }
        if !seen.insert(user.to_string()) {
            return Err(RowError::new(
                line,
                "user_id",
                format!("'{user}' appears twice"),
            ));
        }
        let account_type = AccountType::parse_loose(get(Field::AccountType)).ok_or_else(|| {
            RowError::new(
                line,
                "account_type",
                format!(
                    "'{}' is not a type (human, service, shared)",
                    get(Field::AccountType).trim()
                ),
            )
        })?;
        let email = parse_email(get(Field::Email)).map_err(err(Field::Email))?;
        let name = match get(Field::Name).trim() {
            "" => user.to_string(),
            n => n.chars().take(500).collect(),
        };
        out.push(Account {
            key: user.to_string(),
            user_id: user.to_string(),
            email,
            name,
            entitlement: get(Field::Entitlement).trim().chars().take(2000).collect(),
            account_type,
            active: parse_status(get(Field::Status)).map_err(err(Field::Status))?,
            last_used: parse_day(get(Field::LastLogin)).map_err(err(Field::LastLogin))?,
            created: None,
            mfa: parse_flag(get(Field::Mfa)).map_err(err(Field::Mfa))?,
            manager_email: parse_email(get(Field::ManagerEmail))
                .map_err(err(Field::ManagerEmail))?,
            rotated: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::read::{decode, delimiter};
    use time::macros::date;

    fn rows(text: &str, delimiter: u8) -> Result<Vec<Vec<String>>, RowError> {
        let r = tabular::numbered_rows(text, delimiter, &LIMITS)?;
        Ok(r.into_iter().map(|(_, row)| row).collect())
    }

    /// A German export as spreadsheets save it: BOM, semicolons, day-first dates, non-ASCII
    /// headers.
    const DE: &[u8] = "\u{feff}Benutzer;E-Mail;Vollständiger Name;Rolle;Letzte Anmeldung;MFA;Vorgesetzter;Status\r\nanna;anna@example.de;Anna Müller;Admin;01.11.2026;ja;chef@example.de;aktiv\r\nsvc-backup;;Backup;Operator;;nein;;gesperrt\r\n".as_bytes();

    #[test]
    fn a_semicolon_file_with_a_bom_and_german_headers() {
        let (text, enc) = decode(DE);
        assert_eq!(enc, "UTF-8 with BOM");
        assert_eq!(delimiter(&text), b';');
        let r = rows(&text, b';').unwrap();
        assert_eq!(r[0][0], "Benutzer", "no BOM left in the first header");
        let m = guess(&r[0]);
        assert_eq!(m[&Field::UserId], "Benutzer");
        assert_eq!(m[&Field::Email], "E-Mail");
        assert_eq!(m[&Field::Name], "Vollständiger Name");
        assert_eq!(m[&Field::Entitlement], "Rolle");
        assert_eq!(m[&Field::LastLogin], "Letzte Anmeldung");
        assert_eq!(m[&Field::ManagerEmail], "Vorgesetzter");
        let a = read(&r, &m).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].last_used, Some(date!(2026 - 11 - 01)));
        assert_eq!(a[0].mfa, Some(true));
        assert_eq!(a[0].manager_email.as_deref(), Some("chef@example.de"));
        assert!(!a[1].active);
        assert_eq!(a[1].name, "Backup");
    }

    #[test]
    fn windows_1252_and_utf16_text_is_decoded() {
        let (t, enc) = decode(b"user,name\nj\xe9r\xf4me,J\xe9r\xf4me\n");
        assert_eq!(enc, "Windows-1252");
        assert!(t.contains("jérôme"));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("id\tname\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let (t, enc) = decode(&utf16);
        assert_eq!(enc, "UTF-16LE");
        assert_eq!(delimiter(&t), b'\t');
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let text = "login,mfa,last login\nann,yes,2026-01-01\nbob,perhaps,2026-01-01\n";
        let r = rows(text, b',').unwrap();
        let e = read(&r, &guess(&r[0])).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "mfa"));
        assert!(e.to_string().contains("'perhaps' is not yes or no"), "{e}");
        let mut m = guess(&r[0]);
        m.insert(Field::Email, "mail".into());
        assert_eq!(read(&r, &m).unwrap_err().field, "email");
        m.remove(&Field::Email);
        m.remove(&Field::UserId);
        assert_eq!(read(&r, &m).unwrap_err().field, "user_id");
        let dup = rows("login\nann\nann\n", b',').unwrap();
        assert!(read(&dup, &guess(&dup[0]))
            .unwrap_err()
            .why
            .contains("twice"));
    }
}
