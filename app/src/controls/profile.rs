//! OSCAL profile resolution (OSCAL 1.1, the parts Steward needs): a profile selects controls
//! from catalogs (or from other profiles), arranges them (`merge`) and tailors them (`modify`).
//! The result is a catalog in memory, read by the catalog importer. Nothing is fetched: every
//! document a profile imports must be among the catalogs the caller supplies.

use super::import::{array, parse_oscal_value, str_of, ParsedFramework};
use crate::error::AppError;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// A catalog a profile may select from: a file uploaded with it, or one already imported.
#[derive(Debug, Clone)]
pub struct CatalogSource {
    pub file_name: String,
    pub text: String,
}

/// Profiles importing profiles, at most this deep.
const MAX_IMPORT_DEPTH: usize = 8;
/// Nesting of groups and controls, and of parts within a control, that resolution walks.
const MAX_NESTING: usize = 64;
/// Steps (controls indexed, ids matched, parts searched) one resolution may take: far above
/// any real profile, low enough that a hostile one cannot keep a request busy for minutes.
const WORK_LIMIT: usize = 50_000_000;
/// Warnings listed one by one; past this many they are counted.
const MAX_WARNINGS: usize = 100;

/// Whether the JSON text is an OSCAL profile (a top-level `profile` object).
pub fn is_profile(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Head {
        profile: Option<AnObject>,
    }
    serde_json::from_str::<Head>(without_bom(text)).is_ok_and(|h| h.profile.is_some())
}

/// (uuid, title) of an OSCAL catalog document, for remembering it; None if not a catalog.
/// A catalog that lacks them gives empty strings.
pub fn catalog_identity(text: &str) -> Option<(String, String)> {
    let head = serde_json::from_str::<Head>(without_bom(text)).ok()?;
    let body = head.catalog?;
    Some((body.uuid().to_string(), body.title().to_string()))
}

/// Resolves the profile against the catalogs into a framework (format "oscal-profile").
pub fn resolve_profile(
    profile_text: &str,
    catalogs: &[CatalogSource],
    name_override: Option<&str>,
) -> Result<ParsedFramework, AppError> {
    resolve_profile_among(profile_text, catalogs, name_override, true)
}

/// `resolve_profile`; `guess_single`: when an import names none of the catalogs and there is
/// only one, use it. True for catalogs the person sent with the profile; false for those
/// merely imported before (a lone built-in catalog is no answer to an unknown name).
pub fn resolve_profile_among(
    profile_text: &str,
    catalogs: &[CatalogSource],
    name_override: Option<&str>,
    guess_single: bool,
) -> Result<ParsedFramework, AppError> {
    let doc: Value = serde_json::from_str(without_bom(profile_text))
        .map_err(|e| AppError::invalid(format!("The profile is not valid JSON: {e}")))?;
    let profile = doc
        .get("profile")
        .filter(|p| p.is_object())
        .ok_or_else(|| {
            AppError::invalid("Not an OSCAL profile: no top-level \"profile\" object.")
        })?;
    let title = profile
        .get("metadata")
        .and_then(|m| str_of(m, "title"))
        .ok_or_else(|| AppError::invalid("The OSCAL profile's metadata has no \"title\"."))?;
    let mut r = Resolver {
        sources: catalogs,
        guess_single,
        docs: vec![None; catalogs.len()],
        titles: vec![None; catalogs.len()],
        chain: vec![Link {
            name: format!("the profile '{title}'"),
            uuid: str_of(profile, "uuid").unwrap_or("").to_string(),
            source: None,
        }],
        warnings: Vec::new(),
        unlisted: 0,
        work: 0,
    };
    let catalog = r.resolve(profile).map_err(AppError::invalid)?;
    let mut out = parse_oscal_value(
        &Value::Object(Map::from_iter([("catalog".to_string(), catalog)])),
        name_override,
    )?;
    out.format = "oscal-profile";
    out.warnings.extend(r.warnings);
    if r.unlisted > 0 {
        out.warnings
            .push(format!("… and {} more warnings.", r.unlisted));
    }
    Ok(out)
}

fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The top of a catalog or profile document, read without building the rest.
#[derive(Deserialize)]
struct Head {
    catalog: Option<Body>,
    profile: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    uuid: Option<Value>,
    metadata: Option<Value>,
}

impl Body {
    fn uuid(&self) -> &str {
        self.uuid.as_ref().and_then(Value::as_str).unwrap_or("")
    }
    fn title(&self) -> &str {
        self.metadata
            .as_ref()
            .and_then(|m| str_of(m, "title"))
            .unwrap_or("")
    }
}

/// Any JSON object, skipped without being built.
struct AnObject;

impl<'de> Deserialize<'de> for AnObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Skip;
        impl<'de> Visitor<'de> for Skip {
            type Value = AnObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<AnObject, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(AnObject)
            }
        }
        d.deserialize_map(Skip)
    }
}

/// A document being resolved, for the circular-import check and its message.
struct Link {
    name: String,
    uuid: String,
    source: Option<usize>,
}

struct Resolver<'a> {
    sources: &'a [CatalogSource],
    guess_single: bool,
    /// Each source as a catalog object (a profile resolved), once read.
    docs: Vec<Option<Rc<Value>>>,
    /// Each source's metadata title, once read (for matching an import by title).
    titles: Vec<Option<String>>,
    chain: Vec<Link>,
    warnings: Vec<String>,
    unlisted: usize,
    work: usize,
}

/// A selected control, tailored in place; `doc` is the catalog it came from.
struct Chosen {
    control: Value,
    doc: Rc<Value>,
}

impl Resolver<'_> {
    fn warn(&mut self, msg: String) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.unlisted += 1;
            return;
        }
        // A warning from an imported profile says which one.
        let msg = match self.chain.last() {
            Some(l) if self.chain.len() > 1 => format!("{}: {msg}", l.name),
            _ => msg,
        };
        self.warnings.push(msg);
    }

    fn spend(&mut self, steps: usize) -> Result<(), String> {
        self.work = self.work.saturating_add(steps);
        if self.work > WORK_LIMIT {
            return Err(
                "The profile takes too much work to resolve (too many selections or \
                        alterations over too many controls); it is refused."
                    .into(),
            );
        }
        Ok(())
    }

    /// A profile object → the catalog object it resolves to.
    fn resolve(&mut self, profile: &Value) -> Result<Value, String> {
        let imports = array(profile, "imports");
        if imports.is_empty() {
            return Err("The OSCAL profile imports nothing (no \"imports\").".into());
        }
        let merge = profile.get("merge");
        if merge.and_then(|m| m.get("custom")).is_some() {
            return Err(
                "The profile uses a custom merge (regrouping controls); custom merge is \
                        not supported. Use \"as-is\" or \"flat\"."
                    .into(),
            );
        }
        let as_is = merge.and_then(|m| m.get("as-is")) == Some(&Value::Bool(true));
        let mut chosen: Vec<Chosen> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut docs: Vec<Rc<Value>> = Vec::new();
        for imp in imports {
            let href = str_of(imp, "href")
                .ok_or("An import of the profile has no \"href\".")?
                .to_string();
            let doc = self.load(profile, &href)?;
            let entries = self.index(&doc, &href)?;
            let picked = self.select(imp, &entries, &href)?;
            for (e, _) in entries.iter().zip(&picked).filter(|(_, p)| **p) {
                // Selected twice (by two imports): the first stays.
                if !at.contains_key(e.id) {
                    at.insert(e.id.to_string(), chosen.len());
                    chosen.push(Chosen {
                        control: without_children(e.value),
                        doc: Rc::clone(&doc),
                    });
                }
            }
            if !docs.iter().any(|d| Rc::ptr_eq(d, &doc)) {
                docs.push(doc);
            }
        }
        if chosen.is_empty() {
            return Err("The profile selects no controls from its catalogs.".into());
        }
        if let Some(modify) = profile.get("modify") {
            self.set_parameters(modify, &mut chosen)?;
            self.alters(modify, &mut chosen, &at)?;
        }
        let mut out = Map::new();
        for key in ["uuid", "metadata"] {
            if let Some(v) = profile.get(key) {
                out.insert(key.to_string(), v.clone());
            }
        }
        let mut take: HashMap<String, Chosen> = HashMap::with_capacity(chosen.len());
        let mut order = Vec::with_capacity(chosen.len());
        for c in chosen {
            if let Some(id) = str_of(&c.control, "id") {
                order.push(id.to_string());
                take.insert(id.to_string(), c);
            }
        }
        let (groups, controls) = if as_is {
            let mut groups: Vec<Value> = Vec::new();
            let mut controls = Vec::new();
            for doc in &docs {
                for g in array(doc, "groups") {
                    if let Some(g) = rebuild_group(g, doc, &mut take) {
                        merge_group(&mut groups, g);
                    }
                }
                controls.extend(rebuild_controls(array(doc, "controls"), doc, &mut take));
            }
            (groups, controls)
        } else {
            let flat = order.iter().filter_map(|id| take.remove(id));
            (Vec::new(), flat.map(|c| c.control).collect())
        };
        if !groups.is_empty() {
            out.insert("groups".into(), Value::Array(groups));
        }
        if !controls.is_empty() {
            out.insert("controls".into(), Value::Array(controls));
        }
        Ok(Value::Object(out))
    }

    /// The catalog an import names, resolved if it is a profile.
    fn load(&mut self, profile: &Value, href: &str) -> Result<Rc<Value>, String> {
        let (names, title) = match href.strip_prefix('#') {
            Some(uuid) => {
                let resources = profile
                    .get("back-matter")
                    .map(|b| array(b, "resources"))
                    .unwrap_or(&[]);
                let res = resources
                    .iter()
                    .find(|r| str_of(r, "uuid") == Some(uuid))
                    .ok_or_else(|| {
                        format!(
                            "Import '{href}': the profile's back-matter has no resource with that \
                             uuid."
                        )
                    })?;
                let mut names: Vec<&str> = array(res, "rlinks")
                    .iter()
                    .filter_map(|l| str_of(l, "href"))
                    .collect();
                names.extend(res.get("base64").and_then(|b| str_of(b, "filename")));
                (names, str_of(res, "title"))
            }
            None => (vec![href], None),
        };
        let sources = self.sources;
        let idx = match (self.find_source(&names, title), sources) {
            (Some(i), _) => i,
            (None, [only]) if self.guess_single => {
                self.warn(format!(
                    "Import '{href}' names no file supplied; '{}', the only catalog supplied, \
                     was used.",
                    only.file_name
                ));
                0
            }
            (None, _) => {
                let offered: Vec<&str> = sources.iter().map(|s| s.file_name.as_str()).collect();
                return Err(format!(
                    "Import '{href}' (looking for {}) matches none of the catalogs supplied ({}).",
                    names.join(", "),
                    if offered.is_empty() {
                        "none".to_string()
                    } else {
                        offered.join(", ")
                    }
                ));
            }
        };
        self.document(idx, href)
    }

    /// The source an import names: by file-name stem, then by title.
    fn find_source(&mut self, names: &[&str], title: Option<&str>) -> Option<usize> {
        for name in names {
            let want = stem(name);
            if let Some(i) = self.sources.iter().position(|s| stem(&s.file_name) == want) {
                return Some(i);
            }
        }
        let title = title.map(str::trim).filter(|t| !t.is_empty())?;
        for (i, (src, seen)) in self.sources.iter().zip(self.titles.iter_mut()).enumerate() {
            // Read once: only the head of each document, not the whole tree.
            let t = seen.get_or_insert_with(|| {
                serde_json::from_str::<Head>(without_bom(&src.text))
                    .ok()
                    .and_then(|h| h.catalog.or(h.profile))
                    .map(|b| b.title().trim().to_string())
                    .unwrap_or_default()
            });
            if t.eq_ignore_ascii_case(title) {
                return Some(i);
            }
        }
        None
    }

    /// Source `idx` as a catalog object: read once, a profile resolved first.
    fn document(&mut self, idx: usize, href: &str) -> Result<Rc<Value>, String> {
        let sources = self.sources;
        let Some(src) = sources.get(idx) else {
            return Err(format!("Import '{href}': no such catalog."));
        };
        let name = format!("'{}'", src.file_name);
        if let Some(at) = self.chain.iter().position(|l| l.source == Some(idx)) {
            return Err(circular(&self.chain[at..], &name));
        }
        if let Some(Some(doc)) = self.docs.get(idx) {
            return Ok(Rc::clone(doc));
        }
        let mut doc: Value = serde_json::from_str(without_bom(&src.text))
            .map_err(|e| format!("{name} (imported as '{href}') is not valid JSON: {e}"))?;
        let catalog = if let Some(c) = doc.get_mut("catalog").filter(|c| c.is_object()) {
            c.take()
        } else if let Some(p) = doc.get("profile").filter(|p| p.is_object()) {
            let uuid = str_of(p, "uuid").unwrap_or("").to_string();
            if let Some(at) = self
                .chain
                .iter()
                .position(|l| !uuid.is_empty() && l.uuid == uuid)
            {
                return Err(circular(&self.chain[at..], &name));
            }
            if self.chain.len() >= MAX_IMPORT_DEPTH {
                return Err(format!(
                    "Profiles import profiles more than {MAX_IMPORT_DEPTH} deep (at {name})."
                ));
            }
            self.chain.push(Link {
                name: name.clone(),
                uuid,
                source: Some(idx),
            });
            let resolved = self.resolve(p);
            self.chain.pop();
            resolved.map_err(|e| format!("In {name} (imported as '{href}'): {e}"))?
        } else {
            return Err(format!(
                "{name} (imported as '{href}') is neither an OSCAL catalog nor a profile."
            ));
        };
        let doc = Rc::new(catalog);
        if let Some(slot) = self.docs.get_mut(idx) {
            *slot = Some(Rc::clone(&doc));
        }
        Ok(doc)
    }
}

fn circular(chain: &[Link], again: &str) -> String {
    let names: Vec<&str> = chain.iter().map(|l| l.name.as_str()).collect();
    format!("Circular import: {} → {again}.", names.join(" → "))
}

/// The file name without its folders, query and extension, in lower case: NIST's JSON profiles
/// name their catalog's `.xml` file.
fn stem(name: &str) -> String {
    let name = name.split(['?', '#']).next().unwrap_or(name);
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = match last.rfind('.') {
        Some(dot) if dot > 0 => &last[..dot],
        _ => last,
    };
    stem.to_lowercase()
}

/// A copy of a control without its nested controls (they are placed separately).
fn without_children(c: &Value) -> Value {
    match c.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "controls")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => c.clone(),
    }
}

/// Adds `items` to the list `key` of `obj`, at its start or its end.
fn put(obj: &mut Map<String, Value>, key: &str, items: &[Value], first: bool) {
    if items.is_empty() {
        return;
    }
    let list = obj
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Some(list) = list.as_array_mut() {
        let at = if first { 0 } else { list.len() };
        list.splice(at..at, items.iter().cloned());
    }
}

/// A group with only the selected controls (each where it was, or, when its parent is not
/// selected, in its parent's place); None when nothing in it is selected.
fn rebuild_group(
    group: &Value,
    doc: &Rc<Value>,
    take: &mut HashMap<String, Chosen>,
) -> Option<Value> {
    let controls = rebuild_controls(array(group, "controls"), doc, take);
    let groups: Vec<Value> = array(group, "groups")
        .iter()
        .filter_map(|g| rebuild_group(g, doc, take))
        .collect();
    if controls.is_empty() && groups.is_empty() {
        return None;
    }
    let mut out: Map<String, Value> = group
        .as_object()?
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "controls" | "groups"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !controls.is_empty() {
        out.insert("controls".into(), Value::Array(controls));
    }
    if !groups.is_empty() {
        out.insert("groups".into(), Value::Array(groups));
    }
    Some(Value::Object(out))
}

fn rebuild_controls(
    controls: &[Value],
    doc: &Rc<Value>,
    take: &mut HashMap<String, Chosen>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for c in controls {
        let children = rebuild_controls(array(c, "controls"), doc, take);
        let id = str_of(c, "id").unwrap_or("");
        // Only the copy selected from this catalog; an id taken from another stays there.
        let mine = take.get(id).is_some_and(|ch| Rc::ptr_eq(&ch.doc, doc));
        match if mine { take.remove(id) } else { None } {
            Some(Chosen { mut control, .. }) => {
                if !children.is_empty() {
                    if let Some(obj) = control.as_object_mut() {
                        obj.insert("controls".into(), Value::Array(children));
                    }
                }
                out.push(control);
            }
            None => out.extend(children),
        }
    }
    out
}

/// Adds a rebuilt group to the list, joining a group of the same id from another import.
fn merge_group(groups: &mut Vec<Value>, g: Value) {
    let id = str_of(&g, "id").unwrap_or("");
    let same = groups
        .iter_mut()
        .find(|x| !id.is_empty() && str_of(x, "id") == Some(id));
    match (same.and_then(Value::as_object_mut), g) {
        (Some(into), Value::Object(from)) => {
            for key in ["controls", "groups"] {
                if let Some(Value::Array(items)) = from.get(key) {
                    put(into, key, items, false);
                }
            }
        }
        (_, g) => groups.push(g),
    }
}

mod modify;
mod select;
#[cfg(test)]
mod tests;
