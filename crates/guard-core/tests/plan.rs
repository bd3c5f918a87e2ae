//! The plan is a pure function of the desired and the live account state: these tests build both
//! by hand or from a policy, and check each kind of difference gives exactly one change.

use guard_core::policy::{Policy, SourceFile, ThresholdType, load};
use guard_core::provision::account::{
    AccountState, EmailSubscription, Expression, KeyValues, NotificationKey, desired, filter_for,
};
use guard_core::provision::change::{Change, Verb};
use guard_core::provision::plan::plan;
use guard_core::spend_basis::SpendBasis;
use rust_decimal_macros::dec;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts";

fn policy(text: &str) -> Policy {
    let (policy, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    policy.unwrap_or_else(|| panic!("valid policy: {diagnostics:#?}"))
}

fn example() -> AccountState {
    desired(&policy(guard_testkit::example_policy()), TOPIC)
}

fn key(basis: SpendBasis, percent: rust_decimal::Decimal) -> NotificationKey {
    NotificationKey {
        notification_type: basis,
        threshold_type: ThresholdType::Percentage,
        threshold: percent,
    }
}

#[test]
fn empty_account_gets_everything_created() {
    let p = plan(&example(), &AccountState::default());
    // 2 budgets, 4 notifications each, 2 email addresses.
    assert_eq!(
        (
            p.count(Verb::Create),
            p.count(Verb::Update),
            p.count(Verb::Delete)
        ),
        (12, 0, 0)
    );
    let kinds: Vec<&str> = p.changes.iter().map(Change::kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "budget").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "notification").count(), 8);
    assert_eq!(
        kinds.iter().filter(|k| **k == "email_subscription").count(),
        2
    );
    // Budgets come before their notifications, so that an apply can go in order.
    let first_notification = kinds.iter().position(|k| *k == "notification").unwrap();
    assert!(kinds[..first_notification].iter().all(|k| *k == "budget"));
    assert!(p.pending.is_empty());
}

#[test]
fn matching_account_needs_nothing() {
    let state = example();
    let p = plan(&state, &state.clone());
    assert!(p.is_empty(), "{:#?}", p.changes);
    assert_eq!(p.summary(), "No changes: the account matches the policy.");
}

#[test]
fn filters_that_differ_only_in_order_are_equal() {
    let want = example();
    let mut live = want.clone();
    for budget in live.budgets.values_mut() {
        if let Some(Expression {
            and: Some(parts), ..
        }) = budget.filter.as_mut()
        {
            parts.reverse();
        }
        if let Some(Expression {
            dimensions: Some(kv),
            ..
        }) = budget.filter.as_mut()
        {
            kv.values.reverse();
        }
    }
    assert!(plan(&want, &live).is_empty());
}

#[test]
fn changed_limit_is_one_update_with_old_and_new() {
    let want = example();
    let mut live = want.clone();
    live.budgets.get_mut("bg-chatbot").unwrap().limit = dec!(400);
    let p = plan(&want, &live);
    assert_eq!(p.changes.len(), 1, "{:#?}", p.changes);
    let Change::UpdateBudget { old, new, fields } = &p.changes[0] else {
        panic!("an update: {:?}", p.changes[0])
    };
    assert_eq!((old.limit, new.limit), (dec!(400), dec!(500)));
    assert_eq!(fields.len(), 1);
    assert_eq!(
        (
            fields[0].field,
            fields[0].old.as_str(),
            fields[0].new.as_str()
        ),
        ("limit", "400", "500")
    );
    let json = p.changes[0].to_json();
    assert_eq!(json["action"], "update");
    assert_eq!(json["name"], "bg-chatbot");
    assert_eq!(json["limit"].as_f64(), Some(500.0));
    assert_eq!(
        json["changes"][0],
        serde_json::json!({"field": "limit", "old": "400", "new": "500"})
    );
}

#[test]
fn removed_threshold_is_one_notification_delete() {
    let live = example();
    let mut want = live.clone();
    let removed = key(SpendBasis::Actual, dec!(90));
    assert!(
        want.notifications
            .get_mut("bg-chatbot")
            .unwrap()
            .remove(&removed)
            .is_some()
    );
    let p = plan(&want, &live);
    assert_eq!(
        p.changes,
        [Change::DeleteNotification {
            budget: "bg-chatbot".into(),
            key: removed
        }]
    );
    assert_eq!(p.summary(), "Plan: 0 to create, 0 to update, 1 to delete.");
}

#[test]
fn added_threshold_is_one_notification_create() {
    let want = example();
    let mut live = want.clone();
    let added = key(SpendBasis::Forecasted, dec!(80));
    live.notifications
        .get_mut("bg-writing-assistant")
        .unwrap()
        .remove(&added);
    let p = plan(&want, &live);
    assert_eq!(p.changes.len(), 1);
    assert!(
        matches!(&p.changes[0], Change::CreateNotification { budget, key, .. } if budget == "bg-writing-assistant" && *key == added)
    );
}

#[test]
fn budget_gone_from_policy_is_deleted() {
    let live = example();
    let mut want = live.clone();
    want.budgets.remove("bg-writing-assistant");
    want.notifications.remove("bg-writing-assistant");
    let p = plan(&want, &live);
    assert_eq!(
        p.changes.len(),
        1,
        "its notifications go with it: {:#?}",
        p.changes
    );
    assert!(matches!(&p.changes[0], Change::DeleteBudget(b) if b.name == "bg-writing-assistant"));
}

fn pending(channel: &str, address: &str) -> EmailSubscription {
    EmailSubscription {
        channel: channel.into(),
        address: address.into(),
        pending: true,
        arn: None,
    }
}

#[test]
fn pending_email_subscription_counts_as_present() {
    let want = example();
    let mut live = want.clone();
    // finops@example.com has not confirmed yet: SNS lists it as PendingConfirmation.
    for s in live
        .email_subscriptions
        .iter_mut()
        .filter(|s| s.address == "finops@example.com")
    {
        s.pending = true;
    }
    let p = plan(&want, &live);
    assert!(
        p.is_empty(),
        "not re-subscribed (that would send another confirmation email): {:#?}",
        p.changes
    );
    assert_eq!(p.pending, [pending("finops", "finops@example.com")]);
    assert!(
        p.render()
            .contains("finops@example.com (channel finops) is pending confirmation")
    );
}

#[test]
fn pending_email_subscription_no_longer_wanted_is_left_alone() {
    let want = example();
    let mut live = want.clone();
    live.email_subscriptions
        .push(pending("finops", "old-lead@example.com"));
    let p = plan(&want, &live);
    // SNS cannot remove an unconfirmed subscription; it lapses after three days on its own.
    assert!(p.is_empty(), "{:#?}", p.changes);
}

#[test]
fn confirmed_email_subscription_no_longer_wanted_is_removed() {
    let want = example();
    let mut live = want.clone();
    let gone = EmailSubscription {
        channel: "finops".into(),
        address: "old-lead@example.com".into(),
        pending: false,
        arn: Some("arn:aws:sns:us-east-1:123456789012:notify:1".into()),
    };
    live.email_subscriptions.push(gone.clone());
    let p = plan(&want, &live);
    assert_eq!(p.changes, [Change::Unsubscribe(gone)]);
}

#[test]
fn scope_with_tags_accounts_and_regions_is_an_and() {
    let p = policy(
        "version: 1
budgets:
  team:
    amount: 100
    period: monthly
    scope:
      models: [us.amazon.nova-pro-v1:0, anthropic.claude-3-haiku-20240307-v1:0]
      tags:
        app: [chat, search]
      accounts: [\"012345678901\"]
      regions: [us-east-1, eu-west-1]
",
    );
    let filter = filter_for(&p.budgets["team"]);
    let equals = |key: &str, values: &[&str]| KeyValues {
        key: key.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        match_options: vec!["EQUALS".into()],
    };
    let expected = Expression {
        and: Some(vec![
            Expression {
                dimensions: Some(equals(
                    "SERVICE",
                    &["Amazon Bedrock", "Claude 3 Haiku (Amazon Bedrock Edition)"],
                )),
                ..Default::default()
            },
            Expression {
                tags: Some(equals("app", &["chat", "search"])),
                ..Default::default()
            },
            Expression {
                dimensions: Some(equals("LINKED_ACCOUNT", &["012345678901"])),
                ..Default::default()
            },
            Expression {
                dimensions: Some(equals("REGION", &["us-east-1", "eu-west-1"])),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    assert_eq!(filter, expected);
}

#[test]
fn explicit_services_replace_the_bedrock_expansion() {
    let p = policy(
        "version: 1
budgets:
  marketplace:
    amount: 100
    period: monthly
    scope:
      services: [Claude Sonnet 4.5 (Amazon Bedrock Edition)]
",
    );
    let filter = filter_for(&p.budgets["marketplace"]);
    assert_eq!(filter.and, None);
    assert_eq!(
        filter.dimensions.unwrap().values,
        ["Claude Sonnet 4.5 (Amazon Bedrock Edition)"]
    );
}
