//! The selection phase of profile resolution: which controls of a catalog an import takes.

use super::{Resolver, MAX_NESTING};
use crate::controls::import::{array, str_of};
use serde_json::Value;
use std::collections::HashMap;

/// A control of an imported catalog, in document order (a subtree is a contiguous range).
pub(super) struct Entry<'v> {
    pub(super) id: &'v str,
    pub(super) value: &'v Value,
    /// One past the last of its descendants.
    end: usize,
}

impl Resolver<'_> {
    /// Every control of a catalog, in document order.
    pub(super) fn index<'v>(
        &mut self,
        catalog: &'v Value,
        href: &str,
    ) -> Result<Vec<Entry<'v>>, String> {
        let mut out = Vec::new();
        self.index_level(catalog, 0, href, &mut out)?;
        Ok(out)
    }

    fn index_level<'v>(
        &mut self,
        node: &'v Value,
        depth: usize,
        href: &str,
        out: &mut Vec<Entry<'v>>,
    ) -> Result<(), String> {
        if depth > MAX_NESTING {
            return Err(format!(
                "The catalog imported as '{href}' nests groups and controls more than \
                 {MAX_NESTING} levels deep."
            ));
        }
        self.spend(1)?;
        for g in array(node, "groups") {
            self.index_level(g, depth + 1, href, out)?;
        }
        for c in array(node, "controls") {
            let id = str_of(c, "id").ok_or_else(|| {
                format!("A control of the catalog imported as '{href}' has no id.")
            })?;
            let at = out.len();
            out.push(Entry {
                id,
                value: c,
                end: at + 1,
            });
            self.index_level(c, depth + 1, href, out)?;
            let end = out.len();
            if let Some(e) = out.get_mut(at) {
                e.end = end;
            }
        }
        Ok(())
    }

    /// Which controls one import selects: its includes less its excludes.
    pub(super) fn select(
        &mut self,
        imp: &Value,
        entries: &[Entry],
        href: &str,
    ) -> Result<Vec<bool>, String> {
        let mut picked = vec![false; entries.len()];
        if imp.get("include-all").is_some() {
            picked.fill(true);
        } else if let Some(sels) = imp.get("include-controls").and_then(Value::as_array) {
            self.mark(sels, entries, href, true, &mut picked)?;
        } else {
            return Err(format!(
                "Import '{href}' selects nothing: it needs \"include-all\" or \
                 \"include-controls\"."
            ));
        }
        // Excluding always wins over including.
        self.mark(
            array(imp, "exclude-controls"),
            entries,
            href,
            false,
            &mut picked,
        )?;
        Ok(picked)
    }

    fn mark(
        &mut self,
        sels: &[Value],
        entries: &[Entry],
        href: &str,
        to: bool,
        picked: &mut [bool],
    ) -> Result<(), String> {
        let by_id: HashMap<&str, usize> = entries
            .iter()
            .enumerate()
            .rev() // the first of a repeated id wins
            .map(|(i, e)| (e.id, i))
            .collect();
        for sel in sels {
            let children = str_of(sel, "with-child-controls") == Some("yes");
            let mut hits = Vec::new();
            for id in array(sel, "with-ids").iter().filter_map(Value::as_str) {
                match by_id.get(id) {
                    Some(&i) => hits.push(i),
                    None if to => self.warn(format!(
                        "Import '{href}': control '{id}' is not in the catalog."
                    )),
                    None => {}
                }
            }
            for m in array(sel, "matching") {
                let Some(pattern) = str_of(m, "pattern") else {
                    continue;
                };
                let p: Vec<char> = pattern.chars().collect();
                let before = hits.len();
                for (i, e) in entries.iter().enumerate() {
                    self.spend((p.len() + 1).saturating_mul(e.id.len() + 1))?;
                    if glob(&p, e.id) {
                        hits.push(i);
                    }
                }
                if to && hits.len() == before {
                    self.warn(format!(
                        "Import '{href}': the pattern '{pattern}' matches no control."
                    ));
                }
            }
            for i in hits {
                let end = match entries.get(i) {
                    Some(e) if children => e.end,
                    _ => i + 1,
                };
                self.spend(end.saturating_sub(i))?;
                for p in picked.iter_mut().take(end).skip(i) {
                    *p = to;
                }
            }
        }
        Ok(())
    }
}

/// `*` matches any run of characters, `?` any one character.
pub(super) fn glob(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it is currently stretched to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || text.get(t) == Some(&c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).unwrap_or(&[]).iter().all(|&c| c == '*')
}
