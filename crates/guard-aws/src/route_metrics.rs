//! The dashboard's "current ladder step" of each route: the alert handler, the single writer of
//! flags, publishes `RouteStep` (dimension `Route`) after every event it handles. The roll-over
//! tick runs hourly, so the dashboard always has a recent point even when nothing changes.

use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataError;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use chrono::{DateTime, Utc};
use guard_core::alerts::flags::RouteState;
use guard_core::alerts::ports::FlagStore;
use guard_core::policy::Policy;

use crate::iam::{Needs, ResourceKind};

pub const ROUTE_STEP_METRIC: &str = "RouteStep";
pub const ROUTE_DIMENSION: &str = "Route";
/// CloudWatch takes at most 1,000 data points per PutMetricData request.
const MAX_PER_PUT: usize = 1000;

/// Publishing the steps, limited to the guard's namespace by condition.
pub const NEEDS: Needs = &[(
    &["cloudwatch:PutMetricData"],
    ResourceKind::MetricsNamespace,
)];
/// The SDK operations this module calls, as `service:Action` (for the IAM test).
pub const OPERATIONS: &[&str] = &["cloudwatch:PutMetricData"];

#[derive(Debug, thiserror::Error)]
pub enum RouteMetricsError {
    #[error("cloudwatch:PutMetricData failed")]
    Put(#[source] SdkError<PutMetricDataError, HttpResponse>),
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
    ) -> Result<usize, RouteMetricsError> {
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
                    .timestamp(aws_smithy_types::DateTime::from_secs(at.timestamp()))
                    .build(),
            );
        }
        for chunk in data.chunks(MAX_PER_PUT) {
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(RouteMetricsError::Put)?;
        }
        Ok(data.len())
    }
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
        let dashboard = include_str!("../../../cdk/lib/dashboard.ts");
        let top: usize = dashboard
            .lines()
            .find_map(|l| l.strip_prefix("export const ROUTE_STEP_TOP = "))
            .and_then(|v| v.trim_end_matches(';').parse().ok())
            .expect("cdk/lib/dashboard.ts exports ROUTE_STEP_TOP");
        assert_eq!(top, published);
    }
}
