//! Framework import: the parsed shape every format reads into (`ParsedFramework`), and OSCAL
//! catalogs (including resolved profile catalogs), parsed fully before anything is written.
//! Profiles are `profile.rs`, libraries `library.rs`, CSV `framework_csv.rs`; `intake.rs`
//! tells them apart.

use crate::error::AppError;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A framework as read from a source file, before it touches the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFramework {
    pub key: String,
    pub name: String,
    pub version: String,
    pub description: String,
    /// `oscal`, `csv`, `ciso-yaml` or `oscal-profile` (`frameworks.source_format`).
    pub format: &'static str,
    /// The language the text is in ("" when the source does not say).
    pub locale: String,
    /// Every language the source offers, its default first (empty when it offers one).
    pub locales: Vec<String>,
    /// Where the source is published (a library's home), for the framework's page.
    pub source_url: String,
    pub requirements: Vec<ParsedRequirement>,
    /// What the import skipped or could not apply, for the person importing.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedRequirement {
    /// Unique within the framework, stable across versions (OSCAL id, CSV id, library node).
    pub r#ref: String,
    pub label: String,
    pub parent_ref: Option<String>,
    pub group_ref: String,
    pub group_title: String,
    pub title: String,
    pub statement: String,
    /// The node's URN when the source names one (CISO Assistant libraries).
    pub urn: Option<String>,
    /// 1 for a top-level node.
    pub depth: i64,
    /// Counts towards coverage; headings that only group others do not.
    pub assessable: bool,
    /// Reference controls the source lists with the requirement (their ids).
    pub reference_controls: Vec<String>,
}

/// The built-in frameworks shipped inside the binary.
pub const BUILTIN: &[(&str, &str, &[u8])] = &[(
    "nist-800-53r5-low",
    "NIST SP 800-53 rev5 LOW baseline (OSCAL, public domain)",
    include_bytes!("../../frameworks/nist-800-53r5-low-baseline.json"),
)];

/// Lower-case words joined by dashes: a framework key from a name.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Reads OSCAL catalog bytes (a UTF-8 BOM allowed). Other formats are told apart in `intake`.
pub fn parse_oscal_bytes(
    bytes: &[u8],
    file_name: &str,
    name: Option<&str>,
) -> Result<ParsedFramework, AppError> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| AppError::invalid(format!("{file_name}: not UTF-8 text ({e})")))?;
    parse_oscal(text, name)
}

/// Reads an OSCAL catalog: groups are families, controls and their nested enhancements become
/// requirements, statements are flattened with parameters shown as `[Assignment: …]`.
pub fn parse_oscal(text: &str, name_override: Option<&str>) -> Result<ParsedFramework, AppError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| AppError::invalid(format!("The file is not valid JSON: {e}")))?;
    parse_oscal_value(&doc, name_override)
}

/// `parse_oscal` on a document already parsed (a profile resolves to a catalog in memory).
pub fn parse_oscal_value(
    doc: &Value,
    name_override: Option<&str>,
) -> Result<ParsedFramework, AppError> {
    let catalog = doc.get("catalog").ok_or_else(|| {
        AppError::invalid(
            "Not an OSCAL catalog or profile: no top-level \"catalog\" or \"profile\" object.",
        )
    })?;
    let meta = catalog
        .get("metadata")
        .ok_or_else(|| AppError::invalid("OSCAL catalog without \"metadata\""))?;
    let title = str_of(meta, "title")
        .ok_or_else(|| AppError::invalid("OSCAL metadata has no \"title\""))?;
    let version = str_of(meta, "version").unwrap_or("unversioned").to_string();
    let name = name_override
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(title)
        .to_string();
    // The key must survive a new version, whose title usually names the new revision.
    let base_version = version.split('+').next().unwrap_or("").trim();
    let keyed = if base_version.is_empty() {
        name.clone()
    } else {
        name.replace(base_version, "")
    };
    let mut out = ParsedFramework {
        key: slug(&keyed),
        name,
        version,
        description: meta
            .get("remarks")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        format: "oscal",
        ..Default::default()
    };
    let mut budget = Budget::new();
    for group in array(catalog, "groups") {
        walk_group(group, None, &mut budget, &mut out.requirements)?;
    }
    // Controls directly under the catalog belong to no group.
    for c in array(catalog, "controls") {
        walk_control(c, None, ("", ""), &mut budget, &mut out.requirements)?;
    }
    if out.requirements.is_empty() {
        return Err(AppError::invalid("The OSCAL catalog contains no controls."));
    }
    check_unique(&out.requirements)?;
    Ok(out)
}

fn walk_group(
    group: &Value,
    parent: Option<(&str, &str)>,
    budget: &mut Budget,
    out: &mut Vec<ParsedRequirement>,
) -> Result<(), AppError> {
    let id = str_of(group, "id").unwrap_or("");
    let title = str_of(group, "title").unwrap_or(id);
    // Nested groups keep the outermost family as the group.
    let g = parent.unwrap_or((id, title));
    for c in array(group, "controls") {
        walk_control(c, None, g, budget, out)?;
    }
    for sub in array(group, "groups") {
        walk_group(sub, Some(g), budget, out)?;
    }
    Ok(())
}

fn walk_control(
    c: &Value,
    parent: Option<&str>,
    group: (&str, &str),
    budget: &mut Budget,
    out: &mut Vec<ParsedRequirement>,
) -> Result<(), AppError> {
    let id = str_of(c, "id").ok_or_else(|| {
        AppError::invalid(format!("An OSCAL control in group '{}' has no id", group.0))
    })?;
    let title = str_of(c, "title")
        .ok_or_else(|| AppError::invalid(format!("OSCAL control '{id}' has no title")))?;
    // The plain label ("AC-2(1)") when present; the zero-padded and assessment variants carry
    // a class.
    let label = array(c, "props")
        .iter()
        .find(|p| str_of(p, "name") == Some("label") && p.get("class").is_none())
        .and_then(|p| str_of(p, "value"))
        .unwrap_or(id);
    let withdrawn = array(c, "props")
        .iter()
        .any(|p| str_of(p, "name") == Some("status") && str_of(p, "value") == Some("withdrawn"));
    let params = params_of(c, budget).map_err(|(param, limit)| too_large(id, &param, limit))?;
    let mut statement = String::new();
    budget.scope(Limit::Statement);
    for part in array(c, "parts") {
        if str_of(part, "name") == Some("statement") {
            flatten(part, &params, 0, budget, &mut statement)
                .map_err(|(param, limit)| too_large(id, &param, limit))?;
        }
    }
    out.push(ParsedRequirement {
        r#ref: id.to_string(),
        label: label.to_string(),
        parent_ref: parent.map(str::to_string),
        group_ref: group.0.to_string(),
        group_title: group.1.to_string(),
        title: if withdrawn {
            format!("{title} (withdrawn)")
        } else {
            title.to_string()
        },
        statement: statement.trim_end().to_string(),
        depth: 1 + i64::from(parent.is_some()),
        assessable: true,
        ..Default::default()
    });
    for sub in array(c, "controls") {
        walk_control(sub, Some(id), group, budget, out)?;
    }
    Ok(())
}

/// Bounds on the text that parameter substitution writes. Parameters may insert parameters
/// (four levels deep), so a selection whose choices insert another parameter many times
/// multiplies at each level: a 15 KB file could expand to gigabytes. Real catalogs stay far
/// below these (the NIST baseline's longest parameter reads in well under 1 KiB).
const PARAM_LIMIT: usize = 64 * 1024;
/// Parameter text inserted into one control's statement.
const STATEMENT_LIMIT: usize = 1024 * 1024;
/// All expanded text of one file, parameters and insertions together.
const FILE_LIMIT: usize = 64 * 1024 * 1024;

/// Which bound an expansion ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Parameter,
    Statement,
    File,
}

/// What is left of the current scope's bound (one parameter or one statement) and of the file's.
/// Every piece of text is charged as it is written, at each level of nesting, so an expansion
/// stops once the bound is reached rather than after it has been built.
struct Budget {
    scope: Limit,
    left: usize,
    file_left: usize,
}

/// A bound was reached while writing the named parameter.
type Exceeded = (String, Limit);

impl Budget {
    fn new() -> Budget {
        Budget {
            scope: Limit::Parameter,
            left: PARAM_LIMIT,
            file_left: FILE_LIMIT,
        }
    }

    fn scope(&mut self, scope: Limit) {
        self.scope = scope;
        self.left = match scope {
            Limit::Parameter => PARAM_LIMIT,
            Limit::Statement => STATEMENT_LIMIT,
            Limit::File => FILE_LIMIT,
        };
    }

    fn spend(&mut self, bytes: usize) -> Result<(), Limit> {
        if bytes > self.file_left {
            return Err(Limit::File);
        }
        if bytes > self.left {
            return Err(self.scope);
        }
        self.left -= bytes;
        self.file_left -= bytes;
        Ok(())
    }
}

fn too_large(control: &str, param: &str, limit: Limit) -> AppError {
    let what = match limit {
        Limit::Parameter => "expanding it, with the parameters it inserts, writes more than 64 KiB",
        Limit::Statement => "inserting it takes the parameter text of the statement past 1 MiB",
        Limit::File => "it takes the parameter text expanded for the whole file past 64 MiB",
    };
    AppError::invalid(format!(
        "OSCAL control '{control}', parameter '{param}': {what} (parameters that insert other \
         parameters many times); the file is refused."
    ))
}

/// Parameter id → how it reads inside a statement. Computed in file order, so the parameter
/// named when a bound is reached is always the same.
fn params_of(c: &Value, budget: &mut Budget) -> Result<HashMap<String, String>, Exceeded> {
    let mut raw: HashMap<String, &Value> = HashMap::new();
    for p in array(c, "params") {
        if let Some(id) = str_of(p, "id") {
            raw.insert(id.to_string(), p);
        }
    }
    let mut out = HashMap::with_capacity(raw.len());
    for id in array(c, "params").iter().filter_map(|p| str_of(p, "id")) {
        if out.contains_key(id) {
            continue;
        }
        budget.scope(Limit::Parameter);
        if let Some(p) = raw.get(id) {
            let text = param_text(p, &raw, 0, budget).map_err(|limit| (id.to_string(), limit))?;
            out.insert(id.to_string(), text);
        }
    }
    Ok(out)
}

fn param_text(
    p: &Value,
    all: &HashMap<String, &Value>,
    depth: usize,
    budget: &mut Budget,
) -> Result<String, Limit> {
    // A profile's set-parameters leave `values` (what the organisation chose: shown as is)
    // or `constraints` (what the choice must satisfy: shown with the label).
    let values = plain_strings(array(p, "values"), "", budget)?;
    let text = if !values.is_empty() {
        values.join(", ")
    } else if let Some(sel) = p.get("select") {
        let how = match str_of(sel, "how-many") {
            Some("one-or-more") => "Selection (one or more)",
            _ => "Selection",
        };
        let mut choices = Vec::new();
        for s in array(sel, "choice").iter().filter_map(Value::as_str) {
            let choice = substitute(s, &mut |id| resolve(id, all, depth + 1, budget))?;
            // Charged again here: joining copies it.
            budget.spend(choice.len())?;
            choices.push(choice);
        }
        format!("[{how}: {}]", choices.join("; "))
    } else {
        let label = str_of(p, "label")
            .or_else(|| str_of(p, "id"))
            .unwrap_or("parameter");
        let constraints = plain_strings(array(p, "constraints"), "description", budget)?;
        if constraints.is_empty() {
            format!("[Assignment: {label}]")
        } else {
            format!("[Assignment: {label}; {}]", constraints.join("; "))
        }
    };
    budget.spend(text.len())?;
    Ok(text)
}

/// The non-blank strings of `items` (or of each item's `key` when `key` is not empty), each
/// charged as it is copied, like a selection's choices.
fn plain_strings<'a>(
    items: &'a [Value],
    key: &str,
    budget: &mut Budget,
) -> Result<Vec<&'a str>, Limit> {
    let mut out = Vec::new();
    for item in items {
        let text = if key.is_empty() {
            item.as_str()
        } else {
            str_of(item, key)
        };
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            budget.spend(t.len())?;
            out.push(t);
        }
    }
    Ok(out)
}

fn resolve(
    id: &str,
    all: &HashMap<String, &Value>,
    depth: usize,
    budget: &mut Budget,
) -> Result<String, Limit> {
    match all.get(id) {
        Some(p) if depth < 4 => param_text(p, all, depth, budget),
        _ => {
            let text = format!("[Assignment: {id}]");
            budget.spend(text.len())?;
            Ok(text)
        }
    }
}

/// Replaces `{{ insert: param, id }}` with the parameter's reading; stops at the first error
/// `lookup` returns.
fn substitute<E>(
    prose: &str,
    lookup: &mut dyn FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(prose.len());
    let mut rest = prose;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let inner = after[..end].trim();
                match inner
                    .strip_prefix("insert:")
                    .map(|s| s.split(',').map(str::trim).collect::<Vec<_>>())
                {
                    Some(bits) if bits.len() == 2 && bits[0] == "param" => {
                        out.push_str(&lookup(bits[1])?)
                    }
                    _ => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Writes a statement part and its sub-parts; the parameter text it inserts is charged to the
/// statement's bound.
fn flatten(
    part: &Value,
    params: &HashMap<String, String>,
    depth: usize,
    budget: &mut Budget,
    out: &mut String,
) -> Result<(), Exceeded> {
    let label = array(part, "props")
        .iter()
        .find(|p| str_of(p, "name") == Some("label"))
        .and_then(|p| str_of(p, "value"));
    if let Some(prose) = str_of(part, "prose") {
        out.push_str(&"  ".repeat(depth.saturating_sub(1)));
        if let Some(l) = label {
            out.push_str(l);
            out.push(' ');
        }
        out.push_str(&substitute(prose, &mut |id| {
            let text = params
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("[Assignment: {id}]"));
            budget
                .spend(text.len())
                .map(|()| text)
                .map_err(|limit| (id.to_string(), limit))
        })?);
        out.push('\n');
    }
    for sub in array(part, "parts") {
        flatten(sub, params, depth + 1, budget, out)?;
    }
    Ok(())
}

pub(super) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(super) fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn check_unique(reqs: &[ParsedRequirement]) -> Result<(), AppError> {
    let mut seen = HashSet::new();
    for r in reqs {
        if !seen.insert(r.r#ref.to_ascii_lowercase()) {
            return Err(AppError::invalid(format!(
                "Requirement id '{}' appears more than once.",
                r.r#ref
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
