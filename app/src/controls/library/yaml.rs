//! A YAML text into a small tree, within bounds. `saphyr-parser` gives events; this builds the
//! tree itself so that every bound is checked as the events arrive (never after a blow-up):
//! one document, aliases refused (no CISO Assistant library uses one, and they are what makes a
//! "billion laughs" file), nesting depth, node count and scalar bytes counted. Scalars keep
//! their source text (`1.10` stays "1.10", `2026-05-01` stays text): the reader decides what a
//! field means, not the YAML 1.1 resolver.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashSet;

/// Real libraries nest 7 levels at most.
pub const MAX_DEPTH: usize = 32;
/// The largest library (NZISM) has about 80,000 nodes.
pub const MAX_NODES: usize = 300_000;
/// Scalar text in all (the input is at most 8 MiB; escapes can only shrink it much).
pub const MAX_SCALAR_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug)]
pub struct Node {
    /// 1-based line where the node starts.
    pub line: usize,
    pub value: Value,
}

#[derive(Debug)]
pub enum Value {
    Null,
    /// Any scalar but a plain null, as written (quoted `'~'` is text).
    Text(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn entries(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What the node is, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Text(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why the text is not a tree we read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub why: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.why)
    }
}

fn fail<T>(line: usize, why: impl Into<String>) -> Result<T, YamlError> {
    Err(YamlError {
        line,
        why: why.into(),
    })
}

/// A mapping's keys are looked up linearly while it is small; past this a set keeps the
/// duplicate check linear in time.
const LINEAR_KEYS: usize = 32;

enum Frame {
    Seq(usize, Vec<Node>),
    Map {
        line: usize,
        entries: Vec<(String, Node)>,
        key: Option<String>,
        seen: Option<HashSet<String>>,
    },
}

/// Reads one YAML document. An empty text is `Null`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let (mut documents, mut nodes, mut scalar_bytes) = (0usize, 0usize, 0usize);
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => return fail(e.marker().line(), e.info().to_string()),
        };
        let line = span.start.line();
        let done = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return fail(line, "more than one YAML document (a second `---`)");
                }
                continue;
            }
            Event::Alias(_) => {
                return fail(line, "aliases (`*name`) are not accepted in a library");
            }
            Event::Scalar(text, style, _, tag) => {
                nodes += 1;
                scalar_bytes = scalar_bytes.saturating_add(text.len());
                if scalar_bytes > MAX_SCALAR_BYTES {
                    return fail(line, "more than 16 MiB of text in all");
                }
                let forced_text = tag.is_some_and(|t| t.suffix == "str");
                let plain = style == ScalarStyle::Plain && !forced_text;
                let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Text(text.into_owned())
                };
                Node { line, value }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return fail(line, format!("nested more than {MAX_DEPTH} levels deep"));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq(line, Vec::new())
                } else {
                    Frame::Map {
                        line,
                        entries: Vec::new(),
                        key: None,
                        seen: None,
                    }
                });
                if nodes > MAX_NODES {
                    return fail(line, format!("more than {MAX_NODES} YAML nodes"));
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(line, items)) => Node {
                    line,
                    value: Value::Seq(items),
                },
                Some(Frame::Map { line, entries, .. }) => Node {
                    line,
                    value: Value::Map(entries),
                },
                None => return fail(line, "a collection ends that never started"),
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
        };
        if nodes > MAX_NODES {
            return fail(line, format!("more than {MAX_NODES} YAML nodes"));
        }
        attach(&mut stack, &mut root, done)?;
    }
    Ok(root.unwrap_or(Node {
        line: 1,
        value: Value::Null,
    }))
}

/// Puts a finished node into the collection being built, or makes it the document.
fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => {
            if root.is_some() {
                return fail(node.line, "more than one YAML document");
            }
            *root = Some(node);
        }
        Some(Frame::Seq(_, items)) => items.push(node),
        Some(Frame::Map {
            entries, key, seen, ..
        }) => match key.take() {
            None => {
                let k = match node.value {
                    Value::Text(text) => text,
                    Value::Null => String::new(),
                    _ => return fail(node.line, "a mapping key must be text"),
                };
                let duplicate = match seen {
                    Some(set) => !set.insert(k.clone()),
                    None => {
                        let dup = entries.iter().any(|(e, _)| *e == k);
                        if entries.len() >= LINEAR_KEYS {
                            *seen = Some(entries.iter().map(|(e, _)| e.clone()).collect());
                        }
                        dup
                    }
                };
                if duplicate {
                    return fail(
                        node.line,
                        format!("the key '{k}' appears twice in a mapping"),
                    );
                }
                *key = Some(k);
            }
            Some(k) => {
                if let Some(set) = seen {
                    set.insert(k.clone());
                }
                entries.push((k, node));
            }
        },
    }
    Ok(())
}
