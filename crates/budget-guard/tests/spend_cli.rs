//! `budget-guard spend` and `estimate --from-metrics` end to end: the built binary against the
//! local emulator's CloudWatch, seeded with Bedrock token metrics.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use guard_testkit::Emulator;
use serde_json::Value;

const SONNET_US: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

async fn seed(aws: &Emulator, when: DateTime<Utc>, metric: &str, tokens: f64) {
    aws.put_bedrock_metrics(SONNET_US, &[(metric, tokens)], when)
        .await
        .unwrap();
}

fn cli(aws: &Emulator, args: &[&str]) -> (i32, String, String) {
    let run = common::run_on_emulator(aws, args, &[]);
    (run.code.unwrap_or(-1), run.stdout, run.stderr)
}

#[tokio::test]
async fn spend_and_estimate_from_metrics() {
    let aws = Emulator::start().expect("emulator");
    // 28M output ($462) and 1M input ($3.30) of us. Sonnet 4.5 this month, 2M output in October.
    seed(&aws, at(3, 10), "OutputTokenCount", 20_000_000.0).await;
    seed(&aws, at(11, 10), "OutputTokenCount", 8_000_000.0).await;
    seed(&aws, at(11, 11), "InputTokenCount", 1_000_000.0).await;
    seed(
        &aws,
        Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap(),
        "OutputTokenCount",
        2_000_000.0,
    )
    .await;

    let (code, stdout, stderr) = cli(
        &aws,
        &[
            "spend",
            "policies/example.yaml",
            "--format",
            "json",
            "--at",
            "2026-11-12T06:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let chatbot = json["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "bg-chatbot")
        .unwrap();
    assert_eq!(chatbot["amount"].as_f64(), Some(500.0));
    assert_eq!(chatbot["spent"].as_f64(), Some(465.3));
    assert!(chatbot["forecast"].as_f64().unwrap() >= 465.3);
    let model = &chatbot["by_model"][0];
    assert_eq!(model["model_id"], SONNET_US);
    assert_eq!(
        (
            model["input_tokens"].as_u64(),
            model["output_tokens"].as_u64()
        ),
        (Some(1_000_000), Some(28_000_000))
    );
    assert_eq!(model["cost"].as_f64(), Some(465.3));
    let crossed: Vec<&str> = chatbot["crossed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(crossed, ["50%", "80% forecasted", "90%"]);

    let (code, text, stderr) = cli(
        &aws,
        &[
            "spend",
            "policies/example.yaml",
            "--at",
            "2026-11-12T06:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("bg-chatbot: $465.30 of $500.00 monthly so far"),
        "{text}"
    );

    // The last 7 days hold the 8M output and 1M input: $135.30, about $579.86 over 30 days.
    let (code, stdout, stderr) = cli(
        &aws,
        &[
            "estimate",
            "policies/example.yaml",
            "--from-metrics",
            "7d",
            "--format",
            "json",
            "--at",
            "2026-11-12T06:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        json["budgets"].as_array().unwrap().len() == 2,
        "the policy's own estimate is still there"
    );
    let measured = json["measured"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "bg-chatbot")
        .unwrap();
    assert_eq!(measured["measured"].as_f64(), Some(135.3));
    assert_eq!(measured["projected"].as_f64(), Some(579.86));

    let (code, text, stderr) = cli(
        &aws,
        &[
            "estimate",
            "policies/example.yaml",
            "--from-metrics",
            "7d",
            "--at",
            "2026-11-12T06:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("Measured usage over the last 7 days"),
        "{text}"
    );
    assert!(
        text.contains("bg-chatbot: "),
        "the policy's own estimate comes first: {text}"
    );

    let (code, _, stderr) = cli(
        &aws,
        &["estimate", "policies/example.yaml", "--from-metrics", "7y"],
    );
    assert_eq!(code, 2, "{stderr}");
}
