//! `budget-guard plan` and `apply` end to end: the built binary against the local emulator,
//! reached through the standard AWS environment (`AWS_ENDPOINT_URL`, region, credentials).

use guard_testkit::{ACCOUNT_ID, Emulator, workspace_root};
use std::process::{Command, Stdio};

struct Cli {
    aws: Emulator,
    alerts: String,
    notify: String,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn cli() -> Cli {
    let aws = Emulator::start().expect("emulator");
    let alerts = aws.create_topic("alerts").await.unwrap();
    let notify = aws.create_topic("notify").await.unwrap();
    aws.reset_calls();
    Cli {
        aws,
        alerts,
        notify,
    }
}

impl Cli {
    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, true)
    }

    fn run_without_notify(&self, args: &[&str]) -> Run {
        self.run_with(args, false)
    }

    fn run_with(&self, args: &[&str], notify: bool) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_budget-guard"));
        command
            .args(args)
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("BUDGET_GUARD_ACCOUNT_ID")
            .env_remove("BUDGET_GUARD_STACK_NAME")
            .env("BUDGET_GUARD_ALERTS_TOPIC_ARN", &self.alerts)
            .env(
                "BUDGET_GUARD_NOTIFY_TOPIC_ARN",
                if notify { self.notify.as_str() } else { "" },
            );
        for (key, value) in self.aws.env_vars() {
            command.env(key, value);
        }
        let output = command.output().expect("budget-guard runs");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

#[tokio::test]
async fn plan_apply_and_plan_again_against_the_emulator() {
    let cli = cli().await;
    let example = "policies/example.yaml";

    let plan = cli.run(&["plan", example, "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(2), "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("+ budget bg-chatbot: 500 USD MONTHLY"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains(&format!(
        "+ notification bg-chatbot: ACTUAL > 90% -> {}",
        cli.alerts
    )));
    assert!(
        plan.stdout
            .contains("+ email subscription finops@example.com (channel finops)")
    );
    assert!(
        plan.stdout
            .ends_with("Plan: 12 to create, 0 to update, 0 to delete.\n"),
        "{}",
        plan.stdout
    );
    assert!(cli.aws.write_calls().is_empty(), "plan writes nothing");

    // Not a terminal and no --yes: refused before any call.
    cli.aws.reset_calls();
    let refused = cli.run(&["apply", example]);
    assert_eq!(refused.code, Some(2));
    assert!(refused.stderr.contains("pass --yes"), "{}", refused.stderr);
    assert!(cli.aws.calls().is_empty());

    let apply = cli.run(&["apply", example, "--yes"]);
    assert_eq!(apply.code, Some(0), "{}{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("[ 1/12] "), "{}", apply.stdout);
    assert!(apply.stdout.contains("[12/12] "), "{}", apply.stdout);
    assert!(
        apply
            .stdout
            .ends_with("Apply complete: 12 applied, 0 failed, 0 skipped.\n"),
        "{}",
        apply.stdout
    );
    assert_eq!(cli.aws.call_count("budgets", "CreateBudget"), 2);

    cli.aws.reset_calls();
    let again = cli.run(&["plan", example, "--detailed-exitcode"]);
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert_eq!(
        again.stdout,
        "No changes: the account matches the policy.\n"
    );
    let json = cli.run(&["plan", example, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(value["changes"], serde_json::json!([]));
    let noop = cli.run(&["apply", example, "--yes"]);
    assert_eq!(noop.code, Some(0));
    assert!(
        cli.aws.write_calls().is_empty(),
        "{:?}",
        cli.aws.write_calls()
    );

    // The budgets are there, in the account of the topic ARN.
    let budgets = aws_sdk_budgets::Client::new(&cli.aws.sdk_config().await);
    let listed = budgets
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.budgets().len(), 2);
}

#[tokio::test]
async fn offline_plan_is_unchanged_and_live_errors_exit_1() {
    let cli = cli().await;
    let offline = cli.run(&[
        "plan",
        "policies/example.yaml",
        "--offline",
        "--alerts-topic-arn",
        "arn:aws:sns:r:1:t",
    ]);
    assert_eq!(offline.code, Some(0));
    assert!(
        offline
            .stdout
            .contains("+ notification bg-chatbot: ACTUAL > 90% -> arn:aws:sns:r:1:t")
    );
    assert!(cli.aws.calls().is_empty(), "offline calls nothing");

    // The PR workflow plans with the alerts topic only: budgets are planned, email left out.
    let budgets_only =
        cli.run_without_notify(&["plan", "policies/example.yaml", "--detailed-exitcode"]);
    assert_eq!(budgets_only.code, Some(2), "{}", budgets_only.stderr);
    assert!(
        budgets_only
            .stderr
            .contains("email subscriptions are left out"),
        "{}",
        budgets_only.stderr
    );
    assert!(
        budgets_only
            .stdout
            .ends_with("Plan: 10 to create, 0 to update, 0 to delete.\n"),
        "{}",
        budgets_only.stdout
    );

    let bad = cli.run(&[
        "plan",
        "policies/example.yaml",
        "--detailed-exitcode",
        "--alerts-topic-arn",
        "alerts",
    ]);
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("no account id in alerts: pass --account-id"),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn a_failed_change_stops_nothing_else_exits_1_and_the_next_apply_converges() {
    use aws_sdk_budgets::types as sdk;
    let cli = cli().await;
    let example = "policies/example.yaml";
    assert_eq!(cli.run(&["apply", example, "--yes"]).code, Some(0));
    let budgets = aws_sdk_budgets::Client::new(&cli.aws.sdk_config().await);
    let actual_50 = sdk::Notification::builder()
        .notification_type(sdk::NotificationType::Actual)
        .comparison_operator(sdk::ComparisonOperator::GreaterThan)
        .threshold(50.0)
        .threshold_type(sdk::ThresholdType::Percentage)
        .build()
        .unwrap();
    let below = |threshold: f64| {
        sdk::Notification::builder()
            .notification_type(sdk::NotificationType::Actual)
            .comparison_operator(sdk::ComparisonOperator::LessThan)
            .threshold(threshold)
            .build()
            .unwrap()
    };
    let email = sdk::Subscriber::builder()
        .subscription_type(sdk::SubscriptionType::Email)
        .address("someone@example.com")
        .build()
        .unwrap();
    // By hand: bg-chatbot loses one of the guard's notifications and gets seven of someone
    // else's (which the guard leaves alone), so it is at the limit of 10; bg-writing-assistant
    // is deleted.
    budgets
        .delete_notification()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-chatbot")
        .notification(actual_50)
        .send()
        .await
        .unwrap();
    for i in 1..=7 {
        budgets
            .create_notification()
            .account_id(ACCOUNT_ID)
            .budget_name("bg-chatbot")
            .notification(below(f64::from(i)))
            .subscribers(email.clone())
            .send()
            .await
            .unwrap();
    }
    guard_testkit::delete_budget_by_hand(&budgets, "bg-writing-assistant")
        .await
        .unwrap();
    cli.aws.reset_calls();

    let apply = cli.run(&["apply", example, "--yes"]);
    assert_eq!(apply.code, Some(1), "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stdout.contains(
            "failed: + notification bg-chatbot: ACTUAL > 50% -> "
        ) && apply.stdout.contains(
            "    CreateNotification: limit exceeded: A budget can have at most 10 notifications.\n"
        ),
        "{}",
        apply.stdout
    );
    assert!(
        apply
            .stdout
            .ends_with("Apply incomplete: 5 applied, 1 failed, 0 skipped.\n"),
        "{}",
        apply.stdout
    );
    assert_eq!(
        cli.aws.call_count("budgets", "CreateBudget"),
        1,
        "bg-writing-assistant was recreated all the same"
    );

    // Someone removes one of theirs: the next apply converges.
    budgets
        .delete_notification()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-chatbot")
        .notification(below(7.0))
        .send()
        .await
        .unwrap();
    let next = cli.run(&["apply", example, "--yes", "--format", "json"]);
    assert_eq!(next.code, Some(0), "{}{}", next.stdout, next.stderr);
    let report: serde_json::Value = serde_json::from_str(&next.stdout).expect("json");
    assert_eq!(
        report["summary"],
        serde_json::json!({"applied": 1, "failed": 0, "skipped": 0})
    );
    let again = cli.run(&["plan", example, "--detailed-exitcode"]);
    assert_eq!(again.code, Some(0), "{}", again.stdout);
}

/// The example policy with a hard stop at the chatbot's 100%, in a folder of its own.
fn policy_with_deny() -> tempfile::TempDir {
    let example = std::fs::read_to_string(workspace_root().join("policies/example.yaml")).unwrap();
    let at = "          to: cheapest\n";
    assert!(example.contains(at), "the example's 100% threshold moved");
    let policy = example.replacen(
        at,
        &format!("{at}        deny:\n          roles: [support-chatbot-app]\n"),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), policy).unwrap();
    dir
}

#[tokio::test]
async fn a_deny_needs_the_stacks_deny_policy_and_then_is_a_budgets_action() {
    let cli = cli().await;
    let dir = policy_with_deny();
    let policy = dir.path().to_str().unwrap();
    let deny = "arn:aws:iam::123456789012:policy/BudgetGuard-DenyBedrock";
    let role = "arn:aws:iam::123456789012:role/BudgetGuard-BudgetActions";
    let line = "+ budget action bg-chatbot: ACTUAL > 100%: deny Bedrock to roles support-chatbot-app (AUTOMATIC)";

    // Offline the action shows, its policy and role unset.
    let offline = cli.run(&["plan", "--offline", policy]);
    assert_eq!(
        offline.code,
        Some(0),
        "{}{}",
        offline.stdout,
        offline.stderr
    );
    assert!(offline.stdout.contains(line), "{}", offline.stdout);
    let json = cli.run(&["plan", "--offline", policy, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let action = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "budget_action")
        .expect("an action");
    assert_eq!(action["policy_arn"], serde_json::Value::Null);
    assert_eq!(action["roles"], serde_json::json!(["support-chatbot-app"]));

    // Live, without the deployment's deny policy and role: refused before any call.
    cli.aws.reset_calls();
    let refused = cli.run(&["plan", policy]);
    assert_eq!(
        refused.code,
        Some(1),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
    assert!(
        refused.stderr.contains("DenyPolicyArn"),
        "{}",
        refused.stderr
    );
    let half = cli.run(&["apply", policy, "--yes", "--deny-policy-arn", deny]);
    assert_eq!(half.code, Some(1), "{}{}", half.stdout, half.stderr);
    assert!(
        half.stderr
            .contains("--deny-policy-arn needs --budget-action-role-arn"),
        "{}",
        half.stderr
    );
    assert!(cli.aws.write_calls().is_empty());

    let with = [
        "--deny-policy-arn",
        deny,
        "--budget-action-role-arn",
        role,
        "--yes",
    ];
    let apply = cli.run(&[&["apply", policy][..], &with].concat());
    assert_eq!(apply.code, Some(0), "{}{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains(line), "{}", apply.stdout);
    assert_eq!(cli.aws.call_count("budgets", "CreateBudgetAction"), 1);

    cli.aws.reset_calls();
    let again = cli.run(&[&["apply", policy][..], &with].concat());
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert!(
        cli.aws.write_calls().is_empty(),
        "{:?}",
        cli.aws.write_calls()
    );
}
