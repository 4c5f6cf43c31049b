//! The people list (an HR export): email, name, manager, status, department, read by header
//! name in the words HR tools use. Accounts are matched to people by email at import (orphans)
//! and reviews are routed to managers from it.

use super::accounts::{parse_email, parse_status, RowError};
use super::flags::Person;

const EMAIL: &[&str] = &[
    "email",
    "e-mail",
    "mail",
    "work email",
    "email address",
    "courriel",
];
const NAME: &[&str] = &[
    "name",
    "full name",
    "display name",
    "employee",
    "vollständiger name",
    "nom",
];
const MANAGER: &[&str] = &[
    "manager",
    "manager email",
    "manager_email",
    "manager e-mail",
    "vorgesetzter",
    "responsable",
];
const STATUS: &[&str] = &["status", "state", "employment status", "active", "statut"];
const DEPARTMENT: &[&str] = &[
    "department",
    "dept",
    "team",
    "abteilung",
    "service",
    "département",
];

/// The people of a people file's rows (header first).
pub fn read(rows: &[Vec<String>]) -> Result<Vec<Person>, RowError> {
    let Some(header) = rows.first() else {
        return Err(RowError::new(1, "header", "the file is empty"));
    };
    let norm = |h: &str| h.trim().to_lowercase().replace(['_', '-'], " ");
    let find = |words: &[&str]| {
        header
            .iter()
            .position(|h| words.iter().any(|w| norm(w) == norm(h)))
    };
    let email = find(EMAIL).ok_or_else(|| {
        RowError::new(
            1,
            "email",
            format!("no email column (headers: {})", header.join(", ")),
        )
    })?;
    let (name, manager, status, dept) = (find(NAME), find(MANAGER), find(STATUS), find(DEPARTMENT));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate().skip(1) {
        let line = i as u64 + 1;
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).map(String::as_str).unwrap_or("");
        let e = parse_email(get(Some(email)))
            .map_err(|why| RowError::new(line, "email", why))?
            .ok_or_else(|| RowError::new(line, "email", "empty"))?;
        if !seen.insert(e.clone()) {
            return Err(RowError::new(line, "email", format!("'{e}' appears twice")));
        }
        out.push(Person {
            name: match get(name).trim() {
                "" => e.clone(),
                n => n.chars().take(500).collect(),
            },
            manager_email: parse_email(get(manager))
                .map_err(|why| RowError::new(line, "manager", why))?,
            active: parse_status(get(status)).map_err(|why| RowError::new(line, "status", why))?,
            department: get(dept).trim().chars().take(200).collect(),
            email: e,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &str) -> Vec<Vec<String>> {
        t.lines()
            .map(|l| l.split(';').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn an_hr_export_by_its_headers() {
        let p = read(&rows("E-Mail;Name;Vorgesetzter;Status;Abteilung\nAnna@x.de;Anna;chef@x.de;aktiv;IT\nbert@x.de;;;inaktiv;\n")).unwrap();
        assert_eq!(p[0].email, "anna@x.de");
        assert_eq!(p[0].manager_email.as_deref(), Some("chef@x.de"));
        assert_eq!(p[0].department, "IT");
        assert!(!p[1].active);
        assert_eq!(p[1].name, "bert@x.de");
        let e = read(&rows("email;manager\na@x.de;nobody\n")).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "manager"));
        assert_eq!(read(&rows("who;name\na;b\n")).unwrap_err().field, "email");
        assert!(read(&rows("email\na@x.de\nA@x.de\n"))
            .unwrap_err()
            .why
            .contains("twice"));
    }
}
