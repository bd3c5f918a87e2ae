//! Policies for the suites: the example policy of `policies/`, and the fixtures of
//! `tests/fixtures/policies/`, each named for what it shows. A policy a test is about (one
//! mistake, a few lines) stays in the test; one that several tests share, or a long one, is a
//! fixture.

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
