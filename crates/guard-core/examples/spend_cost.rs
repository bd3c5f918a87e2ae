//! Figures of the spend watcher, from simulated time (no AWS): the API calls of one run, what a
//! month of runs costs, and how long from overspending to the alert.
//!
//! `cargo run --release -p guard-core --example spend_cost`

#[path = "../tests/support/spend_sim.rs"]
mod sim;

use chrono::Duration;
use guard_core::spend::{
    WatchConfig, cost::WatcherPrices, query::SeriesKey, query::TokenMetric,
    query::metrics_requested, query::plan_queries, query::watched,
};
use rust_decimal::Decimal;
use sim::{
    at, burst_start, load_policy, model_ids, policy_yaml, runaway_burst, spread_budgets,
    steady_month, steady_traffic,
};
use std::collections::BTreeSet;

fn main() {
    let prices = WatcherPrices::default();
    let config = WatchConfig::default();
    println!("Budget Guard spend watcher: figures from simulated time\n");
    println!(
        "prices: GetMetricData ${} per 1,000 metrics requested; PutMetricData/ListMetrics ${} per 1,000 requests; \
         Lambda ${} per 1M requests and ${} per GB-s (arm64); SSM standard parameters free\n",
        prices.get_metric_data_per_1k_metrics,
        prices.api_per_1k_requests,
        prices.lambda_per_1m_requests,
        prices.lambda_per_gb_second
    );

    // 1. One run that reads everything: 50 models, 20 budgets over all of them.
    let models = model_ids(50);
    let amounts: Vec<Decimal> = (0..20).map(|i| Decimal::from(100 + 50 * i)).collect();
    let policy = load_policy(&policy_yaml(&models, &amounts));
    let budgets = watched(&policy);
    // What ListMetrics finds: input and output of every model, cache metrics of the Claude ones.
    let discovered: BTreeSet<SeriesKey> = models
        .iter()
        .flat_map(|m| {
            let cache = m.contains("anthropic.");
            TokenMetric::ALL
                .into_iter()
                .filter(move |t| cache || matches!(t, TokenMetric::Input | TokenMetric::Output))
                .map(move |t| SeriesKey::new(m.clone(), t))
        })
        .collect();
    let now = at(2026, 11, 20, 12, 0);
    let calls = plan_queries(&budgets, Some(&discovered), now, &config);
    let metrics = metrics_requested(&calls);
    // ListMetrics of AWS/Bedrock with a ModelId dimension: ~10 metric names per model, 500 a page.
    let list_pages = (models.len() * 10).div_ceil(500);
    println!("one run that reads all budgets (50 models, 20 budgets over all of them):");
    println!(
        "  ListMetrics: {list_pages} request(s); GetMetricData: {} call(s), {metrics} metrics requested \
         (one query per model and token metric, shared by the budgets; at most 500 queries and 100,800 points a call); \
         PutMetricData: 1 request (20 budgets); SSM GetParameter: 20; SSM PutParameter and SNS Publish: only when a threshold is crossed",
        calls.len()
    );
    println!(
        "  reading all of them every minute would cost ${:.2} a month in GetMetricData alone\n",
        Decimal::from(metrics as u64 * 43_200) / Decimal::ONE_THOUSAND
            * prices.get_metric_data_per_1k_metrics
    );

    // 2. A month of runs every minute: 20 models, 20 budgets, traffic at a steady rate that takes
    // the budgets from 40% to 230% of their amount (so every threshold is crossed by some of them).
    let models = model_ids(20);
    let per_minute = steady_traffic(models.iter().cloned());
    let policy = spread_budgets(&models, &per_minute);
    let outcome = steady_month(&policy, &per_minute, &config);
    let mut cost = outcome.cost.clone();
    // Lambda: 128 MB; a run that reads ~300 ms, a run with nothing due ~20 ms.
    let reads = Decimal::from(outcome.refresh_runs);
    let idle = Decimal::from(outcome.runs - outcome.refresh_runs);
    cost.gb_seconds =
        (reads * Decimal::new(3, 1) + idle * Decimal::new(2, 2)) * Decimal::new(125, 3);
    let cost = cost.priced(&prices);
    println!(
        "a month (November, 30 days) of runs every minute, 20 models (input and output each), 20 budgets:"
    );
    println!(
        "  runs {}; runs that read metrics {}; GetMetricData calls {}; metrics requested {}; ListMetrics {}; PutMetricData {}; SSM calls {}; alerts {}",
        cost.runs,
        outcome.refresh_runs,
        cost.get_metric_data_calls,
        cost.metrics_requested,
        cost.list_metrics_calls,
        cost.put_metric_data_calls,
        cost.ssm_calls,
        cost.sns_publishes
    );
    println!(
        "  cost: GetMetricData ${} + ListMetrics/PutMetricData ${} + Lambda ${} = ${} a month",
        cost.get_metric_data_usd, cost.other_api_usd, cost.lambda_usd, cost.total_usd
    );
    let with_cache = cents(
        Decimal::from(cost.metrics_requested * 2) / Decimal::ONE_THOUSAND
            * prices.get_metric_data_per_1k_metrics,
    ) + cost.other_api_usd
        + cost.lambda_usd;
    println!("  with prompt caching on every model (four metrics each): ${with_cache} a month\n");

    // 3. Delay: a runaway burst on the example's chatbot budget.
    let policy = load_policy(&guard_testkit::policy_fixture("watched-chatbot"));
    let burst = burst_start();
    let outcome = runaway_burst(&policy, &config);
    println!(
        "delay: $500/month budget at 71% of its pace, then a 50x burst from {burst}; token metrics visible 2 minutes after their minute starts:"
    );
    for ((_, dollars), crossed) in &outcome.true_crossings {
        let alert = outcome
            .alerts
            .iter()
            .find(|(_, a)| a.threshold == *dollars)
            .map(|(t, _)| *t);
        if let Some(alert) = alert {
            let first_minute = *crossed - Duration::minutes(1);
            println!(
                "  ${dollars}: first overspending minute {first_minute}, alert published {alert}: {} minutes",
                (alert - first_minute).num_minutes()
            );
        }
    }
    println!(
        "  the alert handler then changes the flag on the SNS delivery (seconds); AWS Budgets: data \"updated up to three times a day\", alerts 8 to 12 hours after the spend"
    );
}

fn cents(d: Decimal) -> Decimal {
    guard_core::pricing::estimate::cents(d)
}
