//! One run of the watcher over its ports.

use super::WatchConfig;
use super::ports::{AlertSink, EstimateSink, SpendStateStore, TokenMetricsSource};
use super::price::{BudgetSpend, budget_spend};
use super::query::{
    SeriesKey, TokenData, Window, metrics_requested, plan_queries, series_for, watched, window_for,
};
use super::refresh::next_refresh;
use super::thresholds::{SpendState, decide};
use crate::alerts::parse::spend_alert::SpendAlert;
use crate::policy::{BudgetSpec, Policy};
use crate::ports::PortError;
use crate::pricing::catalog::Catalog;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
/// The namespace of the watcher's own metric, unless `BUDGET_GUARD_METRICS_NAMESPACE` says otherwise.
pub const DEFAULT_METRICS_NAMESPACE: &str = "BudgetGuard";
/// The watcher's estimate per budget (USD), dimension [`BUDGET_DIMENSION`]; the dashboard reads it.
pub const ESTIMATE_METRIC: &str = "EstimatedSpend";
/// The dimension of [`ESTIMATE_METRIC`]: the full AWS budget name.
pub const BUDGET_DIMENSION: &str = "Budget";
/// PutMetricData: at most 1,000 metrics per request.
pub const MAX_METRICS_PER_PUT: usize = 1000;
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
    let calls = plan_queries(&due, discovered.as_ref(), now, config);
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
