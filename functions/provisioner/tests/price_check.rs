//! The weekly price check, in the provisioner binary under a local Lambda runtime: the Price List
//! answered by a local listener with the recorded pages (`AWS_ENDPOINT_URL_PRICING`), CloudWatch
//! by the emulator. A price of a model the policy names that moved by more than 1% is counted in
//! the `PriceChanges` metric, which the stack's alarm turns into a message to the alarm channels.

use guard_testkit::{Emulator, HttpRecorder, LocalLambda, Reply, Script, workspace_root};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A GetProducts answer from the recorded pages.
fn page(file: &str) -> Reply {
    let text = std::fs::read_to_string(
        workspace_root()
            .join("tests/fixtures/price-list/us-east-1")
            .join(file),
    )
    .unwrap();
    Reply::ok()
        .header("content-type", "application/x-amz-json-1.1")
        .body(&text)
}

struct Checked {
    aws: Emulator,
    price_list: HttpRecorder,
    answer: Value,
}

async fn check(policy: &str) -> Checked {
    let aws = Emulator::start().expect("emulator");
    // The order the check asks in: AmazonBedrock (two pages), then the other two service codes.
    let price_list = HttpRecorder::start(Script::replies([
        page("AmazonBedrock-1.json"),
        page("AmazonBedrock-2.json"),
        page("AmazonBedrockFoundationModels-1.json"),
        page("AmazonBedrockService-1.json"),
    ]))
    .expect("listener");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), policy).unwrap();
    let mut env = aws.env_vars();
    env.push(("AWS_ENDPOINT_URL_PRICING".into(), price_list.base_url()));
    env.push((
        "BUDGET_GUARD_POLICY_DIR".into(),
        dir.path().display().to_string(),
    ));
    env.push((
        "BUDGET_GUARD_METRICS_NAMESPACE".into(),
        "BudgetGuard".into(),
    ));
    let lambda = LocalLambda::start(
        Path::new(env!("CARGO_BIN_EXE_provisioner")),
        "provisioner",
        &env,
    )
    .expect("lambda");
    let event = json!({"version": "0", "id": "w1", "detail-type": "price-check",
        "source": "budget-guard.schedule", "detail": {}});
    let answer = lambda
        .invoke(&event, TIMEOUT)
        .await
        .unwrap()
        .result
        .expect("the check succeeds");
    Checked {
        aws,
        price_list,
        answer,
    }
}

/// The `PriceChanges` data the emulator holds. The window is wide on purpose: the emulator stamps
/// a datum with its own clock, and the tests run with the clock shifted too, so no window near
/// "now" would be right in both.
async fn price_changes_metric(aws: &Emulator) -> Vec<f64> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws.sdk_config().await);
    let stats = cloudwatch
        .get_metric_statistics()
        .namespace("BudgetGuard")
        .metric_name("PriceChanges")
        .start_time(aws_smithy_types::DateTime::from_secs(1))
        // 2100-01-01.
        .end_time(aws_smithy_types::DateTime::from_secs(4_102_444_800))
        .period(60)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .send()
        .await
        .unwrap();
    stats
        .datapoints()
        .iter()
        .filter_map(|d| d.maximum())
        .collect()
}

#[tokio::test]
async fn a_changed_price_of_a_policy_model_is_counted_for_the_alarm() {
    // The writing assistant's ladder has Nova Pro, whose input price the pages raise 6.25% (and
    // its batch input too), and its Priority input 7.14%.
    let example = std::fs::read_to_string(workspace_root().join("policies/example.yaml")).unwrap();
    let checked = check(&example).await;
    assert_eq!(checked.answer["PriceChanges"], 3, "{}", checked.answer);
    assert_eq!(checked.answer["Region"], "us-east-1");
    let changes = checked.answer["Changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .all(|c| c["model_id"] == "amazon.nova-pro-v1:0")
    );
    assert_eq!(price_changes_metric(&checked.aws).await, [3.0]);

    // What was asked: GetProducts per service code, the second AmazonBedrock page by its token.
    let asked: Vec<(Option<String>, Value, Value)> = checked
        .price_list
        .requests()
        .iter()
        .map(|r| {
            let body = r.json.clone().unwrap_or_default();
            (
                r.header("x-amz-target").map(str::to_owned),
                body["ServiceCode"].clone(),
                body["NextToken"].clone(),
            )
        })
        .collect();
    let target = Some("AWSPriceListService.GetProducts".to_owned());
    assert_eq!(
        asked,
        [
            (target.clone(), json!("AmazonBedrock"), Value::Null),
            (
                target.clone(),
                json!("AmazonBedrock"),
                json!("eyJwYWdlIjogMn0=")
            ),
            (
                target.clone(),
                json!("AmazonBedrockFoundationModels"),
                Value::Null
            ),
            (target, json!("AmazonBedrockService"), Value::Null),
        ]
    );
}

#[tokio::test]
async fn changes_to_models_the_policy_does_not_name_are_not_counted() {
    let policy = "version: 1\nroutes:\n  chat:\n    ladder: [us.amazon.nova-lite-v1:0]\n";
    let checked = check(policy).await;
    assert_eq!(checked.answer["PriceChanges"], 0, "{}", checked.answer);
    assert_eq!(price_changes_metric(&checked.aws).await, [0.0]);
}
