use crate::output::print_json;
use crate::policy_files::{PolicyError, load_policy};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match load_policy(&args.paths) {
        Ok(policy) => {
            // Beside the policy, what the stack derives from it in one place: every role a
            // `deny` names, which the stack's Budgets role may attach the deny policy to.
            let mut exported = serde_json::to_value(&policy)?;
            if let Some(top) = exported.as_object_mut() {
                top.insert("deny_roles".into(), serde_json::json!(policy.deny_roles()));
            }
            print_json(&exported)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(policy_failure(e)),
    }
}

/// Reports a policy that could not be used: exit 1 when invalid, 2 when unreadable.
pub fn policy_failure(error: PolicyError) -> ExitCode {
    match error {
        PolicyError::Invalid(text) => {
            eprint!("{text}");
            ExitCode::from(1)
        }
        other => {
            eprintln!("error: {other}");
            ExitCode::from(2)
        }
    }
}
