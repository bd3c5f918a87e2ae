//! What a policy's usage costs: per use case, per budget, and on each lower step of each ladder.
//!
//! Cost of a use case = (input / 1000 x input price + output / 1000 x output price + cache terms)
//! x requests per day x days in the period. The period has its nominal length (30 days a month),
//! as costing guides count. A use case whose prompt is above a model's long-context size is priced
//! at that tier for every token of the request, as Bedrock bills it.

mod what_if;
pub use what_if::{WhatIf, WhatIfEstimate, what_if};

use crate::policy::{BudgetSpec, Policy, StepSpec, ThresholdSpec, UseCaseSpec};
use crate::pricing::catalog::Catalog;
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UseCaseEstimate {
    pub name: String,
    pub route: Option<String>,
    pub model: String,
    #[serde(with = "rust_decimal::serde::float")]
    pub cost_per_request: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub cost_per_day: Decimal,
    /// Cost over the budget's period.
    #[serde(with = "rust_decimal::serde::float")]
    pub cost: Decimal,
}

/// The budget's estimate if one route ran on a lower step of its ladder.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepEstimate {
    pub route: String,
    pub step: usize,
    pub model: String,
    /// How the step calls the model: its service tier, output cap, or `blocked` for `stop`.
    #[serde(flatten)]
    pub rung: StepSpec,
    #[serde(with = "rust_decimal::serde::float")]
    pub estimated: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub share_percent: Decimal,
    /// What the budget saves per period against the top of the ladder.
    #[serde(with = "rust_decimal::serde::float")]
    pub saving: Decimal,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BudgetEstimate {
    pub name: String,
    pub period: crate::period::Period,
    pub days: u32,
    #[serde(with = "rust_decimal::serde::float")]
    pub amount: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub estimated: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub share_percent: Decimal,
    /// The thresholds the estimate reaches, as the policy writes them (`50%`, `$450`).
    pub crosses: Vec<String>,
    pub use_cases: Vec<UseCaseEstimate>,
    pub steps: Vec<StepEstimate>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EstimateError {
    #[error("no price for model `{0}`")]
    UnknownModel(String),
    #[error("no batch price for model `{0}`: a what-if cannot move its requests to batch")]
    NoBatchPrice(String),
    #[error("no {} price for model `{model}`", tier.as_str())]
    NoTierPrice {
        model: String,
        tier: crate::pricing::catalog::ServiceTier,
    },
    /// Only a policy built outside the loader can get here: validation bounds tokens, requests,
    /// prices and amounts so that every figure fits.
    #[error("the cost of use case `{0}` is too large to compute")]
    Overflow(String),
}

/// Cost of one request of a use case on `model`, at the long-context tier when its prompt is above
/// that tier's size.
pub fn cost_per_request(
    catalog: &Catalog,
    model: &str,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
) -> Result<Decimal, EstimateError> {
    let resolved = catalog
        .resolve(model)
        .ok_or_else(|| EstimateError::UnknownModel(model.to_owned()))?;
    Ok(resolved
        .price
        .request_cost(input, output, cache_read, cache_write))
}

/// Cost of one request of a use case on a ladder step of `model`: nothing on `stop`; the tier's
/// prices on a service-tier step; at most `max_output_tokens` of output on a capped step.
pub fn cost_on_step(
    catalog: &Catalog,
    model: &str,
    step: &StepSpec,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
) -> Result<Decimal, EstimateError> {
    if step.blocked {
        return Ok(Decimal::ZERO);
    }
    let resolved = catalog
        .resolve(model)
        .ok_or_else(|| EstimateError::UnknownModel(model.to_owned()))?;
    let price = match step.service_tier {
        None => resolved.price,
        Some(tier) => resolved
            .price
            .in_tier(tier)
            .ok_or_else(|| EstimateError::NoTierPrice {
                model: model.to_owned(),
                tier,
            })?,
    };
    let output = step
        .max_output_tokens
        .map_or(output, |cap| output.min(u64::from(cap)));
    Ok(price.request_cost(input, output, cache_read, cache_write))
}

/// The model and rung a use case runs on at `step` of its route's ladder; a use case without a
/// route runs on its own model, as is.
fn use_case_step(policy: &Policy, u: &UseCaseSpec, step: usize) -> (String, StepSpec) {
    match u.route.as_ref().and_then(|name| policy.routes.get(name)) {
        Some(route) => (route.model_at(step).to_owned(), route.step_at(step)),
        None => (u.model.clone(), StepSpec::default()),
    }
}

/// Cost of one request of a use case on `model` called as `rung`.
fn use_case_cost(
    catalog: &Catalog,
    model: &str,
    rung: &StepSpec,
    u: &UseCaseSpec,
) -> Result<Decimal, EstimateError> {
    cost_on_step(
        catalog,
        model,
        rung,
        u.input_tokens,
        u.output_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens,
    )
}

/// Rounds money for display and comparison: to the cent, half away from zero.
pub fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// `$1,234.56`.
pub fn usd(amount: Decimal) -> String {
    let rounded = cents(amount);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.2}", rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}${grouped}.{frac}", if negative { "-" } else { "" })
}

fn share(part: Decimal, whole: Decimal) -> Decimal {
    match part
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|p| p.checked_div(whole))
    {
        Some(percent) => percent.round_dp(1),
        None => Decimal::ZERO,
    }
}

/// Estimates every budget of the policy.
pub fn estimate(policy: &Policy) -> Result<Vec<BudgetEstimate>, EstimateError> {
    let catalog = policy.catalog();
    policy
        .budgets
        .values()
        .map(|b| estimate_budget(policy, &catalog, b))
        .collect()
}

/// The estimated cost per period of a budget's use cases, with `route` on a lower `step` of its
/// ladder instead of the top when given.
fn budget_cost(
    policy: &Policy,
    catalog: &Catalog,
    budget: &BudgetSpec,
    swap: Option<(&str, usize)>,
) -> Result<(Decimal, Vec<UseCaseEstimate>), EstimateError> {
    let days = Decimal::from(budget.period.nominal_days());
    let mut total = Decimal::ZERO;
    let mut use_cases = Vec::new();
    for u in &budget.usage {
        let step = match (&u.route, swap) {
            (Some(name), Some((swapped, step))) if name == swapped => step,
            _ => 1,
        };
        let (model, rung) = use_case_step(policy, u, step);
        let per_request = use_case_cost(catalog, &model, &rung, u)?;
        let overflow = || EstimateError::Overflow(u.name.clone());
        let per_day = per_request
            .checked_mul(Decimal::from(u.requests_per_day))
            .ok_or_else(overflow)?;
        let cost = per_day.checked_mul(days).ok_or_else(overflow)?;
        total = total.checked_add(cost).ok_or_else(overflow)?;
        use_cases.push(UseCaseEstimate {
            name: u.name.clone(),
            route: u.route.clone(),
            model,
            cost_per_request: per_request.normalize(),
            cost_per_day: per_day.normalize(),
            cost: cents(cost),
        });
    }
    Ok((cents(total), use_cases))
}

fn estimate_budget(
    policy: &Policy,
    catalog: &Catalog,
    budget: &BudgetSpec,
) -> Result<BudgetEstimate, EstimateError> {
    let (estimated, use_cases) = budget_cost(policy, catalog, budget, None)?;
    let mut routes: Vec<&str> = budget
        .usage
        .iter()
        .filter_map(|u| u.route.as_deref())
        .collect();
    routes.dedup();
    let mut steps = Vec::new();
    for route_name in routes {
        let Some(route) = policy.routes.get(route_name) else {
            continue;
        };
        for step in 2..=route.ladder.len() {
            let model = route.model_at(step);
            let (cost, _) = budget_cost(policy, catalog, budget, Some((route_name, step)))?;
            steps.push(StepEstimate {
                route: route_name.to_owned(),
                step,
                model: model.to_owned(),
                rung: route.step_at(step),
                estimated: cost,
                share_percent: share(cost, budget.amount),
                saving: estimated - cost,
            });
        }
    }
    Ok(BudgetEstimate {
        name: budget.name.clone(),
        period: budget.period,
        days: budget.period.nominal_days(),
        amount: budget.amount,
        estimated,
        share_percent: share(estimated, budget.amount),
        crosses: crossed(&budget.thresholds, budget.amount, estimated),
        use_cases,
        steps,
    })
}

/// The thresholds that spend of `spent` reaches. An estimate is a whole period's spend, so it
/// reaches actual and forecasted thresholds alike.
pub fn crossed(thresholds: &[ThresholdSpec], amount: Decimal, spent: Decimal) -> Vec<String> {
    thresholds
        .iter()
        .filter(|t| spent > t.dollars(amount))
        .map(|t| match t.basis {
            crate::spend_basis::SpendBasis::Actual => t.label(),
            crate::spend_basis::SpendBasis::Forecasted => format!("{} forecasted", t.label()),
        })
        .collect()
}

/// How much a route saves per month on ladder step `to` instead of step `from`, over every use
/// case of every budget that the route serves. Used by alert messages.
pub fn monthly_saving(policy: &Policy, route: &str, from: usize, to: usize) -> Option<Decimal> {
    let catalog = policy.catalog();
    let spec = policy.routes.get(route)?;
    let mut saving = Decimal::ZERO;
    let mut any = false;
    for budget in policy.budgets.values() {
        for u in budget
            .usage
            .iter()
            .filter(|u| u.route.as_deref() == Some(route))
        {
            let on = |step: usize| {
                use_case_cost(&catalog, spec.model_at(step), &spec.step_at(step), u).ok()
            };
            let monthly = (on(from)? - on(to)?)
                .checked_mul(Decimal::from(u.requests_per_day))?
                .checked_mul(Decimal::from(30))?;
            saving = saving.checked_add(monthly)?;
            any = true;
        }
    }
    any.then(|| cents(saving))
}
