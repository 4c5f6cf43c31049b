//! Crosswalks: links between two frameworks' requirements, as read from a CISO Assistant
//! mapping set (`library.rs`) or from Steward's own CSV (`source_framework, source_id,
//! target_framework, target_id, relationship`). Pure types and parsing; no database.

use crate::error::AppError;
use crate::tabular::read::{self, Limits};
use crate::tabular::RowError;
use std::collections::HashMap;

/// What the source requirement is to the target (NIST OLIR words: a subset covers part of
/// the target; a superset covers all of it and more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relationship {
    Equal,
    Subset,
    Superset,
    Intersect,
    NotRelated,
}

impl Relationship {
    pub const ALL: [Relationship; 5] = [
        Relationship::Equal,
        Relationship::Subset,
        Relationship::Superset,
        Relationship::Intersect,
        Relationship::NotRelated,
    ];
    /// The stored words, for messages.
    pub const NAMES: &'static str = "equal, subset, superset, intersect, not_related";

    /// As stored (`requirement_links.relationship`).
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Equal => "equal",
            Relationship::Subset => "subset",
            Relationship::Superset => "superset",
            Relationship::Intersect => "intersect",
            Relationship::NotRelated => "not_related",
        }
    }

    /// Case-insensitive; "not related" and "not-related" too.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The same link read from the target's side.
    pub fn inverse(self) -> Self {
        match self {
            Relationship::Subset => Relationship::Superset,
            Relationship::Superset => Relationship::Subset,
            r => r,
        }
    }

    /// How a sentence reads it: "A is <label> B".
    pub fn label(self) -> &'static str {
        match self {
            Relationship::Equal => "equal",
            Relationship::Subset => "subset of",
            Relationship::Superset => "superset of",
            Relationship::Intersect => "intersects",
            Relationship::NotRelated => "not related",
        }
    }
}

/// One crosswalk between two frameworks, before it touches the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedMappingSet {
    /// The set's URN, or `csv:<source_framework>:<target_framework>`.
    pub key: String,
    pub name: String,
    /// Steward framework keys, e.g. `ca:alpha-baseline`.
    pub source_framework: String,
    pub target_framework: String,
    pub links: Vec<ParsedLink>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLink {
    /// The CSV line, or the 1-based index in the YAML set.
    pub line: u64,
    /// A requirement ref (YAML: the URN tail, as for nodes) or, for CSV, ref or label as written.
    pub source: String,
    pub target: String,
    pub relationship: Relationship,
    pub rationale: String,
    pub strength: Option<i64>,
    pub annotation: String,
}

const MAX_CELL_CHARS: usize = 1_000;

const LIMITS: Limits = Limits {
    max_bytes: 8 * 1024 * 1024,
    max_rows: 200_000,
    max_columns: 64,
    file: "crosswalk file",
    rows: "links",
    row: "link",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    SourceFramework,
    SourceId,
    TargetFramework,
    TargetId,
    Relationship,
    Rationale,
    Strength,
    Annotation,
}

const REQUIRED: [(&str, Col); 5] = [
    ("source_framework", Col::SourceFramework),
    ("source_id", Col::SourceId),
    ("target_framework", Col::TargetFramework),
    ("target_id", Col::TargetId),
    ("relationship", Col::Relationship),
];

const OPTIONAL: [(&str, Col); 4] = [
    ("rationale", Col::Rationale),
    ("strength", Col::Strength),
    ("strength_of_relationship", Col::Strength),
    ("annotation", Col::Annotation),
];

/// A header as compared: lower case, spaces and dashes read as `_`, quotes dropped.
fn norm(h: &str) -> String {
    h.trim()
        .trim_matches('"')
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_")
}

/// Whether a CSV header row is a crosswalk (names source_framework, source_id,
/// target_framework, target_id, relationship in any order/case; BOM and `;`/`,`/tab allowed).
pub fn is_crosswalk_csv(bytes: &[u8]) -> bool {
    // The header is near the start; a long first line is not a crosswalk's.
    let head = &bytes[..bytes.len().min(16 * 1024)];
    let (text, _) = read::decode(head);
    let line = text.lines().next().unwrap_or("");
    let d = char::from(read::delimiter(line));
    let cols: Vec<String> = line.split(d).map(norm).collect();
    REQUIRED
        .iter()
        .all(|(name, _)| cols.iter().any(|c| c == name))
}

/// Reads the crosswalk CSV: rows grouped into one set per (source_framework,
/// target_framework), in file order. Every bad row is reported by line and field; nothing is
/// returned when any row is bad. Bounds: 8 MiB, 200,000 rows, cells of 1,000 characters.
pub fn parse_crosswalk_csv(
    bytes: &[u8],
    file_name: &str,
) -> Result<Vec<ParsedMappingSet>, AppError> {
    let table = read::read(bytes, &LIMITS).map_err(|e| match e {
        AppError::TooLarge(m) => AppError::TooLarge(format!("{file_name}: {m}")),
        e => AppError::invalid(format!("{file_name}: {e}")),
    })?;
    let header = table.rows.first().map(Vec::as_slice).unwrap_or_default();
    let mut cols: Vec<(Col, usize)> = Vec::new();
    for (name, col) in REQUIRED.iter().chain(OPTIONAL.iter()) {
        if cols.iter().any(|(c, _)| c == col) {
            continue;
        }
        if let Some(i) = header.iter().position(|h| norm(h) == *name) {
            cols.push((*col, i));
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|(_, col)| !cols.iter().any(|(c, _)| c == col))
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(format!(
            "{file_name}: the header must name the columns source_framework, source_id, \
             target_framework, target_id, relationship (missing: {}; found: {}).",
            missing.join(", "),
            header.join(", ")
        )));
    }

    let mut errors: Vec<RowError> = Vec::new();
    let mut sets: Vec<ParsedMappingSet> = Vec::new();
    let mut by_pair: HashMap<(String, String), usize> = HashMap::new();
    let mut seen: HashMap<(usize, String, String), u64> = HashMap::new();
    for (row, &line) in table.rows.iter().zip(&table.numbers).skip(1) {
        match link_of(row, line, &cols) {
            Ok((source_fw, target_fw, link)) => {
                let n = sets.len();
                let set = *by_pair
                    .entry((source_fw.clone(), target_fw.clone()))
                    .or_insert(n);
                if set == n {
                    sets.push(ParsedMappingSet {
                        key: format!("csv:{source_fw}:{target_fw}"),
                        name: format!("{source_fw} -> {target_fw}"),
                        source_framework: source_fw,
                        target_framework: target_fw,
                        links: Vec::new(),
                    });
                }
                let pair = (set, link.source.to_lowercase(), link.target.to_lowercase());
                if let Some(first) = seen.get(&pair) {
                    errors.push(RowError::new(
                        line,
                        "target_id",
                        format!("the same link as line {first}"),
                    ));
                    continue;
                }
                seen.insert(pair, line);
                if let Some(s) = sets.get_mut(set) {
                    s.links.push(link);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        let shown: Vec<String> = errors.iter().take(20).map(ToString::to_string).collect();
        let mut msg = format!(
            "{file_name}: {} bad row(s); nothing was imported. {}",
            errors.len(),
            shown.join("; ")
        );
        if errors.len() > 20 {
            msg.push_str(&format!("; and {} more", errors.len() - 20));
        }
        return Err(AppError::invalid(msg));
    }
    Ok(sets)
}

/// One row: its framework pair and link, or every problem it has.
fn link_of(
    row: &[String],
    line: u64,
    cols: &[(Col, usize)],
) -> Result<(String, String, ParsedLink), Vec<RowError>> {
    let mut errors = Vec::new();
    let name = |col: Col| {
        REQUIRED
            .iter()
            .chain(OPTIONAL.iter())
            .find(|(_, c)| *c == col)
            .map_or("", |(n, _)| *n)
    };
    let mut cell = |col: Col, required: bool| -> String {
        let Some(&(_, i)) = cols.iter().find(|(c, _)| *c == col) else {
            return String::new();
        };
        let v = row.get(i).map(String::as_str).unwrap_or("").trim();
        if v.chars().count() > MAX_CELL_CHARS {
            errors.push(RowError::new(
                line,
                name(col),
                format!("longer than {MAX_CELL_CHARS} characters"),
            ));
            String::new()
        } else if required && v.is_empty() {
            errors.push(RowError::new(line, name(col), "empty"));
            String::new()
        } else {
            v.to_string()
        }
    };
    let source_fw = cell(Col::SourceFramework, true).to_lowercase();
    let source = cell(Col::SourceId, true);
    let target_fw = cell(Col::TargetFramework, true).to_lowercase();
    let target = cell(Col::TargetId, true);
    let relationship = cell(Col::Relationship, true);
    let rationale = cell(Col::Rationale, false);
    let strength = cell(Col::Strength, false);
    let annotation = cell(Col::Annotation, false);
    let relationship = match Relationship::parse(&relationship) {
        Some(r) => Some(r),
        None if relationship.is_empty() => None,
        None => {
            errors.push(RowError::new(
                line,
                "relationship",
                format!("'{relationship}' is not one of {}", Relationship::NAMES),
            ));
            None
        }
    };
    let strength = if strength.is_empty() {
        None
    } else {
        match strength.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(RowError::new(
                    line,
                    "strength",
                    format!("'{strength}' is not a whole number"),
                ));
                None
            }
        }
    };
    match relationship {
        Some(relationship) if errors.is_empty() => Ok((
            source_fw,
            target_fw,
            ParsedLink {
                line,
                source,
                target,
                relationship,
                rationale,
                strength,
                annotation,
            },
        )),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests;
