//! The cases of "routing flags that stay right under any order of events", each across processes:
//! the real function binaries and the CLI against the emulator, on the stage's clock, so every
//! one happens on the date it names whatever today's date is.

use chrono::{DateTime, TimeZone, Utc};
use guard_e2e::{INVOKE_TIMEOUT, Stage, StageOptions, scheduled_event};
use guard_testkit::{Reply, Script, budgets_alert_text, policy_fixture_path, workspace_root};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ROUTE: &str = "support-chatbot";
use guard_e2e::SONNET_4_5 as SONNET;
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_LITE: &str = "us.amazon.nova-lite-v1:0";

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a valid time")
}

async fn stage(policy_dir: PathBuf, slack: Script) -> Stage {
    let stage = Stage::start(StageOptions {
        policy_dir,
        slack,
        ..StageOptions::default()
    })
    .await
    .expect("stage");
    let apply = stage.cli(&["apply", "--yes"]).expect("apply runs");
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    stage
}

fn texts(stage: &Stage) -> Vec<String> {
    stage
        .slack
        .posted_json()
        .iter()
        .map(|p| p.to_string())
        .collect()
}

/// AWS Budgets' alert for `budget`, dated `date`, for a daily budget when `daily`.
fn alert(
    budget: &str,
    budgeted: &str,
    threshold: &str,
    date: DateTime<Utc>,
    daily: bool,
) -> String {
    let text = budgets_alert_text(
        budget,
        budgeted,
        threshold,
        threshold,
        &date.format("%B %-d, %Y").to_string(),
    );
    if daily {
        text.replace("for the current month", "per day")
    } else {
        text
    }
}

/// AWS Budgets' alert for the chatbot budget crossing `threshold` dollars of $500, dated `date`.
async fn chatbot_alert(stage: &Stage, threshold: &str, date: DateTime<Utc>) {
    let message = alert("bg-chatbot", "500.00", threshold, date, false);
    let answers = publish(stage, "bg-chatbot", &message).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
}

async fn publish(stage: &Stage, budget: &str, message: &str) -> Vec<Result<Value, Value>> {
    let subject = format!("AWS Budgets: {budget} has exceeded your alert threshold");
    stage
        .publish_alert(&subject, message)
        .await
        .expect("published")
}

#[tokio::test]
async fn a_daily_rollover_leaves_the_monthly_budgets_step_in_force() {
    let stage = stage(policy_fixture_path("two-budgets"), Script::always(200)).await;
    let nov20 = at(2026, 11, 20, 14, 0);
    stage.set_clock(nov20).unwrap();
    chatbot_alert(&stage, "450.00", nov20).await;
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
    let daily = alert("bg-chatbot-daily", "30.00", "30.00", nov20, true);
    publish(&stage, "bg-chatbot-daily", &daily).await;
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), NOVA_LITE);

    // The daily period ends: back to the monthly budget's step, not to the top.
    let tick = stage.rollover_tick(at(2026, 11, 21, 0, 5)).await.unwrap();
    assert!(tick.is_ok(), "{tick:?}");
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
    let posts = texts(&stage);
    assert!(
        posts.last().unwrap().contains("still requires"),
        "{posts:?}"
    );
    // The ticks of the rest of the month leave it there; the month's end restores it.
    for day in [22, 30] {
        stage
            .rollover_tick(at(2026, 11, day, 0, 5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
    }
    stage
        .rollover_tick(at(2026, 12, 1, 0, 5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), SONNET);
}

#[tokio::test]
async fn a_late_alert_after_the_rollover_is_told_and_moves_nothing() {
    let stage = stage(workspace_root().join("policies"), Script::always(200)).await;
    stage
        .rollover_tick(at(2026, 12, 1, 0, 5))
        .await
        .unwrap()
        .unwrap();
    // November's 100% alert arrives on 1 December, after the roll-over.
    stage.set_clock(at(2026, 12, 1, 3, 0)).unwrap();
    let late = alert(
        "bg-chatbot",
        "500.00",
        "500.00",
        at(2026, 11, 30, 0, 0),
        false,
    );
    let answers = publish(&stage, "bg-chatbot", &late).await;
    assert!(answers[0].is_ok(), "{answers:?}");
    assert_eq!(stage.flag(ROUTE).await.unwrap(), None);
    let posts = texts(&stage);
    assert!(posts.last().unwrap().contains("Late"), "{posts:?}");
    // And the next tick finds nothing to undo.
    stage
        .rollover_tick(at(2026, 12, 1, 4, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), SONNET);
}

#[tokio::test]
async fn forged_alerts_on_the_alerts_topic_move_nothing() {
    let stage = stage(workspace_root().join("policies"), Script::always(200)).await;
    let nov20 = at(2026, 11, 20, 14, 0);
    stage.set_clock(nov20).unwrap();
    let spend = |fields: Value| {
        let mut alert = json!({"schema": "budget-guard/spend-alert@1", "budget_name": "bg-chatbot",
            "alert_type": "ACTUAL", "threshold": 500.0, "budgeted": 500.0, "amount": 501.0,
            "period": "monthly", "period_start": "2026-11-01", "observed_at": "2026-11-20T14:00:00Z",
            "source": "spend-watcher"});
        for (k, v) in fields.as_object().unwrap() {
            alert[k] = v.clone();
        }
        alert.to_string()
    };
    // A period that does not contain observed_at (it would have pinned the flag until 2099),
    // and a budgeted amount of 0 (it matched the 50% threshold by the alert's own numbers).
    publish(
        &stage,
        "bg-chatbot",
        &spend(json!({"period_start": "2099-01-01"})),
    )
    .await;
    publish(
        &stage,
        "bg-chatbot",
        &spend(json!({"budgeted": 0.0, "threshold": 0.0})),
    )
    .await;
    // An AWS Budgets alert for another account.
    let other = alert("bg-chatbot", "500.00", "500.00", nov20, false)
        .replace(guard_testkit::ACCOUNT_ID, "999999999999");
    publish(&stage, "bg-chatbot", &other).await;
    assert_eq!(stage.flag(ROUTE).await.unwrap(), None);
    assert!(stage.slack.posted_json().is_empty(), "{:?}", texts(&stage));
}

#[tokio::test]
async fn direct_invokes_from_another_topic_or_time_are_refused() {
    let stage = stage(workspace_root().join("policies"), Script::always(200)).await;
    let nov20 = at(2026, 11, 20, 14, 0);
    stage.set_clock(nov20).unwrap();
    chatbot_alert(&stage, "500.00", nov20).await;
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), NOVA_LITE);

    // An SNS record from a topic that is not the alerts topic.
    let forged = guard_testkit::sns_event(
        "arn:aws:sns:us-east-1:123456789012:someone-elses-topic",
        "forged-1",
        Some("AWS Budgets"),
        &alert("bg-chatbot", "500.00", "450.00", nov20, false),
        "2026-11-20T14:00:00Z",
    );
    let answer = stage
        .alert_handler
        .invoke(&forged, INVOKE_TIMEOUT)
        .await
        .unwrap();
    let jobs = answer.result.unwrap();
    assert!(jobs["jobs"][0]["ignored"].is_string(), "{jobs}");

    // A tick whose time is far from the function's clock: it would restore every route.
    let far = scheduled_event("rollover-tick", at(2099, 1, 1, 0, 5));
    let answer = stage
        .alert_handler
        .invoke(&far, INVOKE_TIMEOUT)
        .await
        .unwrap();
    let answer = answer.result.unwrap();
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(answer["refused"].is_string(), "{answer}");
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), NOVA_LITE);
}

#[tokio::test]
async fn a_budget_removed_from_the_policy_releases_its_route() {
    let stage = stage(policy_fixture_path("two-budgets"), Script::always(200)).await;
    let nov20 = at(2026, 11, 20, 14, 0);
    stage.set_clock(nov20).unwrap();
    chatbot_alert(&stage, "450.00", nov20).await;
    let daily = alert("bg-chatbot-daily", "30.00", "30.00", nov20, true);
    publish(&stage, "bg-chatbot-daily", &daily).await;
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), NOVA_LITE);

    // The daily budget leaves the policy: the next tick, on the new policy, lets go of it
    // (replayed with the CLI at a time of our choosing).
    let dir = tempfile::tempdir().unwrap();
    let policy =
        std::fs::read_to_string(policy_fixture_path("two-budgets/two-budgets.yaml")).unwrap();
    let without_daily = &policy[..policy.find("  chatbot-daily:").unwrap()];
    std::fs::write(dir.path().join("policy.yaml"), without_daily).unwrap();
    let tick_at = at(2026, 11, 20, 15, 0);
    let event = dir.path().join("tick.json");
    std::fs::write(
        &event,
        scheduled_event("rollover-tick", tick_at).to_string(),
    )
    .unwrap();
    let run = stage
        .cli(&[
            "alert",
            "handle",
            "--event-file",
            event.to_str().unwrap(),
            dir.path().to_str().unwrap(),
            "--at",
            &tick_at.to_rfc3339(),
        ])
        .unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
}

#[tokio::test]
async fn a_flag_off_its_ladder_is_shown_as_such_and_rewritten_at_the_next_tick() {
    let stage = stage(workspace_root().join("policies"), Script::always(200)).await;
    let parameter = &stage.policy.routes[ROUTE].parameter;
    let foreign = json!({"version": 1, "route": ROUTE, "model_id": "us.anthropic.claude-opus-4-1-20250805-v1:0",
        "step": 1, "ladder_size": 3, "changed_at": "2026-11-20T09:00:00Z", "changed_by": "someone", "pinned": false});
    aws_sdk_ssm::Client::new(&stage.config)
        .put_parameter()
        .name(parameter)
        .value(foreign.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let list = stage.cli(&["flags", "list"]).unwrap();
    assert!(
        list.stdout
            .contains("claude-opus-4-1-20250805-v1:0 (OFF LADDER)"),
        "{}",
        list.stdout
    );
    let show = stage
        .cli(&["flags", "show", ROUTE, "--format", "json"])
        .unwrap();
    let row: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(row["off_ladder"], true, "{row}");

    stage
        .rollover_tick(at(2026, 11, 20, 10, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), SONNET);
    let posts = texts(&stage);
    assert!(
        posts.last().unwrap().contains("not on its ladder"),
        "{posts:?}"
    );
}

#[tokio::test]
async fn a_threshold_is_told_once_whichever_source_comes_first() {
    let stage = stage(workspace_root().join("policies"), Script::always(200)).await;
    let now = at(2026, 11, 20, 14, 0);
    // Seen by the spend watcher first.
    stage.seed_chatbot_at_92_percent(now).await.unwrap();
    let (_, handled) = stage.spend_tick(now).await.unwrap();
    assert!(handled.iter().all(Result::is_ok), "{handled:?}");
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
    let told = stage.slack.posted_json().len();
    let emails = stage.emails().await.unwrap().len();

    // AWS Budgets catches up hours later with the same 90% threshold: logged, not told again.
    stage.set_clock(now + chrono::Duration::hours(9)).unwrap();
    let answers = publish(
        &stage,
        "bg-chatbot",
        &alert("bg-chatbot", "500.00", "450.00", now, false),
    )
    .await;
    assert!(answers[0].is_ok(), "{answers:?}");
    assert_eq!(
        answers[0].as_ref().unwrap()["jobs"][0]["already_handled"],
        true
    );
    assert_eq!(stage.slack.posted_json().len(), told);
    assert_eq!(stage.emails().await.unwrap().len(), emails);
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
}

#[tokio::test]
async fn slack_rate_limits_stop_before_the_deadline_and_the_retry_posts_only_what_is_left() {
    // ops-a: 429 (Retry-After R), then 200. ops-b: 429, and no time left to wait for it. With
    // the handler's 3 s margin and 1 s least request, a timeout T below 2R + 4 leaves no room for
    // the second wait whatever the overhead, and the first wait fits while the work before it
    // takes under T - R - 4: 9 s here, so that a loaded machine does not change the story.
    const RETRY_AFTER: u64 = 10;
    const TIMEOUT: Duration = Duration::from_secs(2 * RETRY_AFTER + 3);
    let script = Script::replies([
        Reply::too_many_requests(RETRY_AFTER),
        Reply::ok(),
        Reply::too_many_requests(RETRY_AFTER),
        Reply::ok(),
    ]);
    let stage = stage(policy_fixture_path("two-slack-channels"), script).await;
    stage.alert_handler.set_function_timeout(TIMEOUT);
    let nov20 = at(2026, 11, 20, 14, 0);
    stage.set_clock(nov20).unwrap();
    let started = Instant::now();
    let answers = publish(
        &stage,
        "bg-chatbot",
        &alert("bg-chatbot", "500.00", "450.00", nov20, false),
    )
    .await;
    let took = started.elapsed();
    assert!(answers[0].is_err(), "{answers:?}");
    assert!(
        took < TIMEOUT,
        "the invocation ran past its deadline: {took:?}"
    );
    // ops-a: 429, waited for, 200; ops-b: 429 with no time left to wait: three requests.
    assert_eq!(stage.slack.requests().len(), 3);
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
    let flag = stage.flag(ROUTE).await.unwrap();

    // Lambda's retry posts to ops-b only, and leaves the flag alone.
    let event = stage.last_alert_event().unwrap();
    let retry = stage
        .alert_handler
        .invoke(&event, INVOKE_TIMEOUT)
        .await
        .unwrap();
    assert!(retry.result.is_ok(), "{:?}", retry.result);
    assert_eq!(stage.slack.requests().len(), 4, "one more post, to ops-b");
    assert_eq!(stage.flag(ROUTE).await.unwrap(), flag);
}

#[tokio::test]
async fn operators_commands_go_through_the_alert_handler_in_turn_with_alerts() {
    let stage = stage(workspace_root().join("policies"), Script::always(200)).await;
    let nov20 = at(2026, 11, 20, 14, 0);
    stage.set_clock(nov20).unwrap();
    chatbot_alert(&stage, "450.00", nov20).await;
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);

    // Pinned where it is (Lambda's Invoke of the alert handler, as the CLI does in AWS).
    let pin = stage
        .cli(&[
            "flags",
            "pin",
            ROUTE,
            "--who",
            "alice",
            "--reason",
            "launch day",
        ])
        .unwrap();
    assert_eq!(pin.code, 0, "{}{}", pin.stdout, pin.stderr);
    let flag = stage.flag(ROUTE).await.unwrap().unwrap();
    assert_eq!(
        (flag["model_id"].as_str(), flag["pinned"].as_bool()),
        (Some(HAIKU), Some(true))
    );
    assert_eq!(flag["changed_by"], "alice");

    // The 100% alert while pinned: told, the pin holds, and its requirement waits in the ledger.
    chatbot_alert(&stage, "500.00", nov20).await;
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), HAIKU);
    assert!(texts(&stage).last().unwrap().contains("pinned"));
    let unpin = stage.cli(&["flags", "unpin", ROUTE]).unwrap();
    assert_eq!(unpin.code, 0, "{}{}", unpin.stdout, unpin.stderr);
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), NOVA_LITE);

    // A step above what a budget requires has no effect, and the CLI says why.
    let set = stage.cli(&["flags", "set", ROUTE, "top"]).unwrap();
    assert_eq!(set.code, 0, "{}{}", set.stdout, set.stderr);
    assert!(
        set.stdout.contains("stays at step 3 because"),
        "{}",
        set.stdout
    );
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), NOVA_LITE);
    let restore = stage.cli(&["flags", "restore", ROUTE]).unwrap();
    assert_eq!(restore.code, 0, "{}{}", restore.stdout, restore.stderr);
    assert_eq!(stage.model_of(ROUTE).await.unwrap(), SONNET);

    // Another function name: nothing changed, and the message says where to look.
    let wrong = stage
        .cli(&["flags", "pin", ROUTE, "--alert-handler", "not-the-handler"])
        .unwrap();
    assert_ne!(wrong.code, 0);
    assert!(wrong.stderr.contains("not-the-handler"), "{}", wrong.stderr);
    assert_eq!(stage.flag(ROUTE).await.unwrap().unwrap()["pinned"], false);
}
