//! A YAML document as a tree of nodes that remember where they stand in the file.
//!
//! serde tells the first error of a file and forgets positions once it succeeds; validation needs
//! every error, each at its place. So the file is also read into this tree, and every later layer
//! (duplicate keys, unknown fields, semantics) looks positions up here by path.

use crate::diagnostic::Span;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Bounds that keep a hostile file from costing more than a moment.
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;
/// The nodes a document holds once every alias is replaced by what it names. serde expands
/// aliases; without this bound, a few kilobytes of anchors and aliases in fields of the right type
/// (a list of channels named once and referred to from thousands of thresholds) expand to billions
/// of strings before any semantic check can refuse them.
const MAX_EXPANDED_NODES: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar and whether it was quoted (a quoted `"1"` is a string, a plain `1` a number).
    Scalar {
        text: String,
        quoted: bool,
    },
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
    /// What to do about it, when the layer knows better than a generic hint.
    pub help: Option<String>,
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
        self.entries()
            .iter()
            .find(|(k, _)| k.scalar() == Some(key))
            .map(|(k, v)| (k, v))
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
    let mut builder = Builder {
        stack: Vec::new(),
        root: None,
        error: None,
        nodes: 0,
        documents: Vec::new(),
        expanded: 0,
        anchors: HashMap::new(),
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let span = clamp_to_text(text, marker_span(e.marker(), 1));
        return Err(YamlError {
            message: e.info().to_owned(),
            span,
            help: None,
        });
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    if let Some(second) = builder.documents.get(1) {
        return Err(YamlError {
            message: "a second YAML document starts here; a policy file holds one".into(),
            span: clamp_to_text(text, *second),
            help: Some("split the documents into files of one policy folder; they merge".into()),
        });
    }
    Ok(builder.root)
}

struct Frame {
    node: Node,
    pending_key: Option<Node>,
    /// The anchor id the node carries (0: none), and the expanded count when it began.
    anchor: usize,
    expanded_at_start: usize,
}

struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    error: Option<YamlError>,
    nodes: usize,
    /// Where each document starts.
    documents: Vec<Span>,
    /// Nodes counted with every alias expanded, and the expanded size of each anchor so far.
    expanded: usize,
    anchors: HashMap<usize, usize>,
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
        let span = marker_span(&mark, 1);
        match ev {
            Event::DocumentStart => self.documents.push(span),
            Event::Scalar(text, style, anchor, _) => {
                self.nodes += 1;
                self.expanded += 1;
                if anchor != 0 {
                    self.anchors.insert(anchor, 1);
                }
                let quoted = matches!(
                    style,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                );
                // Underline the quotes too when the scalar sits on one line.
                let len = text.chars().count() + if quoted && !text.contains('\n') { 2 } else { 0 };
                self.push_value(Node {
                    kind: NodeKind::Scalar { text, quoted },
                    span: Span::new(span.line, span.column, len),
                });
            }
            Event::Alias(anchor) => {
                self.nodes += 1;
                self.expanded = self
                    .expanded
                    .saturating_add(self.anchors.get(&anchor).copied().unwrap_or(1));
                self.push_value(Node {
                    kind: NodeKind::Alias,
                    span,
                });
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.nodes += 1;
                self.expanded += 1;
                if self.stack.len() >= MAX_DEPTH {
                    self.error = Some(YamlError {
                        message: format!("nested more than {MAX_DEPTH} levels deep"),
                        span,
                        help: Some(
                            "a policy is a few levels deep; look for runaway brackets".into(),
                        ),
                    });
                    return;
                }
                let kind = if matches!(ev, Event::SequenceStart(..)) {
                    NodeKind::Seq(Vec::new())
                } else {
                    NodeKind::Map(Vec::new())
                };
                self.stack.push(Frame {
                    node: Node { kind, span },
                    pending_key: None,
                    anchor,
                    expanded_at_start: self.expanded - 1,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(mut frame) = self.stack.pop() {
                    if frame.anchor != 0 {
                        self.anchors
                            .insert(frame.anchor, self.expanded - frame.expanded_at_start);
                    }
                    // A block mapping's start marker stands at its first `:`, not where it
                    // begins; its first key is where a reader looks ("missing field in ...").
                    if let Some((first, _)) = frame.node.entries().first() {
                        if (first.span.line, first.span.column)
                            < (frame.node.span.line, frame.node.span.column)
                        {
                            frame.node.span = Span::new(first.span.line, first.span.column, 1);
                        }
                    }
                    self.push_value(frame.node);
                }
            }
            _ => {}
        }
        if self.expanded > MAX_EXPANDED_NODES && self.error.is_none() {
            self.error = Some(YamlError {
                message: format!("aliases expand this file to more than {MAX_EXPANDED_NODES} YAML nodes"),
                span,
                help: Some("write the values out, or use fewer `*alias` references; a policy is far smaller".into()),
            });
            return;
        }
        if self.nodes > MAX_NODES {
            self.error = Some(YamlError {
                message: format!("more than {MAX_NODES} YAML nodes; a policy is far smaller"),
                span,
                help: Some("split the policy into several files of one folder".into()),
            });
        }
    }
}

/// A marker's place as line and character column.
///
/// yaml-rust2's `Marker::index` is documented as bytes but mostly counts characters, and counts
/// bytes only over the lines of block scalars (`|`, `>`), so an index cannot be mapped back to a
/// column either way. `line` and `col` are reliable: `col` counts characters from 0 and restarts at
/// every line break, so non-ASCII text earlier on the line or on earlier lines cannot shift it.
fn marker_span(marker: &Marker, len: usize) -> Span {
    Span::new(marker.line().max(1), marker.col() + 1, len)
}

/// Errors at the end of input point past the last line; point at the end of the last line that
/// has text instead, so the report can show it.
fn clamp_to_text(text: &str, span: Span) -> Span {
    let lines: Vec<&str> = text.lines().collect();
    if span.line <= lines.len() {
        return span;
    }
    match lines.iter().rposition(|l| !l.trim().is_empty()) {
        Some(i) => Span::new(i + 1, lines[i].chars().count() + 1, 1),
        None => Span::start(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_line_and_character_column() {
        let text = "version: 1\nbudgets:\n  chat:\n    amount: 500\n    note: \"é x\"\n";
        let root = parse(text).unwrap().unwrap();
        let amount = root
            .at(&[
                Seg::Key("budgets".into()),
                Seg::Key("chat".into()),
                Seg::Key("amount".into()),
            ])
            .unwrap();
        assert_eq!(amount.span, Span::new(4, 13, 3));
        let key = root
            .key_span(&[
                Seg::Key("budgets".into()),
                Seg::Key("chat".into()),
                Seg::Key("amount".into()),
            ])
            .unwrap();
        assert_eq!((key.line, key.column), (4, 5));
    }

    fn spans_of_top_keys(text: &str) -> Vec<(String, Span, Span)> {
        let root = parse(text).unwrap().unwrap();
        root.entries()
            .iter()
            .map(|(k, v)| (k.scalar().unwrap().to_owned(), k.span, v.span))
            .collect()
    }

    #[test]
    fn non_ascii_before_a_token_on_the_same_line_counts_as_characters() {
        // `é` is two bytes, `🙂` four: a byte count would put `x` at column 15.
        let spans = spans_of_top_keys("a: [é, 🙂, x]\nb: \"ééé\" # ü\nc: ok\n");
        let root = parse("a: [é, 🙂, x]\n").unwrap().unwrap();
        let x = root.at(&[Seg::Key("a".into()), Seg::Index(2)]).unwrap();
        assert_eq!(x.span, Span::new(1, 11, 1));
        assert_eq!(
            spans[1].2,
            Span::new(2, 4, 5),
            "a quoted scalar underlines its quotes"
        );
        assert_eq!(spans[2].1, Span::new(3, 1, 1));
    }

    #[test]
    fn non_ascii_on_earlier_lines_does_not_shift_later_columns() {
        // Plain, quoted, flow and block scalars with non-ASCII text; yaml-rust2 counts the block
        // scalar's lines in bytes in its index, which once pushed `b` to column 4.
        let text = "a: |\n  héé ñ\n  ü\nb: 1\nc: \"éé\"\nd: [é, x]\ne: >\n  日本語\nf: 2\n";
        let spans = spans_of_top_keys(text);
        let keys: Vec<(&str, (usize, usize))> = spans
            .iter()
            .map(|(k, s, _)| (k.as_str(), (s.line, s.column)))
            .collect();
        assert_eq!(
            keys,
            [
                ("a", (1, 1)),
                ("b", (4, 1)),
                ("c", (5, 1)),
                ("d", (6, 1)),
                ("e", (7, 1)),
                ("f", (9, 1))
            ]
        );
        let values: Vec<(usize, usize)> =
            spans.iter().map(|(_, _, v)| (v.line, v.column)).collect();
        assert_eq!(values[1], (4, 4));
        assert_eq!(values[5], (9, 4));
    }

    #[test]
    fn error_at_end_of_input_points_at_the_last_line_with_text() {
        let err = parse("version: 1\nbudgets: [a, b\n\n").unwrap_err();
        assert_eq!(err.span.line, 2, "{err:?}");
        assert_eq!(err.span.column, "budgets: [a, b".len() + 1);
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
