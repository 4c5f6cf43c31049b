//! Tabular files people bring (spreadsheet exports of accounts, vendors, …) read through a
//! column mapping: the text's encoding and delimiter detected, rows bounded (`read.rs`), a
//! mapping guessed from the headers in several languages, the file kept in the spool while the
//! person chooses the mapping (`pending.rs`), and the mapping step's preview and fields
//! (shared by the areas' mapping pages). Plumbing: it knows no area.

#[cfg(feature = "ssr")]
pub mod pending;
#[cfg(feature = "ssr")]
pub mod read;
#[cfg(feature = "ssr")]
pub mod remember;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What is wrong with a file, and where: the line (1 is the header) and the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Line {line}, {field}: {why}")]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub why: String,
}

impl RowError {
    pub fn new(line: u64, field: impl Into<String>, why: impl Into<String>) -> RowError {
        RowError {
            line,
            field: field.into(),
            why: why.into(),
        }
    }
}

/// A file waiting for its column mapping, as the mapping step shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub token: String,
    pub file_name: String,
    pub encoding: String,
    pub delimiter: String,
    pub headers: Vec<String>,
    /// The first rows, as read.
    pub preview: Vec<Vec<String>>,
    pub rows: i64,
    /// (field, label, the header mapped now: saved or guessed).
    pub mapping: Vec<(String, String, Option<String>)>,
}

/// The first rows as a table, for the mapping step.
pub fn preview_table(p: &Preview) -> impl IntoView {
    view! {
        <table class="data" id="preview">
            <thead><tr>{p.headers.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view()}</tr></thead>
            <tbody>{p.preview.iter().map(|r| view! { <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr> }).collect_view()}</tbody>
        </table>
    }
}

/// One choice of column per field (`map[field]`), inside the mapping step's form.
pub fn mapping_fields(p: &Preview) -> impl IntoView {
    p.mapping
        .iter()
        .map(|(field, label, chosen)| {
            let chosen = chosen.clone().unwrap_or_default();
            view! {
                <label>{label.clone()}
                    <select name=format!("map[{field}]") id=format!("map-{field}")>
                        <option value="">"— not in this file —"</option>
                        {p.headers.iter().map(|h| view! { <option value=h.clone() selected=*h == chosen>{h.clone()}</option> }).collect_view()}
                    </select>
                </label>
            }
        })
        .collect_view()
}
