//! The environment of the deployed functions, each variable named once here (the CLI's flags
//! take the same names), and the policy they run with, loaded one way for all three.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{self, LoadOptions, Policy, SourceFile};
use guard_core::ports::PortError;
use guard_core::pricing::inference_profile::{
    RecordedProfilesError, named_profiles, recorded_profiles_source,
};

use crate::policy_files::{read_sources, render};
use crate::ssm::ProfileMapping;

/// The alerts topic's ARN: where Budgets and the spend watcher send alerts, and the only topic
/// whose records the alert handler takes.
pub const ALERTS_TOPIC_ENV: &str = "BUDGET_GUARD_ALERTS_TOPIC_ARN";
/// The notify topic's ARN (email channels).
pub const NOTIFY_TOPIC_ENV: &str = "BUDGET_GUARD_NOTIFY_TOPIC_ARN";
/// The account whose budgets to manage, when no topic ARN says it.
pub const ACCOUNT_ID_ENV: &str = "BUDGET_GUARD_ACCOUNT_ID";
/// The deployment's stack name: the owner of its budgets unless the policy sets `settings.owner`.
pub const STACK_NAME_ENV: &str = "BUDGET_GUARD_STACK_NAME";
/// The deployment's stack id (`AWS::StackId`): the provisioner answers Deletes of its own stack only.
pub const STACK_ID_ENV: &str = "BUDGET_GUARD_STACK_ID";
/// The policy the hard stops attach (stack output DenyPolicyArn), when the policy has `deny`.
pub const DENY_POLICY_ENV: &str = "BUDGET_GUARD_DENY_POLICY_ARN";
/// The role AWS Budgets runs the hard stops as (stack output BudgetActionRoleArn).
pub const BUDGET_ACTION_ROLE_ENV: &str = "BUDGET_GUARD_BUDGET_ACTION_ROLE_ARN";
/// The guard's CloudWatch namespace for the metrics it publishes.
pub const METRICS_NAMESPACE_ENV: &str = "BUDGET_GUARD_METRICS_NAMESPACE";
/// The region whose Price List the provisioner's weekly price check reads.
pub const PRICE_REGION_ENV: &str = "BUDGET_GUARD_PRICE_REGION";
/// The alert handler's function name or ARN (stack output `AlertHandlerName`), for the CLI's flag
/// commands.
pub const ALERT_HANDLER_ENV: &str = "BUDGET_GUARD_ALERT_HANDLER";
/// The SSM parameter recording the models of the application inference profiles the policy names
/// without a `profiles:` entry; set by the stack only when the policy has such profiles.
pub const PROFILES_PARAMETER_ENV: &str = "BUDGET_GUARD_PROFILES_PARAMETER";
/// The fast path's DynamoDB table of usage counters, set only when the fast path is deployed: the
/// usage meter counts into it, the spend watcher reconciles with it.
pub const USAGE_TABLE_ENV: &str = "BUDGET_GUARD_USAGE_TABLE";
/// The policy folder; the policy layer mounts at /opt.
pub const POLICY_DIR_ENV: &str = "BUDGET_GUARD_POLICY_DIR";
pub const LAMBDA_POLICY_DIR: &str = "/opt/policy";

/// Every variable the functions read.
const NAMES: [&str; 12] = [
    ALERTS_TOPIC_ENV,
    NOTIFY_TOPIC_ENV,
    ACCOUNT_ID_ENV,
    STACK_NAME_ENV,
    STACK_ID_ENV,
    DENY_POLICY_ENV,
    BUDGET_ACTION_ROLE_ENV,
    METRICS_NAMESPACE_ENV,
    PRICE_REGION_ENV,
    PROFILES_PARAMETER_ENV,
    USAGE_TABLE_ENV,
    POLICY_DIR_ENV,
];

/// The guard's variables, read once when a function starts. An empty variable counts as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<&'static str, String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} is not set")]
pub struct MissingVar(pub &'static str);

impl Env {
    /// The process environment's values of the guard's variables.
    pub fn from_process() -> Env {
        Env::from_lookup(|name| std::env::var(name).ok())
    }

    /// The guard's variables as `lookup` gives them (a test's own map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Env {
        let vars = NAMES
            .into_iter()
            .filter_map(|name| Some((name, lookup(name).filter(|v| !v.is_empty())?)))
            .collect();
        Env { vars }
    }

    /// A variable's value; `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A variable the function cannot start without.
    pub fn require(&self, name: &'static str) -> Result<&str, MissingVar> {
        self.get(name).ok_or(MissingVar(name))
    }

    /// The guard's CloudWatch namespace, `BudgetGuard` unless set.
    pub fn metrics_namespace(&self) -> &str {
        self.get(METRICS_NAMESPACE_ENV)
            .unwrap_or(guard_core::spend::run::DEFAULT_METRICS_NAMESPACE)
    }

    /// The policy folder: `BUDGET_GUARD_POLICY_DIR`, else the policy layer's `/opt/policy`.
    pub fn policy_dir(&self) -> PathBuf {
        PathBuf::from(self.get(POLICY_DIR_ENV).unwrap_or(LAMBDA_POLICY_DIR))
    }

    /// The policy of [`Env::policy_dir`] (see [`load_policy`]).
    pub fn load_policy(&self) -> Result<Policy, PolicyFailure> {
        load_policy(&self.policy_dir())
    }

    /// The parameter of [`PROFILES_PARAMETER_ENV`], with a client of `config`, if the stack set it.
    pub fn profile_mapping(&self, config: &aws_config::SdkConfig) -> Option<ProfileMapping> {
        self.get(PROFILES_PARAMETER_ENV)
            .map(|name| ProfileMapping::from_config(config, name))
    }

    /// The policy a deployed function runs with (see [`load_deployed_policy`]).
    pub async fn load_deployed_policy(
        &self,
        config: &aws_config::SdkConfig,
    ) -> Result<Policy, DeployedPolicyError> {
        load_deployed_policy(&self.policy_dir(), self.profile_mapping(config).as_ref()).await
    }
}

/// Why a function cannot use its policy.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyFailure {
    /// The folder or a file could not be read.
    #[error("policy at {dir}: {text}")]
    Unreadable { dir: PathBuf, text: String },
    /// The policy is invalid: its errors, each file named from the policy folder, and the
    /// diagnostics rendered with their source lines.
    #[error("policy at {dir}: {rendered}")]
    Invalid {
        dir: PathBuf,
        errors: Vec<Diagnostic>,
        rendered: String,
    },
}

/// The policy names application inference profiles without a `profiles:` entry (these ARNs), and
/// the stack named no parameter for their models: the deployment predates the profiles' resolution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the policy names application inference profiles without a `profiles:` entry ({}), and {PROFILES_PARAMETER_ENV} names no parameter for their models: deploy with the stack of this release, or record them in the policy with `budget-guard profiles --write`",
    .0.iter().cloned().collect::<Vec<_>>().join(", ")
)]
pub struct NoProfilesParameter(pub BTreeSet<String>);

/// Why a deployed function cannot use its policy: the policy itself, or the recorded models of the
/// application inference profiles it names without a `profiles:` entry.
#[derive(Debug, thiserror::Error)]
pub enum DeployedPolicyError {
    #[error(transparent)]
    Policy(#[from] PolicyFailure),
    #[error(transparent)]
    NoParameter(#[from] NoProfilesParameter),
    #[error("reading the recorded application inference profiles: {0}")]
    Read(#[source] PortError),
    #[error(transparent)]
    Recorded(#[from] RecordedProfilesError),
}

impl DeployedPolicyError {
    /// Whether trying again may help: only a failed read of the parameter may.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeployedPolicyError::Read(e) if e.is_retryable())
    }
}

/// The checked policy of the folder `dir`. Each warning is logged as a record of its own, with its
/// code and place; errors make the policy unusable and come back, every one of them.
pub fn load_policy(dir: &Path) -> Result<Policy, PolicyFailure> {
    check_policy(dir, &read_policy(dir)?, LoadOptions::default())
}

/// The files of the policy folder `dir`.
pub fn read_policy(dir: &Path) -> Result<Vec<SourceFile>, PolicyFailure> {
    read_sources(&[dir.to_path_buf()]).map_err(|e| PolicyFailure::Unreadable {
        dir: dir.to_owned(),
        text: e.report(),
    })
}

/// The policy a deployed function runs with: the files of `dir` and, when they name application
/// inference profiles without a `profiles:` entry, the models the provisioner recorded in
/// `mapping`, loaded as one more `profiles:` source (so diagnostics name the parameter). No
/// parameter, or one that misses a profile, is an error: nothing is priced by guess.
pub async fn load_deployed_policy(
    dir: &Path,
    mapping: Option<&ProfileMapping>,
) -> Result<Policy, DeployedPolicyError> {
    let mut sources = read_policy(dir)?;
    let unmapped = named_profiles(&sources).unmapped;
    if !unmapped.is_empty() {
        let mapping = mapping.ok_or_else(|| NoProfilesParameter(unmapped.clone()))?;
        let recorded = mapping.read().await.map_err(DeployedPolicyError::Read)?;
        sources.push(recorded_profiles_source(
            mapping.parameter(),
            recorded.as_deref(),
            &unmapped,
        )?);
    }
    Ok(check_policy(dir, &sources, LoadOptions::default())?)
}

/// `sources` (the files of `dir`, and any recorded or resolved profiles) checked with `options`.
/// Each warning is logged as a record of its own, with its code and place; errors make the policy
/// unusable and come back, every one of them, each file named from the policy folder.
pub fn check_policy(
    dir: &Path,
    sources: &[SourceFile],
    options: LoadOptions,
) -> Result<Policy, PolicyFailure> {
    let (policy, diagnostics) = policy::load_with(sources, options);
    for d in diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
    {
        tracing::warn!(file = %d.file, line = d.line, column = d.column, code = %d.code, message = %d.message, "policy warning");
    }
    policy.ok_or_else(|| {
        let rendered = render(sources, &diagnostics);
        let dir_prefix = format!("{}/", dir.display());
        let errors = diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| Diagnostic {
                file: d
                    .file
                    .strip_prefix(&dir_prefix)
                    .unwrap_or(&d.file)
                    .to_owned(),
                ..d
            })
            .collect();
        PolicyFailure::Invalid {
            dir: dir.to_owned(),
            errors,
            rendered,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_lookup(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn unset_and_empty_variables_are_alike_and_defaults_fill_in() {
        let env = env(&[
            (
                ALERTS_TOPIC_ENV,
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            (NOTIFY_TOPIC_ENV, ""),
            ("BUDGET_GUARD_SOMETHING_ELSE", "x"),
        ]);
        assert_eq!(
            env.require(ALERTS_TOPIC_ENV).unwrap(),
            "arn:aws:sns:us-east-1:123456789012:alerts"
        );
        let missing = env.require(NOTIFY_TOPIC_ENV).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "BUDGET_GUARD_NOTIFY_TOPIC_ARN is not set"
        );
        assert_eq!(env.get("BUDGET_GUARD_SOMETHING_ELSE"), None);
        assert_eq!(env.metrics_namespace(), "BudgetGuard");
        assert_eq!(env.policy_dir(), PathBuf::from("/opt/policy"));
    }

    #[test]
    fn the_policy_folder_and_namespace_come_from_the_environment() {
        let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
        let env = env(&[(POLICY_DIR_ENV, examples), (METRICS_NAMESPACE_ENV, "Team")]);
        assert_eq!(env.metrics_namespace(), "Team");
        let policy = env.load_policy().expect("the example policy");
        assert!(!policy.budgets.is_empty());
    }

    #[test]
    fn an_invalid_policy_names_its_files_from_the_policy_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.yaml"), "budgets: [").unwrap();
        let Err(PolicyFailure::Invalid {
            errors, rendered, ..
        }) = load_policy(dir.path())
        else {
            panic!("an invalid policy");
        };
        assert!(!errors.is_empty());
        assert!(errors.iter().all(|e| e.file == "broken.yaml"), "{errors:?}");
        assert!(rendered.contains("broken.yaml"), "{rendered}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_policy(empty.path()),
            Err(PolicyFailure::Unreadable { .. })
        ));
    }
}
