//! Framework import: OSCAL catalogs (including resolved profile catalogs) and custom CSV, both
//! parsed fully before anything is written, then applied in one audited transaction.

use crate::error::AppError;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A framework as read from a source file, before it touches the database.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFramework {
    pub key: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub format: &'static str,
    pub requirements: Vec<ParsedRequirement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRequirement {
    pub r#ref: String,
    pub label: String,
    pub parent_ref: Option<String>,
    pub group_ref: String,
    pub group_title: String,
    pub title: String,
    pub statement: String,
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

/// Detects the format by content: a JSON object with `catalog` is OSCAL, anything else CSV.
pub fn parse_any(
    bytes: &[u8],
    file_name: &str,
    name: Option<&str>,
    version: Option<&str>,
) -> Result<ParsedFramework, AppError> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| AppError::invalid(format!("{file_name}: not UTF-8 text ({e})")))?;
    if text.trim_start().starts_with('{') {
        parse_oscal(text, name)
    } else {
        let stem = std::path::Path::new(file_name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("Custom framework");
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(stem);
        parse_csv(text, name, version.unwrap_or("1"))
    }
}

/// Reads an OSCAL catalog: groups are families, controls and their nested enhancements become
/// requirements, statements are flattened with parameters shown as `[Assignment: …]`.
pub fn parse_oscal(text: &str, name_override: Option<&str>) -> Result<ParsedFramework, AppError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| AppError::invalid(format!("The file is not valid JSON: {e}")))?;
    let catalog = doc
        .get("catalog")
        .ok_or_else(|| AppError::invalid("Not an OSCAL catalog: no top-level \"catalog\" object. Profiles must be resolved to a catalog first."))?;
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
        requirements: Vec::new(),
    };
    for group in array(catalog, "groups") {
        walk_group(group, None, &mut out.requirements)?;
    }
    // Controls directly under the catalog belong to no group.
    for c in array(catalog, "controls") {
        walk_control(c, None, ("", ""), &mut out.requirements)?;
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
    out: &mut Vec<ParsedRequirement>,
) -> Result<(), AppError> {
    let id = str_of(group, "id").unwrap_or("");
    let title = str_of(group, "title").unwrap_or(id);
    // Nested groups keep the outermost family as the group.
    let g = parent.unwrap_or((id, title));
    for c in array(group, "controls") {
        walk_control(c, None, g, out)?;
    }
    for sub in array(group, "groups") {
        walk_group(sub, Some(g), out)?;
    }
    Ok(())
}

fn walk_control(
    c: &Value,
    parent: Option<&str>,
    group: (&str, &str),
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
    let params = params_of(c);
    let mut statement = String::new();
    for part in array(c, "parts") {
        if str_of(part, "name") == Some("statement") {
            flatten(part, &params, 0, &mut statement);
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
    });
    for sub in array(c, "controls") {
        walk_control(sub, Some(id), group, out)?;
    }
    Ok(())
}

/// Parameter id → how it reads inside a statement.
fn params_of(c: &Value) -> HashMap<String, String> {
    let mut raw: HashMap<String, &Value> = HashMap::new();
    for p in array(c, "params") {
        if let Some(id) = str_of(p, "id") {
            raw.insert(id.to_string(), p);
        }
    }
    raw.iter()
        .map(|(id, p)| (id.clone(), param_text(p, &raw, 0)))
        .collect()
}

fn param_text(p: &Value, all: &HashMap<String, &Value>, depth: usize) -> String {
    if let Some(sel) = p.get("select") {
        let how = match str_of(sel, "how-many") {
            Some("one-or-more") => "Selection (one or more)",
            _ => "Selection",
        };
        let choices: Vec<String> = array(sel, "choice")
            .iter()
            .filter_map(Value::as_str)
            .map(|s| substitute(s, &|id| resolve(id, all, depth + 1)))
            .collect();
        format!("[{how}: {}]", choices.join("; "))
    } else if let Some(label) = str_of(p, "label") {
        format!("[Assignment: {label}]")
    } else {
        format!("[Assignment: {}]", str_of(p, "id").unwrap_or("parameter"))
    }
}

fn resolve(id: &str, all: &HashMap<String, &Value>, depth: usize) -> String {
    match all.get(id) {
        Some(p) if depth < 4 => param_text(p, all, depth),
        _ => format!("[Assignment: {id}]"),
    }
}

/// Replaces `{{ insert: param, id }}` with the parameter's reading.
fn substitute(prose: &str, lookup: &dyn Fn(&str) -> String) -> String {
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
                        out.push_str(&lookup(bits[1]))
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
    out
}

fn flatten(part: &Value, params: &HashMap<String, String>, depth: usize, out: &mut String) {
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
        out.push_str(&substitute(prose, &|id| {
            params
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("[Assignment: {id}]"))
        }));
        out.push('\n');
    }
    for sub in array(part, "parts") {
        flatten(sub, params, depth + 1, out);
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
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

/// Reads a custom framework CSV with the columns `id, title, description, group` (header
/// required, any order, case-insensitive). Every bad row is reported, by line number.
pub fn parse_csv(text: &str, name: &str, version: &str) -> Result<ParsedFramework, AppError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| AppError::invalid(format!("The CSV header could not be read: {e}")))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (Some(ci), Some(ct)) = (col("id"), col("title")) else {
        return Err(AppError::invalid(format!(
            "The CSV header must name the columns id, title, description, group (found: {}).",
            headers.iter().collect::<Vec<_>>().join(", ")
        )));
    };
    let (cd, cg) = (col("description"), col("group"));
    let mut errors = Vec::new();
    let mut reqs = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let id = rec.get(ci).unwrap_or("");
        let title = rec.get(ct).unwrap_or("");
        if id.is_empty() {
            errors.push(format!("line {line}, column id: empty"));
            continue;
        }
        if id.len() > 100 || id.chars().any(char::is_control) {
            errors.push(format!(
                "line {line}, column id: must be at most 100 printable characters"
            ));
            continue;
        }
        if title.is_empty() {
            errors.push(format!("line {line}, column title: empty (id '{id}')"));
            continue;
        }
        if let Some(first) = seen.insert(id.to_ascii_lowercase(), line) {
            errors.push(format!(
                "line {line}, column id: '{id}' already used on line {first}"
            ));
            continue;
        }
        let group = cg.and_then(|c| rec.get(c)).unwrap_or("").to_string();
        reqs.push(ParsedRequirement {
            r#ref: id.to_string(),
            label: id.to_string(),
            parent_ref: None,
            group_ref: slug(&group),
            group_title: group,
            title: title.to_string(),
            statement: cd.and_then(|c| rec.get(c)).unwrap_or("").to_string(),
        });
    }
    if !errors.is_empty() {
        let more = errors.len().saturating_sub(20);
        let mut msg = format!(
            "The CSV has {} bad row(s); nothing was imported. {}",
            errors.len(),
            errors
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
        if more > 0 {
            msg.push_str(&format!("; and {more} more"));
        }
        return Err(AppError::invalid(msg));
    }
    if reqs.is_empty() {
        return Err(AppError::invalid("The CSV has a header but no rows."));
    }
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("The framework needs a name."));
    }
    Ok(ParsedFramework {
        key: slug(name),
        name: name.to_string(),
        version: version.trim().to_string(),
        description: String::new(),
        format: "csv",
        requirements: reqs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_a_new_version() {
        let a = r#"{"catalog":{"metadata":{"title":"Spec Revision 5.1.1 LOW","version":"5.1.1+u4"},
            "groups":[{"id":"ac","title":"Access","controls":[{"id":"ac-1","title":"Policy",
            "props":[{"name":"label","value":"AC-1"}],
            "params":[{"id":"p1","label":"frequency"},{"id":"p2","select":{"how-many":"one-or-more","choice":["x","{{ insert: param, p1 }}"]}}],
            "parts":[{"name":"statement","prose":"Review {{ insert: param, p1 }} by {{ insert: param, p2 }}."}],
            "controls":[{"id":"ac-1.1","title":"Enh","props":[{"name":"label","value":"AC-1(1)"}]}]}]}]}}"#;
        let b = a.replace("5.1.1", "5.2.0");
        let (pa, pb) = (
            parse_oscal(a, None).unwrap(),
            parse_oscal(&b, None).unwrap(),
        );
        assert_eq!(pa.key, pb.key);
        assert_ne!(pa.version, pb.version);
        assert_eq!(pa.requirements.len(), 2);
        assert_eq!(pa.requirements[1].parent_ref.as_deref(), Some("ac-1"));
        assert_eq!(pa.requirements[1].label, "AC-1(1)");
        assert_eq!(
            pa.requirements[0].statement,
            "Review [Assignment: frequency] by [Selection (one or more): x; [Assignment: frequency]]."
        );
    }

    #[test]
    fn csv_errors_name_every_bad_line() {
        let err = parse_csv(
            "id,title,description,group\nA-1,One,,G\n,Two,,G\nA-1,Three,,G\nA-4,,,G\n",
            "Custom",
            "1",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("3 bad row(s)"), "{err}");
        assert!(err.contains("line 3, column id: empty"), "{err}");
        assert!(
            err.contains("line 4, column id: 'A-1' already used on line 2"),
            "{err}"
        );
        assert!(err.contains("line 5, column title: empty"), "{err}");
    }

    #[test]
    fn csv_needs_its_columns() {
        let err = parse_csv("name,text\nx,y\n", "C", "1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("id, title, description, group"), "{err}");
    }
}
