//! One mistake, one error: checks that build on a value already reported as wrong stay quiet.

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{SourceFile, load};

fn errors(text: &str) -> Vec<Diagnostic> {
    let (_, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

const THRESHOLDS: &str = "version: 1
channels:
  ops:
    email: [ops@example.com]
budgets:
  b:
    amount: AMOUNT
    period: monthly
    thresholds:
      - at: $400
        notify: [ops]
      - at: 80%
        notify: [ops]
";

#[test]
fn a_wrong_amount_is_one_error_not_one_per_threshold() {
    for amount in ["0", "-5", "1e13", "5000000000000"] {
        let found = errors(&THRESHOLDS.replace("AMOUNT", amount));
        assert_eq!(found.len(), 1, "{amount}: {found:#?}");
        assert_eq!(found[0].line, 7, "{amount}: at the amount");
    }
}

#[test]
fn with_a_good_amount_the_same_threshold_written_two_ways_is_caught() {
    // 80% of 500 is $400.
    let found = errors(&THRESHOLDS.replace("AMOUNT", "500"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("repeats threshold 1"),
        "{found:#?}"
    );
    assert_eq!((found[0].line, found[0].column), (12, 13));
}

#[test]
fn a_misspelt_required_field_is_one_error() {
    let found = errors("version: 1\nbudgets:\n  b:\n    amount: 5\n    perod: monthly\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].line, found[0].column), (5, 5));
    assert!(
        found[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("did you mean `period`"))
    );
}

#[test]
fn a_broken_file_does_not_hide_the_mistakes_of_the_others() {
    let (policy, diagnostics) = load(&[
        SourceFile::new(
            "a.yaml",
            "version: 1\nbudgets:\n  b:\n    amount: 0\n    period: monthly\n",
        ),
        SourceFile::new("b.yaml", "version: 1\nbudgets: [\n"),
    ]);
    assert!(policy.is_none());
    let files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, ["a.yaml", "b.yaml"], "{diagnostics:#?}");
}

#[test]
fn references_into_a_broken_file_are_not_reported_as_unknown() {
    // `ops` may well be defined in the file that cannot be read.
    let (_, diagnostics) = load(&[
        SourceFile::new(
            "a.yaml",
            "version: 1\nbudgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n      - at: 90%\n        notify: [ops]\n",
        ),
        SourceFile::new(
            "b.yaml",
            "version: 1\nchannels: {ops: {email: [ops@example.com]}\n",
        ),
    ]);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].file, "b.yaml");
}
