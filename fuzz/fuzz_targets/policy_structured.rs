//! Structured fuzzing of the policy loader: start from the valid `policies/example.yaml` and apply
//! a list of line edits chosen by the fuzzer (replace a value with an interesting scalar, delete,
//! duplicate, move or re-indent a line, insert a line), optionally splitting the result into two
//! files of one folder. This reaches validation (references, ladders, thresholds, usage) far more
//! often than raw bytes do. Must never panic or hang.
#![no_main]

use arbitrary::Arbitrary;
use guard_core::policy::{SourceFile, load};
use libfuzzer_sys::fuzz_target;

const EXAMPLE: &str = include_str!("../../policies/example.yaml");

/// Scalars that tend to hit edge cases of the validators.
const SCALARS: &[&str] = &[
    "", "0", "-1", "1", "2", "3", "100", "0.0", "1e400", "-0", "0x10", "1_000", ".inf", "-.inf",
    ".nan", "NaN", "null", "~", "true", "false", "yes", "0%", "100%", "101%", "-5%", "%", "50.5%",
    "99.999999999999999999999999999%", "1e308%", "cheapest", "priciest", "0", "4", "99999999999999999999",
    "18446744073709551616", "79228162514264337593543950336", "monthly", "daily", "quarterly",
    "annually", "weekly", "actual", "forecasted", "[]", "{}", "[a, b]", "{a: 1}", "&a x", "*a",
    "!!binary aGVsbG8=", "\"\"", "''", "\"\\u0000\"", "'é'", "\u{202e}", "ﬀ", "a@b", "@", "a@",
    "x@example.com", "bg-", "/", "//", "/budget-guard/routes", "USD", "EUR", "usd",
    "platform-alerts", "finops", "support-chatbot", "writing-assistant", "chatbot",
    "us.amazon.nova-lite-v1:0", "anthropic.claude-v2", "arn:aws:bedrock:us-east-1:111122223333:inference-profile/x",
    "<<: *a", "? a", "- a", "|", ">", "|-\n  x", "#", "\t", "---", "...",
];

#[derive(Debug, Arbitrary)]
enum Edit {
    /// Replace what follows the first `: ` (or `- `) of a line with a scalar from the list.
    SetScalar { line: u16, scalar: u8 },
    /// The same with a scalar made up by the fuzzer.
    SetText { line: u16, text: String },
    Delete { line: u16 },
    Duplicate { line: u16 },
    Move { from: u16, to: u16 },
    Indent { line: u16, by: i8 },
    Insert { line: u16, text: String },
    /// Repeat a whole block of lines (a budget, a threshold) several times.
    RepeatBlock { start: u16, len: u8, times: u8 },
}

#[derive(Debug, Arbitrary)]
struct Input {
    edits: Vec<Edit>,
    /// Split the edited text into two files at a top-level key, when it has one at that index.
    split_at: Option<u8>,
}

fn pick(lines: &[String], i: u16) -> Option<usize> {
    (!lines.is_empty()).then(|| usize::from(i) % lines.len())
}

fn set_value(line: &mut String, value: &str) {
    let cut = line
        .find(": ")
        .map(|i| i + 2)
        .or_else(|| line.find("- ").map(|i| i + 2))
        .unwrap_or(line.len());
    line.truncate(cut);
    line.push_str(value);
}

fn apply(lines: &mut Vec<String>, edit: &Edit) {
    match edit {
        Edit::SetScalar { line, scalar } => {
            if let Some(i) = pick(lines, *line) {
                set_value(&mut lines[i], SCALARS[usize::from(*scalar) % SCALARS.len()]);
            }
        }
        Edit::SetText { line, text } => {
            if let Some(i) = pick(lines, *line) {
                set_value(&mut lines[i], text);
            }
        }
        Edit::Delete { line } => {
            if let Some(i) = pick(lines, *line) {
                lines.remove(i);
            }
        }
        Edit::Duplicate { line } => {
            if let Some(i) = pick(lines, *line) {
                let copy = lines[i].clone();
                lines.insert(i, copy);
            }
        }
        Edit::Move { from, to } => {
            if let (Some(f), Some(t)) = (pick(lines, *from), pick(lines, *to)) {
                let l = lines.remove(f);
                lines.insert(t.min(lines.len()), l);
            }
        }
        Edit::Indent { line, by } => {
            if let Some(i) = pick(lines, *line) {
                let by = i32::from(*by) % 9;
                if by >= 0 {
                    lines[i].insert_str(0, &" ".repeat(by as usize));
                } else {
                    let strip = lines[i].len() - lines[i].trim_start_matches(' ').len();
                    let n = strip.min(by.unsigned_abs() as usize);
                    lines[i].drain(..n);
                }
            }
        }
        Edit::Insert { line, text } => {
            let i = if lines.is_empty() { 0 } else { usize::from(*line) % (lines.len() + 1) };
            lines.insert(i, text.clone());
        }
        Edit::RepeatBlock { start, len, times } => {
            if let Some(s) = pick(lines, *start) {
                let end = (s + usize::from(*len % 32) + 1).min(lines.len());
                let block: Vec<String> = lines[s..end].to_vec();
                for _ in 0..(*times % 8) {
                    for (k, l) in block.iter().enumerate() {
                        lines.insert(end + k, l.clone());
                    }
                }
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let mut lines: Vec<String> = EXAMPLE.lines().map(str::to_owned).collect();
    for edit in input.edits.iter().take(64) {
        apply(&mut lines, edit);
    }
    let sources = match input.split_at {
        Some(k) => {
            // Top-level keys other than `version` start a section; the second file gets its own
            // `version: 1` as a policy folder's files do.
            let tops: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && !l.starts_with("version")
                })
                .map(|(i, _)| i)
                .collect();
            if tops.is_empty() {
                vec![SourceFile::new("policy.yaml", lines.join("\n"))]
            } else {
                let at = tops[usize::from(k) % tops.len()];
                let first = lines[..at].join("\n");
                let second = format!("version: 1\n{}", lines[at..].join("\n"));
                vec![SourceFile::new("a.yaml", first), SourceFile::new("b.yaml", second)]
            }
        }
        None => vec![SourceFile::new("policy.yaml", lines.join("\n"))],
    };
    // `POLICY_STRUCTURED_DUMP=DIR target FILE` writes the policy files an input makes into DIR,
    // to keep a finding as plain YAML in tests/fixtures/fuzz-regressions.
    if let Some(dir) = std::env::var_os("POLICY_STRUCTURED_DUMP") {
        for source in &sources {
            let _ = std::fs::write(std::path::Path::new(&dir).join(&source.name), &source.bytes);
        }
    }
    let (_policy, diagnostics) = load(&sources);
    for diagnostic in &diagnostics {
        let source = sources.iter().find(|s| s.name == diagnostic.file).and_then(SourceFile::text);
        let _ = diagnostic.render(source);
    }
});
