//! The spend watcher's ports: token metrics in; its state, alerts and estimates out. Written in the
//! one style of [`crate::ports`].

use std::collections::BTreeSet;
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::alerts::parse::spend_alert::SpendAlert;
use crate::ports::PortError;
use crate::spend::price::BudgetSpend;
use crate::spend::query::{QueryCall, SeriesKey, SeriesPoints};
use crate::spend::thresholds::SpendState;

/// Reads Bedrock's token metrics (CloudWatch GetMetricData and ListMetrics).
pub trait TokenMetricsSource {
    /// The token series that exist (ListMetrics of `AWS/Bedrock`), or `None` when unknown.
    fn discover(
        &self,
    ) -> impl Future<Output = Result<Option<BTreeSet<SeriesKey>>, PortError>> + Send;
    /// One call's series, every page read.
    fn fetch(
        &self,
        call: &QueryCall,
    ) -> impl Future<Output = Result<Vec<SeriesPoints>, PortError>> + Send;
}

/// Keeps [`SpendState`] per budget (SSM parameters under the state path).
pub trait SpendStateStore {
    fn load(
        &self,
        budget: &str,
    ) -> impl Future<Output = Result<Option<SpendState>, PortError>> + Send;
    fn save(
        &self,
        budget: &str,
        state: &SpendState,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Publishes a spend alert to the alerts topic.
pub trait AlertSink {
    fn publish(&self, alert: &SpendAlert) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Publishes the estimates (CloudWatch PutMetricData `EstimatedSpend`).
pub trait EstimateSink {
    fn put(
        &self,
        spends: &[BudgetSpend],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
