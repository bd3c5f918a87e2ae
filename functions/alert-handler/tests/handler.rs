//! The `service_fn` body of the alert-handler, run in-process: against the local emulator and a
//! Slack listener, and against in-memory ports for the answers it gives Lambda.

use alert_handler::{HandlerError, handle};
use chrono::{TimeZone, Utc};
use guard_core::alerts::flags::Flag;
use guard_core::alerts::handler::Handler;
use guard_core::alerts::in_memory::InMemoryHandler;
use guard_core::policy::Policy;
use guard_testkit::{ExampleAlertAccount, Script};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

fn policy() -> Policy {
    guard_core::testing::policy::checked(guard_testkit::example_policy())
}

const ALERTS_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts";

fn sns_event(message_id: &str, message: &str) -> Value {
    // The minimal shape SNS-to-Lambda test events often have: the lenient reader takes it.
    json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": message_id, "Message": message,
        "TopicArn": ALERTS_TOPIC, "Subject": "AWS Budgets: bg-chatbot has exceeded your alert threshold"}}]})
}

/// bg-chatbot's ACTUAL alert at $450 of $500.
fn message_90() -> String {
    guard_testkit::BudgetsAlert::default().text()
}

#[tokio::test]
async fn the_function_body_handles_alerts_and_ticks_against_the_emulator() {
    let account = ExampleAlertAccount::start(Script::always(200))
        .await
        .unwrap();
    let (aws, slack, notify_topic) = (&account.aws, &account.slack, &account.notify_topic);
    let config = aws.sdk_config().await;
    let handler = guard_aws::wiring::alert_handler::live_handler(
        &config,
        policy(),
        ALERTS_TOPIC,
        notify_topic,
    )
    .unwrap();

    let nov12 = Utc.with_ymd_and_hms(2026, 11, 12, 6, 41, 9).unwrap();
    let answer = handle(&handler, sns_event("m-90", &message_90()), nov12, None)
        .await
        .unwrap();
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["jobs"][0]["flags_written"][0], "support-chatbot");
    let ssm = aws_sdk_ssm::Client::new(&config);
    let read = || async {
        let out = ssm
            .get_parameter()
            .name("/budget-guard/routes/support-chatbot")
            .send()
            .await
            .unwrap();
        Flag::parse(out.parameter.unwrap().value().unwrap()).unwrap()
    };
    assert_eq!(read().await.step, 2);
    // The job's record is under the policy's state path.
    let state = ssm
        .get_parameter()
        .name("/budget-guard/state/alert-handler/notices/chatbot/2026-11-01/90pct-ACTUAL")
        .send()
        .await
        .unwrap();
    assert!(
        state
            .parameter
            .unwrap()
            .value()
            .unwrap()
            .contains("\"sent\"")
    );
    assert_eq!(slack.posted_json().len(), 1);

    // A record from another topic is ignored: nothing posted, nothing moved.
    let mut forged = sns_event("m-forged", &message_90().replace("450.00", "500.00"));
    forged["Records"][0]["Sns"]["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:other");
    let answer = handle(&handler, forged, nov12, None).await.unwrap();
    assert!(answer["jobs"][0]["ignored"].is_string(), "{answer}");
    assert_eq!(read().await.step, 2);
    assert_eq!(slack.posted_json().len(), 1);

    let tick = |time: &str| json!({"source": "budget-guard.schedule", "detail-type": "rollover-tick", "time": time, "detail": {}});
    let dec1 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 5, 0).unwrap();
    // A tick whose time is far from the clock is refused, not acted on and not retried.
    let answer = handle(&handler, tick("2099-01-01T00:00:00Z"), dec1, None)
        .await
        .unwrap();
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(read().await.step, 2);
    let answer = handle(&handler, tick("2026-12-01T00:05:00Z"), dec1, None)
        .await
        .unwrap();
    assert_eq!(
        answer["jobs"][0]["job"],
        "rollover/support-chatbot/20261201T000500"
    );
    assert_eq!(read().await.step, 1);
    assert_eq!(slack.posted_json().len(), 2);
}

fn fakes() -> InMemoryHandler {
    Handler::in_memory(
        policy(),
        guard_core::alerts::routing::Trust::for_alerts_topic(ALERTS_TOPIC),
    )
}

#[tokio::test]
async fn a_failed_delivery_is_a_retryable_lambda_error() {
    let handler = fakes();
    handler
        .slack
        .fail_next([guard_core::ports::ErrorKind::Transient]);
    let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 41, 9).unwrap();
    let error: HandlerError = handle(&handler, sns_event("m-1", &message_90()), now, None)
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "AlertHandler.Retryable");
    assert!(
        diagnostic.error_message.contains("slack:platform-alerts"),
        "{}",
        diagnostic.error_message
    );
    // The retry (Lambda's) finishes the job.
    let answer = handle(&handler, sns_event("m-1", &message_90()), now, None)
        .await
        .unwrap();
    assert_eq!(answer["jobs"][0]["done"][0], "slack:platform-alerts");
}

#[tokio::test]
async fn an_event_of_another_shape_is_ignored_not_retried() {
    let handler = fakes();
    let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 41, 9).unwrap();
    let answer = handle(&handler, json!({"hello": "world"}), now, None)
        .await
        .unwrap();
    assert_eq!(answer["ok"], false);
    assert!(handler.slack.posts().is_empty());
}
