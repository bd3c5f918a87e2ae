//! What the watcher's own runs cost a month.

use crate::pricing::estimate::cents;
use rust_decimal::Decimal;
use serde::Serialize;
/// Prices of the AWS calls the watcher makes, USD (us-east-1, list prices).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatcherPrices {
    /// GetMetricData, per 1,000 metrics requested.
    #[serde(with = "rust_decimal::serde::float")]
    pub get_metric_data_per_1k_metrics: Decimal,
    /// PutMetricData and ListMetrics, per 1,000 requests.
    #[serde(with = "rust_decimal::serde::float")]
    pub api_per_1k_requests: Decimal,
    /// Lambda, per 1,000,000 invocations.
    #[serde(with = "rust_decimal::serde::float")]
    pub lambda_per_1m_requests: Decimal,
    /// Lambda (arm64), per GB-second.
    #[serde(with = "rust_decimal::serde::float")]
    pub lambda_per_gb_second: Decimal,
}

impl Default for WatcherPrices {
    fn default() -> Self {
        WatcherPrices {
            get_metric_data_per_1k_metrics: Decimal::new(1, 2),
            api_per_1k_requests: Decimal::new(1, 2),
            lambda_per_1m_requests: Decimal::new(20, 2),
            lambda_per_gb_second: Decimal::new(133334, 10),
        }
    }
}

/// A month of watcher runs, and what they cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WatcherCost {
    pub runs: u64,
    pub metrics_requested: u64,
    pub get_metric_data_calls: u64,
    pub list_metrics_calls: u64,
    pub put_metric_data_calls: u64,
    pub ssm_calls: u64,
    pub sns_publishes: u64,
    /// GB-seconds of Lambda.
    #[serde(with = "rust_decimal::serde::float")]
    pub gb_seconds: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub get_metric_data_usd: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub other_api_usd: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub lambda_usd: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub total_usd: Decimal,
}

impl WatcherCost {
    /// Prices the counts (SSM standard parameters and their standard throughput are free; SNS
    /// publishes of a few alerts a month round to nothing and are left out).
    pub fn priced(mut self, prices: &WatcherPrices) -> WatcherCost {
        let k = Decimal::ONE_THOUSAND;
        self.get_metric_data_usd = cents(
            Decimal::from(self.metrics_requested) / k * prices.get_metric_data_per_1k_metrics,
        );
        self.other_api_usd = cents(
            Decimal::from(self.list_metrics_calls + self.put_metric_data_calls) / k
                * prices.api_per_1k_requests,
        );
        self.lambda_usd = cents(
            Decimal::from(self.runs) / Decimal::from(1_000_000) * prices.lambda_per_1m_requests
                + self.gb_seconds * prices.lambda_per_gb_second,
        );
        self.total_usd = self.get_metric_data_usd + self.other_api_usd + self.lambda_usd;
        self
    }
}
