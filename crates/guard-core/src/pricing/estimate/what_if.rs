//! `estimate --what-if`: the cost and the saving of moving a share of requests to batch inference,
//! or of reading a share of input from the prompt cache, at catalog prices, for each budget at
//! the top of its routes' ladders.

use super::{EstimateError, cents};
use crate::policy::{BudgetSpec, Policy};
use crate::pricing::catalog::{Catalog, ModelPrice};
use rust_decimal::Decimal;
use serde::Serialize;

/// The shares a what-if moves, in percent (0 to 100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WhatIf {
    /// Share of requests sent as batch inference.
    #[serde(with = "rust_decimal::serde::float_option")]
    pub batch_percent: Option<Decimal>,
    /// Share of each request's input tokens read from the prompt cache.
    #[serde(with = "rust_decimal::serde::float_option")]
    pub cache_hit_percent: Option<Decimal>,
}

impl std::str::FromStr for WhatIf {
    type Err = String;

    /// `batch=30%,cache-hit=60%` (either or both; `%` optional).
    fn from_str(text: &str) -> Result<WhatIf, String> {
        let mut what_if = WhatIf::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| {
                format!("`{part}` is not NAME=PERCENT (batch=30%, cache-hit=60%)")
            })?;
            let percent: Decimal = value
                .trim()
                .trim_end_matches('%')
                .parse()
                .map_err(|_| format!("`{value}` is not a percent"))?;
            if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
                return Err(format!("{name}={value}: a share is 0% to 100%"));
            }
            let slot = match name.trim() {
                "batch" => &mut what_if.batch_percent,
                "cache-hit" => &mut what_if.cache_hit_percent,
                other => {
                    return Err(format!(
                        "`{other}` is not a what-if: give batch=PERCENT, cache-hit=PERCENT or both"
                    ));
                }
            };
            if slot.replace(percent.normalize()).is_some() {
                return Err(format!("`{}` is given twice", name.trim()));
            }
        }
        if what_if == WhatIf::default() {
            return Err("give batch=PERCENT, cache-hit=PERCENT or both".to_owned());
        }
        Ok(what_if)
    }
}

/// One budget's estimate under a what-if.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIfEstimate {
    pub budget: String,
    /// The estimate as the policy stands.
    #[serde(with = "rust_decimal::serde::float")]
    pub estimated: Decimal,
    /// The estimate with the shares moved.
    #[serde(with = "rust_decimal::serde::float")]
    pub what_if: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub saving: Decimal,
}

/// Every budget's estimate under `what_if`. An error when a share goes to batch and a model of a
/// use case has no batch price.
pub fn what_if(policy: &Policy, what_if: &WhatIf) -> Result<Vec<WhatIfEstimate>, EstimateError> {
    let catalog = policy.catalog();
    policy
        .budgets
        .values()
        .map(|b| budget_what_if(policy, &catalog, b, what_if))
        .collect()
}

fn budget_what_if(
    policy: &Policy,
    catalog: &Catalog,
    budget: &BudgetSpec,
    what_if: &WhatIf,
) -> Result<WhatIfEstimate, EstimateError> {
    let share = |p: Option<Decimal>| p.unwrap_or_default() / Decimal::ONE_HUNDRED;
    let (batch, hit) = (
        share(what_if.batch_percent),
        share(what_if.cache_hit_percent),
    );
    let days = Decimal::from(budget.period.nominal_days());
    let (mut now, mut then) = (Decimal::ZERO, Decimal::ZERO);
    for u in &budget.usage {
        let overflow = || EstimateError::Overflow(u.name.clone());
        let (model, rung) = super::use_case_step(policy, u, 1);
        let base = super::use_case_cost(catalog, &model, &rung, u)?;
        let resolved = catalog
            .resolve(&model)
            .ok_or_else(|| EstimateError::UnknownModel(model.clone()))?
            .price;
        // The top step's own tier, as `base` prices it.
        let price = match rung.service_tier {
            None => resolved,
            Some(tier) => resolved
                .in_tier(tier)
                .ok_or_else(|| EstimateError::NoTierPrice {
                    model: model.clone(),
                    tier,
                })?,
        };
        let output = rung
            .max_output_tokens
            .map_or(u.output_tokens, |cap| u.output_tokens.min(u64::from(cap)));
        // The cached share of input, in whole tokens per request.
        let moved = (Decimal::from(u.input_tokens) * hit)
            .round()
            .try_into()
            .unwrap_or(0u64);
        let (input, cache_read) = (u.input_tokens - moved, u.cache_read_tokens + moved);
        let on_demand = price.request_cost(input, output, cache_read, u.cache_write_tokens);
        let per_request = if batch.is_zero() {
            on_demand
        } else {
            let batched = batch_cost(&price, input, output, cache_read, u.cache_write_tokens)
                .ok_or_else(|| EstimateError::NoBatchPrice(model.clone()))?;
            on_demand * (Decimal::ONE - batch) + batched * batch
        };
        let per_period = |cost: Decimal| {
            cost.checked_mul(Decimal::from(u.requests_per_day))
                .and_then(|d| d.checked_mul(days))
                .ok_or_else(overflow)
        };
        now = now.checked_add(per_period(base)?).ok_or_else(overflow)?;
        then = then
            .checked_add(per_period(per_request)?)
            .ok_or_else(overflow)?;
    }
    let (now, then) = (cents(now), cents(then));
    Ok(WhatIfEstimate {
        budget: budget.name.clone(),
        estimated: now,
        what_if: then,
        saving: now - then,
    })
}

/// One request as batch inference: batch input and output prices; cache tokens at the on-demand
/// cache prices. `None` when the model has no batch price.
fn batch_cost(
    price: &ModelPrice,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
) -> Option<Decimal> {
    let batched = ModelPrice {
        input_per_1k: price.batch_input_per_1k?,
        output_per_1k: price.batch_output_per_1k?,
        cache_read_per_1k: Some(price.cache_read_price()),
        cache_write_per_1k: Some(price.cache_write_price()),
        long_context: None,
        ..price.clone()
    };
    Some(batched.cost(input, output, cache_read, cache_write))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parses_the_shares_and_says_what_is_wrong() {
        let parsed: WhatIf = "batch=30%,cache-hit=60%".parse().unwrap();
        assert_eq!(
            (parsed.batch_percent, parsed.cache_hit_percent),
            (Some(dec!(30)), Some(dec!(60)))
        );
        assert_eq!(
            "cache-hit=25".parse::<WhatIf>().unwrap().cache_hit_percent,
            Some(dec!(25))
        );
        for (text, says) in [
            ("batch", "is not NAME=PERCENT"),
            ("batch=lots", "is not a percent"),
            ("batch=130%", "0% to 100%"),
            ("flex=30%", "is not a what-if"),
            ("batch=10%,batch=20%", "given twice"),
            ("", "give batch=PERCENT"),
        ] {
            let error = text.parse::<WhatIf>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
