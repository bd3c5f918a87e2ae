//! The fast path checked against the spend watcher: on each of the watcher's runs, every budget it
//! priced from token metrics is compared with the fast path's period-to-date counter of the same
//! period. The two see the same calls by different roads (summed metrics a minute or more late;
//! one invocation log record per call, priced per request), so a gap past [`DRIFT_TOLERANCE_PCT`]
//! says one of them is missing something: logging turned off or a subscription filter lost, a
//! model with no price on one side, a long-context tier that summed metrics price low.
//!
//! A budget that names `applications` counts only their calls on the fast path, while the metrics
//! of its models hold every application's: there the metrics figure is a ceiling, and only a fast
//! path figure above it is drift.

use crate::policy::{BudgetSpec, Policy};
use crate::ports::PortError;
use crate::pricing::estimate::cents;
use crate::spend::price::BudgetSpend;
use crate::usage::meter::CounterKey;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;

/// Drift up to this share of the metrics figure, in percent, is the two roads' ordinary
/// difference (metrics arrive later than logs); above it, it is logged and shown.
pub const DRIFT_TOLERANCE_PCT: Decimal = Decimal::from_parts(5, 0, 0, false, 0);
/// The fast path's counter per budget (USD), dimension `Budget`, in the guard's namespace.
pub const FAST_PATH_SPEND_METRIC: &str = "FastPathSpend";
/// The drift per budget, percent of the metrics figure, signed (above zero: the fast path counted
/// more). Not published while the metrics figure is zero.
pub const DRIFT_METRIC: &str = "FastPathDrift";

/// One budget's two figures for the same period, compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// The AWS budget name.
    pub budget: String,
    /// The fast path's counter, to the cent; zero when it has none yet.
    #[serde(with = "rust_decimal::serde::float")]
    pub fast_path_usd: Decimal,
    /// Whether the fast path has a counter for the period at all.
    pub counter_found: bool,
    /// What the spend watcher priced from token metrics, to the cent.
    #[serde(with = "rust_decimal::serde::float")]
    pub metrics_usd: Decimal,
    /// `(fast path - metrics) / metrics`, percent, to two places; `None` when the metrics
    /// figure is zero and the fast path's is not (no share of zero).
    #[serde(with = "rust_decimal::serde::float_option")]
    pub drift_pct: Option<Decimal>,
    /// The budget names applications: the metrics figure is a ceiling.
    pub attributed: bool,
    /// Past the tolerance (see the module docs).
    pub drifted: bool,
}

/// Compares a budget's counter (`None`: none yet) with its metrics figure.
pub fn reconcile(
    budget: &BudgetSpec,
    fast_path: Option<Decimal>,
    metrics: Decimal,
) -> Reconciliation {
    let fast_path_usd = cents(fast_path.unwrap_or_default());
    let metrics_usd = cents(metrics);
    let attributed = !budget.scope.applications.is_empty();
    let drift_pct = if metrics_usd.is_zero() {
        fast_path_usd.is_zero().then_some(Decimal::ZERO)
    } else {
        Some(
            ((fast_path_usd - metrics_usd) * Decimal::ONE_HUNDRED / metrics_usd)
                .round_dp(2)
                .normalize(),
        )
    };
    let drifted = match drift_pct {
        None => true,
        Some(d) if attributed => d > DRIFT_TOLERANCE_PCT,
        Some(d) => d.abs() > DRIFT_TOLERANCE_PCT,
    };
    Reconciliation {
        budget: budget.name.clone(),
        fast_path_usd,
        counter_found: fast_path.is_some(),
        metrics_usd,
        drift_pct,
        attributed,
        drifted,
    }
}

/// The fast path's counter of each budget the watcher priced, for the period it priced.
pub fn counter_keys(spends: &[BudgetSpend]) -> Vec<CounterKey> {
    spends
        .iter()
        .map(|s| CounterKey {
            budget: s.name.clone(),
            period_start: s.period_start,
        })
        .collect()
}

/// Reads the fast path's counters (the usage meter's table), for the spend watcher.
pub trait CounterReader {
    /// The totals (USD) of the counters that exist among `keys`; a key with no counter yet is
    /// left out of the answer.
    fn read_totals(
        &self,
        keys: &[CounterKey],
    ) -> impl Future<Output = Result<BTreeMap<CounterKey, Decimal>, PortError>> + Send;
}

/// Publishes the comparisons (CloudWatch PutMetricData [`FAST_PATH_SPEND_METRIC`] and
/// [`DRIFT_METRIC`]) for the dashboard.
pub trait DriftSink {
    fn put_drift(
        &self,
        reconciliations: &[Reconciliation],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("reading the fast path's counters failed: {0}")]
    Counters(#[source] PortError),
    #[error("publishing the fast path's drift failed: {0}")]
    Publish(#[source] PortError),
}

/// Compares every budget of `spends` (what one watcher run priced) with its counter, and
/// publishes the figures. Budgets the policy no longer has are left out.
pub async fn reconcile_run<R: CounterReader, D: DriftSink>(
    policy: &Policy,
    spends: &[BudgetSpend],
    ports: (&R, &D),
    now: DateTime<Utc>,
) -> Result<Vec<Reconciliation>, ReconcileError> {
    let (reader, sink) = ports;
    if spends.is_empty() {
        return Ok(Vec::new());
    }
    let totals = reader
        .read_totals(&counter_keys(spends))
        .await
        .map_err(ReconcileError::Counters)?;
    let out: Vec<Reconciliation> = spends
        .iter()
        .filter_map(|s| {
            let budget = policy.budget_by_name(&s.name)?;
            let key = CounterKey {
                budget: s.name.clone(),
                period_start: s.period_start,
            };
            Some(reconcile(budget, totals.get(&key).copied(), s.spent))
        })
        .collect();
    sink.put_drift(&out, now)
        .await
        .map_err(ReconcileError::Publish)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use std::sync::Mutex;

    const POLICY: &str = r#"
version: 1
budgets:
  shared:
    amount: 1000
    period: monthly
    watch: true
    scope:
      models: [amazon.nova-lite-v1:0]
  chatbot:
    amount: 100
    period: monthly
    watch: true
    scope:
      models: [amazon.nova-lite-v1:0]
      applications:
        - request_metadata: { app: chatbot }
"#;

    fn policy() -> Policy {
        crate::testing::policy::checked(POLICY)
    }

    fn shared(fast: Option<Decimal>, metrics: Decimal) -> Reconciliation {
        reconcile(&policy().budgets["shared"], fast, metrics)
    }

    #[test]
    fn exactly_five_percent_either_way_is_within_the_tolerance_and_a_cent_more_is_not() {
        let at = |fast| shared(Some(fast), dec!(100));
        assert_eq!(at(dec!(105)).drift_pct, Some(dec!(5)));
        assert!(!at(dec!(105)).drifted);
        assert!(!at(dec!(95)).drifted);
        assert_eq!(at(dec!(105.01)).drift_pct, Some(dec!(5.01)));
        assert!(at(dec!(105.01)).drifted);
        assert_eq!(at(dec!(94.99)).drift_pct, Some(dec!(-5.01)));
        assert!(at(dec!(94.99)).drifted);
        let same = at(dec!(100.004));
        assert_eq!(
            (same.fast_path_usd, same.drift_pct),
            (dec!(100), Some(dec!(0)))
        );
    }

    #[test]
    fn zero_metrics_spend_is_no_drift_when_the_fast_path_is_zero_too_and_drift_otherwise() {
        let both_zero = shared(Some(Decimal::ZERO), Decimal::ZERO);
        assert_eq!(both_zero.drift_pct, Some(Decimal::ZERO));
        assert!(!both_zero.drifted);
        // Under a cent on the fast path is zero, as the watcher's figure is to the cent.
        assert!(!shared(Some(dec!(0.004)), Decimal::ZERO).drifted);
        let only_fast = shared(Some(dec!(0.50)), Decimal::ZERO);
        assert_eq!(only_fast.drift_pct, None);
        assert!(only_fast.drifted);
    }

    #[test]
    fn no_counter_yet_is_zero_on_the_fast_path_and_drift_when_metrics_saw_spend() {
        let quiet = shared(None, Decimal::ZERO);
        assert!(!quiet.counter_found);
        assert!(!quiet.drifted);
        let missing = shared(None, dec!(12.5));
        assert!(!missing.counter_found);
        assert_eq!(missing.fast_path_usd, Decimal::ZERO);
        assert_eq!(missing.drift_pct, Some(dec!(-100)));
        assert!(missing.drifted, "logs missing while metrics see spend");
    }

    #[test]
    fn for_a_budget_naming_applications_only_counting_more_than_the_metrics_is_drift() {
        let p = policy();
        let chatbot = &p.budgets["chatbot"];
        let below = reconcile(chatbot, Some(dec!(20)), dec!(100));
        assert!(below.attributed);
        assert_eq!(below.drift_pct, Some(dec!(-80)));
        assert!(
            !below.drifted,
            "the other applications' calls are in the metrics"
        );
        assert!(!reconcile(chatbot, None, dec!(100)).drifted);
        assert!(!reconcile(chatbot, Some(dec!(105)), dec!(100)).drifted);
        assert!(reconcile(chatbot, Some(dec!(105.01)), dec!(100)).drifted);
    }

    struct Counters(BTreeMap<CounterKey, Decimal>, Mutex<Vec<CounterKey>>);

    impl CounterReader for Counters {
        async fn read_totals(
            &self,
            keys: &[CounterKey],
        ) -> Result<BTreeMap<CounterKey, Decimal>, PortError> {
            self.1.lock().unwrap().extend(keys.iter().cloned());
            Ok(keys
                .iter()
                .filter_map(|k| Some((k.clone(), *self.0.get(k)?)))
                .collect())
        }
    }

    #[derive(Default)]
    struct Published(Mutex<Vec<Reconciliation>>);

    impl DriftSink for Published {
        async fn put_drift(&self, r: &[Reconciliation], _: DateTime<Utc>) -> Result<(), PortError> {
            self.0.lock().unwrap().extend(r.iter().cloned());
            Ok(())
        }
    }

    fn spend(name: &str, spent: Decimal, period_start: &str) -> BudgetSpend {
        let start = period_start.parse().unwrap();
        crate::testing::spend::flat_spend(name, dec!(100), spent, start, DateTime::UNIX_EPOCH)
    }

    #[test]
    fn a_run_reads_each_priced_budget_s_counter_of_the_same_period_and_publishes_all() {
        let p = policy();
        let nov = "2026-11-01".parse().unwrap();
        let counters = Counters(
            BTreeMap::from([(
                CounterKey {
                    budget: "bg-shared".into(),
                    period_start: nov,
                },
                dec!(80),
            )]),
            Mutex::default(),
        );
        let sink = Published::default();
        let spends = [
            spend("bg-shared", dec!(100), "2026-11-01"),
            spend("bg-chatbot", dec!(100), "2026-11-01"),
            spend("bg-gone", dec!(1), "2026-11-01"),
        ];
        let out = futures::executor::block_on(reconcile_run(
            &p,
            &spends,
            (&counters, &sink),
            DateTime::UNIX_EPOCH,
        ))
        .unwrap();
        assert_eq!(counters.1.lock().unwrap().len(), 3);
        let by_budget: Vec<(&str, bool, bool)> = out
            .iter()
            .map(|r| (r.budget.as_str(), r.counter_found, r.drifted))
            .collect();
        assert_eq!(
            by_budget,
            [("bg-shared", true, true), ("bg-chatbot", false, false)]
        );
        assert_eq!(out[0].drift_pct, Some(dec!(-20)));
        assert_eq!(*sink.0.lock().unwrap(), out);
    }
}
