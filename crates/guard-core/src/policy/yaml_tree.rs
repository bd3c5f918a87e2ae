//! A YAML document as a tree of nodes that remember where they stand in the file.
//!
//! serde tells the first error of a file and forgets positions once it succeeds; validation needs
//! every error, each at its place. So the file is also read into this tree, and every later layer
//! (duplicate keys, unknown fields, semantics) looks positions up here by path.

use crate::diagnostic::Span;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Bounds that keep a hostile file from costing more than a moment.
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar and whether it was quoted (a quoted `"1"` is a string, a plain `1` a number).
    Scalar { text: String, quoted: bool },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// An alias (`*name`): not expanded here; serde expands it with its own limits.
    Alias,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

/// One step of a path into the tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for Seg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seg::Key(k) => write!(f, ".{k}"),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Parse failures of the YAML layer.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

impl Node {
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, quoted: false } if is_null_text(text))
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            NodeKind::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node under `key` of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries().iter().find(|(k, _)| k.scalar() == Some(key)).map(|(k, v)| (k, v))
    }

    pub fn items(&self) -> &[Node] {
        match &self.kind {
            NodeKind::Seq(items) => items,
            _ => &[],
        }
    }

    /// The node at `path`, if every step exists.
    pub fn at(&self, path: &[Seg]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match seg {
                Seg::Key(k) => node.get(k)?,
                Seg::Index(i) => node.items().get(*i)?,
            };
        }
        Some(node)
    }

    /// The span of the key that introduces the last step of `path` (for "this entry" errors), or
    /// the node's own span when the last step is an index.
    pub fn key_span(&self, path: &[Seg]) -> Option<Span> {
        let (last, parent) = path.split_last()?;
        let parent = self.at(parent)?;
        match last {
            Seg::Key(k) => parent.entry(k).map(|(key, _)| key.span),
            Seg::Index(i) => parent.items().get(*i).map(|n| n.span),
        }
    }

    /// The kind of node, in words, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "nothing (null)",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
            NodeKind::Alias => "an alias",
        }
    }
}

pub fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Reads the first document of `text`. `Ok(None)` means the file holds no document at all (empty,
/// or only comments).
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder { stack: Vec::new(), root: None, error: None, nodes: 0, documents: 0 };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let span = marker_span(text, e.marker(), 1);
        return Err(YamlError { message: e.info().to_owned(), span });
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    if builder.documents > 1 {
        return Err(YamlError {
            message: "a policy file holds one YAML document; this one has several (`---`)".into(),
            span: Span::start(),
        });
    }
    Ok(builder.root.map(|n| fix_columns(n, text)))
}

struct Frame {
    node: Node,
    pending_key: Option<Node>,
}

struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    error: Option<YamlError>,
    nodes: usize,
    documents: usize,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(frame) => match &mut frame.node.kind {
                NodeKind::Seq(items) => items.push(node),
                NodeKind::Map(entries) => match frame.pending_key.take() {
                    None => frame.pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                _ => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        // Spans hold the raw marker index for now (column = byte index + 1); `fix_columns` turns
        // them into line and character column once the whole tree is known.
        let span = Span { line: mark.line(), column: mark.index() + 1, len: 1 };
        match ev {
            Event::DocumentStart => self.documents += 1,
            Event::Scalar(text, style, _, _) => {
                self.nodes += 1;
                let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
                let len = text.chars().count().max(1);
                self.push_value(Node {
                    kind: NodeKind::Scalar { text, quoted },
                    span: Span { len, ..span },
                });
            }
            Event::Alias(_) => {
                self.nodes += 1;
                self.push_value(Node { kind: NodeKind::Alias, span });
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                self.nodes += 1;
                if self.stack.len() >= MAX_DEPTH {
                    self.error = Some(YamlError {
                        message: format!("nested more than {MAX_DEPTH} levels deep"),
                        span,
                    });
                    return;
                }
                let kind = if matches!(ev, Event::SequenceStart(..)) {
                    NodeKind::Seq(Vec::new())
                } else {
                    NodeKind::Map(Vec::new())
                };
                self.stack.push(Frame { node: Node { kind, span }, pending_key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    self.push_value(frame.node);
                }
            }
            _ => {}
        }
        if self.nodes > MAX_NODES {
            self.error = Some(YamlError {
                message: format!("more than {MAX_NODES} YAML nodes; a policy is far smaller"),
                span,
            });
        }
    }
}

/// Byte offsets of every line start, to turn an offset into a line and character column.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

fn offset_to_span(text: &str, starts: &[usize], offset: usize, len: usize) -> Span {
    // yaml-rust2 counts its index in characters; map it to a byte offset first.
    let byte = text.char_indices().nth(offset).map(|(b, _)| b).unwrap_or(text.len());
    let line = starts.partition_point(|&s| s <= byte).max(1);
    let line_start = starts[line - 1];
    let column = text[line_start..byte].chars().count() + 1;
    Span::new(line, column, len)
}

fn marker_span(text: &str, marker: &Marker, len: usize) -> Span {
    offset_to_span(text, &line_starts(text), marker.index(), len)
}

fn fix_columns(root: Node, text: &str) -> Node {
    let starts = line_starts(text);
    // Character offsets of each line start, so that a char index maps to a byte offset cheaply.
    let mut char_starts = Vec::with_capacity(starts.len());
    let mut chars = 0;
    let mut prev = 0;
    for &s in &starts {
        chars += text[prev..s].chars().count();
        char_starts.push(chars);
        prev = s;
    }
    fn walk(node: Node, char_starts: &[usize]) -> Node {
        let char_index = node.span.column - 1;
        let line = char_starts.partition_point(|&s| s <= char_index).max(1);
        let column = char_index - char_starts[line - 1] + 1;
        let span = Span::new(line, column, node.span.len);
        let kind = match node.kind {
            NodeKind::Seq(items) => NodeKind::Seq(items.into_iter().map(|n| walk(n, char_starts)).collect()),
            NodeKind::Map(entries) => NodeKind::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (walk(k, char_starts), walk(v, char_starts)))
                    .collect(),
            ),
            other => other,
        };
        Node { kind, span }
    }
    walk(root, &char_starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_line_and_character_column() {
        let text = "version: 1\nbudgets:\n  chat:\n    amount: 500\n    note: \"é x\"\n";
        let root = parse(text).unwrap().unwrap();
        let amount = root
            .at(&[Seg::Key("budgets".into()), Seg::Key("chat".into()), Seg::Key("amount".into())])
            .unwrap();
        assert_eq!(amount.span, Span::new(4, 13, 3));
        let key = root
            .key_span(&[Seg::Key("budgets".into()), Seg::Key("chat".into()), Seg::Key("amount".into())])
            .unwrap();
        assert_eq!((key.line, key.column), (4, 5));
    }

    #[test]
    fn comments_only_is_no_document() {
        assert_eq!(parse("# nothing here\n\n").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse("version: 1\nbudgets: [a, b\n").unwrap_err();
        assert!(err.span.line >= 2, "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(500);
        assert!(parse(&text).is_err());
    }
}
