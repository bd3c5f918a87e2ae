//! Ownership across processes: the `budget-guard` CLI of two deployments that share a prefix, a
//! budget made by hand with the prefix, and `apply --adopt`, against the stage's emulator.

use guard_e2e::{CliRun, STACK_NAME, Stage, StageOptions, create_topic};
use guard_testkit::ACCOUNT_ID;

/// The stage with the example policy applied by its own deployment (STACK_NAME).
async fn applied() -> Stage {
    let stage = Stage::start(StageOptions::default()).await.expect("stage");
    let apply = stage.cli(&["apply", "--yes"]).expect("apply runs");
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    stage
}

fn text(run: &CliRun) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

async fn budget_names(stage: &Stage) -> Vec<String> {
    let out = aws_sdk_budgets::Client::new(&stage.config)
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = out
        .budgets()
        .iter()
        .map(|b| b.budget_name().to_owned())
        .collect();
    names.sort();
    names
}

/// The one SNS subscriber of each notification of `budget`.
async fn sns_subscribers(stage: &Stage, budget: &str) -> Vec<String> {
    let client = aws_sdk_budgets::Client::new(&stage.config);
    let notifications = client
        .describe_notifications_for_budget()
        .account_id(ACCOUNT_ID)
        .budget_name(budget)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for n in notifications.notifications() {
        let subscribers = client
            .describe_subscribers_for_notification()
            .account_id(ACCOUNT_ID)
            .budget_name(budget)
            .notification(n.clone())
            .send()
            .await
            .unwrap();
        out.extend(
            subscribers
                .subscribers()
                .iter()
                .map(|s| s.address().to_owned()),
        );
    }
    out
}

async fn make_budget(stage: &Stage, name: &str, amount: &str) {
    let budgets = aws_sdk_budgets::Client::new(&stage.config);
    guard_testkit::create_hand_made_budget(&budgets, name, amount, &[])
        .await
        .unwrap();
}

async fn owner_tag(stage: &Stage, name: &str) -> Option<String> {
    let out = aws_sdk_budgets::Client::new(&stage.config)
        .list_tags_for_resource()
        .resource_arn(format!("arn:aws:budgets::{ACCOUNT_ID}:budget/{name}"))
        .send()
        .await
        .unwrap();
    out.resource_tags()
        .iter()
        .find(|t| t.key() == "budget-guard:owner")
        .map(|t| t.value().to_owned())
}

const OTHER_POLICY: &str = "version: 1
settings:
  budget_prefix: bg-
budgets:
  other:
    amount: 20
    period: monthly
    scope:
      services: [Amazon Bedrock]
    thresholds:
      - at: 90%
";

#[tokio::test]
async fn a_second_deployment_with_the_same_prefix_leaves_the_first_ones_budgets_alone() {
    let stage = applied().await;
    let first_topic = stage.alerts_topic_arn.clone();
    assert_eq!(
        owner_tag(&stage, "bg-chatbot").await.as_deref(),
        Some(STACK_NAME)
    );
    // Deployment "Other": its own topics, the same prefix.
    let sns = aws_sdk_sns::Client::new(&stage.config);
    let other_alerts = create_topic(&sns, "other-alerts").await.unwrap();
    let other_notify = create_topic(&sns, "other-notify").await.unwrap();
    let other = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--stack-name",
            "Other",
            "--alerts-topic-arn",
            &other_alerts,
            "--notify-topic-arn",
            &other_notify,
        ]);
        stage.cli(&all).expect("cli runs")
    };
    stage.aws.reset_calls();

    // The same policy would repoint the first deployment's subscribers to Other's topic, which a
    // full read sees (as every deploy reads): an error naming both deployments, and nothing
    // written.
    for command in [&["plan", "--full"][..], &["apply", "--yes", "--full"][..]] {
        let run = other(command);
        assert_eq!(run.code, 1, "{}", text(&run));
        for budget in ["bg-chatbot", "bg-writing-assistant"] {
            assert!(
                run.stderr.contains(&format!(
                    "budget {budget} belongs to deployment {STACK_NAME}, not Other"
                )),
                "{}",
                text(&run)
            );
        }
        assert!(!run.stdout.contains("UpdateSubscriber"));
    }
    assert!(
        stage.aws.write_calls().is_empty(),
        "{:?}",
        stage.aws.write_calls()
    );
    assert!(
        sns_subscribers(&stage, "bg-chatbot")
            .await
            .iter()
            .all(|s| *s == first_topic)
    );

    // A policy of its own with the same prefix: its budget is created, the first deployment's
    // are shown as not ours and neither deleted nor changed.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.yaml"), OTHER_POLICY).unwrap();
    let policy = dir.path().to_str().unwrap();
    let plan = other(&["plan", policy]);
    assert_eq!(plan.code, 0, "{}", text(&plan));
    assert!(plan.stdout.contains("+ budget bg-other"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("- budget"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(&format!(
            "! budget bg-chatbot: not ours (deployment {STACK_NAME}): left alone"
        )),
        "{}",
        plan.stdout
    );
    let apply = other(&["apply", policy, "--yes"]);
    assert_eq!(apply.code, 0, "{}", text(&apply));
    assert_eq!(
        budget_names(&stage).await,
        ["bg-chatbot", "bg-other", "bg-writing-assistant"]
    );
    assert_eq!(
        owner_tag(&stage, "bg-other").await.as_deref(),
        Some("Other")
    );
    assert!(
        sns_subscribers(&stage, "bg-chatbot")
            .await
            .iter()
            .all(|s| *s == first_topic)
    );
    assert_eq!(
        stage.aws.call_count("budgets", "DeleteBudget")
            + stage.aws.call_count("budgets", "UpdateSubscriber"),
        0
    );

    // And the first deployment leaves Other's budget alone in turn.
    let first = stage.cli(&["plan", "--detailed-exitcode"]).unwrap();
    assert_eq!(first.code, 0, "{}", text(&first));
    assert!(
        first
            .stdout
            .contains("! budget bg-other: not ours (deployment Other): left alone"),
        "{}",
        first.stdout
    );
}

#[tokio::test]
async fn a_hand_made_budget_with_the_prefix_is_left_alone_until_adopted() {
    let stage = applied().await;
    make_budget(&stage, "bg-handmade", "7").await;
    stage.aws.reset_calls();

    let plan = stage.cli(&["plan", "--detailed-exitcode"]).unwrap();
    assert_eq!(plan.code, 0, "nothing to do: {}", text(&plan));
    assert!(
        plan.stdout.contains(
            "! budget bg-handmade: not ours (no budget-guard:owner tag): left alone; \
             `budget-guard apply --adopt bg-handmade` takes it over\n"
        ),
        "{}",
        plan.stdout
    );
    let apply = stage.cli(&["apply", "--yes"]).unwrap();
    assert_eq!(apply.code, 0, "{}", text(&apply));
    assert!(
        stage.aws.write_calls().is_empty(),
        "{:?}",
        stage.aws.write_calls()
    );
    assert!(
        budget_names(&stage)
            .await
            .contains(&"bg-handmade".to_owned())
    );

    // A hand-made budget under a name the policy wants: left alone, and apply says it cannot
    // match the policy until it is adopted.
    let budgets = aws_sdk_budgets::Client::new(&stage.config);
    guard_testkit::delete_budget_by_hand(&budgets, "bg-chatbot")
        .await
        .unwrap();
    make_budget(&stage, "bg-chatbot", "123").await;
    let blocked = stage.cli(&["apply", "--yes"]).unwrap();
    assert_eq!(blocked.code, 1, "{}", text(&blocked));
    assert!(
        blocked
            .stderr
            .contains("error: budget bg-chatbot of the policy is not this deployment's"),
        "{}",
        blocked.stderr
    );

    // --adopt takes both over: each is tagged, then reconciled (bg-chatbot to the policy,
    // bg-handmade, which the policy does not have, deleted).
    let adopt = stage
        .cli(&[
            "apply",
            "--yes",
            "--adopt",
            "bg-chatbot",
            "--adopt",
            "bg-handmade",
        ])
        .unwrap();
    assert_eq!(adopt.code, 0, "{}", text(&adopt));
    assert!(
        adopt
            .stdout
            .contains("~ budget bg-chatbot: adopt (budget-guard:owner (none) -> BudgetGuard)"),
        "{}",
        adopt.stdout
    );
    assert_eq!(
        owner_tag(&stage, "bg-chatbot").await.as_deref(),
        Some(STACK_NAME)
    );
    assert_eq!(
        budget_names(&stage).await,
        ["bg-chatbot", "bg-writing-assistant"]
    );
    let again = stage.cli(&["plan", "--detailed-exitcode"]).unwrap();
    assert_eq!(again.code, 0, "{}", text(&again));
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);

    // Adopting what is not there changes nothing.
    stage.aws.reset_calls();
    let nothing = stage
        .cli(&["apply", "--yes", "--adopt", "bg-nope"])
        .unwrap();
    assert_eq!(nothing.code, 1, "{}", text(&nothing));
    assert!(
        nothing
            .stderr
            .contains("--adopt bg-nope: no such budget with the prefix bg- in the account"),
        "{}",
        nothing.stderr
    );
    assert!(stage.aws.write_calls().is_empty());
}
