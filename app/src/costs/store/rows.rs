//! Per-dialect bulk inserts: rows packed off the async path in the form their database takes
//! fastest (SQLite: bound values for `crate::bulk`; PostgreSQL: `COPY` text), then written
//! inside the caller's `NativeWriteTx`.

use super::super::formats::LineItem;
use crate::bulk::Value;
use crate::db::{Dialect, NativeWriteTx};
use std::fmt::Write as _;

/// `cost_line_items` columns in the order rows are packed (`batch_id` first).
pub(crate) const LINE_ITEM_COLUMNS: &[&str] = &[
    "batch_id",
    "row_number",
    "provider",
    "billing_account_id",
    "billing_account_name",
    "billing_period_start",
    "billing_period_end",
    "sub_account_id",
    "sub_account_name",
    "service_name",
    "service_category",
    "region_id",
    "resource_id",
    "charge_category",
    "charge_period_start",
    "charge_period_end",
    "usage_date",
    "billed_cost",
    "effective_cost",
    "list_cost",
    "currency",
    "tags",
    "extra",
];

/// Rows for one table, packed for one dialect. Every row gets the batch id.
pub(crate) enum Packed {
    /// SQLite: values row after row (without `batch_id`, which goes into the SQL as a literal).
    Values { width: usize, values: Vec<Value> },
    /// PostgreSQL: `COPY … FROM STDIN` text format, `batch_id` first on each line.
    Copy { rows: usize, text: Vec<u8> },
}

impl Packed {
    pub(crate) fn rows(&self) -> usize {
        match self {
            Packed::Values { width, values } => values.len() / width,
            Packed::Copy { rows, .. } => *rows,
        }
    }
}

/// Builds `Packed` rows value by value (`width` values per row, `batch_id` not counted).
pub(crate) struct Packer {
    batch_id: i64,
    width: usize,
    col: usize,
    rows: usize,
    out: Packed,
}

impl Packer {
    pub(crate) fn new(dialect: Dialect, batch_id: i64, width: usize, rows_hint: usize) -> Packer {
        let out = match dialect {
            Dialect::Sqlite => Packed::Values {
                width,
                values: Vec::with_capacity(rows_hint * width),
            },
            Dialect::Postgres => Packed::Copy {
                rows: 0,
                text: Vec::with_capacity(rows_hint * 512),
            },
        };
        Packer {
            batch_id,
            width,
            col: 0,
            rows: 0,
            out,
        }
    }

    /// Starts a value: the COPY line's batch id or separator.
    fn sep(&mut self) -> Option<&mut Vec<u8>> {
        let first = self.col == 0;
        self.col += 1;
        match &mut self.out {
            Packed::Values { .. } => None,
            Packed::Copy { text, .. } => {
                if first {
                    let _ = write!(Bytes(text), "{}", self.batch_id);
                }
                text.push(b'\t');
                Some(text)
            }
        }
    }

    fn end_value(&mut self) {
        if self.col == self.width {
            self.col = 0;
            self.rows += 1;
            if let Packed::Copy { text, .. } = &mut self.out {
                text.push(b'\n');
            }
        }
    }

    pub(crate) fn int(&mut self, v: i64) {
        match self.sep() {
            Some(text) => {
                let _ = write!(Bytes(text), "{v}");
            }
            None => {
                if let Packed::Values { values, .. } = &mut self.out {
                    values.push(Value::Int(v));
                }
            }
        }
        self.end_value();
    }

    pub(crate) fn text(&mut self, s: String) {
        match self.sep() {
            Some(text) => push_copy_text(text, &s),
            None => {
                if let Packed::Values { values, .. } = &mut self.out {
                    values.push(Value::Text(s));
                }
            }
        }
        self.end_value();
    }

    pub(crate) fn str(&mut self, s: &str) {
        match self.sep() {
            Some(text) => push_copy_text(text, s),
            None => {
                if let Packed::Values { values, .. } = &mut self.out {
                    values.push(Value::Text(s.to_string()));
                }
            }
        }
        self.end_value();
    }

    /// A value's display form (amounts), without an intermediate string for COPY.
    pub(crate) fn display(&mut self, v: impl std::fmt::Display) {
        match self.sep() {
            // Decimals and integers never hold COPY's special characters.
            Some(text) => {
                let _ = write!(Bytes(text), "{v}");
            }
            None => {
                if let Packed::Values { values, .. } = &mut self.out {
                    values.push(Value::Text(v.to_string()));
                }
            }
        }
        self.end_value();
    }

    pub(crate) fn finish(self) -> Packed {
        match self.out {
            Packed::Copy { text, .. } => Packed::Copy {
                rows: self.rows,
                text,
            },
            values => values,
        }
    }
}

/// `fmt::Write` into a byte buffer.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends `s` as a COPY text-format value: backslash, tab, newline and carriage return
/// escaped (nothing else is special; an empty string stays an empty string, not NULL).
fn push_copy_text(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    // Almost every value has none of them: two vectorised scans instead of a byte loop.
    if memchr::memchr3(b'\\', b'\t', b'\n', b).is_none() && memchr::memchr(b'\r', b).is_none() {
        out.extend_from_slice(b);
        return;
    }
    let mut plain = 0;
    for (i, c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&b[plain..i]);
        out.extend_from_slice(esc);
        plain = i + 1;
    }
    out.extend_from_slice(&b[plain..]);
}

/// Packs one line item in `LINE_ITEM_COLUMNS` order.
pub(crate) fn pack_line_item(p: &mut Packer, row: u64, it: LineItem) {
    p.int(row as i64);
    p.text(it.provider);
    p.text(it.billing_account_id);
    p.text(it.billing_account_name);
    p.text(it.billing_period_start);
    p.text(it.billing_period_end);
    p.text(it.sub_account_id);
    p.text(it.sub_account_name);
    p.text(it.service_name);
    p.text(it.service_category);
    p.text(it.region_id);
    p.text(it.resource_id);
    p.text(it.charge_category);
    p.text(it.charge_period_start);
    p.text(it.charge_period_end);
    p.text(it.usage_date);
    p.display(it.billed);
    p.display(it.effective);
    p.display(it.list);
    p.text(it.currency);
    p.text(tags_json(&it.tags));
    p.text(it.extra);
}

fn tags_json(tags: &std::collections::BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "{}".into();
    }
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

/// Inserts packed rows into `table`; `columns` starts with `batch_id`.
pub(crate) async fn insert_rows(
    w: &mut NativeWriteTx,
    table: &str,
    columns: &[&str],
    batch_id: i64,
    rows: Packed,
) -> Result<(), sqlx::Error> {
    if rows.rows() == 0 {
        return Ok(());
    }
    match (w, rows) {
        (NativeWriteTx::Any(w), Packed::Values { width, values }) => {
            let marks = vec!["?"; width].join(", ");
            let parked = crate::bulk::park(crate::bulk::Rows {
                // batch_id is our own integer: a literal, not a parameter.
                sql: format!(
                    "INSERT INTO {table} ({}) VALUES ({batch_id}, {marks})",
                    columns.join(", ")
                ),
                width,
                values,
            });
            sqlx::query(crate::bulk::RUN_SQL)
                .bind(parked.token())
                .execute(w.conn())
                .await?;
        }
        (NativeWriteTx::Postgres(w), Packed::Copy { text, .. }) => {
            // Inside the transaction: an error here (or a dropped future) leaves nothing.
            let mut copy = w
                .conn()
                .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
                .await?;
            copy.send(text).await?;
            copy.finish().await?;
        }
        _ => {
            return Err(sqlx::Error::Protocol(
                "rows packed for another database than the transaction's".into(),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_only_what_copy_reads_specially() {
        let mut out = Vec::new();
        push_copy_text(&mut out, "a\tb\\c\nd\re \"q\" é");
        assert_eq!(out, b"a\\tb\\\\c\\nd\\re \"q\" \xc3\xa9");
        let mut p = Packer::new(Dialect::Postgres, 7, 2, 1);
        p.int(1);
        p.str("x\ty");
        p.int(2);
        p.str("");
        match p.finish() {
            Packed::Copy { rows, text } => {
                assert_eq!(rows, 2);
                assert_eq!(text, b"7\t1\tx\\ty\n7\t2\t\n");
            }
            Packed::Values { .. } => panic!("postgres packs COPY text"),
        }
    }
}
