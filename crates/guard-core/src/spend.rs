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
//! = $35.71. So a budget's metrics are read again only when due ([`next_refresh`]): every minute
//! while a threshold is within reach of a burst, at most every [`WatchConfig::max_refresh`]
//! otherwise; cache metrics are read only for models that publish them ([`series_for`]).
//! [`WatcherCost`] prices a month of runs.

use crate::alert::{AlertType, SpendAlert};
use crate::estimate::cents;
use crate::period::Period;
use crate::policy::raw::Basis;
use crate::policy::{BudgetSpec, Policy, ThresholdSpec};
use crate::prices::{Catalog, split_profile};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

/// Where Bedrock publishes its runtime metrics.
pub const BEDROCK_NAMESPACE: &str = "AWS/Bedrock";
/// The dimension that holds the model id as invoked.
pub const MODEL_DIMENSION: &str = "ModelId";
/// The namespace of the watcher's own metric, unless `BUDGET_GUARD_METRICS_NAMESPACE` says otherwise.
pub const DEFAULT_METRICS_NAMESPACE: &str = "BudgetGuard";
/// The watcher's estimate per budget (USD), dimension [`BUDGET_DIMENSION`]; the dashboard reads it.
pub const ESTIMATE_METRIC: &str = "EstimatedSpend";
/// The dimension of [`ESTIMATE_METRIC`]: the full AWS budget name.
pub const BUDGET_DIMENSION: &str = "Budget";
/// GetMetricData: at most 500 queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// GetMetricData: at most 100,800 data points per call before it paginates.
pub const MAX_DATAPOINTS_PER_CALL: usize = 100_800;
/// PutMetricData: at most 1,000 metrics per request.
pub const MAX_METRICS_PER_PUT: usize = 1000;
/// The `source` of the watcher's alerts.
pub const ALERT_SOURCE: &str = "spend-watcher";

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
pub fn plan(
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

    fn window(
        &self,
        window: &Window,
    ) -> Option<&BTreeMap<SeriesKey, BTreeMap<DateTime<Utc>, u64>>> {
        self.windows.get(window)
    }
}

/// Token sums of one model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Tokens {
    fn add(&mut self, metric: TokenMetric, n: u64) {
        let slot = match metric {
            TokenMetric::Input => &mut self.input,
            TokenMetric::Output => &mut self.output,
            TokenMetric::CacheRead => &mut self.cache_read,
            TokenMetric::CacheWrite => &mut self.cache_write,
        };
        *slot = slot.saturating_add(n);
    }

    pub fn is_zero(&self) -> bool {
        *self == Tokens::default()
    }
}

/// A model's share of a budget's spend so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpend {
    pub model_id: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// USD, unrounded; zero when the model has no price.
    #[serde(with = "rust_decimal::serde::float")]
    pub cost: Decimal,
    pub priced: bool,
}

/// A budget's period-to-date spend from the token metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetSpend {
    pub name: String,
    #[serde(with = "rust_decimal::serde::float")]
    pub amount: Decimal,
    pub period: Period,
    pub period_start: NaiveDate,
    /// The first day of the next period.
    pub period_end: NaiveDate,
    /// USD so far this period, to the cent.
    #[serde(with = "rust_decimal::serde::float")]
    pub spent: Decimal,
    /// USD by the period's end at the recent rate, to the cent.
    #[serde(with = "rust_decimal::serde::float")]
    pub forecast: Decimal,
    /// USD per hour over the recent window.
    #[serde(with = "rust_decimal::serde::float")]
    pub rate_per_hour: Decimal,
    pub by_model: Vec<ModelSpend>,
    /// Invoked model ids with tokens this period but no price: their cost is missing.
    pub unpriced: Vec<String>,
    /// The thresholds reached, as the policy writes them (`90%`, `80% forecasted`).
    pub crossed: Vec<String>,
    pub observed_at: DateTime<Utc>,
}

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

/// The spend of `budget` at `now` from the token data of its window.
pub fn budget_spend(
    budget: &BudgetSpec,
    catalog: &Catalog,
    data: &TokenData,
    now: DateTime<Utc>,
    config: &WatchConfig,
) -> BudgetSpend {
    let window = window_for(budget.period, now, config.rate_window);
    let today = now.date_naive();
    let period_start = budget.period.start_of(today);
    let period_end = budget.period.next_start(today);
    let (from, to) = (day_start(period_start), day_start(period_end));
    let bucket = Duration::seconds(window.period_seconds);
    // The recent window: whole buckets that end after `now - rate_window`.
    let recent_from = {
        let s = (now - config.rate_window).timestamp();
        Utc.timestamp_opt(s - s.rem_euclid(window.period_seconds), 0)
            .single()
            .unwrap_or(now)
            .max(window.start)
    };
    let mut period_tokens: BTreeMap<&str, Tokens> = BTreeMap::new();
    let mut recent_tokens: BTreeMap<&str, Tokens> = BTreeMap::new();
    for (key, buckets) in data.window(&window).into_iter().flatten() {
        if !covers(&budget.scope.models, &key.model_id) {
            continue;
        }
        for (&t, &n) in buckets {
            if t >= from && t < to && t <= now {
                period_tokens
                    .entry(&key.model_id)
                    .or_default()
                    .add(key.metric, n);
            }
            if t >= recent_from && t <= now && t + bucket > recent_from {
                recent_tokens
                    .entry(&key.model_id)
                    .or_default()
                    .add(key.metric, n);
            }
        }
    }
    let price = |model: &str, t: &Tokens| {
        catalog
            .resolve(model)
            .map(|r| r.price.cost(t.input, t.output, t.cache_read, t.cache_write))
    };
    let mut by_model = Vec::new();
    let mut unpriced = Vec::new();
    let mut spent = Decimal::ZERO;
    for (model, t) in &period_tokens {
        if t.is_zero() {
            continue;
        }
        let cost = price(model, t);
        if cost.is_none() {
            unpriced.push((*model).to_owned());
        }
        spent += cost.unwrap_or_default();
        by_model.push(ModelSpend {
            model_id: (*model).to_owned(),
            input_tokens: t.input,
            output_tokens: t.output,
            cache_read_tokens: t.cache_read,
            cache_write_tokens: t.cache_write,
            cost: cost.unwrap_or_default(),
            priced: cost.is_some(),
        });
    }
    let recent_cost: Decimal = recent_tokens.iter().filter_map(|(m, t)| price(m, t)).sum();
    let recent_seconds = (now - recent_from).num_seconds().max(1);
    let rate_per_second = recent_cost / Decimal::from(recent_seconds);
    let remaining = (to - now).num_seconds().max(0);
    let forecast = spent + rate_per_second * Decimal::from(remaining);
    let spent = cents(spent);
    let forecast = cents(forecast).max(spent);
    BudgetSpend {
        name: budget.name.clone(),
        amount: budget.amount,
        period: budget.period,
        period_start,
        period_end,
        spent,
        forecast,
        rate_per_hour: (rate_per_second * Decimal::from(3600)).round_dp(4),
        by_model,
        unpriced,
        crossed: budget
            .thresholds
            .iter()
            .filter(|t| reached(t, budget.amount, spent, forecast))
            .map(|t| match t.basis {
                Basis::Actual => t.label(),
                Basis::Forecasted => format!("{} forecasted", t.label()),
            })
            .collect(),
        observed_at: now,
    }
}

/// Whether spend (or the forecast, for a forecasted threshold) is past the threshold, as AWS
/// Budgets counts it: strictly greater than the threshold in dollars.
fn reached(t: &ThresholdSpec, amount: Decimal, spent: Decimal, forecast: Decimal) -> bool {
    let value = match t.basis {
        Basis::Actual => spent,
        Basis::Forecasted => forecast,
    };
    value > t.dollars(amount)
}

/// A threshold's stable name in the state: `ACTUAL>90%`, `FORECASTED>$450`.
pub fn threshold_id(t: &ThresholdSpec) -> String {
    let basis = match t.basis {
        Basis::Actual => "ACTUAL",
        Basis::Forecasted => "FORECASTED",
    };
    format!("{basis}>{}", t.label())
}

/// What the watcher remembers per budget across runs and cold starts (an SSM parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendState {
    /// The period these sets belong to; another period starts empty.
    pub period_start: NaiveDate,
    /// Thresholds whose alert was published this period.
    #[serde(default)]
    pub tripped: BTreeSet<String>,
    /// Thresholds decided but not yet confirmed published: published again on the next run.
    #[serde(default)]
    pub pending: BTreeSet<String>,
    /// Unpriced model ids already reported this period.
    #[serde(default)]
    pub unpriced_reported: BTreeSet<String>,
}

impl SpendState {
    pub fn new(period_start: NaiveDate) -> SpendState {
        SpendState {
            period_start,
            tripped: BTreeSet::new(),
            pending: BTreeSet::new(),
            unpriced_reported: BTreeSet::new(),
        }
    }

    /// Marks a threshold's alert as published.
    pub fn confirm(&mut self, threshold: &str) {
        self.pending.remove(threshold);
        self.tripped.insert(threshold.to_owned());
    }
}

/// What one run does for one budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Alerts to publish, with their threshold ids (confirm each once published).
    pub alerts: Vec<(String, SpendAlert)>,
    /// The state to save before publishing (the alerts are `pending` in it).
    pub state: SpendState,
    /// Whether `state` differs from the state read.
    pub changed: bool,
    /// Unpriced models to report now (once per period).
    pub report_unpriced: Vec<String>,
}

/// Decides the alerts of a budget: every threshold reached and not yet published this period
/// (pending ones included), one alert each. A state of another period counts as empty.
pub fn decide(budget: &BudgetSpec, spend: &BudgetSpend, previous: Option<&SpendState>) -> Decision {
    let fresh = SpendState::new(spend.period_start);
    let before = previous
        .filter(|s| s.period_start == spend.period_start)
        .cloned()
        .unwrap_or(fresh);
    let mut state = before.clone();
    let mut alerts = Vec::new();
    for t in &budget.thresholds {
        let id = threshold_id(t);
        if state.tripped.contains(&id) {
            continue;
        }
        if reached(t, budget.amount, spend.spent, spend.forecast) || state.pending.contains(&id) {
            let (alert_type, amount) = match t.basis {
                Basis::Actual => (AlertType::Actual, spend.spent),
                Basis::Forecasted => (AlertType::Forecasted, spend.forecast),
            };
            state.pending.insert(id.clone());
            alerts.push((
                id,
                SpendAlert {
                    budget_name: budget.name.clone(),
                    alert_type,
                    threshold: t.dollars(budget.amount),
                    budgeted: budget.amount,
                    amount,
                    period: budget.period,
                    period_start: spend.period_start,
                    observed_at: spend.observed_at,
                    source: ALERT_SOURCE.to_owned(),
                },
            ));
        }
    }
    let report_unpriced: Vec<String> = spend
        .unpriced
        .iter()
        .filter(|m| !state.unpriced_reported.contains(*m))
        .cloned()
        .collect();
    state
        .unpriced_reported
        .extend(report_unpriced.iter().cloned());
    let changed = Some(&state) != previous;
    Decision {
        alerts,
        state,
        changed,
        report_unpriced,
    }
}

/// When a budget's metrics need reading again: within a minute while a burst could reach its next
/// threshold before the following read, else up to `config.max_refresh` later.
///
/// A burst is `burst_factor` times the larger of the recent rate and the budget's even pace
/// (amount over the period's length). The read comes at half the time such a burst needs to reach
/// the next actual threshold.
pub fn next_refresh(
    budget: &BudgetSpec,
    spend: &BudgetSpend,
    state: &SpendState,
    now: DateTime<Utc>,
    config: &WatchConfig,
) -> DateTime<Utc> {
    let minute = Duration::minutes(1);
    let period_seconds = Decimal::from(
        (day_start(spend.period_end) - day_start(spend.period_start))
            .num_seconds()
            .max(1),
    );
    let pace_per_second = budget.amount / period_seconds;
    let rate_per_second = spend.rate_per_hour / Decimal::from(3600);
    let burst = rate_per_second.max(pace_per_second) * Decimal::from(config.burst_factor.max(1));
    let mut wait = config.max_refresh;
    // Only actual thresholds set the pace: a forecast is a trend, and read every `max_refresh` it
    // is still hours ahead of AWS Budgets' own (updated up to three times a day).
    for t in budget
        .thresholds
        .iter()
        .filter(|t| t.basis == Basis::Actual)
    {
        if state.tripped.contains(&threshold_id(t)) {
            continue;
        }
        let headroom = t.dollars(budget.amount) - spend.spent;
        let reach_seconds = if burst.is_zero() {
            Decimal::MAX
        } else {
            headroom / burst
        };
        let half = (reach_seconds / Decimal::TWO).floor();
        let secs =
            i64::try_from(half.min(Decimal::from(config.max_refresh.num_seconds()))).unwrap_or(0);
        wait = wait.min(Duration::seconds(secs));
    }
    // Never later than the period's end: the new period starts fresh.
    (now + wait.max(minute)).min(day_start(spend.period_end))
}

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

/// A port's failure, as the runner reports it.
pub type PortError = Box<dyn std::error::Error + Send + Sync + 'static>;

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

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("reading the token metrics failed: {0}")]
    Metrics(#[source] PortError),
    #[error("reading or saving the state of budget `{budget}` failed: {source}")]
    State { budget: String, source: PortError },
    #[error("publishing the alert of budget `{budget}` at {threshold} failed: {source}")]
    Publish {
        budget: String,
        threshold: String,
        source: PortError,
    },
    #[error("publishing the estimates failed: {0}")]
    Estimates(#[source] PortError),
}

/// What the watcher keeps in memory between runs of one execution environment: each budget's last
/// spend and when it is next due. A cold start begins empty and reads everything once.
#[derive(Debug, Clone, Default)]
pub struct WatchMemory {
    pub due: BTreeMap<String, DateTime<Utc>>,
    pub last: BTreeMap<String, BudgetSpend>,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunReport {
    /// The budgets read this run, with their spend.
    pub refreshed: Vec<BudgetSpend>,
    pub alerts: Vec<SpendAlert>,
    pub unpriced_reported: Vec<(String, String)>,
    pub get_metric_data_calls: usize,
    pub metrics_requested: usize,
    pub discovered: bool,
}

/// One run of the watcher at `now`: reads the due budgets' metrics, publishes their estimates,
/// publishes each threshold's alert once per period (state saved as pending first, confirmed after
/// the publish, so a failed publish is retried and a publish is never lost), and schedules the
/// next read. Budgets that fail keep their schedule and are tried again next run.
pub async fn run_once<M, S, A, E>(
    policy: &Policy,
    catalog: &Catalog,
    ports: (&M, &S, &A, &E),
    now: DateTime<Utc>,
    config: &WatchConfig,
    memory: &mut WatchMemory,
) -> Result<RunReport, WatchError>
where
    M: TokenMetricsSource,
    S: SpendStateStore,
    A: AlertSink,
    E: EstimateSink,
{
    let (metrics, store, alerts_sink, estimates) = ports;
    let mut report = RunReport::default();
    let due: Vec<&BudgetSpec> = watched(policy)
        .into_iter()
        .filter(|b| memory.due.get(&b.name).is_none_or(|at| *at <= now))
        .collect();
    if due.is_empty() {
        return Ok(report);
    }
    let discovered = metrics.discover().await.map_err(WatchError::Metrics)?;
    report.discovered = discovered.is_some();
    let calls = plan(&due, discovered.as_ref(), now, config);
    report.get_metric_data_calls = calls.len();
    report.metrics_requested = metrics_requested(&calls);
    let mut data = TokenData::default();
    for call in &calls {
        let points = metrics.fetch(call).await.map_err(WatchError::Metrics)?;
        data.add(call.window, points);
    }
    // Every watched budget whose series were all read is evaluated, due or not: reading them cost
    // nothing more, and their schedules line up so that later runs read them together.
    let read: BTreeSet<(Window, &SeriesKey)> = calls
        .iter()
        .flat_map(|c| c.queries.iter().map(move |q| (c.window, &q.series)))
        .collect();
    let evaluated: Vec<&BudgetSpec> = watched(policy)
        .into_iter()
        .filter(|b| {
            let w = window_for(b.period, now, config.rate_window);
            series_for(&[*b], discovered.as_ref())
                .iter()
                .all(|s| read.contains(&(w, s)))
        })
        .collect();
    let spends: Vec<BudgetSpend> = evaluated
        .iter()
        .map(|b| budget_spend(b, catalog, &data, now, config))
        .collect();
    if !spends.is_empty() {
        estimates
            .put(&spends, now)
            .await
            .map_err(WatchError::Estimates)?;
    }
    let mut first_error = None;
    for (budget, spend) in evaluated.iter().zip(&spends) {
        match settle(budget, spend, store, alerts_sink, &mut report).await {
            Ok(state) => {
                memory.due.insert(
                    budget.name.clone(),
                    next_refresh(budget, spend, &state, now, config),
                );
                memory.last.insert(budget.name.clone(), spend.clone());
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    report.refreshed = spends;
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

async fn settle<S: SpendStateStore, A: AlertSink>(
    budget: &BudgetSpec,
    spend: &BudgetSpend,
    store: &S,
    sink: &A,
    report: &mut RunReport,
) -> Result<SpendState, WatchError> {
    let state_err = |source| WatchError::State {
        budget: budget.name.clone(),
        source,
    };
    let previous = store.load(&budget.name).await.map_err(state_err)?;
    let decision = decide(budget, spend, previous.as_ref());
    let mut state = decision.state;
    if decision.changed {
        store.save(&budget.name, &state).await.map_err(state_err)?;
    }
    for model in decision.report_unpriced {
        report.unpriced_reported.push((budget.name.clone(), model));
    }
    if decision.alerts.is_empty() {
        return Ok(state);
    }
    for (id, alert) in &decision.alerts {
        sink.publish(alert)
            .await
            .map_err(|source| WatchError::Publish {
                budget: budget.name.clone(),
                threshold: id.clone(),
                source,
            })?;
        state.confirm(id);
        report.alerts.push(alert.clone());
    }
    store.save(&budget.name, &state).await.map_err(state_err)?;
    Ok(state)
}

/// Measured usage over a window, projected over a budget's period (`estimate --from-metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasuredEstimate {
    pub name: String,
    pub window_days: Decimal,
    /// USD measured over the window.
    #[serde(with = "rust_decimal::serde::float")]
    pub measured: Decimal,
    /// USD per period at the measured rate (nominal period length, as `estimate` counts).
    #[serde(with = "rust_decimal::serde::float")]
    pub projected: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub share_percent: Decimal,
    pub crosses: Vec<String>,
    pub by_model: Vec<ModelSpend>,
    pub unpriced: Vec<String>,
}

/// The window of `estimate --from-metrics`: `length` back from `now`, in buckets of a day (or of
/// the whole window, when shorter), so one call reads each series in a handful of points.
pub fn sample_window(now: DateTime<Utc>, length: Duration) -> Window {
    let minute = 60;
    let end_s = now.timestamp() - now.timestamp().rem_euclid(minute) + minute;
    let span = length.num_seconds().max(minute);
    let span = span - span.rem_euclid(minute);
    let period_seconds = span.min(86_400);
    let start = Utc.timestamp_opt(end_s - span, 0).single().unwrap_or(now);
    let end = Utc.timestamp_opt(end_s, 0).single().unwrap_or(now);
    Window {
        start,
        end,
        period_seconds,
    }
}

/// Projects the usage measured in `window` over each budget's nominal period.
pub fn measured_estimate(
    budget: &BudgetSpec,
    catalog: &Catalog,
    data: &TokenData,
    window: Window,
) -> MeasuredEstimate {
    let mut totals: BTreeMap<&str, Tokens> = BTreeMap::new();
    for (key, buckets) in data.window(&window).into_iter().flatten() {
        if covers(&budget.scope.models, &key.model_id) {
            for (&t, &n) in buckets {
                if t >= window.start && t < window.end {
                    totals.entry(&key.model_id).or_default().add(key.metric, n);
                }
            }
        }
    }
    let mut measured = Decimal::ZERO;
    let mut by_model = Vec::new();
    let mut unpriced = Vec::new();
    for (model, t) in totals.into_iter().filter(|(_, t)| !t.is_zero()) {
        let cost = catalog
            .resolve(model)
            .map(|r| r.price.cost(t.input, t.output, t.cache_read, t.cache_write));
        if cost.is_none() {
            unpriced.push(model.to_owned());
        }
        measured += cost.unwrap_or_default();
        by_model.push(ModelSpend {
            model_id: model.to_owned(),
            input_tokens: t.input,
            output_tokens: t.output,
            cache_read_tokens: t.cache_read,
            cache_write_tokens: t.cache_write,
            cost: cost.unwrap_or_default(),
            priced: cost.is_some(),
        });
    }
    let window_days =
        Decimal::from((window.end - window.start).num_seconds()) / Decimal::from(86_400);
    let projected = if window_days.is_zero() {
        Decimal::ZERO
    } else {
        cents(measured / window_days * Decimal::from(budget.period.nominal_days()))
    };
    let share_percent = if budget.amount.is_zero() {
        Decimal::ZERO
    } else {
        (projected * Decimal::ONE_HUNDRED / budget.amount).round_dp(1)
    };
    MeasuredEstimate {
        name: budget.name.clone(),
        window_days: window_days.round_dp(2),
        measured: cents(measured),
        projected,
        share_percent,
        crosses: crate::estimate::crossed(&budget.thresholds, budget.amount, projected),
        by_model,
        unpriced,
    }
}
