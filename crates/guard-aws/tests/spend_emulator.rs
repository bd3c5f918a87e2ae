//! The spend watcher's adapters against the local emulator's CloudWatch, SSM and SNS: seeded
//! Bedrock token metrics give the spend to the cent; a burst past 90% publishes one alert, the
//! next run none, the next period starts again; every call made is in the function's IAM needs.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use guard_aws::cloudwatch::{CloudWatchEstimates, CloudWatchTokenMetrics};
use guard_aws::sns::SnsSpendAlerts;
use guard_aws::ssm::spend_state::{SsmSpendState, parameter_name};
use guard_core::policy::Policy;
use guard_core::spend::{
    WatchConfig, price::budget_spend, query::TokenData, query::TokenMetric, query::plan_queries,
    query::watched, run::WatchMemory, run::run_once,
};
use guard_testkit::Emulator;
use rust_decimal_macros::dec;

const SONNET_US: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA_US: &str = "us.amazon.nova-lite-v1:0";

const POLICY: &str = r#"
version: 1
budgets:
  chatbot:
    amount: 500
    period: monthly
    watch: true
    scope:
      models:
        - us.anthropic.claude-sonnet-4-5-20250929-v1:0
        - us.amazon.nova-lite-v1:0
    thresholds:
      - at: 50%
      - at: 90%
      - at: 100%
"#;

fn policy() -> Policy {
    guard_core::testing::policy::checked(POLICY)
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

async fn seed(aws: &Emulator, when: DateTime<Utc>, model: &str, metric: TokenMetric, tokens: f64) {
    aws.put_bedrock_metrics(model, &[(metric.name(), tokens)], when)
        .await
        .expect("seed a data point");
}

#[tokio::test]
async fn seeded_token_counts_give_the_spend_to_the_cent() {
    let aws = Emulator::start().expect("emulator");
    let config = aws.sdk_config().await;
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    // Points in several hours, one of them two points in one hour, one in October (not counted).
    seed(
        &aws,
        at(2026, 11, 2, 3, 10),
        SONNET_US,
        TokenMetric::Input,
        1_000_000.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 11, 9, 5, 1),
        SONNET_US,
        TokenMetric::Input,
        200_000.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 11, 9, 5, 59),
        SONNET_US,
        TokenMetric::Input,
        34_567.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 11, 3, 0, 0),
        SONNET_US,
        TokenMetric::Output,
        345_678.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 11, 4, 0, 0),
        SONNET_US,
        TokenMetric::CacheRead,
        2_000_000.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 11, 4, 0, 0),
        SONNET_US,
        TokenMetric::CacheWrite,
        100_000.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 11, 5, 0, 0),
        NOVA_US,
        TokenMetric::Input,
        10_000_000.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 11, 5, 0, 0),
        NOVA_US,
        TokenMetric::Output,
        5_000_000.0,
    )
    .await;
    seed(
        &aws,
        at(2026, 10, 30, 0, 0),
        NOVA_US,
        TokenMetric::Output,
        9_000_000.0,
    )
    .await;

    let policy = policy();
    let now = at(2026, 11, 10, 12, 0);
    let watch = WatchConfig::default();
    let metrics = CloudWatchTokenMetrics::new(cw.clone());
    let discovered = metrics.list_series().await.expect("ListMetrics");
    assert!(
        discovered.contains(&guard_core::spend::query::SeriesKey::new(
            SONNET_US,
            TokenMetric::CacheRead
        ))
    );
    let budgets = watched(&policy);
    let calls = plan_queries(&budgets, Some(&discovered), now, &watch);
    // Two models: their input and output, and Sonnet's two cache metrics: 6 metrics, one call.
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].queries.len(), 6);
    let mut data = TokenData::default();
    for call in &calls {
        data.add(
            call.window,
            metrics.read(call).await.expect("GetMetricData"),
        );
    }
    let spend = budget_spend(budgets[0], &policy.catalog(), &data, now, &watch);
    // 1.234567 x 3.30 + 0.345678 x 16.50 + 2 x 0.33 + 0.1 x 4.125 + 10 x 0.06 + 5 x 0.24 = 12.6502581
    assert_eq!(spend.spent, dec!(12.65));
    assert!(
        spend.by_model.iter().any(|m| m.model_id == SONNET_US
            && (m.input_tokens, m.output_tokens) == (1_234_567, 345_678)),
        "{:?}",
        spend.by_model
    );
}

#[tokio::test]
async fn a_burst_past_90_percent_publishes_one_alert_once_per_period() {
    let aws = Emulator::start().expect("emulator");
    let config = aws.sdk_config().await;
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = aws.create_topic("budget-guard-alerts").await.unwrap();
    let policy = policy();
    let catalog = policy.catalog();
    let watch = WatchConfig::default();
    let metrics = CloudWatchTokenMetrics::new(cw.clone());
    let state = SsmSpendState::new(
        aws_sdk_ssm::Client::new(&config),
        policy.settings.spend_watcher_state_path(),
    );
    let alerts = SnsSpendAlerts::new(sns.clone(), topic.clone());
    let estimates = CloudWatchEstimates::new(cw.clone(), "BudgetGuard");
    let ports = (&metrics, &state, &alerts, &estimates);

    // $264 of us. Sonnet output ($16.50 per 1M): past 50%.
    seed(
        &aws,
        at(2026, 11, 5, 10, 0),
        SONNET_US,
        TokenMetric::Output,
        16_000_000.0,
    )
    .await;
    let mut memory = WatchMemory::default();
    aws.reset_calls();
    let report = run_once(
        &policy,
        &catalog,
        ports,
        at(2026, 11, 12, 6, 0),
        &watch,
        &mut memory,
    )
    .await
    .unwrap();
    assert_eq!(
        report
            .alerts
            .iter()
            .map(|a| a.threshold)
            .collect::<Vec<_>>(),
        [dec!(250)]
    );
    // Every call the watcher made is in its IAM needs.
    common::assert_calls_listed("spend-watcher", &aws.calls());

    // A burst: +$198 in an hour, $462 in all: past 90%, not 100%. One alert.
    seed(
        &aws,
        at(2026, 11, 12, 6, 5),
        SONNET_US,
        TokenMetric::Output,
        12_000_000.0,
    )
    .await;
    let report = run_once(
        &policy,
        &catalog,
        ports,
        at(2026, 11, 12, 6, 10),
        &watch,
        &mut memory,
    )
    .await
    .unwrap();
    // $186 from the next threshold, far at the budget's pace: not due before 06:12, nothing read.
    assert!(report.refreshed.is_empty());
    assert_eq!(report.metrics_requested, 0);
    let report = run_once(
        &policy,
        &catalog,
        ports,
        at(2026, 11, 12, 6, 12),
        &watch,
        &mut memory,
    )
    .await
    .unwrap();
    assert_eq!(report.refreshed[0].spent, dec!(462));
    assert_eq!(report.alerts.len(), 1);
    let published = aws.sns_published(&topic).await.unwrap();
    assert_eq!(published.len(), 2);
    let alert = match guard_core::alerts::parse::parse_message(&published[1].message).unwrap() {
        guard_core::alerts::parse::Alert::Spend(a) => a,
        other => panic!("not a spend alert: {other:?}"),
    };
    assert_eq!(
        (alert.budget_name.as_str(), alert.threshold, alert.amount),
        ("bg-chatbot", dec!(450), dec!(462))
    );
    assert_eq!(
        alert.alert_type,
        guard_core::spend_basis::SpendBasis::Actual
    );

    // The next run, even from a cold start, publishes nothing.
    let mut cold = WatchMemory::default();
    let report = run_once(
        &policy,
        &catalog,
        ports,
        at(2026, 11, 12, 6, 13),
        &watch,
        &mut cold,
    )
    .await
    .unwrap();
    assert!(report.alerts.is_empty());
    assert_eq!(aws.sns_published(&topic).await.unwrap().len(), 2);
    let ssm = aws_sdk_ssm::Client::new(&config);
    let name = parameter_name(&policy.settings.spend_watcher_state_path(), "bg-chatbot");
    assert_eq!(name, "/budget-guard/state/spend/bg-chatbot");
    let saved = ssm
        .get_parameter()
        .name(&name)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap()
        .value
        .unwrap();
    assert!(
        saved.contains("ACTUAL>90%") && saved.contains("2026-11-01"),
        "{saved}"
    );

    // December starts fresh: the same burst alerts at 50% and 90% again.
    seed(
        &aws,
        at(2026, 12, 1, 0, 5),
        SONNET_US,
        TokenMetric::Output,
        28_000_000.0,
    )
    .await;
    let report = run_once(
        &policy,
        &catalog,
        ports,
        at(2026, 12, 1, 0, 30),
        &watch,
        &mut cold,
    )
    .await
    .unwrap();
    let mut thresholds: Vec<_> = report
        .alerts
        .iter()
        .map(|a| (a.threshold, a.period_start.to_string()))
        .collect();
    thresholds.sort();
    assert_eq!(
        thresholds,
        [
            (dec!(250), "2026-12-01".to_owned()),
            (dec!(450), "2026-12-01".to_owned())
        ]
    );
    assert_eq!(aws.sns_published(&topic).await.unwrap().len(), 4);

    // The estimate is in the guard's namespace for the dashboard.
    let state = aws.state().await.unwrap();
    let text = state.to_string();
    assert!(
        text.contains("EstimatedSpend"),
        "no EstimatedSpend datum in the emulator"
    );
}
