//! The one error of every port, and the one way ports are written.
//!
//! A port is a trait the core calls and an adapter of `guard-aws` implements: provisioning's
//! ([`crate::provision::ports`]), the alert handler's ([`crate::alerts::ports`]) and the spend
//! watcher's ([`crate::spend::ports`]). The in-memory account is test code (`testing`, feature
//! `testing`); the alert handler's in-memory ports are production code
//! ([`crate::alerts::in_memory`]), because `budget-guard alert simulate` runs on them.
//!
//! # One async style
//!
//! Every port method is declared `fn name(..) -> impl Future<Output = Result<T, PortError>> + Send`
//! and implemented with a plain `async fn`. No caller holds a port as `dyn Trait`: the
//! provisioner, the alert handler and the spend watcher are each generic over their ports, so
//! nothing needs the boxing of `#[async_trait]`, and a native `impl Future` keeps the futures
//! unboxed. The `+ Send` is what lets the functions and the CLI run the orchestration on a
//! multi-threaded runtime. Should a port ever be needed as `dyn`, that port (not all of them)
//! would move to `#[async_trait]`.
//!
//! # One error
//!
//! [`PortError`] says which operation failed, its [`ErrorKind`], the service's message, and keeps
//! the adapter's typed error as the source. The one question the orchestration asks of it is
//! [`PortError::is_retryable`]: whether the same call may succeed later (it decides whether a
//! Lambda delivery is retried). The kind says a little more than that, because the adapters need
//! it to keep the API's idempotence (a `NotFound` on a delete is done, on a read is `None`) and an
//! operator's report names it ("access denied", "limit exceeded").

use std::sync::Arc;

/// What kind of failure a port call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Still throttled after the client's retries.
    Throttled,
    /// The call did not finish in time (or would not have before the invocation's deadline).
    Timeout,
    /// A server-side or network failure that outlasted the retries.
    Transient,
    /// The caller lacks an IAM permission.
    AccessDenied,
    /// The thing to read or change does not exist (any more).
    NotFound,
    /// The thing to create exists already.
    Duplicate,
    /// A limit of the service (notifications per budget, subscribers per notification).
    LimitExceeded,
    /// The request was refused as invalid, or the answer could not be read.
    Invalid,
    Other,
}

impl ErrorKind {
    /// Whether the same call may well succeed later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Timeout | ErrorKind::Transient
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Transient => "service error",
            ErrorKind::AccessDenied => "access denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::Duplicate => "already exists",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::Invalid => "invalid request",
            ErrorKind::Other => "error",
        }
    }
}

/// A failed port call: which operation, what kind of failure, and the service's message. The
/// adapter keeps its typed error as the source; `message` never holds a secret or a webhook URL.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {}: {message}", kind.as_str())]
pub struct PortError {
    pub kind: ErrorKind,
    /// The API operation (`CreateBudget`, `ssm:PutParameter`) or the port's own name of the call.
    pub operation: &'static str,
    pub message: String,
    #[source]
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    pub fn new(kind: ErrorKind, operation: &'static str, message: impl Into<String>) -> PortError {
        PortError {
            kind,
            operation,
            message: message.into(),
            source: None,
        }
    }

    /// A failure whose message is its source's.
    pub fn from_source(
        kind: ErrorKind,
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> PortError {
        PortError::new(kind, operation, source.to_string()).with_source(source)
    }

    pub fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> PortError {
        self.source = Some(Arc::new(source));
        self
    }

    /// Whether trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_timeouts_and_service_errors_are_retryable() {
        let retryable: Vec<ErrorKind> = [
            ErrorKind::Throttled,
            ErrorKind::Timeout,
            ErrorKind::Transient,
            ErrorKind::AccessDenied,
            ErrorKind::NotFound,
            ErrorKind::Duplicate,
            ErrorKind::LimitExceeded,
            ErrorKind::Invalid,
            ErrorKind::Other,
        ]
        .into_iter()
        .filter(|k| PortError::new(*k, "op", "m").is_retryable())
        .collect();
        assert_eq!(
            retryable,
            [
                ErrorKind::Throttled,
                ErrorKind::Timeout,
                ErrorKind::Transient
            ]
        );
    }

    #[test]
    fn the_source_is_kept_and_the_display_names_operation_and_kind() {
        let io = std::io::Error::other("connection reset");
        let error = PortError::from_source(ErrorKind::Transient, "PutParameter", io);
        assert_eq!(
            error.to_string(),
            "PutParameter: service error: connection reset"
        );
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "connection reset");
    }
}
