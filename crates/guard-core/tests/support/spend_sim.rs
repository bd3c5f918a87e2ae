//! Simulated time for the spend watcher: an in-memory CloudWatch that shows each minute's tokens
//! only after an ingestion delay, in-memory state and alert sinks, and scenarios. Shared by
//! `tests/spend_simulation.rs` and the examples `spend_cost` and `stack_cost`.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use guard_core::alerts::parse::spend_alert::SpendAlert;
use guard_core::policy::{self, Policy, SourceFile};
use guard_core::ports::{ErrorKind, PortError};
use guard_core::spend::{
    WatchConfig, cost::WatcherCost, ports::AlertSink, ports::EstimateSink, ports::SpendStateStore,
    ports::TokenMetricsSource, price::BudgetSpend, query::QueryCall, query::SeriesKey,
    query::SeriesPoints, query::TokenMetric, run::WatchMemory, run::run_once,
    thresholds::SpendState,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

const SONNET_US: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

/// Runs a future whose ports never wait (every port here answers at once).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

#[derive(Debug, Default)]
struct CwState {
    /// Visible tokens per series and hour.
    hourly: BTreeMap<SeriesKey, BTreeMap<i64, u64>>,
    /// (visible at, minute, series, tokens)
    pending: Vec<(DateTime<Utc>, DateTime<Utc>, SeriesKey, u64)>,
    metrics_requested: u64,
    get_calls: u64,
    list_calls: u64,
}

/// CloudWatch as the watcher sees it: a minute's data points become visible `delay` later.
#[derive(Debug)]
pub struct FakeCloudWatch {
    state: Mutex<CwState>,
    delay: Duration,
}

impl FakeCloudWatch {
    pub fn new(delay: Duration) -> FakeCloudWatch {
        FakeCloudWatch {
            state: Mutex::new(CwState::default()),
            delay,
        }
    }

    /// Tokens of one minute, visible after the delay.
    pub fn record(&self, minute: DateTime<Utc>, series: SeriesKey, tokens: u64) {
        let mut s = self.state.lock().unwrap();
        s.pending
            .push((minute + self.delay, minute, series, tokens));
    }

    /// Tokens of a past hour, visible at once.
    pub fn record_hour(&self, hour: DateTime<Utc>, series: SeriesKey, tokens: u64) {
        let mut s = self.state.lock().unwrap();
        let h = hour.timestamp() - hour.timestamp().rem_euclid(3600);
        *s.hourly.entry(series).or_default().entry(h).or_default() += tokens;
    }

    /// Makes the points visible by `now`.
    pub fn advance(&self, now: DateTime<Utc>) {
        let mut s = self.state.lock().unwrap();
        let pending = std::mem::take(&mut s.pending);
        for (visible, minute, series, tokens) in pending {
            if visible <= now {
                let h = minute.timestamp() - minute.timestamp().rem_euclid(3600);
                *s.hourly.entry(series).or_default().entry(h).or_default() += tokens;
            } else {
                s.pending.push((visible, minute, series, tokens));
            }
        }
    }

    pub fn counts(&self) -> (u64, u64, u64) {
        let s = self.state.lock().unwrap();
        (s.get_calls, s.metrics_requested, s.list_calls)
    }
}

impl TokenMetricsSource for FakeCloudWatch {
    fn discover(
        &self,
    ) -> impl Future<Output = Result<Option<BTreeSet<SeriesKey>>, PortError>> + Send {
        let mut s = self.state.lock().unwrap();
        s.list_calls += 1;
        let found = s.hourly.keys().cloned().collect();
        std::future::ready(Ok(Some(found)))
    }

    fn fetch(
        &self,
        call: &QueryCall,
    ) -> impl Future<Output = Result<Vec<SeriesPoints>, PortError>> + Send {
        let mut s = self.state.lock().unwrap();
        s.get_calls += 1;
        s.metrics_requested += call.queries.len() as u64;
        let (start, end, p) = (
            call.window.start.timestamp(),
            call.window.end.timestamp(),
            call.window.period_seconds,
        );
        let out = call
            .queries
            .iter()
            .map(|q| {
                let mut buckets: BTreeMap<i64, u64> = BTreeMap::new();
                if let Some(hours) = s.hourly.get(&q.series) {
                    for (&h, &n) in hours.range(start..end) {
                        *buckets.entry(h - (h - start).rem_euclid(p)).or_default() += n;
                    }
                }
                SeriesPoints {
                    series: q.series.clone(),
                    points: buckets
                        .into_iter()
                        .map(|(t, n)| (Utc.timestamp_opt(t, 0).unwrap(), n as f64))
                        .collect(),
                }
            })
            .collect();
        std::future::ready(Ok(out))
    }
}

#[derive(Debug, Default)]
pub struct MemStore {
    pub states: Mutex<BTreeMap<String, SpendState>>,
    pub saves: Mutex<u64>,
    pub loads: Mutex<u64>,
}

impl SpendStateStore for MemStore {
    fn load(
        &self,
        budget: &str,
    ) -> impl Future<Output = Result<Option<SpendState>, PortError>> + Send {
        *self.loads.lock().unwrap() += 1;
        std::future::ready(Ok(self.states.lock().unwrap().get(budget).cloned()))
    }

    fn save(
        &self,
        budget: &str,
        state: &SpendState,
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        *self.saves.lock().unwrap() += 1;
        self.states
            .lock()
            .unwrap()
            .insert(budget.to_owned(), state.clone());
        std::future::ready(Ok(()))
    }
}

#[derive(Debug, Default)]
pub struct MemAlerts {
    pub published: Mutex<Vec<SpendAlert>>,
    /// Publishes to fail before succeeding again.
    pub fail_next: Mutex<u32>,
}

impl AlertSink for MemAlerts {
    fn publish(&self, alert: &SpendAlert) -> impl Future<Output = Result<(), PortError>> + Send {
        let mut fail = self.fail_next.lock().unwrap();
        let result = if *fail > 0 {
            *fail -= 1;
            Err(PortError::new(
                ErrorKind::Transient,
                "sns:Publish",
                "sns unavailable",
            ))
        } else {
            self.published.lock().unwrap().push(alert.clone());
            Ok(())
        };
        std::future::ready(result)
    }
}

/// One PutMetricData: when, and each budget's estimate.
pub type EstimatePut = (DateTime<Utc>, Vec<(String, Decimal)>);

#[derive(Debug, Default)]
pub struct MemEstimates {
    pub puts: Mutex<Vec<EstimatePut>>,
}

impl EstimateSink for MemEstimates {
    fn put(
        &self,
        spends: &[BudgetSpend],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        let values = spends.iter().map(|s| (s.name.clone(), s.spent)).collect();
        self.puts.lock().unwrap().push((at, values));
        std::future::ready(Ok(()))
    }
}

pub fn load_policy(yaml: &str) -> Policy {
    let (policy, diagnostics) =
        policy::load(&[SourceFile::new("policy.yaml", yaml.as_bytes().to_vec())]);
    policy.unwrap_or_else(|| panic!("invalid test policy: {diagnostics:#?}"))
}

/// A policy of `budgets` monthly budgets, each over all of `models`, with amounts from `amounts`.
pub fn policy_yaml(models: &[String], amounts: &[Decimal]) -> String {
    let mut y = String::from("version: 1\nbudgets:\n");
    for (i, amount) in amounts.iter().enumerate() {
        y.push_str(&format!("  b{i:02}:\n    amount: {amount}\n    period: monthly\n    watch: true\n    scope:\n      models:\n"));
        for m in models {
            y.push_str(&format!("        - \"{m}\"\n"));
        }
        y.push_str("    thresholds:\n      - at: 50%\n      - at: 80%\n        on: forecasted\n      - at: 90%\n      - at: 100%\n");
    }
    y
}

/// `n` model ids the bundled catalog prices: the catalog's base ids, then `us.` profile ids.
pub fn model_ids(n: usize) -> Vec<String> {
    let catalog = guard_core::pricing::catalog::Catalog::bundled();
    let base: Vec<String> = catalog.entries().map(|e| e.model_id.clone()).collect();
    base.iter()
        .cloned()
        .chain(base.iter().map(|b| format!("us.{b}")))
        .take(n)
        .collect()
}

/// Steady traffic: each of `models` at 1,000 input and 250 output tokens a minute.
pub fn steady_traffic(models: impl IntoIterator<Item = String>) -> Vec<(String, u64, u64)> {
    models.into_iter().map(|m| (m, 1_000, 250)).collect()
}

/// Twenty monthly budgets over all of `models`, from 40% to 230% of what `per_minute` costs in
/// 30 days, so that every threshold is crossed by some of them.
pub fn spread_budgets(models: &[String], per_minute: &[(String, u64, u64)]) -> Policy {
    let catalog = guard_core::pricing::catalog::Catalog::bundled();
    let month_cost = per_minute
        .iter()
        .filter_map(|(m, i, o)| catalog.resolve(m).map(|r| r.price.cost(*i, *o, 0, 0)))
        .sum::<Decimal>()
        * Decimal::from(43_200);
    let amounts: Vec<Decimal> = (0..20)
        .map(|i| {
            (month_cost * Decimal::new(40 + 10 * i, 2))
                .round_dp(0)
                .max(Decimal::ONE)
        })
        .collect();
    load_policy(&policy_yaml(models, &amounts))
}

/// The watcher over November 2026 with `per_minute` traffic all month.
pub fn steady_month(
    policy: &Policy,
    per_minute: &[(String, u64, u64)],
    config: &WatchConfig,
) -> SimOutcome {
    let traffic = |_t| per_minute.to_vec();
    simulate(
        policy,
        &traffic,
        at(2026, 11, 1, 0, 0),
        at(2026, 11, 1, 0, 0),
        at(2026, 12, 1, 0, 0),
        Duration::minutes(2),
        config,
    )
}

/// When the runaway burst of [`runaway_burst`] starts.
pub fn burst_start() -> DateTime<Utc> {
    at(2026, 11, 10, 12, 0)
}

/// A runaway burst on `policy`'s chatbot budget ($500 a month on Sonnet 4.5): $0.00825 a minute
/// from 1 November (71% of the budget's pace), then 50 times that from [`burst_start`]. The
/// watcher runs from 10 November to 06:00 on the 11th, with token metrics visible 2 minutes after
/// their minute starts.
pub fn runaway_burst(policy: &Policy, config: &WatchConfig) -> SimOutcome {
    let traffic = |t| {
        let k = if t >= burst_start() { 50 } else { 1 };
        vec![(SONNET_US.to_owned(), 1_000 * k, 300 * k)]
    };
    simulate(
        policy,
        &traffic,
        at(2026, 11, 1, 0, 0),
        at(2026, 11, 10, 0, 0),
        at(2026, 11, 11, 6, 0),
        Duration::minutes(2),
        config,
    )
}

/// The outcome of one watcher over simulated time.
#[derive(Debug, Clone, Default)]
pub struct SimOutcome {
    pub runs: u64,
    pub refresh_runs: u64,
    pub cost: WatcherCost,
    pub alerts: Vec<(DateTime<Utc>, SpendAlert)>,
    /// Per budget and threshold dollars: when the true spend first went past it.
    pub true_crossings: BTreeMap<(String, Decimal), DateTime<Utc>>,
}

/// Traffic per minute: for each model, input and output tokens.
pub type Traffic<'a> = dyn Fn(DateTime<Utc>) -> Vec<(String, u64, u64)> + 'a;

/// Runs the watcher every minute from `from` to `to`, with `traffic` from `traffic_from` on (the
/// traffic between `traffic_from` and `from` is loaded as history, visible at once).
pub fn simulate(
    policy: &Policy,
    traffic: &Traffic<'_>,
    traffic_from: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    ingest_delay: Duration,
    config: &WatchConfig,
) -> SimOutcome {
    let catalog = policy.catalog();
    let cw = FakeCloudWatch::new(ingest_delay);
    let store = MemStore::default();
    let alerts = MemAlerts::default();
    let estimates = MemEstimates::default();
    let mut memory = WatchMemory::default();
    let mut outcome = SimOutcome::default();
    let mut true_spend: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut thresholds: Vec<(String, Decimal, Decimal)> = Vec::new(); // budget, amount, dollars (actual)
    for b in policy.budgets.values() {
        for t in b
            .thresholds
            .iter()
            .filter(|t| t.basis == guard_core::spend_basis::SpendBasis::Actual)
        {
            thresholds.push((b.name.clone(), b.amount, t.dollars(b.amount)));
        }
    }
    let minute_cost = |minute: DateTime<Utc>, record: &dyn Fn(&str, u64, u64)| {
        let mut cost = Decimal::ZERO;
        for (model, input, output) in traffic(minute) {
            record(&model, input, output);
            if let Some(r) = catalog.resolve(&model) {
                cost += r.price.cost(input, output, 0, 0);
            }
        }
        cost
    };
    let mut t = traffic_from;
    let mut history = Decimal::ZERO;
    while t < from {
        history += minute_cost(t, &|m, i, o| {
            cw.record_hour(t, SeriesKey::new(m, TokenMetric::Input), i);
            cw.record_hour(t, SeriesKey::new(m, TokenMetric::Output), o);
        });
        t += Duration::minutes(1);
    }
    let mut t = from;
    let mut spend_so_far = history;
    let mut period = Some(from.date_naive().year_month());
    while t < to {
        let month = t.date_naive().year_month();
        if period != Some(month) {
            period = Some(month);
            spend_so_far = Decimal::ZERO;
        }
        let cost = minute_cost(t, &|m, i, o| {
            cw.record(t, SeriesKey::new(m, TokenMetric::Input), i);
            cw.record(t, SeriesKey::new(m, TokenMetric::Output), o);
        });
        spend_so_far += cost;
        // Every budget covers every model here: the true spend is the same for each.
        for (name, _amount, dollars) in &thresholds {
            let key = (name.clone(), *dollars);
            if spend_so_far > *dollars && !outcome.true_crossings.contains_key(&key) {
                outcome.true_crossings.insert(key, t + Duration::minutes(1));
            }
            true_spend.insert(name.clone(), spend_so_far);
        }
        // The run at the end of minute t.
        let now = t + Duration::minutes(1);
        cw.advance(now);
        let before = alerts.published.lock().unwrap().len();
        let report = block_on(run_once(
            policy,
            &catalog,
            (&cw, &store, &alerts, &estimates),
            now,
            config,
            &mut memory,
        ))
        .expect("in-memory ports do not fail");
        outcome.runs += 1;
        if report.metrics_requested > 0 {
            outcome.refresh_runs += 1;
        }
        for a in alerts.published.lock().unwrap()[before..].iter() {
            outcome.alerts.push((now, a.clone()));
        }
        t = now;
    }
    let (get_calls, metrics, list_calls) = cw.counts();
    outcome.cost = WatcherCost {
        runs: outcome.runs,
        metrics_requested: metrics,
        get_metric_data_calls: get_calls,
        list_metrics_calls: list_calls,
        put_metric_data_calls: estimates.puts.lock().unwrap().len() as u64,
        ssm_calls: *store.loads.lock().unwrap() + *store.saves.lock().unwrap(),
        sns_publishes: outcome.alerts.len() as u64,
        ..WatcherCost::default()
    };
    outcome
}

trait YearMonth {
    fn year_month(&self) -> (i32, u32);
}

impl YearMonth for chrono::NaiveDate {
    fn year_month(&self) -> (i32, u32) {
        use chrono::Datelike;
        (self.year(), self.month())
    }
}
