//! Policies from YAML text, for tests whose policy is a few lines of their own.

use crate::policy::{Policy, SourceFile, load};

/// The policy of `yaml` (one file, `policy.yaml`).
///
/// # Panics
///
/// When the policy has errors, with every diagnostic: a test without its policy has nothing to
/// run.
pub fn checked(yaml: &str) -> Policy {
    let (policy, diagnostics) = load(&[SourceFile::new("policy.yaml", yaml.as_bytes().to_vec())]);
    policy.unwrap_or_else(|| panic!("the test's policy is invalid: {diagnostics:#?}"))
}
