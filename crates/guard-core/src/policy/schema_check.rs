//! The structure layer: walks a YAML tree beside the policy's JSON Schema (generated from the serde
//! types, so the two cannot disagree) and reports every unknown field, missing field and value of
//! the wrong kind, each at its place, where serde would stop at the first.

use super::codes;
use super::yaml_tree::{Node, NodeKind, is_null_text};
use crate::diagnostic::{Diagnostic, Span};
use serde_json::{Map, Value};

pub struct SchemaChecker<'s> {
    root: &'s Value,
}

impl<'s> SchemaChecker<'s> {
    pub fn new(root: &'s Value) -> Self {
        SchemaChecker { root }
    }

    pub fn check(&self, file: &str, node: &Node, out: &mut Vec<Diagnostic>) {
        self.walk(file, node, self.root, "the policy file", None, out);
    }

    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        // `$ref: "#/$defs/Name"`, possibly chained.
        for _ in 0..16 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let name = reference.rsplit('/').next().unwrap_or_default();
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    /// `owner` is the key whose value `node` is, where "missing field" errors point.
    fn walk(
        &self,
        file: &str,
        node: &Node,
        schema: &'s Value,
        what: &str,
        owner: Option<Span>,
        out: &mut Vec<Diagnostic>,
    ) {
        let schema = self.resolve(schema);
        if matches!(node.kind, NodeKind::Alias) || schema.as_bool() == Some(true) {
            return;
        }
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            // schemars writes an enum whose variants carry doc comments as `oneOf` of `const`
            // branches; treat it as the enum it is, so a typo gets "did you mean" rather than
            // passing here and failing in serde without a help line.
            let consts: Option<Vec<&str>> = branches
                .iter()
                .map(|b| self.resolve(b).get("const")?.as_str())
                .collect();
            if let Some(allowed) = consts.filter(|c| !c.is_empty()) {
                self.check_enum(file, node, &allowed, what, out);
                return;
            }
            // Take the first branch that accepts the node; if none does, report the errors of the
            // branch the author most likely meant: one of the node's own type (a mapping where a
            // mapping is allowed) before one that only says "should be text", then the one that
            // got furthest (fewest errors).
            let mut best: Option<((bool, usize), Vec<Diagnostic>)> = None;
            for branch in branches {
                let mut errors = Vec::new();
                self.walk(file, node, branch, what, owner, &mut errors);
                if errors.is_empty() {
                    return;
                }
                let types = types_of(self.resolve(branch));
                let other_type = !types.is_empty() && !types.iter().any(|t| accepts(t, node));
                let rank = (other_type, errors.len());
                if best.as_ref().is_none_or(|(b, _)| rank < *b) {
                    best = Some((rank, errors));
                }
            }
            out.extend(best.map(|(_, e)| e).unwrap_or_default());
            return;
        }
        let types = types_of(schema);
        if !types.is_empty() && !types.iter().any(|t| accepts(t, node)) {
            let expected = types
                .iter()
                .filter(|t| *t != "null")
                .map(|t| describe_type(t))
                .collect::<Vec<_>>();
            let found = match &node.kind {
                NodeKind::Scalar { text, .. } if !node.is_null() => format!("`{}`", shorten(text)),
                _ => node.describe().to_owned(),
            };
            out.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    file,
                    node.span,
                    format!("{what} should be {}, found {found}", expected.join(" or ")),
                )
                .with_help(type_help(&types)),
            );
            return;
        }
        if types.iter().any(|t| t == "integer") {
            if let NodeKind::Scalar {
                text,
                quoted: false,
            } = &node.kind
            {
                if let Some(d) = integer_range(file, node, text, schema, what) {
                    out.push(d);
                    return;
                }
            }
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let allowed: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            self.check_enum(file, node, &allowed, what, out);
            return;
        }
        match &node.kind {
            NodeKind::Map(_) => self.walk_map(file, node, schema, what, owner, out),
            NodeKind::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.walk(
                            file,
                            item,
                            item_schema,
                            &format!("item {} of {what}", i + 1),
                            None,
                            out,
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn check_enum(
        &self,
        file: &str,
        node: &Node,
        allowed: &[&str],
        what: &str,
        out: &mut Vec<Diagnostic>,
    ) {
        let Some(text) = node.scalar() else {
            out.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    file,
                    node.span,
                    format!(
                        "{what} should be one of {}, found {}",
                        allowed.join(", "),
                        node.describe()
                    ),
                )
                .with_help(format!("write one of: {}", allowed.join(", "))),
            );
            return;
        };
        if allowed.is_empty() || allowed.contains(&text) {
            return;
        }
        let d = Diagnostic::error(
            codes::UNKNOWN_VALUE,
            file,
            node.span,
            format!("unknown value `{}` for {what}", shorten(text)),
        );
        out.push(match did_you_mean(text, allowed.iter().copied()) {
            Some(s) => d.with_help(format!(
                "did you mean `{s}`? expected one of: {}",
                allowed.join(", ")
            )),
            None => d.with_help(format!("expected one of: {}", allowed.join(", "))),
        });
    }

    fn walk_map(
        &self,
        file: &str,
        node: &Node,
        schema: &'s Value,
        what: &str,
        owner: Option<Span>,
        out: &mut Vec<Diagnostic>,
    ) {
        let entries = node.entries();
        let empty = Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let additional = schema.get("additionalProperties");
        let mut missing: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        missing.retain(|field| !entries.iter().any(|(k, _)| k.scalar() == Some(*field)));
        // A misspelt required field is one mistake, reported once at the misspelling.
        let mut misspelt: Vec<&str> = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.scalar() else {
                out.push(Diagnostic::error(
                    codes::KEY_NOT_PLAIN,
                    file,
                    key.span,
                    format!("keys of {what} must be plain names"),
                ));
                continue;
            };
            if let Some(prop) = properties.get(name) {
                self.walk(file, value, prop, &format!("`{name}`"), Some(key.span), out);
            } else {
                match additional {
                    Some(Value::Bool(false)) => {
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_FIELD,
                            file,
                            key.span,
                            format!("unknown field `{name}` in {what}"),
                        );
                        let known: Vec<&str> = properties.keys().map(String::as_str).collect();
                        d = match did_you_mean(name, known.iter().copied()) {
                            Some(s) if missing.contains(&s) => {
                                misspelt.push(s);
                                d.with_help(format!(
                                    "did you mean `{s}`? it is required and missing"
                                ))
                            }
                            Some(s) => d.with_help(format!(
                                "did you mean `{s}`? expected one of: {}",
                                known.join(", ")
                            )),
                            None => d.with_help(format!("expected one of: {}", known.join(", "))),
                        };
                        out.push(d);
                    }
                    Some(extra @ Value::Object(_)) => {
                        self.walk(
                            file,
                            value,
                            extra,
                            &format!("`{name}`"),
                            Some(key.span),
                            out,
                        );
                    }
                    _ => {}
                }
            }
        }
        for field in missing.into_iter().filter(|f| !misspelt.contains(f)) {
            let span = owner.unwrap_or(Span::new(node.span.line, node.span.column, 1));
            out.push(
                Diagnostic::error(
                    codes::MISSING_FIELD,
                    file,
                    span,
                    format!("missing field `{field}` in {what}"),
                )
                .with_help(format!(
                    "add `{field}:`{}",
                    describe_field(properties.get(field))
                )),
            );
        }
    }
}

fn describe_field(schema: Option<&Value>) -> String {
    schema
        .and_then(|s| s.get("description"))
        .and_then(Value::as_str)
        .map(|d| format!(" ({})", d.trim_end_matches('.').to_lowercase()))
        .unwrap_or_default()
}

fn types_of(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn accepts(ty: &str, node: &Node) -> bool {
    match (&node.kind, ty) {
        (NodeKind::Alias, _) => true,
        (NodeKind::Map(_), "object") => true,
        (NodeKind::Seq(_), "array") => true,
        (NodeKind::Scalar { .. }, "null") => node.is_null(),
        (NodeKind::Scalar { text, quoted }, _) if !*quoted && is_null_text(text) => ty == "null",
        (NodeKind::Scalar { .. }, "string") => true,
        (
            NodeKind::Scalar {
                text,
                quoted: false,
            },
            "integer",
        ) => is_integer(text),
        (
            NodeKind::Scalar {
                text,
                quoted: false,
            },
            "number",
        ) => is_integer(text) || text.parse::<f64>().is_ok_and(f64::is_finite),
        (
            NodeKind::Scalar {
                text,
                quoted: false,
            },
            "boolean",
        ) => matches!(
            text.as_str(),
            "true" | "false" | "True" | "False" | "TRUE" | "FALSE"
        ),
        _ => false,
    }
}

/// A whole number outside what its field holds: below `minimum`, or past the `format`'s range
/// (serde would refuse it later with a message about Rust types).
fn integer_range(
    file: &str,
    node: &Node,
    text: &str,
    schema: &Value,
    what: &str,
) -> Option<Diagnostic> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    let value: Option<i128> = digits.parse().ok();
    let minimum = schema
        .get("minimum")
        .and_then(Value::as_i64)
        .map(i128::from);
    let maximum = match schema.get("format").and_then(Value::as_str) {
        Some("uint32") => Some(i128::from(u32::MAX)),
        Some("uint64") => Some(i128::from(u64::MAX)),
        Some("int32") => Some(i128::from(i32::MAX)),
        Some("int64") => Some(i128::from(i64::MAX)),
        _ => None,
    };
    let too_small = matches!((value, minimum), (Some(v), Some(min)) if v < min);
    let too_large = match (value, maximum) {
        (Some(v), Some(max)) => v > max,
        // Past even i128: certainly too large for any field.
        (None, _) => !digits.starts_with('-'),
        _ => false,
    };
    if too_small {
        let min = minimum.unwrap_or_default();
        return Some(
            Diagnostic::error(
                codes::NUMBER_TOO_SMALL,
                file,
                node.span,
                format!("{what} should be {min} or more, found `{}`", shorten(text)),
            )
            .with_help(format!("write a whole number of {min} or more")),
        );
    }
    if too_large || (value.is_none() && digits.starts_with('-')) {
        let max = maximum
            .map(|m| m.to_string())
            .unwrap_or_else(|| "a few billion".into());
        return Some(
            Diagnostic::error(
                codes::NUMBER_OUT_OF_RANGE,
                file,
                node.span,
                format!("{what} is out of range, found `{}`", shorten(text)),
            )
            .with_help(format!("write a whole number up to {max}")),
        );
    }
    None
}

fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

fn describe_type(ty: &str) -> &'static str {
    match ty {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "text",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        _ => "something else",
    }
}

fn type_help(types: &[String]) -> String {
    if types.iter().any(|t| t == "array") {
        "write a list, one `- item` per line, or `[a, b]`".into()
    } else if types.iter().any(|t| t == "object") {
        "write `key: value` lines indented under this one".into()
    } else if types.iter().any(|t| t == "integer") {
        "write a whole number without quotes, e.g. `1000`".into()
    } else if types.iter().any(|t| t == "number") {
        "write a number without quotes or currency sign, e.g. `500` or `12.50`".into()
    } else if types.iter().any(|t| t == "boolean") {
        "write `true` or `false`".into()
    } else {
        "write a single value on this line".into()
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// The closest candidate to a misspelt name, if one is close enough to be what was meant.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
