//! The spend watcher's domain: Bedrock token metrics to priced, period-to-date spend per budget,
//! a forecast to the period's end, and which thresholds to alert on. Pure: the clock, the metrics
//! and the state of earlier runs are inputs; the adapters behind the ports below do the I/O.
//!
//! # What is read
//!
//! CloudWatch namespace `AWS/Bedrock`, dimension `ModelId` (the id as invoked: a base model id, a
//! cross-region inference profile id such as `us.anthropic...`/`global.anthropic...`, or an
//! application inference profile ARN), metrics `InputTokenCount`, `OutputTokenCount`,
//! `CacheReadInputTokenCount` and `CacheWriteInputTokenCount`, statistic `Sum`.
//!
//! A budget counts an invoked id when its scope lists that id, or when both are profile variants of
//! the same base model (a scope of `us.anthropic.X` also counts `global.anthropic.X` and
//! `anthropic.X`: AWS Budgets' service filter sees them all). ARNs count only when listed.
//!
//! # What it costs
//!
//! GetMetricData is billed per metric requested ($0.01 per 1,000), whatever the time range. A run
//! that read every model's four metrics every minute would cost 20 models x 4 x 44,640 runs a month
//! = $35.71. So a budget's metrics are read again only when due ([`next_refresh`](refresh::next_refresh)): every minute
//! while a threshold is within reach of a burst, at most every [`WatchConfig::max_refresh`]
//! otherwise; cache metrics are read only for models that publish them ([`series_for`](query::series_for)).
//! [`WatcherCost`](cost::WatcherCost) prices a month of runs.

pub mod cost;
pub mod measured;
pub mod ports;
pub mod price;
pub mod query;
pub mod refresh;
pub mod run;
pub mod thresholds;

use chrono::Duration;

/// How the watcher reads and decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchConfig {
    /// The forecast extrapolates the spend rate over this trailing window (default 24 hours).
    pub rate_window: Duration,
    /// A budget far from its next threshold is read at least this often (default 12 minutes:
    /// with four token metrics on each of 20 models, GetMetricData stays under $5 a month).
    pub max_refresh: Duration,
    /// How much faster than the usual rate spend may suddenly go, for deciding when a threshold is
    /// within reach (default 20x the larger of the recent rate and the budget's even pace).
    pub burst_factor: i64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            rate_window: Duration::hours(24),
            max_refresh: Duration::minutes(12),
            burst_factor: 20,
        }
    }
}
