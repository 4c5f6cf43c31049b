//! Budgets as code: the CSV file (`spec::COLUMNS`) read and written. Reading is bounded
//! (bytes, rows) and checks the header; the rows' contents are checked by `Spec::parse` and
//! the store, which names each bad row and column.

use super::spec::{BudgetForm, COLUMNS};
use super::store::Budget;
use crate::error::AppError;
use crate::util::{csv_cell, csv_uncell as uncell};

/// The largest budgets file accepted.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Budgets per file.
pub const MAX_ROWS: usize = 10_000;
const REQUIRED: [&str; 6] = ["name", "owner", "period", "amount", "currency", "start"];

/// The rows of a budgets file, each with its line number.
pub fn parse(bytes: &[u8]) -> Result<Vec<(usize, BudgetForm)>, AppError> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::TooLarge(format!(
            "The budgets file is larger than {}.",
            crate::util::human_size(MAX_BYTES as u64)
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| AppError::invalid(format!("The budgets file is not UTF-8 text ({e}).")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    // Spreadsheets in many locales save with semicolons.
    let delimiter = if first.contains(';') && !first.contains(',') {
        b';'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| AppError::invalid(format!("Line 1 (the header): {e}.")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut index = [None; COLUMNS.len()];
    for (i, h) in headers.iter().enumerate() {
        match COLUMNS.iter().position(|c| c == h) {
            Some(c) if index[c].is_some() => {
                return Err(AppError::invalid(format!(
                    "Line 1 (the header): the column '{h}' appears twice."
                )))
            }
            Some(c) => index[c] = Some(i),
            None => {
                return Err(AppError::invalid(format!(
                    "Line 1 (the header): '{h}' is not a budget column (columns: {}).",
                    COLUMNS.join(", ")
                )))
            }
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|r| !headers.iter().any(|h| h == *r)) {
        return Err(AppError::invalid(format!(
            "Line 1 (the header): the column '{missing}' is required."
        )));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            AppError::invalid(format!("Line {line}: {e}."))
        })?;
        let line = rec.position().map_or(0, |p| p.line()) as usize;
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(AppError::invalid(format!(
                "Line {line}: a file holds at most {MAX_ROWS} budgets."
            )));
        }
        if rec.len() > headers.len() {
            return Err(AppError::invalid(format!(
                "Line {line}: {} fields, but the header names {}.",
                rec.len(),
                headers.len()
            )));
        }
        let cells: Vec<&str> = index
            .iter()
            .map(|i| i.and_then(|i| rec.get(i)).map(uncell).unwrap_or(""))
            .collect();
        rows.push((line, BudgetForm::from_cells(&cells)));
    }
    Ok(rows)
}

/// Every budget as a CSV file that imports back to the same budgets.
pub fn write(budgets: &[Budget]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(AppError::internal)?;
    for b in budgets {
        let f = b.to_form();
        w.write_record(f.cells().iter().map(|c| csv_cell(c).into_owned()))
            .map_err(AppError::internal)?;
    }
    w.into_inner().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_bom_and_spreadsheet_quoting_are_read() {
        let file = "\u{feff}Name;Owner;Period;Amount;Currency;Start;Notes\n\
                    Platform;lead;monthly;1000.00;USD;2026-01;'-cut EC2\n\n";
        let rows = parse(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1.name, "Platform");
        assert_eq!(rows[0].1.notes, "-cut EC2");
        assert_eq!(rows[0].1.deputy, "");
    }

    #[test]
    fn a_bad_header_or_row_is_named() {
        let e = parse(b"name,owner,period,amount,currency\n").unwrap_err();
        assert!(e.to_string().contains("'start' is required"), "{e}");
        let e = parse(b"name,owner,period,amount,currency,start,colour\n").unwrap_err();
        assert!(
            e.to_string().contains("'colour' is not a budget column"),
            "{e}"
        );
        let e = parse(b"name,owner,period,amount,currency,start\na,b,c,d,e,f,g\n").unwrap_err();
        assert!(e.to_string().starts_with("Line 2: 7 fields"), "{e}");
        let e = parse(b"name,name,owner,period,amount,currency,start\n").unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        assert!(parse(&[0xff, 0xfe]).is_err());
    }
}
