//! The modify phase of profile resolution: `set-parameters` and `alters` on the selected
//! controls, before they are arranged.

use super::{put, Chosen, Resolver, MAX_NESTING};
use crate::controls::import::{array, str_of};
use serde_json::Value;
use std::collections::HashMap;

impl Resolver<'_> {
    /// `set-parameters`: some fields replace the parameter's, lists are added to.
    pub(super) fn set_parameters(
        &mut self,
        modify: &Value,
        chosen: &mut [Chosen],
    ) -> Result<(), String> {
        let mut at: HashMap<String, (usize, usize)> = HashMap::new();
        for (ci, c) in chosen.iter().enumerate() {
            for (pi, p) in array(&c.control, "params").iter().enumerate() {
                if let Some(id) = str_of(p, "id") {
                    at.entry(id.to_string()).or_insert((ci, pi));
                }
            }
        }
        for sp in array(modify, "set-parameters") {
            self.spend(1)?;
            let Some(id) = str_of(sp, "param-id") else {
                self.warn("A set-parameters entry has no \"param-id\"; ignored.".into());
                continue;
            };
            let param = at.get(id).and_then(|&(ci, pi)| {
                chosen
                    .get_mut(ci)?
                    .control
                    .get_mut("params")?
                    .get_mut(pi)?
                    .as_object_mut()
            });
            let Some(param) = param else {
                self.warn(format!(
                    "set-parameters: parameter '{id}' is not in any selected control; ignored."
                ));
                continue;
            };
            for key in ["label", "usage", "values", "select", "class", "depends-on"] {
                if let Some(v) = sp.get(key) {
                    param.insert(key.to_string(), v.clone());
                }
            }
            for key in ["props", "links", "constraints", "guidelines"] {
                let add = array(sp, key);
                if !add.is_empty() {
                    put(param, key, add, false);
                }
            }
        }
        Ok(())
    }

    /// `alters`: per control, its removes, then its adds.
    pub(super) fn alters(
        &mut self,
        modify: &Value,
        chosen: &mut [Chosen],
        at: &HashMap<String, usize>,
    ) -> Result<(), String> {
        for alter in array(modify, "alters") {
            self.spend(1)?;
            let Some(cid) = str_of(alter, "control-id") else {
                self.warn("An alter has no \"control-id\"; ignored.".into());
                continue;
            };
            let Some(control) = at.get(cid).and_then(|&i| chosen.get_mut(i)) else {
                self.warn(format!(
                    "An alter targets control '{cid}', which the profile does not select; \
                     ignored."
                ));
                continue;
            };
            let control = &mut control.control;
            for rm in array(alter, "removes") {
                self.remove(control, cid, rm)?;
            }
            for add in array(alter, "adds") {
                self.add(control, cid, add)?;
            }
        }
        Ok(())
    }

    fn remove(&mut self, control: &mut Value, cid: &str, rm: &Value) -> Result<(), String> {
        let criteria: Vec<(&str, &str)> = [
            ("by-id", "id"),
            ("by-name", "name"),
            ("by-class", "class"),
            ("by-ns", "ns"),
            ("by-item-name", ""),
        ]
        .into_iter()
        .filter_map(|(k, field)| str_of(rm, k).map(|v| (field, v)))
        .collect();
        if criteria.is_empty() {
            self.warn(format!(
                "A remove on control '{cid}' names nothing to remove; ignored."
            ));
            return Ok(());
        }
        let removed = self.remove_in(control, &criteria, 0)?;
        if removed == 0 {
            self.warn(format!("A remove on control '{cid}' matches nothing."));
        }
        Ok(())
    }

    /// Removes, from `node`'s lists and their parts' lists, every item matching all criteria.
    fn remove_in(
        &mut self,
        node: &mut Value,
        criteria: &[(&str, &str)],
        depth: usize,
    ) -> Result<usize, String> {
        let mut removed = 0;
        if depth > MAX_NESTING {
            return Ok(removed);
        }
        for (key, item) in [
            ("params", "param"),
            ("props", "prop"),
            ("links", "link"),
            ("parts", "part"),
        ] {
            let Some(list) = node.get_mut(key).and_then(Value::as_array_mut) else {
                continue;
            };
            self.spend(list.len())?;
            let before = list.len();
            list.retain(|v| {
                !criteria.iter().all(|&(field, want)| {
                    if field.is_empty() {
                        want == item
                    } else {
                        str_of(v, field) == Some(want)
                    }
                })
            });
            removed += before - list.len();
            if key == "params" || key == "parts" {
                for sub in list.iter_mut() {
                    removed += self.remove_in(sub, criteria, depth + 1)?;
                }
            }
        }
        Ok(removed)
    }

    /// One `adds` entry: into the control, or into (or next to) the part `by-id` names.
    fn add(&mut self, control: &mut Value, cid: &str, add: &Value) -> Result<(), String> {
        let position = str_of(add, "position").unwrap_or("ending");
        let first = matches!(position, "starting" | "before");
        let parts = array(add, "parts");
        let deepest = parts.iter().map(|p| part_depth(p, MAX_NESTING + 1)).max();
        let too_deep = |at: usize| at + deepest.unwrap_or(0) > MAX_NESTING;
        let Some(target) = str_of(add, "by-id").filter(|t| *t != cid) else {
            if too_deep(0) {
                self.warn(deep(cid));
                return Ok(());
            }
            // The control itself: "before" and "after" read as "starting" and "ending".
            if let Some(obj) = control.as_object_mut() {
                for key in ["params", "props", "links", "parts"] {
                    put(obj, key, array(add, key), first);
                }
            }
            return Ok(());
        };
        let Some(path) = self.find_part(control, target, 0)? else {
            self.spend(array(control, "params").len())?;
            if let Some(i) = array(control, "params")
                .iter()
                .position(|p| str_of(p, "id") == Some(target))
            {
                if too_deep(0) {
                    self.warn(deep(cid));
                    return Ok(());
                }
                // Parameters go next to the parameter named; the rest to the control.
                let params = array(add, "params").to_vec();
                if let Some(list) = control.get_mut("params").and_then(Value::as_array_mut) {
                    let at = if first { i } else { i + 1 };
                    list.splice(at.min(list.len())..at.min(list.len()), params);
                }
                if let Some(obj) = control.as_object_mut() {
                    for key in ["props", "links", "parts"] {
                        put(obj, key, array(add, key), first);
                    }
                }
                return Ok(());
            }
            self.warn(format!(
                "An add on control '{cid}' targets '{target}', which the control does not \
                 contain; ignored."
            ));
            return Ok(());
        };
        if too_deep(path.len()) {
            self.warn(deep(cid));
            return Ok(());
        }
        if let Some(obj) = control.as_object_mut() {
            put(obj, "params", array(add, "params"), first);
        }
        let (inside, last) = match position {
            "before" | "after" => (&path[..path.len().saturating_sub(1)], path.last().copied()),
            _ => (&path[..], None),
        };
        let Some(node) = walk_parts(control, inside).and_then(Value::as_object_mut) else {
            return Ok(());
        };
        put(node, "props", array(add, "props"), first);
        put(node, "links", array(add, "links"), first);
        match last {
            // Next to the target, among its siblings.
            Some(i) => {
                if let Some(list) = node.get_mut("parts").and_then(Value::as_array_mut) {
                    let at = (if first { i } else { i + 1 }).min(list.len());
                    list.splice(at..at, parts.iter().cloned());
                }
            }
            None => put(node, "parts", parts, first),
        }
        Ok(())
    }

    /// The indices leading from `node` through `parts` to the part with this id.
    fn find_part(
        &mut self,
        node: &Value,
        id: &str,
        depth: usize,
    ) -> Result<Option<Vec<usize>>, String> {
        if depth >= MAX_NESTING {
            return Ok(None);
        }
        let parts = array(node, "parts");
        self.spend(parts.len())?;
        for (i, p) in parts.iter().enumerate() {
            if str_of(p, "id") == Some(id) {
                return Ok(Some(vec![i]));
            }
            if let Some(mut path) = self.find_part(p, id, depth + 1)? {
                path.insert(0, i);
                return Ok(Some(path));
            }
        }
        Ok(None)
    }
}

fn deep(cid: &str) -> String {
    format!(
        "An add on control '{cid}' would nest parts more than {MAX_NESTING} levels deep; ignored."
    )
}

/// The part reached from `node` by following `path` through `parts`.
fn walk_parts<'v>(node: &'v mut Value, path: &[usize]) -> Option<&'v mut Value> {
    let mut node = node;
    for &i in path {
        node = node.get_mut("parts")?.get_mut(i)?;
    }
    Some(node)
}

/// How many levels of parts `part` holds (itself included), counted up to `cap`.
fn part_depth(part: &Value, cap: usize) -> usize {
    if cap == 0 {
        return 0;
    }
    1 + array(part, "parts")
        .iter()
        .map(|p| part_depth(p, cap - 1))
        .max()
        .unwrap_or(0)
}
