//! Routing flags in SSM Parameter Store, one String parameter per route holding the flag's JSON.
//! Each write makes a new parameter version, so SSM keeps every flag's history for audit.

use guard_core::alerts::flags::Flag;
use guard_core::alerts::ports::FlagStore;
use guard_core::ports::{ErrorKind, PortError};

use super::parameters::Parameters;
use crate::iam::{Call, Calls, ResourceKind};

/// What the flag store calls, on the parameters under the policy's flags path.
pub const CALLS: Calls = &[
    Call::new("GetParameter", "ssm:GetParameter", ResourceKind::Flags),
    Call::new("PutParameter", "ssm:PutParameter", ResourceKind::Flags),
];

/// Routing flags, one parameter per route.
#[derive(Debug, Clone)]
pub struct SsmFlagStore {
    parameters: Parameters,
}

impl SsmFlagStore {
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        SsmFlagStore {
            parameters: Parameters::new(client),
        }
    }
}

impl FlagStore for SsmFlagStore {
    async fn get_flag(&self, parameter: &str) -> Result<Option<Flag>, PortError> {
        let Some(text) = self.parameters.get(parameter).await? else {
            return Ok(None);
        };
        Flag::parse(&text).map(Some).map_err(|e| {
            tracing::error!(parameter, error = %e, "the parameter does not hold a routing flag");
            PortError::new(ErrorKind::Invalid, "read flag", format!("{parameter}: {e}"))
        })
    }

    async fn put_flag(&self, parameter: &str, flag: &Flag) -> Result<(), PortError> {
        let description = format!(
            "Budget Guard routing flag of route {} (JSON; written by {})",
            flag.route, flag.changed_by
        );
        self.parameters
            .put(parameter, &flag.to_json(), &truncate(&description, 1024))
            .await
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
