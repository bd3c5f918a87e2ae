//! What the deployed guard itself costs a month: the spend watcher's metric reads (priced by
//! [`WatcherCost`] from a simulated month), and everything else the
//! stack keeps running (custom metrics, alarms, the dashboard, KMS keys, secrets, the other two
//! functions, logs, SNS). Pure arithmetic over counts and list prices, so `scripts/bench.sh` can
//! print README's table from the same model for any policy.

use crate::policy::{ChannelSpec, Policy};
use crate::spend::{cost::WatcherCost, cost::WatcherPrices, query::watched};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeSet;

/// What one deployment runs, counted from its policy and its stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackShape {
    /// Budgets with `watch: true`: one `EstimatedSpend` custom metric each.
    pub watched_budgets: u64,
    /// Routes: one `RouteStep` custom metric each.
    pub routes: u64,
    /// Distinct Slack webhook secrets.
    pub slack_secrets: u64,
    /// Customer managed KMS keys of the stack's topics.
    pub kms_keys: u64,
    /// CloudWatch alarms of the stack.
    pub alarms: u64,
    /// Alert-handler invocations a month (hourly ticks plus alerts).
    pub alert_handler_runs: u64,
    /// Provisioner invocations a month (drift repair every 6 hours, the weekly price check, deploys).
    pub provisioner_runs: u64,
    /// Messages published to SNS a month (alerts, notices, alarms).
    pub sns_publishes: u64,
}

impl StackShape {
    /// The policy's part of the shape; the stack's fixed parts (keys, alarms, schedules) are given.
    pub fn of(policy: &Policy, stack: StackFixed) -> StackShape {
        let secrets: BTreeSet<&str> = policy
            .channels
            .values()
            .filter_map(|c| match c {
                ChannelSpec::Slack { webhook_secret, .. } => Some(webhook_secret.as_str()),
                ChannelSpec::Email { .. } => None,
            })
            .collect();
        StackShape {
            watched_budgets: watched(policy).len() as u64,
            routes: policy.routes.len() as u64,
            slack_secrets: secrets.len() as u64,
            kms_keys: stack.kms_keys,
            alarms: stack.alarms,
            // 30 days of hourly roll-over ticks, and a few dozen alerts.
            alert_handler_runs: 720 + stack.alerts_per_month,
            // 30 days of drift repair every 6 hours, four weekly price checks, and a few deploys.
            provisioner_runs: 120 + 4 + 4,
            sns_publishes: stack.alerts_per_month * 2,
        }
    }
}

/// The stack's fixed parts, which the CDK app decides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StackFixed {
    pub kms_keys: u64,
    pub alarms: u64,
    pub alerts_per_month: u64,
}

/// List prices, USD, us-east-1, as of December 2026.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackPrices {
    pub watcher: WatcherPrices,
    /// A custom metric, per month (the first 10,000 metrics' tier).
    pub custom_metric_month: Decimal,
    /// A standard-resolution alarm on one metric, per month.
    pub alarm_month: Decimal,
    /// A dashboard, per month (an account's first three are free).
    pub dashboard_month: Decimal,
    pub kms_key_month: Decimal,
    pub secret_month: Decimal,
    /// Secrets Manager, per 10,000 API calls.
    pub secrets_per_10k_calls: Decimal,
    /// CloudWatch Logs ingestion, per GB.
    pub logs_ingest_per_gb: Decimal,
    /// SNS publishes beyond the first million a month, per million.
    pub sns_per_1m_publishes: Decimal,
}

impl Default for StackPrices {
    fn default() -> Self {
        StackPrices {
            watcher: WatcherPrices::default(),
            custom_metric_month: Decimal::new(30, 2),
            alarm_month: Decimal::new(10, 2),
            dashboard_month: Decimal::new(3, 0),
            kms_key_month: Decimal::ONE,
            secret_month: Decimal::new(40, 2),
            secrets_per_10k_calls: Decimal::new(5, 2),
            logs_ingest_per_gb: Decimal::new(50, 2),
            sns_per_1m_publishes: Decimal::new(50, 2),
        }
    }
}

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    pub item: &'static str,
    pub detail: String,
    #[serde(with = "rust_decimal::serde::float")]
    pub usd: Decimal,
}

/// A month of the whole stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackCost {
    pub lines: Vec<CostLine>,
    #[serde(with = "rust_decimal::serde::float")]
    pub total_usd: Decimal,
    /// The dashboard, apart: free when the account has fewer than three others.
    #[serde(with = "rust_decimal::serde::float")]
    pub dashboard_usd: Decimal,
}

/// Lambda seconds of one invocation (arm64, 256 MB), measured on the emulator and rounded up:
/// the alert handler ~0.2 s, the provisioner ~2 s (a reconcile that reads every budget).
const ALERT_HANDLER_SECONDS: Decimal = Decimal::from_parts(2, 0, 0, false, 1);
const PROVISIONER_SECONDS: Decimal = Decimal::from_parts(2, 0, 0, false, 0);
const FUNCTION_GB: Decimal = Decimal::from_parts(25, 0, 0, false, 2);
/// Log bytes per invocation (the runtime's START, END and REPORT lines and a JSON summary).
const LOG_BYTES_PER_RUN: u64 = 1_500;

pub fn stack_cost(shape: &StackShape, watcher: &WatcherCost, prices: &StackPrices) -> StackCost {
    let round = |d: Decimal| d.round_dp(2);
    let lambda = |runs: u64, seconds: Decimal| {
        Decimal::from(runs) / Decimal::from(1_000_000) * prices.watcher.lambda_per_1m_requests
            + Decimal::from(runs) * seconds * FUNCTION_GB * prices.watcher.lambda_per_gb_second
    };
    // One `PriceChanges`, the provisioner's weekly price check.
    let metrics = shape.watched_budgets + shape.routes + 1;
    let runs = watcher.runs + shape.alert_handler_runs + shape.provisioner_runs;
    let log_gb = Decimal::from(runs * LOG_BYTES_PER_RUN) / Decimal::from(1_000_000_000);
    // Secrets are read when a Slack post is made (at most one read per alert-handler run), and KMS
    // is asked for a data key per SNS publish to an encrypted topic: both far below a cent.
    let secret_calls = shape.alert_handler_runs.min(shape.sns_publishes + 720);
    let lines = vec![
        CostLine {
            item: "spend watcher: GetMetricData",
            detail: format!("{} metrics requested", watcher.metrics_requested),
            usd: round(watcher.get_metric_data_usd),
        },
        CostLine {
            item: "spend watcher: ListMetrics, PutMetricData",
            detail: format!(
                "{} requests",
                watcher.list_metrics_calls + watcher.put_metric_data_calls
            ),
            usd: round(watcher.other_api_usd),
        },
        CostLine {
            item: "Lambda (three functions)",
            detail: format!(
                "{} spend-watcher, {} alert-handler, {} provisioner runs",
                watcher.runs, shape.alert_handler_runs, shape.provisioner_runs
            ),
            usd: round(
                watcher.lambda_usd
                    + lambda(shape.alert_handler_runs, ALERT_HANDLER_SECONDS)
                    + lambda(shape.provisioner_runs, PROVISIONER_SECONDS),
            ),
        },
        CostLine {
            item: "custom metrics",
            detail: format!(
                "{} EstimatedSpend + {} RouteStep + 1 PriceChanges",
                shape.watched_budgets, shape.routes
            ),
            usd: round(Decimal::from(metrics) * prices.custom_metric_month),
        },
        CostLine {
            item: "CloudWatch alarms",
            detail: format!("{} alarms", shape.alarms),
            usd: round(Decimal::from(shape.alarms) * prices.alarm_month),
        },
        CostLine {
            item: "KMS keys",
            detail: format!(
                "{} customer managed keys (topic encryption)",
                shape.kms_keys
            ),
            usd: round(Decimal::from(shape.kms_keys) * prices.kms_key_month),
        },
        CostLine {
            item: "Secrets Manager",
            detail: format!(
                "{} Slack webhook {}, ~{secret_calls} reads",
                shape.slack_secrets,
                if shape.slack_secrets == 1 {
                    "secret"
                } else {
                    "secrets"
                }
            ),
            usd: round(
                Decimal::from(shape.slack_secrets) * prices.secret_month
                    + Decimal::from(secret_calls) / Decimal::from(10_000)
                        * prices.secrets_per_10k_calls,
            ),
        },
        CostLine {
            item: "CloudWatch Logs",
            detail: format!("~{:.3} GB ingested", log_gb),
            usd: round(log_gb * prices.logs_ingest_per_gb),
        },
        CostLine {
            item: "SNS",
            detail: format!(
                "~{} publishes (the first million a month are free)",
                shape.sns_publishes
            ),
            usd: Decimal::ZERO,
        },
        CostLine {
            item: "SSM Parameter Store",
            detail: "standard parameters and throughput".into(),
            usd: Decimal::ZERO,
        },
    ];
    let total_usd = lines.iter().map(|l| l.usd).sum();
    StackCost {
        lines,
        total_usd,
        dashboard_usd: prices.dashboard_month,
    }
}

impl StackCost {
    /// A Markdown table, as README shows it.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("| item | what | USD a month |\n|---|---|---|\n");
        for line in &self.lines {
            out.push_str(&format!(
                "| {} | {} | {:.2} |\n",
                line.item, line.detail, line.usd
            ));
        }
        out.push_str(&format!(
            "| **total** | | **{:.2}** (+ {:.2} for the dashboard beyond an account's first three) |\n",
            self.total_usd, self.dashboard_usd
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> StackShape {
        StackShape {
            watched_budgets: 20,
            routes: 5,
            slack_secrets: 2,
            kms_keys: 3,
            alarms: 8,
            alert_handler_runs: 740,
            provisioner_runs: 128,
            sns_publishes: 40,
        }
    }

    #[test]
    fn every_metric_key_and_secret_is_billed() {
        let cost = stack_cost(&shape(), &WatcherCost::default(), &StackPrices::default());
        let usd = |item: &str| cost.lines.iter().find(|l| l.item == item).unwrap().usd;
        assert_eq!(usd("custom metrics"), Decimal::new(780, 2), "26 x $0.30");
        assert_eq!(usd("KMS keys"), Decimal::new(3, 0));
        assert_eq!(usd("CloudWatch alarms"), Decimal::new(80, 2));
        assert_eq!(usd("Secrets Manager"), Decimal::new(80, 2));
        assert_eq!(
            cost.total_usd,
            cost.lines.iter().map(|l| l.usd).sum::<Decimal>()
        );
        assert!(cost.to_markdown().contains(
            "| custom metrics | 20 EstimatedSpend + 5 RouteStep + 1 PriceChanges | 7.80 |"
        ));
    }

    #[test]
    fn the_watchers_own_figures_are_carried_over() {
        let watcher = WatcherCost {
            runs: 43_200,
            metrics_requested: 239_720,
            get_metric_data_usd: Decimal::new(240, 2),
            ..WatcherCost::default()
        };
        let cost = stack_cost(&shape(), &watcher, &StackPrices::default());
        assert_eq!(cost.lines[0].usd, Decimal::new(240, 2));
        assert!(cost.lines[0].detail.contains("239720"));
    }
}
