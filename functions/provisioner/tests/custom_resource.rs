//! The provisioner against the emulator. Custom resource requests go to the provisioner's code
//! in this process, allowed to answer a local listener that stands for the pre-signed
//! ResponseURL (`ResponseUrlPolicy::loopback_http`); the binary as Lambda runs it (a local Runtime
//! API) keeps CloudFormation's policy, so it runs the scheduled repairs and shows that a plain
//! http ResponseURL gets no answer and no work.

use guard_aws::bedrock::InferenceProfileReader;
use guard_aws::ssm::ProfileMapping;
use guard_aws::wiring::env::load_deployed_policy;
use guard_core::provision::budget_action::HardStop;
use guard_testkit::{
    ACCOUNT_ID, CfnResponseListener, Emulator, HttpRecorder, LocalLambda, Reply, Script,
    workspace_root,
};
use provisioner::cfn::ResponseUrlPolicy;
use provisioner::{Provisioner, Settings};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;

const TIMEOUT: Duration = Duration::from_secs(60);
const STACK_NAME: &str = "BudgetGuard";
const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/BudgetGuard/1";
const OTHER_STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/Copycat/2";
const DENY_POLICY: &str = "arn:aws:iam::123456789012:policy/BudgetGuard-DenyBedrock";
const ACTION_ROLE: &str = "arn:aws:iam::123456789012:role/BudgetGuard-BudgetActions";

fn example() -> String {
    std::fs::read_to_string(workspace_root().join("policies/example.yaml")).expect("example policy")
}

struct Deployed {
    aws: Emulator,
    /// The binary, with CloudFormation's ResponseURL policy.
    lambda: LocalLambda,
    /// The same code in this process, allowed to answer the local listener.
    provisioner: Provisioner,
    cfn: CfnResponseListener,
    policy: TempDir,
    alerts: String,
    notify: String,
    budgets: aws_sdk_budgets::Client,
    sns: aws_sdk_sns::Client,
}

async fn deploy(policy: &str) -> Deployed {
    deploy_with(
        policy,
        Some(HardStop {
            deny_policy_arn: DENY_POLICY.into(),
            execution_role_arn: ACTION_ROLE.into(),
        }),
    )
    .await
}

/// As the stack deploys it: `hard_stop` is what the stack sets when the policy has `deny`.
async fn deploy_with(policy: &str, hard_stop: Option<HardStop>) -> Deployed {
    let aws = Emulator::start().expect("emulator");
    let config = aws.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let alerts = aws.create_topic("alerts").await.unwrap();
    let notify = aws.create_topic("notify").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.yaml"), policy).unwrap();
    let mut env = aws.env_vars();
    env.push((
        "BUDGET_GUARD_POLICY_DIR".into(),
        dir.path().display().to_string(),
    ));
    env.push(("BUDGET_GUARD_ALERTS_TOPIC_ARN".into(), alerts.clone()));
    env.push(("BUDGET_GUARD_NOTIFY_TOPIC_ARN".into(), notify.clone()));
    env.push(("BUDGET_GUARD_STACK_NAME".into(), STACK_NAME.into()));
    env.push(("BUDGET_GUARD_STACK_ID".into(), STACK_ID.into()));
    if let Some(h) = &hard_stop {
        env.push((
            "BUDGET_GUARD_DENY_POLICY_ARN".into(),
            h.deny_policy_arn.clone(),
        ));
        env.push((
            "BUDGET_GUARD_BUDGET_ACTION_ROLE_ARN".into(),
            h.execution_role_arn.clone(),
        ));
    }
    let lambda = LocalLambda::start(
        Path::new(env!("CARGO_BIN_EXE_provisioner")),
        "provisioner",
        &env,
    )
    .expect("lambda");
    let settings = Settings {
        policy_dir: dir.path().to_path_buf(),
        alerts_topic_arn: Some(alerts.clone()),
        notify_topic_arn: Some(notify.clone()),
        account_id: None,
        stack_name: Some(STACK_NAME.into()),
        stack_id: Some(STACK_ID.into()),
        metrics_namespace: "BudgetGuard".into(),
        price_region: "us-east-1".into(),
        hard_stop,
        profiles_parameter: None,
    };
    let provisioner =
        Provisioner::new(&config, settings).with_response_urls(ResponseUrlPolicy::loopback_http());
    aws.reset_calls();
    Deployed {
        provisioner,
        budgets: aws_sdk_budgets::Client::new(&config),
        sns,
        lambda,
        cfn: CfnResponseListener::start().expect("listener"),
        policy: dir,
        alerts,
        notify,
        aws,
    }
}

impl Deployed {
    fn event(&self, request_type: &str, physical_id: Option<&str>) -> Value {
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provisioner",
            "ResponseURL": self.cfn.url(),
            "StackId": STACK_ID,
            "RequestId": format!("request-{request_type}"),
            "LogicalResourceId": "Provisioning",
            "ResourceType": "Custom::BudgetGuardPolicy",
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provisioner",
                "PolicySha256": "0".repeat(64),
                "AlertsTopicArn": self.alerts,
                "NotifyTopicArn": self.notify,
            },
        });
        if let Some(id) = physical_id {
            event["PhysicalResourceId"] = json!(id);
        }
        event
    }

    /// Hands the provisioner a custom resource event; the answer PUT to the ResponseURL, and its
    /// raw body.
    async fn request(&self, request_type: &str, physical_id: Option<&str>) -> (Value, String) {
        self.send(self.event(request_type, physical_id)).await
    }

    async fn send(&self, event: Value) -> (Value, String) {
        let before = self.cfn.responses().len();
        let handled = self.provisioner.handle(event).await;
        assert!(handled.is_ok(), "{handled:?}");
        let requests = self
            .cfn
            .wait_for(before + 1, TIMEOUT)
            .await
            .expect("answered");
        let last = requests.last().unwrap();
        assert_eq!(last.method, "PUT");
        assert_eq!(
            last.header("content-type").unwrap_or_default(),
            "",
            "no content type: the URL is signed without one"
        );
        (last.json.clone().expect("json answer"), last.body.clone())
    }

    fn write_policy(&self, text: &str) {
        std::fs::write(self.policy.path().join("example.yaml"), text).unwrap();
    }

    async fn budget_names(&self) -> Vec<String> {
        match self
            .budgets
            .describe_budgets()
            .account_id(ACCOUNT_ID)
            .send()
            .await
        {
            Ok(out) => out
                .budgets()
                .iter()
                .map(|b| b.budget_name().to_owned())
                .collect(),
            Err(_) => vec![],
        }
    }

    async fn email_subscriptions(&self) -> usize {
        let out = self
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(&self.notify)
            .send()
            .await
            .unwrap();
        out.subscriptions()
            .iter()
            .filter(|s| s.protocol() == Some("email"))
            .count()
    }

    /// A budget made outside this deployment: `name`, tagged with `owner` if any.
    async fn make_budget(&self, name: &str, owner: Option<&str>) {
        use guard_core::provision::account::OWNER_TAG;
        let tags: Vec<(&str, &str)> = owner.map(|o| (OWNER_TAG, o)).into_iter().collect();
        guard_testkit::create_hand_made_budget(&self.budgets, name, "10", &tags)
            .await
            .unwrap();
        self.aws.reset_calls();
    }

    async fn make_unowned(&self) {
        self.make_budget("team-budget", None).await;
    }

    async fn sorted_budget_names(&self) -> Vec<String> {
        let mut names = self.budget_names().await;
        names.sort();
        names
    }
}

#[tokio::test]
async fn create_update_and_delete() {
    let stack = deploy(&example()).await;
    stack.make_unowned().await;
    // Made by hand with the prefix: not this deployment's, so never changed nor deleted.
    stack.make_budget("bg-handmade", None).await;

    let (created, _) = stack.request("Create", None).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["PhysicalResourceId"], "budget-guard:bg-");
    assert_eq!(created["RequestId"], "request-Create");
    assert_eq!(created["LogicalResourceId"], "Provisioning");
    assert_eq!(created["Data"]["Changes"], 12);
    // Created concurrently: in any order.
    assert_eq!(
        stack.sorted_budget_names().await,
        [
            "bg-chatbot",
            "bg-handmade",
            "bg-writing-assistant",
            "team-budget"
        ]
    );
    assert_eq!(stack.email_subscriptions().await, 2);

    // An Update with a new amount: the budget is updated in place, same physical id.
    stack.write_policy(&example().replacen("amount: 500", "amount: 750", 1));
    stack.aws.reset_calls();
    let (updated, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["PhysicalResourceId"], "budget-guard:bg-");
    assert_eq!(
        stack.aws.write_calls(),
        [("budgets".to_owned(), "UpdateBudget".to_owned())]
    );

    // The same policy again writes nothing.
    stack.aws.reset_calls();
    let (same, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(same["Status"], "SUCCESS");
    assert_eq!(same["Data"]["Changes"], 0);
    assert!(
        stack.aws.write_calls().is_empty(),
        "{:?}",
        stack.aws.write_calls()
    );

    let (deleted, _) = stack.request("Delete", Some("budget-guard:bg-")).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(
        deleted["Data"]["Removed"], 4,
        "two budgets and two email subscriptions"
    );
    assert_eq!(deleted["Data"]["LeftAlone"], 1);
    assert_eq!(
        stack.sorted_budget_names().await,
        ["bg-handmade", "team-budget"],
        "the budgets that are not this deployment's survive"
    );
    assert_eq!(stack.email_subscriptions().await, 0);
}

#[tokio::test]
async fn a_failed_create_and_its_rollback_delete_remove_nothing_that_was_there() {
    let stack = deploy(&example()).await;
    // From an earlier deployment of this stack that retained its budgets: ours.
    stack.make_budget("bg-chatbot", Some(STACK_NAME)).await;
    // Made by hand under a name the policy wants: the Create cannot succeed.
    stack.make_budget("bg-writing-assistant", None).await;
    stack.make_unowned().await;

    let (created, body) = stack.request("Create", None).await;
    assert_eq!(created["Status"], "FAILED", "{created}");
    let id = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(id, "budget-guard-failed-request-Create", "names no prefix");
    let reason = created["Reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "budget bg-writing-assistant: not ours (no budget-guard:owner tag): left alone; \
             the policy wants a budget of that name; `budget-guard apply --adopt bg-writing-assistant` takes it over"
        ),
        "{reason}"
    );
    assert!(body.len() < 4096);
    // The rest went on: bg-chatbot reconciled (its notifications created).
    assert!(stack.aws.call_count("budgets", "CreateNotification") > 0);

    // CloudFormation rolls back: the Delete of the failed resource removes nothing.
    stack.aws.reset_calls();
    let (deleted, _) = stack.request("Delete", Some(&id)).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(
        stack.aws.write_calls().is_empty(),
        "{:?}",
        stack.aws.write_calls()
    );
    assert_eq!(
        stack.sorted_budget_names().await,
        ["bg-chatbot", "bg-writing-assistant", "team-budget"]
    );
}

#[tokio::test]
async fn a_delete_from_another_stack_removes_nothing() {
    let stack = deploy(&example()).await;
    assert_eq!(stack.request("Create", None).await.0["Status"], "SUCCESS");
    stack.aws.reset_calls();

    // Another stack's custom resource with this function's ServiceToken, deleted.
    let mut event = stack.event("Delete", Some("budget-guard:bg-"));
    event["StackId"] = json!(OTHER_STACK_ID);
    let (deleted, _) = stack.send(event).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(deleted["StackId"], OTHER_STACK_ID);
    assert_eq!(deleted["Data"]["Removed"], 0);
    assert!(
        stack.aws.calls().is_empty(),
        "not even read: {:?}",
        stack.aws.calls()
    );
    assert_eq!(
        stack.sorted_budget_names().await,
        ["bg-chatbot", "bg-writing-assistant"]
    );
    assert_eq!(stack.email_subscriptions().await, 2);

    // Its own stack's Delete still removes them.
    let (own, _) = stack.request("Delete", Some("budget-guard:bg-")).await;
    assert_eq!(own["Data"]["Removed"], 4, "{own}");
}

#[tokio::test]
async fn a_response_url_that_is_not_https_to_aws_gets_no_request_and_nothing_is_done() {
    let stack = deploy(&example()).await;
    assert_eq!(stack.request("Create", None).await.0["Status"], "SUCCESS");
    let answers = stack.cfn.requests().len();
    stack.aws.reset_calls();

    // The binary, as Lambda runs it: plain http to the listener, and https to a host that is not
    // AWS's, are refused before any AWS call, and nothing is sent.
    let https_elsewhere = stack.cfn.url().replacen("http://", "https://", 1);
    for url in [stack.cfn.url(), https_elsewhere] {
        for request_type in ["Delete", "Create"] {
            let mut event = stack.event(request_type, Some("budget-guard:bg-"));
            event["ResponseURL"] = json!(url);
            let invocation = stack.lambda.invoke(&event, TIMEOUT).await.expect("invoked");
            let error = invocation.result.expect_err("refused");
            assert_eq!(error["errorType"], "Provisioner.NotRetryable", "{error}");
            let message = error["errorMessage"].as_str().unwrap();
            assert!(
                message.starts_with("refused to answer CloudFormation at the ResponseURL: its "),
                "{message}"
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(stack.cfn.requests().len(), answers, "no request was sent");
    assert!(
        stack.aws.calls().is_empty(),
        "nothing was done: {:?}",
        stack.aws.calls()
    );
    assert_eq!(stack.budget_names().await.len(), 2);
}

#[tokio::test]
async fn a_bad_policy_answers_failed_with_its_locations_and_changes_nothing() {
    // Two schema errors (validation is layered: semantic checks wait for a sound structure).
    let bad = example().replace("period: monthly", "period: weekly");
    let stack = deploy(&bad).await;

    let (answer, body) = stack.request("Create", None).await;
    assert_eq!(answer["Status"], "FAILED");
    let reason = answer["Reason"].as_str().unwrap();
    // The same loader as the CLI: every error it finds is in the reason at its file:line:col.
    let source =
        guard_core::policy::SourceFile::new("example.yaml".to_owned(), bad.clone().into_bytes());
    let (policy, diagnostics) = guard_core::policy::load(&[source]);
    assert!(policy.is_none());
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == guard_core::diagnostic::Severity::Error)
        .collect();
    assert!(errors.len() >= 2, "{errors:?}");
    for d in errors {
        let location = format!(
            "example.yaml:{}:{}: error[{}]: {}",
            d.line, d.column, d.code, d.message
        );
        assert!(reason.contains(&location), "{location} not in {reason}");
    }
    assert!(
        reason.starts_with("Budget Guard policy is invalid ("),
        "{reason}"
    );
    assert!(body.len() < 4096);
    assert!(
        stack.aws.write_calls().is_empty(),
        "nothing changed: {:?}",
        stack.aws.write_calls()
    );

    // CloudFormation then deletes the resource it could not create: nothing to remove.
    let id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert!(!id.starts_with("budget-guard:"), "{id}");
    let (deleted, _) = stack.request("Delete", Some(&id)).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert!(stack.aws.write_calls().is_empty());
}

#[tokio::test]
async fn hundreds_of_errors_fit_in_the_4kb_response_and_say_how_many_were_cut() {
    let mut text = String::from("version: 1\nbudgets:\n");
    for i in 0..150 {
        text.push_str(&format!(
            "  b{i}:\n    amount: -{i}\n    period: monthly\n    scope:\n      services: [Amazon Bedrock]\n    thresholds:\n      - at: 50%\n"
        ));
    }
    let stack = deploy(&text).await;
    let (answer, body) = stack.request("Create", None).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(body.len() < 4096, "{} bytes", body.len());
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains("example.yaml:4:13: error[BG506]:"),
        "{reason}"
    );
    let last = reason.lines().last().unwrap();
    assert!(
        last.starts_with("... and ")
            && last.ends_with(" more errors cut; run `budget-guard validate` to see them all."),
        "{last}"
    );
}

#[tokio::test]
async fn retain_on_delete_keeps_everything() {
    let policy = example().replacen("settings:\n", "settings:\n  retain_on_delete: true\n", 1);
    let stack = deploy(&policy).await;
    assert_eq!(stack.request("Create", None).await.0["Status"], "SUCCESS");
    stack.aws.reset_calls();
    let (deleted, _) = stack.request("Delete", Some("budget-guard:bg-")).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert!(
        stack.aws.calls().is_empty(),
        "not even read: {:?}",
        stack.aws.calls()
    );
    assert_eq!(stack.budget_names().await.len(), 2);
    assert_eq!(stack.email_subscriptions().await, 2);
}

#[tokio::test]
async fn a_new_prefix_is_a_new_resource_and_the_old_delete_removes_only_the_old_budgets() {
    let stack = deploy(&example()).await;
    assert_eq!(stack.request("Create", None).await.0["Status"], "SUCCESS");
    stack.write_policy(&example().replacen("budget_prefix: bg-", "budget_prefix: bg-team-", 1));
    let (updated, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["PhysicalResourceId"], "budget-guard:bg-team-");
    // CloudFormation deletes the replaced resource: the old prefix's budgets, and only those.
    let (cleanup, _) = stack.request("Delete", Some("budget-guard:bg-")).await;
    assert_eq!(cleanup["Status"], "SUCCESS", "{cleanup}");
    assert_eq!(
        stack.sorted_budget_names().await,
        ["bg-team-chatbot", "bg-team-writing-assistant"]
    );
    assert_eq!(
        stack.email_subscriptions().await,
        2,
        "the subscriptions are still wanted"
    );
}

#[tokio::test]
async fn the_scheduled_run_repairs_drift_with_the_deployed_policy() {
    let stack = deploy(&example()).await;
    assert_eq!(stack.request("Create", None).await.0["Status"], "SUCCESS");
    guard_testkit::delete_budget_by_hand(&stack.budgets, "bg-chatbot")
        .await
        .unwrap();

    let scheduled = json!({
        "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": ACCOUNT_ID, "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/DriftRepair"], "detail": {}
    });
    let repaired = stack
        .lambda
        .invoke(&scheduled, TIMEOUT)
        .await
        .unwrap()
        .result
        .expect("repaired");
    assert_eq!(
        repaired["Changes"], 5,
        "the budget and its four notifications, in one CreateBudget: {repaired}"
    );
    assert!(
        stack
            .budget_names()
            .await
            .contains(&"bg-chatbot".to_owned())
    );

    stack.aws.reset_calls();
    let own = json!({"version": "0", "id": "e2", "detail-type": "drift-repair", "source": "budget-guard.schedule", "detail": {}});
    let again = stack
        .lambda
        .invoke(&own, TIMEOUT)
        .await
        .unwrap()
        .result
        .expect("ok");
    assert_eq!(again["Changes"], 0);
    assert!(stack.aws.write_calls().is_empty());
    assert!(
        stack.cfn.requests().len() == 1,
        "a scheduled run answers no CloudFormation"
    );
}

#[tokio::test]
async fn a_scheduled_run_that_cannot_converge_is_an_error_with_each_failure() {
    let stack = deploy(&example()).await;
    stack.make_budget("bg-chatbot", None).await;
    let scheduled = json!({"version": "0", "id": "e3", "detail-type": "drift-repair", "source": "budget-guard.schedule", "detail": {}});
    let failed = stack
        .lambda
        .invoke(&scheduled, TIMEOUT)
        .await
        .unwrap()
        .result
        .expect_err("incomplete");
    assert_eq!(
        failed["errorType"], "Provisioner.NotRetryable",
        "retrying would not help: {failed}"
    );
    let message = failed["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("budget bg-chatbot: not ours (no budget-guard:owner tag)"),
        "{message}"
    );
    // The rest was applied all the same.
    assert!(
        stack
            .budget_names()
            .await
            .contains(&"bg-writing-assistant".to_owned())
    );
}

#[tokio::test]
async fn subscriber_drift_waits_for_the_daily_full_run_and_a_deploy_reads_it_too() {
    use aws_sdk_budgets::types as sdk;
    let stack = &deploy(&example()).await;
    assert_eq!(stack.request("Create", None).await.0["Status"], "SUCCESS");
    // Someone re-points one notification of bg-chatbot at another topic by hand.
    let sns = |address: &str| {
        sdk::Subscriber::builder()
            .subscription_type(sdk::SubscriptionType::Sns)
            .address(address)
            .build()
            .unwrap()
    };
    let listed = stack
        .budgets
        .describe_notifications_for_budget()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-chatbot")
        .send()
        .await
        .unwrap();
    let notification = listed.notifications()[0].clone();
    let elsewhere = "arn:aws:sns:us-east-1:123456789012:elsewhere";
    let notification = &notification;
    let re_point = || async move {
        stack
            .budgets
            .update_subscriber()
            .account_id(ACCOUNT_ID)
            .budget_name("bg-chatbot")
            .notification(notification.clone())
            .old_subscriber(sns(&stack.alerts))
            .new_subscriber(sns(elsewhere))
            .send()
            .await
            .unwrap();
    };
    re_point().await;
    let subscriber = || async move {
        let out = stack
            .budgets
            .describe_subscribers_for_notification()
            .account_id(ACCOUNT_ID)
            .budget_name("bg-chatbot")
            .notification(notification.clone())
            .send()
            .await
            .unwrap();
        out.subscribers()[0].address().to_owned()
    };
    let run = |detail_type: &'static str| async move {
        stack.aws.reset_calls();
        let event = json!({"version": "0", "id": "e", "detail-type": detail_type,
            "source": "budget-guard.schedule", "detail": {}});
        stack
            .lambda
            .invoke(&event, TIMEOUT)
            .await
            .unwrap()
            .result
            .expect("ok")
    };

    // The 6-hourly run lists budgets and notifications only: it does not see the subscriber.
    assert_eq!(run("drift-repair").await["Changes"], 0);
    assert_eq!(
        stack
            .aws
            .call_count("budgets", "DescribeSubscribersForNotification"),
        0
    );
    assert_eq!(stack.aws.call_count("budgets", "DescribeBudgets"), 1);
    assert_eq!(
        stack
            .aws
            .call_count("budgets", "DescribeBudgetNotificationsForAccount"),
        1
    );
    assert_eq!(subscriber().await, elsewhere);

    // The daily full run reads every subscriber (2 budgets x 4 notifications) and moves it back.
    let repaired = run("drift-repair-full").await;
    assert_eq!(
        stack
            .aws
            .call_count("budgets", "DescribeSubscribersForNotification"),
        8
    );
    assert_eq!(repaired["Changes"], 2, "{repaired}");
    assert_eq!(
        stack.aws.write_calls(),
        [("budgets".to_owned(), "UpdateSubscriber".to_owned())]
    );
    assert_eq!(subscriber().await, stack.alerts);

    // A deploy reads every subscriber too.
    re_point().await;
    let (answer, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(subscriber().await, stack.alerts);
}

#[tokio::test]
async fn an_unknown_event_is_an_error_that_is_not_retried() {
    let stack = deploy(&example()).await;
    let invocation = stack
        .lambda
        .invoke(&json!({"hello": "world"}), TIMEOUT)
        .await
        .unwrap();
    let error = invocation.result.expect_err("refused");
    assert_eq!(error["errorType"], "Provisioner.NotRetryable", "{error}");
}

/// The example policy with a hard stop at the chatbot's 100%: AWS denies Bedrock to `roles`.
fn with_deny(roles: &str) -> String {
    let policy = example();
    let at = "          to: cheapest\n";
    assert!(policy.contains(at), "the example's 100% threshold moved");
    policy.replacen(
        at,
        &format!("{at}        deny:\n          roles: [{roles}]\n"),
        1,
    )
}

impl Deployed {
    async fn actions(&self, budget: &str) -> Vec<aws_sdk_budgets::types::Action> {
        self.budgets
            .describe_budget_actions_for_budget()
            .account_id(ACCOUNT_ID)
            .budget_name(budget)
            .send()
            .await
            .unwrap()
            .actions()
            .to_vec()
    }

    /// An IAM action made by hand on `budget`.
    async fn make_action(&self, budget: &str) {
        use aws_sdk_budgets::types as sdk;
        self.budgets
            .create_budget_action()
            .account_id(ACCOUNT_ID)
            .budget_name(budget)
            .notification_type(sdk::NotificationType::Actual)
            .action_type(sdk::ActionType::from("APPLY_IAM_POLICY"))
            .action_threshold(
                sdk::ActionThreshold::builder()
                    .action_threshold_value(100.0)
                    .action_threshold_type(sdk::ThresholdType::Percentage)
                    .build()
                    .unwrap(),
            )
            .definition(
                sdk::Definition::builder()
                    .iam_action_definition(
                        sdk::IamActionDefinition::builder()
                            .policy_arn("arn:aws:iam::aws:policy/AWSDenyAll")
                            .roles("someone-elses-role")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .execution_role_arn("arn:aws:iam::123456789012:role/their-budgets-role")
            .approval_model(sdk::ApprovalModel::Manual)
            .subscribers(
                sdk::Subscriber::builder()
                    .subscription_type(sdk::SubscriptionType::Email)
                    .address("them@example.com")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        self.aws.reset_calls();
    }
}

#[tokio::test]
async fn a_deny_threshold_is_a_budgets_action_kept_in_step_with_the_policy() {
    let stack = deploy(&with_deny("support-chatbot-app")).await;
    // An action on a budget with the prefix that is not this deployment's: never touched.
    stack.make_budget("bg-handmade", None).await;
    stack.make_action("bg-handmade").await;

    let (created, _) = stack.request("Create", None).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let actions = stack.actions("bg-chatbot").await;
    let [action] = actions.as_slice() else {
        panic!("{actions:?}");
    };
    assert_eq!(action.action_type().as_str(), "APPLY_IAM_POLICY");
    assert_eq!(action.approval_model().as_str(), "AUTOMATIC");
    assert_eq!(action.notification_type().as_str(), "ACTUAL");
    let threshold = action.action_threshold().unwrap();
    assert_eq!(threshold.action_threshold_value(), 100.0);
    assert_eq!(threshold.action_threshold_type().as_str(), "PERCENTAGE");
    let iam = action
        .definition()
        .and_then(|d| d.iam_action_definition())
        .unwrap();
    assert_eq!(iam.policy_arn(), DENY_POLICY);
    assert_eq!(iam.roles(), ["support-chatbot-app"]);
    assert_eq!(action.execution_role_arn(), ACTION_ROLE);
    let [subscriber] = action.subscribers() else {
        panic!("{:?}", action.subscribers());
    };
    assert_eq!(subscriber.address(), stack.alerts);
    let id = action.action_id().to_owned();

    // Deployed again unchanged: not one write.
    stack.aws.reset_calls();
    let (same, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(same["Status"], "SUCCESS", "{same}");
    assert_eq!(same["Data"]["Changes"], 0, "{same}");
    assert!(
        stack.aws.write_calls().is_empty(),
        "{:?}",
        stack.aws.write_calls()
    );

    // Another role: the same action, updated in place.
    stack.write_policy(&with_deny("support-chatbot-app, batch-jobs"));
    stack.aws.reset_calls();
    let (updated, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(
        stack.aws.write_calls(),
        [("budgets".to_owned(), "UpdateBudgetAction".to_owned())]
    );
    let actions = stack.actions("bg-chatbot").await;
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].action_id(), id);
    let roles = actions[0]
        .definition()
        .and_then(|d| d.iam_action_definition())
        .unwrap()
        .roles();
    assert_eq!(roles, ["batch-jobs", "support-chatbot-app"]);

    // The deny taken out of the policy: the action goes, the budget stays.
    stack.write_policy(&example());
    stack.aws.reset_calls();
    let (removed, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(removed["Status"], "SUCCESS", "{removed}");
    assert_eq!(
        stack.aws.write_calls(),
        [("budgets".to_owned(), "DeleteBudgetAction".to_owned())]
    );
    assert!(stack.actions("bg-chatbot").await.is_empty());

    // Put back, then the stack deleted: the action goes before its budget.
    stack.write_policy(&with_deny("support-chatbot-app"));
    let (again, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(again["Status"], "SUCCESS", "{again}");
    stack.aws.reset_calls();
    let (deleted, _) = stack.request("Delete", Some("budget-guard:bg-")).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    let writes = stack.aws.write_calls();
    let position = |action: &str| writes.iter().position(|(_, a)| a == action);
    assert!(
        position("DeleteBudgetAction") < position("DeleteBudget")
            && position("DeleteBudgetAction").is_some(),
        "{writes:?}"
    );

    // The hand-made action on the budget that is not ours is as it was.
    let theirs = stack.actions("bg-handmade").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].approval_model().as_str(), "MANUAL");
}

#[tokio::test]
async fn a_deny_without_the_stacks_deny_policy_fails_the_deploy_and_changes_nothing() {
    let stack = deploy_with(&with_deny("support-chatbot-app"), None).await;
    let (failed, _) = stack.request("Create", None).await;
    assert_eq!(failed["Status"], "FAILED", "{failed}");
    let reason = failed["Reason"].as_str().unwrap();
    assert!(reason.contains("DenyPolicyArn"), "{reason}");
    assert!(
        stack.aws.write_calls().is_empty(),
        "{:?}",
        stack.aws.write_calls()
    );
}

const PROFILES_PARAMETER: &str = "/budget-guard/state/profiles";
const PROFILE_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/chatbot01";
const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const OPUS: &str = "anthropic.claude-opus-4-5-20251101-v1:0";

/// A policy whose route and budget name [`PROFILE_ARN`] without a `profiles:` entry, as a user
/// writes it before any `budget-guard profiles --write`.
fn with_profile() -> String {
    std::fs::read_to_string(guard_testkit::policy_fixture_path(
        "unmapped-profile/policy.yaml",
    ))
    .expect("the fixture")
}

/// GetInferenceProfile's answer: the profile routes to `model` in the US regions of its
/// cross-region profile.
fn profile_reply(model: &str) -> Reply {
    let models: Vec<Value> = ["us-east-1", "us-east-2", "us-west-2"]
        .iter()
        .map(|r| json!({"modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{model}")}))
        .collect();
    Reply::ok().header("content-type", "application/json").body(
        &json!({
            "inferenceProfileName": "chatbot",
            "inferenceProfileArn": PROFILE_ARN,
            "inferenceProfileId": "chatbot01",
            "models": models,
            "status": "ACTIVE",
            "type": "APPLICATION",
        })
        .to_string(),
    )
}

/// As the stack deploys a policy with unmapped profiles: it names the parameter, and Bedrock is
/// the local listener `bedrock`.
async fn deploy_resolving(policy: &str, bedrock: &HttpRecorder) -> Deployed {
    let mut stack = deploy_with(policy, None).await;
    let config = stack.aws.sdk_config().await;
    let settings = Settings {
        policy_dir: stack.policy.path().to_path_buf(),
        alerts_topic_arn: Some(stack.alerts.clone()),
        notify_topic_arn: Some(stack.notify.clone()),
        account_id: None,
        stack_name: Some(STACK_NAME.into()),
        stack_id: Some(STACK_ID.into()),
        metrics_namespace: "BudgetGuard".into(),
        price_region: "us-east-1".into(),
        hard_stop: None,
        profiles_parameter: Some(PROFILES_PARAMETER.into()),
    };
    let bedrock_config = config.to_builder().endpoint_url(bedrock.base_url()).build();
    stack.provisioner = Provisioner::new(&config, settings)
        .with_response_urls(ResponseUrlPolicy::loopback_http())
        .with_inference_profiles(InferenceProfileReader::from_sdk_config(&bedrock_config));
    stack
}

impl Deployed {
    fn mapping(&self, config: &aws_config::SdkConfig) -> ProfileMapping {
        ProfileMapping::from_config(config, PROFILES_PARAMETER)
    }

    fn profile_writes(&self) -> usize {
        self.aws.call_count("ssm", "PutParameter")
    }
}

#[tokio::test]
async fn a_deploy_resolves_unmapped_profiles_records_them_once_and_follows_a_model_change() {
    let bedrock = HttpRecorder::start(Script::replies([
        profile_reply(SONNET),
        profile_reply(SONNET),
        profile_reply(OPUS),
    ]))
    .expect("listener");
    let stack = deploy_resolving(&with_profile(), &bedrock).await;
    let config = stack.aws.sdk_config().await;
    let mapping = stack.mapping(&config);

    let (created, _) = stack.request("Create", None).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(stack.sorted_budget_names().await, ["bg-chatbot"]);
    assert_eq!(bedrock.requests().len(), 1, "one GetInferenceProfile");
    let recorded: Value =
        serde_json::from_str(&mapping.read().await.unwrap().expect("recorded")).unwrap();
    assert_eq!(recorded, json!({ PROFILE_ARN: format!("us.{SONNET}") }));
    assert_eq!(stack.profile_writes(), 1);

    // What the alert handler and the spend watcher load: the ARN priced as us. Sonnet 4.5.
    let policy = load_deployed_policy(stack.policy.path(), Some(&mapping))
        .await
        .expect("the recorded mapping prices the policy");
    let catalog = policy.catalog();
    assert_eq!(
        catalog.resolve(PROFILE_ARN).map(|r| r.price.output_per_1k),
        catalog
            .resolve(&format!("us.{SONNET}"))
            .map(|r| r.price.output_per_1k)
    );

    // A redeploy of the same policy asks again and writes nothing.
    stack.aws.reset_calls();
    let (same, _) = stack.request("Update", Some("budget-guard:bg-")).await;
    assert_eq!(same["Status"], "SUCCESS", "{same}");
    assert_eq!(same["Data"]["Changes"], 0);
    assert_eq!(bedrock.requests().len(), 2);
    assert!(
        stack.aws.write_calls().is_empty(),
        "{:?}",
        stack.aws.write_calls()
    );

    // The profile now runs Opus 4.5: the drift repair records that.
    stack.aws.reset_calls();
    let repaired = stack.provisioner.drift_repair("drift-repair").await;
    assert!(repaired.is_ok(), "{repaired:?}");
    assert_eq!(bedrock.requests().len(), 3);
    assert_eq!(stack.profile_writes(), 1);
    let recorded: Value =
        serde_json::from_str(&mapping.read().await.unwrap().expect("recorded")).unwrap();
    assert_eq!(recorded, json!({ PROFILE_ARN: format!("us.{OPUS}") }));

    // A Delete needs no Bedrock: the budget goes.
    let (deleted, _) = stack.request("Delete", Some("budget-guard:bg-")).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(bedrock.requests().len(), 3);
    assert!(stack.sorted_budget_names().await.is_empty());
}

#[tokio::test]
async fn a_profile_bedrock_does_not_know_fails_the_deploy_and_records_nothing() {
    let bedrock = HttpRecorder::start(Script::replies([Reply::status(404)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", "ResourceNotFoundException")
        .body(r#"{"message":"The specified resource ARN was not found."}"#)]))
    .expect("listener");
    let stack = deploy_resolving(&with_profile(), &bedrock).await;
    let config = stack.aws.sdk_config().await;

    let (created, _) = stack.request("Create", None).await;
    assert_eq!(created["Status"], "FAILED", "{created}");
    let reason = created["Reason"].as_str().unwrap();
    assert!(
        reason.contains(PROFILE_ARN) && reason.contains("not found"),
        "{reason}"
    );
    assert!(stack.budget_names().await.is_empty());
    assert_eq!(stack.mapping(&config).read().await.unwrap(), None);

    // Without the stack's parameter, the policy cannot be deployed either, and says why.
    let unnamed = deploy_with(&with_profile(), None).await;
    let (created, _) = unnamed.request("Create", None).await;
    assert_eq!(created["Status"], "FAILED", "{created}");
    assert!(
        created["Reason"]
            .as_str()
            .unwrap()
            .contains("BUDGET_GUARD_PROFILES_PARAMETER"),
        "{created}"
    );
}
