//! The alert-handler Lambda function: Budgets alerts and spend alerts from the alerts topic, and the
//! period roll-over tick. The single writer of routing flags (reserved concurrency 1).
//!
//! All the work is in `guard_core::alerts::handler` over the adapters of `guard_aws`; this crate reads the
//! configuration once per container and turns results into Lambda answers. [`handle`] is the body
//! of the `service_fn`, a plain async function that tests call in-process.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use guard_aws::alert_handler::{EventError, LiveHandler, handle_event, live_handler};
use guard_core::alerts::handler::Handler;
use guard_core::alerts::ports::{Deadline, EmailPublisher, FlagStore, SlackPoster, StateStore};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

/// The notify topic's ARN (email channels).
pub const NOTIFY_TOPIC_ENV: &str = guard_aws::sdk::NOTIFY_TOPIC_ENV;
/// The alerts topic's ARN: the only topic whose records are handled.
pub const ALERTS_TOPIC_ENV: &str = guard_aws::sdk::ALERTS_TOPIC_ENV;

/// Why an invocation failed. Lambda retries the delivery; the retry redoes only what failed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(#[from] EventError);

impl HandlerError {
    /// Whether Lambda's retry may finish the work: a job with a failed delivery or write. An
    /// event that is no event of the handler's, a refused one and a refused command stay refused.
    pub fn is_retryable(&self) -> bool {
        matches!(&self.0, EventError::Failed { report, .. } if report.retryable)
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        use guard_aws::lambda_error::{ALERT_HANDLER, error_type};
        Diagnostic {
            error_type: error_type(ALERT_HANDLER, error.is_retryable()),
            error_message: error.to_string(),
        }
    }
}

/// The namespace of the dashboard's metrics (`RouteStep`).
pub const NAMESPACE_ENV: &str = "BUDGET_GUARD_METRICS_NAMESPACE";

/// The handler and the publisher of each route's step for the dashboard.
#[derive(Debug)]
pub struct AlertHandler {
    pub handler: LiveHandler,
    pub route_steps: guard_aws::route_metrics::RouteStepMetrics,
}

impl AlertHandler {
    /// Handles one event, then publishes every route's step (after alerts and ticks alike, so the
    /// dashboard's line follows the flags). A failed publish is logged: the flags matter more.
    pub async fn handle(
        &self,
        event: Value,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<Value, HandlerError> {
        let answer = handle(&self.handler, event, now, deadline).await;
        if let Err(error) = self
            .route_steps
            .publish(&self.handler.policy, &self.handler.flags, now)
            .await
        {
            tracing::warn!(error = %error, "RouteStep metrics not published");
        }
        answer
    }
}

/// Reads the policy (the policy layer, or `BUDGET_GUARD_POLICY_DIR`) and builds the clients once.
pub async fn init_with_metrics() -> anyhow::Result<AlertHandler> {
    let config = guard_aws::sdk::load().await;
    let handler = init_from(&config).await?;
    let namespace = std::env::var(NAMESPACE_ENV)
        .unwrap_or_else(|_| guard_core::spend::run::DEFAULT_METRICS_NAMESPACE.to_owned());
    let route_steps = guard_aws::route_metrics::RouteStepMetrics::new(
        aws_sdk_cloudwatch::Client::new(&config),
        namespace,
    );
    Ok(AlertHandler {
        handler,
        route_steps,
    })
}

/// Reads the policy (the policy layer, or `BUDGET_GUARD_POLICY_DIR`) and builds the clients.
pub async fn init() -> anyhow::Result<LiveHandler> {
    init_from(&guard_aws::sdk::load().await).await
}

async fn init_from(config: &aws_config::SdkConfig) -> anyhow::Result<LiveHandler> {
    let dir: PathBuf = guard_aws::policy_files::policy_dir_from_env();
    // Application inference profiles are priced as the provisioner recorded them.
    let mapping = guard_aws::profile_mapping::ProfileMapping::from_env(config);
    let (policy, warnings) = guard_aws::profile_mapping::load_deployed_policy(
        std::slice::from_ref(&dir),
        mapping.as_ref(),
    )
    .await
    .with_context(|| format!("loading the policy from {}", dir.display()))?;
    if !warnings.is_empty() {
        tracing::warn!(warnings = %warnings, "policy warnings");
    }
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let handler = live_handler(
        config,
        policy,
        &var(ALERTS_TOPIC_ENV)?,
        &var(NOTIFY_TOPIC_ENV)?,
    )?;
    tracing::info!(policy = %dir.display(), routes = handler.policy.routes.len(), budgets = handler.policy.budgets.len(), "alert-handler ready");
    Ok(handler)
}

/// The `service_fn` body: one event, handled at `now` (the function's clock), to finish before
/// `deadline`.
pub async fn handle<F, S, K, E>(
    handler: &Handler<F, S, K, E>,
    event: Value,
    now: DateTime<Utc>,
    deadline: Deadline,
) -> Result<Value, HandlerError>
where
    F: FlagStore,
    S: StateStore,
    K: SlackPoster,
    E: EmailPublisher,
{
    match handle_event(handler, &event, now, deadline).await {
        Ok(report) if !report.routes.is_empty() => {
            Ok(json!({ "ok": true, "routes": report.routes }))
        }
        Ok(report) => Ok(json!({ "ok": true, "jobs": report.outcomes })),
        Err(EventError::Refused(reason)) => {
            // A tick far from the clock is forged or stale; retrying it cannot make it right.
            tracing::error!(%reason, "refusing the event");
            Ok(json!({ "ok": false, "refused": reason }))
        }
        Err(EventError::Unknown(reason)) => {
            // Retrying an event of the wrong shape cannot help: say so in the logs and move on.
            tracing::error!(%reason, "ignoring an event that is neither SNS nor a roll-over tick");
            Ok(json!({ "ok": false, "ignored": reason }))
        }
        Err(error) => Err(error.into()),
    }
}
