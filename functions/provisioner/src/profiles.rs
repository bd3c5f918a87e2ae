//! Application inference profiles at deploy and on each drift repair. The ARNs the policy names
//! without a `profiles:` entry are resolved with `bedrock:GetInferenceProfile`, the policy is
//! checked with the answers, and the answers are recorded in the parameter the stack names, where
//! the alert handler and the spend watcher read them. A recording that is already right is not
//! written again; a profile that now runs another model is logged and recorded anew.

use std::collections::{BTreeMap, BTreeSet};

use guard_aws::inference_profiles::InferenceProfileError;
use guard_aws::policy_files::read_sources;
use guard_aws::profile_mapping::{PROFILES_PARAMETER_ENV, ProfileMapping};
use guard_core::policy::{LoadOptions, Policy};
use guard_core::ports::PortError;
use guard_core::pricing::inference_profile::{
    mapping_changes, named_profiles, resolved_profiles_source,
};

use crate::{PolicyFailure, Provisioner, check_policy};

/// Why the profiles could not be resolved or recorded.
#[derive(Debug, thiserror::Error)]
pub enum ProfilesError {
    #[error(
        "the policy names application inference profiles without a `profiles:` entry ({}), and {PROFILES_PARAMETER_ENV} names no parameter to record their models in: deploy with the stack of this release, or record them in the policy with `budget-guard profiles --write`",
        .0.iter().cloned().collect::<Vec<_>>().join(", ")
    )]
    NoParameter(BTreeSet<String>),
    #[error("resolving an application inference profile: {0}")]
    Resolve(#[source] InferenceProfileError),
    #[error("reading the recorded application inference profiles: {0}")]
    Read(#[source] PortError),
    #[error("recording the application inference profiles: {0}")]
    Write(#[source] PortError),
}

impl ProfilesError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ProfilesError::NoParameter(_) => false,
            ProfilesError::Resolve(e) => e.is_retryable(),
            ProfilesError::Read(e) | ProfilesError::Write(e) => e.kind.is_retryable(),
        }
    }

    /// The error's whole chain, for CloudFormation's `Reason` and the logs.
    fn report(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self).and_then(std::error::Error::source);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }
}

impl From<ProfilesError> for PolicyFailure {
    fn from(error: ProfilesError) -> Self {
        PolicyFailure::Profiles {
            reason: error.report(),
            retryable: error.is_retryable(),
        }
    }
}

impl Provisioner {
    /// The policy of the layer with its unmapped application inference profiles resolved, checked
    /// with the answers, and the answers recorded (only when they differ from the recording).
    pub async fn load_resolving_profiles(&self) -> Result<Policy, PolicyFailure> {
        let dir = &self.settings.policy_dir;
        let mut sources = read_sources(std::slice::from_ref(dir))
            .map_err(|e| PolicyFailure::Unreadable(e.report()))?;
        let unmapped = named_profiles(&sources).unmapped;
        if unmapped.is_empty() {
            return check_policy(dir, &sources, LoadOptions::default());
        }
        let mapping = self
            .profile_mapping
            .as_ref()
            .ok_or_else(|| ProfilesError::NoParameter(unmapped.clone()))?;
        let resolved = self
            .inference_profiles
            .priced_models(unmapped.iter().map(String::as_str))
            .await
            .map_err(ProfilesError::Resolve)?;
        sources.push(resolved_profiles_source(&resolved));
        let policy = check_policy(dir, &sources, LoadOptions::default())?;
        record(mapping, &resolved).await?;
        Ok(policy)
    }
}

/// Writes `resolved` unless the parameter holds it already; says what changed.
async fn record(
    mapping: &ProfileMapping,
    resolved: &BTreeMap<String, String>,
) -> Result<(), ProfilesError> {
    let parameter = mapping.parameter();
    let recorded: BTreeMap<String, String> =
        match mapping.read().await.map_err(ProfilesError::Read)? {
            None => BTreeMap::new(),
            Some(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                tracing::warn!(%parameter, %error, "the recorded profiles are not JSON of ARN to model id: recorded anew");
                BTreeMap::new()
            }),
        };
    let changes = mapping_changes(&recorded, resolved);
    if changes.is_empty() {
        tracing::info!(%parameter, profiles = resolved.len(), "application inference profiles resolved: as recorded");
        return Ok(());
    }
    for (arn, model) in &changes.added {
        tracing::info!(%parameter, profile = %arn, %model, "application inference profile resolved");
    }
    for (arn, before, now) in &changes.changed {
        tracing::warn!(%parameter, profile = %arn, recorded = %before, model = %now, "application inference profile now runs another model: recorded anew, and priced so from the functions' next start");
    }
    for arn in &changes.dropped {
        tracing::info!(%parameter, profile = %arn, "application inference profile no longer in the policy: dropped from the record");
    }
    mapping.write(resolved).await.map_err(ProfilesError::Write)
}
