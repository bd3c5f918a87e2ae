//! `examples/github/budget-guard-problem-matcher.json` turns `budget-guard validate`'s text into
//! GitHub annotations: its pattern must read every header line the CLI writes, code included.
//! GitHub runs the pattern as an ECMAScript regex; Python's `re` reads this one the same way.

mod common;

use common::{run, workspace};
use std::io::Write;
use std::process::{Command, Stdio};

/// Reads `{"pattern": p, "lines": [...]}` and prints each line's groups, or null.
const MATCH: &str = r#"
import json, re, sys
job = json.load(sys.stdin)
print(json.dumps([(lambda m: m and list(m.groups()))(re.match(job["pattern"], l)) for l in job["lines"]]))
"#;

fn groups(pattern: &str, lines: &[&str]) -> Vec<Option<Vec<Option<String>>>> {
    let python = guard_testkit::python().expect("a Python (BUDGET_GUARD_PYTHON or .venv)");
    let mut child = Command::new(python)
        .args(["-c", MATCH])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python runs");
    let job = serde_json::json!({"pattern": pattern, "lines": lines});
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(job.to_string().as_bytes())
        .expect("written");
    let out = child.wait_with_output().expect("python ends");
    assert!(out.status.success(), "python failed");
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

#[test]
fn the_problem_matcher_reads_every_diagnostic_with_its_code() {
    let text = std::fs::read_to_string(
        workspace().join("examples/github/budget-guard-problem-matcher.json"),
    )
    .expect("the matcher exists");
    let matcher: serde_json::Value = serde_json::from_str(&text).expect("the matcher is JSON");
    let pattern = &matcher["problemMatcher"][0]["pattern"][0];
    let regexp = pattern["regexp"].as_str().expect("a regexp");
    let group = |name: &str| pattern[name].as_u64().expect("a group number") as usize - 1;

    // An error and a warning, each with its code.
    let path = "tests/fixtures/invalid/end-of-life-model.yaml";
    let text = run(&["validate", path]);
    let json = run(&["validate", "--format", "json", path]);
    let diagnostics: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("JSON");
    assert!(diagnostics.iter().any(|d| d["severity"] == "warning"));
    let headers: Vec<&str> = text
        .stderr
        .lines()
        .filter(|l| l.starts_with(path))
        .collect();
    assert_eq!(headers.len(), diagnostics.len(), "{}", text.stderr);
    let found = groups(regexp, &headers);
    for ((header, d), found) in headers.iter().zip(&diagnostics).zip(&found) {
        let found = found
            .as_ref()
            .unwrap_or_else(|| panic!("no match: {header}"));
        let at = |name: &str| found[group(name)].clone().unwrap_or_default();
        assert_eq!(at("file"), d["file"].as_str().unwrap(), "{header}");
        assert_eq!(at("line"), d["line"].to_string(), "{header}");
        assert_eq!(at("column"), d["column"].to_string(), "{header}");
        assert_eq!(at("severity"), d["severity"].as_str().unwrap(), "{header}");
        assert_eq!(at("code"), d["code"].as_str().unwrap(), "{header}");
        assert_eq!(at("message"), d["message"].as_str().unwrap(), "{header}");
    }

    // The closing count and the source lines are not problems; a header without a code (an older
    // budget-guard) still is one.
    let found = groups(
        regexp,
        &[
            "error: policy is invalid: 2 errors, 1 warning",
            "5 |         model: x",
            "p.yaml:3:7: error: boom",
        ],
    );
    assert_eq!(found[0], None);
    assert_eq!(found[1], None);
    let old = found[2].as_ref().expect("a header without a code matches");
    assert_eq!(old[group("message")].as_deref(), Some("boom"));
    assert_eq!(old[group("code")], None);
}
