//! Routing flags and the alert-handler's own state in SSM Parameter Store: String parameters
//! holding JSON, read with `GetParameter` (a missing parameter is `None`) and written with
//! `PutParameter Overwrite=true`. Each write makes a new parameter version, so the history of
//! every flag is kept by SSM for audit.

use aws_sdk_ssm::operation::delete_parameters::DeleteParametersError;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathError;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::ParameterType;
use guard_core::alerts::flags::Flag;
use guard_core::alerts::ports::{FlagStore, StateStore};
use guard_core::ports::{ErrorKind, PortError};

use crate::iam::{Needs, ResourceKind};
use crate::sdk::{classify, port_error};

/// What the flag store calls, on the parameters under the policy's flags path.
pub const FLAGS_NEEDS: Needs = &[(
    &["ssm:GetParameter", "ssm:PutParameter"],
    ResourceKind::Flags,
)];
/// What the state store calls, on the parameters under the alert handler's subtree of the state
/// path (listing and deleting are for pruning old records).
pub const STATE_NEEDS: Needs = &[(
    &[
        "ssm:DeleteParameters",
        "ssm:GetParameter",
        "ssm:GetParametersByPath",
        "ssm:PutParameter",
    ],
    ResourceKind::AlertHandlerState,
)];

/// The SDK operations this module calls, as `service:Action` (for the IAM test).
pub const OPERATIONS: &[&str] = &[
    "ssm:GetParameter",
    "ssm:PutParameter",
    "ssm:GetParametersByPath",
    "ssm:DeleteParameters",
];

/// DeleteParameters takes at most this many names per call.
const DELETE_BATCH: usize = 10;

classify!(GetParameterError {
    ParameterNotFound => NotFound, ParameterVersionNotFound => NotFound,
    InternalServerError => Transient, InvalidKeyId => Invalid,
});
classify!(GetParametersByPathError {
    InternalServerError => Transient, InvalidFilterKey => Invalid, InvalidFilterOption => Invalid,
    InvalidFilterValue => Invalid, InvalidKeyId => Invalid, InvalidNextToken => Invalid,
});
classify!(DeleteParametersError { InternalServerError => Transient });
classify!(PutParameterError {
    TooManyUpdates => Throttled, InternalServerError => Transient,
    ParameterLimitExceeded => LimitExceeded, ParameterMaxVersionLimitExceeded => LimitExceeded,
    HierarchyLevelLimitExceededException => LimitExceeded, PoliciesLimitExceededException => LimitExceeded,
    HierarchyTypeMismatchException => Invalid, ParameterPatternMismatchException => Invalid,
    UnsupportedParameterType => Invalid, InvalidKeyId => Invalid, InvalidAllowedPatternException => Invalid,
    IncompatiblePolicyException => Invalid, InvalidPolicyAttributeException => Invalid,
    InvalidPolicyTypeException => Invalid, ParameterAlreadyExists => Duplicate,
});

/// String parameters of SSM Parameter Store.
#[derive(Debug, Clone)]
pub struct Parameters {
    client: aws_sdk_ssm::Client,
}

impl Parameters {
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        Parameters { client }
    }

    /// The parameter's value, or `None` when it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<String>, PortError> {
        match self.client.get_parameter().name(name).send().await {
            Ok(output) => Ok(output.parameter.and_then(|p| p.value)),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(GetParameterError::ParameterNotFound(_))
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(port_error("ssm:GetParameter", error)),
        }
    }

    /// Every parameter under `path` (recursively), as `(name, value)`, all pages.
    pub async fn list(&self, path: &str) -> Result<Vec<(String, String)>, PortError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .client
                .get_parameters_by_path()
                .path(path)
                .recursive(true)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| port_error("ssm:GetParametersByPath", e))?;
            for p in output.parameters() {
                if let (Some(name), Some(value)) = (p.name(), p.value()) {
                    found.push((name.to_owned(), value.to_owned()));
                }
            }
            match output.next_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(found),
            }
        }
    }

    /// Deletes parameters, ten per call. Names that do not exist are fine.
    pub async fn delete(&self, names: &[String]) -> Result<(), PortError> {
        for batch in names.chunks(DELETE_BATCH) {
            self.client
                .delete_parameters()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| port_error("ssm:DeleteParameters", e))?;
        }
        Ok(())
    }

    /// Creates or overwrites a String parameter.
    pub async fn put(&self, name: &str, value: &str, description: &str) -> Result<(), PortError> {
        self.client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .description(description)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| port_error("ssm:PutParameter", error))
    }
}

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
