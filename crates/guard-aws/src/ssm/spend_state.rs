//! The spend watcher's memory: the thresholds it has tripped per budget and period, as SSM
//! parameters under the spend watcher's subtree of the state path (`<state_path>spend/<budget>`,
//! standard tier, JSON).

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::SdkError;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::ParameterType;
use guard_core::ports::{ErrorKind, PortError};
use guard_core::spend::{ports::SpendStateStore, thresholds::SpendState};
use guard_core::state_key::key_part;

use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::sdk_error_kind;

/// Reading and writing the state parameters.
pub const CALLS: Calls = &[
    Call::new(
        "GetParameter",
        "ssm:GetParameter",
        ResourceKind::SpendWatcherState,
    ),
    Call::new(
        "PutParameter",
        "ssm:PutParameter",
        ResourceKind::SpendWatcherState,
    ),
];

/// The parameter of a budget's state: `<dir><budget>`, where `dir` is the spend watcher's subtree
/// of the state path and the budget's name is made a [`key_part`]: two budgets are always two
/// parameters, and a name of characters SSM allows (`a-zA-Z0-9_.-`) is kept as it is.
pub fn parameter_name(dir: &str, budget: &str) -> String {
    format!("{}/{}", dir.trim_end_matches('/'), key_part(budget))
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("ssm:GetParameter {name} failed")]
    Get {
        name: String,
        source: SdkError<GetParameterError, HttpResponse>,
    },
    #[error("ssm:PutParameter {name} failed")]
    Put {
        name: String,
        source: SdkError<PutParameterError, HttpResponse>,
    },
    #[error("parameter {name} does not hold a spend state: {source}")]
    Corrupt {
        name: String,
        source: serde_json::Error,
    },
}

impl StateError {
    /// As the spend watcher's ports report it, this error kept as the source.
    pub fn into_port_error(self) -> PortError {
        let (operation, kind) = match &self {
            StateError::Get { source, .. } => ("ssm:GetParameter", sdk_error_kind(source)),
            StateError::Put { source, .. } => ("ssm:PutParameter", sdk_error_kind(source)),
            StateError::Corrupt { .. } => ("ssm:GetParameter", ErrorKind::Invalid),
        };
        PortError::from_source(kind, operation, self)
    }
}

/// Spend states in SSM Parameter Store.
#[derive(Debug, Clone)]
pub struct SsmSpendState {
    client: aws_sdk_ssm::Client,
    /// The spend watcher's subtree of the state path.
    dir: String,
}

impl SsmSpendState {
    /// `dir` is [`Settings::spend_watcher_state_path`](guard_core::policy::raw::Settings::spend_watcher_state_path).
    pub fn new(client: aws_sdk_ssm::Client, dir: impl Into<String>) -> Self {
        SsmSpendState {
            client,
            dir: dir.into(),
        }
    }

    /// The saved state, or `None` when there is none yet. A parameter that does not parse counts
    /// as none (logged): the worst outcome is an alert sent again.
    pub async fn get(&self, budget: &str) -> Result<Option<SpendState>, StateError> {
        let name = parameter_name(&self.dir, budget);
        let out = match self.client.get_parameter().name(&name).send().await {
            Ok(out) => out,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetParameterError::ParameterNotFound(_))
                ) =>
            {
                return Ok(None);
            }
            Err(source) => return Err(StateError::Get { name, source }),
        };
        let Some(value) = out.parameter.and_then(|p| p.value) else {
            return Ok(None);
        };
        match serde_json::from_str(&value) {
            Ok(state) => Ok(Some(state)),
            Err(source) => {
                let e = StateError::Corrupt { name, source };
                tracing::warn!(error = %e, "ignoring an unreadable spend state");
                Ok(None)
            }
        }
    }

    pub async fn put(&self, budget: &str, state: &SpendState) -> Result<(), StateError> {
        let name = parameter_name(&self.dir, budget);
        let value = serde_json::to_string(state).map_err(|source| StateError::Corrupt {
            name: name.clone(),
            source,
        })?;
        self.client
            .put_parameter()
            .name(&name)
            .value(value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|source| StateError::Put {
                name: name.clone(),
                source,
            })?;
        tracing::debug!(parameter = %name, period_start = %state.period_start, tripped = state.tripped.len(), pending = state.pending.len(), "spend state saved");
        Ok(())
    }
}

impl SpendStateStore for SsmSpendState {
    async fn load(&self, budget: &str) -> Result<Option<SpendState>, PortError> {
        self.get(budget).await.map_err(StateError::into_port_error)
    }

    async fn save(&self, budget: &str, state: &SpendState) -> Result<(), PortError> {
        self.put(budget, state)
            .await
            .map_err(StateError::into_port_error)
    }
}

#[cfg(test)]
mod tests {
    use super::parameter_name;

    #[test]
    fn every_budget_has_a_parameter_of_its_own() {
        let dir = "/budget-guard/state/spend/";
        assert_eq!(
            parameter_name(dir, "bg-chatbot"),
            "/budget-guard/state/spend/bg-chatbot"
        );
        let names: Vec<String> = ["bg-café", "bg-cafè", "bg-a b", "bg-a_b"]
            .iter()
            .map(|b| parameter_name(dir, b))
            .collect();
        for (i, name) in names.iter().enumerate() {
            assert!(name.starts_with(dir), "{name}");
            assert!(!names[i + 1..].contains(name), "{names:?}");
        }
    }
}
