//! The alert handler's records (its ledger and notices) in SSM Parameter Store, one String
//! parameter per key under the alert handler's subtree of the state path.

use guard_core::alerts::ports::StateStore;
use guard_core::ports::PortError;

use super::parameters::Parameters;
use crate::iam::{Call, Calls, ResourceKind};

/// What the state store calls, on the parameters under the alert handler's subtree of the state
/// path (listing and deleting are for pruning old records).
pub const CALLS: Calls = &[
    Call::new(
        "GetParameter",
        "ssm:GetParameter",
        ResourceKind::AlertHandlerState,
    ),
    Call::new(
        "PutParameter",
        "ssm:PutParameter",
        ResourceKind::AlertHandlerState,
    ),
    Call::new(
        "GetParametersByPath",
        "ssm:GetParametersByPath",
        ResourceKind::AlertHandlerState,
    ),
    Call::new(
        "DeleteParameters",
        "ssm:DeleteParameters",
        ResourceKind::AlertHandlerState,
    ),
];

/// The alert-handler's records, one parameter per key under the state path.
#[derive(Debug, Clone)]
pub struct SsmStateStore {
    parameters: Parameters,
    path: String,
}

impl SsmStateStore {
    /// `path` is the alert handler's subtree of the state path
    /// ([`Settings::alert_handler_state_path`](guard_core::policy::raw::Settings::alert_handler_state_path)).
    pub fn new(client: aws_sdk_ssm::Client, path: &str) -> Self {
        let path = if path.ends_with('/') {
            path.to_owned()
        } else {
            format!("{path}/")
        };
        SsmStateStore {
            parameters: Parameters::new(client),
            path,
        }
    }

    /// The parameter name of a state key.
    pub fn parameter(&self, key: &str) -> String {
        format!("{}{}", self.path, key)
    }
}

impl StateStore for SsmStateStore {
    async fn get_state(&self, key: &str) -> Result<Option<String>, PortError> {
        self.parameters.get(&self.parameter(key)).await
    }

    async fn put_state(&self, key: &str, value: &str) -> Result<(), PortError> {
        self.parameters
            .put(
                &self.parameter(key),
                value,
                "Budget Guard alert-handler state",
            )
            .await
    }

    async fn list_state(&self, prefix: &str) -> Result<Vec<(String, String)>, PortError> {
        let path = self.parameter(prefix);
        let records = self.parameters.list(path.trim_end_matches('/')).await?;
        Ok(records
            .into_iter()
            .filter_map(|(name, value)| {
                name.strip_prefix(&self.path)
                    .map(|key| (key.to_owned(), value))
            })
            .collect())
    }

    async fn delete_state(&self, keys: &[String]) -> Result<(), PortError> {
        let names: Vec<String> = keys.iter().map(|k| self.parameter(k)).collect();
        self.parameters.delete(&names).await
    }
}
