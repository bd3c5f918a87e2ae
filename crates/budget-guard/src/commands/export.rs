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
            print_json(&policy)?;
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
