//! The guard's own metrics, in its namespace (PutMetricData, at most 1,000 data points a request):
//! - `RouteStep` (dimension `Route`), each route's current ladder step: the alert handler, the
//!   single writer of flags, publishes it after every event it handles. The roll-over tick runs
//!   hourly, so the dashboard always has a recent point even when nothing changes.
//! - `EstimatedSpend` (dimension `BudgetName`), the spend watcher's estimate per budget, and with
//!   the fast path on, its reconciliation's `FastPathSpend` and `FastPathDrift` beside it.
//! - `PriceChanges`, the provisioner's weekly price check.

use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataError;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use chrono::{DateTime, Utc};
use guard_core::alerts::flags::RouteState;
use guard_core::alerts::ports::FlagStore;
use guard_core::policy::Policy;
use guard_core::ports::PortError;
use guard_core::spend::{
    ports::EstimateSink, price::BudgetSpend, run::BUDGET_DIMENSION, run::ESTIMATE_METRIC,
    run::MAX_METRICS_PER_PUT,
};
use guard_core::usage::reconcile::{
    DRIFT_METRIC, DriftSink, FAST_PATH_SPEND_METRIC, Reconciliation,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::to_smithy;
use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::sdk_error_kind;

pub const ROUTE_STEP_METRIC: &str = "RouteStep";
pub const ROUTE_DIMENSION: &str = "Route";

/// Publishing the guard's metrics, limited to its namespace by condition.
pub const CALLS: Calls = &[Call::new(
    "PutMetricData",
    "cloudwatch:PutMetricData",
    ResourceKind::MetricsNamespace,
)];

#[derive(Debug, thiserror::Error)]
#[error("cloudwatch:PutMetricData failed")]
pub struct PutMetricsError(#[source] SdkError<PutMetricDataError, HttpResponse>);

impl PutMetricsError {
    /// As the spend watcher's ports report it, this error kept as the source.
    pub fn into_port_error(self) -> PortError {
        PortError::from_source(sdk_error_kind(&self.0), "cloudwatch:PutMetricData", self)
    }
}

/// Puts `data` in `namespace`, as many requests as it takes; returns the count of requests.
async fn put_all(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    data: &[MetricDatum],
) -> Result<usize, PutMetricsError> {
    let mut requests = 0;
    for chunk in data.chunks(MAX_METRICS_PER_PUT) {
        client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(PutMetricsError)?;
        requests += 1;
    }
    Ok(requests)
}

#[derive(Debug, Clone)]
pub struct RouteStepMetrics {
    client: aws_sdk_cloudwatch::Client,
    namespace: String,
}

impl RouteStepMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client, namespace: impl Into<String>) -> Self {
        RouteStepMetrics {
            client,
            namespace: namespace.into(),
        }
    }

    /// One datum per route: its step now (1 when it has no flag). A route whose flag cannot be
    /// read is left out rather than reported at a step it may not be on. Returns the routes
    /// published.
    pub async fn publish(
        &self,
        policy: &Policy,
        flags: &impl FlagStore,
        at: DateTime<Utc>,
    ) -> Result<usize, PutMetricsError> {
        let mut data = Vec::new();
        for route in policy.routes.values() {
            let Ok(flag) = flags.get_flag(&route.parameter).await else {
                continue;
            };
            let state = RouteState::of(route, flag.as_ref());
            data.push(
                MetricDatum::builder()
                    .metric_name(ROUTE_STEP_METRIC)
                    .dimensions(
                        Dimension::builder()
                            .name(ROUTE_DIMENSION)
                            .value(&route.name)
                            .build(),
                    )
                    .value(state.step as f64)
                    .unit(StandardUnit::Count)
                    .timestamp(to_smithy(at))
                    .build(),
            );
        }
        put_all(&self.client, &self.namespace, &data).await?;
        Ok(data.len())
    }
}

/// The watcher's `EstimatedSpend` per budget, in the guard's namespace.
#[derive(Debug, Clone)]
pub struct CloudWatchEstimates {
    client: aws_sdk_cloudwatch::Client,
    namespace: String,
}

impl CloudWatchEstimates {
    pub fn new(client: aws_sdk_cloudwatch::Client, namespace: impl Into<String>) -> Self {
        CloudWatchEstimates {
            client,
            namespace: namespace.into(),
        }
    }

    /// One datum per budget (USD, no unit), up to 1,000 per request.
    pub async fn publish(
        &self,
        spends: &[BudgetSpend],
        at: DateTime<Utc>,
    ) -> Result<usize, PutMetricsError> {
        let data: Vec<MetricDatum> = spends
            .iter()
            .map(|s| {
                MetricDatum::builder()
                    .metric_name(ESTIMATE_METRIC)
                    .dimensions(
                        Dimension::builder()
                            .name(BUDGET_DIMENSION)
                            .value(&s.name)
                            .build(),
                    )
                    .value(s.spent.to_f64().unwrap_or_default())
                    .unit(StandardUnit::None)
                    .timestamp(to_smithy(at))
                    .build()
            })
            .collect();
        put_all(&self.client, &self.namespace, &data).await
    }
}

impl EstimateSink for CloudWatchEstimates {
    async fn put(&self, spends: &[BudgetSpend], at: DateTime<Utc>) -> Result<(), PortError> {
        self.publish(spends, at)
            .await
            .map(|_| ())
            .map_err(PutMetricsError::into_port_error)
    }
}

impl CloudWatchEstimates {
    /// Per budget compared, its [`FAST_PATH_SPEND_METRIC`] (USD) and, where the metrics figure
    /// is not zero, its [`DRIFT_METRIC`] (percent, signed); up to 1,000 data per request.
    pub async fn publish_drift(
        &self,
        reconciliations: &[Reconciliation],
        at: DateTime<Utc>,
    ) -> Result<usize, PutMetricsError> {
        let datum = |metric: &str, budget: &str, value: Decimal, unit: StandardUnit| {
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name(BUDGET_DIMENSION)
                        .value(budget)
                        .build(),
                )
                .value(value.to_f64().unwrap_or_default())
                .unit(unit)
                .timestamp(to_smithy(at))
                .build()
        };
        let data: Vec<MetricDatum> = reconciliations
            .iter()
            .flat_map(|r| {
                let spend = datum(
                    FAST_PATH_SPEND_METRIC,
                    &r.budget,
                    r.fast_path_usd,
                    StandardUnit::None,
                );
                let drift = r
                    .drift_pct
                    .map(|d| datum(DRIFT_METRIC, &r.budget, d, StandardUnit::Percent));
                std::iter::once(spend).chain(drift)
            })
            .collect();
        put_all(&self.client, &self.namespace, &data).await
    }
}

impl DriftSink for CloudWatchEstimates {
    async fn put_drift(
        &self,
        reconciliations: &[Reconciliation],
        at: DateTime<Utc>,
    ) -> Result<(), PortError> {
        self.publish_drift(reconciliations, at)
            .await
            .map(|_| ())
            .map_err(PutMetricsError::into_port_error)
    }
}

/// The provisioner's weekly price check: how many figures of the policy's models the AWS Price
/// List gives otherwise (by more than the check's threshold). An alarm on it tells the alarm
/// channels.
pub const PRICE_CHANGES_METRIC: &str = "PriceChanges";

/// Publishes one [`PRICE_CHANGES_METRIC`] datum (a count, no dimension) in `namespace`.
pub async fn put_price_changes(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    changes: usize,
) -> Result<(), PutMetricsError> {
    client
        .put_metric_data()
        .namespace(namespace)
        .metric_data(
            MetricDatum::builder()
                .metric_name(PRICE_CHANGES_METRIC)
                .value(changes as f64)
                .unit(StandardUnit::Count)
                .build(),
        )
        .send()
        .await
        .map_err(PutMetricsError)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use guard_core::alerts::flags::RouteState;
    use guard_core::policy::{RouteSpec, StepSpec};

    /// The dashboard labels `RouteStep` with the value a route at the top of its ladder has; it
    /// must be the step [`RouteStepMetrics::publish`] sends for a route with no flag.
    #[test]
    fn the_dashboard_names_the_step_a_top_route_publishes() {
        let route = RouteSpec {
            name: "chat".into(),
            ladder: vec!["a".into(), "b".into()],
            steps: vec![StepSpec::default(); 2],
            parameter: "/budget-guard/routes/chat".into(),
        };
        let published = RouteState::of(&route, None).step;
        let dashboard = include_str!("../../../../cdk/lib/dashboard.ts");
        let top: usize = dashboard
            .lines()
            .find_map(|l| l.strip_prefix("export const ROUTE_STEP_TOP = "))
            .and_then(|v| v.trim_end_matches(';').parse().ok())
            .expect("cdk/lib/dashboard.ts exports ROUTE_STEP_TOP");
        assert_eq!(top, published);
    }
}
