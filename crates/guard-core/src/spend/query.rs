//! Which token metrics to read, and the GetMetricData calls that read them.

use super::WatchConfig;
use crate::period::Period;
use crate::policy::{BudgetSpec, Policy};
use crate::pricing::catalog::split_profile;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
/// Where Bedrock publishes its runtime metrics.
pub const BEDROCK_NAMESPACE: &str = "AWS/Bedrock";
/// The dimension that holds the model id as invoked.
pub const MODEL_DIMENSION: &str = "ModelId";
/// GetMetricData: at most 500 queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// GetMetricData: at most 100,800 data points per call before it paginates.
pub const MAX_DATAPOINTS_PER_CALL: usize = 100_800;

/// A Bedrock token metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TokenMetric {
    Input,
    Output,
    CacheRead,
    CacheWrite,
}

impl TokenMetric {
    pub const ALL: [TokenMetric; 4] = [
        TokenMetric::Input,
        TokenMetric::Output,
        TokenMetric::CacheRead,
        TokenMetric::CacheWrite,
    ];

    /// The CloudWatch metric name.
    pub fn name(self) -> &'static str {
        match self {
            TokenMetric::Input => "InputTokenCount",
            TokenMetric::Output => "OutputTokenCount",
            TokenMetric::CacheRead => "CacheReadInputTokenCount",
            TokenMetric::CacheWrite => "CacheWriteInputTokenCount",
        }
    }

    pub fn from_name(name: &str) -> Option<TokenMetric> {
        TokenMetric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One time series: a token metric of one invoked model id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesKey {
    pub model_id: String,
    pub metric: TokenMetric,
}

impl SeriesKey {
    pub fn new(model_id: impl Into<String>, metric: TokenMetric) -> SeriesKey {
        SeriesKey {
            model_id: model_id.into(),
            metric,
        }
    }
}

/// Whether a budget whose scope lists `scope_models` counts the metrics of `invoked`.
pub fn covers(scope_models: &[String], invoked: &str) -> bool {
    let is_arn = |id: &str| id.starts_with("arn:");
    scope_models.iter().any(|m| {
        m == invoked
            || (!is_arn(m) && !is_arn(invoked) && split_profile(m).1 == split_profile(invoked).1)
    })
}

/// The budgets the watcher watches (`watch: true`), by name.
pub fn watched(policy: &Policy) -> Vec<&BudgetSpec> {
    policy.budgets.values().filter(|b| b.watch).collect()
}

/// The series to read for `budgets`. Every scope model's input and output tokens; its cache
/// metrics, and the other invoked variants of its base model, when `discovered` (ListMetrics of
/// `AWS/Bedrock`) lists them. Without discovery, all four metrics of every scope model.
pub fn series_for(
    budgets: &[&BudgetSpec],
    discovered: Option<&BTreeSet<SeriesKey>>,
) -> BTreeSet<SeriesKey> {
    let mut out = BTreeSet::new();
    for b in budgets {
        for model in &b.scope.models {
            for metric in TokenMetric::ALL {
                let key = SeriesKey::new(model.clone(), metric);
                let wanted = match (metric, discovered) {
                    (TokenMetric::Input | TokenMetric::Output, _) | (_, None) => true,
                    (_, Some(found)) => found.contains(&key),
                };
                if wanted {
                    out.insert(key);
                }
            }
        }
        for key in discovered.into_iter().flatten() {
            if covers(&b.scope.models, &key.model_id) {
                out.insert(key.clone());
            }
        }
    }
    out
}

/// The time range and bucket size of the queries for one budget period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub period_seconds: i64,
}

impl Window {
    /// Buckets per series.
    pub fn buckets(&self) -> usize {
        let span = (self.end - self.start).num_seconds().max(0);
        usize::try_from((span + self.period_seconds - 1) / self.period_seconds.max(1))
            .unwrap_or(usize::MAX)
            .max(1)
    }
}

/// Midnight UTC of a day.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
}

/// The query window of a budget period at `now`: from the period's start (or from `rate_window`
/// before `now`, whichever is earlier, so that the forecast has a recent rate on the first day),
/// in hourly buckets for daily and monthly budgets and daily buckets for longer ones (1-hour data
/// is kept 455 days; the bucket count stays small), up to the bucket that holds `now`.
pub fn window_for(period: Period, now: DateTime<Utc>, rate_window: Duration) -> Window {
    let period_seconds: i64 = match period {
        Period::Daily | Period::Monthly => 3600,
        Period::Quarterly | Period::Annually => 86_400,
    };
    let period_start = day_start(period.start_of(now.date_naive()));
    let floor = |t: DateTime<Utc>| {
        let s = t.timestamp();
        Utc.timestamp_opt(s - s.rem_euclid(period_seconds), 0)
            .single()
            .unwrap_or(t)
    };
    let start = period_start.min(floor(now - rate_window));
    let end = floor(now) + Duration::seconds(period_seconds);
    Window {
        start,
        end,
        period_seconds,
    }
}

/// One metric query of a call: `id` is unique within the call (`q0`, `q1`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricQuery {
    pub id: String,
    pub series: SeriesKey,
}

/// One GetMetricData call (the adapter follows its NextToken pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryCall {
    pub window: Window,
    pub queries: Vec<MetricQuery>,
}

/// Splits the series of one window into calls within GetMetricData's limits: at most 500 queries,
/// and at most 100,800 data points, per call.
pub fn plan_calls(window: Window, series: &BTreeSet<SeriesKey>) -> Vec<QueryCall> {
    let per_call = (MAX_DATAPOINTS_PER_CALL / window.buckets()).clamp(1, MAX_QUERIES_PER_CALL);
    let series: Vec<&SeriesKey> = series.iter().collect();
    series
        .chunks(per_call)
        .map(|chunk| QueryCall {
            window,
            queries: chunk
                .iter()
                .enumerate()
                .map(|(i, s)| MetricQuery {
                    id: format!("q{i}"),
                    series: (*s).clone(),
                })
                .collect(),
        })
        .collect()
}

/// The calls to read `budgets` at `now`: budgets of the same window share their series.
pub fn plan_queries(
    budgets: &[&BudgetSpec],
    discovered: Option<&BTreeSet<SeriesKey>>,
    now: DateTime<Utc>,
    config: &WatchConfig,
) -> Vec<QueryCall> {
    let mut by_window: BTreeMap<Window, Vec<&BudgetSpec>> = BTreeMap::new();
    for b in budgets {
        by_window
            .entry(window_for(b.period, now, config.rate_window))
            .or_default()
            .push(b);
    }
    by_window
        .into_iter()
        .flat_map(|(w, bs)| plan_calls(w, &series_for(&bs, discovered)))
        .collect()
}

/// How many metrics a set of calls requests (what GetMetricData bills).
pub fn metrics_requested(calls: &[QueryCall]) -> usize {
    calls.iter().map(|c| c.queries.len()).sum()
}

/// The data points of one series, as GetMetricData returned them (any order, any page).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoints {
    pub series: SeriesKey,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// Token counts per series and bucket, for the windows read. A bucket seen twice (a point repeated
/// across pages, or read again in a later run) keeps its last value; missing buckets are zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenData {
    windows: BTreeMap<Window, BTreeMap<SeriesKey, BTreeMap<DateTime<Utc>, u64>>>,
}

impl TokenData {
    /// Adds the points of one window's series.
    pub fn add(&mut self, window: Window, results: impl IntoIterator<Item = SeriesPoints>) {
        let series = self.windows.entry(window).or_default();
        for r in results {
            let buckets = series.entry(r.series).or_default();
            for (t, v) in r.points {
                // Token counts are whole; a negative or NaN value is a fault, counted as zero.
                let tokens = if v.is_finite() && v > 0.0 {
                    v.round() as u64
                } else {
                    0
                };
                buckets.insert(t, tokens);
            }
        }
    }

    /// Replaces a window's data with a fresh read (a late point changes a bucket, never adds twice).
    pub fn replace(&mut self, window: Window, results: impl IntoIterator<Item = SeriesPoints>) {
        self.windows.remove(&window);
        self.add(window, results);
    }

    pub(super) fn window(
        &self,
        window: &Window,
    ) -> Option<&BTreeMap<SeriesKey, BTreeMap<DateTime<Utc>, u64>>> {
        self.windows.get(window)
    }
}
