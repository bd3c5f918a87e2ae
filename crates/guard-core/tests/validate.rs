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

#[test]
fn a_flood_of_errors_is_cut_short_with_a_count_at_the_first_not_shown() {
    use guard_core::policy::MAX_SHOWN_PER_FILE;
    let mut text = String::from("version: 1\nbudgets:\n");
    for i in 0..150 {
        text.push_str(&format!("  b{i}:\n    amount: 0\n    period: monthly\n"));
    }
    let (_, diagnostics) = load(&[
        SourceFile::new("p.yaml", text),
        SourceFile::new("q.yaml", "version: 2\n"),
    ]);
    let p: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.file == "p.yaml").collect();
    assert_eq!(p.len(), MAX_SHOWN_PER_FILE + 1);
    let last = p.last().unwrap();
    assert_eq!(
        last.message,
        "50 more errors and warnings in this file are not shown"
    );
    // Budget 101's amount, on line 2 + 100 x 3 + 2.
    assert_eq!((last.line, last.column), (304, 13));
    assert_eq!(
        diagnostics.iter().filter(|d| d.file == "q.yaml").count(),
        1,
        "other files keep theirs"
    );
}

#[test]
fn thousands_of_the_same_mistake_are_counted() {
    // One anchored list of 900 names referred to by 1,000 thresholds: 900,000 repeated channels.
    let mut text = String::from(
        "version: 1\nchannels:\n  c:\n    email: [a@example.com]\nbudgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n",
    );
    text.push_str(&format!(
        "      - {{at: 1%, notify: &n [{}]}}\n",
        vec!["c"; 900].join(",")
    ));
    text.push_str(&"      - {at: 2%, notify: *n}\n".repeat(1_000));
    let (_, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    assert_eq!(
        diagnostics.len(),
        guard_core::policy::MAX_SHOWN_PER_FILE + 1
    );
    let count: usize = diagnostics
        .last()
        .unwrap()
        .message
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Every repeat (899 in each of the 1,001 thresholds) and the count of thresholds, less the
    // 100 shown. Thresholds with errors are not compared with each other, so the repeated `2%`
    // adds nothing; a repeated channel is not counted again against the email limit.
    assert_eq!(count, 899 * 1001 + 1 - 100);
}

#[test]
fn settings_owner_must_be_a_tag_value() {
    let policy = |owner: &str| format!("version: 1\nsettings:\n  owner: {owner}\n");
    assert!(errors(&policy("team-ml/guard@prod")).is_empty());
    let (loaded, _) = load(&[SourceFile::new("p.yaml", policy("'Team ML'"))]);
    assert_eq!(
        loaded.unwrap().owner(Some("BudgetGuard")).as_deref(),
        Some("Team ML"),
        "settings.owner wins over the stack name"
    );
    let (loaded, _) = load(&[SourceFile::new("p.yaml", "version: 1\n")]);
    assert_eq!(
        loaded.unwrap().owner(Some("BudgetGuard")).as_deref(),
        Some("BudgetGuard")
    );
    for (owner, message) in [
        ("''", "`owner` is empty"),
        ("'a;b'", "`owner` contains `;`"),
        (
            &"x".repeat(257),
            "`owner` is 257 characters long; a tag value has at most 256",
        ),
    ] {
        let found = errors(&policy(owner));
        assert_eq!(found.len(), 1, "{owner}: {found:#?}");
        assert_eq!(found[0].message, message);
        assert_eq!((found[0].line, found[0].column), (3, 10), "at the value");
    }
}
