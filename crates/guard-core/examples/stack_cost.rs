//! What the deployed guard costs to run a month, per item, from the same simulated month as
//! `spend_cost` (no AWS): README's table, for the example policy and for 20 budgets on 20 models.
//!
//! `cargo run --release -p guard-core --example stack_cost`

#[path = "../tests/support/spend_sim.rs"]
mod sim;

use guard_core::policy::Policy;
use guard_core::pricing::running_cost::{StackFixed, StackPrices, StackShape, stack_cost};
use guard_core::spend::{WatchConfig, cost::WatcherCost, query::watched};
use rust_decimal::Decimal;
use sim::{load_policy, model_ids, spread_budgets, steady_month, steady_traffic};
use std::collections::BTreeSet;

/// The stack's fixed parts, as `cdk/lib` declares them: the alerts, notify and alarms topics'
/// keys; the alarms (three function errors, dead-letter queue depth, spend-watcher heartbeat,
/// alert-handler throttles and event age, prices changed).
const STACK: StackFixed = StackFixed {
    kms_keys: 3,
    alarms: 8,
    alerts_per_month: 40,
};

fn main() {
    let prices = StackPrices::default();
    println!(
        "Budget Guard: what the stack costs to run a month (us-east-1 list prices, 30 days)\n"
    );

    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/example.yaml"),
    )
    .expect("policies/example.yaml");
    let policy = load_policy(&example);
    let shape = StackShape::of(&policy, STACK);
    let watcher = watcher_month(&policy);
    println!(
        "## policies/example.yaml: {} watched budgets, {} routes, {} Slack secrets\n",
        shape.watched_budgets, shape.routes, shape.slack_secrets
    );
    println!("{}", stack_cost(&shape, &watcher, &prices).to_markdown());

    // The spend_cost example's month: budgets from 40% to 230% of the traffic's cost, so that
    // every threshold is crossed by some of them and the watcher's figures are the same.
    let models = model_ids(20);
    let policy = spread_budgets(&models, &steady_traffic(models.iter().cloned()));
    // One route per budget and one Slack channel, as a team with 20 applications might have.
    let shape = StackShape {
        routes: 20,
        slack_secrets: 1,
        ..StackShape::of(&policy, STACK)
    };
    let watcher = watcher_month(&policy);
    println!("## 20 budgets on 20 models, 20 routes, 1 Slack secret\n");
    println!("{}", stack_cost(&shape, &watcher, &prices).to_markdown());
}

/// A simulated month of the spend watcher on the policy's watched models: each at 1,000 input
/// and 250 output tokens a minute, which takes some budgets past their thresholds.
fn watcher_month(policy: &Policy) -> WatcherCost {
    let models: BTreeSet<String> = watched(policy)
        .iter()
        .flat_map(|b| b.scope.models.iter().cloned())
        .collect();
    let outcome = steady_month(policy, &steady_traffic(models), &WatchConfig::default());
    let mut cost = outcome.cost.clone();
    // Lambda at 256 MB: a run that reads ~300 ms, a run with nothing due ~20 ms.
    let reads = Decimal::from(outcome.refresh_runs);
    let idle = Decimal::from(outcome.runs - outcome.refresh_runs);
    cost.gb_seconds =
        (reads * Decimal::new(3, 1) + idle * Decimal::new(2, 2)) * Decimal::new(25, 2);
    cost.priced(&StackPrices::default().watcher)
}
