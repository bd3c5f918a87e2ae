//! The models of the application inference profiles a policy names without a `profiles:` entry,
//! kept in one SSM parameter that the stack names (`BUDGET_GUARD_PROFILES_PARAMETER`): the
//! provisioner resolves the profiles at deploy and writes it; the alert handler and the spend
//! watcher read it at cold start (`crate::wiring::env::load_deployed_policy`).

use std::collections::BTreeMap;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use guard_core::ports::PortError;
use guard_core::pricing::inference_profile::mapping_json;

use super::parameters::Parameters;
use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::port_error;

/// What reading the mapping calls (the alert handler, the spend watcher).
pub const READ_CALLS: Calls = &[Call::new(
    "GetParameter",
    "ssm:GetParameter",
    ResourceKind::ProfileMapping,
)];
/// What recording it calls (the provisioner): it reads first, and writes only a change.
pub const WRITE_CALLS: Calls = &[
    Call::new(
        "GetParameter",
        "ssm:GetParameter",
        ResourceKind::ProfileMapping,
    ),
    Call::new(
        "PutParameter",
        "ssm:PutParameter",
        ResourceKind::ProfileMapping,
    ),
];

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
