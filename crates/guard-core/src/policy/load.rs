//! From file contents to a checked `Policy`, in layers: bytes and size, YAML syntax, duplicate
//! keys, structure (unknown fields, missing fields, kinds of values), then semantics. Every error
//! of every file is collected before anything is reported.

use super::codes;
use super::model::Policy;
use super::raw::PolicyFile;
use super::schema_check::SchemaChecker;
use super::validate;
use super::yaml_tree::{self, Node, NodeKind};
use crate::diagnostic::{self, Diagnostic, Span};
use crate::pricing::catalog::{Catalog, ModelPrice, file::parse_catalog};
use schemars::schema_for;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Files larger than this are refused outright: a policy of 500 budgets is well under 1 MiB, and
/// the bound keeps validation of any input well under a second.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// A policy file as read from disk: its name for messages and its bytes, or why it was not read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Set when the reader refused the file without reading it; `bytes` is then empty. The loader
    /// reports it at the file, like any other mistake in it.
    pub refused: Option<Refusal>,
}

/// Why a file of a policy was not read. Only regular files are: a link could pull in any file the
/// process can read (`/proc/self/environ` would put the environment into the diagnostics), and
/// opening a FIFO would block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    SymbolicLink,
    Fifo,
    Socket,
    BlockDevice,
    CharacterDevice,
    /// Any other kind of file that is not a regular file.
    NotRegular,
    /// A regular file of this many bytes, over [`MAX_FILE_BYTES`].
    TooLarge(u64),
}

impl Refusal {
    /// What the file is, for the diagnostic.
    fn what(self) -> String {
        match self {
            Refusal::SymbolicLink => "a symbolic link".into(),
            Refusal::Fifo => "a named pipe (FIFO)".into(),
            Refusal::Socket => "a socket".into(),
            Refusal::BlockDevice => "a block device".into(),
            Refusal::CharacterDevice => "a character device".into(),
            Refusal::NotRegular => "not a regular file".into(),
            Refusal::TooLarge(bytes) => format!("{bytes} bytes"),
        }
    }

    fn diagnostic(self, file: &str) -> Diagnostic {
        match self {
            Refusal::TooLarge(_) => too_large(file, &self.what()),
            Refusal::SymbolicLink => Diagnostic::error(
                codes::SYMBOLIC_LINK,
                file,
                Span::start(),
                "file is a symbolic link: only regular files of a policy folder are read",
            )
            .with_help("copy the file into the policy folder instead of linking it, or name the file itself on the command line"),
            _ => Diagnostic::error(
                codes::NOT_REGULAR_FILE,
                file,
                Span::start(),
                format!("file is {}: only regular files of a policy folder are read", self.what()),
            )
            .with_help("remove it from the policy folder, or give it a name that does not end in `.yaml` or `.yml`"),
        }
    }
}

fn too_large(file: &str, size: &str) -> Diagnostic {
    Diagnostic::error(
        codes::FILE_TOO_LARGE,
        file,
        Span::start(),
        format!("file is {size}; a policy file may be at most {MAX_FILE_BYTES} bytes"),
    )
    .with_help("split the policy into several files of one folder")
}

impl SourceFile {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> SourceFile {
        SourceFile {
            name: name.into(),
            bytes: bytes.into(),
            refused: None,
        }
    }

    /// A file the reader did not read, and why.
    pub fn refused(name: impl Into<String>, refusal: Refusal) -> SourceFile {
        SourceFile {
            name: name.into(),
            bytes: Vec::new(),
            refused: Some(refusal),
        }
    }

    /// The text of the file, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// The text diagnostics may quote lines of: only a file read as policy text (not refused, at
    /// most [`MAX_FILE_BYTES`], UTF-8, no NUL byte). A binary file's lines are never echoed: what
    /// it holds (an environment, a key) is not for the terminal or the logs.
    pub fn quotable_text(&self) -> Option<&str> {
        if self.refused.is_some() || self.bytes.len() > MAX_FILE_BYTES {
            return None;
        }
        self.text().filter(|t| !t.contains('\0'))
    }
}

/// A file that passed the YAML and structure layers.
pub(crate) struct ParsedFile<'a> {
    pub name: &'a str,
    pub tree: Node,
    pub file: PolicyFile,
}

/// The JSON Schema of a policy file, as `policies/schema.json` holds it.
pub fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| sorted(serde_json::to_value(schema_for!(PolicyFile)).unwrap_or_default()))
}

/// The same JSON with every object's keys in sorted order. serde_json keeps insertion order when
/// another crate of the build turns on its `preserve_order` feature, and sorts them otherwise;
/// sorting here makes the schema, and the "expected one of" lists drawn from it, the same in
/// every build.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// The schema as `policies/schema.json` should contain it, byte for byte.
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// What an application inference profile ARN that no `profiles:` entry maps is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnmappedProfiles {
    /// An unknown model (BG801): nothing can price it.
    #[default]
    Error,
    /// Still BG801, as a warning: the deployed stack resolves it with
    /// `bedrock:GetInferenceProfile` before anything prices it. The policy that comes back leaves
    /// such an ARN unpriced (its budgets' services miss the model's), so it is fit for what the
    /// stack is built from (`export`), never for an estimate, a plan or spend.
    ResolvedAtDeploy,
}

/// How [`load_with`] loads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    pub unmapped_profiles: UnmappedProfiles,
}

/// Loads and checks a whole policy (all files of a folder). Errors come back sorted; warnings come
/// with a valid policy too.
pub fn load(sources: &[SourceFile]) -> (Option<Policy>, Vec<Diagnostic>) {
    load_with(sources, LoadOptions::default())
}

/// [`load`], with `options`.
pub fn load_with(
    sources: &[SourceFile],
    options: LoadOptions,
) -> (Option<Policy>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let (price_files, sources): (Vec<&SourceFile>, Vec<&SourceFile>) =
        sources.iter().partition(|s| is_price_file(&s.name));
    let catalog_prices = read_price_files(&price_files, &mut diagnostics);
    let mut parsed = Vec::new();
    for source in &sources {
        if let Some(file) = parse_file(source, &mut diagnostics) {
            parsed.push(file);
        }
    }
    if sources.is_empty() {
        diagnostics.push(Diagnostic::error(
            codes::NO_POLICY_FILES,
            "<policy>",
            Span::start(),
            "no policy files: give a `.yaml` file or a folder that has some",
        ));
    }
    // The files that could be read are checked even when others could not, so that one run
    // reports every mistake; references into an unreadable file are not reported as missing.
    let complete = parsed.len() == sources.len();
    let (policy, dropped) = if parsed.is_empty() {
        (None, Vec::new())
    } else {
        validate::validate(
            &parsed,
            complete,
            &catalog_prices,
            options,
            &mut diagnostics,
        )
    };
    diagnostic::sort(&mut diagnostics);
    let hidden: BTreeMap<&str, usize> = parsed
        .iter()
        .zip(dropped)
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| (f.name, n))
        .collect();
    let mut diagnostics = cap_per_file(diagnostics, &hidden);
    for d in &mut diagnostics {
        d.message = clip_quoted(&d.message);
        if let Some(help) = &mut d.help {
            *help = clip_quoted(help);
        }
    }
    let has_errors = diagnostics
        .iter()
        .any(|d| d.severity == diagnostic::Severity::Error);
    (if has_errors { None } else { policy }, diagnostics)
}

/// The names a price catalog beside the policy may have (`budget-guard prices refresh --write`
/// writes `prices.yaml`). Such a file is read as a catalog, not as policy.
pub const PRICE_FILE_NAMES: [&str; 2] = ["prices.yaml", "prices.yml"];

/// Whether `name` (a path) is a price catalog beside the policy.
pub fn is_price_file(name: &str) -> bool {
    std::path::Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| PRICE_FILE_NAMES.contains(&n))
}

/// The catalog in force for these policy files: the bundled one with the price catalog file
/// among them (if any) applied, and the diagnostics of that file. The policy files themselves are
/// not read.
pub fn catalog_of(sources: &[SourceFile]) -> (Catalog, Vec<Diagnostic>) {
    let files: Vec<&SourceFile> = sources.iter().filter(|s| is_price_file(&s.name)).collect();
    let mut diagnostics = Vec::new();
    let prices = read_price_files(&files, &mut diagnostics);
    (
        Catalog::bundled().with_overrides(prices.into_values()),
        diagnostics,
    )
}

/// The entries of the price catalog files among the policy's files, which replace the bundled
/// catalog's entries of the same model id and add new ones. At most one such file; each mistake
/// is reported at its place.
fn read_price_files(
    files: &[&SourceFile],
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, ModelPrice> {
    let mut prices = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            out.push(
                Diagnostic::error(
                    codes::SECOND_PRICE_CATALOG,
                    &file.name,
                    Span::start(),
                    "a second price catalog file",
                )
                .with_help(format!(
                    "keep one catalog beside the policy; `{}` is read already",
                    files[0].name
                )),
            );
            continue;
        }
        let Some(text) = source_text(file, out) else {
            continue;
        };
        match parse_catalog(text) {
            Ok(catalog) => {
                prices.extend(catalog.entries().map(|p| (p.model_id.clone(), p.clone())));
            }
            Err(e) => out.push(
                Diagnostic::error(
                    codes::INVALID_PRICE_CATALOG,
                    &file.name,
                    Span::new(e.line, e.column, 1),
                    e.message,
                )
                    .with_help(
                        "a price catalog file has `sources:` and `models:` as the bundled one does, prices in USD per 1,000,000 tokens (README: \"Prices\")",
                    ),
            ),
        }
    }
    prices
}

/// Diagnostics shown per file. Past this, one more says how many are not shown, at the place of
/// the first of them: nobody reads the thousandth error, and fixing the first ones often fixes
/// the rest.
pub const MAX_SHOWN_PER_FILE: usize = 100;

/// Keeps the first `MAX_SHOWN_PER_FILE` diagnostics of each file (already sorted) and says how
/// many more there are, counting those `validate` found but did not keep (`hidden`).
fn cap_per_file(diagnostics: Vec<Diagnostic>, hidden: &BTreeMap<&str, usize>) -> Vec<Diagnostic> {
    let mut kept: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len().min(1024));
    let mut shown = 0;
    let mut more = 0;
    let mut file: Option<String> = None;
    let mut first_hidden: Option<Diagnostic> = None;
    let flush =
        |kept: &mut Vec<Diagnostic>, first: Option<Diagnostic>, more: usize, extra: usize| {
            if let Some(first) = first.filter(|_| more + extra > 0) {
                let span = Span::new(first.line, first.column, first.len);
                kept.push(
                    Diagnostic::error(
                        codes::MORE_NOT_SHOWN,
                        &first.file,
                        span,
                        format!(
                            "{} more errors and warnings in this file are not shown",
                            more + extra
                        ),
                    )
                    .with_help("fix the errors above, then validate again"),
                );
            }
        };
    for d in diagnostics {
        if file.as_deref() != Some(d.file.as_str()) {
            if let Some(previous) = file.take() {
                let extra = hidden.get(previous.as_str()).copied().unwrap_or(0);
                flush(&mut kept, first_hidden.take(), more, extra);
            }
            file = Some(d.file.clone());
            shown = 0;
            more = 0;
        }
        if shown < MAX_SHOWN_PER_FILE {
            shown += 1;
            kept.push(d);
        } else {
            if first_hidden.is_none() {
                first_hidden = Some(d);
            }
            more += 1;
        }
    }
    if let Some(previous) = file {
        let extra = hidden.get(previous.as_str()).copied().unwrap_or(0);
        flush(&mut kept, first_hidden, more, extra);
    }
    kept
}

/// The longest value a diagnostic quotes between backticks: a 900 KB `budget_prefix` is reported,
/// not printed.
pub const MAX_QUOTED_CHARS: usize = 120;
/// The longest message or help, whatever it quotes.
const MAX_MESSAGE_CHARS: usize = 1_000;

/// `text` with each part between backticks cut to [`MAX_QUOTED_CHARS`], saying how much was cut.
fn clip_quoted(text: &str) -> String {
    let clipped = if text.len() <= MAX_QUOTED_CHARS {
        text.to_owned()
    } else {
        text.split('`')
            .enumerate()
            .map(|(i, part)| {
                if i % 2 == 1 {
                    crate::text::clip_chars(part, MAX_QUOTED_CHARS)
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("`")
    };
    crate::text::clip_chars(&clipped, MAX_MESSAGE_CHARS)
}

/// The text of a file, or the diagnostic of why it is none: refused by the reader, too large,
/// not UTF-8, or holding a NUL byte (no line of such a file is shown).
fn source_text<'a>(source: &'a SourceFile, out: &mut Vec<Diagnostic>) -> Option<&'a str> {
    let name = source.name.as_str();
    if let Some(refusal) = source.refused {
        out.push(refusal.diagnostic(name));
        return None;
    }
    if source.bytes.len() > MAX_FILE_BYTES {
        // A reader stops one byte past the limit, so the size may be more than this.
        let size = if source.bytes.len() == MAX_FILE_BYTES + 1 {
            format!("more than {MAX_FILE_BYTES} bytes")
        } else {
            format!("{} bytes", source.bytes.len())
        };
        out.push(too_large(name, &size));
        return None;
    }
    let text = match std::str::from_utf8(&source.bytes) {
        Ok(text) => text,
        Err(e) => {
            let span = position_of(&source.bytes, e.valid_up_to());
            out.push(
                Diagnostic::error(codes::NOT_UTF8, name, span, "file is not UTF-8 text").with_help(
                    "policy files are YAML text; is this a binary file? (its lines are not shown)",
                ),
            );
            return None;
        }
    };
    if let Some(offset) = text.find('\0') {
        out.push(
            Diagnostic::error(
                codes::NUL_BYTE,
                name,
                position_of(text.as_bytes(), offset),
                "file holds a NUL byte",
            )
            .with_help(
                "policy files are YAML text; is this a binary file? (its lines are not shown)",
            ),
        );
        return None;
    }
    Some(text)
}

/// A file with nothing in it, or only comments or `null`.
fn empty_file(name: &str) -> Diagnostic {
    Diagnostic::error(
        codes::EMPTY_FILE,
        name,
        Span::start(),
        "policy file is empty",
    )
    .with_help("a policy file starts with `version: 1`")
}

fn parse_file<'a>(source: &'a SourceFile, out: &mut Vec<Diagnostic>) -> Option<ParsedFile<'a>> {
    let name = source.name.as_str();
    let text = source_text(source, out)?;
    let tree = match yaml_tree::parse(text) {
        Ok(Some(tree)) => tree,
        Ok(None) => {
            out.push(empty_file(name));
            return None;
        }
        Err(e) => {
            let mut span = e.span;
            let help = if let Some(help) = e.help {
                help
            } else if e.message.contains("tab") {
                // The parser stops after the tab; point at the tab itself.
                if let Some(column) = text.lines().nth(span.line.saturating_sub(1)).and_then(|l| {
                    l.chars()
                        .take(span.column.saturating_sub(1))
                        .position(|c| c == '\t')
                }) {
                    span = Span::new(span.line, column + 1, 1);
                }
                "YAML indents with spaces, never tabs".into()
            } else {
                "check the indentation and the brackets and quotes around this place".into()
            };
            out.push(
                Diagnostic::error(
                    codes::INVALID_YAML,
                    name,
                    span,
                    format!("invalid YAML: {}", e.message),
                )
                .with_help(help),
            );
            return None;
        }
    };
    let before = out.len();
    if tree.is_null() {
        out.push(empty_file(name));
        return None;
    }
    check_duplicate_keys(name, &tree, out);
    SchemaChecker::new(schema()).check(name, &tree, out);
    if out.len() > before {
        return None;
    }
    match serde_yaml::from_str::<PolicyFile>(text) {
        Ok(file) => Some(ParsedFile { name, tree, file }),
        Err(e) => {
            let span = e
                .location()
                .map(|l| Span::new(l.line(), l.column(), 1))
                .unwrap_or_else(Span::start);
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            // The structure layer should have caught anything serde refuses; this is the backstop.
            out.push(
                Diagnostic::error(codes::INVALID_STRUCTURE, name, span, message)
                    .with_help("compare this value with `policies/schema.json`"),
            );
            None
        }
    }
}

fn check_duplicate_keys(file: &str, node: &Node, out: &mut Vec<Diagnostic>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            // A map, not a scan of the earlier keys: a section can hold thousands of names.
            let mut seen: HashMap<&str, &Node> = HashMap::with_capacity(entries.len());
            for (key, value) in entries {
                if let Some(name) = key.scalar() {
                    match seen.get(name) {
                        Some(first) => out.push(
                            Diagnostic::error(
                                codes::DUPLICATE_KEY,
                                file,
                                key.span,
                                format!("duplicate key `{name}`"),
                            )
                            .with_help(format!(
                                "`{name}` is already set at line {}; keep one",
                                first.span.line
                            )),
                        ),
                        None => {
                            seen.insert(name, key);
                        }
                    }
                }
                check_duplicate_keys(file, value, out);
            }
        }
        NodeKind::Seq(items) => items
            .iter()
            .for_each(|n| check_duplicate_keys(file, n, out)),
        _ => {}
    }
}

fn position_of(bytes: &[u8], offset: usize) -> Span {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Span::new(line, column, 1)
}
