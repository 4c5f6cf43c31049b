//! A tabular file into rows: the text's encoding (UTF-8 with or without a BOM, UTF-16 with a
//! BOM, else Windows-1252) and delimiter (`,` `;` tab `|`) detected, the rows bounded; a
//! mapping of an area's fields to columns guessed from the headers, and read back from a form.

use super::RowError;
use crate::error::AppError;
use std::collections::BTreeMap;

/// An area's bounds on a file, and how its rows are named in messages.
pub struct Limits {
    pub max_bytes: usize,
    pub max_rows: usize,
    pub max_columns: usize,
    /// "account file"
    pub file: &'static str,
    /// "accounts"
    pub rows: &'static str,
    /// "account"
    pub row: &'static str,
}

/// A file read into rows, with what was detected.
pub struct Table {
    pub encoding: &'static str,
    pub delimiter: u8,
    /// The header first; blank rows left out.
    pub rows: Vec<Vec<String>>,
    /// Each row's record number in the file (the header is 1), as a spreadsheet numbers it.
    pub numbers: Vec<u64>,
}

/// The file as text, its encoding named.
pub fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (String::from_utf8_lossy(rest).into_owned(), "UTF-8 with BOM");
    }
    if let Some((enc, _)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _, _) = enc.decode(bytes);
        return (text.into_owned(), enc.name());
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => (t.to_string(), "UTF-8"),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text.into_owned(), "Windows-1252")
        }
    }
}

/// The delimiter of the header line: the most frequent of `,` `;` tab `|` outside quotes.
pub fn delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for b in text.bytes() {
        if !quoted && (b == b'\n' || b == b'\r') {
            break;
        }
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
                c.1 += 1;
            }
        }
    }
    // The first with the highest count: `,` wins ties.
    counts
        .iter()
        .fold((b',', 0), |best, c| if c.1 > best.1 { *c } else { best })
        .0
}

/// The delimiter as a person reads it.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        d => (d as char).to_string(),
    }
}

/// The rows of a CSV text (header first), bounded, each with its record number (1-based).
pub fn numbered_rows(
    text: &str,
    delimiter: u8,
    limits: &Limits,
) -> Result<Vec<(u64, Vec<String>)>, RowError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = out.len() as u64 + 1;
        let rec = rec.map_err(|e| {
            let at = e.position().map(|p| p.line()).unwrap_or(line);
            RowError::new(at, "file", format!("not readable as CSV ({e})"))
        })?;
        if out.len() > limits.max_rows {
            return Err(RowError::new(
                line,
                "file",
                format!("more than {} {}", limits.max_rows, limits.rows),
            ));
        }
        if rec.len() > limits.max_columns {
            return Err(RowError::new(
                line,
                "file",
                format!("more than {} columns", limits.max_columns),
            ));
        }
        let row: Vec<String> = rec.iter().map(|f| f.trim().to_string()).collect();
        if row.iter().all(String::is_empty) {
            continue;
        }
        out.push((n as u64 + 1, row));
    }
    Ok(out)
}

/// Decodes and splits a file within `limits`: at least a header and one row.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Table, AppError> {
    if bytes.len() > limits.max_bytes {
        return Err(AppError::TooLarge(format!(
            "The {} is larger than {}.",
            limits.file,
            crate::util::human_size(limits.max_bytes as u64)
        )));
    }
    let (text, encoding) = decode(bytes);
    let delimiter = delimiter(&text);
    let numbered =
        numbered_rows(&text, delimiter, limits).map_err(|e| AppError::invalid(e.to_string()))?;
    if numbered.len() < 2 {
        return Err(AppError::invalid(format!(
            "The file has no {}: a header line and one line per {} are expected.",
            limits.rows, limits.row
        )));
    }
    let (numbers, rows) = numbered.into_iter().unzip();
    Ok(Table {
        encoding,
        delimiter,
        rows,
        numbers,
    })
}

/// The mapping step's view of a file: what was detected, the first rows, and each field
/// (field, label, the column mapped now).
pub fn preview(
    rows: &[Vec<String>],
    encoding: &str,
    delimiter: u8,
    (token, file_name): (String, String),
    mapping: Vec<(String, String, Option<String>)>,
) -> super::Preview {
    super::Preview {
        token,
        file_name,
        encoding: encoding.to_string(),
        delimiter: delimiter_name(delimiter),
        headers: rows.first().cloned().unwrap_or_default(),
        preview: rows.iter().skip(1).take(5).cloned().collect(),
        rows: rows.len().saturating_sub(1) as i64,
        mapping,
    }
}

/// A header as it is compared: lower case, `_` and `-` read as spaces, spaces trimmed.
fn norm(h: &str) -> String {
    h.trim().to_lowercase().replace(['_', '-'], " ")
}

/// A mapping guessed from the headers: each field (in `fields`' order) to the first column not
/// taken yet that one of its words names.
pub fn guess<F: Copy + Ord>(
    headers: &[String],
    fields: &[F],
    synonyms: impl Fn(F) -> &'static [&'static str],
) -> BTreeMap<F, String> {
    let mut used = vec![false; headers.len()];
    let mut m = BTreeMap::new();
    for &f in fields {
        let found = headers
            .iter()
            .enumerate()
            .position(|(i, h)| !used[i] && synonyms(f).iter().any(|s| norm(s) == norm(h)));
        if let Some(i) = found {
            used[i] = true;
            m.insert(f, headers[i].clone());
        }
    }
    m
}

/// Each mapped field's column in `header`; a header the mapping names and the file lacks is
/// an error on line 1.
pub fn columns<F: Copy + Ord>(
    header: &[String],
    mapping: &BTreeMap<F, String>,
    name: impl Fn(F) -> &'static str,
) -> Result<BTreeMap<F, usize>, RowError> {
    let mut col = BTreeMap::new();
    for (f, h) in mapping {
        let i = header
            .iter()
            .position(|x| x.trim() == h.trim())
            .ok_or_else(|| RowError::new(1, name(*f), format!("no column is named '{h}'")))?;
        col.insert(*f, i);
    }
    Ok(col)
}

/// A mapping from the form's words (`field → header`, blank for none); `what` names a field
/// in the error ("an account").
pub fn mapping_from<F: Ord>(
    form: &BTreeMap<String, String>,
    parse: impl Fn(&str) -> Option<F>,
    what: &str,
) -> Result<BTreeMap<F, String>, AppError> {
    let mut m = BTreeMap::new();
    for (k, v) in form {
        let f =
            parse(k).ok_or_else(|| AppError::invalid(format!("map: '{k}' is not {what} field")))?;
        if !v.trim().is_empty() {
            m.insert(f, v.trim().to_string());
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_bytes: 1024,
        max_rows: 3,
        max_columns: 4,
        file: "test file",
        rows: "things",
        row: "thing",
    };

    #[test]
    fn rows_are_numbered_as_records_and_bounded() {
        let r = numbered_rows("a,b\n\n1,2\n,\n\"x\ny\",3\n", b',', &LIMITS).unwrap();
        let numbers: Vec<u64> = r.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            numbers,
            vec![1, 2, 4],
            "blank lines are not records; ',' is"
        );
        assert_eq!(r[2].1[0], "x\ny");
        let e = numbered_rows("a\n1\n2\n3\n4\n", b',', &LIMITS).unwrap_err();
        assert_eq!(e.why, "more than 3 things");
        let e = numbered_rows("a,b,c,d,e\n", b',', &LIMITS).unwrap_err();
        assert_eq!(e.why, "more than 4 columns");
        let e = read(&[b'a'; 2000], &LIMITS).err().unwrap();
        assert!(e.to_string().contains("test file is larger than"), "{e}");
        let e = read(b"a,b\n", &LIMITS).err().unwrap();
        assert!(e.to_string().contains("no things"), "{e}");
    }

    #[test]
    fn a_guess_takes_each_column_once_and_columns_name_what_is_missing() {
        let headers: Vec<String> = ["Name", "E-Mail", "name"].map(String::from).to_vec();
        let syn = |f: u8| -> &'static [&'static str] {
            match f {
                0 => &["name"],
                1 => &["e_mail"],
                _ => &["name", "full name"],
            }
        };
        let m = guess(&headers, &[0, 1, 2], syn);
        assert_eq!(m[&0], "Name");
        assert_eq!(m[&1], "E-Mail");
        assert_eq!(m[&2], "name", "the first free column");
        let mut m = m;
        m.insert(1, "Mail".into());
        let e = columns(&headers, &m, |f| if f == 1 { "email" } else { "x" }).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (1, "email"));
        assert_eq!(delimiter_name(b'\t'), "tab");
        assert_eq!(delimiter_name(b';'), ";");
    }
}
