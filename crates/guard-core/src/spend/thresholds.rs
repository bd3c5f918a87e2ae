//! Which thresholds a budget's spend has crossed, and which alerts that calls for.

use super::price::{BudgetSpend, reached};
use crate::alerts::parse::spend_alert::SpendAlert;
use crate::policy::{BudgetSpec, ThresholdSpec};
use crate::spend_basis::SpendBasis;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The `source` of the watcher's alerts.
pub const ALERT_SOURCE: &str = "spend-watcher";

/// A threshold's stable name in the state: `ACTUAL>90%`, `FORECASTED>$450`.
pub fn threshold_id(t: &ThresholdSpec) -> String {
    format!("{}>{}", t.basis.as_api(), t.label())
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
                SpendBasis::Actual => (SpendBasis::Actual, spend.spent),
                SpendBasis::Forecasted => (SpendBasis::Forecasted, spend.forecast),
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
