//! Benchmark (figures, not a timed test): apply 500 budgets to the local emulator, re-apply with
//! a quick read (budgets and notifications) and with a full one (every subscriber too), then
//! change every amount, printing the API calls and the wall time of each run.
//!
//! ```text
//! scripts/emulator.sh setup        # once: the Python venv with moto
//! cargo run --release -p guard-aws --example provision_bench [BUDGETS] [CONCURRENCY]
//! ```

use guard_aws::budgets::BudgetsAdapter;
use guard_aws::sns::SnsSubscriptions;
use guard_core::policy::Policy;
use guard_core::provision::account::desired;
use guard_core::provision::apply::{ApplyOptions, apply};
use guard_core::provision::live::read_live;
use guard_core::provision::plan::plan;
use guard_core::provision::ports::ReadDepth;
use guard_testkit::{ACCOUNT_ID, Emulator, workspace_root};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(500);
    let concurrency: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(guard_core::provision::apply::DEFAULT_CONCURRENCY);

    let (example, _) =
        guard_aws::policy_files::load_policy(&[workspace_root().join("policies/example.yaml")])?;
    let mut policy = guard_core::testing::policy::copies_of_budget(&example, "chatbot", count);
    let template = &example.budgets["chatbot"];

    let aws = Emulator::start()?;
    let config = aws.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let alerts = aws.create_topic("alerts").await?;
    let notify = aws.create_topic("notify").await?;
    let budgets = BudgetsAdapter::from_sdk_config(&config, ACCOUNT_ID);
    let subscriptions = SnsSubscriptions::new(sns, notify);
    let options = ApplyOptions {
        concurrency,
        ..ApplyOptions::new(policy.settings.budget_prefix.clone(), "BudgetGuard")
    };
    let ownership = guard_core::provision::ownership::Ownership::new(options.owner.clone());
    println!(
        "{count} budgets x {} notifications, write concurrency {concurrency}, read concurrency {}",
        template.thresholds.len(),
        guard_aws::budgets::DEFAULT_READ_CONCURRENCY
    );
    println!(
        "{:<22} {:>8} {:>8} {:>9} {:>9}  calls",
        "run", "changes", "reads", "writes", "seconds"
    );

    let run = |label: &'static str, policy: Policy, depth: ReadDepth| {
        let (aws, budgets, subscriptions, options, alerts, ownership) = (
            &aws,
            &budgets,
            &subscriptions,
            &options,
            &alerts,
            &ownership,
        );
        async move {
            aws.reset_calls();
            let started = Instant::now();
            let want = desired(&policy, alerts);
            let live =
                read_live(budgets, Some(subscriptions), &options.prefix, &want, depth).await?;
            let plan = guard_core::provision::ownership::claim(
                plan(&want, &live),
                &want,
                &live,
                budgets,
                ownership,
                &options.prefix,
            )
            .await?;
            let report = apply(&plan, budgets, subscriptions, options, |_| {}).await;
            let seconds = started.elapsed().as_secs_f64();
            assert!(report.is_success(), "{report}");
            let calls = aws.calls();
            let writes = aws.write_calls().len();
            let mut by_action: BTreeMap<String, usize> = BTreeMap::new();
            for (_, action) in &calls {
                *by_action.entry(action.clone()).or_default() += 1;
            }
            let detail: Vec<String> = by_action.iter().map(|(a, n)| format!("{a} {n}")).collect();
            println!(
                "{label:<22} {:>8} {:>8} {writes:>9} {seconds:>9.2}  {}",
                plan.changes.len(),
                calls.len() - writes,
                detail.join(", ")
            );
            Ok::<_, Box<dyn std::error::Error>>(())
        }
    };
    run("apply (empty account)", policy.clone(), ReadDepth::Quick).await?;
    run("re-apply, quick read", policy.clone(), ReadDepth::Quick).await?;
    run("re-apply, full read", policy.clone(), ReadDepth::Full).await?;
    for budget in policy.budgets.values_mut() {
        budget.amount += Decimal::ONE;
    }
    run("every amount changed", policy.clone(), ReadDepth::Quick).await?;
    Ok(())
}
