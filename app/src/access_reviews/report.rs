//! The campaign report: one CSV row for every account reviewed (flags, decision, reviewer,
//! time, remediation and its verification) and the summary that heads the evidence. Pure:
//! rows in, bytes out, so the same campaign always gives the same file.

use serde::{Deserialize, Serialize};

pub const HEADERS: [&str; 20] = [
    "system",
    "account_key",
    "user_id",
    "email",
    "name",
    "entitlement",
    "account_type",
    "active",
    "last_used",
    "mfa",
    "flags",
    "reviewer",
    "routed_by",
    "decision",
    "note",
    "decided_by",
    "decided_at",
    "remediation",
    "remediation_status",
    "verification",
];

/// One reviewed account, as the report says it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub system: String,
    pub account_key: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub entitlement: String,
    pub account_type: String,
    pub active: bool,
    pub last_used: String,
    /// `yes`, `no` or empty (the source does not say).
    pub mfa: String,
    pub flags: String,
    pub reviewer: String,
    pub routed_by: String,
    pub decision: String,
    pub note: String,
    pub decided_by: String,
    pub decided_at: String,
    /// The remediation's action, or empty for a kept account.
    pub remediation: String,
    pub remediation_status: String,
    /// What verified it (the snapshot) or the exception's justification, with who and when.
    pub verification: String,
}

/// The report's CSV (formula-safe cells, a header row, one row an account).
pub fn csv(rows: &[ReportRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADERS)?;
    for r in rows {
        let active = if r.active { "yes" } else { "no" };
        let cells: [&str; 20] = [
            &r.system,
            &r.account_key,
            &r.user_id,
            &r.email,
            &r.name,
            &r.entitlement,
            &r.account_type,
            active,
            &r.last_used,
            &r.mfa,
            &r.flags,
            &r.reviewer,
            &r.routed_by,
            &r.decision,
            &r.note,
            &r.decided_by,
            &r.decided_at,
            &r.remediation,
            &r.remediation_status,
            &r.verification,
        ];
        w.write_record(cells.iter().map(|c| crate::util::csv_cell(c).into_owned()))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The summary the evidence carries: counts of accounts, decisions, flags and remediation.
pub fn summary(campaign: &str, period: (&str, &str), rows: &[ReportRow]) -> String {
    let count = |f: &dyn Fn(&ReportRow) -> bool| rows.iter().filter(|r| f(r)).count();
    let mut systems: Vec<&str> = rows.iter().map(|r| r.system.as_str()).collect();
    systems.dedup();
    let flagged = count(&|r| !r.flags.is_empty());
    format!(
        "Access review '{campaign}' from {} to {}: {} account(s) of {} reviewed; kept {}, revoked {}, modified {}; \
         {flagged} flagged; remediation: {} verified by a later snapshot, {} accepted as documented exceptions.",
        period.0,
        period.1,
        rows.len(),
        if systems.is_empty() { "no system".to_string() } else { systems.join(", ") },
        count(&|r| r.decision == "keep"),
        count(&|r| r.decision == "revoke"),
        count(&|r| r.decision == "modify"),
        count(&|r| r.remediation_status == "verified"),
        count(&|r| r.remediation_status == "exception"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, decision: &str, status: &str) -> ReportRow {
        ReportRow {
            system: "AWS prod".into(),
            account_key: key.into(),
            user_id: key.into(),
            decision: decision.into(),
            remediation: if decision == "keep" { "" } else { decision }.into(),
            remediation_status: status.into(),
            ..ReportRow::default()
        }
    }

    #[test]
    fn the_report_has_a_row_per_account_and_neutralises_formulas() {
        let mut r = row("=cmd|' /C calc'!A0", "revoke", "verified");
        r.note = "@SUM(1)".into();
        let bytes = csv(&[r, row("bob", "keep", "")]).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("system,account_key,user_id"));
        assert!(lines[1].contains("'=cmd"), "{}", lines[1]);
        assert!(lines[1].contains("'@SUM(1)"));
        assert!(lines[2].contains(",bob,bob,"));
    }

    #[test]
    fn the_summary_counts_decisions_and_remediation() {
        let rows = [
            row("a", "keep", ""),
            row("b", "revoke", "verified"),
            row("c", "modify", "exception"),
        ];
        let s = summary("Q4", ("2026-10-01", "2026-10-20"), &rows);
        assert!(s.contains("3 account(s) of AWS prod"), "{s}");
        assert!(s.contains("kept 1, revoked 1, modified 1"), "{s}");
        assert!(
            s.contains("1 verified by a later snapshot, 1 accepted"),
            "{s}"
        );
    }
}
