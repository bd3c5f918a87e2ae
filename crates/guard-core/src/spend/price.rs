//! Token counts priced into a budget's period-to-date spend and its forecast.

use super::WatchConfig;
use super::query::{TokenData, TokenMetric, covers, day_start, window_for};
use crate::period::Period;
use crate::policy::{BudgetSpec, ThresholdSpec};
use crate::pricing::catalog::Catalog;
use crate::pricing::estimate::cents;
use crate::spend_basis::SpendBasis;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
/// Token sums of one model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Tokens {
    pub(super) fn add(&mut self, metric: TokenMetric, n: u64) {
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

    /// What these tokens of `model` cost, or `None` when the catalog has no price for it.
    fn cost(&self, catalog: &Catalog, model: &str) -> Option<Decimal> {
        catalog.resolve(model).map(|r| {
            r.price
                .cost(self.input, self.output, self.cache_read, self.cache_write)
        })
    }
}

/// Each model's tokens priced: the models with tokens, in order, what they cost in all, and the
/// models without a price (counted at zero, and named so that the missing cost is seen).
pub(super) struct PricedModels {
    pub total: Decimal,
    pub by_model: Vec<ModelSpend>,
    pub unpriced: Vec<String>,
}

pub(super) fn price_models(catalog: &Catalog, tokens: &BTreeMap<&str, Tokens>) -> PricedModels {
    let mut priced = PricedModels {
        total: Decimal::ZERO,
        by_model: Vec::new(),
        unpriced: Vec::new(),
    };
    for (&model, t) in tokens.iter().filter(|(_, t)| !t.is_zero()) {
        let cost = t.cost(catalog, model);
        if cost.is_none() {
            priced.unpriced.push(model.to_owned());
        }
        priced.total += cost.unwrap_or_default();
        priced.by_model.push(ModelSpend {
            model_id: model.to_owned(),
            input_tokens: t.input,
            output_tokens: t.output,
            cache_read_tokens: t.cache_read,
            cache_write_tokens: t.cache_write,
            cost: cost.unwrap_or_default(),
            priced: cost.is_some(),
        });
    }
    priced
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
    let PricedModels {
        total: spent,
        by_model,
        unpriced,
    } = price_models(catalog, &period_tokens);
    let recent_cost: Decimal = recent_tokens
        .iter()
        .filter_map(|(m, t)| t.cost(catalog, m))
        .sum();
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
                SpendBasis::Actual => t.label(),
                SpendBasis::Forecasted => format!("{} forecasted", t.label()),
            })
            .collect(),
        observed_at: now,
    }
}

/// Whether spend (or the forecast, for a forecasted threshold) is past the threshold, as AWS
/// Budgets counts it: strictly greater than the threshold in dollars.
pub(super) fn reached(
    t: &ThresholdSpec,
    amount: Decimal,
    spent: Decimal,
    forecast: Decimal,
) -> bool {
    let value = match t.basis {
        SpendBasis::Actual => spent,
        SpendBasis::Forecasted => forecast,
    };
    value > t.dollars(amount)
}
