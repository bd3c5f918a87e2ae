//! The usage meter: the fast path's Lambda. A CloudWatch Logs subscription on the Bedrock model
//! invocation log group hands it `awslogs` events; it prices each record, counts it once against
//! the period-to-date counters of the budgets it falls in (DynamoDB), and publishes a
//! `budget-guard/spend-alert@1` alert to the alerts topic the first time a counter passes an
//! actual threshold in a period. The work is `guard_core::usage::meter::meter_batch`; this crate
//! wires the adapters.
//!
//! Environment: `BUDGET_GUARD_ALERTS_TOPIC_ARN` and `BUDGET_GUARD_USAGE_TABLE` (required),
//! `BUDGET_GUARD_POLICY_DIR` (default `/opt/policy`, the policy layer),
//! `BUDGET_GUARD_PROFILES_PARAMETER` (the provisioner's record of application inference profiles'
//! models, when the policy names such profiles without a `profiles:` entry), and the standard AWS
//! environment.

use chrono::{DateTime, Utc};
use guard_aws::dynamodb::usage_counters::DynamoUsageCounters;
use guard_aws::sns::spend_alerts::SnsSpendAlerts;
use guard_aws::wiring::env::{ALERTS_TOPIC_ENV, Env, USAGE_TABLE_ENV};
use guard_core::policy::Policy;
use guard_core::pricing::catalog::Catalog;
use guard_core::usage::awslogs::{AwsLogsError, decode_event};
use guard_core::usage::meter::{MeterError, MeterReport, meter_batch};
use serde_json::{Value, json};

/// Why a batch failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Not a Logs subscription event: another attempt reads the same bytes.
    #[error(transparent)]
    Event(#[from] AwsLogsError),
    #[error(transparent)]
    Meter(#[from] MeterError),
}

/// A failed batch as Lambda hears it. Counting and publishing failures are retryable: a retry
/// counts nothing twice and publishes what was left. An event that is not an `awslogs` event
/// never will be.
impl From<HandleError> for lambda_runtime::Diagnostic {
    fn from(error: HandleError) -> Self {
        use guard_aws::lambda::error::{USAGE_METER, error_type};
        lambda_runtime::Diagnostic {
            error_type: error_type(USAGE_METER, matches!(error, HandleError::Meter(_))),
            error_message: error.to_string(),
        }
    }
}

/// Everything a batch needs, built once per execution environment.
#[derive(Debug)]
pub struct Meter {
    policy: Policy,
    catalog: Catalog,
    counters: DynamoUsageCounters,
    alerts: SnsSpendAlerts,
}

impl Meter {
    pub fn new(
        policy: Policy,
        sdk: &aws_config::SdkConfig,
        alerts_topic: &str,
        table: &str,
    ) -> Meter {
        Meter {
            catalog: policy.catalog(),
            counters: DynamoUsageCounters::new(aws_sdk_dynamodb::Client::new(sdk), table),
            alerts: SnsSpendAlerts::new(aws_sdk_sns::Client::new(sdk), alerts_topic),
            policy,
        }
    }

    /// One Lambda event at `now`; a summary for the result and the logs.
    pub async fn handle(&self, event: &Value, now: DateTime<Utc>) -> Result<Value, HandleError> {
        let batch = decode_event(event)?;
        if batch.is_control() {
            tracing::info!(log_group = %batch.log_group, "Logs checked the subscription");
            return Ok(json!({"control": true}));
        }
        let report = meter_batch(
            &self.policy,
            &self.catalog,
            &batch.log_events,
            (&self.counters, &self.alerts),
            now,
        )
        .await?;
        log(&report, &batch.log_group);
        Ok(summary(&report))
    }
}

fn log(report: &MeterReport, log_group: &str) {
    for (event_id, reason) in &report.malformed {
        tracing::warn!(log_event_id = %event_id, log_group = %log_group, reason = %reason, "log event is not an invocation record: skipped");
    }
    for model in &report.unpriced {
        tracing::warn!(model_id = %model, "model has no price: its requests are not counted (add it under `pricing:`)");
    }
    for (key, total) in &report.totals {
        tracing::info!(budget = %key.budget, period_start = %key.period_start, spent = %total, "period to date");
    }
    tracing::info!(
        events = report.events,
        counted = report.counted,
        already_counted = report.already_counted,
        unmatched = report.unmatched,
        malformed = report.malformed.len(),
        alerts = report.alerts.len(),
        "usage meter batch"
    );
}

fn summary(report: &MeterReport) -> Value {
    json!({
        "events": report.events,
        "counted": report.counted,
        "already_counted": report.already_counted,
        "unmatched": report.unmatched,
        "free": report.free,
        "unpriced": report.unpriced,
        "malformed": report.malformed.len(),
        "totals": report.totals.iter().map(|(k, t)| json!({
            "budget": k.budget, "period_start": k.period_start, "spent": t.to_string()
        })).collect::<Vec<_>>(),
        "alerts": report.alerts,
    })
}

/// Builds the meter from the environment: the policy layer (with the recorded models of its
/// application inference profiles), the topic, the table.
pub async fn init() -> anyhow::Result<Meter> {
    let env = Env::from_process();
    let topic = env.require(ALERTS_TOPIC_ENV)?;
    let table = env.require(USAGE_TABLE_ENV)?;
    let sdk = guard_aws::sdk::load().await;
    // A call through an application inference profile names the profile: it is priced as the
    // model the provisioner recorded for it.
    let policy = env.load_deployed_policy(&sdk).await?;
    let watched = guard_core::spend::query::watched(&policy).len();
    tracing::info!(policy_dir = %env.policy_dir().display(), watched, table = %table, "usage meter ready");
    Ok(Meter::new(policy, &sdk, topic, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counting_failure_is_retryable_and_a_foreign_event_is_not() {
        let counting = HandleError::Meter(MeterError::Count {
            first_request_id: "r1".into(),
            requests: 10,
            source: guard_core::ports::PortError::new(
                guard_core::ports::ErrorKind::Throttled,
                "dynamodb:TransactWriteItems",
                "throttled",
            ),
        });
        let counting = lambda_runtime::Diagnostic::from(counting);
        assert_eq!(counting.error_type, "UsageMeter.Retryable");
        assert!(counting.error_message.contains("r1"));
        let foreign = lambda_runtime::Diagnostic::from(HandleError::Event(AwsLogsError::NoData));
        assert_eq!(foreign.error_type, "UsageMeter.NotRetryable");
    }
}
