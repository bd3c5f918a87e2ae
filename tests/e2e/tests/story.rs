//! The demo's story as tests, asserting on what the emulator and the Slack listener received, and
//! the failure stories: Slack down during an alert, a redelivered alert, a bad policy.
//!
//! Each test runs the real function binaries (build them with `cargo build --workspace`) under a
//! local Lambda runtime API against its own emulator.

use chrono::{TimeZone, Utc};
use guard_e2e::{INVOKE_TIMEOUT, Stage, StageOptions};
use guard_testkit::Script;
use guard_testkit::budgets_alert_text;
use serde_json::Value;

const ROUTE: &str = "support-chatbot";
use guard_e2e::SONNET_4_5 as SONNET;
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_LITE: &str = "us.amazon.nova-lite-v1:0";
const SUBJECT: &str = "AWS Budgets: bg-chatbot has exceeded your alert threshold";

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a valid time")
}

fn texts(stage: &Stage) -> Vec<String> {
    stage
        .slack
        .posted_json()
        .iter()
        .map(|p| {
            p.get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn applied(options: StageOptions) -> Stage {
    let stage = Stage::start(options).await.expect("stage");
    let apply = stage.cli(&["apply", "--yes"]).expect("apply runs");
    assert_eq!(
        apply.code, 0,
        "apply failed: {}{}",
        apply.stdout, apply.stderr
    );
    stage
}

fn policies_dir() -> std::path::PathBuf {
    guard_testkit::workspace_root().join("policies")
}

#[tokio::test]
async fn a_day_in_the_life() {
    let stage = applied(StageOptions {
        policy_dir: policies_dir(),
        slack: Script::always(200),
        ..StageOptions::default()
    })
    .await;

    // A second plan is empty, and the scheduled drift repair changes nothing.
    let again = stage.cli(&["plan", "--detailed-exitcode"]).unwrap();
    assert_eq!(again.code, 0, "{}", again.stdout);
    stage.aws.reset_calls();
    let repair = stage
        .drift_repair()
        .await
        .unwrap()
        .expect("drift repair succeeds");
    assert_eq!(repair["Changes"], 0, "{repair}");
    assert!(
        stage.aws.write_calls().is_empty(),
        "{:?}",
        stage.aws.write_calls()
    );
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), SONNET);

    // Bedrock tokens worth $462 of the $500 chatbot budget, seen by the spend watcher in minutes.
    let now = at(2026, 11, 20, 14, 0);
    stage.seed_chatbot_at_92_percent(now).await.unwrap();
    let (watch, handled) = stage.spend_tick(now).await.unwrap();
    assert!(handled.iter().all(Result::is_ok), "{handled:?}");
    let published: Vec<String> = watch["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["budget_name"].as_str().unwrap(), a["threshold"]))
        .collect();
    assert!(
        published.contains(&"bg-chatbot 450.0".to_owned()),
        "{published:?}"
    );
    assert!(
        !published
            .iter()
            .any(|p| p.starts_with("bg-writing-assistant")),
        "{published:?}"
    );
    assert_eq!(
        stage.model_of(ROUTE).await.unwrap(),
        HAIKU,
        "90% steps the chatbot down one step"
    );
    let posts = texts(&stage);
    assert!(
        posts.iter().any(|t| t.contains("bg-chatbot crossed 90%")),
        "{posts:?}"
    );

    // The next run of the watcher publishes nothing new.
    let (_, none) = stage
        .spend_tick(now + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");

    // AWS Budgets' own alert, in AWS's layout, through SNS: 100% goes to the cheapest model.
    let slack_before = stage.slack.posted_json().len();
    let text = budgets_alert_text(
        "bg-chatbot",
        "500.00",
        "500.00",
        "503.12",
        "November 20, 2026",
    );
    let answers = stage.publish_alert(SUBJECT, &text).await.unwrap();
    assert_eq!(answers.len(), 1);
    assert!(answers[0].is_ok(), "{answers:?}");
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), NOVA_LITE);
    assert_eq!(stage.slack.posted_json().len(), slack_before + 1);
    let emails = stage.emails().await.unwrap();
    let last = emails.last().expect("an email was published");
    assert!(
        last.subject
            .as_deref()
            .unwrap_or_default()
            .contains("bg-chatbot"),
        "{last:?}"
    );

    // The dashboard's step of each route follows the flags.
    let steps = aws_sdk_cloudwatch::Client::new(&stage.config)
        .list_metrics()
        .namespace("BudgetGuard")
        .metric_name("RouteStep")
        .send()
        .await
        .unwrap();
    let routes: Vec<&str> = steps
        .metrics()
        .iter()
        .flat_map(|m| m.dimensions())
        .filter_map(|d| d.value())
        .collect();
    assert!(routes.contains(&ROUTE), "{routes:?}");

    // SNS delivers it again: nothing new is posted or changed.
    let flag_before = stage.flag(ROUTE).await.unwrap();
    let again = stage.last_alert_event().unwrap();
    let redelivered = stage
        .alert_handler
        .invoke(&again, INVOKE_TIMEOUT)
        .await
        .unwrap();
    assert!(redelivered.result.is_ok(), "{:?}", redelivered.result);
    assert_eq!(stage.slack.posted_json().len(), slack_before + 1);
    assert_eq!(stage.flag(ROUTE).await.unwrap(), flag_before);

    // The month rolls over: the chatbot is back at the top, and the channel is told.
    let tick = stage.rollover_tick(at(2026, 12, 1, 0, 5)).await.unwrap();
    assert!(tick.is_ok(), "{tick:?}");
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), SONNET);
    let posts = texts(&stage);
    assert!(
        posts
            .last()
            .is_some_and(|t| t.contains("new monthly period")),
        "{posts:?}"
    );
}

#[tokio::test]
async fn slack_down_during_an_alert_is_retried_without_a_second_downgrade() {
    // Slack fails the first delivery's post, then works.
    let slack = Script::sequence([500, 200]);
    let stage = applied(StageOptions {
        policy_dir: policies_dir(),
        slack,
        ..StageOptions::default()
    })
    .await;
    let text = budgets_alert_text(
        "bg-chatbot",
        "500.00",
        "450.00",
        "455.00",
        "November 20, 2026",
    );
    let first = stage.publish_alert(SUBJECT, &text).await.unwrap();
    assert_eq!(
        stage.model_of(ROUTE).await.unwrap(),
        HAIKU,
        "the downgrade comes first, whatever Slack does"
    );
    let flag = stage.flag(ROUTE).await.unwrap();

    let mut answer = first.into_iter().next().unwrap();
    let mut attempts = 1;
    // SNS retries a failed delivery; the retry redoes only what failed.
    while answer.is_err() && attempts < 5 {
        let event = stage.last_alert_event().unwrap();
        answer = stage
            .alert_handler
            .invoke(&event, INVOKE_TIMEOUT)
            .await
            .unwrap()
            .result;
        attempts += 1;
    }
    assert!(
        answer.is_ok(),
        "still failing after {attempts} deliveries: {answer:?}"
    );
    assert!(
        attempts > 1,
        "the first delivery should have failed while Slack was down"
    );
    let oks: Vec<_> = stage
        .slack
        .requests()
        .into_iter()
        .filter(|r| r.body.contains("bg-chatbot"))
        .collect();
    assert!(!oks.is_empty());
    assert_eq!(
        stage.flag(ROUTE).await.unwrap(),
        flag,
        "the retry changed the flag again"
    );
    let emails = stage.emails().await.unwrap();
    assert_eq!(emails.len(), 1, "email was sent once: {emails:?}");
}

#[tokio::test]
async fn a_bad_policy_stops_the_apply_with_nothing_changed() {
    let stage = Stage::start(StageOptions::default()).await.expect("stage");
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let example = std::fs::read_to_string(policies_dir().join("example.yaml")).unwrap();
    let broken = example.replace("period: monthly", "period: montly");
    std::fs::write(dir.join("example.yaml"), broken).unwrap();
    stage.aws.reset_calls();

    let apply = stage
        .cli(&["apply", dir.to_str().unwrap(), "--yes"])
        .unwrap();
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    assert!(apply.stderr.contains("example.yaml:"), "{}", apply.stderr);
    assert!(
        apply.stderr.contains("did you mean `monthly`"),
        "{}",
        apply.stderr
    );
    assert!(
        stage.aws.write_calls().is_empty(),
        "{:?}",
        stage.aws.write_calls()
    );
}
