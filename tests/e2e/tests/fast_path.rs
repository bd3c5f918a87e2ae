//! The fast path end to end: Bedrock invocation log records, posted to the real usage-meter
//! binary as the `awslogs` event a Logs subscription sends, counted in the emulator's DynamoDB,
//! published as a spend alert on the alerts topic, and acted on by the real alert handler, which
//! writes the routing flag. Build the binaries first (`cargo build --workspace`).

use chrono::Duration;
use guard_e2e::fast_path::{awslogs_event, invocation_record};
use guard_e2e::{Stage, StageOptions};
use serde_json::Value;

const ROUTE: &str = "support-chatbot";
use guard_e2e::SONNET_4_5 as SONNET;
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

async fn applied() -> Stage {
    let stage = Stage::start(StageOptions::default()).await.expect("stage");
    let apply = stage.cli(&["apply", "--yes"]).expect("apply runs");
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    stage
}

/// Ten calls of Sonnet 4.5 through `us.` with 2.8 million output tokens each: $46.20 a call,
/// $462 of the chatbot's $500, past its 90% threshold.
fn overspending_records(stage: &Stage, prefix: &str) -> Vec<String> {
    let at = stage.clock.now() - Duration::seconds(20);
    (0..10)
        .map(|i| invocation_record(&format!("{prefix}-{i}"), SONNET, at, 1_000, 2_800_000))
        .collect()
}

#[tokio::test]
async fn an_invocation_log_record_steps_the_route_down_and_a_redelivery_changes_nothing() {
    let stage = applied().await;
    let meter = stage.start_usage_meter().await.unwrap();
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), SONNET);

    // Under every threshold: counted, nothing published.
    let now = stage.clock.now();
    let small = awslogs_event(
        &[invocation_record(
            "small-1",
            SONNET,
            now - Duration::seconds(30),
            2_000,
            500,
        )],
        now,
    );
    let (answer, handled) = stage.meter_usage(&meter, &small).await.unwrap();
    assert_eq!(answer["counted"], 1, "{answer}");
    assert!(handled.is_empty(), "{handled:?}");
    assert!(stage.flag(ROUTE).await.unwrap().is_none());

    let records = overspending_records(&stage, "burst");
    let event = awslogs_event(&records, stage.clock.now());
    let (answer, handled) = stage.meter_usage(&meter, &event).await.unwrap();
    assert_eq!(answer["counted"], 10, "{answer}");
    let published: Vec<(String, f64)> = answer["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["budget_name"].as_str().unwrap().to_owned(),
                a["threshold"].as_f64().unwrap(),
            )
        })
        .collect();
    // 50% and 90% (actual); the 80% forecast is the spend watcher's to make.
    assert_eq!(
        published,
        [
            ("bg-chatbot".to_owned(), 250.0),
            ("bg-chatbot".to_owned(), 450.0)
        ],
        "{answer}"
    );
    assert_eq!(handled.len(), 2, "{handled:?}");
    assert!(handled.iter().all(Result::is_ok), "{handled:?}");
    assert_eq!(
        stage.model_of(ROUTE).await.unwrap(),
        HAIKU,
        "90% steps the chatbot down one step"
    );
    let flag = stage.flag(ROUTE).await.unwrap().unwrap();
    let posts: Vec<String> = stage
        .slack
        .posted_json()
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_owned))
        .collect();
    assert!(
        posts.iter().any(|t| t.contains("bg-chatbot crossed 90%")),
        "{posts:?}"
    );
    assert!(
        !posts
            .iter()
            .any(|t| t.contains("Where is my order") || t.contains("On its way")),
        "no prompt or completion reaches a channel: {posts:?}"
    );

    // Logs delivers the same batch again: nothing is counted twice, nothing published again.
    let slack_before = stage.slack.posted_json().len();
    let (again, handled) = stage.meter_usage(&meter, &event).await.unwrap();
    assert_eq!(again["counted"], 0, "{again}");
    assert_eq!(again["already_counted"], 10, "{again}");
    assert_eq!(again["totals"], answer["totals"], "the total did not move");
    assert!(handled.is_empty(), "{handled:?}");
    assert_eq!(stage.flag(ROUTE).await.unwrap().unwrap(), flag);
    assert_eq!(stage.slack.posted_json().len(), slack_before);
}

#[tokio::test]
async fn a_malformed_record_is_reported_and_the_rest_of_its_batch_counts() {
    let stage = applied().await;
    let meter = stage.start_usage_meter().await.unwrap();
    let mut records = overspending_records(&stage, "mixed");
    records.insert(3, "this is not JSON".to_owned());
    let event = awslogs_event(&records, stage.clock.now());
    let (answer, handled) = stage.meter_usage(&meter, &event).await.unwrap();
    assert_eq!(answer["malformed"], 1, "{answer}");
    assert_eq!(answer["counted"], 10, "{answer}");
    assert!(handled.iter().all(Result::is_ok), "{handled:?}");
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
}
