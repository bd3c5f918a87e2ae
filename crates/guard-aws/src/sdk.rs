//! The SDK configuration the CLI and the provisioner share, the retry policy, the account id,
//! and the mapping of typed SDK errors to the ports' [`PortError`].

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_budgets::config::http::HttpResponse;
use aws_sdk_budgets::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use guard_core::ports::{ErrorKind, PortError};
use std::time::Duration;

/// Attempts per call, the first included. Budgets throttles at a few requests per second; the
/// standard retry mode backs off exponentially with jitter between attempts.
pub const MAX_ATTEMPTS: u32 = 6;
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// The retry policy: standard mode (throttling and transient errors retried), exponential
/// backoff from [`INITIAL_BACKOFF`] up to [`MAX_BACKOFF`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

/// The standard AWS environment (region, profile, credentials, `AWS_ENDPOINT_URL`) with the
/// guard's retry policy.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .load()
        .await
}

/// The account id of an ARN (its fifth field), e.g. of the alerts topic. Budgets calls need the
/// account id, and the topic ARN has it without an STS call.
pub fn account_id_from_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.split(':');
    if fields.next() != Some("arn") {
        return None;
    }
    let account = fields.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The partition of an ARN (its second field: `aws`, `aws-cn`, `aws-us-gov`).
pub fn partition_from_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.split(':');
    if fields.next() != Some("arn") {
        return None;
    }
    fields.next().filter(|p| !p.is_empty())
}

/// A typed operation error's kind: implemented for each operation the adapters call by
/// matching its modeled variants.
pub(crate) trait Classify {
    fn kind(&self) -> ErrorKind;
}

/// Implements [`Classify`] for an operation error enum from its modeled variants; anything else
/// is classified by its error code.
macro_rules! classify {
    ($error:ident { $($variant:ident => $kind:ident),* $(,)? }) => {
        impl $crate::sdk::Classify for $error {
            fn kind(&self) -> guard_core::ports::ErrorKind {
                use aws_smithy_types::error::metadata::ProvideErrorMetadata;
                match self {
                    $( $error::$variant(_) => guard_core::ports::ErrorKind::$kind, )*
                    other => $crate::sdk::kind_from_code(other.code()),
                }
            }
        }
    };
}
pub(crate) use classify;

/// The kind of an error that no modeled variant covers, from its code.
pub(crate) fn kind_from_code(code: Option<&str>) -> ErrorKind {
    match code {
        Some(
            "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded",
        ) => ErrorKind::Throttled,
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "AuthorizationError"
            | "UnauthorizedOperation",
        ) => ErrorKind::AccessDenied,
        Some("InternalFailure" | "InternalError" | "ServiceUnavailable") => ErrorKind::Transient,
        _ => ErrorKind::Other,
    }
}

/// The kind of an SDK error seen by reference, for adapters that keep their own error type: a
/// service error by its code, a timeout or connection failure as transient.
pub(crate) fn sdk_error_kind<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> ErrorKind {
    match error {
        SdkError::ServiceError(context) => kind_from_code(context.err().code()),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorKind::Transient
        }
        _ => ErrorKind::Other,
    }
}

/// Maps an SDK error to the port's error. A service error is classified by its typed variant
/// (and a 5xx without one is transient) and kept as the source; a timeout or a connection
/// failure that outlasted the retries is transient.
pub(crate) fn port_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> PortError
where
    E: Classify + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let error = match error {
        SdkError::ServiceError(context) => {
            let server_error = context.raw().status().is_server_error();
            let service = context.into_err();
            let kind = match service.kind() {
                ErrorKind::Other if server_error => ErrorKind::Transient,
                kind => kind,
            };
            let message = service
                .message()
                .or_else(|| service.code())
                .map(str::to_owned)
                .unwrap_or_else(|| service.to_string());
            PortError::new(kind, operation, message).with_source(service)
        }
        other => {
            let kind = match &other {
                SdkError::TimeoutError(_)
                | SdkError::DispatchFailure(_)
                | SdkError::ResponseError(_) => ErrorKind::Transient,
                _ => ErrorKind::Other,
            };
            let message = aws_smithy_types::error::display::DisplayErrorContext(&other).to_string();
            PortError::new(kind, operation, message).with_source(other)
        }
    };
    tracing::debug!(operation, kind = error.kind.as_str(), message = %error.message, "AWS call failed");
    error
}

/// A request the SDK refused to build (a missing required field).
pub(crate) fn build_error(
    operation: &'static str,
    error: aws_smithy_types::error::operation::BuildError,
) -> PortError {
    PortError::new(ErrorKind::Invalid, operation, error.to_string()).with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_is_the_fifth_field() {
        assert_eq!(
            account_id_from_arn("arn:aws:sns:us-east-1:123456789012:alerts"),
            Some("123456789012")
        );
        assert_eq!(
            account_id_from_arn("arn:aws-cn:sns:cn-north-1:210987654321:x"),
            Some("210987654321")
        );
        assert_eq!(account_id_from_arn("arn:aws:sns:us-east-1::alerts"), None);
        assert_eq!(account_id_from_arn("alerts"), None);
        assert_eq!(
            partition_from_arn("arn:aws-cn:sns:cn-north-1:210987654321:x"),
            Some("aws-cn")
        );
        assert_eq!(partition_from_arn("alerts"), None);
    }

    #[test]
    fn codes_without_a_variant() {
        assert_eq!(kind_from_code(Some("Throttling")), ErrorKind::Throttled);
        assert_eq!(
            kind_from_code(Some("AuthorizationError")),
            ErrorKind::AccessDenied
        );
        assert_eq!(kind_from_code(Some("Weird")), ErrorKind::Other);
    }
}
