//! The alert-handler Lambda function: Budgets alerts and spend alerts from the alerts topic, and the
//! period roll-over tick. The single writer of routing flags (reserved concurrency 1).
//!
//! All the work is in `guard_core::alerts::handler` over the adapters of `guard_aws`; this crate reads the
//! configuration once per container and turns results into Lambda answers. [`handle`] is the body
//! of the `service_fn`, a plain async function that tests call in-process.

use chrono::{DateTime, Utc};
use guard_aws::cloudwatch::RouteStepMetrics;
use guard_aws::wiring::alert_handler::{EventError, LiveHandler, handle_event, live_handler};
use guard_aws::wiring::env::{ALERTS_TOPIC_ENV, Env, NOTIFY_TOPIC_ENV};
use guard_core::alerts::handler::Handler;
use guard_core::alerts::ports::{Deadline, EmailPublisher, FlagStore, SlackPoster, StateStore};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

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
        use guard_aws::lambda::error::{ALERT_HANDLER, error_type};
        Diagnostic {
            error_type: error_type(ALERT_HANDLER, error.is_retryable()),
            error_message: error.to_string(),
        }
    }
}

/// The handler and the publisher of each route's step for the dashboard.
#[derive(Debug)]
pub struct AlertHandler {
    pub handler: LiveHandler,
    pub route_steps: RouteStepMetrics,
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

/// Reads the environment and the policy (the policy layer, or `BUDGET_GUARD_POLICY_DIR`) and
/// builds the clients, once per execution environment.
pub async fn init() -> anyhow::Result<AlertHandler> {
    let env = Env::from_process();
    let config = guard_aws::sdk::load().await;
    // Application inference profiles are priced as the provisioner recorded them.
    let policy = env.load_deployed_policy(&config).await?;
    let handler = live_handler(
        &config,
        policy,
        env.require(ALERTS_TOPIC_ENV)?,
        env.require(NOTIFY_TOPIC_ENV)?,
    )?;
    let route_steps = RouteStepMetrics::new(
        aws_sdk_cloudwatch::Client::new(&config),
        env.metrics_namespace(),
    );
    tracing::info!(policy = %env.policy_dir().display(), routes = handler.policy.routes.len(), budgets = handler.policy.budgets.len(), "alert-handler ready");
    Ok(AlertHandler {
        handler,
        route_steps,
    })
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
