//! Policies for the suites: the example policy of `policies/`, and the fixtures of
//! `tests/fixtures/policies/`, each named for what it shows. A policy a test is about (one
//! mistake, a few lines) stays in the test; one that several tests share, or a long one, is a
//! fixture. The hostile policies that the robustness suite and its timing example both build are
//! here too.

use crate::workspace_root;
use std::path::PathBuf;

/// `policies/example.yaml`: the policy the README walks through, as text.
pub const fn example_policy() -> &'static str {
    include_str!("../../../policies/example.yaml")
}

/// The Slack webhook secret of the example policy's `platform-alerts` channel.
pub const EXAMPLE_WEBHOOK_SECRET: &str = "budget-guard/slack/platform-alerts";

/// Where `tests/fixtures/policies/<name>` is: a `.yaml` file (give the extension), or a folder of
/// files for suites that load a directory.
pub fn policy_fixture_path(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/policies").join(name)
}

/// The text of `tests/fixtures/policies/<name>.yaml`.
///
/// # Panics
///
/// When the file cannot be read, naming it: a test without its policy has nothing to run.
pub fn policy_fixture(name: &str) -> String {
    let path = policy_fixture_path(&format!("{name}.yaml"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("policy fixture {}: {e}", path.display()))
}

/// "Billion laughs": nine levels of nine aliases, 9^9 strings if a reader expanded them.
pub fn alias_bomb() -> String {
    let mut text = String::from(
        "version: 1\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    text
}

/// A policy whose list of `names` channel names is anchored once and referred to from `refs`
/// thresholds: every value is of the right type, so only a bound on expanded nodes can stop it
/// (sixty million strings at 20,000 x 3,000).
pub fn aliased_notify_lists(names: usize, refs: usize) -> String {
    let mut text = String::from(
        "version: 1\nchannels:\n  c:\n    email: [a@example.com]\nbudgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n",
    );
    text.push_str(&format!(
        "      - {{at: 1%, notify: &n [{}]}}\n",
        vec!["c"; names].join(",")
    ));
    text.push_str(&"      - {at: 2%, notify: *n}\n".repeat(refs));
    text
}
