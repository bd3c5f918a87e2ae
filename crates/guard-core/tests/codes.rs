//! The table of diagnostic codes: every code unique and well formed, each one reported by some
//! check, and `docs/diagnostics.md` generated from it.

use guard_core::policy::codes::{ALL, CONSTANTS, RANGES, markdown};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn committed_doc_is_the_generated_one() {
    let committed =
        std::fs::read_to_string(repo("docs/diagnostics.md")).expect("docs/diagnostics.md exists");
    assert!(
        committed == markdown(),
        "docs/diagnostics.md is stale; regenerate it with\n    cargo run -q -p budget-guard -- codes > docs/diagnostics.md"
    );
}

#[test]
fn codes_and_names_are_unique_and_well_formed() {
    let mut codes = BTreeSet::new();
    let mut names = BTreeSet::new();
    for c in ALL {
        assert!(codes.insert(c.code), "{} is in the table twice", c.code);
        assert!(names.insert(c.name), "`{}` is in the table twice", c.name);
        assert!(
            c.code.len() == 5
                && c.code.starts_with("BG")
                && c.code[2..].bytes().all(|b| b.is_ascii_digit()),
            "{} is not BG and three digits",
            c.code
        );
        assert!(
            RANGES.iter().any(|(prefix, _)| c.code.starts_with(prefix)),
            "{} is in no range of RANGES, so the doc would not list it",
            c.code
        );
        assert!(
            !c.name.is_empty()
                && !c.name.starts_with('-')
                && !c.name.ends_with('-')
                && !c.name.contains("--")
                && c.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "`{}` ({}) is not kebab-case",
            c.name,
            c.code
        );
        assert!(
            !c.explanation.contains('\n') && c.explanation.ends_with('.'),
            "the explanation of {} is one sentence on one line",
            c.code
        );
    }
    // In order, so that a new code is plainly the next free number of its range.
    let listed: Vec<&str> = ALL.iter().map(|c| c.code).collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted, "the table is in the order of the codes");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A code no check reports is a row of the docs that nobody will ever see, or a call site that
/// reports another code than its own.
#[test]
fn every_code_is_reported_by_some_check() {
    let mut files = Vec::new();
    rust_files(&repo("crates/guard-core/src"), &mut files);
    let mut used = BTreeSet::new();
    for file in files.iter().filter(|f| !f.ends_with("policy/codes.rs")) {
        let text = std::fs::read_to_string(file).expect("readable source");
        // Only code, not the unit tests at the end of a file, counts as reporting.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (i, _) in code.match_indices("codes::") {
            let name: String = code[i + "codes::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            used.insert(name);
        }
    }
    let unused: Vec<String> = CONSTANTS
        .iter()
        .filter(|(name, _)| !used.contains(*name))
        .map(|(name, code)| format!("{} ({name})", code.code))
        .collect();
    assert!(
        unused.is_empty(),
        "codes no check of guard-core reports: {unused:?}"
    );
    assert!(used.len() > 50, "the scan found the call sites: {used:?}");
}

/// One problem, one code, wherever it is found: the same undefined channel named by
/// `settings.alarms`, `settings.unmatched_notify` and a threshold is `unknown-channel` each time,
/// and a listed-twice channel is another code.
#[test]
fn the_same_problem_in_different_places_has_one_code() {
    use guard_core::policy::codes;
    use guard_core::policy::{SourceFile, load};
    let text = "version: 1
settings:
  alarms: [pager]
  unmatched_notify: [pager]
channels:
  ops:
    email: [ops@example.com]
budgets:
  chatbot:
    amount: 100
    period: monthly
    thresholds:
      - at: 80%
        notify: [pager, ops, ops]
";
    let (policy, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    assert!(policy.is_none());
    let at = |line: usize| -> Vec<&str> {
        diagnostics
            .iter()
            .filter(|d| d.line == line)
            .map(|d| d.code.code)
            .collect()
    };
    assert_eq!(at(3), [codes::UNKNOWN_CHANNEL.code], "{diagnostics:#?}");
    assert_eq!(at(4), [codes::UNKNOWN_CHANNEL.code], "{diagnostics:#?}");
    assert_eq!(
        at(14),
        [
            codes::UNKNOWN_CHANNEL.code,
            codes::CHANNEL_LISTED_TWICE.code
        ],
        "{diagnostics:#?}"
    );
}
