//! The CLI's side of policy loading: warnings to stderr, exit codes for failures, and the
//! application inference profiles that commands calling AWS resolve live.

pub use guard_aws::policy_files::{PolicyError, read_sources, render};
use guard_core::policy::{Policy, SourceFile};
use guard_core::pricing::inference_profile::{named_profiles, resolved_profiles_source};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The policy of `paths`, or the reason it cannot be used. Warnings go to stderr.
pub fn load_policy(paths: &[PathBuf]) -> Result<Policy, PolicyError> {
    let (policy, warnings) = guard_aws::policy_files::load_policy(paths)?;
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    Ok(policy)
}

/// The policy's paths of a command that takes them as PATHS and, for older scripts, as
/// `--policy PATHS`: one or the other (none means the default, `policies`).
pub fn policy_paths(paths: &[PathBuf], alias: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    match (paths.is_empty(), alias.is_empty()) {
        (false, false) => anyhow::bail!(
            "the policy is given twice, as PATHS and as --policy: give PATHS only (--policy is the older spelling)"
        ),
        (true, false) => Ok(alias.to_vec()),
        _ => Ok(paths.to_vec()),
    }
}

/// Why a live command could not load its policy.
#[derive(Debug)]
pub enum LiveLoadError {
    /// Unreadable or invalid, as for [`load_policy`].
    Policy(PolicyError),
    /// An application inference profile could not be resolved.
    Resolve(anyhow::Error),
}

/// Each ARN's priced model, from `bedrock:GetInferenceProfile` in the ARN's region.
pub fn resolve_profiles<'a>(
    arns: impl IntoIterator<Item = &'a str>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let arns: Vec<&str> = arns.into_iter().collect();
    if arns.is_empty() {
        return Ok(BTreeMap::new());
    }
    crate::commands::apply::runtime()?.block_on(async {
        let config = guard_aws::sdk::load().await;
        let reader = guard_aws::bedrock::InferenceProfileReader::from_sdk_config(&config);
        Ok(reader.priced_models(arns).await?)
    })
}

/// The policy of `paths` for a command that calls AWS anyway (`plan`, `apply`): application
/// inference profile ARNs that no `profiles:` entry maps are resolved with
/// `bedrock:GetInferenceProfile` first, each noted on stderr, and join the policy as if its
/// `profiles:` said them.
pub fn load_policy_live(paths: &[PathBuf]) -> Result<Policy, LiveLoadError> {
    let mut sources: Vec<SourceFile> = read_sources(paths).map_err(LiveLoadError::Policy)?;
    let unmapped = named_profiles(&sources).unmapped;
    let resolved =
        resolve_profiles(unmapped.iter().map(String::as_str)).map_err(LiveLoadError::Resolve)?;
    for (arn, model) in &resolved {
        eprintln!(
            "note: {arn} runs {model} (bedrock:GetInferenceProfile); `budget-guard profiles --write FILE` records it in the policy"
        );
    }
    if !resolved.is_empty() {
        sources.push(resolved_profiles_source(&resolved));
    }
    let (policy, diagnostics) = guard_core::policy::load(&sources);
    let rendered = render(&sources, &diagnostics);
    match policy {
        Some(policy) => {
            if !rendered.is_empty() {
                eprint!("{rendered}");
            }
            Ok(policy)
        }
        None => Err(LiveLoadError::Policy(PolicyError::Invalid(rendered))),
    }
}
