//! The alert-handler on real SDK clients against the local emulator (SSM, SNS, Secrets Manager)
//! and a local Slack listener: the scenarios end to end, and every AWS call it makes is
//! one its IAM statements allow.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use guard_aws::wiring::alert_handler::{EventError, EventReport, LiveHandler, live_handler};
use guard_core::alerts::flags::Flag;
use guard_core::policy::Policy;
use guard_testkit::{BudgetsAlert, Emulator, Script, SlackListener};
use serde_json::{Value, json};

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_LITE: &str = "us.amazon.nova-lite-v1:0";
const PARAM: &str = "/budget-guard/routes/support-chatbot";
const SECRET: &str = "budget-guard/slack/platform-alerts";
const ALERTS_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts";

/// The handler at `now`, with no invocation deadline.
async fn handle_event(
    handler: &LiveHandler,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<EventReport, EventError> {
    guard_aws::wiring::alert_handler::handle_event(handler, event, now, None).await
}

fn policy() -> Policy {
    guard_core::testing::policy::checked(guard_testkit::example_policy())
}

struct Env {
    aws: Emulator,
    slack: SlackListener,
    ssm: aws_sdk_ssm::Client,
    topic: String,
    handler: LiveHandler,
}

async fn env(script: Script, secret_as_json: bool) -> Env {
    let aws = Emulator::start().expect("emulator");
    let slack = SlackListener::start(script).expect("slack listener");
    let config = aws.sdk_config().await;
    let value = if secret_as_json {
        json!({"url": slack.url()}).to_string()
    } else {
        slack.url()
    };
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(SECRET)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    let topic = aws.create_topic("budget-guard-notify").await.unwrap();
    let handler = live_handler(&config, policy(), ALERTS_TOPIC, &topic).unwrap();
    aws.reset_calls();
    Env {
        ssm: aws_sdk_ssm::Client::new(&config),
        aws,
        slack,
        topic,
        handler,
    }
}

fn budgets_message(alert_type: &str, threshold: &str, amount: &str) -> String {
    BudgetsAlert {
        alert_type,
        threshold,
        amount,
        ..Default::default()
    }
    .text()
}

/// A Lambda SNS event as SNS delivers it (the `SigningCertUrl` spelling).
fn sns_event(message_id: &str, message: &str) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts:5f1c2a44",
        "Sns": {
            "Type": "Notification", "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts",
            "Subject": "AWS Budgets: bg-chatbot has exceeded your alert threshold",
            "Message": message, "Timestamp": "2026-11-12T06:41:09.512Z",
            "SignatureVersion": "1", "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {}
        }
    }]})
}

fn tick(at: DateTime<Utc>) -> Value {
    json!({"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
           "account": "123456789012", "time": at.to_rfc3339(), "region": "us-east-1",
           "resources": [], "detail": {}})
}

fn nov(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 6, 41, 9).unwrap()
}

async fn flag(env: &Env) -> Option<Flag> {
    let out = env.ssm.get_parameter().name(PARAM).send().await.ok()?;
    Some(Flag::parse(out.parameter?.value()?).unwrap())
}

/// Every AWS call made so far is one the alert-handler's IAM statements list.
fn assert_calls_allowed(env: &Env) {
    common::assert_calls_listed("alert-handler", &env.aws.calls());
}

fn flag_writes(env: &Env) -> usize {
    // PutParameter calls on flags (state writes are PutParameter too): count via the call log is
    // not enough, so read the parameter history.
    env.aws.call_count("ssm", "PutParameter")
}

#[tokio::test]
async fn alerts_step_down_notify_and_redelivery_does_nothing() {
    let env = env(Script::always(200), false).await;

    // 80% forecasted: notifies Slack and email, no flag.
    handle_event(
        &env.handler,
        &sns_event("m-80", &budgets_message("FORECASTED", "400.00", "612.5")),
        nov(10),
    )
    .await
    .unwrap();
    assert!(flag(&env).await.is_none());
    assert_eq!(env.slack.posted_json().len(), 1);
    let published = env.aws.sns_published(&env.topic).await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].attributes.get("channel").map(String::as_str),
        Some("finops")
    );
    assert!(published[0].subject.as_deref().unwrap().len() < 100);

    // 90%: one step down, one post.
    handle_event(
        &env.handler,
        &sns_event("m-90", &budgets_message("ACTUAL", "450.00", "455.12")),
        nov(12),
    )
    .await
    .unwrap();
    let f = flag(&env).await.unwrap();
    assert_eq!((f.step, f.model_id.as_str()), (2, HAIKU));
    let posts = env.slack.posted_json();
    assert_eq!(posts.len(), 2);
    assert!(
        posts[1].to_string().contains("stepped down"),
        "{}",
        posts[1]
    );
    assert!(
        posts[1]
            .to_string()
            .contains("https://console.aws.amazon.com/billing/home#/budgets")
    );

    // Redelivery of the same message: nothing new anywhere.
    let writes_before = flag_writes(&env);
    let report = handle_event(
        &env.handler,
        &sns_event("m-90", &budgets_message("ACTUAL", "450.00", "455.12")),
        nov(12),
    )
    .await
    .unwrap();
    assert!(report.outcomes[0].already_handled);
    assert_eq!(env.slack.posted_json().len(), 2);
    assert_eq!(env.aws.sns_published(&env.topic).await.unwrap().len(), 2);
    assert_eq!(flag_writes(&env), writes_before);

    // 100%: the cheapest.
    handle_event(
        &env.handler,
        &sns_event("m-100", &budgets_message("ACTUAL", "500.00", "501")),
        nov(13),
    )
    .await
    .unwrap();
    assert_eq!(flag(&env).await.unwrap().model_id, NOVA_LITE);
    assert_calls_allowed(&env);
}

#[tokio::test]
async fn the_other_order_ends_at_the_same_flag_and_a_json_secret_works() {
    let env = env(Script::always(200), true).await;
    handle_event(
        &env.handler,
        &sns_event("m-100", &budgets_message("ACTUAL", "500.00", "501")),
        nov(12),
    )
    .await
    .unwrap();
    handle_event(
        &env.handler,
        &sns_event("m-90", &budgets_message("ACTUAL", "450.00", "455.12")),
        nov(13),
    )
    .await
    .unwrap();
    let f = flag(&env).await.unwrap();
    assert_eq!((f.step, f.model_id.as_str()), (3, NOVA_LITE));
    assert_eq!(env.slack.posted_json().len(), 2);
    assert!(
        env.slack.posted_json()[1]
            .to_string()
            .contains("already on")
    );
    // The secret is read once per container.
    assert_eq!(env.aws.call_count("secretsmanager", "GetSecretValue"), 1);
    assert_calls_allowed(&env);
}

#[tokio::test]
async fn slack_500_then_200_ends_with_one_post_and_one_flag_change() {
    let env = env(Script::sequence([500, 200]), false).await;
    let event = sns_event("m-90", &budgets_message("ACTUAL", "450.00", "455.12"));
    let err = handle_event(&env.handler, &event, nov(12))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("slack:platform-alerts"), "{err}");
    assert!(
        !err.to_string().contains("/services/"),
        "no webhook URL in errors: {err}"
    );
    let first_flag = flag(&env).await.unwrap();
    assert_eq!(first_flag.model_id, HAIKU);
    assert_eq!(
        env.aws.sns_published(&env.topic).await.unwrap().len(),
        1,
        "email went out despite Slack"
    );

    handle_event(&env.handler, &event, nov(12)).await.unwrap();
    let requests = env.slack.requests();
    assert_eq!(requests.len(), 2, "one failed post, one good one");
    assert_eq!(
        flag(&env).await.unwrap(),
        first_flag,
        "the flag changed once"
    );
    assert_eq!(
        env.aws.sns_published(&env.topic).await.unwrap().len(),
        1,
        "email not sent twice"
    );
    assert_calls_allowed(&env);
}

#[tokio::test]
async fn slack_429_retry_after_is_honoured() {
    let env = env(Script::rate_limited_once(0), false).await;
    handle_event(
        &env.handler,
        &sns_event("m-80", &budgets_message("FORECASTED", "400.00", "612.5")),
        nov(10),
    )
    .await
    .unwrap();
    assert_eq!(env.slack.requests().len(), 2);
}

#[tokio::test]
async fn the_rollover_restores_and_notifies_and_a_pinned_flag_stays() {
    let env = env(Script::always(200), false).await;
    handle_event(
        &env.handler,
        &sns_event("m-100", &budgets_message("ACTUAL", "500.00", "501")),
        nov(12),
    )
    .await
    .unwrap();
    assert_eq!(flag(&env).await.unwrap().step, 3);
    // Same month: the tick does nothing.
    let report = handle_event(&env.handler, &tick(nov(30)), nov(30))
        .await
        .unwrap();
    assert!(report.outcomes.is_empty());
    let dec1 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 5, 0).unwrap();
    handle_event(&env.handler, &tick(dec1), dec1).await.unwrap();
    let f = flag(&env).await.unwrap();
    assert_eq!((f.step, f.model_id.as_str()), (1, SONNET));
    assert_eq!(f.period_start, None, "no requirement holds it this period");
    let posts = env.slack.posted_json();
    assert!(posts.last().unwrap().to_string().contains("back on"));
    let emails = env.aws.sns_published(&env.topic).await.unwrap();
    assert!(
        emails
            .last()
            .unwrap()
            .subject
            .as_deref()
            .unwrap()
            .contains("restored")
    );

    // Pin the route at the bottom in December: January's tick leaves it (and tells no one: no
    // route moved).
    let pin = guard_core::alerts::handler::Command::Pin {
        route: "support-chatbot".into(),
        step: Some(3),
        by: "alice".into(),
        reason: "pinned for the migration".into(),
    };
    env.handler.handle_command(&pin, dec1).await.unwrap();
    let pinned = flag(&env).await.unwrap();
    assert_eq!((pinned.step, pinned.pinned), (3, true));
    let posts_before = env.slack.posted_json().len();
    let jan1 = Utc.with_ymd_and_hms(2027, 1, 1, 0, 5, 0).unwrap();
    handle_event(&env.handler, &tick(jan1), jan1).await.unwrap();
    assert_eq!(flag(&env).await.unwrap(), pinned);
    assert_eq!(env.slack.posted_json().len(), posts_before);
    // That tick also pruned the records that expired: November's alert, December's roll-over.
    let state = |name: &'static str| {
        let ssm = env.ssm.clone();
        async move { ssm.get_parameter().name(name).send().await.is_ok() }
    };
    assert!(
        !state("/budget-guard/state/alert-handler/notices/chatbot/2026-11-01/100pct-ACTUAL").await
    );
    assert!(
        !state("/budget-guard/state/alert-handler/rollover/support-chatbot/20261201T000500").await
    );
    assert!(state("/budget-guard/state/alert-handler/ledger/support-chatbot").await);
    // And an alert leaves it too.
    handle_event(
        &env.handler,
        &sns_event("m-jan", &budgets_message("ACTUAL", "450.00", "460")),
        jan1,
    )
    .await
    .unwrap();
    assert_eq!(flag(&env).await.unwrap(), pinned);
    assert_calls_allowed(&env);
}

#[tokio::test]
async fn the_shared_fixture_event_with_signing_cert_url_is_read() {
    let env = env(Script::always(200), false).await;
    let fixture: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/alerts/sns-event-budget-alert.json"
    ))
    .unwrap();
    // The fixture comes from another account's topic: as it is, it is ignored.
    let report = handle_event(&env.handler, &fixture, nov(12)).await.unwrap();
    assert!(report.outcomes[0].ignored.is_some(), "{report:?}");
    let mut fixture = fixture;
    fixture["Records"][0]["Sns"]["TopicArn"] = json!(ALERTS_TOPIC);
    // bg-chatbot-monthly is no budget of the example policy: unmatched, no flag, and nobody told
    // (the example sets no `unmatched_notify`).
    let report = handle_event(&env.handler, &fixture, nov(12)).await.unwrap();
    assert!(report.outcomes[0].ignored.is_none(), "{report:?}");
    assert!(flag(&env).await.is_none());
    assert!(env.slack.posted_json().is_empty());
}
