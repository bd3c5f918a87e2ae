//! A route's ladder: what each step is (a model, a model on a service tier or with an output cap,
//! `stop` last), that cost falls from step to step at the route's usage, and that the budgets
//! which step a route down still see its spend on the lower steps.

use super::routes::{check_lifecycle, check_model_id_length, unpriced_model};
use super::{Ctx, Origin, key};
use crate::policy::codes;
use crate::policy::model::{BudgetSpec, RouteSpec, StepSpec};
use crate::policy::raw::{LadderStep, STOP_STEP};
use crate::policy::yaml_tree::Seg;
use crate::pricing::catalog::{Catalog, ServiceTier};
use crate::pricing::estimate::cost_on_step;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashSet};

/// Checks each step of `name`'s ladder on its own, and gives each step's model id (a `stop`
/// repeats the one above) and how it calls it.
pub(super) fn check_steps(
    ctx: &mut Ctx<'_>,
    origin: &Origin,
    name: &str,
    ladder: &[LadderStep],
    catalog: &Catalog,
) -> (Vec<String>, Vec<StepSpec>) {
    let mut models: Vec<String> = Vec::new();
    let mut steps = Vec::new();
    let mut seen = HashSet::new();
    for (i, step) in ladder.iter().enumerate() {
        let at = origin.join([key("ladder"), Seg::Index(i)]);
        let (model, tier, cap, model_at) = match step {
            LadderStep::Model(m) if m == STOP_STEP => {
                if i == 0 {
                    ctx.error(
                        codes::LADDER_STARTS_WITH_STOP,
                        &at,
                        format!("the ladder of `{name}` starts with `stop`"),
                        "the first step is the model the route calls; `stop` can only be the last step",
                    );
                } else if i + 1 != ladder.len() {
                    ctx.error(
                        codes::STOP_NOT_LAST,
                        &at,
                        format!("`stop` is step {} of `{name}`, not its last", i + 1),
                        "`stop` blocks the route, so no step below it is ever reached; put it last",
                    );
                }
                models.push(models.last().cloned().unwrap_or_default());
                steps.push(StepSpec {
                    blocked: true,
                    ..StepSpec::default()
                });
                continue;
            }
            LadderStep::Model(m) => (m, None, None, at.clone()),
            LadderStep::Rung(r) => (
                &r.model,
                r.service_tier,
                r.max_output_tokens,
                at.join([key("model")]),
            ),
        };
        models.push(model.clone());
        steps.push(StepSpec {
            service_tier: tier,
            max_output_tokens: cap,
            blocked: false,
        });
        if cap == Some(0) {
            ctx.error(
                codes::ZERO_OUTPUT_CAP,
                &at.join([key("max_output_tokens")]),
                format!("step {} of `{name}` caps output at 0 tokens", i + 1),
                "a cap is 1 token or more; to block the route, make the last step `stop`",
            );
        }
        if !seen.insert((model.clone(), tier, cap)) {
            ctx.error(
                codes::REPEATED_STEP,
                &at,
                format!("step {} of `{name}` repeats a step above it", i + 1),
                "each step is a different model, or the same model on another tier or with another cap",
            );
            continue;
        }
        if check_model_id_length(ctx, &model_at, model, false) {
            continue;
        }
        let Some(resolved) = catalog.resolve(model) else {
            unpriced_model(ctx, &model_at, model, catalog);
            continue;
        };
        check_lifecycle(ctx, &model_at, model, &resolved.price);
        if let Some(tier) = tier
            && resolved.price.in_tier(tier).is_none()
        {
            ctx.error(
                codes::NO_TIER_PRICE,
                &at.join([key("service_tier")]),
                format!("`{model}` has no {} price", tier.as_str()),
                tier_help(tier, catalog),
            );
        }
    }
    (models, steps)
}

fn tier_help(tier: ServiceTier, catalog: &Catalog) -> String {
    let offered: Vec<&str> = catalog
        .entries()
        .filter(|p| p.tiers.contains_key(&tier))
        .map(|p| p.model_id.as_str())
        .collect();
    if offered.is_empty() {
        format!("no model of the catalog has a {} price", tier.as_str())
    } else {
        format!(
            "Bedrock publishes {} prices for: {}",
            tier.as_str(),
            offered.join(", ")
        )
    }
}

/// A request of 1,000 input and 1,000 output tokens: what a step costs when no use case says the
/// route's usage.
const TYPICAL: (u64, u64, u64, u64, u64) = (1_000, 1_000, 0, 0, 1);

/// Each step must cost less than the one above it at the route's usage: its use cases' requests
/// of a day, or a request of 1,000 input and 1,000 output tokens when it has none.
pub(super) fn check_costs(
    ctx: &mut Ctx<'_>,
    origins: &BTreeMap<&str, &Origin>,
    routes: &BTreeMap<String, RouteSpec>,
    budgets: &BTreeMap<String, BudgetSpec>,
    catalog: &Catalog,
) {
    for (name, route) in routes {
        let Some(origin) = origins.get(name.as_str()) else {
            continue;
        };
        let usage: Vec<(u64, u64, u64, u64, u64)> = budgets
            .values()
            .flat_map(|b| b.usage.iter())
            .filter(|u| u.route.as_deref() == Some(name.as_str()))
            .map(|u| {
                (
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_read_tokens,
                    u.cache_write_tokens,
                    u.requests_per_day,
                )
            })
            .collect();
        let (usage, at_usage) = if usage.is_empty() {
            (vec![TYPICAL], false)
        } else {
            (usage, true)
        };
        let cost = |step: usize| -> Option<Decimal> {
            let spec = route.step_at(step);
            let model = route.model_at(step);
            usage
                .iter()
                .try_fold(Decimal::ZERO, |sum, (i, o, r, w, n)| {
                    let one = cost_on_step(catalog, model, &spec, *i, *o, *r, *w).ok()?;
                    sum.checked_add(one.checked_mul(Decimal::from(*n))?)
                })
        };
        let mut above: Option<(usize, Decimal)> = None;
        for step in 1..=route.ladder.len() {
            if route.step_at(step).blocked {
                // `stop` costs nothing; out of place, it is reported where the step is checked.
                above = None;
                continue;
            }
            let Some(here) = cost(step) else {
                // Unpriced: reported where the step is checked.
                above = None;
                continue;
            };
            if let Some((above_step, above_cost)) = above
                && here >= above_cost
            {
                let at = origin.join([key("ladder"), Seg::Index(step - 1)]);
                ctx.error(
                    codes::STEP_NOT_CHEAPER,
                    &at,
                    format!("step {step} of `{name}` is not cheaper than step {above_step}"),
                    cost_help(route, step, above_step, here, above_cost, at_usage),
                );
            }
            above = Some((step, here));
        }
    }
}

fn describe(route: &RouteSpec, step: usize) -> String {
    let spec = route.step_at(step);
    let mut text = format!("`{}`", route.model_at(step));
    if let Some(tier) = spec.service_tier {
        text.push_str(&format!(" on {}", tier.as_str()));
    }
    if let Some(cap) = spec.max_output_tokens {
        text.push_str(&format!(" capped at {cap} output tokens"));
    }
    text
}

fn cost_help(
    route: &RouteSpec,
    step: usize,
    above: usize,
    here: Decimal,
    above_cost: Decimal,
    at_usage: bool,
) -> String {
    let (here, above_cost) = (here.normalize(), above_cost.normalize());
    let mut help = if at_usage {
        format!(
            "at the route's usage {} costs ${here} a day, {} above it ${above_cost}",
            describe(route, step),
            describe(route, above)
        )
    } else {
        format!(
            "{} costs ${here} per 1K input + 1K output tokens, {} above it ${above_cost}",
            describe(route, step),
            describe(route, above)
        )
    };
    if route.step_at(step).max_output_tokens.is_some() {
        help.push_str("; a cap saves only where requests write more output than it, so lower it or drop the step");
    } else {
        help.push_str("; order the ladder from the most capable to the cheapest");
    }
    help
}

/// A budget that steps a route down should still count the route's spend after the step: its
/// scope should cover the models of the steps it can reach. Warns for each uncovered model.
pub(super) fn check_scopes_follow(
    ctx: &mut Ctx<'_>,
    origins: &BTreeMap<&str, &Origin>,
    routes: &BTreeMap<String, RouteSpec>,
    budgets: &BTreeMap<String, BudgetSpec>,
) {
    for (budget_name, budget) in budgets {
        if budget.scope.models.is_empty() {
            continue;
        }
        let covered = |model: &str| budget.scope.models.iter().any(|m| m == model);
        let Some(origin) = origins.get(budget_name.as_str()) else {
            continue;
        };
        let mut told = HashSet::new();
        for downgrade in budget
            .thresholds
            .iter()
            .filter_map(|t| t.downgrade.as_ref())
        {
            let Some(route) = routes.get(&downgrade.route) else {
                continue;
            };
            for step in 2..=downgrade.to_step.min(route.ladder.len()) {
                let model = route.model_at(step);
                if route.step_at(step).blocked || covered(model) || !told.insert(model) {
                    continue;
                }
                ctx.warning(
                    codes::SCOPE_MISSES_DOWNGRADE,
                    &origin.join([key("scope"), key("models")]),
                    format!(
                        "budget `{budget_name}` steps route `{}` down to `{model}`, which its scope does not cover",
                        route.name
                    ),
                    format!(
                        "once the route runs on `{model}`, neither AWS Budgets nor the spend watcher counts its spend in this budget, so its later thresholds cannot fire; add `{model}` to `scope.models`"
                    ),
                );
            }
        }
    }
}
