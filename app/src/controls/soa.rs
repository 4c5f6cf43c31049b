//! The Statement of Applicability of one framework as CSV: each requirement, whether it
//! applies and why not, the controls that implement it and where they stand. Pure: the rows
//! come from `store::soa_rows`.

use super::status::ControlStatus;
use crate::error::AppError;
use crate::util::csv_cell;

pub const COLUMNS: [&str; 9] = [
    "Requirement",
    "Title",
    "Group",
    "Applicable",
    "Justification",
    "Controls",
    "Status",
    "Suggested by crosswalks",
    "Reference controls",
];

/// One requirement's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaRow {
    pub label: String,
    pub title: String,
    pub group: String,
    pub applicable: bool,
    pub justification: String,
    /// Mapped controls: ref and status.
    pub controls: Vec<(String, ControlStatus)>,
    /// Controls a crosswalk suggests, not accepted yet: their refs.
    pub suggested: Vec<String>,
    pub reference_controls: String,
}

/// Where a requirement stands: excluded, not implemented (no applicable control), or the
/// worst status among its applicable controls (one failing control fails the requirement).
pub fn status(r: &SoaRow) -> String {
    if !r.applicable {
        return "Excluded".into();
    }
    r.controls
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| *s != ControlStatus::NotApplicable)
        .min()
        .map(|s| s.label().to_string())
        .unwrap_or_else(|| "Not implemented".into())
}

/// The CSV, every cell formula-safe (a requirement's text is someone else's words).
pub fn to_csv(rows: &[SoaRow]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(AppError::internal)?;
    for r in rows {
        let controls: Vec<&str> = r.controls.iter().map(|(c, _)| c.as_str()).collect();
        let cells = [
            r.label.clone(),
            r.title.clone(),
            r.group.clone(),
            if r.applicable { "Yes" } else { "No" }.to_string(),
            r.justification.clone(),
            controls.join("; "),
            status(r),
            r.suggested.join("; "),
            r.reference_controls.clone(),
        ];
        w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
            .map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(applicable: bool, controls: &[(&str, ControlStatus)]) -> SoaRow {
        SoaRow {
            label: "A.5.1".into(),
            title: "=HYPERLINK(\"x\")".into(),
            group: String::new(),
            applicable,
            justification: if applicable { "" } else { "-no remote access" }.into(),
            controls: controls.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
            suggested: vec![],
            reference_controls: String::new(),
        }
    }

    #[test]
    fn status_is_the_worst_applicable_control_and_cells_are_formula_safe() {
        use ControlStatus::*;
        assert_eq!(status(&row(true, &[])), "Not implemented");
        assert_eq!(
            status(&row(true, &[("a", NotApplicable)])),
            "Not implemented"
        );
        assert_eq!(
            status(&row(true, &[("a", Effective), ("b", Overdue)])),
            "Overdue"
        );
        assert_eq!(status(&row(false, &[("a", Effective)])), "Excluded");
        let csv =
            String::from_utf8(to_csv(&[row(false, &[("POL-1", Effective)])]).unwrap()).unwrap();
        let line = csv.lines().nth(1).unwrap();
        assert!(line.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{line}");
        assert!(
            line.contains(",No,'-no remote access,POL-1,Excluded,"),
            "{line}"
        );
    }
}
