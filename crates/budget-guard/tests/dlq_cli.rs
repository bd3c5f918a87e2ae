//! `budget-guard dlq list|replay` against the local emulator's SQS and a Slack listener: records
//! of every kind the dead-letter queue receives are listed without being consumed, the alert
//! handler's are replayed through its code and deleted, a record that fails stays and the command
//! exits 1, and other functions' records are left alone.

mod common;

use common::workspace;
use guard_testkit::{Emulator, ExampleAlertAccount, Script};
use serde_json::{Value, json};
use std::process::Command;

const ALERTS: &str = "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts";
const HANDLER: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:BudgetGuard-AlertHandler-X1:$LATEST";
const AT: &str = "2026-11-12T07:00:00Z";

/// bg-chatbot's ACTUAL alert at $450 of $500.
fn message_90() -> String {
    guard_testkit::BudgetsAlert::default().text()
}

/// A Lambda on-failure destination record, as Lambda writes it to an SQS destination.
fn destination_record(function_arn: &str, payload: Value) -> Value {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-12T06:45:02.318Z",
        "requestContext": {
            "requestId": "7a5b1c2e-0000-4e5f-9a0b-1234567890ab",
            "functionArn": function_arn,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "1 of 1 jobs failed: slack: 503", "errorType": "Failed"}
    })
}

fn run_env(aws: &Emulator, queue: &str, args: &[&str]) -> common::Run {
    common::run_on_emulator(aws, args, &[("BUDGET_GUARD_DLQ_URL", queue)])
}

fn list_json(aws: &Emulator, queue: &str) -> Vec<Value> {
    let r = run_env(aws, queue, &["dlq", "list", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.transcript()))
}

fn flag_step(aws: &Emulator) -> i64 {
    let r = common::run_on_emulator(
        aws,
        &[
            "flags",
            "list",
            "--policy",
            "policies/example.yaml",
            "--format",
            "json",
        ],
        &[],
    );
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    rows[0]["step"].as_i64().unwrap()
}

#[tokio::test]
async fn dlq_list_shows_without_consuming_and_replay_handles_and_deletes() {
    let account = ExampleAlertAccount::start(Script::always(200))
        .await
        .unwrap();
    let (aws, slack, notify_topic) = (&account.aws, &account.slack, &account.notify_topic);
    let config = aws.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .create_queue()
        .queue_name("budget-guard-dlq")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    // 1. The alert handler failed on a Budgets alert: its destination record.
    let sns_event = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "dl-1", "TopicArn": ALERTS, "Message": message_90()}}]});
    // 2. The spend watcher's tick: not the alert handler's to replay.
    let spend_tick = json!({"version": "0", "source": "budget-guard.schedule", "detail-type": "spend-tick", "time": "2026-11-12T06:44:00Z", "detail": {}});
    // 3. A roll-over tick from eleven days before --at: the handler refuses it, so it must stay.
    let old_tick = json!({"version": "0", "source": "budget-guard.schedule", "detail-type": "rollover-tick", "time": "2026-11-01T00:05:00Z", "detail": {}});
    let bodies = [
        destination_record(HANDLER, sns_event),
        destination_record(
            "arn:aws:lambda:us-east-1:123456789012:function:BudgetGuard-SpendWatcher-X2:$LATEST",
            spend_tick,
        ),
        destination_record(HANDLER, old_tick),
    ];
    for body in &bodies {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }

    // list: every record, unwrapped; listing twice shows the same, so nothing was consumed.
    let listed = list_json(aws, &queue);
    assert_eq!(listed.len(), 3, "{listed:#?}");
    assert_eq!(list_json(aws, &queue).len(), 3);
    let by_summary = |s: &str| {
        listed
            .iter()
            .find(|m| m["event_summary"] == s)
            .unwrap_or_else(|| panic!("no {s} in {listed:#?}"))
            .clone()
    };
    let alert = by_summary("SNS message from budget-guard-alerts");
    assert_eq!(alert["source"], "lambda-destination");
    assert_eq!(alert["function"], "BudgetGuard-AlertHandler-X1");
    assert_eq!(alert["condition"], "RetriesExhausted");
    assert_eq!(alert["attempts"], 3);
    assert_eq!(alert["error"], "Failed: 1 of 1 jobs failed: slack: 503");
    assert_eq!(alert["replayable"], true);
    assert_eq!(alert["event"]["Records"][0]["Sns"]["MessageId"], "dl-1");
    let watcher = by_summary("spend-tick");
    assert_eq!(watcher["replayable"], false);
    assert_eq!(watcher["function"], "BudgetGuard-SpendWatcher-X2");
    assert_eq!(by_summary("rollover-tick")["replayable"], true);

    let r = run_env(aws, &queue, &["dlq", "list"]);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    assert!(r.stdout.contains("SOURCE"), "{}", r.transcript());
    assert!(
        r.stdout
            .contains("3 message(s), 2 replayable with `budget-guard dlq replay`"),
        "{}",
        r.transcript()
    );

    let replay = |dry_run: bool| {
        let mut args = vec![
            "dlq",
            "replay",
            "policies/example.yaml",
            "--at",
            AT,
            "--alerts-topic-arn",
            ALERTS,
            "--notify-topic-arn",
            notify_topic,
        ];
        if dry_run {
            args.push("--dry-run");
        }
        run_env(aws, &queue, &args)
    };

    // A dry run handles and deletes nothing.
    let r = replay(true);
    assert_eq!(r.code, Some(0), "{}", r.transcript());
    assert!(
        r.stdout.contains("2 would be replayed, 1 left"),
        "{}",
        r.transcript()
    );
    assert_eq!(flag_step(aws), 1);
    assert!(slack.posted_json().is_empty());
    assert_eq!(list_json(aws, &queue).len(), 3);

    // The replay: the alert is handled by the alert handler's code (the flag steps down, Slack is
    // told) and deleted; the refused tick stays and makes the exit code 1; the watcher's tick stays.
    let r = replay(false);
    assert_eq!(r.code, Some(1), "{}", r.transcript());
    assert!(
        r.stdout
            .contains("1 replayed and deleted, 1 failed (kept on the queue), 1 left"),
        "{}",
        r.transcript()
    );
    assert!(r.stdout.contains("refused"), "{}", r.transcript());
    assert_eq!(flag_step(aws), 2);
    assert!(slack.posted_json()[0].to_string().contains("stepped down"));
    let left = list_json(aws, &queue);
    let mut summaries: Vec<&str> = left
        .iter()
        .map(|m| m["event_summary"].as_str().unwrap())
        .collect();
    summaries.sort();
    assert_eq!(summaries, ["rollover-tick", "spend-tick"], "{left:#?}");

    // What stays is visible again at once: a second replay sees it (and fails on it again).
    let r = replay(false);
    assert_eq!(r.code, Some(1), "{}", r.transcript());
    assert!(
        r.stdout
            .contains("0 replayed and deleted, 1 failed (kept on the queue), 1 left"),
        "{}",
        r.transcript()
    );
}

#[test]
fn dlq_without_a_queue_says_where_to_find_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_budget-guard"))
        .args(["dlq", "list"])
        .current_dir(workspace())
        .env_remove("BUDGET_GUARD_DLQ_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--queue-url") && stderr.contains("DeadLetterQueueUrl"),
        "{stderr}"
    );
}
