//! The spend watcher's pure domain: which series, the query plan within GetMetricData's limits,
//! spend to the cent, forecasts, threshold decisions once per period, unpriced models, schedules.

#[path = "support/spend_sim.rs"]
mod sim;

use chrono::Duration;
use guard_core::spend::{WatchConfig, price::*, query::*, run::*, thresholds::*};
use guard_core::spend_basis::SpendBasis;
use guard_testkit::policy_fixture;
use rust_decimal_macros::dec;
use sim::{at, block_on, load_policy};
use std::collections::BTreeSet;

const SONNET_US: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA_US: &str = "us.amazon.nova-lite-v1:0";
const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";

fn points(
    model: &str,
    metric: TokenMetric,
    pts: &[(chrono::DateTime<chrono::Utc>, f64)],
) -> SeriesPoints {
    SeriesPoints {
        series: SeriesKey::new(model, metric),
        points: pts.to_vec(),
    }
}

#[test]
fn profile_variants_of_a_scope_model_count_arns_only_when_listed() {
    let scope = vec![SONNET_US.to_owned(), ARN.to_owned()];
    assert!(covers(&scope, SONNET_US));
    assert!(covers(
        &scope,
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    ));
    assert!(covers(&scope, "anthropic.claude-sonnet-4-5-20250929-v1:0"));
    assert!(covers(&scope, ARN));
    assert!(!covers(
        &scope,
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    ));
    assert!(!covers(
        &scope,
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/other"
    ));
}

#[test]
fn only_watched_budgets_and_cache_series_that_exist() {
    let policy = load_policy(&policy_fixture("watched-chatbot"));
    let budgets = watched(&policy);
    assert_eq!(
        budgets.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(),
        ["bg-chatbot"]
    );
    // Without discovery: all four metrics of both scope models.
    assert_eq!(series_for(&budgets, None).len(), 8);
    // With it: input and output always, cache only where published, other variants added.
    let discovered: BTreeSet<SeriesKey> = [
        SeriesKey::new(SONNET_US, TokenMetric::CacheRead),
        SeriesKey::new(
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            TokenMetric::Input,
        ),
        SeriesKey::new("meta.llama3-8b-instruct-v1:0", TokenMetric::Input),
    ]
    .into();
    let series = series_for(&budgets, Some(&discovered));
    assert_eq!(series.len(), 6, "{series:#?}");
    assert!(series.contains(&SeriesKey::new(SONNET_US, TokenMetric::CacheRead)));
    assert!(!series.contains(&SeriesKey::new(NOVA_US, TokenMetric::CacheRead)));
    assert!(!series.iter().any(|s| s.model_id.starts_with("meta.")));
}

#[test]
fn calls_stay_within_500_queries_and_100800_points() {
    let now = at(2026, 11, 29, 12, 0);
    let monthly = window_for(
        guard_core::period::Period::Monthly,
        now,
        Duration::hours(24),
    );
    assert_eq!(monthly.start, at(2026, 11, 1, 0, 0));
    assert_eq!(monthly.end, at(2026, 11, 29, 13, 0));
    // On the 1st the window reaches 24 hours back, so the forecast has a recent rate.
    let first = window_for(
        guard_core::period::Period::Monthly,
        at(2026, 11, 1, 6, 30),
        Duration::hours(24),
    );
    assert_eq!(first.start, at(2026, 10, 31, 6, 0));
    let many: BTreeSet<SeriesKey> = (0..1200)
        .map(|i| SeriesKey::new(format!("m{i}"), TokenMetric::Input))
        .collect();
    let calls = plan_calls(monthly, &many);
    let per_call = MAX_DATAPOINTS_PER_CALL / monthly.buckets();
    assert!(
        calls
            .iter()
            .all(|c| c.queries.len() <= per_call.min(MAX_QUERIES_PER_CALL))
    );
    assert!(
        calls
            .iter()
            .all(|c| c.queries.len() * c.window.buckets() <= MAX_DATAPOINTS_PER_CALL)
    );
    assert_eq!(metrics_requested(&calls), 1200);
    // Ids are unique within a call and valid GetMetricData ids.
    for c in &calls {
        let ids: BTreeSet<&str> = c.queries.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids.len(), c.queries.len());
        assert!(ids.iter().all(|id| id.starts_with('q')));
    }
    // A daily window: few points, so up to 500 queries per call.
    let daily = window_for(guard_core::period::Period::Daily, now, Duration::hours(24));
    let calls = plan_calls(daily, &many);
    assert_eq!(
        calls.iter().map(|c| c.queries.len()).collect::<Vec<_>>(),
        [500, 500, 200]
    );
}

#[test]
fn known_token_counts_give_the_spend_to_the_cent() {
    let policy = load_policy(&policy_fixture("watched-chatbot"));
    let budget = &policy.budgets["chatbot"];
    let now = at(2026, 11, 10, 12, 0);
    let config = WatchConfig::default();
    let window = window_for(budget.period, now, config.rate_window);
    let h = |d, hh| at(2026, 11, d, hh, 0);
    let mut data = TokenData::default();
    data.add(
        window,
        [
            // Split across buckets, one repeated (a page boundary), one late point before the month.
            points(
                SONNET_US,
                TokenMetric::Input,
                &[
                    (h(2, 3), 1_000_000.0),
                    (h(9, 5), 234_567.0),
                    (h(9, 5), 234_567.0),
                ],
            ),
            points(SONNET_US, TokenMetric::Output, &[(h(3, 0), 345_678.0)]),
            points(SONNET_US, TokenMetric::CacheRead, &[(h(4, 0), 2_000_000.0)]),
            points(SONNET_US, TokenMetric::CacheWrite, &[(h(4, 0), 100_000.0)]),
            points(NOVA_US, TokenMetric::Input, &[(h(5, 0), 10_000_000.0)]),
            points(NOVA_US, TokenMetric::Output, &[(h(5, 0), 5_000_000.0)]),
        ],
    );
    let spend = budget_spend(budget, &policy.catalog(), &data, now, &config);
    // us. Sonnet 4.5 is 10% over global: 3.30 / 16.50 / 0.33 read / 4.125 write per 1M.
    // 1.234567 x 3.3 + 0.345678 x 16.5 + 2 x 0.33 + 0.1 x 4.125 = 10.8502581
    // Nova Lite: 10 x 0.06 + 5 x 0.24 = 1.80
    assert_eq!(spend.spent, dec!(12.65));
    let sonnet = spend
        .by_model
        .iter()
        .find(|m| m.model_id == SONNET_US)
        .unwrap();
    assert_eq!(sonnet.input_tokens, 1_234_567);
    assert_eq!(sonnet.cost, dec!(10.8502581));
    assert!(spend.unpriced.is_empty());
    assert_eq!(
        spend.period_start,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    );
    // No spend in the last 24 hours but the 9th 05:00 bucket... which is older than 24h: no rate.
    assert_eq!(spend.forecast, spend.spent);
}

#[test]
fn forecast_extrapolates_the_last_day() {
    let policy = load_policy(&policy_fixture("watched-chatbot"));
    let budget = &policy.budgets["chatbot"];
    let now = at(2026, 11, 20, 0, 0);
    let config = WatchConfig::default();
    let window = window_for(budget.period, now, config.rate_window);
    // 1M Nova Lite input tokens every hour of the last day: $0.06/h.
    let pts: Vec<_> = (0..24)
        .map(|i| (at(2026, 11, 19, i, 0), 1_000_000.0))
        .collect();
    let mut data = TokenData::default();
    data.add(window, [points(NOVA_US, TokenMetric::Input, &pts)]);
    let spend = budget_spend(budget, &policy.catalog(), &data, now, &config);
    assert_eq!(spend.spent, dec!(1.44));
    assert_eq!(spend.rate_per_hour, dec!(0.06));
    // 11 days left: 264 h x 0.06 = 15.84 more.
    assert_eq!(spend.forecast, dec!(17.28));
}

#[test]
fn a_crossing_alerts_once_per_period_and_the_next_period_starts_fresh() {
    let policy = load_policy(&policy_fixture("watched-chatbot"));
    let budget = &policy.budgets["chatbot"];
    let catalog = policy.catalog();
    let config = WatchConfig::default();
    let spend_at = |now, output_tokens: f64| {
        let window = window_for(budget.period, now, config.rate_window);
        let mut data = TokenData::default();
        // us. Sonnet output: $16.50 per 1M.
        data.add(
            window,
            [points(
                SONNET_US,
                TokenMetric::Output,
                &[(at(2026, 11, 1, 0, 0), output_tokens)],
            )],
        );
        budget_spend(budget, &catalog, &data, now, &config)
    };
    // $462: past 50% ($250) and 90% ($450), not $500.
    let spend = spend_at(at(2026, 11, 12, 6, 0), 28_000_000.0);
    assert_eq!(spend.spent, dec!(462));
    let first = decide(budget, &spend, None);
    let fired: Vec<_> = first
        .alerts
        .iter()
        .map(|(id, a)| (id.as_str(), a.threshold, a.alert_type))
        .collect();
    // The forecast is never below the spend: 80% forecasted is reached too.
    assert_eq!(
        fired,
        [
            ("ACTUAL>50%", dec!(250), SpendBasis::Actual),
            ("FORECASTED>80%", dec!(400), SpendBasis::Forecasted),
            ("ACTUAL>90%", dec!(450), SpendBasis::Actual)
        ]
    );
    let alert = &first.alerts[2].1;
    assert_eq!(alert.amount, dec!(462));
    assert_eq!(alert.budget_name, "bg-chatbot");
    assert!(
        alert
            .to_json()
            .starts_with(r#"{"schema":"budget-guard/spend-alert@1""#)
    );
    // Published and confirmed: the next run publishes nothing.
    let mut state = first.state.clone();
    for (id, _) in &first.alerts {
        state.confirm(id);
    }
    let again = decide(
        budget,
        &spend_at(at(2026, 11, 12, 6, 1), 28_100_000.0),
        Some(&state),
    );
    assert!(again.alerts.is_empty());
    assert!(!again.changed);
    // Not confirmed (the publish failed): sent again.
    let retry = decide(budget, &spend, Some(&first.state));
    assert_eq!(retry.alerts.len(), 3);
    // December: fresh.
    let december = spend_at(at(2026, 12, 1, 0, 30), 0.0);
    let mut dec_data = december.clone();
    dec_data.spent = dec!(455);
    dec_data.forecast = dec!(455);
    let next = decide(budget, &dec_data, Some(&state));
    assert_eq!(next.alerts.len(), 3);
    assert_eq!(
        next.state.period_start,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    );
}

#[test]
fn unpriced_models_are_reported_once_per_period() {
    // The policy prices `us.acme.chat-v1` only; the application also calls it through `global.`.
    let policy = load_policy(
        r#"
version: 1
pricing:
  us.acme.chat-v1:
    input_per_1k: 0.001
    output_per_1k: 0.002
budgets:
  acme:
    amount: 100
    period: monthly
    watch: true
    scope:
      models: [us.acme.chat-v1]
"#,
    );
    let budget = &policy.budgets["acme"];
    let now = at(2026, 11, 12, 6, 0);
    let config = WatchConfig::default();
    let window = window_for(budget.period, now, config.rate_window);
    let mut data = TokenData::default();
    let day = at(2026, 11, 2, 0, 0);
    data.add(
        window,
        [
            points("us.acme.chat-v1", TokenMetric::Input, &[(day, 1000.0)]),
            points("global.acme.chat-v1", TokenMetric::Input, &[(day, 1000.0)]),
        ],
    );
    let spend = budget_spend(budget, &policy.catalog(), &data, now, &config);
    assert_eq!(spend.unpriced, ["global.acme.chat-v1"]);
    assert_eq!(spend.spent, dec!(0.00));
    let first = decide(budget, &spend, None);
    assert_eq!(first.report_unpriced, ["global.acme.chat-v1"]);
    assert!(first.changed);
    let second = decide(budget, &spend, Some(&first.state));
    assert!(second.report_unpriced.is_empty());
    assert!(!second.changed);
}

#[test]
fn one_run_reads_publishes_and_remembers() {
    let policy = load_policy(&policy_fixture("watched-chatbot"));
    let catalog = policy.catalog();
    let config = WatchConfig::default();
    let cw = sim::FakeCloudWatch::new(Duration::minutes(1));
    cw.record_hour(
        at(2026, 11, 3, 0, 0),
        SeriesKey::new(SONNET_US, TokenMetric::Output),
        28_000_000,
    );
    let store = sim::MemStore::default();
    let alerts = sim::MemAlerts::default();
    let estimates = sim::MemEstimates::default();
    let mut memory = WatchMemory::default();
    let now = at(2026, 11, 12, 6, 0);
    *alerts.fail_next.lock().unwrap() = 1;
    let err = block_on(run_once(
        &policy,
        &catalog,
        (&cw, &store, &alerts, &estimates),
        now,
        &config,
        &mut memory,
    ));
    assert!(matches!(err, Err(WatchError::Publish { .. })), "{err:?}");
    // The thresholds are pending in SSM; the next run publishes them.
    let saved = store.states.lock().unwrap()["bg-chatbot"].clone();
    assert_eq!(saved.pending.len(), 3);
    let report = block_on(run_once(
        &policy,
        &catalog,
        (&cw, &store, &alerts, &estimates),
        now + Duration::minutes(1),
        &config,
        &mut memory,
    ))
    .unwrap();
    assert_eq!(report.alerts.len(), 3);
    assert_eq!(alerts.published.lock().unwrap().len(), 3);
    // Two input/output series of two models; the estimate published per budget.
    assert_eq!(report.metrics_requested, 4);
    assert_eq!(
        estimates.puts.lock().unwrap().last().unwrap().1,
        [("bg-chatbot".to_owned(), dec!(462))]
    );
    // A cold start (memory lost) reads again and publishes nothing: the state is in SSM.
    let mut cold = WatchMemory::default();
    let report = block_on(run_once(
        &policy,
        &catalog,
        (&cw, &store, &alerts, &estimates),
        now + Duration::minutes(2),
        &config,
        &mut cold,
    ))
    .unwrap();
    assert!(report.alerts.is_empty());
    assert_eq!(alerts.published.lock().unwrap().len(), 3);
    // A warm run before the budget is due reads nothing.
    let report = block_on(run_once(
        &policy,
        &catalog,
        (&cw, &store, &alerts, &estimates),
        now + Duration::minutes(3),
        &config,
        &mut cold,
    ))
    .unwrap();
    assert_eq!(report.metrics_requested, 0);
}
