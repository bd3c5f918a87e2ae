//! The CLI's side of policy loading: warnings to stderr, exit codes for failures.

pub use guard_aws::policy_files::{PolicyError, read_sources, render};
use guard_core::policy::Policy;
use std::path::PathBuf;

/// The policy of `paths`, or the reason it cannot be used. Warnings go to stderr.
pub fn load_policy(paths: &[PathBuf]) -> Result<Policy, PolicyError> {
    let (policy, warnings) = guard_aws::policy_files::load_policy(paths)?;
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    Ok(policy)
}
