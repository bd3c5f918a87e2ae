//! CloudWatch for the spend watcher: Bedrock's token metrics in (ListMetrics, GetMetricData with
//! many queries per call and every NextToken page), the `EstimatedSpend` metric per budget out
//! (PutMetricData in the guard's namespace, for the dashboard), and with the fast path on, the
//! reconciliation's `FastPathSpend` and `FastPathDrift` beside it.
//!
//! Throttling and transient errors are retried by the client's retry policy (standard mode,
//! exponential backoff with jitter: build the client from [`crate::sdk::load`]). Gaps are buckets
//! without points (zero); late points are picked up because every read covers the whole period
//! again, and a bucket repeated across pages keeps one value.

use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError;
use aws_sdk_cloudwatch::operation::list_metrics::ListMetricsError;
use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataError;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy,
    StandardUnit, StatusCode,
};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, TimeZone, Utc};
use guard_core::ports::{ErrorKind, PortError};
use guard_core::spend::{
    ports::EstimateSink, ports::TokenMetricsSource, price::BudgetSpend, query::BEDROCK_NAMESPACE,
    query::MODEL_DIMENSION, query::QueryCall, query::SeriesKey, query::SeriesPoints,
    query::TokenMetric, run::BUDGET_DIMENSION, run::ESTIMATE_METRIC, run::MAX_METRICS_PER_PUT,
};
use guard_core::usage::reconcile::{
    DRIFT_METRIC, DriftSink, FAST_PATH_SPEND_METRIC, Reconciliation,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::{BTreeMap, BTreeSet};

use crate::iam::{Needs, ResourceKind};
use crate::sdk::sdk_error_kind;

/// Reading the token metrics: neither action has resource-level permissions.
pub const READ_NEEDS: Needs = &[(
    &["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
    ResourceKind::Any,
)];
/// Publishing the estimates, limited to the guard's namespace by condition.
pub const WRITE_NEEDS: Needs = &[(
    &["cloudwatch:PutMetricData"],
    ResourceKind::MetricsNamespace,
)];
/// The SDK operations this module calls, as `service:Action` (for the IAM test).
pub const OPERATIONS: &[&str] = &[
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cloudwatch:PutMetricData",
];

/// Pages one read may follow before giving up: a bound against a service that never stops paging.
pub const MAX_PAGES: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cloudwatch:GetMetricData failed")]
    GetMetricData(#[source] SdkError<GetMetricDataError, HttpResponse>),
    #[error("cloudwatch:ListMetrics failed")]
    ListMetrics(#[source] SdkError<ListMetricsError, HttpResponse>),
    #[error("cloudwatch:PutMetricData failed")]
    PutMetricData(#[source] SdkError<PutMetricDataError, HttpResponse>),
    #[error("cloudwatch:GetMetricData gave status {status} for query `{id}`: {message}")]
    QueryFailed {
        id: String,
        status: String,
        message: String,
    },
    #[error("cloudwatch:GetMetricData kept paging past {MAX_PAGES} pages")]
    TooManyPages,
}

impl MetricsError {
    /// As the spend watcher's ports report it, this error kept as the source.
    pub fn into_port_error(self) -> PortError {
        let (operation, kind) = match &self {
            MetricsError::GetMetricData(e) => ("cloudwatch:GetMetricData", sdk_error_kind(e)),
            MetricsError::ListMetrics(e) => ("cloudwatch:ListMetrics", sdk_error_kind(e)),
            MetricsError::PutMetricData(e) => ("cloudwatch:PutMetricData", sdk_error_kind(e)),
            MetricsError::QueryFailed { .. } | MetricsError::TooManyPages => {
                ("cloudwatch:GetMetricData", ErrorKind::Invalid)
            }
        };
        PortError::from_source(kind, operation, self)
    }
}

/// Bedrock's token metrics, read from CloudWatch.
#[derive(Debug, Clone)]
pub struct CloudWatchTokenMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchTokenMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        CloudWatchTokenMetrics { client }
    }

    /// The token series that exist in `AWS/Bedrock` with exactly a `ModelId` dimension (ListMetrics
    /// lists metrics with data in the last two weeks), every page read.
    pub async fn list_series(&self) -> Result<BTreeSet<SeriesKey>, MetricsError> {
        let mut found = BTreeSet::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .list_metrics()
                .namespace(BEDROCK_NAMESPACE)
                .dimensions(DimensionFilter::builder().name(MODEL_DIMENSION).build())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(MetricsError::ListMetrics)?;
            for m in out.metrics() {
                let Some(metric) = m.metric_name().and_then(TokenMetric::from_name) else {
                    continue;
                };
                if let [d] = m.dimensions() {
                    if d.name() == Some(MODEL_DIMENSION) {
                        if let Some(model) = d.value() {
                            found.insert(SeriesKey::new(model, metric));
                        }
                    }
                }
            }
            match out.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(found),
            }
        }
        Err(MetricsError::TooManyPages)
    }

    /// The `Sum` of every series of `call` per bucket, every NextToken page read.
    pub async fn read(&self, call: &QueryCall) -> Result<Vec<SeriesPoints>, MetricsError> {
        let queries: Vec<MetricDataQuery> = call
            .queries
            .iter()
            .map(|q| {
                MetricDataQuery::builder()
                    .id(&q.id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(
                                Metric::builder()
                                    .namespace(BEDROCK_NAMESPACE)
                                    .metric_name(q.series.metric.name())
                                    .dimensions(
                                        Dimension::builder()
                                            .name(MODEL_DIMENSION)
                                            .value(&q.series.model_id)
                                            .build(),
                                    )
                                    .build(),
                            )
                            .period(i32::try_from(call.window.period_seconds).unwrap_or(3600))
                            .stat("Sum")
                            .build(),
                    )
                    .return_data(true)
                    .build()
            })
            .collect();
        let by_id: BTreeMap<&str, &SeriesKey> = call
            .queries
            .iter()
            .map(|q| (q.id.as_str(), &q.series))
            .collect();
        let mut points: BTreeMap<&str, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
        let mut token: Option<String> = None;
        for page in 0..MAX_PAGES {
            let out = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(to_smithy(call.window.start))
                .end_time(to_smithy(call.window.end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(MetricsError::GetMetricData)?;
            for result in out.metric_data_results() {
                let id = result.id().unwrap_or_default();
                let Some((&id, _)) = by_id.get_key_value(id) else {
                    continue;
                };
                match result.status_code() {
                    Some(StatusCode::InternalError) | Some(StatusCode::Forbidden) => {
                        let message = result
                            .messages()
                            .iter()
                            .filter_map(|m| m.value())
                            .collect::<Vec<_>>()
                            .join("; ");
                        return Err(MetricsError::QueryFailed {
                            id: id.to_owned(),
                            status: result
                                .status_code()
                                .map(|s| s.as_str().to_owned())
                                .unwrap_or_default(),
                            message,
                        });
                    }
                    _ => {}
                }
                let entry = points.entry(id).or_default();
                for (t, v) in result.timestamps().iter().zip(result.values()) {
                    entry.push((from_smithy(t), *v));
                }
            }
            match out.next_token {
                Some(t) if !t.is_empty() => {
                    tracing::debug!(
                        page,
                        queries = call.queries.len(),
                        "GetMetricData has more pages"
                    );
                    token = Some(t);
                }
                _ => {
                    return Ok(by_id
                        .iter()
                        .map(|(id, series)| SeriesPoints {
                            series: (*series).clone(),
                            points: points.remove(id).unwrap_or_default(),
                        })
                        .collect());
                }
            }
        }
        Err(MetricsError::TooManyPages)
    }
}

impl TokenMetricsSource for CloudWatchTokenMetrics {
    async fn discover(&self) -> Result<Option<BTreeSet<SeriesKey>>, PortError> {
        match self.list_series().await {
            Ok(found) => Ok(Some(found)),
            Err(e) => {
                // Without the list, every scope model's four metrics are read: dearer, not wrong.
                tracing::warn!(error = %e, source = ?std::error::Error::source(&e), "cannot list the Bedrock token metrics; reading all of them");
                Ok(None)
            }
        }
    }

    async fn fetch(&self, call: &QueryCall) -> Result<Vec<SeriesPoints>, PortError> {
        self.read(call).await.map_err(MetricsError::into_port_error)
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
    ) -> Result<usize, MetricsError> {
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
        let mut requests = 0;
        for chunk in data.chunks(MAX_METRICS_PER_PUT) {
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(MetricsError::PutMetricData)?;
            requests += 1;
        }
        Ok(requests)
    }
}

impl EstimateSink for CloudWatchEstimates {
    async fn put(&self, spends: &[BudgetSpend], at: DateTime<Utc>) -> Result<(), PortError> {
        self.publish(spends, at)
            .await
            .map(|_| ())
            .map_err(MetricsError::into_port_error)
    }
}

impl CloudWatchEstimates {
    /// Per budget compared, its [`FAST_PATH_SPEND_METRIC`] (USD) and, where the metrics figure
    /// is not zero, its [`DRIFT_METRIC`] (percent, signed); up to 1,000 data per request.
    pub async fn publish_drift(
        &self,
        reconciliations: &[Reconciliation],
        at: DateTime<Utc>,
    ) -> Result<usize, MetricsError> {
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
        let mut requests = 0;
        for chunk in data.chunks(MAX_METRICS_PER_PUT) {
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(MetricsError::PutMetricData)?;
            requests += 1;
        }
        Ok(requests)
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
            .map_err(MetricsError::into_port_error)
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
) -> Result<(), MetricsError> {
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
        .map_err(MetricsError::PutMetricData)?;
    Ok(())
}

fn to_smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_secs(t.timestamp())
}

fn from_smithy(t: &SmithyTime) -> DateTime<Utc> {
    Utc.timestamp_opt(t.secs(), 0).single().unwrap_or_default()
}
