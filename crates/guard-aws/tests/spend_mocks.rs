//! What the emulator cannot show, with `aws-smithy-mocks` on the real CloudWatch client:
//! throttling answered with backoff and retries, results spread over NextToken pages (a point
//! repeated across pages counted once), a gap, and a query that fails.

#[macro_use]
mod mocks;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::{MetricDataResult, StatusCode};
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{TimeZone, Utc};
use guard_aws::cloudwatch::token_metrics::{CloudWatchTokenMetrics, MetricsError};
use guard_aws::sdk::retry_config;
use guard_core::spend::{
    WatchConfig, price::budget_spend, query::SeriesKey, query::TokenData, query::TokenMetric,
    query::plan_calls, query::window_for,
};
use rust_decimal_macros::dec;
use std::collections::BTreeSet;
use std::time::Duration;

const SONNET_US: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const THROTTLED: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>";

fn client(rules: &[&Rule]) -> Client {
    let retry = retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(1));
    mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, rules, retry)
}

fn result(id: &str, points: &[(i64, f64)], status: StatusCode) -> MetricDataResult {
    MetricDataResult::builder()
        .id(id)
        .set_timestamps(Some(
            points
                .iter()
                .map(|(t, _)| SmithyTime::from_secs(*t))
                .collect(),
        ))
        .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
        .status_code(status)
        .build()
}

fn hour(d: u32, h: u32) -> i64 {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0)
        .unwrap()
        .timestamp()
}

fn policy() -> guard_core::policy::Policy {
    guard_core::testing::policy::checked(
        "version: 1\nbudgets:\n  chatbot:\n    amount: 500\n    period: monthly\n    watch: true\n    scope:\n      models: [us.anthropic.claude-sonnet-4-5-20250929-v1:0]\n",
    )
}

#[tokio::test]
async fn throttled_then_paged_results_are_read_whole() {
    let pages = mock!(Client::get_metric_data)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(2)
        .output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(result(
                    "q0",
                    &[(hour(2, 0), 1_000_000.0), (hour(3, 0), 200_000.0)],
                    StatusCode::PartialData,
                ))
                .metric_data_results(result(
                    "q1",
                    &[(hour(2, 0), 100_000.0)],
                    StatusCode::PartialData,
                ))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            GetMetricDataOutput::builder()
                // The 3rd 00:00 bucket again (a page boundary), then a gap, then the 9th.
                .metric_data_results(result(
                    "q0",
                    &[(hour(3, 0), 200_000.0), (hour(9, 5), 34_567.0)],
                    StatusCode::Complete,
                ))
                .metric_data_results(result(
                    "q1",
                    &[(hour(9, 5), 245_678.0)],
                    StatusCode::Complete,
                ))
                .build()
        })
        .build();
    let metrics = CloudWatchTokenMetrics::new(client(&[&pages]));
    let now = Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap();
    let config = WatchConfig::default();
    let window = window_for(guard_core::period::Period::Monthly, now, config.rate_window);
    let series: BTreeSet<SeriesKey> = [
        SeriesKey::new(SONNET_US, TokenMetric::Input),
        SeriesKey::new(SONNET_US, TokenMetric::Output),
    ]
    .into();
    let calls = plan_calls(window, &series);
    assert_eq!(calls.len(), 1);
    let points = metrics.read(&calls[0]).await.expect("read after retries");
    // Two throttled attempts, then two pages.
    assert_eq!(pages.num_calls(), 4);
    let mut data = TokenData::default();
    data.add(window, points);
    let policy = policy();
    let spend = budget_spend(
        &policy.budgets["chatbot"],
        &policy.catalog(),
        &data,
        now,
        &config,
    );
    let sonnet = &spend.by_model[0];
    assert_eq!(
        (sonnet.input_tokens, sonnet.output_tokens),
        (1_234_567, 345_678)
    );
    // 1.234567 x 3.30 + 0.345678 x 16.50
    assert_eq!(spend.spent, dec!(9.78));
}

#[tokio::test]
async fn throttling_that_does_not_stop_fails_the_read_typed() {
    let throttled = mock!(Client::get_metric_data)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(10)
        .build();
    let metrics = CloudWatchTokenMetrics::new(client(&[&throttled]));
    let now = Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap();
    let window = window_for(
        guard_core::period::Period::Monthly,
        now,
        chrono::Duration::hours(24),
    );
    let calls = plan_calls(
        window,
        &[SeriesKey::new(SONNET_US, TokenMetric::Input)].into(),
    );
    let err = metrics.read(&calls[0]).await.unwrap_err();
    assert!(matches!(err, MetricsError::GetMetricData(_)), "{err:?}");
    // The guard's retry policy: six attempts in all.
    assert_eq!(throttled.num_calls(), guard_aws::sdk::MAX_ATTEMPTS as usize);
    let MetricsError::GetMetricData(sdk) = err else {
        unreachable!()
    };
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&sdk),
        Some("Throttling")
    );
}

#[tokio::test]
async fn a_failed_query_is_an_error_not_a_zero() {
    let failed = mock!(Client::get_metric_data).then_output(|| {
        GetMetricDataOutput::builder()
            .metric_data_results(result("q0", &[], StatusCode::InternalError))
            .build()
    });
    let metrics = CloudWatchTokenMetrics::new(client(&[&failed]));
    let now = Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap();
    let window = window_for(
        guard_core::period::Period::Monthly,
        now,
        chrono::Duration::hours(24),
    );
    let calls = plan_calls(
        window,
        &[SeriesKey::new(SONNET_US, TokenMetric::Input)].into(),
    );
    let err = metrics.read(&calls[0]).await.unwrap_err();
    assert!(matches!(err, MetricsError::QueryFailed { .. }), "{err:?}");
}
