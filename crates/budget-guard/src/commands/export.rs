use crate::output::print_json;
use crate::policy_files::{PolicyError, read_sources, render};
use guard_core::policy::{LoadOptions, UnmappedProfiles};
use guard_core::pricing::inference_profile::named_profiles;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sources = match read_sources(&args.paths) {
        Ok(sources) => sources,
        Err(e) => return Ok(policy_failure(e)),
    };
    // The stack resolves the profiles no `profiles:` entry maps: they are listed, not refused.
    let options = LoadOptions {
        unmapped_profiles: UnmappedProfiles::ResolvedAtDeploy,
    };
    let (policy, diagnostics) = guard_core::policy::load_with(&sources, options);
    let rendered = render(&sources, &diagnostics);
    let Some(policy) = policy else {
        return Ok(policy_failure(PolicyError::Invalid(rendered)));
    };
    if !rendered.is_empty() {
        eprint!("{rendered}");
    }
    // Beside the policy, what the stack derives from it in one place: every role a `deny`
    // names, which the stack's Budgets role may attach the deny policy to; and the application
    // inference profiles the provisioner resolves at deploy, with the parameter it records
    // their models in (which the stack grants and names to the functions).
    let unresolved: Vec<String> = named_profiles(&sources).unmapped.into_iter().collect();
    let mut exported = serde_json::to_value(&policy)?;
    if let Some(top) = exported.as_object_mut() {
        top.insert("deny_roles".into(), serde_json::json!(policy.deny_roles()));
        top.insert("unresolved_profiles".into(), serde_json::json!(unresolved));
        top.insert(
            "profiles_parameter".into(),
            serde_json::json!(policy.settings.profiles_parameter()),
        );
    }
    print_json(&exported)?;
    Ok(ExitCode::SUCCESS)
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
