//! Attribution on the fast path end to end: two applications call the same model, each sending
//! its own `requestMetadata`; two budgets scoped by tag name one application each. A burst from
//! one application moves its budget's flag and leaves the other's alone. A call through an
//! application inference profile that the policy does not map is priced as the model the
//! provisioner recorded for it. Build the binaries first (`cargo build --workspace`).

use chrono::Duration;
use guard_e2e::fast_path::{awslogs_event, invocation_record};
use guard_e2e::{Stage, StageOptions};
use guard_testkit::policy_fixture_path;
use serde_json::Value;

use guard_e2e::SONNET_4_5 as SONNET;
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

/// A record of `app`'s call: the stage's record with the application's own request metadata.
fn call_of(app: &str, request_id: &str, stage: &Stage, output_tokens: u64) -> String {
    let at = stage.clock.now() - Duration::seconds(20);
    let mut record: Value = serde_json::from_str(&invocation_record(
        request_id,
        SONNET,
        at,
        1_000,
        output_tokens,
    ))
    .unwrap();
    record["requestMetadata"] = serde_json::json!({ "app": app, "user": "u-17" });
    record.to_string()
}

#[tokio::test]
async fn request_metadata_tells_two_applications_on_one_model_apart() {
    let stage = Stage::start(StageOptions {
        policy_dir: policy_fixture_path("two-applications"),
        ..StageOptions::default()
    })
    .await
    .expect("stage");
    let apply = stage.cli(&["apply", "--yes"]).expect("apply runs");
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    let meter = stage.start_usage_meter().await.unwrap();

    // The search application spends $462 of its $500 (28 million output tokens at $16.50 per
    // million) in one record, so that no two records of the batch add to one counter at once
    // (what this test checks is which counter each call reaches); the chatbot spends a few cents
    // in the same batch, on the same model.
    let mut records = vec![
        call_of("search", "search-1", &stage, 28_000_000),
        call_of("support-chatbot", "chat-1", &stage, 2_000),
    ];
    // A call that names neither application counts for neither budget.
    records.push(call_of("reports", "reports-1", &stage, 2_800_000));
    let event = awslogs_event(&records, stage.clock.now());
    let (answer, handled) = stage.meter_usage(&meter, &event).await.unwrap();
    assert_eq!(answer["counted"], 2, "{answer}");
    assert_eq!(answer["unmatched"], 1, "{answer}");
    let totals: Vec<(String, f64)> = answer["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["budget"].as_str().unwrap().to_owned(),
                t["spent"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            ("bg-chatbot".to_owned(), 0.0363),
            ("bg-search".to_owned(), 462.0033)
        ],
        "{answer}"
    );
    let alerted: Vec<&str> = answer["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["budget_name"].as_str().unwrap())
        .collect();
    assert_eq!(alerted, ["bg-search"], "{answer}");
    assert!(handled.iter().all(Result::is_ok), "{handled:?}");

    assert_eq!(stage.model_of("search").await.unwrap(), HAIKU);
    assert_eq!(stage.model_of("support-chatbot").await.unwrap(), SONNET);
    assert!(
        stage.flag("support-chatbot").await.unwrap().is_none(),
        "the chatbot's flag never moved"
    );
}

/// The profile of `tests/fixtures/policies/unmapped-profile`.
const PROFILE: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/chatbot01";

#[tokio::test]
async fn a_call_through_an_unmapped_profile_is_priced_as_the_model_the_provisioner_recorded() {
    let stage = Stage::start(StageOptions {
        policy_dir: policy_fixture_path("unmapped-profile"),
        recorded_profiles: [(PROFILE.to_owned(), SONNET.to_owned())].into(),
        ..StageOptions::default()
    })
    .await
    .expect("stage");
    // The meter starts only if it reads the record: the policy alone cannot price the profile.
    let meter = stage.start_usage_meter().await.unwrap();

    let at = stage.clock.now() - Duration::seconds(20);
    let record = invocation_record("chat-1", PROFILE, at, 1_000, 2_000);
    let event = awslogs_event(&[record], stage.clock.now());
    let (answer, _) = stage.meter_usage(&meter, &event).await.unwrap();
    assert_eq!(answer["counted"], 1, "{answer}");
    assert_eq!(answer["unpriced"], serde_json::json!([]), "{answer}");
    // The recorded model's price, us. Sonnet 4.5: 1,000 input tokens at $3.30 and 2,000 output
    // tokens at $16.50 a million.
    assert_eq!(answer["totals"][0]["budget"], "bg-chatbot", "{answer}");
    let spent: f64 = answer["totals"][0]["spent"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(spent, 0.0363, "{answer}");
}
