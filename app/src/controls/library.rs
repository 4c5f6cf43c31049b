//! CISO Assistant libraries (YAML): frameworks and requirement mapping sets, read fully and
//! checked before anything is written (no database here). The format is described in
//! docs and in the issue 15 notes: a library has `urn`, `locale`, `version` and `objects`,
//! which holds a `framework` (its `requirement_nodes` a flat list linked by `parent_urn`)
//! and/or `requirement_mapping_sets`. Other object kinds are named in `ignored`.

mod yaml;

use crate::controls::crosswalk::{ParsedLink, ParsedMappingSet, Relationship};
use crate::controls::import::ParsedFramework;
use crate::error::AppError;
use std::collections::HashSet;
use yaml::{Node, Value};

/// A library as read, before it touches the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedLibrary {
    pub urn: String,
    pub name: String,
    pub version: String,
    pub locale: String,
    pub frameworks: Vec<ParsedFramework>,
    pub mapping_sets: Vec<ParsedMappingSet>,
    /// Object kinds present but not imported (risk_matrix, threats, …), for a note.
    pub ignored: Vec<String>,
}

/// Larger files are refused before parsing (the largest real library is 3.4 MB).
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Requirement nodes in one library (the largest real framework has a few thousand).
pub const MAX_REQUIREMENTS: usize = 20_000;
/// Real libraries nest 7 levels at most.
pub const MAX_NODE_DEPTH: i64 = 16;
/// Problems reported together; past this, counted.
const MAX_ERRORS: usize = 20;

/// Where CISO Assistant publishes its own libraries (a link; never fetched).
const INTUITEM_SOURCE: &str =
    "https://github.com/intuitem/ciso-assistant-community/tree/main/backend/library/libraries";

/// Whether the bytes look like a CISO Assistant library (YAML with top-level `urn:` and
/// `objects:`); cheap, never panics.
pub fn is_library(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.first() == Some(&b'{') {
        return false;
    }
    let (mut urn, mut objects) = (false, false);
    for line in bytes.split(|&b| b == b'\n') {
        urn |= line.starts_with(b"urn:");
        objects |= line.starts_with(b"objects:");
        if urn && objects {
            return true;
        }
    }
    false
}

/// Reads a library. `locale`: the language wanted (e.g. "fr"); None or a language the library
/// lacks → its default `locale` (each framework's `warnings` then says so).
pub fn parse_library(
    bytes: &[u8],
    file_name: &str,
    locale: Option<&str>,
) -> Result<ParsedLibrary, AppError> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::TooLarge(format!(
            "{file_name}: a library may be at most 8 MiB."
        )));
    }
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| AppError::invalid(format!("{file_name}: not UTF-8 text ({e}).")))?;
    let doc = yaml::parse(text)
        .map_err(|e| AppError::invalid(format!("{file_name}: not a readable YAML file ({e}).")))?;
    let bad = |why: String| AppError::invalid(format!("{file_name}: {why}"));
    if doc.entries().is_none() {
        return Err(bad(format!(
            "not a CISO Assistant library: the YAML is {}, not a mapping with `urn` and `objects`.",
            doc.kind()
        )));
    }
    let objects = match doc.get("objects") {
        Some(o) if o.entries().is_some() => o,
        Some(o) => return Err(bad(format!("`objects` is {}, not a mapping.", o.kind()))),
        None => return Err(bad("not a CISO Assistant library: no `objects`.".into())),
    };
    let urn = match text_of(&doc, "urn").map_err(&bad)? {
        Some(u) if !u.trim().is_empty() => u.trim().to_lowercase(),
        _ => return Err(bad("the library has no `urn`.".into())),
    };
    let version = version_of(&doc).map_err(&bad)?;
    let default = text_of(&doc, "locale").map_err(&bad)?.unwrap_or_default();
    let default = default.trim().to_string();

    let frameworks = objects_of(objects, "frameworks", "framework");
    let sets = objects_of(
        objects,
        "requirement_mapping_sets",
        "requirement_mapping_set",
    );
    if frameworks.is_empty() && sets.is_empty() {
        return Err(bad(
            "not a framework or mapping library: `objects` has no `framework` and no \
             `requirement_mapping_sets`."
                .into(),
        ));
    }
    let used = [frameworks.key, sets.key];
    let ignored = objects
        .entries()
        .unwrap_or_default()
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| !used.contains(&k.as_str()))
        .collect();

    // The language: one choice for the whole library, among those it or a framework offers.
    let mut offered = vec![default.clone()];
    offered.extend(languages(&doc));
    for fw in &frameworks.items {
        offered.extend(languages(fw));
    }
    let lang = choose(locale, &default, &offered);
    let missing = locale
        .map(str::trim)
        .filter(|l| !l.is_empty() && lang.is_none() && !same_language(l, &default));
    let lang = lang.as_deref();

    let lib = Lib {
        name: translated(&doc, "name", lang)
            .ok()
            .flatten()
            .unwrap_or_default(),
        description: translated(&doc, "description", lang)
            .ok()
            .flatten()
            .unwrap_or_default(),
        version: version.clone(),
        default: default.clone(),
        offered: languages(&doc),
        source_url: match text_of(&doc, "packager") {
            Ok(Some(p)) if p.trim().eq_ignore_ascii_case("intuitem") => INTUITEM_SOURCE,
            _ => "",
        },
    };
    let mut errors = Errors::default();
    let mut budget = MAX_REQUIREMENTS;
    let mut out = ParsedLibrary {
        name: [
            lib.name.clone(),
            text_of(&doc, "ref_id").ok().flatten().unwrap_or_default(),
        ]
        .into_iter()
        .map(|n| n.trim().to_string())
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| urn.clone()),
        urn,
        version,
        locale: lang.unwrap_or(&default).to_string(),
        ignored,
        ..Default::default()
    };
    let mut keys = HashSet::new();
    for (i, fw) in frameworks.items.iter().enumerate() {
        let at = format!("{} {}", frameworks.key, i + 1);
        if let Some(mut f) = framework(fw, &at, &lib, lang, &mut budget, &mut errors) {
            if let Some(l) = missing {
                f.warnings.insert(
                    0,
                    format!(
                        "The library has no text in '{l}'; its default language ('{default}') is used."
                    ),
                );
            }
            if !keys.insert(f.key.clone()) {
                errors.push(format!("{at}: a second framework with the key '{}'", f.key));
            }
            out.frameworks.push(f);
        }
    }
    for (i, set) in sets.items.iter().enumerate() {
        let at = format!("{} {}", sets.key, i + 1);
        if let Some(s) = mapping_set(set, &at, lang, &mut errors) {
            if !keys.insert(s.key.clone()) {
                errors.push(format!(
                    "{at}: a second mapping set with the urn '{}'",
                    s.key
                ));
            }
            out.mapping_sets.push(s);
        }
    }
    errors.into_result(file_name)?;
    Ok(out)
}

/// What a library says about itself that each framework takes.
struct Lib {
    name: String,
    description: String,
    version: String,
    default: String,
    offered: Vec<String>,
    source_url: &'static str,
}

/// Problems collected across the file, reported together.
#[derive(Default)]
struct Errors {
    list: Vec<String>,
    more: usize,
}

impl Errors {
    fn push(&mut self, e: String) {
        if self.list.len() < MAX_ERRORS {
            self.list.push(e);
        } else {
            self.more += 1;
        }
    }

    fn total(&self) -> usize {
        self.list.len() + self.more
    }

    fn into_result(self, file_name: &str) -> Result<(), AppError> {
        if self.list.is_empty() {
            return Ok(());
        }
        let n = self.list.len() + self.more;
        let mut msg = format!(
            "{file_name}: {n} problem(s); nothing was imported. {}",
            self.list.join("; ")
        );
        if self.more > 0 {
            msg.push_str(&format!("; and {} more", self.more));
        }
        Err(AppError::invalid(msg))
    }
}

/// The objects of one kind: the plural key wins over the singular (as CISO Assistant reads
/// them); either may hold one mapping or a list.
struct Objects<'a> {
    key: &'static str,
    items: Vec<&'a Node>,
}

impl Objects<'_> {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn objects_of<'a>(objects: &'a Node, plural: &'static str, singular: &'static str) -> Objects<'a> {
    let (key, node) = match (objects.get(plural), objects.get(singular)) {
        (Some(n), _) if !n.is_null() => (plural, n),
        (_, Some(n)) => (singular, n),
        (Some(n), None) => (plural, n),
        (None, None) => {
            return Objects {
                key: plural,
                items: Vec::new(),
            }
        }
    };
    let items = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        _ => vec![node],
    };
    Objects { key, items }
}

/// A text field: absent or null is `None`; a list or mapping is an error naming the field.
fn text_of(node: &Node, key: &str) -> Result<Option<String>, String> {
    match node.get(key) {
        None => Ok(None),
        Some(v) => match &v.value {
            Value::Null => Ok(None),
            Value::Text(text) => Ok(Some(text.clone())),
            _ => Err(format!(
                "`{key}` (line {}) is {}, not text",
                v.line,
                v.kind()
            )),
        },
    }
}

/// A field in the chosen language when the node has it there, else in the default one.
fn translated(node: &Node, key: &str, lang: Option<&str>) -> Result<Option<String>, String> {
    if let Some(t) = lang.and_then(|l| translation(node, l)) {
        if let Some(s) = text_of(t, key)?.filter(|s| !s.trim().is_empty()) {
            return Ok(Some(s.trim().to_string()));
        }
    }
    Ok(text_of(node, key)?
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty()))
}

fn translation<'a>(node: &'a Node, lang: &str) -> Option<&'a Node> {
    node.get("translations")?
        .entries()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(lang))
        .map(|(_, v)| v)
}

/// The languages a node's `translations` offer.
fn languages(node: &Node) -> Vec<String> {
    node.get("translations")
        .and_then(Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|(k, _)| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

/// Same language, regional variants aside (`fr-CA` is `fr`).
fn same_language(a: &str, b: &str) -> bool {
    let primary = |s: &str| {
        s.split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    !a.is_empty() && !b.is_empty() && primary(a) == primary(b)
}

/// The translation to read: `None` for the default language (or one the library lacks). An
/// exact match wins over a regional variant.
fn choose(wanted: Option<&str>, default: &str, offered: &[String]) -> Option<String> {
    let wanted = wanted.map(str::trim).filter(|w| !w.is_empty())?;
    if wanted.eq_ignore_ascii_case(default) {
        return None;
    }
    let translations = offered.iter().skip(1);
    if let Some(exact) = translations
        .clone()
        .find(|o| o.eq_ignore_ascii_case(wanted))
    {
        return Some(exact.clone());
    }
    if same_language(wanted, default) {
        return None;
    }
    translations
        .clone()
        .find(|o| same_language(wanted, o))
        .cloned()
}

/// Every language offered, the default first, each once.
fn dedup(langs: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in langs {
        if !l.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&l)) {
            out.push(l);
        }
    }
    out
}

/// `version`: an integer, or text holding one (three real libraries quote it).
fn version_of(doc: &Node) -> Result<String, String> {
    let Some(v) = doc.get("version") else {
        return Err("the library has no `version`.".into());
    };
    match &v.value {
        Value::Text(text) => match text.trim().parse::<u64>() {
            Ok(n) => Ok(n.to_string()),
            Err(_) => Err(format!(
                "`version` (line {}) must be a whole number of 0 or more, not '{text}'.",
                v.line
            )),
        },
        _ => Err(format!(
            "`version` (line {}) must be a whole number of 0 or more, not {}.",
            v.line,
            v.kind()
        )),
    }
}

/// An integer field written plain or quoted.
fn int_of(node: &Node, key: &str) -> Result<Option<i64>, String> {
    match text_of(node, key)? {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("`{key}` must be a whole number, not '{t}'")),
    }
}

/// `assessable`: YAML 1.2 booleans, plus the 1.1 words PyYAML (CISO Assistant's reader) takes.
fn bool_of(node: &Node, key: &str) -> Result<Option<bool>, String> {
    match text_of(node, key)? {
        None => Ok(None),
        Some(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(Some(true)),
            "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(format!("`{key}` must be true or false, not '{t}'")),
        },
    }
}

/// The part of a URN after `<marker>` (`framework:`, `req_node:<fw>:`), else its last segment;
/// lower-cased, as CISO Assistant stores URNs.
fn urn_tail(urn: &str, marker: &str) -> String {
    let urn = urn.trim().to_lowercase();
    match urn.find(marker) {
        Some(i) if !marker.is_empty() => urn[i + marker.len()..].to_string(),
        _ => urn.rsplit(':').next().unwrap_or("").to_string(),
    }
}

/// A key or ref usable as an identifier: not empty, short, printable.
fn usable_id(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 200 && !s.chars().any(char::is_control)
}

/// The first line of a description as a title, at most 120 characters.
fn first_line(s: &str) -> Option<String> {
    let line = s.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.chars().count() <= 120 {
        return Some(line.to_string());
    }
    let cut: String = line.chars().take(119).collect();
    Some(format!("{}…", cut.trim_end()))
}

mod nodes;
use nodes::framework;

/// One requirement mapping set: links between two frameworks' nodes, by URN tail.
fn mapping_set(
    set: &Node,
    at: &str,
    lang: Option<&str>,
    errors: &mut Errors,
) -> Option<ParsedMappingSet> {
    if set.entries().is_none() {
        errors.push(format!(
            "{at} (line {}) is {}, not a mapping",
            set.line,
            set.kind()
        ));
        return None;
    }
    let field = |key: &str, errors: &mut Errors| match text_of(set, key) {
        Ok(Some(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
        Ok(_) => {
            errors.push(format!("{at} (line {}): no `{key}`", set.line));
            None
        }
        Err(e) => {
            errors.push(format!("{at}: {e}"));
            None
        }
    };
    let (urn, source, target) = (
        field("urn", errors),
        field("source_framework_urn", errors),
        field("target_framework_urn", errors),
    );
    let (urn, source, target) = (urn?, source?, target?);
    let key = urn.to_lowercase();
    let at = format!("mapping set '{key}'");
    let (source_tail, target_tail) = (
        urn_tail(&source, "framework:"),
        urn_tail(&target, "framework:"),
    );
    let name = [
        translated(set, "name", lang),
        translated(set, "ref_id", None),
    ]
    .into_iter()
    .find_map(|t| t.ok().flatten())
    .unwrap_or_else(|| key.clone());
    let mappings = match set.get("requirement_mappings") {
        Some(Node {
            value: Value::Seq(items),
            ..
        }) => items.as_slice(),
        Some(n) if n.is_null() => &[],
        Some(n) => {
            errors.push(format!(
                "{at}: `requirement_mappings` is {}, not a list",
                n.kind()
            ));
            return None;
        }
        None => {
            errors.push(format!("{at}: no `requirement_mappings`"));
            return None;
        }
    };
    let (source_marker, target_marker) = (
        format!("req_node:{source_tail}:"),
        format!("req_node:{target_tail}:"),
    );
    let mut links = Vec::with_capacity(mappings.len());
    let mut seen = HashSet::new();
    let mut ok = true;
    for (i, m) in mappings.iter().enumerate() {
        let here = format!("{at}, mapping {} (line {})", i + 1, m.line);
        match link(m, i as u64 + 1, (&source_marker, &target_marker)) {
            // The database keeps one link per pair: a repeated pair adds nothing.
            Ok(l) => {
                if seen.insert((l.source.clone(), l.target.clone())) {
                    links.push(l);
                }
            }
            Err(e) => {
                ok = false;
                errors.push(format!("{here}: {e}"));
            }
        }
    }
    ok.then_some(ParsedMappingSet {
        key,
        name,
        source_framework: format!("ca:{source_tail}"),
        target_framework: format!("ca:{target_tail}"),
        links,
    })
}

fn link(m: &Node, line: u64, (source, target): (&str, &str)) -> Result<ParsedLink, String> {
    if m.entries().is_none() {
        return Err(format!("{}, not a mapping", m.kind()));
    }
    let required = |key: &str| match text_of(m, key)? {
        Some(t) if !t.trim().is_empty() => Ok(t),
        _ => Err(format!("no `{key}`")),
    };
    let relationship = required("relationship")?;
    let text = |key: &str| text_of(m, key).map(|t| t.unwrap_or_default().trim().to_string());
    Ok(ParsedLink {
        line,
        source: urn_tail(&required("source_requirement_urn")?, source),
        target: urn_tail(&required("target_requirement_urn")?, target),
        relationship: Relationship::parse(&relationship).ok_or_else(|| {
            format!(
                "relationship '{}' is not one of {}",
                relationship.trim(),
                Relationship::NAMES
            )
        })?,
        rationale: text("rationale")?,
        // Kept as given: real libraries hold 50 and 90 although the scale is 0 to 10.
        strength: int_of(m, "strength_of_relationship")?,
        annotation: text("annotation")?,
    })
}

#[cfg(test)]
mod tests;
