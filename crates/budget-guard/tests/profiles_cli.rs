//! Application inference profiles named in a policy without a `profiles:` entry: `budget-guard
//! profiles` and the live `plan` ask `bedrock:GetInferenceProfile` (a local listener answering as
//! Bedrock, through `AWS_ENDPOINT_URL_BEDROCK`) and price each as the model it routes to; `profiles
//! --write` records the answers so that offline commands and the stack need no call.

mod common;

use common::{Run, run_with_env};
use guard_testkit::{Emulator, HttpRecorder, Reply, Script};
use serde_json::{Value, json};

const LADDER_ARN: &str =
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/chatbot01";
const SCOPE_ARN: &str =
    "arn:aws:bedrock:eu-west-1:111122223333:application-inference-profile/reports02";
const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA_PRO: &str = "amazon.nova-pro-v1:0";

fn policy() -> String {
    format!(
        "version: 1
routes:
  chat:
    ladder:
      - {LADDER_ARN}
      - us.anthropic.claude-haiku-4-5-20251001-v1:0
budgets:
  chatbot:
    amount: 500
    period: monthly
    scope:
      models: [{LADDER_ARN}, us.anthropic.claude-haiku-4-5-20251001-v1:0]
    thresholds:
      - at: 80%
        notify: [ops]
        downgrade: {{route: chat, to: 2}}
    usage:
      - {{name: chat, route: chat, input_tokens: 1000, output_tokens: 1000, requests_per_day: 1000}}
  reports:
    amount: 100
    period: monthly
    scope:
      models: [{SCOPE_ARN}]
    thresholds:
      - at: 100%
        notify: [ops]
channels:
  ops:
    email: [ops@example.com]
settings:
  alarms: [ops]
"
    )
}

/// GetInferenceProfile's answer for an application profile routing to `model` in `regions`.
fn profile(arn: &str, model: &str, regions: &[&str]) -> Reply {
    let models: Vec<Value> = regions
        .iter()
        .map(|r| json!({"modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{model}")}))
        .collect();
    Reply::ok().header("content-type", "application/json").body(
        &json!({
            "inferenceProfileName": "profile",
            "inferenceProfileArn": arn,
            "inferenceProfileId": arn.rsplit('/').next().unwrap(),
            "models": models,
            "status": "ACTIVE",
            "type": "APPLICATION",
        })
        .to_string(),
    )
}

/// Asked in ARN order: the eu-west-1 one (a copy of the EU cross-region Nova Pro profile), then
/// the us-east-1 one (a copy of Sonnet 4.5 in one region).
fn bedrock() -> HttpRecorder {
    HttpRecorder::start(Script::replies([
        profile(
            SCOPE_ARN,
            NOVA_PRO,
            &["eu-west-1", "eu-west-3", "eu-central-1"],
        ),
        profile(LADDER_ARN, SONNET, &["us-east-1"]),
    ]))
    .expect("listener")
}

/// The AWS environment of a run with Bedrock at `endpoint` and nothing else reachable.
fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL_BEDROCK", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

fn run_env(args: &[&str], env: &[(String, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_with_env(args, &env)
}

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), policy()).unwrap();
    dir
}

#[test]
fn offline_an_unmapped_profile_is_an_unknown_model() {
    let dir = folder();
    let validated = run_env(
        &["validate", dir.path().to_str().unwrap()],
        &aws_env("http://127.0.0.1:9"),
    );
    assert_eq!(validated.code, Some(1), "{}", validated.transcript());
    assert!(
        validated.stderr.contains(LADDER_ARN),
        "{}",
        validated.stderr
    );
}

#[test]
fn for_the_stack_an_unmapped_profile_is_a_warning_and_export_lists_it() {
    let dir = folder();
    let path = dir.path().to_str().unwrap();
    let env = aws_env("http://127.0.0.1:9");

    let validated = run_env(&["validate", "--resolve-profiles-at-deploy", path], &env);
    assert_eq!(validated.code, Some(0), "{}", validated.transcript());
    assert_eq!(
        validated.stdout.matches("warning[BG801]").count(),
        3,
        "each place an unmapped ARN is named: {}",
        validated.stdout
    );
    assert!(
        validated.stdout.contains("resolves it"),
        "{}",
        validated.stdout
    );

    let exported = run_env(&["export", path], &env);
    assert_eq!(exported.code, Some(0), "{}", exported.transcript());
    assert!(
        exported.stderr.contains("warning[BG801]"),
        "{}",
        exported.stderr
    );
    let policy: Value = serde_json::from_str(&exported.stdout).unwrap();
    assert_eq!(
        policy["unresolved_profiles"],
        json!([SCOPE_ARN, LADDER_ARN]),
        "sorted, each once"
    );
    assert_eq!(policy["profiles_parameter"], "/budget-guard/state/profiles");

    // Mapped in the policy, a profile is not the stack's to resolve.
    std::fs::write(
        dir.path().join("profiles.yaml"),
        format!("version: 1\nprofiles:\n  {LADDER_ARN}: {SONNET}\n  {SCOPE_ARN}: eu.{NOVA_PRO}\n"),
    )
    .unwrap();
    let exported = run_env(&["export", path], &env);
    assert_eq!(exported.code, Some(0), "{}", exported.transcript());
    let policy: Value = serde_json::from_str(&exported.stdout).unwrap();
    assert_eq!(policy["unresolved_profiles"], json!([]));
}

#[test]
fn profiles_asks_bedrock_in_each_arns_region_and_writes_what_it_says() {
    let dir = folder();
    let path = dir.path().to_str().unwrap();
    let bedrock = bedrock();
    let env = aws_env(&bedrock.base_url());

    let listed = run_env(&["profiles", path, "--format", "json"], &env);
    assert_eq!(listed.code, Some(0), "{}", listed.transcript());
    let rows: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(
        rows,
        json!([
            {"arn": SCOPE_ARN, "model": format!("eu.{NOVA_PRO}"), "from": "bedrock"},
            {"arn": LADDER_ARN, "model": SONNET, "from": "bedrock"},
        ])
    );
    // One GET per profile, by its URL-encoded ARN, signed for the ARN's region.
    let asked: Vec<(String, String, bool)> = bedrock
        .requests()
        .iter()
        .map(|r| {
            let region = r
                .header("authorization")
                .is_some_and(|a| a.contains("/eu-west-1/bedrock/"));
            (r.method.clone(), r.path.clone(), region)
        })
        .collect();
    assert_eq!(
        asked,
        [
            (
                "GET".to_owned(),
                format!(
                    "/inference-profiles/{}",
                    SCOPE_ARN.replace(':', "%3A").replace('/', "%2F")
                ),
                true
            ),
            (
                "GET".to_owned(),
                format!(
                    "/inference-profiles/{}",
                    LADDER_ARN.replace(':', "%3A").replace('/', "%2F")
                ),
                false
            ),
        ]
    );

    // Recorded: the folder validates offline and asks nothing more.
    let file = dir.path().join("profiles.yaml");
    let written = run_env(&["profiles", path, "--write", file.to_str().unwrap()], &env);
    assert_eq!(written.code, Some(0), "{}", written.transcript());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("  {LADDER_ARN}: {SONNET}\n")),
        "{text}"
    );
    let asked_before = bedrock.requests().len();
    assert_eq!(
        run_env(&["validate", path], &env).code,
        Some(0),
        "the written map prices both"
    );
    let again = run_env(&["profiles", path], &env);
    assert_eq!(again.code, Some(0), "{}", again.transcript());
    assert!(again.stdout.contains("policy"), "{}", again.stdout);
    assert_eq!(
        asked_before, 4,
        "the listing and the --write run asked twice each"
    );
    assert_eq!(
        bedrock.requests().len(),
        asked_before,
        "recorded: nothing more is asked"
    );
    let estimate = run_env(&["estimate", path, "--format", "json"], &env);
    assert_eq!(estimate.code, Some(0), "{}", estimate.transcript());
    let estimated: Value = serde_json::from_str(&estimate.stdout).unwrap();
    // Sonnet 4.5 in-region (global figures): 1M in x 3 + 1M out x 15 a day, 30 days.
    assert_eq!(
        estimated["budgets"][0]["estimated"],
        json!(540.0),
        "{estimated}"
    );
}

#[test]
fn check_says_when_a_mapped_profile_runs_another_model() {
    let dir = folder();
    std::fs::write(
        dir.path().join("profiles.yaml"),
        format!(
            "version: 1\nprofiles:\n  {LADDER_ARN}: us.{SONNET}\n  {SCOPE_ARN}: eu.{NOVA_PRO}\n"
        ),
    )
    .unwrap();
    let bedrock = bedrock();
    let checked = run_env(
        &["profiles", dir.path().to_str().unwrap(), "--check"],
        &aws_env(&bedrock.base_url()),
    );
    assert_eq!(checked.code, Some(1), "{}", checked.transcript());
    assert!(
        checked
            .stdout
            .contains(&format!("policy; Bedrock says {SONNET}")),
        "{}",
        checked.stdout
    );
    assert!(
        checked.stdout.contains("policy; Bedrock agrees"),
        "{}",
        checked.stdout
    );
}

#[test]
fn a_profile_bedrock_does_not_know_stops_the_command() {
    let dir = folder();
    let bedrock = HttpRecorder::start(Script::replies([Reply::status(404)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", "ResourceNotFoundException")
        .body(r#"{"message":"The specified inference profile does not exist"}"#)]))
    .expect("listener");
    let listed = run_env(
        &["profiles", dir.path().to_str().unwrap()],
        &aws_env(&bedrock.base_url()),
    );
    assert_eq!(listed.code, Some(1), "{}", listed.transcript());
    assert!(
        listed
            .stderr
            .contains(&format!("GetInferenceProfile of {SCOPE_ARN} failed")),
        "{}",
        listed.stderr
    );
}

#[tokio::test]
async fn the_live_plan_resolves_profiles_before_planning() {
    let aws = Emulator::start().expect("emulator");
    let alerts = aws.create_topic("alerts").await.unwrap();
    let dir = folder();
    let bedrock = bedrock();
    // The emulator's environment, with Bedrock on the listener.
    let mut env = aws.env_vars();
    env.push(("AWS_ENDPOINT_URL_BEDROCK".into(), bedrock.base_url()));
    env.push(("BUDGET_GUARD_ALERTS_TOPIC_ARN".into(), alerts));
    let plan = run_env(&["plan", dir.path().to_str().unwrap()], &env);
    assert_eq!(plan.code, Some(0), "{}", plan.transcript());
    assert!(
        plan.stderr
            .contains(&format!("note: {LADDER_ARN} runs {SONNET}")),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stdout.contains("+ budget bg-chatbot: 500 USD MONTHLY"),
        "{}",
        plan.stdout
    );
    assert_eq!(bedrock.requests().len(), 2);
    // Offline, nothing is asked and the profile is unknown.
    let offline = run_env(&["plan", dir.path().to_str().unwrap(), "--offline"], &env);
    assert_eq!(offline.code, Some(1), "{}", offline.transcript());
    assert_eq!(bedrock.requests().len(), 2);
}

/// `-v` logs to stderr (the SDK's calls at debug with `-vv`); without it, nothing but the error.
#[test]
fn verbose_logs_the_calls_to_stderr() {
    let dir = folder();
    let path = dir.path().to_str().unwrap();
    let env = aws_env("http://127.0.0.1:9");
    let quiet = run_env(&["profiles", path], &env);
    assert_eq!(quiet.code, Some(1), "{}", quiet.transcript());
    assert!(!quiet.stderr.contains("DEBUG"), "{}", quiet.stderr);
    let verbose = run_env(&["-vv", "profiles", path], &env);
    assert_eq!(verbose.code, Some(1), "{}", verbose.transcript());
    assert!(verbose.stderr.contains("DEBUG"), "{}", verbose.stderr);
    assert!(verbose.stdout.is_empty(), "logs never go to stdout");
}
