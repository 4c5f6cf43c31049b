//! A framework object into a `ParsedFramework`: its `requirement_nodes` (a flat list linked by
//! `parent_urn`, parents first in every real library) become requirements, headings included
//! (`assessable: false`). Checked: duplicate URNs and refs, parents missing or listed after
//! their children, cycles, depth, field types.

use super::yaml::{Node, Value};
use super::{
    dedup, first_line, int_of, languages, text_of, translated, translation, urn_tail, usable_id,
    Errors, Lib, MAX_NODE_DEPTH,
};
use crate::controls::import::{ParsedFramework, ParsedRequirement};
use std::collections::{HashMap, HashSet};

/// One node's fields as read, before the hierarchy is resolved.
struct Raw {
    /// "node 4 (line 57)", for messages.
    at: String,
    urn: String,
    r#ref: String,
    parent: Option<String>,
    depth: Option<i64>,
    assessable: bool,
    ref_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    annotation: Option<String>,
    reference_controls: Vec<String>,
}

pub(super) fn framework(
    fw: &Node,
    at: &str,
    lib: &Lib,
    lang: Option<&str>,
    budget: &mut usize,
    errors: &mut Errors,
) -> Option<ParsedFramework> {
    if fw.entries().is_none() {
        errors.push(format!(
            "{at} (line {}) is {}, not a mapping",
            fw.line,
            fw.kind()
        ));
        return None;
    }
    let urn = match text_of(fw, "urn") {
        Ok(Some(u)) if !u.trim().is_empty() => u.trim().to_lowercase(),
        Ok(_) => {
            errors.push(format!("{at} (line {}): no `urn`", fw.line));
            return None;
        }
        Err(e) => {
            errors.push(format!("{at}: {e}"));
            return None;
        }
    };
    let at = format!("framework '{urn}'");
    let tail = urn_tail(&urn, "framework:");
    if !usable_id(&tail) {
        errors.push(format!("{at}: its urn does not end with a name"));
        return None;
    }
    let items = match fw.get("requirement_nodes") {
        Some(Node {
            value: Value::Seq(items),
            ..
        }) if !items.is_empty() => items,
        Some(n) if !n.is_null() && !matches!(n.value, Value::Seq(_)) => {
            errors.push(format!(
                "{at}: `requirement_nodes` is {}, not a list",
                n.kind()
            ));
            return None;
        }
        _ => {
            errors.push(format!("{at}: no requirement nodes"));
            return None;
        }
    };
    if items.len() > *budget {
        errors.push(format!(
            "{at}: more than {} requirement nodes in the library",
            super::MAX_REQUIREMENTS
        ));
        *budget = 0;
        return None;
    }
    *budget -= items.len();
    let before = errors.total();
    let marker = format!("req_node:{tail}:");
    let raws: Vec<Raw> = items
        .iter()
        .enumerate()
        .filter_map(|(i, n)| raw(n, i + 1, &marker, lang, &at, errors))
        .collect();
    let missing_translation = lang.map_or(0, |l| {
        items
            .iter()
            .filter(|n| {
                translation(n, l).is_none()
                    && (n.get("name").is_some() || n.get("description").is_some())
            })
            .count()
    });

    // Identity: URNs and the refs made from them are unique.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(raws.len());
    let mut refs: HashMap<&str, usize> = HashMap::with_capacity(raws.len());
    for (i, r) in raws.iter().enumerate() {
        if let Some(&j) = index.get(r.urn.as_str()) {
            errors.push(format!(
                "{at}, {}: duplicate urn '{}' (also {})",
                r.at, r.urn, raws[j].at
            ));
        } else if let Some(&j) = refs.get(r.r#ref.as_str()) {
            errors.push(format!(
                "{at}, {}: its urn gives the id '{}', as {}'s does",
                r.at, r.r#ref, raws[j].at
            ));
        }
        index.entry(&r.urn).or_insert(i);
        refs.entry(&r.r#ref).or_insert(i);
    }

    // The hierarchy: each parent must be listed before its children.
    let parents: Vec<Option<usize>> = raws
        .iter()
        .map(|r| r.parent.as_deref().and_then(|p| index.get(p).copied()))
        .collect();
    for (i, r) in raws.iter().enumerate() {
        let Some(p_urn) = &r.parent else { continue };
        match parents[i] {
            None => errors.push(format!(
                "{at}, {}: parent_urn '{p_urn}' is not a node of this framework",
                r.at
            )),
            Some(p) if p >= i => {
                let cycle = p == i || leads_to(&parents, p, i);
                errors.push(if cycle {
                    format!("{at}, {}: parent_urn '{p_urn}' makes a cycle", r.at)
                } else {
                    format!(
                        "{at}, {}: parent_urn '{p_urn}' is listed after the node; parents come first",
                        r.at
                    )
                });
            }
            Some(_) => {}
        }
    }
    let mut depths = Vec::with_capacity(raws.len());
    let mut roots = Vec::with_capacity(raws.len());
    let mut has_child = vec![false; raws.len()];
    let mut odd_depths = 0;
    for (i, r) in raws.iter().enumerate() {
        let parent = parents[i].filter(|&p| p < i);
        let computed = parent.map_or(1, |p: usize| depths[p] + 1);
        let depth = r.depth.unwrap_or(computed);
        if r.depth.is_some_and(|d| d != computed) {
            odd_depths += 1;
        }
        if !(1..=MAX_NODE_DEPTH).contains(&depth) {
            errors.push(format!(
                "{at}, {}: depth {depth} is outside 1 to {MAX_NODE_DEPTH}",
                r.at
            ));
        }
        depths.push(depth.clamp(1, MAX_NODE_DEPTH));
        roots.push(parent.map_or(i, |p| roots[p]));
        if let Some(p) = parent {
            has_child[p] = true;
        }
    }
    if errors.total() > before {
        return None;
    }

    let mut requirements = Vec::with_capacity(raws.len());
    for (i, r) in raws.iter().enumerate() {
        let empty = r.ref_id.is_none()
            && r.name.is_none()
            && r.description.is_none()
            && r.annotation.is_none();
        // A heading with nothing in it and nothing under it says nothing.
        if !r.assessable && empty && !has_child[i] {
            continue;
        }
        // The top-level ancestor groups; a top-level requirement alone groups nothing.
        let root = roots[i];
        let (group_ref, group_title) = if root != i || !r.assessable || has_child[i] {
            let g = &raws[root];
            let title = g.name.as_ref().or(g.ref_id.as_ref()).unwrap_or(&g.r#ref);
            (g.r#ref.clone(), title.clone())
        } else {
            (String::new(), String::new())
        };
        let mut statement = r.description.clone().unwrap_or_default();
        if let Some(a) = &r.annotation {
            if !statement.is_empty() {
                statement.push_str("\n\n");
            }
            statement.push_str(a);
        }
        requirements.push(ParsedRequirement {
            r#ref: r.r#ref.clone(),
            label: r
                .ref_id
                .as_ref()
                .or(r.name.as_ref())
                .unwrap_or(&r.r#ref)
                .clone(),
            parent_ref: parents[i].map(|p| raws[p].r#ref.clone()),
            group_ref,
            group_title,
            title: r
                .name
                .clone()
                .or_else(|| r.description.as_deref().and_then(first_line))
                .or_else(|| r.ref_id.clone())
                .unwrap_or_else(|| r.r#ref.clone()),
            statement,
            urn: Some(r.urn.clone()),
            depth: depths[i],
            assessable: r.assessable,
            reference_controls: r.reference_controls.clone(),
        });
    }

    let mut warnings = Vec::new();
    if let (Some(l), n) = (lang, missing_translation) {
        if n > 0 {
            warnings.push(format!(
                "{n} requirement node(s) have no text in '{l}' and keep the default language \
                 ('{}').",
                lib.default
            ));
        }
    }
    if odd_depths > 0 {
        warnings.push(format!(
            "{odd_depths} requirement node(s) give a depth other than their parent's plus one; \
             the depth given is kept."
        ));
    }
    let name = translated(fw, "name", lang).ok().flatten();
    let description = translated(fw, "description", lang).ok().flatten();
    Some(ParsedFramework {
        key: format!("ca:{tail}"),
        name: name.unwrap_or_else(|| {
            if lib.name.is_empty() {
                format!("ca:{tail}")
            } else {
                lib.name.clone()
            }
        }),
        version: lib.version.clone(),
        description: description.unwrap_or_else(|| lib.description.clone()),
        format: "ciso-yaml",
        locale: lang.unwrap_or(&lib.default).to_string(),
        locales: dedup(
            std::iter::once(lib.default.clone())
                .chain(lib.offered.iter().cloned())
                .chain(languages(fw)),
        ),
        source_url: lib.source_url.to_string(),
        requirements,
        warnings,
    })
}

/// Whether following parents from `from` reaches `to` (bounded: a cycle elsewhere ends it).
fn leads_to(parents: &[Option<usize>], from: usize, to: usize) -> bool {
    let mut at = from;
    for _ in 0..parents.len() {
        match parents[at] {
            Some(p) if p == to => return true,
            Some(p) => at = p,
            None => return false,
        }
    }
    false
}

/// Reads one node's fields; each problem is pushed, and a node with any is left out.
fn raw(
    n: &Node,
    index: usize,
    marker: &str,
    lang: Option<&str>,
    at: &str,
    errors: &mut Errors,
) -> Option<Raw> {
    let mut here = format!("node {index} (line {})", n.line);
    if n.entries().is_none() {
        errors.push(format!("{at}, {here}: {}, not a mapping", n.kind()));
        return None;
    }
    let urn = match text_of(n, "urn") {
        Ok(Some(u)) if !u.trim().is_empty() => u.trim().to_lowercase(),
        Ok(_) => {
            errors.push(format!("{at}, {here}: no `urn`"));
            return None;
        }
        Err(e) => {
            errors.push(format!("{at}, {here}: {e}"));
            return None;
        }
    };
    here = format!("node {index} ('{urn}', line {})", n.line);
    let before = errors.total();
    let mut ok = |r: Result<Option<String>, String>| -> Option<String> {
        r.unwrap_or_else(|e| {
            errors.push(format!("{at}, {here}: {e}"));
            None
        })
    };
    let ref_id = ok(text_of(n, "ref_id")).map(|s| s.trim().to_string());
    let ref_id = ref_id.filter(|s| !s.is_empty());
    let name = ok(translated(n, "name", lang));
    let description = ok(translated(n, "description", lang));
    let annotation = ok(translated(n, "annotation", lang));
    let parent = ok(text_of(n, "parent_urn"))
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty());
    let depth = int_of(n, "depth").unwrap_or_else(|e| {
        errors.push(format!("{at}, {here}: {e}"));
        None
    });
    let assessable = super::bool_of(n, "assessable").unwrap_or_else(|e| {
        errors.push(format!("{at}, {here}: {e}"));
        None
    });
    let reference_controls = reference_controls(n).unwrap_or_else(|e| {
        errors.push(format!("{at}, {here}: {e}"));
        Vec::new()
    });
    let r#ref = urn_tail(&urn, marker);
    if !usable_id(&r#ref) {
        errors.push(format!(
            "{at}, {here}: the urn must end with a name of at most 200 characters"
        ));
    }
    (errors.total() == before).then_some(Raw {
        at: here,
        urn,
        r#ref,
        parent,
        depth,
        // CISO Assistant's own default for a node that does not say.
        assessable: assessable.unwrap_or(false),
        ref_id,
        name,
        description,
        annotation,
        reference_controls,
    })
}

/// `reference_controls`: URNs (their last segment is the id) or ids; a mapping names one by
/// its `urn` or `ref_id`.
fn reference_controls(n: &Node) -> Result<Vec<String>, String> {
    let items = match n.get("reference_controls") {
        None => return Ok(Vec::new()),
        Some(v) => match &v.value {
            Value::Null => return Ok(Vec::new()),
            Value::Seq(items) => items.iter().collect(),
            _ => vec![v],
        },
    };
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for item in items {
        let id = match &item.value {
            Value::Text(text) => Some(text.trim().to_string()),
            Value::Map(_) => match (text_of(item, "urn")?, text_of(item, "ref_id")?) {
                (Some(u), _) => Some(u),
                (None, r) => r,
            },
            Value::Null => None,
            Value::Seq(_) => {
                return Err(format!(
                    "`reference_controls` (line {}) holds a list inside the list",
                    item.line
                ))
            }
        };
        let Some(id) = id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
            continue;
        };
        let id = if id.contains(':') {
            urn_tail(&id, "")
        } else {
            id
        };
        if !id.is_empty() && seen.insert(id.clone()) {
            out.push(id);
        }
    }
    Ok(out)
}
