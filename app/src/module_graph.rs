//! The check that modules do not depend on each other in a circle (run with the unit tests).
//!
//! Nodes are modules (one per file). An edge `a → b` is any path into `b` written in `a`: `use`
//! lines and paths in code alike (`crate::…`, `super::…`, a child or sibling module by name).
//! A path from a module into one of its own ancestors is not an edge: a submodule is part of
//! its parent (an area's `store.rs` returns the types its `mod.rs` declares, and `mod.rs`
//! calls `store.rs`; that is one area, not a cycle). Everything else must form no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Cycles known and left alone, each owned elsewhere: the check fails on any other.
/// `db` (`WriteTx` appends the audit event), `audit::chain` (reads through `Db`) and `bulk`
/// (SQLite bulk inserts, installed by `db`) belong to the database and cost-import work.
const KNOWN: &[&[&str]] = &[&["audit::chain", "bulk", "db"]];

/// Source text without comments, string and character literals (their contents are not code).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && next == Some(b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == b'r' && matches!(next, Some(b'"') | Some(b'#')) && !ident_before(b, i) {
            // Raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c as char);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&b'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if next == Some(b'\\') {
                let from = (i + 3).min(b.len());
                b[from..].iter().position(|&x| x == b'\'').map(|p| from + p)
            } else {
                let len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match close {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let len = src[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&src[i..i + len]);
            i += len;
        }
    }
    out
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Every path written in the code, as segments: `use` trees expanded, then `a::b::c` anywhere.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before_ok = rest[..at]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let tail = &rest[at + 4..];
        let Some(end) = tail.find(';') else { break };
        if before_ok {
            expand_use(&[], &tail[..end], &mut out);
        }
        rest = &tail[end..];
    }
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = (chars[i].is_ascii_lowercase() || chars[i] == '_')
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts {
            i += 1;
            continue;
        }
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let s = j;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            segs.push(chars[s..j].iter().collect::<String>());
            if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                j += 2;
                if !chars
                    .get(j)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    break;
                }
            } else {
                break;
            }
        }
        if segs.len() > 1 {
            out.push(segs);
        }
        i = j.max(i + 1);
    }
    out
}

fn expand_use(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let mut pre = prefix.to_vec();
        pre.extend(split_path(&tree[..open]));
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let (mut depth, mut start) = (0, 0);
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&pre, &inner[start..k], out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        expand_use(&pre, &inner[start..], out);
    } else if !tree.is_empty() {
        let mut p = prefix.to_vec();
        p.extend(split_path(tree.split(" as ").next().unwrap_or(tree)));
        out.push(p);
    }
}

fn split_path(s: &str) -> Vec<String> {
    s.split("::")
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The module a path lands in (the longest prefix that is a module), if it is ours.
fn resolve(modules: &BTreeSet<Module>, from: &Module, segs: &[String]) -> Option<Module> {
    let (mut base, rest): (Module, &[String]) = match segs[0].as_str() {
        "crate" => (Vec::new(), &segs[1..]),
        "self" => (from.clone(), &segs[1..]),
        "super" => {
            let mut b = from.clone();
            let mut k = 0;
            while segs.get(k).map(String::as_str) == Some("super") {
                b.pop();
                k += 1;
            }
            (b, &segs[k..])
        }
        first => {
            let mut child = from.clone();
            child.push(first.to_string());
            let mut sibling = from[..from.len().saturating_sub(1)].to_vec();
            sibling.push(first.to_string());
            if modules.contains(&child) {
                (from.clone(), segs)
            } else if !from.is_empty() && modules.contains(&sibling) {
                (from[..from.len() - 1].to_vec(), segs)
            } else {
                return None;
            }
        }
    };
    let mut best = base.clone();
    for s in rest {
        base.push(s.clone());
        if modules.contains(&base) {
            best = base.clone();
        } else {
            break;
        }
    }
    Some(best)
}

fn module_of(rel: &Path) -> Module {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if parts.last().map(String::as_str) == Some("mod") || parts == ["lib"] {
        parts.pop();
    }
    parts
}

fn collect(dir: &Path, root: &Path, files: &mut Vec<(Module, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, root, files);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            let src = std::fs::read_to_string(&p).unwrap_or_default();
            files.push((module_of(&rel), src));
        }
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<BTreeSet<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit(t: &mut T, v: &Module) {
        let n = t.index.len();
        t.index.insert(v.clone(), n);
        t.low.insert(v.clone(), n);
        t.stack.push(v.clone());
        for w in t.edges.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.stack.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                let done = &w == v;
                scc.insert(w.join("::"));
                if done {
                    break;
                }
            }
            if scc.len() > 1 {
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn modules_form_no_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, src) in &files {
        let deps = edges.entry(m.clone()).or_default();
        for segs in paths_in(&code_only(src)) {
            if let Some(target) = resolve(&modules, m, &segs) {
                // Its own ancestors (and itself) are part of the module, not dependencies.
                if !m.starts_with(&target) {
                    deps.insert(target);
                }
            }
        }
    }
    assert!(
        edges.contains_key(&vec!["policy".to_string()]),
        "the walk found the modules"
    );
    let unexpected: Vec<_> = cycles(&edges)
        .into_iter()
        .filter(|c| {
            !KNOWN
                .iter()
                .any(|k| c.iter().all(|m| k.contains(&m.as_str())))
        })
        .collect();
    assert!(unexpected.is_empty(), "modules in a cycle: {unexpected:?}");
}

#[test]
fn the_reader_sees_paths_not_strings() {
    let code = code_only(
        "use crate::a::{b, c::d}; // crate::x::y\nlet s = \"crate::z::w\"; let c = '\"'; f::<'a>(super::e::f);",
    );
    let paths = paths_in(&code);
    assert!(paths.contains(&split_path("crate::a::b")));
    assert!(paths.contains(&split_path("crate::a::c::d")));
    assert!(paths.contains(&split_path("super::e::f")));
    assert!(!paths
        .iter()
        .any(|p| p.contains(&"x".to_string()) || p.contains(&"z".to_string())));
}
