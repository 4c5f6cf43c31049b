//! Source formats: recognising a file by its header (FOCUS 1.0/1.1/1.2, AWS CUR legacy and
//! CUR 2.0) and mapping each row onto the one FOCUS-shaped line item.
//!
//! Header names match case-insensitively, in any order, after trimming and dropping a UTF-8
//! BOM; unknown and `x_` columns are kept in the row's `extra` JSON. A value that is empty or
//! the literal `NULL` is null.
//!
//! - `focus`: the FOCUS columns and their mapping; `cur`: the AWS CUR ones (legacy and 2.0);
//! - `instant`: the timestamp parser both use.

mod cur;
mod focus;
mod instant;

pub use instant::parse_instant;

use super::money::parse_amount;
use cur::{map_cur, CurCols};
use focus::{map_focus, FocusCols};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Focus10,
    Focus11,
    Focus12,
    AwsCurLegacy,
    AwsCur2,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Focus10 => "focus-1.0",
            Format::Focus11 => "focus-1.1",
            Format::Focus12 => "focus-1.2",
            Format::AwsCurLegacy => "aws-cur-legacy",
            Format::AwsCur2 => "aws-cur-2.0",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Focus10 => "FOCUS 1.0",
            Format::Focus11 => "FOCUS 1.1",
            Format::Focus12 => "FOCUS 1.2",
            Format::AwsCurLegacy => "AWS Cost and Usage Report (legacy)",
            Format::AwsCur2 => "AWS Cost and Usage Report 2.0",
        }
    }
}

/// One source row in the common model. Instants are stored-format UTC text.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItem {
    pub provider: String,
    pub billing_account_id: String,
    pub billing_account_name: String,
    pub billing_period_start: String,
    pub billing_period_end: String,
    pub sub_account_id: String,
    pub sub_account_name: String,
    pub service_name: String,
    pub service_category: String,
    pub region_id: String,
    pub resource_id: String,
    pub charge_category: String,
    pub charge_period_start: String,
    pub charge_period_end: String,
    /// UTC day of `charge_period_start`.
    pub usage_date: String,
    pub billed: Decimal,
    pub effective: Decimal,
    pub list: Decimal,
    pub currency: String,
    pub tags: BTreeMap<String, String>,
    /// The row's other non-null columns as a JSON object, by header name.
    pub extra: String,
}

/// A problem in one field of a row; the importer adds the row and line numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub column: String,
    pub reason: String,
}

fn field_err(column: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        column: column.to_string(),
        reason: reason.into(),
    }
}

/// The header of a file, searchable case-insensitively.
struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    fn new(raw: &[String]) -> Result<Header, String> {
        let mut names = Vec::with_capacity(raw.len());
        let mut index = HashMap::new();
        for (i, n) in raw.iter().enumerate() {
            let n = n.trim_start_matches('\u{feff}').trim().to_string();
            if !n.is_empty() && index.insert(n.to_ascii_lowercase(), i).is_some() {
                return Err(format!(
                    "the column '{n}' appears more than once in the header"
                ));
            }
            names.push(n);
        }
        Ok(Header { names, index })
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.index.get(&name.to_ascii_lowercase()).copied()
    }

    fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }
}

/// A resolved column: its index and its name as the file spells it (for messages).
#[derive(Debug, Clone)]
struct Col {
    idx: usize,
    name: String,
}

/// Maps the rows of one recognised file.
pub struct RowMapper {
    format: Format,
    names: Vec<String>,
    /// Columns the mapping reads; the others go to `extra`.
    used: Vec<bool>,
    kind: Kind,
}

enum Kind {
    Focus(Box<FocusCols>),
    Cur(Box<CurCols>),
}

impl RowMapper {
    /// Recognises the format from the header row.
    pub fn from_header(raw: &[String]) -> Result<RowMapper, String> {
        let h = Header::new(raw)?;
        if h.has("BilledCost") || h.has("ChargePeriodStart") {
            return Self::focus(h);
        }
        if h.has("lineItem/UnblendedCost") || h.has("identity/LineItemId") {
            return Self::cur(h, Format::AwsCurLegacy);
        }
        if h.has("line_item_unblended_cost") || h.has("identity_line_item_id") {
            return Self::cur(h, Format::AwsCur2);
        }
        Err(format!(
            "the file's columns are not a format Steward knows: expected FOCUS 1.0–1.2 \
             (BilledCost, ChargePeriodStart, …) or an AWS Cost and Usage Report \
             (lineItem/UnblendedCost, … or line_item_unblended_cost, …); the header starts with: {}",
            h.names.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
        ))
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The columns kept in each row's `extra` array, in header order (stored once per batch).
    pub fn extra_columns(&self) -> Vec<String> {
        self.names
            .iter()
            .zip(&self.used)
            .filter(|(name, used)| !**used && !name.is_empty())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Maps one data row. `fields` are the row's values in header order.
    pub fn map(&self, fields: &csv::StringRecord) -> Result<LineItem, FieldError> {
        if fields.len() != self.names.len() {
            return Err(field_err(
                "",
                format!(
                    "the row has {} fields but the header has {}",
                    fields.len(),
                    self.names.len()
                ),
            ));
        }
        let mut item = match &self.kind {
            Kind::Focus(c) => map_focus(c, fields)?,
            Kind::Cur(c) => map_cur(c, fields)?,
        };
        // The other columns' values as a JSON array aligned with `extra_columns` (null where
        // empty), written straight into one string: names once per batch, not per row.
        let mut extra = String::with_capacity(160);
        extra.push('[');
        for (i, v) in fields.iter().enumerate() {
            if !self.used[i] && !self.names[i].is_empty() {
                if extra.len() > 1 {
                    extra.push(',');
                }
                match null_if_empty(v) {
                    Some(v) => push_json_str(&mut extra, v),
                    None => extra.push_str("null"),
                }
            }
        }
        extra.push(']');
        item.extra = extra;
        Ok(item)
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s.is_char_boundary(prefix.len()))
        .then(|| s.split_at(prefix.len()))
        .filter(|(p, _)| p.eq_ignore_ascii_case(prefix))
        .map(|(_, rest)| rest)
}

/// Empty and the literal `NULL` (any case) are null.
fn null_if_empty(v: &str) -> Option<&str> {
    let t = v.trim();
    (!t.is_empty() && !t.eq_ignore_ascii_case("null")).then_some(t)
}

fn get<'r>(r: &'r csv::StringRecord, c: &Col) -> Option<&'r str> {
    r.get(c.idx).and_then(null_if_empty)
}

fn get_opt<'r>(r: &'r csv::StringRecord, c: &Option<Col>) -> Option<&'r str> {
    c.as_ref().and_then(|c| get(r, c))
}

fn text(r: &csv::StringRecord, c: &Option<Col>) -> String {
    get_opt(r, c).unwrap_or_default().to_string()
}

fn required<'r>(r: &'r csv::StringRecord, c: &Col) -> Result<&'r str, FieldError> {
    get(r, c).ok_or_else(|| field_err(&c.name, "a value is required but the field is empty"))
}

fn amount(r: &csv::StringRecord, c: &Col) -> Result<Decimal, FieldError> {
    parse_amount(required(r, c)?).map_err(|e| field_err(&c.name, e))
}

fn opt_amount(r: &csv::StringRecord, c: &Option<Col>) -> Result<Option<Decimal>, FieldError> {
    match c {
        Some(c) => get(r, c)
            .map(|v| parse_amount(v).map_err(|e| field_err(&c.name, e)))
            .transpose(),
        None => Ok(None),
    }
}

fn instant(r: &csv::StringRecord, c: &Col) -> Result<OffsetDateTime, FieldError> {
    parse_instant(required(r, c)?).map_err(|e| field_err(&c.name, e))
}

fn currency(r: &csv::StringRecord, c: &Col) -> Result<String, FieldError> {
    let v = required(r, c)?;
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(v.to_ascii_uppercase())
    } else {
        Err(field_err(
            &c.name,
            format!("'{v}' is not a three-letter currency code"),
        ))
    }
}

/// A charge period `[start, end)`: end must not precede start.
fn period(
    r: &csv::StringRecord,
    start: &Col,
    end: &Col,
) -> Result<(OffsetDateTime, OffsetDateTime), FieldError> {
    let s = instant(r, start)?;
    let e = instant(r, end)?;
    if e < s {
        return Err(field_err(
            &end.name,
            format!("the period ends ({}) before it starts ({})", ts(e), ts(s)),
        ));
    }
    Ok((s, e))
}

fn ts(t: OffsetDateTime) -> String {
    crate::util::ts(t)
}

/// The UTC day: the first ten characters of the stored instant.
fn day(t: OffsetDateTime) -> String {
    let mut s = ts(t);
    s.truncate(10);
    s
}

fn parse_map(json: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// A JSON object of tags; `strip` removes a key prefix (CUR 2.0 writes user tags as
/// `user_<key>`). Null values mean "not tagged".
fn parse_tags(json: &str, strip: &str) -> Result<BTreeMap<String, String>, String> {
    let m = parse_map(json)?;
    let mut tags = BTreeMap::new();
    for (k, v) in m {
        let key = if strip.is_empty() {
            k
        } else {
            k.strip_prefix(strip).map(str::to_string).unwrap_or(k)
        };
        if let Some(v) = scalar_text(&v) {
            if !key.is_empty() {
                tags.insert(key, v);
            }
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests;
