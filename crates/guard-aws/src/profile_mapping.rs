//! The models of the application inference profiles a policy names without a `profiles:` entry,
//! kept in one SSM parameter that the stack names (`BUDGET_GUARD_PROFILES_PARAMETER`): the
//! provisioner resolves the profiles at deploy and writes it; the alert handler and the spend
//! watcher read it at cold start and load it with the policy as a `profiles:` source, so that
//! they price a profile as the provisioner found it and their diagnostics name where that came
//! from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use guard_core::policy::{Policy, SourceFile};
use guard_core::ports::PortError;
use guard_core::pricing::inference_profile::{
    RecordedProfilesError, mapping_json, named_profiles, recorded_profiles_source,
};

use crate::flag_store::Parameters;
use crate::iam::{Needs, ResourceKind};
use crate::policy_files::{PolicyError, check_sources, read_sources};
use crate::sdk::port_error;

/// The parameter's full name, set by the stack when the policy has such profiles.
pub const PROFILES_PARAMETER_ENV: &str = "BUDGET_GUARD_PROFILES_PARAMETER";

/// What reading the mapping calls (the alert handler, the spend watcher).
pub const READ_NEEDS: Needs = &[(&["ssm:GetParameter"], ResourceKind::ProfileMapping)];
/// What recording it calls (the provisioner): it reads first, and writes only a change.
pub const WRITE_NEEDS: Needs = &[(
    &["ssm:GetParameter", "ssm:PutParameter"],
    ResourceKind::ProfileMapping,
)];

/// The SDK operations this module calls, as `service:Action` (for the IAM test).
pub const OPERATIONS: &[&str] = &["ssm:GetParameter", "ssm:PutParameter"];

const DESCRIPTION: &str = "Budget Guard: the model each application inference profile of the policy runs (JSON, ARN to model id), written by the provisioner";

/// The parameter holding the recorded mapping.
#[derive(Debug, Clone)]
pub struct ProfileMapping {
    client: aws_sdk_ssm::Client,
    parameter: String,
}

impl ProfileMapping {
    pub fn new(client: aws_sdk_ssm::Client, parameter: impl Into<String>) -> Self {
        ProfileMapping {
            client,
            parameter: parameter.into(),
        }
    }

    /// The parameter `parameter`, with a client of `config`.
    pub fn from_config(config: &aws_config::SdkConfig, parameter: impl Into<String>) -> Self {
        ProfileMapping::new(aws_sdk_ssm::Client::new(config), parameter)
    }

    /// The parameter the stack named in the function's environment, if it named one.
    pub fn from_env(config: &aws_config::SdkConfig) -> Option<Self> {
        std::env::var(PROFILES_PARAMETER_ENV)
            .ok()
            .filter(|name| !name.is_empty())
            .map(|name| ProfileMapping::from_config(config, name))
    }

    pub fn parameter(&self) -> &str {
        &self.parameter
    }

    /// The recorded JSON, or `None` before the provisioner first wrote it.
    pub async fn read(&self) -> Result<Option<String>, PortError> {
        Parameters::new(self.client.clone())
            .get(&self.parameter)
            .await
    }

    /// Records `mapping`, replacing what was there. Intelligent-Tiering keeps the parameter
    /// standard (free) until the JSON outgrows a standard parameter's 4 KB, about 25 profiles.
    pub async fn write(&self, mapping: &BTreeMap<String, String>) -> Result<(), PortError> {
        self.client
            .put_parameter()
            .name(&self.parameter)
            .value(mapping_json(mapping))
            .r#type(ParameterType::String)
            .tier(ParameterTier::IntelligentTiering)
            .overwrite(true)
            .description(DESCRIPTION)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| port_error("ssm:PutParameter", error))
    }
}

/// Why a deployed function cannot use its policy.
#[derive(Debug, thiserror::Error)]
pub enum DeployedPolicyError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(
        "the policy names application inference profiles without a `profiles:` entry ({}), and {PROFILES_PARAMETER_ENV} names no parameter where their models are recorded: deploy with the stack of this release, or record them in the policy with `budget-guard profiles --write`",
        .0.iter().cloned().collect::<Vec<_>>().join(", ")
    )]
    NoParameter(BTreeSet<String>),
    #[error("reading the recorded application inference profiles: {0}")]
    Read(#[source] PortError),
    #[error(transparent)]
    Recorded(#[from] RecordedProfilesError),
}

impl DeployedPolicyError {
    /// Whether trying again may help: only a failed read of the parameter may.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeployedPolicyError::Read(e) if e.kind.is_retryable())
    }
}

/// The policy a deployed function runs with: the files of `paths` and, when they name application
/// inference profiles without a `profiles:` entry, the models recorded in `mapping`. A missing
/// parameter, or one that misses a profile, is an error: nothing is priced by guess. The checked
/// policy comes with its warnings rendered.
pub async fn load_deployed_policy(
    paths: &[PathBuf],
    mapping: Option<&ProfileMapping>,
) -> Result<(Policy, String), DeployedPolicyError> {
    let mut sources: Vec<SourceFile> = read_sources(paths)?;
    let unmapped = named_profiles(&sources).unmapped;
    if !unmapped.is_empty() {
        let mapping = mapping.ok_or_else(|| DeployedPolicyError::NoParameter(unmapped.clone()))?;
        let recorded = mapping.read().await.map_err(DeployedPolicyError::Read)?;
        sources.push(recorded_profiles_source(
            mapping.parameter(),
            recorded.as_deref(),
            &unmapped,
        )?);
    }
    Ok(check_sources(&sources)?)
}
