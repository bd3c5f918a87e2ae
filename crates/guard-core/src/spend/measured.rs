//! Usage measured from the token metrics, projected over a budget's period (`estimate --from-metrics`).

use super::price::{ModelSpend, PricedModels, Tokens, price_models};
use super::query::{TokenData, Window, covers};
use crate::policy::BudgetSpec;
use crate::pricing::catalog::Catalog;
use crate::pricing::estimate::cents;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
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
    let PricedModels {
        total: measured,
        by_model,
        unpriced,
    } = price_models(catalog, &totals);
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
        crosses: crate::pricing::estimate::crossed(&budget.thresholds, budget.amount, projected),
        by_model,
        unpriced,
    }
}
