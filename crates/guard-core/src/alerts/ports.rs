//! The alert handler's ports: routing flags, its own records, Slack and email. The adapters are in
//! `guard-aws`; the in-memory ones that `alert simulate` and the tests use are in [`super::in_memory`].
//! Written in the one style of [`crate::ports`].

use std::future::Future;
use std::time::Instant;

use serde_json::Value;

use crate::alerts::flags::Flag;
use crate::ports::PortError;

/// When the invocation must be over (the Lambda context's deadline), if there is one. Adapters
/// that wait (Slack's `Retry-After`) stop before it; what did not go out is retried.
pub type Deadline = Option<Instant>;

/// Routing flags, by SSM parameter name.
pub trait FlagStore: Send + Sync {
    /// The flag, or `None` when the parameter does not exist.
    fn get_flag(
        &self,
        parameter: &str,
    ) -> impl Future<Output = Result<Option<Flag>, PortError>> + Send;
    /// Writes (overwrites) the flag.
    fn put_flag(
        &self,
        parameter: &str,
        flag: &Flag,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The handler's own records, by key relative to the policy's state path.
pub trait StateStore: Send + Sync {
    fn get_state(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    fn put_state(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Every record whose key starts with `prefix`, as `(key, value)`.
    fn list_state(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, PortError>> + Send;
    fn delete_state(&self, keys: &[String]) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Posts to a Slack channel's incoming webhook, whose URL is in the named secret.
pub trait SlackPoster: Send + Sync {
    fn post(
        &self,
        channel: &str,
        webhook_secret: &str,
        payload: &Value,
        deadline: Deadline,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Publishes one email for a channel to the notify topic.
pub trait EmailPublisher: Send + Sync {
    fn publish(
        &self,
        channel: &str,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
