//! Faults on the real SDK clients with aws-smithy-mocks: SSM throttling and SNS failures, and how
//! the handler carries on and retries only what failed.

use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
use aws_sdk_sns::types::error::InternalErrorException;
use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
use aws_sdk_ssm::types::error::ParameterNotFound;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use chrono::{TimeZone, Utc};
use guard_aws::sns::SnsNotifier;
use guard_aws::ssm::{SsmFlagStore, SsmStateStore};
use guard_core::alerts::handler::{HandleError, Handler, Inbound};
use guard_core::alerts::in_memory::{MemoryFlags, MemoryState, RecordingSlack};
use guard_core::alerts::ports::{FlagStore, StateStore};
use guard_core::ports::ErrorKind;

use guard_core::policy::Policy;

fn inbound<'a>(message_id: &'a str, message: &'a str) -> Inbound<'a> {
    Inbound {
        message_id,
        topic_arn: None,
        subject: None,
        message,
    }
}

/// A client whose calls the rules answer (aws-smithy-mocks), with retries off so each fault shows.
/// (These SDK versions predate `with_test_defaults_v2`, which `mock_client!` needs.)
macro_rules! client {
    ($krate:ident, $rules:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $krate::Config::builder()
                .with_test_defaults()
                .behavior_version($krate::config::BehaviorVersion::latest())
                .region($krate::config::Region::new("us-east-1"))
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .retry_config($krate::config::retry::RetryConfig::disabled())
                .build(),
        )
    }};
}

fn rules<'a>(rules: &'a [&'a Rule]) -> impl Iterator<Item = &'a Rule> {
    rules.iter().copied()
}

fn policy() -> Policy {
    guard_core::testing::policy::checked(guard_testkit::example_policy())
}

fn throttled() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
    )
}

fn message_90() -> String {
    guard_testkit::BudgetsAlert::default().text()
}

#[tokio::test]
async fn ssm_throttling_is_a_retryable_error_and_not_found_is_none() {
    let throttle = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/budget-guard/routes/a"))
        .then_http_response(throttled);
    let missing = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/budget-guard/routes/b"))
        .then_error(|| GetParameterError::ParameterNotFound(ParameterNotFound::builder().build()));
    let client = client!(aws_sdk_ssm, rules(&[&throttle, &missing]));
    let flags = SsmFlagStore::new(client.clone());
    let err = flags.get_flag("/budget-guard/routes/a").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert!(err.is_retryable());
    assert_eq!(
        flags.get_flag("/budget-guard/routes/b").await.unwrap(),
        None
    );
    let state = SsmStateStore::new(client, "/budget-guard/state");
    assert_eq!(state.parameter("alerts/x"), "/budget-guard/state/alerts/x");
}

#[tokio::test]
async fn a_throttled_state_read_does_nothing_and_is_retryable() {
    let throttle = mock!(aws_sdk_ssm::Client::get_parameter).then_http_response(throttled);
    let client = client!(aws_sdk_ssm, rules(&[&throttle]));
    let handler = Handler::new(
        policy(),
        guard_core::alerts::routing::Trust::default(),
        MemoryFlags::default(),
        SsmStateStore::new(client, "/budget-guard/state/"),
        RecordingSlack::default(),
        guard_core::alerts::in_memory::RecordingEmail::default(),
    );
    let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 0, 0).unwrap();
    let err = handler
        .handle_message(&inbound("m-1", &message_90()), now, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, HandleError::State { .. }) && err.retryable(),
        "{err}"
    );
    assert!(handler.slack.posts().is_empty());
    assert_eq!(handler.flags.put_count(), 0);
}

#[tokio::test]
async fn a_throttled_flag_write_notifies_then_the_retry_writes() {
    let get = mock!(aws_sdk_ssm::Client::get_parameter)
        .then_error(|| GetParameterError::ParameterNotFound(ParameterNotFound::builder().build()));
    let put = mock!(aws_sdk_ssm::Client::put_parameter)
        .sequence()
        .http_response(throttled)
        .output(|| PutParameterOutput::builder().version(1).build())
        .build();
    let client = client!(aws_sdk_ssm, rules(&[&get, &put]));
    let handler = Handler::new(
        policy(),
        guard_core::alerts::routing::Trust::default(),
        SsmFlagStore::new(client),
        MemoryState::default(),
        RecordingSlack::default(),
        guard_core::alerts::in_memory::RecordingEmail::default(),
    );
    let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 0, 0).unwrap();
    let err = handler
        .handle_message(&inbound("m-1", &message_90()), now, None)
        .await
        .unwrap_err();
    assert!(err.retryable(), "{err}");
    assert!(err.to_string().contains("flag:support-chatbot"), "{err}");
    assert!(
        handler.slack.posts()[0]
            .1
            .to_string()
            .contains("Could not move")
    );
    handler
        .handle_message(&inbound("m-1", &message_90()), now, None)
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 2);
    assert!(
        handler.slack.posts()[1]
            .1
            .to_string()
            .contains("stepped down")
    );
}

#[tokio::test]
async fn an_sns_failure_does_not_stop_slack_and_only_the_email_is_retried() {
    let publish = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            r.message_attributes()
                .and_then(|a| a.get("channel"))
                .and_then(|v| v.string_value())
                == Some("finops")
                && r.subject().is_some_and(|s| s.len() < 100 && s.is_ascii())
        })
        .sequence()
        .error(|| {
            PublishError::InternalErrorException(
                InternalErrorException::builder().message("boom").build(),
            )
        })
        .output(|| PublishOutput::builder().message_id("sns-1").build())
        .build();
    let client = client!(aws_sdk_sns, rules(&[&publish]));
    let handler = Handler::new(
        policy(),
        guard_core::alerts::routing::Trust::default(),
        MemoryFlags::default(),
        MemoryState::default(),
        RecordingSlack::default(),
        SnsNotifier::new(
            client,
            "arn:aws:sns:us-east-1:123456789012:budget-guard-notify",
        ),
    );
    let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 0, 0).unwrap();
    let err = handler
        .handle_message(&inbound("m-1", &message_90()), now, None)
        .await
        .unwrap_err();
    match &err {
        HandleError::Incomplete { failed, .. } => {
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].0, "email:finops");
            assert_eq!(failed[0].1.kind, ErrorKind::Transient);
        }
        other => panic!("{other}"),
    }
    assert_eq!(handler.slack.posts().len(), 1);
    assert_eq!(handler.flags.put_count(), 1);
    let outcome = handler
        .handle_message(&inbound("m-1", &message_90()), now, None)
        .await
        .unwrap();
    assert_eq!(outcome.done, vec!["email:finops"]);
    assert_eq!(publish.num_calls(), 2);
    assert_eq!(handler.slack.posts().len(), 1);
    assert_eq!(handler.flags.put_count(), 1);
}

#[tokio::test]
async fn a_flag_parameter_that_is_no_flag_is_an_invalid_error() {
    let get = mock!(aws_sdk_ssm::Client::get_parameter).then_output(|| {
        GetParameterOutput::builder()
            .parameter(
                aws_sdk_ssm::types::Parameter::builder()
                    .name("/x")
                    .value("claude")
                    .build(),
            )
            .build()
    });
    let client = client!(aws_sdk_ssm, rules(&[&get]));
    let err = SsmFlagStore::new(client.clone())
        .get_flag("/x")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    // The state store hands back whatever text is there.
    let state = SsmStateStore::new(client, "/s/");
    assert_eq!(
        state.get_state("k").await.unwrap().as_deref(),
        Some("claude")
    );
}
