//! The provisioner's adapters against the local emulator (moto plus the launcher's Budgets
//! additions): apply into an empty account, apply again with zero writes, remove a budget, a
//! budget without the prefix that survives everything, and the calls a re-apply makes at each
//! read depth.

use aws_sdk_budgets::types as sdk;
mod common;

use guard_aws::budgets::BudgetsAdapter;
use guard_aws::sns::SnsSubscriptions;
use guard_core::policy::Policy;
use guard_core::provision::account::{AccountState, SubscriberType, desired};
use guard_core::provision::apply::{ApplyOptions, ApplyReport, apply};
use guard_core::provision::budget_action::HardStop;
use guard_core::provision::change::Change;
use guard_core::provision::live::read_live;
use guard_core::provision::ownership::{Ownership, claim};
use guard_core::provision::plan::{Plan, plan};
use guard_core::provision::ports::BudgetOwners;
use guard_core::provision::ports::ReadDepth;
use guard_testkit::{ACCOUNT_ID, Emulator};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::PathBuf;

const OWNER: &str = "BudgetGuard";

struct Account {
    aws: Emulator,
    budgets: BudgetsAdapter,
    subscriptions: SnsSubscriptions,
    raw: aws_sdk_budgets::Client,
    alerts: String,
}

async fn account() -> Account {
    let aws = Emulator::start().expect("emulator");
    let config = aws.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let alerts = aws.create_topic("budget-guard-alerts").await.unwrap();
    let notify = aws.create_topic("budget-guard-notify").await.unwrap();
    let raw = aws_sdk_budgets::Client::new(&config);
    aws.reset_calls();
    Account {
        budgets: BudgetsAdapter::new(raw.clone(), ACCOUNT_ID),
        subscriptions: SnsSubscriptions::new(sns, notify),
        raw,
        alerts,
        aws,
    }
}

fn example() -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/example.yaml");
    guard_aws::policy_files::load_policy(&[path])
        .expect("example policy")
        .0
}

impl Account {
    async fn live(&self, want: &AccountState) -> AccountState {
        read_live(
            &self.budgets,
            Some(&self.subscriptions),
            "bg-",
            want,
            ReadDepth::Full,
        )
        .await
        .expect("read live")
    }

    /// The plan as `ownership` would make it: read, plan, claim.
    async fn owned_plan(&self, want: &AccountState, ownership: &Ownership) -> Plan {
        let live = self.live(want).await;
        claim(
            plan(want, &live),
            want,
            &live,
            &self.budgets,
            ownership,
            "bg-",
        )
        .await
        .expect("claimed")
    }

    async fn plan(&self, policy: &Policy) -> Plan {
        let want = desired(policy, &self.alerts);
        self.owned_plan(&want, &Ownership::new(OWNER)).await
    }

    async fn converge_to(&self, want: &AccountState) -> ApplyReport {
        let plan = self.owned_plan(want, &Ownership::new(OWNER)).await;
        let report = apply(
            &plan,
            &self.budgets,
            &self.subscriptions,
            &ApplyOptions::new("bg-", OWNER),
            |_| {},
        )
        .await;
        assert!(report.is_success(), "{report}");
        report
    }

    /// Converges on `policy` as the deployed stack would: with its deny policy and Budgets role.
    async fn converge(&self, policy: &Policy) -> ApplyReport {
        let hard_stop = HardStop {
            deny_policy_arn: "arn:aws:iam::123456789012:policy/deny-bedrock".into(),
            execution_role_arn: "arn:aws:iam::123456789012:role/budget-actions".into(),
        };
        let want = desired(policy, &self.alerts)
            .with_hard_stop(Some(&hard_stop))
            .expect("with the hard stop");
        self.converge_to(&want).await
    }

    /// A budget someone else made, without the guard's prefix.
    async fn make_unowned(&self) {
        let budget = guard_testkit::hand_made_budget("team-budget", "10");
        let notification = sdk::NotificationWithSubscribers::builder()
            .notification(
                sdk::Notification::builder()
                    .notification_type(sdk::NotificationType::Actual)
                    .comparison_operator(sdk::ComparisonOperator::GreaterThan)
                    .threshold(80.0)
                    .build()
                    .unwrap(),
            )
            .subscribers(
                sdk::Subscriber::builder()
                    .subscription_type(sdk::SubscriptionType::Email)
                    .address("team@example.com")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        self.raw
            .create_budget()
            .account_id(ACCOUNT_ID)
            .budget(budget)
            .notifications_with_subscribers(notification)
            .send()
            .await
            .unwrap();
        self.aws.reset_calls();
    }

    async fn assert_unowned_intact(&self) {
        let budget = self
            .raw
            .describe_budget()
            .account_id(ACCOUNT_ID)
            .budget_name("team-budget")
            .send()
            .await;
        let budget = budget.expect("team-budget still exists").budget.unwrap();
        assert_eq!(budget.budget_limit().unwrap().amount(), "10");
        let notifications = self
            .raw
            .describe_notifications_for_budget()
            .account_id(ACCOUNT_ID)
            .budget_name("team-budget")
            .send()
            .await
            .unwrap();
        assert_eq!(notifications.notifications().len(), 1);
    }
}

#[tokio::test]
async fn apply_the_example_into_an_empty_account_and_read_it_back() {
    let account = account().await;
    let policy = example();
    let want = desired(&policy, &account.alerts);
    let first = account.plan(&policy).await;
    assert_eq!(
        first,
        plan(&want, &AccountState::default()),
        "an empty account plans everything"
    );

    let report = account.converge(&policy).await;
    assert_eq!(report.applied.len(), first.changes.len());
    // One CreateBudget carries the budget's notifications; one Subscribe per address.
    assert_eq!(account.aws.call_count("budgets", "CreateBudget"), 2);
    assert_eq!(account.aws.call_count("budgets", "CreateNotification"), 0);
    assert_eq!(account.aws.call_count("sns", "Subscribe"), 2);

    let live = account.live(&want).await;
    assert_eq!(
        live.budgets.keys().collect::<Vec<_>>(),
        vec!["bg-chatbot", "bg-writing-assistant"]
    );
    for (name, budget) in &want.budgets {
        let read = &live.budgets[name];
        assert_eq!(read.limit, budget.limit);
        assert_eq!(read.time_unit, budget.time_unit);
        assert_eq!(
            read.filter.as_ref().map(|f| f.normalized()),
            budget.filter.as_ref().map(|f| f.normalized())
        );
        assert_eq!(live.notifications[name], want.notifications[name], "{name}");
    }
    let chatbot = &live.notifications["bg-chatbot"];
    assert_eq!(chatbot.len(), 4);
    for subscribers in chatbot.values() {
        assert_eq!(subscribers.len(), 1);
        assert_eq!(subscribers[0].subscription_type, SubscriberType::Sns);
        assert_eq!(subscribers[0].address, account.alerts);
    }
    let emails: Vec<_> = live
        .email_subscriptions
        .iter()
        .map(|s| (s.channel.as_str(), s.address.as_str()))
        .collect();
    assert_eq!(
        emails,
        vec![
            ("finops", "finops@example.com"),
            ("finops", "platform-leads@example.com")
        ]
    );
    assert!(plan(&want, &live).is_empty());
}

#[tokio::test]
async fn applying_twice_writes_nothing_the_second_time() {
    let account = account().await;
    let policy = example();
    account.converge(&policy).await;
    account.aws.reset_calls();

    let report = account.converge(&policy).await;
    assert!(report.applied.is_empty());
    assert_eq!(account.aws.write_calls(), Vec::<(String, String)>::new());
    assert!(
        account.aws.call_count("budgets", "DescribeBudgets") >= 1,
        "it did read"
    );
}

#[tokio::test]
async fn policy_edits_update_in_place_and_a_removed_budget_is_the_only_one_deleted() {
    let account = account().await;
    let mut policy = example();
    account.converge(&policy).await;

    // Amount, one threshold and one address change.
    let chatbot = policy.budgets.get_mut("chatbot").unwrap();
    chatbot.amount = Decimal::from(750);
    chatbot.thresholds[0].value = Decimal::from(60);
    if let Some(guard_core::policy::ChannelSpec::Email { addresses }) =
        policy.channels.get_mut("finops")
    {
        addresses[1] = "cfo@example.com".into();
    }
    let edits = account.plan(&policy).await;
    let lines: Vec<String> = edits.changes.iter().map(Change::render).collect();
    assert_eq!(
        lines,
        vec![
            "+ notification bg-chatbot: ACTUAL > 60%".to_owned() + " -> " + &account.alerts,
            "+ email subscription cfo@example.com (channel finops)".into(),
            "~ budget bg-chatbot\n    ~ limit: 500 -> 750".into(),
            "- notification bg-chatbot: ACTUAL > 50%".into(),
            "- email subscription platform-leads@example.com (channel finops)".into(),
        ]
    );
    account.aws.reset_calls();
    account.converge(&policy).await;
    let writes: Vec<String> = account
        .aws
        .write_calls()
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    let mut sorted = writes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "CreateNotification",
            "DeleteNotification",
            "Subscribe",
            "Unsubscribe",
            "UpdateBudget"
        ]
    );
    assert!(
        !writes.contains(&"DeleteBudget".to_owned()),
        "budgets are updated in place"
    );
    assert!(account.plan(&policy).await.is_empty());

    policy.budgets.remove("writing-assistant");
    let removal = account.plan(&policy).await;
    assert_eq!(removal.changes.len(), 1);
    assert!(
        matches!(&removal.changes[0], Change::DeleteBudget(b) if b.name == "bg-writing-assistant")
    );
    account.aws.reset_calls();
    account.converge(&policy).await;
    assert_eq!(
        account.aws.write_calls(),
        vec![("budgets".to_owned(), "DeleteBudget".to_owned())]
    );
    let live = account.live(&desired(&policy, &account.alerts)).await;
    assert_eq!(live.budgets.keys().collect::<Vec<_>>(), vec!["bg-chatbot"]);
}

#[tokio::test]
async fn a_budget_without_the_prefix_survives_everything() {
    let account = account().await;
    account.make_unowned().await;
    let mut policy = example();
    let plan_before = account.plan(&policy).await;
    assert!(
        plan_before
            .changes
            .iter()
            .all(|c| c.budget() != Some("team-budget"))
    );

    account.converge(&policy).await;
    account.assert_unowned_intact().await;

    // Even a policy with a budget of that very name (and a prefix that would match it) plans to
    // create it under the guard's prefix, never to touch the other.
    policy.budgets.remove("writing-assistant");
    account.converge(&policy).await;
    account.assert_unowned_intact().await;

    // Stack deletion: the guard's budgets and subscriptions go, the team's budget stays.
    account.converge_to(&AccountState::default()).await;
    account.assert_unowned_intact().await;
    let live = account.live(&AccountState::default()).await;
    assert!(live.budgets.is_empty());
    assert!(live.email_subscriptions.is_empty());
    let all = account
        .raw
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = all.budgets().iter().map(|b| b.budget_name()).collect();
    assert_eq!(names, vec!["team-budget"]);
}

#[tokio::test]
async fn every_call_the_adapters_make_is_in_the_provisioner_iam_needs() {
    let account = account().await;
    account.make_unowned().await;
    let mut policy = example();
    // A hard stop, created, updated, then deleted with its budget.
    let deny = |policy: &mut Policy, roles: &[&str]| {
        let chatbot = policy.budgets.get_mut("chatbot").unwrap();
        chatbot.thresholds.last_mut().unwrap().deny_roles =
            roles.iter().map(|r| (*r).to_owned()).collect();
    };
    deny(&mut policy, &["app"]);
    account.converge(&policy).await;
    deny(&mut policy, &["app", "batch"]);
    account.converge(&policy).await;
    policy.budgets.get_mut("chatbot").unwrap().amount = Decimal::from(9);
    policy
        .budgets
        .get_mut("chatbot")
        .unwrap()
        .thresholds
        .remove(0);
    policy.channels.remove("finops");
    for budget in policy.budgets.values_mut() {
        for t in &mut budget.thresholds {
            t.notify.retain(|c| c != "finops");
        }
    }
    account.converge(&policy).await;
    account.converge_to(&AccountState::default()).await;

    let calls = account.aws.calls();
    for action in [
        "CreateBudgetAction",
        "UpdateBudgetAction",
        "DeleteBudgetAction",
    ] {
        assert!(
            calls.iter().any(|(_, a)| a == action),
            "{action} not called"
        );
    }
    common::assert_calls_listed("provisioner", &calls);
}

#[tokio::test]
async fn a_new_alerts_topic_moves_each_sns_subscriber_with_update_subscriber() {
    let account = account().await;
    let policy = example();
    account.converge(&policy).await;
    let moved = desired(&policy, "arn:aws:sns:us-east-1:123456789012:alerts-v2");
    account.aws.reset_calls();
    let report = account.converge_to(&moved).await;
    assert_eq!(report.applied.len(), 16);
    // A notification may have one SNS subscriber only: creating the new one first would fail.
    let writes = account.aws.write_calls();
    assert_eq!(writes.len(), 8, "{writes:?}");
    assert!(
        writes.iter().all(|(_, a)| a == "UpdateSubscriber"),
        "{writes:?}"
    );
    let live = account.live(&moved).await;
    assert!(plan(&moved, &live).is_empty());
    assert!(
        live.notifications
            .values()
            .flat_map(|n| n.values())
            .flatten()
            .all(|s| s.address.ends_with(":alerts-v2"))
    );
}

#[tokio::test]
async fn budgets_are_created_tagged_and_a_hand_made_one_is_left_alone_until_adopted() {
    let account = account().await;
    let policy = example();
    account.converge(&policy).await;
    assert_eq!(
        account
            .budgets
            .owner_tag("bg-chatbot")
            .await
            .unwrap()
            .as_deref(),
        Some(OWNER)
    );
    // Someone makes a budget with the prefix by hand.
    guard_testkit::create_hand_made_budget(&account.raw, "bg-handmade", "7", &[])
        .await
        .unwrap();
    assert_eq!(
        account.budgets.owner_tag("bg-handmade").await.unwrap(),
        None
    );
    account.aws.reset_calls();
    let plan = account.plan(&policy).await;
    assert!(plan.is_empty(), "{}", plan.render());
    assert_eq!(plan.not_ours.len(), 1);
    assert_eq!(
        account.aws.call_count("budgets", "ListTagsForResource"),
        1,
        "only the budget the plan would delete"
    );

    let want = desired(&policy, &account.alerts);
    let adopt = Ownership {
        owner: OWNER.into(),
        adopt: vec!["bg-handmade".into()],
    };
    let adopted = account.owned_plan(&want, &adopt).await;
    let report = apply(
        &adopted,
        &account.budgets,
        &account.subscriptions,
        &ApplyOptions::new("bg-", OWNER),
        |_| {},
    )
    .await;
    assert!(report.is_success(), "{report}");
    assert!(
        matches!(&report.applied[0], Change::AdoptBudget { name, .. } if name == "bg-handmade")
    );
    assert!(
        matches!(&report.applied[1], Change::DeleteBudget(b) if b.name == "bg-handmade"),
        "adopted, then reconciled: the policy has no such budget"
    );
    account.aws.reset_calls();
    assert!(account.plan(&policy).await.is_empty());
    assert_eq!(account.aws.call_count("budgets", "ListTagsForResource"), 0);
}

/// The example's `chatbot` budget `count` times (4 notifications each), amounts 100, 101, ...
fn many(count: usize) -> Policy {
    guard_core::testing::policy::copies_of_budget(&example(), "chatbot", count)
}

/// The calls since the last reset, per action.
fn calls_by_action(aws: &Emulator) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (_, action) in aws.calls() {
        *out.entry(action).or_default() += 1;
    }
    out
}

fn counts(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
    list.iter().map(|(a, n)| ((*a).to_owned(), *n)).collect()
}

#[tokio::test]
async fn an_unchanged_reapply_is_a_few_paged_list_calls_and_a_full_read_adds_one_per_notification()
{
    const BUDGETS: usize = 25;
    const PAGE: i32 = 10;
    let account = account().await;
    account.make_unowned().await;
    // Small pages, so that both list calls follow NextToken: 26 budgets (the unowned one too)
    // are 3 pages of DescribeBudgets and 3 of DescribeBudgetNotificationsForAccount.
    let budgets = account.budgets.clone().with_list_page_size(PAGE);
    let mut policy = many(BUDGETS);
    let converge = |want: AccountState, depth: ReadDepth| {
        let (account, budgets) = (&account, &budgets);
        async move {
            account.aws.reset_calls();
            let live = read_live(budgets, Some(&account.subscriptions), "bg-", &want, depth)
                .await
                .expect("read");
            let plan = claim(
                plan(&want, &live),
                &want,
                &live,
                budgets,
                &Ownership::new(OWNER),
                "bg-",
            )
            .await
            .expect("claimed");
            let report = apply(
                &plan,
                budgets,
                &account.subscriptions,
                &ApplyOptions::new("bg-", OWNER),
                |_| {},
            )
            .await;
            assert!(report.is_success(), "{report}");
            (plan, calls_by_action(&account.aws))
        }
    };
    let (first, _) = converge(desired(&policy, &account.alerts), ReadDepth::Quick).await;
    assert_eq!(first.changes.len(), BUDGETS * 5 + 2);

    // The SNS calls are the notify topic's email subscriptions (two addresses), at any depth.
    let sns = [
        ("ListSubscriptionsByTopic", 1),
        ("GetSubscriptionAttributes", 2),
    ];
    let lists = [
        ("DescribeBudgets", 3),
        ("DescribeBudgetNotificationsForAccount", 3),
        // Every budget's actions in one listing of up to 100 (none here).
        ("DescribeBudgetActionsForAccount", 1),
    ];
    let (quick, calls) = converge(desired(&policy, &account.alerts), ReadDepth::Quick).await;
    assert!(quick.is_empty(), "{}", quick.render());
    assert_eq!(calls, counts(&[&lists[..], &sns[..]].concat()));

    let (full, calls) = converge(desired(&policy, &account.alerts), ReadDepth::Full).await;
    assert!(full.is_empty(), "{}", full.render());
    let subscribers = [("DescribeSubscribersForNotification", BUDGETS * 4)];
    assert_eq!(
        calls,
        counts(&[&lists[..], &sns[..], &subscribers[..]].concat())
    );

    // A changed threshold is one notification deleted and one created, from a quick read; the
    // owner tag is read of that one budget only.
    policy.budgets.get_mut("load-07").unwrap().thresholds[0].value = Decimal::from(60);
    let (changed, calls) = converge(desired(&policy, &account.alerts), ReadDepth::Quick).await;
    assert_eq!(changed.changes.len(), 2, "{}", changed.render());
    let writes = [
        ("ListTagsForResource", 1),
        ("CreateNotification", 1),
        ("DeleteNotification", 1),
    ];
    assert_eq!(calls, counts(&[&lists[..], &sns[..], &writes[..]].concat()));
    let want = desired(&policy, &account.alerts);
    let live = account.live(&want).await;
    assert!(
        plan(&want, &live).is_empty(),
        "the new one has its subscriber"
    );

    // A subscriber re-pointed by hand: not seen by a quick read, repaired by a full one.
    let notification = account
        .raw
        .describe_notifications_for_budget()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-load-03")
        .send()
        .await
        .unwrap()
        .notifications()[0]
        .clone();
    let sns_subscriber = |address: &str| {
        sdk::Subscriber::builder()
            .subscription_type(sdk::SubscriptionType::Sns)
            .address(address)
            .build()
            .unwrap()
    };
    account
        .raw
        .update_subscriber()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-load-03")
        .notification(notification)
        .old_subscriber(sns_subscriber(&account.alerts))
        .new_subscriber(sns_subscriber(
            "arn:aws:sns:us-east-1:123456789012:elsewhere",
        ))
        .send()
        .await
        .unwrap();
    let (blind, _) = converge(want.clone(), ReadDepth::Quick).await;
    assert!(blind.is_empty(), "{}", blind.render());
    let (repaired, calls) = converge(want.clone(), ReadDepth::Full).await;
    assert_eq!(repaired.changes.len(), 2, "{}", repaired.render());
    assert_eq!(calls["UpdateSubscriber"], 1);
    assert!(plan(&want, &account.live(&want).await).is_empty());
}
