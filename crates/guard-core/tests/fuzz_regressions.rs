//! Inputs found by the fuzz targets in `fuzz/` (and a few hand-written hostile ones), replayed on
//! stable in the normal `cargo test` run: each must come back, with a result or an error, and never
//! panic.
//!
//! The files live in `tests/fixtures/fuzz-regressions/`, named `<target>-<short name>[.ext]`; the
//! target says which function the file is fed to, the same way the fuzz target feeds it:
//! - `policy_load-*` and `policy_structured-*`: `policy::load` with the file as `fuzz.yaml`, then
//!   every diagnostic rendered against the source. A folder `policy_structured-*/` is one policy
//!   folder: all its files are loaded together, in name order.
//! - `alert_parse-*`: `alert::parse_message` and `alert::parse_input` on the bytes, through
//!   `String::from_utf8_lossy`.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use guard_core::alerts::parse::{parse_message, sns::parse_input};
use guard_core::policy::{MAX_FILE_BYTES, SourceFile, load};

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fuzz-regressions")
}

/// The entries of the folder whose name starts with `<target>-`, sorted.
fn entries(target: &str) -> Vec<PathBuf> {
    let prefix = format!("{target}-");
    let mut found: Vec<PathBuf> = fs::read_dir(regressions_dir())
        .expect("tests/fixtures/fuzz-regressions exists")
        .map(|e| e.expect("readable folder entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    found.sort();
    found
}

fn load_and_render(sources: &[SourceFile]) {
    let (_policy, diagnostics) = load(sources);
    for diagnostic in &diagnostics {
        let source = sources
            .iter()
            .find(|s| s.name == diagnostic.file)
            .and_then(SourceFile::text);
        let _ = diagnostic.render(source);
    }
}

fn policy_sources(path: &Path) -> Vec<SourceFile> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = fs::read_dir(path)
            .expect("readable folder")
            .map(|e| e.expect("readable folder entry").path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| {
                let name = f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("fuzz.yaml");
                SourceFile::new(name, fs::read(f).expect("readable file"))
            })
            .collect()
    } else {
        vec![SourceFile::new(
            "fuzz.yaml",
            fs::read(path).expect("readable file"),
        )]
    }
}

fn parse_alert(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = parse_message(&text);
    let _ = parse_input(&text);
}

/// Runs `f` on each entry, and fails naming every entry that panicked (not only the first).
fn replay(target: &str, f: impl Fn(&Path)) {
    let paths = entries(target);
    let mut panicked = Vec::new();
    for path in &paths {
        if panic::catch_unwind(AssertUnwindSafe(|| f(path))).is_err() {
            panicked.push(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
    }
    assert!(
        panicked.is_empty(),
        "{target}: these inputs panic: {panicked:?}"
    );
}

#[test]
fn policy_load_regressions_return() {
    replay("policy_load", |p| load_and_render(&policy_sources(p)));
}

#[test]
fn policy_structured_regressions_return() {
    replay("policy_structured", |p| load_and_render(&policy_sources(p)));
}

#[test]
fn alert_parse_regressions_return() {
    replay("alert_parse", |p| {
        parse_alert(&fs::read(p).expect("readable file"))
    });
}

#[test]
fn inputs_over_the_size_limits_are_refused_not_parsed() {
    // Made here rather than kept as 1 MiB fixtures.
    let mut big = b"version: 1\nx: [".to_vec();
    big.resize(MAX_FILE_BYTES + 1, b'[');
    let (policy, diagnostics) = load(&[SourceFile::new("fuzz.yaml", big)]);
    assert!(policy.is_none());
    assert!(
        diagnostics.iter().any(|d| d.message.contains("bytes")),
        "{diagnostics:?}"
    );

    let text = format!(
        "{{\"Records\": \"{}\"}}",
        "x".repeat(guard_core::alerts::parse::MAX_INPUT_BYTES)
    );
    assert!(parse_input(&text).is_err());
    assert!(parse_message(&text).is_err());
}

/// Fuzz finding (policy_structured, 2026-11-29): a policy with many diagnostics cost
/// O(diagnostics x lines): 40,000 unknown top-level keys (390 KB) took 323 s, because every
/// diagnostic rendered scanned the source from the start, and duplicate-key and name lookups were
/// quadratic. Fixed by indexed lookups and by reporting at most 100 diagnostics per file (then a
/// count of the rest), so rendering is bounded whatever the file. This checks the bound that makes
/// the cost linear, not a time (the timing is `cargo run --release -p guard-core --example
/// validate_timing`).
#[test]
fn many_diagnostics_are_capped_so_rendering_stays_linear() {
    let text = format!(
        "version: 1\n{}",
        (0..10_000)
            .map(|i| format!("k{i}: 1\n"))
            .collect::<String>()
    );
    let (policy, diagnostics) = guard_core::policy::load(&[SourceFile::new("fuzz.yaml", text)]);
    assert!(policy.is_none());
    assert!(
        diagnostics.len() <= 101,
        "{} diagnostics",
        diagnostics.len()
    );
    assert!(
        diagnostics.iter().any(|d| d.message.contains("more")),
        "the cut is said: {:?}",
        diagnostics.last()
    );
}
