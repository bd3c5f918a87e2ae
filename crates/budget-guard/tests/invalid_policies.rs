//! Every policy under `tests/fixtures/invalid/` is refused, and the whole output of
//! `budget-guard validate`, text and JSON, is kept as a snapshot to review by eye: each error at
//! `PATH:LINE:COL`, the offending line with a caret under the token, and a help line.
//!
//! To accept changed output: `INSTA_UPDATE=always cargo test -p budget-guard --test invalid_policies`,
//! then read the `.snap` files in `tests/snapshots/` before committing them.

mod common;

use common::{run, workspace};
use std::panic::{AssertUnwindSafe, catch_unwind};

const FIXTURES: &str = "tests/fixtures/invalid";

/// Each fixture: a `.yaml` file, or a folder of files that are only wrong together.
fn fixtures() -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(workspace().join(FIXTURES))
        .expect("the fixtures folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 name")
                .to_owned();
            let file = p.file_name().and_then(|s| s.to_str()).expect("UTF-8 name");
            (name, format!("{FIXTURES}/{file}"))
        })
        .collect();
    found.sort();
    found
}

/// What every invalid fixture must show, beyond its snapshot.
fn check_shape(path: &str, text: &common::Run, json: &common::Run) {
    assert_eq!(
        text.code,
        Some(1),
        "{path}: text run exits 1\n{}",
        text.transcript()
    );
    assert_eq!(
        json.code,
        Some(1),
        "{path}: json run exits 1\n{}",
        json.transcript()
    );
    assert!(
        text.stdout.is_empty(),
        "{path}: errors go to stderr\n{}",
        text.transcript()
    );
    let diagnostics: Vec<serde_json::Value> = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("{path}: JSON output: {e}\n{}", json.stdout));
    assert!(!diagnostics.is_empty(), "{path}: at least one diagnostic");
    for d in &diagnostics {
        let obj = d.as_object().expect("each diagnostic is an object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "code", "column", "file", "help", "line", "message", "severity"
            ],
            "{path}: {d}"
        );
        let code = d["code"].as_str().unwrap_or_default();
        assert!(
            guard_core::policy::codes::ALL
                .iter()
                .any(|c| c.code == code),
            "{path}: a code of the table: {d}"
        );
        assert!(d["line"].as_u64().is_some_and(|l| l >= 1), "{path}: {d}");
        assert!(d["column"].as_u64().is_some_and(|c| c >= 1), "{path}: {d}");
        assert!(
            d["help"].is_string(),
            "{path}: every diagnostic has help: {d}"
        );
        assert!(
            d["file"].as_str().is_some_and(|f| f.starts_with(path)),
            "{path}: {d}"
        );
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .count();
    assert!(errors >= 1, "{path}: at least one error");
    // Text: one header per diagnostic, each followed by its line, a caret and help.
    let headers: Vec<&str> = text
        .stderr
        .lines()
        .filter(|l| l.contains(": error[BG") || l.contains(": warning[BG"))
        .collect();
    assert_eq!(
        headers.len(),
        diagnostics.len(),
        "{path}: text and JSON list the same diagnostics\n{}",
        text.stderr
    );
    for (header, d) in headers.iter().zip(&diagnostics) {
        let expected = format!(
            "{}:{}:{}: {}[{}]: ",
            d["file"].as_str().unwrap_or_default(),
            d["line"],
            d["column"],
            d["severity"].as_str().unwrap_or_default(),
            d["code"].as_str().unwrap_or_default()
        );
        assert!(
            header.starts_with(&expected),
            "{path}: `{header}` starts with `{expected}`"
        );
    }
    let carets = text
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("| ") && l.trim_end().ends_with('^'))
        .count();
    // A file refused whole (not text, not a regular file) is named with a place, and none of
    // its lines is shown: whatever it holds is not for the terminal.
    let refused_whole = diagnostics
        .iter()
        .filter(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("file is ") || m.starts_with("file holds "))
        })
        .count();
    assert_eq!(
        carets,
        diagnostics.len() - refused_whole,
        "{path}: a caret under each diagnostic of a text file\n{}",
        text.stderr
    );
    let helps = text
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("= help: "))
        .count();
    assert_eq!(
        helps,
        diagnostics.len(),
        "{path}: a help line for each diagnostic\n{}",
        text.stderr
    );
    assert!(
        text.stderr.trim_end().ends_with(&format!(
            "error: policy is invalid: {errors} error{}",
            if errors == 1 { "" } else { "s" }
        )) || text
            .stderr
            .contains(&format!("error: policy is invalid: {errors} error")),
        "{path}: closing count\n{}",
        text.stderr
    );
}

#[test]
fn every_invalid_fixture_is_refused_with_located_errors() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 30,
        "at least 30 invalid fixtures, found {}",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for (name, path) in &fixtures {
        let text = run(&["validate", path]);
        let json = run(&["validate", "--format", "json", path]);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            check_shape(path, &text, &json);
            let mut settings = insta::Settings::clone_current();
            settings.set_prepend_module_to_snapshot(false);
            settings.set_omit_expression(true);
            settings.set_description(format!("budget-guard validate {path}"));
            settings.bind(|| {
                insta::assert_snapshot!(
                    format!("invalid-{name}"),
                    format!("{}\n{}", text.transcript(), json.transcript())
                );
            });
        }));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{path}: {message}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn no_snapshot_outlives_its_fixture() {
    let names: Vec<String> = fixtures()
        .into_iter()
        .map(|(name, _)| format!("invalid-{name}.snap"))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let stale: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.starts_with("invalid-") && f.ends_with(".snap"))
        .filter(|f| !names.contains(f))
        .collect();
    assert!(
        stale.is_empty(),
        "snapshots without a fixture, delete them: {stale:?}"
    );
}
