//! `budget-guard alert parse|simulate` (no AWS), and `alert handle` and `flags` against the local
//! emulator and a Slack listener.

mod common;

use common::{run, workspace};
use guard_testkit::{Emulator, ExampleAlertAccount, Script};
use serde_json::Value;

const FIXTURES: &str = "tests/fixtures/alerts";
const NOT_ALERTS: [&str; 3] = [
    "sns-event-not-an-alert.json",
    "spend-alert-unknown-schema.json",
    "usage-budget-actual.txt",
];

/// bg-chatbot's ACTUAL alert at $450 of $500.
fn message_90() -> String {
    guard_testkit::BudgetsAlert::default().text()
}

#[test]
fn every_alert_fixture_parses_and_the_others_exit_1() {
    let dir = workspace().join(FIXTURES);
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !(name.ends_with(".txt") || name.ends_with(".json")) {
            continue;
        }
        seen += 1;
        let path = format!("{FIXTURES}/{name}");
        let r = run(&["alert", "parse", &path, "--format", "json"]);
        if NOT_ALERTS.contains(&name.as_str()) {
            assert_eq!(r.code, Some(1), "{}", r.transcript());
            assert!(r.stderr.contains("holds no alert"), "{}", r.transcript());
            continue;
        }
        assert_eq!(r.code, Some(0), "{}", r.transcript());
        let json: Value = serde_json::from_str(&r.stdout).unwrap();
        for key in [
            "kind",
            "budget_name",
            "alert_type",
            "threshold",
            "budgeted",
            "amount",
            "period",
        ] {
            assert!(json.get(key).is_some(), "{name}: no {key} in {json}");
        }
        assert!(
            json["threshold"].is_number() && json["amount"].is_number(),
            "{name}: {json}"
        );
        let text = run(&["alert", "parse", &path]);
        assert_eq!(text.code, Some(0), "{}", text.transcript());
    }
    assert!(seen >= 14, "fixtures: {seen}");
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let r = run(&["alert", "parse", "no/such/file.txt"]);
    assert_eq!(r.code, Some(2), "{}", r.transcript());
}

#[test]
fn simulate_says_what_would_happen() {
    let dir = tempfile::tempdir().unwrap();
    let message = dir.path().join("m90.txt");
    std::fs::write(&message, message_90()).unwrap();
    let m = message.to_str().unwrap();
    let r = run(&[
        "alert",
        "simulate",
        "--policy",
        "policies/example.yaml",
        "--message-file",
        m,
        "--at",
        "2026-11-12T06:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["budget"], "chatbot");
    assert_eq!(json["threshold"], "90%");
    let actions = json["actions"].as_array().unwrap();
    assert_eq!(actions[0]["type"], "downgrade");
    assert_eq!(actions[0]["route"], "support-chatbot");
    assert_eq!(
        actions[0]["to"],
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    assert_eq!(
        actions[1],
        serde_json::json!({"type": "slack", "channel": "platform-alerts"})
    );
    assert_eq!(
        actions[2],
        serde_json::json!({"type": "email", "channel": "finops"})
    );

    // With the route pinned, no downgrade, and a note saying why.
    let flags = dir.path().join("flags.json");
    std::fs::write(
        &flags,
        r#"[{"version":1,"route":"support-chatbot","model_id":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","step":1,
            "ladder_size":3,"budget":"bg-chatbot","period_start":"2026-11-01","reason":"demo","changed_at":"2026-11-02T00:00:00Z",
            "changed_by":"alice","pinned":true}]"#,
    )
    .unwrap();
    let r = run(&[
        "alert",
        "simulate",
        "--policy",
        "policies/example.yaml",
        "--message-file",
        m,
        "--flags-file",
        flags.to_str().unwrap(),
        "--at",
        "2026-11-12T06:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        json["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["type"] != "downgrade"),
        "{json}"
    );
    assert!(
        json["notes"][0].as_str().unwrap().contains("pinned"),
        "{json}"
    );

    // The shared fixture's SNS event: a budget the example policy does not have.
    let r = run(&[
        "alert",
        "simulate",
        "--policy",
        "policies/example.yaml",
        "--event-file",
        "tests/fixtures/alerts/sns-event-budget-alert.json",
        "--format",
        "json",
    ]);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["matched"], false, "{json}");
    // Nobody is told of alerts that are not the policy's unless `settings.unmatched_notify` says.
    assert_eq!(json["actions"], serde_json::json!([]), "{json}");
    assert!(
        json["notes"][0].as_str().unwrap().contains("unmatched"),
        "{json}"
    );

    // The same 90% alert, a month after its period: late, told, nothing moves.
    let r = run(&[
        "alert",
        "simulate",
        "--policy",
        "policies/example.yaml",
        "--message-file",
        m,
        "--at",
        "2026-12-02T06:00:00Z",
        "--format",
        "json",
    ]);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        json["notes"][0].as_str().unwrap().contains("late"),
        "{json}"
    );
    assert!(
        json["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["type"] != "downgrade"),
        "{json}"
    );
}

fn run_env(aws: &Emulator, args: &[&str]) -> common::Run {
    common::run_on_emulator(aws, args, &[("USER", "ci-bot")])
}

#[tokio::test]
async fn flags_commands_and_alert_handle_on_the_emulator() {
    let account = ExampleAlertAccount::start(Script::always(200))
        .await
        .unwrap();
    let (aws, slack, notify_topic) = (&account.aws, &account.slack, &account.notify_topic);
    let p = ["--policy", "policies/example.yaml"];

    let list = |aws: &Emulator| {
        let r = run_env(aws, &["flags", "list", p[0], p[1], "--format", "json"]);
        assert_eq!(r.code, Some(0), "{}", r.transcript());
        serde_json::from_str::<Vec<Value>>(&r.stdout).unwrap()
    };
    let rows = list(aws);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["route"], "support-chatbot");
    assert_eq!(rows[0]["step"], 1);
    assert_eq!(rows[0]["pinned"], false);

    // Changes go to the alert handler, the one writer of flags: without its name, nothing changes.
    let r = run_env(
        aws,
        &[
            "flags",
            "pin",
            "support-chatbot",
            p[0],
            p[1],
            "--who",
            "alice",
        ],
    );
    assert_eq!(r.code, Some(2), "a usage error: {}", r.transcript());
    assert!(
        r.stderr.contains("--alert-handler") && r.stderr.contains("nothing was changed"),
        "{}",
        r.transcript()
    );
    assert_eq!(list(aws)[0]["pinned"], false);
    let r = run_env(
        aws,
        &["flags", "set", "support-chatbot", "gpt-5", p[0], p[1]],
    );
    assert_ne!(r.code, Some(0), "{}", r.transcript());
    assert!(r.stderr.contains("not on the ladder"), "{}", r.transcript());

    // Replay an alert with the handler's code at the time it names: one step down, Slack told.
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    let alerts = "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts";
    let sns = serde_json::json!({"Records": [{"Sns": {"MessageId": "replay-1", "TopicArn": alerts, "Message": message_90()}}]});
    std::fs::write(&event, sns.to_string()).unwrap();
    let args = [
        "alert",
        "handle",
        "--event-file",
        event.to_str().unwrap(),
        "policies/example.yaml",
        "--at",
        "2026-11-12T07:00:00Z",
        "--alerts-topic-arn",
        alerts,
        "--notify-topic-arn",
        notify_topic,
    ];
    let r = run_env(aws, &args);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    assert_eq!(list(aws)[0]["step"], 2);
    assert!(slack.posted_json()[0].to_string().contains("stepped down"));
    assert_eq!(aws.sns_published(notify_topic).await.unwrap().len(), 1);
    // Again: already handled, nothing new.
    let r = run_env(aws, &args);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    assert!(
        r.stdout.contains("\"already_handled\": true"),
        "{}",
        r.transcript()
    );
    assert_eq!(slack.posted_json().len(), 1);

    let r = run_env(aws, &["flags", "show", "support-chatbot", p[0], p[1]]);
    assert!(r.stdout.contains("-> 2."), "{}", r.transcript());
}

/// The demo's cap rung: the 70% alert of `policies/examples/ladder-rungs.yaml` steps the route to
/// Haiku capped at 500 output tokens.
#[test]
fn simulate_steps_a_route_to_its_cap_rung() {
    let out = run(&[
        "alert",
        "simulate",
        "policies/examples/ladder-rungs.yaml",
        "--message-file",
        "policies/examples/ladder-rungs-alert-70pct.txt",
        "--at",
        "2026-11-12T06:41:09Z",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    assert!(
        out.stdout.contains(
            "downgrade chat: us.anthropic.claude-sonnet-4-5-20250929-v1:0 -> us.anthropic.claude-haiku-4-5-20251001-v1:0, max 500 output tokens"
        ),
        "{}",
        out.stdout
    );
}
