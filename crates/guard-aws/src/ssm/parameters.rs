//! String parameters of SSM Parameter Store, as the flag store and the alert handler's state
//! store use them: read with `GetParameter` (a missing parameter is `None`), written with
//! `PutParameter Overwrite=true`, listed by path and deleted in batches.

use aws_sdk_ssm::operation::delete_parameters::DeleteParametersError;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathError;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::ParameterType;
use guard_core::ports::PortError;

use crate::sdk::{classify, port_error};

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
