//! Diagnostics that point at `file:line:col`, rendered the way compilers do.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A place in a source file. Lines and columns count from 1; columns count characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    /// How many characters to underline, at least 1.
    pub len: usize,
}

impl Span {
    pub fn new(line: usize, column: usize, len: usize) -> Span {
        Span {
            line,
            column,
            len: len.max(1),
        }
    }

    /// The first character of a file.
    pub fn start() -> Span {
        Span::new(1, 1, 1)
    }
}

/// The stable code of a kind of problem (`BG301`), with its name and meaning. Every code is a
/// row of the table in `policy::codes`; users filter on the code and look it up there.
#[derive(Debug, Clone, Copy)]
pub struct Code {
    pub code: &'static str,
    /// Kebab-case, e.g. `unknown-channel`.
    pub name: &'static str,
    /// One line, for the docs.
    pub explanation: &'static str,
}

// A code is its number: name and explanation are documentation of it.
impl PartialEq for Code {
    fn eq(&self, other: &Code) -> bool {
        self.code == other.code
    }
}

impl Eq for Code {}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

/// One finding about one place of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    #[serde(skip)]
    pub len: usize,
}

impl Diagnostic {
    pub fn error(code: Code, file: &str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_owned(),
            line: span.line,
            column: span.column,
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
            len: span.len,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// `PATH:LINE:COL: error[BG123]: MESSAGE` (the code where rustc puts its own), the offending
    /// line with a caret under the span, and the help.
    /// `source` is the text of `self.file`, when it could be read as text.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = format!(
            "{}:{}:{}: {}[{}]: {}\n",
            self.file, self.line, self.column, self.severity, self.code, self.message
        );
        // The line just past the last one exists too (empty), so that an error in an empty file
        // or at the very end still shows where it is.
        let line_text = source.and_then(|s| {
            s.lines()
                .nth(self.line.saturating_sub(1))
                .or((self.line == s.lines().count() + 1).then_some(""))
        });
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        if let Some(text) = line_text {
            let shown: String = text
                .chars()
                // One character for one: the caret stays aligned, and no control byte of a broken
                // file reaches the terminal.
                .map(|c| {
                    if c == '\t' {
                        ' '
                    } else if c.is_control() {
                        '\u{FFFD}'
                    } else {
                        c
                    }
                })
                .take(200)
                .collect();
            let column = self.column.max(1);
            let width = shown.chars().count();
            let len = if column > width {
                1
            } else {
                self.len.max(1).min(width + 1 - column)
            };
            out.push_str(&format!("{pad} |\n"));
            out.push_str(&format!("{} | {}\n", self.line, shown));
            out.push_str(&format!(
                "{pad} | {}{}\n",
                " ".repeat(column - 1),
                "^".repeat(len)
            ));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("{pad} = help: {help}\n"));
        }
        out
    }
}

/// Sorts diagnostics by file, then position, so that output is stable.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.column, &a.message).cmp(&(
            b.file.as_str(),
            b.line,
            b.column,
            &b.message,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::codes;

    #[test]
    fn renders_caret_under_span() {
        let d = Diagnostic::error(
            codes::AMOUNT_NOT_A_NUMBER,
            "p.yaml",
            Span::new(2, 9, 4),
            "bad value",
        )
        .with_help("use 90%");
        let text = d.render(Some("version: 1\namount: abcd\n"));
        assert_eq!(
            text,
            "p.yaml:2:9: error[BG507]: bad value\n  |\n2 | amount: abcd\n  |         ^^^^\n  = help: use 90%\n"
        );
    }

    #[test]
    fn renders_without_source() {
        let d = Diagnostic::error(codes::NOT_UTF8, "p.yaml", Span::start(), "unreadable");
        assert_eq!(d.render(None), "p.yaml:1:1: error[BG005]: unreadable\n");
    }
}
