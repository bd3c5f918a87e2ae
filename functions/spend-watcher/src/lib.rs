//! The spend watcher: on each tick (an EventBridge schedule, every minute by default) it prices
//! Bedrock's token metrics for every budget with `watch: true`, publishes `EstimatedSpend` per
//! budget, and publishes a `budget-guard/spend-alert@1` alert to the alerts topic the first time a
//! threshold is crossed in a period. The work is `guard_core::spend::run::run_once`; this crate wires
//! the AWS adapters and keeps the in-memory schedule of a warm execution environment.
//!
//! With the fast path deployed (`BUDGET_GUARD_USAGE_TABLE` names its table), each tick also
//! compares the fast path's counter of every budget it priced with its own figure
//! (`guard_core::usage::reconcile`), logs drift above 5% and publishes `FastPathSpend` and
//! `FastPathDrift` for the dashboard.
//!
//! Environment (see `guard_aws::wiring::env`): `BUDGET_GUARD_ALERTS_TOPIC_ARN` (required),
//! `BUDGET_GUARD_METRICS_NAMESPACE` (default `BudgetGuard`), `BUDGET_GUARD_POLICY_DIR` (default
//! `/opt/policy`, the policy layer), `BUDGET_GUARD_USAGE_TABLE` (optional: the fast path's table),
//! and the standard AWS environment.

use chrono::{DateTime, Utc};
use guard_aws::cloudwatch::{CloudWatchEstimates, CloudWatchTokenMetrics};
use guard_aws::dynamodb::DynamoUsageCounters;
use guard_aws::sns::SnsSpendAlerts;
use guard_aws::ssm::SsmSpendState;
use guard_aws::wiring::env::{ALERTS_TOPIC_ENV, Env, USAGE_TABLE_ENV};
use guard_core::policy::Policy;
use guard_core::pricing::catalog::Catalog;
use guard_core::spend::{WatchConfig, run::RunReport, run::WatchMemory, run::run_once};
use guard_core::usage::reconcile::{Reconciliation, reconcile_run};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// A failed run as Lambda hears it. Always retryable: every run reads everything it needs again,
/// so another attempt, or the next tick, takes up what this one could not finish.
pub fn diagnostic(error: &guard_core::spend::run::WatchError) -> lambda_runtime::Diagnostic {
    use guard_aws::lambda::error::{SPEND_WATCHER, error_type};
    lambda_runtime::Diagnostic {
        error_type: error_type(SPEND_WATCHER, true),
        error_message: error.to_string(),
    }
}

/// Everything a run needs, built once per execution environment.
#[derive(Debug)]
pub struct Watcher {
    policy: Policy,
    catalog: Catalog,
    metrics: CloudWatchTokenMetrics,
    state: SsmSpendState,
    alerts: SnsSpendAlerts,
    estimates: CloudWatchEstimates,
    config: WatchConfig,
    memory: Mutex<WatchMemory>,
    /// The fast path's counters, when it is deployed.
    fast_path: Option<DynamoUsageCounters>,
}

impl Watcher {
    /// A watcher over `policy` with clients from `sdk`.
    pub fn new(
        policy: Policy,
        sdk: &aws_config::SdkConfig,
        alerts_topic: &str,
        namespace: &str,
    ) -> Watcher {
        let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk);
        Watcher {
            catalog: policy.catalog(),
            metrics: CloudWatchTokenMetrics::new(cloudwatch.clone()),
            state: SsmSpendState::new(
                aws_sdk_ssm::Client::new(sdk),
                policy.settings.spend_watcher_state_path(),
            ),
            alerts: SnsSpendAlerts::new(aws_sdk_sns::Client::new(sdk), alerts_topic),
            estimates: CloudWatchEstimates::new(cloudwatch, namespace),
            config: WatchConfig::default(),
            memory: Mutex::new(WatchMemory::default()),
            fast_path: None,
            policy,
        }
    }

    /// Reconciles each tick's figures with the fast path's counters in `table`.
    pub fn with_fast_path(mut self, sdk: &aws_config::SdkConfig, table: &str) -> Watcher {
        self.fast_path = Some(DynamoUsageCounters::new(
            aws_sdk_dynamodb::Client::new(sdk),
            table,
        ));
        self
    }

    /// One run at `now`; a summary for the Lambda's result and logs.
    pub async fn tick(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Value, guard_core::spend::run::WatchError> {
        let mut memory = self.memory.lock().await;
        let ports = (&self.metrics, &self.state, &self.alerts, &self.estimates);
        let report = run_once(
            &self.policy,
            &self.catalog,
            ports,
            now,
            &self.config,
            &mut memory,
        )
        .await?;
        log(&report);
        let mut out = summary(&report);
        if let Some(counters) = &self.fast_path {
            // The run's alerts are out already: a failed comparison is told, not retried.
            match reconcile_run(
                &self.policy,
                &report.refreshed,
                (counters, &self.estimates),
                now,
            )
            .await
            {
                Ok(reconciliations) => {
                    log_drift(&reconciliations);
                    out["fast_path"] = json!(reconciliations);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "fast path reconciliation failed");
                    out["fast_path_error"] = json!(e.to_string());
                }
            }
        }
        Ok(out)
    }
}

fn log_drift(reconciliations: &[Reconciliation]) {
    for r in reconciliations.iter().filter(|r| r.drifted) {
        tracing::warn!(
            budget = %r.budget,
            fast_path_usd = %r.fast_path_usd,
            metrics_usd = %r.metrics_usd,
            drift_pct = ?r.drift_pct,
            counter_found = r.counter_found,
            "the fast path's counter and the spend watcher's figure from metrics differ by more than 5%"
        );
    }
}

fn log(report: &RunReport) {
    for (budget, model) in &report.unpriced_reported {
        tracing::warn!(budget = %budget, model_id = %model, "model has no price: its tokens are not counted (add it under `pricing:`); reported once per period");
    }
    for s in &report.refreshed {
        tracing::info!(budget = %s.name, spent = %s.spent, forecast = %s.forecast, amount = %s.amount, crossed = ?s.crossed, "spend estimated");
    }
    tracing::info!(
        budgets_read = report.refreshed.len(),
        alerts = report.alerts.len(),
        get_metric_data_calls = report.get_metric_data_calls,
        metrics_requested = report.metrics_requested,
        "spend watcher run"
    );
}

/// The run as JSON: each budget read (spend, forecast, thresholds crossed, per model) and each
/// alert published, money as JSON numbers.
fn summary(report: &RunReport) -> Value {
    json!({
        "budgets": report.refreshed,
        "alerts": report.alerts,
        "get_metric_data_calls": report.get_metric_data_calls,
        "metrics_requested": report.metrics_requested,
    })
}

/// Builds the watcher from the environment: the policy layer, the topic, the namespace.
pub async fn init() -> anyhow::Result<Watcher> {
    let env = Env::from_process();
    let topic = env.require(ALERTS_TOPIC_ENV)?;
    let sdk = guard_aws::sdk::load().await;
    // Application inference profiles are priced as the provisioner recorded them.
    let policy = env.load_deployed_policy(&sdk).await?;
    let watched = guard_core::spend::query::watched(&policy).len();
    let table = env.get(USAGE_TABLE_ENV);
    tracing::info!(policy_dir = %env.policy_dir().display(), watched, namespace = %env.metrics_namespace(), fast_path = table.is_some(), "spend watcher ready");
    let watcher = Watcher::new(policy, &sdk, topic, env.metrics_namespace());
    Ok(match table {
        Some(table) => watcher.with_fast_path(&sdk, table),
        None => watcher,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_run_is_a_retryable_lambda_error_that_says_what_failed() {
        let error = guard_core::spend::run::WatchError::Metrics(guard_core::ports::PortError::new(
            guard_core::ports::ErrorKind::Throttled,
            "cloudwatch:GetMetricData",
            "Rate exceeded",
        ));
        let diagnostic = super::diagnostic(&error);
        assert_eq!(diagnostic.error_type, "SpendWatcher.Retryable");
        assert!(
            diagnostic.error_message.contains("throttled"),
            "{}",
            diagnostic.error_message
        );
    }
}
