//! The spend-watcher function against the local emulator: the example policy's watched budgets,
//! seeded Bedrock token metrics, one tick that alerts, the next that does not, and the estimate
//! metric the dashboard reads.

use chrono::{DateTime, TimeZone, Utc};
use guard_testkit::Emulator;
use spend_watcher::Watcher;
use std::path::PathBuf;

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
}

/// Seeds Bedrock's OutputTokenCount for `model` in the minute at 12:05 on 12 November 2026.
async fn seed_output_tokens(aws: &Emulator, model: &str, tokens: f64) {
    aws.put_bedrock_metrics(model, &[("OutputTokenCount", tokens)], at(12, 5, 0))
        .await
        .unwrap();
}

#[tokio::test]
async fn ticks_alert_once_and_publish_the_estimate() {
    let aws = Emulator::start().expect("emulator");
    let sdk = aws.sdk_config().await;
    let topic = aws.create_topic("alerts").await.unwrap();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/example.yaml");
    let (policy, _) = guard_aws::policy_files::load_policy(&[example]).expect("example policy");
    // The chatbot budget ($500): 28M us. Sonnet 4.5 output tokens at $16.50 per 1M = $462.
    seed_output_tokens(
        &aws,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        28_000_000.0,
    )
    .await;
    let watcher = Watcher::new(policy, &sdk, &topic, "BudgetGuard");
    let first = watcher.tick(at(12, 6, 0)).await.expect("tick");
    let alerts = first["alerts"].as_array().unwrap();
    // 50%, 80% forecasted and 90% of the chatbot budget. The writing assistant's scope lists its
    // own Nova models, so the chatbot's Claude tokens do not count against it.
    let of = |b: &str| alerts.iter().filter(|a| a["budget_name"] == b).count();
    assert_eq!(
        (of("bg-chatbot"), of("bg-writing-assistant")),
        (3, 0),
        "{first:#}"
    );
    assert_eq!(aws.sns_published(&topic).await.unwrap().len(), 3);
    let budgets = first["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 2);
    assert_eq!(budgets[0]["spent"].as_f64(), Some(462.0));

    // The next minute: not due (the memory says 90% is tripped, 100% is $38 away), no publish.
    let second = watcher.tick(at(12, 6, 1)).await.expect("tick");
    assert!(
        second["alerts"].as_array().unwrap().is_empty(),
        "{second:#}"
    );
    assert_eq!(aws.sns_published(&topic).await.unwrap().len(), 3);

    let state = aws.state().await.unwrap().to_string();
    assert!(state.contains("EstimatedSpend") && state.contains("bg-chatbot"));
}

/// A budget scoped to an application inference profile that the policy does not map: the spend
/// watcher prices the profile's tokens as the model the provisioner recorded for it, and refuses
/// to start without that record rather than leave the tokens unpriced.
#[tokio::test]
async fn a_profile_arn_is_priced_as_the_recorded_model() {
    use guard_aws::ssm::ProfileMapping;
    use guard_aws::wiring::env::{DeployedPolicyError, NoProfilesParameter, load_deployed_policy};
    use guard_core::pricing::inference_profile::RecordedProfilesError;
    use std::collections::BTreeMap;

    const PROFILE: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/chatbot01";
    const PARAMETER: &str = "/budget-guard/state/profiles";
    let aws = Emulator::start().expect("emulator");
    let sdk = aws.sdk_config().await;
    let topic = aws.create_topic("alerts").await.unwrap();
    // A watched budget of the profile and us. Haiku 4.5, with an 80% threshold.
    let dir = guard_testkit::policy_fixture_path("unmapped-profile");
    let paths = dir.as_path();
    let mapping = ProfileMapping::from_config(&sdk, PARAMETER);

    let unnamed = load_deployed_policy(paths, None).await.unwrap_err();
    assert!(
        matches!(&unnamed, DeployedPolicyError::NoParameter(NoProfilesParameter(arns)) if arns.contains(PROFILE)),
        "{unnamed}"
    );
    let unrecorded = load_deployed_policy(paths, Some(&mapping))
        .await
        .unwrap_err();
    assert!(
        matches!(
            unrecorded,
            DeployedPolicyError::Recorded(RecordedProfilesError::Missing { .. })
        ),
        "{unrecorded}"
    );

    // What the provisioner records at deploy.
    mapping
        .write(&BTreeMap::from([(
            PROFILE.to_owned(),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0".to_owned(),
        )]))
        .await
        .unwrap();
    let policy = load_deployed_policy(paths, Some(&mapping))
        .await
        .expect("priced from the record");
    // 28M output tokens through the profile, at us. Sonnet 4.5's $16.50 per 1M: $462.
    seed_output_tokens(&aws, PROFILE, 28_000_000.0).await;
    let watcher = Watcher::new(policy, &sdk, &topic, "BudgetGuard");
    let run = watcher.tick(at(12, 6, 0)).await.expect("tick");
    let budgets = run["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 1, "{run:#}");
    assert_eq!(budgets[0]["spent"].as_f64(), Some(462.0), "{run:#}");
    assert_eq!(run["alerts"].as_array().unwrap().len(), 1, "{run:#}");
}

/// With the fast path's table named, each tick compares the budgets it priced with the fast
/// path's counters: a counter 13% under the metrics' figure is drift, a budget with no spend on
/// either side is not, and both figures go to CloudWatch for the dashboard.
#[tokio::test]
async fn with_the_fast_path_a_tick_reconciles_its_figures_with_the_counters() {
    use guard_aws::dynamodb::usage_counters::{DynamoUsageCounters, KEY, TTL_ATTRIBUTE};
    use guard_core::usage::meter::{Charge, Counter, CounterKey};

    const TABLE: &str = "usage";
    let aws = Emulator::start().expect("emulator");
    let sdk = aws.sdk_config().await;
    let topic = aws.create_topic("alerts").await.unwrap();
    let ddb = guard_testkit::create_ttl_table(&sdk, TABLE, KEY, TTL_ATTRIBUTE)
        .await
        .unwrap();
    // The usage meter counted $400 of the chatbot's November.
    let charges = guard_core::usage::chunks::chunk(vec![Charge {
        request_id: "r1".into(),
        at: at(12, 5, 0),
        cost: rust_decimal::Decimal::from(400),
        counters: vec![Counter {
            key: CounterKey {
                budget: "bg-chatbot".into(),
                period_start: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            },
            expires_at: at(12, 5, 0).timestamp() + 86_400,
        }],
        expires_at: at(12, 5, 0).timestamp() + 86_400,
    }])
    .unwrap();
    DynamoUsageCounters::new(ddb, TABLE)
        .count_chunk(&charges.chunks[0])
        .await
        .unwrap();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/example.yaml");
    let (policy, _) = guard_aws::policy_files::load_policy(&[example]).expect("example policy");
    // $462 from the metrics, as in the first test.
    seed_output_tokens(
        &aws,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        28_000_000.0,
    )
    .await;
    let watcher = Watcher::new(policy, &sdk, &topic, "BudgetGuard").with_fast_path(&sdk, TABLE);
    let run = watcher.tick(at(12, 6, 0)).await.expect("tick");
    let compared = run["fast_path"].as_array().expect("reconciled");
    let of = |b: &str| compared.iter().find(|r| r["budget"] == b).unwrap();
    let chatbot = of("bg-chatbot");
    assert_eq!(chatbot["fast_path_usd"].as_f64(), Some(400.0), "{run:#}");
    assert_eq!(chatbot["metrics_usd"].as_f64(), Some(462.0), "{run:#}");
    assert_eq!(chatbot["drift_pct"].as_f64(), Some(-13.42), "{run:#}");
    assert_eq!(chatbot["drifted"], true);
    let quiet = of("bg-writing-assistant");
    assert_eq!(
        (&quiet["counter_found"], &quiet["drifted"]),
        (&serde_json::json!(false), &serde_json::json!(false))
    );
    let state = aws.state().await.unwrap().to_string();
    assert!(
        state.contains("FastPathDrift") && state.contains("FastPathSpend"),
        "the dashboard's metrics were not published"
    );
    assert_eq!(aws.call_count("dynamodb", "BatchGetItem"), 1);
}
