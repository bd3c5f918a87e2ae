//! What the emulator cannot show, with `aws-smithy-mocks` on the real SDK clients: the exact
//! UpdateBudget, subscriber and tag requests, three pages of DescribeBudgets and two of
//! DescribeBudgetNotificationsForAccount, throttling then success, a 5xx and a refused
//! CreateBudget in the middle of an apply (the rest goes on) and convergence on the next, and
//! access denied.

#[macro_use]
mod mocks;

use aws_sdk_budgets::Client;
use aws_sdk_budgets::operation::create_budget::CreateBudgetOutput;
use aws_sdk_budgets::operation::create_subscriber::CreateSubscriberOutput;
use aws_sdk_budgets::operation::delete_budget::DeleteBudgetOutput;
use aws_sdk_budgets::operation::delete_subscriber::DeleteSubscriberOutput;
use aws_sdk_budgets::operation::describe_budget_actions_for_account::DescribeBudgetActionsForAccountOutput;
use aws_sdk_budgets::operation::describe_budget_notifications_for_account::DescribeBudgetNotificationsForAccountOutput;
use aws_sdk_budgets::operation::describe_budgets::DescribeBudgetsOutput;
use aws_sdk_budgets::operation::describe_subscribers_for_notification::DescribeSubscribersForNotificationOutput;
use aws_sdk_budgets::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_budgets::operation::tag_resource::TagResourceOutput;
use aws_sdk_budgets::operation::update_budget::UpdateBudgetOutput;
use aws_sdk_budgets::types as sdk;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use guard_aws::budgets::BudgetsAdapter;
use guard_aws::sdk::{MAX_ATTEMPTS, retry_config};
use guard_core::period::Period;
use guard_core::policy::ThresholdType;
use guard_core::ports::ErrorKind;
use guard_core::provision::account::OWNER_TAG;
use guard_core::provision::account::{
    AccountState, BudgetState, Expression, NotificationKey, Subscriber, SubscriberType,
};
use guard_core::provision::apply::{ApplyOptions, apply};
use guard_core::provision::change::Change;
use guard_core::provision::live::read_live;
use guard_core::provision::ownership::{Ownership, claim};
use guard_core::provision::plan::plan;
use guard_core::provision::ports::BudgetOwners;
use guard_core::provision::ports::{BudgetReader, BudgetWriter, LiveBudget, ReadDepth};
use guard_core::spend_basis::SpendBasis;
use guard_core::testing::account::InMemoryAccount;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const OWNER: &str = "BudgetGuard";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
const THROTTLED: &str = r#"{"__type":"ThrottlingException","Message":"Rate exceeded"}"#;
const DENIED: &str = r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/deployer is not authorized to perform: budgets:ModifyBudget"}"#;

/// A Budgets client that answers from `rules`, with the guard's retry policy (backoff shortened
/// to a millisecond: the number of attempts is what is tested, not the waiting).
fn client(rules: &[&Rule]) -> Client {
    // Every read lists the budgets' actions too; these accounts have none.
    let no_actions = mock!(Client::describe_budget_actions_for_account).then_output(|| {
        DescribeBudgetActionsForAccountOutput::builder()
            .set_actions(Some(vec![]))
            .build()
            .expect("an empty listing")
    });
    let retry = retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(1));
    let rules = rules.iter().copied().chain([&no_actions]);
    mock_client!(aws_sdk_budgets, RuleMode::MatchAny, rules, retry)
}

/// A monthly cost budget of Amazon Bedrock, as Budgets lists it.
fn sdk_budget(name: &str, amount: &str) -> sdk::Budget {
    let service = sdk::ExpressionDimensionValues::builder()
        .key(sdk::Dimension::Service)
        .values("Amazon Bedrock")
        .match_options(sdk::MatchOption::Equals)
        .build()
        .unwrap();
    let mut budget = guard_testkit::hand_made_budget(name, amount);
    budget.filter_expression = Some(sdk::Expression::builder().dimensions(service).build());
    budget
}

fn budget(name: &str, amount: i64) -> BudgetState {
    BudgetState {
        name: name.into(),
        limit: Decimal::from(amount),
        time_unit: Period::Monthly,
        filter: Some(Expression::dimension("SERVICE", &["Amazon Bedrock".into()])),
    }
}

fn key90() -> NotificationKey {
    NotificationKey {
        notification_type: SpendBasis::Actual,
        threshold_type: ThresholdType::Percentage,
        threshold: Decimal::from(90),
    }
}

fn is_key90(n: Option<&sdk::Notification>) -> bool {
    n.is_some_and(|n| {
        n.notification_type() == &sdk::NotificationType::Actual
            && n.comparison_operator() == &sdk::ComparisonOperator::GreaterThan
            && n.threshold() == 90.0
            && matches!(
                n.threshold_type(),
                None | Some(sdk::ThresholdType::Percentage)
            )
    })
}

fn no_notifications() -> Rule {
    mock!(Client::describe_budget_notifications_for_account)
        .then_output(|| DescribeBudgetNotificationsForAccountOutput::builder().build())
}

fn notification90() -> sdk::Notification {
    sdk::Notification::builder()
        .notification_type(sdk::NotificationType::Actual)
        .comparison_operator(sdk::ComparisonOperator::GreaterThan)
        .threshold(90.0)
        .build()
        .unwrap()
}

/// One entry of DescribeBudgetNotificationsForAccount: a budget with the 90% notification.
fn with_notification90(name: &str) -> sdk::BudgetNotificationsForAccount {
    sdk::BudgetNotificationsForAccount::builder()
        .budget_name(name)
        .notifications(notification90())
        .build()
}

#[tokio::test]
async fn describe_budgets_follows_three_pages_and_reads_only_owned_budgets() {
    let page = |names: &[&str], token: Option<&str>| {
        let mut out = DescribeBudgetsOutput::builder().set_next_token(token.map(str::to_owned));
        for name in names {
            out = out.budgets(sdk_budget(name, "100"));
        }
        out.build()
    };
    let first = mock!(Client::describe_budgets)
        .match_requests(|r| r.next_token().is_none() && r.show_filter_expression() == Some(true))
        .then_output(move || page(&["bg-a", "team-x"], Some("t1")));
    let second = mock!(Client::describe_budgets)
        .match_requests(|r| r.next_token() == Some("t1"))
        .then_output(move || page(&["bg-b"], Some("t2")));
    let third = mock!(Client::describe_budgets)
        .match_requests(|r| r.next_token() == Some("t2"))
        .then_output(move || page(&["other", "bg-c"], None));
    // Every budget's notifications, in two pages; a budget missing here has none.
    let notifications = mock!(Client::describe_budget_notifications_for_account)
        .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(1000))
        .then_output(|| {
            DescribeBudgetNotificationsForAccountOutput::builder()
                .budget_notifications_for_account(with_notification90("team-x"))
                .budget_notifications_for_account(with_notification90("bg-a"))
                .next_token("n1")
                .build()
        });
    let notifications_2 = mock!(Client::describe_budget_notifications_for_account)
        .match_requests(|r| r.next_token() == Some("n1"))
        .then_output(|| {
            DescribeBudgetNotificationsForAccountOutput::builder()
                .budget_notifications_for_account(with_notification90("other"))
                .build()
        });
    let subscribers = mock!(Client::describe_subscribers_for_notification)
        .match_requests(|r| r.budget_name() == Some("bg-a") && is_key90(r.notification()))
        .then_output(|| {
            DescribeSubscribersForNotificationOutput::builder()
                .subscribers(
                    sdk::Subscriber::builder()
                        .subscription_type(sdk::SubscriptionType::Sns)
                        .address(TOPIC)
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let adapter = BudgetsAdapter::new(
        client(&[
            &first,
            &second,
            &third,
            &notifications,
            &notifications_2,
            &subscribers,
        ]),
        ACCOUNT,
    );

    let live = adapter
        .owned_budgets("bg-", ReadDepth::Full)
        .await
        .expect("read");
    let names: Vec<_> = live.iter().map(|b| b.budget.name.as_str()).collect();
    assert_eq!(names, vec!["bg-a", "bg-b", "bg-c"]);
    assert_eq!(
        (first.num_calls(), second.num_calls(), third.num_calls()),
        (1, 1, 1)
    );
    assert_eq!(
        (notifications.num_calls(), notifications_2.num_calls()),
        (1, 1)
    );
    // Subscribers are read for owned budgets' notifications only: bg-a's one, not team-x's.
    assert_eq!(subscribers.num_calls(), 1);
    let sns = Subscriber {
        subscription_type: SubscriberType::Sns,
        address: TOPIC.into(),
    };
    assert_eq!(
        live[0].notifications,
        BTreeMap::from([(key90(), vec![sns])]),
        "PERCENTAGE is the default type"
    );
    assert!(live[1].notifications.is_empty());

    // A quick read lists the same notifications and reads no subscriber.
    let quick = adapter
        .owned_budgets("bg-", ReadDepth::Quick)
        .await
        .expect("read");
    assert_eq!(quick[0].notifications, BTreeMap::from([(key90(), vec![])]));
    assert_eq!(
        (notifications.num_calls(), notifications_2.num_calls()),
        (2, 2)
    );
    assert_eq!(subscribers.num_calls(), 1);
}

#[tokio::test]
async fn an_account_without_budgets_reads_as_empty() {
    const NOT_FOUND: &str = r#"{"__type":"NotFoundException","Message":"No budgets"}"#;
    let budgets = mock!(Client::describe_budgets)
        .sequence()
        .http_status(400, Some(NOT_FOUND.into()))
        .build();
    let notifications = mock!(Client::describe_budget_notifications_for_account)
        .sequence()
        .http_status(400, Some(NOT_FOUND.into()))
        .build();
    let adapter = BudgetsAdapter::new(client(&[&budgets, &notifications]), ACCOUNT);
    let live = adapter.owned_budgets("bg-", ReadDepth::Full).await;
    assert_eq!(live.expect("NotFound is no budgets"), vec![]);
    assert_eq!((budgets.num_calls(), notifications.num_calls()), (1, 1));
}

#[tokio::test]
async fn update_budget_sends_the_whole_new_definition_in_place() {
    let update = mock!(Client::update_budget)
        .match_requests(|r| {
            let b = r.new_budget().expect("NewBudget");
            r.account_id() == Some(ACCOUNT)
                && b.budget_name() == "bg-a"
                && b.budget_limit().map(|s| (s.amount(), s.unit())) == Some(("750", "USD"))
                && b.time_unit() == &sdk::TimeUnit::Quarterly
                && b.budget_type() == &sdk::BudgetType::Cost
                && b.filter_expression()
                    .and_then(|e| e.dimensions())
                    .is_some_and(|d| {
                        d.key() == &sdk::Dimension::Service
                            && d.values() == ["Amazon Bedrock"]
                            && d.match_options() == [sdk::MatchOption::Equals]
                    })
        })
        .then_output(|| UpdateBudgetOutput::builder().build());
    let adapter = BudgetsAdapter::new(client(&[&update]), ACCOUNT);
    let mut new = budget("bg-a", 750);
    new.time_unit = Period::Quarterly;
    adapter.update_budget(&new).await.expect("updated");
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn a_subscriber_swap_creates_the_topic_subscriber_then_deletes_the_old_one() {
    let email = Subscriber {
        subscription_type: SubscriberType::Email,
        address: "old@example.com".into(),
    };
    let sns = Subscriber {
        subscription_type: SubscriberType::Sns,
        address: TOPIC.into(),
    };
    let create = mock!(Client::create_subscriber)
        .match_requests(|r| {
            r.budget_name() == Some("bg-a")
                && is_key90(r.notification())
                && r.subscriber().is_some_and(|s| {
                    s.subscription_type() == &sdk::SubscriptionType::Sns && s.address() == TOPIC
                })
        })
        .then_output(|| CreateSubscriberOutput::builder().build());
    let delete = mock!(Client::delete_subscriber)
        .match_requests(|r| {
            r.budget_name() == Some("bg-a")
                && is_key90(r.notification())
                && r.subscriber().is_some_and(|s| {
                    s.subscription_type() == &sdk::SubscriptionType::Email
                        && s.address() == "old@example.com"
                })
        })
        .then_output(|| DeleteSubscriberOutput::builder().build());
    let adapter = BudgetsAdapter::new(client(&[&create, &delete]), ACCOUNT);

    let mut live = AccountState::default();
    live.budgets.insert("bg-a".into(), budget("bg-a", 100));
    live.notifications
        .insert("bg-a".into(), BTreeMap::from([(key90(), vec![email])]));
    let mut want = live.clone();
    want.notifications
        .insert("bg-a".into(), BTreeMap::from([(key90(), vec![sns])]));
    let plan = plan(&want, &live);
    assert!(matches!(
        plan.changes.as_slice(),
        [
            Change::CreateSubscriber { .. },
            Change::DeleteSubscriber { .. }
        ]
    ));

    let report = apply(
        &plan,
        &adapter,
        &InMemoryAccount::new(),
        &ApplyOptions::new("bg-", OWNER),
        |_| {},
    )
    .await;
    assert!(report.is_success(), "{report}");
    assert_eq!((create.num_calls(), delete.num_calls()), (1, 1));
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_then_succeeds_or_is_reported() {
    let throttled_twice = mock!(Client::describe_budgets)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(2)
        .output(|| {
            DescribeBudgetsOutput::builder()
                .budgets(sdk_budget("bg-a", "5"))
                .build()
        })
        .build();
    let none = no_notifications();
    let adapter = BudgetsAdapter::new(client(&[&throttled_twice, &none]), ACCOUNT);
    let live = adapter
        .owned_budgets("bg-", ReadDepth::Full)
        .await
        .expect("succeeds after two throttles");
    assert_eq!(live.len(), 1);
    assert_eq!(throttled_twice.num_calls(), 3);

    let always = mock!(Client::create_budget)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .repeatedly()
        .build();
    let adapter = BudgetsAdapter::new(client(&[&always]), ACCOUNT);
    let error = adapter
        .create_budget(&budget("bg-a", 5), &[], OWNER)
        .await
        .expect_err("throttled past retries");
    assert_eq!(error.kind, ErrorKind::Throttled);
    assert_eq!(error.operation, "CreateBudget");
    assert!(error.kind.is_retryable());
    assert_eq!(always.num_calls(), MAX_ATTEMPTS as usize);
}

/// A CreateBudget of `name`, tagged as OWNER's.
fn created(
    name: &'static str,
) -> impl Fn(&aws_sdk_budgets::operation::create_budget::CreateBudgetInput) -> bool {
    move |r| {
        r.budget().is_some_and(|b| b.budget_name() == name)
            && r.resource_tags()
                .iter()
                .any(|t| t.key() == OWNER_TAG && t.value() == OWNER)
    }
}

fn want(names: &[&str]) -> AccountState {
    let mut state = AccountState::default();
    for name in names {
        state.budgets.insert((*name).into(), budget(name, 10));
        let sns = Subscriber {
            subscription_type: SubscriberType::Sns,
            address: TOPIC.into(),
        };
        state
            .notifications
            .insert((*name).into(), BTreeMap::from([(key90(), vec![sns])]));
    }
    state
}

#[tokio::test]
async fn a_5xx_in_the_middle_of_an_apply_is_reported_and_the_next_apply_converges() {
    // The account as DescribeBudgets sees it on each of three reads.
    let reads = account_reads([&[], &["bg-a", "bg-c"], &["bg-a", "bg-b", "bg-c"]]);
    let notifications = sns_notification();
    let subscribers = topic_subscriber();
    let a = mock!(Client::create_budget)
        .match_requests(|r| {
            created("bg-a")(r)
                && r.notifications_with_subscribers().len() == 1
                && is_key90(r.notifications_with_subscribers()[0].notification())
        })
        .then_output(|| CreateBudgetOutput::builder().build());
    // Every attempt of the first apply gets a 503; the next apply's call succeeds.
    let b = mock!(Client::create_budget)
        .match_requests(created("bg-b"))
        .sequence()
        .http_status(503, None)
        .times(MAX_ATTEMPTS as usize)
        .output(|| CreateBudgetOutput::builder().build())
        .build();
    let c = mock!(Client::create_budget)
        .match_requests(created("bg-c"))
        .then_output(|| CreateBudgetOutput::builder().build());
    let adapter = BudgetsAdapter::new(
        client(&[&reads, &notifications, &subscribers, &a, &b, &c]),
        ACCOUNT,
    );
    let subscriptions = InMemoryAccount::new();
    let desired = want(&["bg-a", "bg-b", "bg-c"]);
    let options = ApplyOptions {
        concurrency: 1,
        ..ApplyOptions::new("bg-", OWNER)
    };
    let read = || async {
        read_live(
            &adapter,
            Some(&subscriptions),
            "bg-",
            &desired,
            ReadDepth::Full,
        )
        .await
        .unwrap()
    };

    let live = read().await;
    let first = apply(
        &plan(&desired, &live),
        &adapter,
        &subscriptions,
        &options,
        |_| {},
    )
    .await;
    assert!(!first.is_success());
    let budgets = |changes: &[Change]| {
        changes
            .iter()
            .filter_map(|c| c.budget().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        budgets(&first.applied),
        ["bg-a", "bg-a", "bg-c", "bg-c"],
        "each budget and its notification, in one call; bg-c after bg-b failed"
    );
    assert_eq!(first.failed.len(), 2);
    assert_eq!(first.failed[0].1.kind, ErrorKind::Transient);
    assert!(first.skipped.is_empty());
    assert!(first.is_retryable());
    assert_eq!(b.num_calls(), MAX_ATTEMPTS as usize, "the 503 was retried");
    assert_eq!(c.num_calls(), 1);
    let text = first.render();
    assert!(text.contains("failed: + budget bg-b"), "{text}");
    assert!(
        text.ends_with("Apply incomplete: 4 applied, 2 failed, 0 skipped.\n"),
        "{text}"
    );

    let live = read().await;
    let second_plan = plan(&desired, &live);
    assert_eq!(budgets(&second_plan.changes), ["bg-b", "bg-b"]);
    let second = apply(&second_plan, &adapter, &subscriptions, &options, |_| {}).await;
    assert!(second.is_success(), "{second}");
    assert_eq!(
        (a.num_calls(), b.num_calls(), c.num_calls()),
        (1, MAX_ATTEMPTS as usize + 1, 1)
    );

    let live = read().await;
    assert!(plan(&desired, &live).is_empty(), "converged");
}

#[tokio::test]
async fn access_denied_is_not_retried_and_the_report_says_what_was_and_was_not_applied() {
    let a = mock!(Client::create_budget)
        .match_requests(created("bg-a"))
        .then_output(|| CreateBudgetOutput::builder().build());
    let b = mock!(Client::create_budget)
        .match_requests(created("bg-b"))
        .sequence()
        .http_status(400, Some(DENIED.into()))
        .repeatedly()
        .build();
    let c = mock!(Client::create_budget)
        .match_requests(created("bg-c"))
        .then_output(|| CreateBudgetOutput::builder().build());
    let adapter = BudgetsAdapter::new(client(&[&a, &b, &c]), ACCOUNT);
    let desired = want(&["bg-a", "bg-b", "bg-c"]);
    let options = ApplyOptions {
        concurrency: 1,
        ..ApplyOptions::new("bg-", OWNER)
    };
    let mut lines = Vec::new();
    let report = apply(
        &plan(&desired, &AccountState::default()),
        &adapter,
        &InMemoryAccount::new(),
        &options,
        |o| lines.push(format!("{o:?}").chars().take(20).collect::<String>()),
    )
    .await;
    assert_eq!(b.num_calls(), 1, "access denied is not retried");
    assert_eq!(c.num_calls(), 1, "the next budget is still created");
    assert_eq!(
        lines.len(),
        6,
        "progress heard of each applied or failed change"
    );
    let (change, error) = &report.failed[0];
    assert!(matches!(change, Change::CreateBudget(b) if b.name == "bg-b"));
    assert_eq!(error.kind, ErrorKind::AccessDenied);
    assert!(
        error
            .message
            .contains("not authorized to perform: budgets:ModifyBudget"),
        "{}",
        error.message
    );
    let text = report.render();
    assert!(
        text.contains("failed: + budget bg-b: 10 USD MONTHLY, SERVICE in [Amazon Bedrock]\n    CreateBudget: access denied: User: arn:aws:sts::123456789012:assumed-role/deployer is not authorized"),
        "{text}"
    );
    assert!(!report.is_retryable());
    assert!(
        text.contains("Nothing was rolled back; run apply again to converge."),
        "{text}"
    );
    assert_eq!(
        report.to_json()["summary"],
        serde_json::json!({"applied": 4, "failed": 2, "skipped": 0})
    );
    assert_eq!(
        report.to_json()["failed"][0]["error"],
        serde_json::json!({"operation": "CreateBudget", "kind": "access denied",
            "message": "User: arn:aws:sts::123456789012:assumed-role/deployer is not authorized to perform: budgets:ModifyBudget"})
    );
}

const INVALID: &str = r#"{"__type":"InvalidParameterException","Message":"The budget name bg-b is invalid for this account"}"#;

/// DescribeBudgets answering three reads in turn, each with its account's budgets (10 USD each).
fn account_reads(accounts: [&'static [&'static str]; 3]) -> Rule {
    let answer = |names: &'static [&'static str]| {
        move || {
            let mut out = DescribeBudgetsOutput::builder();
            for name in names {
                out = out.budgets(sdk_budget(name, "10"));
            }
            out.build()
        }
    };
    mock!(Client::describe_budgets)
        .sequence()
        .output(answer(accounts[0]))
        .output(answer(accounts[1]))
        .output(answer(accounts[2]))
        .build()
}

fn owner_tag_output(owner: &str) -> ListTagsForResourceOutput {
    ListTagsForResourceOutput::builder()
        .resource_tags(
            sdk::ResourceTag::builder()
                .key(OWNER_TAG)
                .value(owner)
                .build()
                .unwrap(),
        )
        .build()
}

/// DescribeBudgetNotificationsForAccount: bg-a, bg-b and bg-c, each with the 90% notification
/// (a budget that does not exist yet is not listed by DescribeBudgets, and so not read).
fn sns_notification() -> Rule {
    mock!(Client::describe_budget_notifications_for_account).then_output(|| {
        let mut out = DescribeBudgetNotificationsForAccountOutput::builder();
        for name in ["bg-a", "bg-b", "bg-c"] {
            out = out.budget_notifications_for_account(with_notification90(name));
        }
        out.build()
    })
}

fn topic_subscriber() -> Rule {
    mock!(Client::describe_subscribers_for_notification).then_output(|| {
        DescribeSubscribersForNotificationOutput::builder()
            .subscribers(
                sdk::Subscriber::builder()
                    .subscription_type(sdk::SubscriptionType::Sns)
                    .address(TOPIC)
                    .build()
                    .unwrap(),
            )
            .build()
    })
}

/// Read, plan and claim as OWNER, then apply one write at a time.
async fn converge_once(
    adapter: &BudgetsAdapter,
    desired: &AccountState,
) -> (
    guard_core::provision::plan::Plan,
    guard_core::provision::apply::ApplyReport,
) {
    let subscriptions = InMemoryAccount::new();
    let live = read_live(
        adapter,
        Some(&subscriptions),
        "bg-",
        desired,
        ReadDepth::Full,
    )
    .await
    .unwrap();
    let plan = claim(
        plan(desired, &live),
        desired,
        &live,
        adapter,
        &Ownership::new(OWNER),
        "bg-",
    )
    .await
    .unwrap();
    let options = ApplyOptions {
        concurrency: 1,
        ..ApplyOptions::new("bg-", OWNER)
    };
    let report = apply(&plan, adapter, &subscriptions, &options, |_| {}).await;
    (plan, report)
}

#[tokio::test]
async fn a_refused_create_budget_stops_nothing_else_and_the_next_apply_converges() {
    // The account on each read: bg-old (ours, no longer in the policy); then bg-a and bg-c,
    // created by the first apply; then all three.
    let reads = account_reads([&["bg-old"], &["bg-a", "bg-c"], &["bg-a", "bg-b", "bg-c"]]);
    let notifications = sns_notification();
    let subscribers = topic_subscriber();
    let tags = mock!(Client::list_tags_for_resource)
        .match_requests(|r| r.resource_arn() == Some("arn:aws:budgets::123456789012:budget/bg-old"))
        .then_output(|| owner_tag_output(OWNER));
    let delete_old = mock!(Client::delete_budget)
        .match_requests(|r| r.budget_name() == Some("bg-old"))
        .then_output(|| DeleteBudgetOutput::builder().build());
    let a = mock!(Client::create_budget)
        .match_requests(created("bg-a"))
        .then_output(|| CreateBudgetOutput::builder().build());
    // The first CreateBudget of bg-b is refused with a typed error (not retried); the next succeeds.
    let b = mock!(Client::create_budget)
        .match_requests(created("bg-b"))
        .sequence()
        .http_status(400, Some(INVALID.into()))
        .output(|| CreateBudgetOutput::builder().build())
        .build();
    let c = mock!(Client::create_budget)
        .match_requests(created("bg-c"))
        .then_output(|| CreateBudgetOutput::builder().build());
    let adapter = BudgetsAdapter::new(
        client(&[
            &reads,
            &notifications,
            &subscribers,
            &tags,
            &delete_old,
            &a,
            &b,
            &c,
        ]),
        ACCOUNT,
    );
    let desired = want(&["bg-a", "bg-b", "bg-c"]);

    let (first_plan, first) = converge_once(&adapter, &desired).await;
    assert_eq!(first_plan.changes.len(), 7, "{}", first_plan.render());
    assert_eq!(
        (
            a.num_calls(),
            b.num_calls(),
            c.num_calls(),
            delete_old.num_calls()
        ),
        (1, 1, 1, 1),
        "every write was attempted, once: the refusal is not retried"
    );
    assert_eq!(
        first.applied.len(),
        5,
        "bg-a and bg-c with their notifications, bg-old deleted"
    );
    assert!(first.skipped.is_empty());
    let (change, error) = &first.failed[0];
    assert!(matches!(change, Change::CreateBudget(b) if b.name == "bg-b"));
    assert_eq!(
        (error.operation, error.kind, error.message.as_str()),
        (
            "CreateBudget",
            ErrorKind::Invalid,
            "The budget name bg-b is invalid for this account"
        )
    );
    let typed = error.source.as_deref().and_then(|s| {
        s.downcast_ref::<aws_sdk_budgets::operation::create_budget::CreateBudgetError>()
    });
    assert!(
        typed.is_some_and(|e| e.is_invalid_parameter_exception()),
        "the typed SDK error is kept: {:?}",
        error.source
    );
    let text = first.render();
    assert!(
        text.contains(
            "failed: + budget bg-b: 10 USD MONTHLY, SERVICE in [Amazon Bedrock]\n    \
             CreateBudget: invalid request: The budget name bg-b is invalid for this account\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("Apply incomplete: 5 applied, 2 failed, 0 skipped.\n"),
        "{text}"
    );
    assert!(!first.is_retryable());

    let (second_plan, second) = converge_once(&adapter, &desired).await;
    assert_eq!(
        second_plan.changes.len(),
        2,
        "only bg-b and its notification: {}",
        second_plan.render()
    );
    assert!(second.is_success(), "{second}");
    assert_eq!(b.num_calls(), 2);

    let (third_plan, third) = converge_once(&adapter, &desired).await;
    assert!(third_plan.is_empty(), "converged: {}", third_plan.render());
    assert!(third.applied.is_empty());
    assert_eq!(
        tags.num_calls(),
        1,
        "tags are read only for budgets a plan changes"
    );
}

#[tokio::test]
async fn owner_tags_are_read_and_written_at_the_budgets_arn() {
    let list = mock!(Client::list_tags_for_resource)
        .match_requests(|r| {
            r.resource_arn() == Some("arn:aws-cn:budgets::123456789012:budget/bg-a b")
        })
        .then_output(|| owner_tag_output("Other"));
    let untagged = mock!(Client::list_tags_for_resource)
        .match_requests(|r| {
            r.resource_arn() == Some("arn:aws-cn:budgets::123456789012:budget/bg-plain")
        })
        .then_output(|| {
            ListTagsForResourceOutput::builder()
                .resource_tags(
                    sdk::ResourceTag::builder()
                        .key("team")
                        .value("ml")
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let tag = mock!(Client::tag_resource)
        .match_requests(|r| {
            r.resource_arn() == Some("arn:aws-cn:budgets::123456789012:budget/bg-plain")
                && r.resource_tags().len() == 1
                && r.resource_tags()[0].key() == OWNER_TAG
                && r.resource_tags()[0].value() == OWNER
        })
        .then_output(|| TagResourceOutput::builder().build());
    let adapter =
        BudgetsAdapter::new(client(&[&list, &untagged, &tag]), ACCOUNT).with_partition("aws-cn");
    assert_eq!(
        adapter.owner_tag("bg-a b").await.unwrap().as_deref(),
        Some("Other")
    );
    assert_eq!(adapter.owner_tag("bg-plain").await.unwrap(), None);
    adapter.tag_owner("bg-plain", OWNER).await.unwrap();
    assert_eq!(
        (list.num_calls(), untagged.num_calls(), tag.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn the_in_memory_fake_and_the_adapter_agree_on_live_budgets() {
    // The fake stands for the adapter in core's tests: same LiveBudget for the same account.
    let fake = InMemoryAccount::new();
    fake.seed_budget(LiveBudget {
        budget: budget("bg-a", 5),
        notifications: BTreeMap::new(),
        actions: Vec::new(),
    });
    let rule = mock!(Client::describe_budgets).then_output(|| {
        DescribeBudgetsOutput::builder()
            .budgets(sdk_budget("bg-a", "5.0"))
            .build()
    });
    let none = no_notifications();
    let adapter = BudgetsAdapter::new(client(&[&rule, &none]), ACCOUNT);
    for depth in [ReadDepth::Quick, ReadDepth::Full] {
        assert_eq!(
            adapter.owned_budgets("bg-", depth).await.unwrap(),
            fake.owned_budgets("bg-", depth).await.unwrap()
        );
    }
}

mod sns {
    use aws_sdk_sns::Client;
    use aws_sdk_sns::operation::get_subscription_attributes::GetSubscriptionAttributesOutput;
    use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicOutput;
    use aws_sdk_sns::operation::subscribe::SubscribeOutput;
    use aws_sdk_sns::types::Subscription;
    use aws_smithy_mocks::{Rule, RuleMode, mock};
    use guard_aws::sns::SnsSubscriptions;
    use guard_core::provision::account::desired;
    use guard_core::provision::change::Change;
    use guard_core::provision::live::read_live;
    use guard_core::provision::plan::plan;
    use guard_core::provision::ports::{LiveSubscription, ReadDepth, SubscriptionStore};
    use guard_core::testing::account::InMemoryAccount;

    const NOTIFY: &str = "arn:aws:sns:us-east-1:123456789012:notify";

    fn client(rules: &[&Rule]) -> Client {
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, rules)
    }

    fn email(address: &str, arn: &str) -> Subscription {
        Subscription::builder()
            .protocol("email")
            .endpoint(address)
            .subscription_arn(arn)
            .topic_arn(NOTIFY)
            .build()
    }

    #[tokio::test]
    async fn pending_subscriptions_are_present_unread_and_foreign_ones_are_left_alone() {
        let first = mock!(Client::list_subscriptions_by_topic)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| {
                ListSubscriptionsByTopicOutput::builder()
                    .subscriptions(email("finops@example.com", "PendingConfirmation"))
                    .subscriptions(email(
                        "someone@example.com",
                        "arn:aws:sns:us-east-1:123456789012:notify:foreign",
                    ))
                    .next_token("p2")
                    .build()
            });
        let second = mock!(Client::list_subscriptions_by_topic)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(|| {
                ListSubscriptionsByTopicOutput::builder()
                    .subscriptions(email(
                        "old@example.com",
                        "arn:aws:sns:us-east-1:123456789012:notify:old",
                    ))
                    .subscriptions(
                        Subscription::builder()
                            .protocol("lambda")
                            .endpoint("arn:aws:lambda:us-east-1:123456789012:function:x")
                            .subscription_arn("arn:aws:sns:us-east-1:123456789012:notify:lambda")
                            .build(),
                    )
                    .build()
            });
        let foreign = mock!(Client::get_subscription_attributes)
            .match_requests(|r| {
                r.subscription_arn() == Some("arn:aws:sns:us-east-1:123456789012:notify:foreign")
            })
            .then_output(|| {
                GetSubscriptionAttributesOutput::builder()
                    .attributes("Protocol", "email")
                    .build()
            });
        let old = mock!(Client::get_subscription_attributes)
            .match_requests(|r| {
                r.subscription_arn() == Some("arn:aws:sns:us-east-1:123456789012:notify:old")
            })
            .then_output(|| {
                GetSubscriptionAttributesOutput::builder()
                    .attributes("FilterPolicy", r#"{"channel": ["finops"]}"#)
                    .build()
            });
        let subscribe = mock!(Client::subscribe)
            .match_requests(|r| {
                r.topic_arn() == Some(NOTIFY)
                    && r.protocol() == Some("email")
                    && r.endpoint() == Some("platform-leads@example.com")
                    && r.attributes()
                        .and_then(|a| a.get("FilterPolicy"))
                        .map(String::as_str)
                        == Some(r#"{"channel":["finops"]}"#)
                    && r.return_subscription_arn() == Some(true)
            })
            .then_output(|| {
                SubscribeOutput::builder()
                    .subscription_arn("PendingConfirmation")
                    .build()
            });
        let store = SnsSubscriptions::new(
            client(&[&first, &second, &foreign, &old, &subscribe]),
            NOTIFY,
        );

        let listed = store.email_subscriptions().await.expect("listed");
        assert_eq!(
            listed,
            vec![
                LiveSubscription {
                    address: "finops@example.com".into(),
                    arn: None,
                    channel: None
                },
                LiveSubscription {
                    address: "someone@example.com".into(),
                    arn: Some("arn:aws:sns:us-east-1:123456789012:notify:foreign".into()),
                    channel: None,
                },
                LiveSubscription {
                    address: "old@example.com".into(),
                    arn: Some("arn:aws:sns:us-east-1:123456789012:notify:old".into()),
                    channel: Some("finops".into()),
                },
            ]
        );
        assert_eq!(
            foreign.num_calls() + old.num_calls(),
            2,
            "a pending subscription cannot be read"
        );

        // Planned against the example policy: the pending address is present (shown as pending),
        // the foreign one is never touched, the guard's stale one goes.
        let policy = guard_aws::policy_files::load_policy(&[std::path::PathBuf::from(env!(
            "CARGO_MANIFEST_DIR"
        ))
        .join("../../policies/example.yaml")])
        .unwrap()
        .0;
        let want = desired(&policy, super::TOPIC);
        let live = read_live(
            &InMemoryAccount::new(),
            Some(&store),
            "bg-",
            &want,
            ReadDepth::Full,
        )
        .await
        .unwrap();
        let p = plan(&want, &live);
        let email_changes: Vec<String> = p
            .changes
            .iter()
            .filter(|c| matches!(c, Change::Subscribe(_) | Change::Unsubscribe(_)))
            .map(Change::render)
            .collect();
        assert!(email_changes.contains(
            &"+ email subscription platform-leads@example.com (channel finops)".to_owned()
        ));
        assert!(
            email_changes
                .contains(&"- email subscription old@example.com (channel finops)".to_owned())
        );
        assert_eq!(email_changes.len(), 2, "{email_changes:?}");
        assert_eq!(p.pending.len(), 1);
        assert_eq!(p.pending[0].address, "finops@example.com");

        store
            .subscribe("finops", "platform-leads@example.com")
            .await
            .expect("subscribed");
        assert_eq!(subscribe.num_calls(), 1);
    }
}
