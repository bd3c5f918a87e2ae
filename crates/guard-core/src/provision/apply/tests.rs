use super::*;
use crate::period::Period;
use crate::policy::{SourceFile, ThresholdType, load};
use crate::provision::account::desired;
use crate::provision::account::{AccountState, BudgetState};
use crate::provision::live::read_live;
use crate::provision::plan::plan;
use crate::provision::ports::LiveSubscription;
use crate::provision::ports::{LiveBudget, ReadDepth};
use crate::spend_basis::SpendBasis;
use crate::testing::account::InMemoryAccount;
use futures::executor::block_on;
use rust_decimal_macros::dec;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
const OWNER: &str = "BudgetGuard";

fn example() -> crate::policy::Policy {
    let text = include_str!("../../../../../policies/example.yaml");
    let (policy, diagnostics) = load(&[SourceFile::new("example.yaml", text.as_bytes().to_vec())]);
    policy.unwrap_or_else(|| panic!("{diagnostics:?}"))
}

/// The plan of this deployment (OWNER): read in full, plan, claim.
fn owned_plan(account: &InMemoryAccount, want: &AccountState, prefix: &str) -> Plan {
    owned_plan_at(account, want, prefix, ReadDepth::Full)
}

/// The plan of this deployment (OWNER) from a read as deep as `depth`.
fn owned_plan_at(
    account: &InMemoryAccount,
    want: &AccountState,
    prefix: &str,
    depth: ReadDepth,
) -> Plan {
    block_on(async {
        let live = read_live(account, Some(account), prefix, want, depth)
            .await
            .expect("read");
        let ownership = crate::provision::ownership::Ownership::new(OWNER);
        crate::provision::ownership::claim(
            plan(want, &live),
            want,
            &live,
            account,
            &ownership,
            prefix,
        )
        .await
        .expect("claimed")
    })
}

fn apply_with(account: &InMemoryAccount, plan: &Plan, options: &ApplyOptions) -> ApplyReport {
    block_on(apply(plan, account, account, options, |_| {}))
}

fn converge(account: &InMemoryAccount, want: &AccountState, prefix: &str) -> ApplyReport {
    let plan = owned_plan(account, want, prefix);
    apply_with(account, &plan, &ApplyOptions::new(prefix, OWNER))
}

fn one_at_a_time() -> ApplyOptions {
    ApplyOptions {
        concurrency: 1,
        ..ApplyOptions::new("bg-", OWNER)
    }
}

fn unowned() -> LiveBudget {
    LiveBudget {
        budget: BudgetState {
            name: "team-budget".into(),
            limit: dec!(10),
            time_unit: Period::Monthly,
            filter: None,
        },
        notifications: BTreeMap::new(),
        actions: Vec::new(),
    }
}

#[test]
fn apply_creates_everything_then_nothing() {
    let policy = example();
    let want = desired(&policy, TOPIC);
    let account = InMemoryAccount::new();
    account.seed_budget(unowned());
    let report = converge(&account, &want, "bg-");
    assert!(report.is_success(), "{report}");
    // One CreateBudget per budget carries its notifications; one Subscribe per address.
    let writes = account.writes();
    assert_eq!(writes.iter().filter(|w| **w == "CreateBudget").count(), 2);
    assert_eq!(
        writes
            .iter()
            .filter(|w| **w == "CreateNotification")
            .count(),
        0
    );
    assert_eq!(writes.iter().filter(|w| **w == "Subscribe").count(), 2);
    assert_eq!(
        report.applied.len(),
        plan(&want, &AccountState::default()).changes.len()
    );

    assert_eq!(account.owner("bg-chatbot").as_deref(), Some(OWNER));

    let before = account.writes().len();
    let again = converge(&account, &want, "bg-");
    assert!(again.applied.is_empty() && again.is_success());
    assert_eq!(
        account.writes().len(),
        before,
        "second apply writes nothing"
    );
    assert_eq!(account.tag_reads(), 0, "nor reads a tag");
    assert_eq!(account.budget("team-budget"), Some(unowned()));
}

#[test]
fn removing_a_budget_deletes_only_it_and_teardown_spares_unowned() {
    let mut policy = example();
    let account = InMemoryAccount::new();
    account.seed_budget(unowned());
    converge(&account, &desired(&policy, TOPIC), "bg-");
    policy.budgets.remove("writing-assistant");
    let report = converge(&account, &desired(&policy, TOPIC), "bg-");
    assert_eq!(report.applied.len(), 1, "{report}");
    assert!(
        matches!(&report.applied[0], Change::DeleteBudget(b) if b.name == "bg-writing-assistant")
    );
    assert_eq!(
        account.budget_names(),
        vec!["bg-chatbot".to_owned(), "team-budget".to_owned()]
    );

    let teardown = converge(&account, &AccountState::default(), "bg-");
    assert!(teardown.is_success());
    assert_eq!(account.budget_names(), vec!["team-budget".to_owned()]);
    assert!(account.subscriptions().is_empty());
}

#[test]
fn a_failure_stops_nothing_else_and_the_next_apply_converges() {
    let want = desired(&example(), TOPIC);
    let account = InMemoryAccount::new();
    // The second write, the second CreateBudget, is refused.
    account.fail_write(
        2,
        PortError::new(ErrorKind::AccessDenied, "x", "not authorized"),
    );
    let first = owned_plan(&account, &want, "bg-");
    let report = apply_with(&account, &first, &one_at_a_time());
    assert!(!report.is_success());
    assert!(!report.is_retryable());
    assert_eq!(
        report.failed.len(),
        5,
        "the second budget and its four notifications: {report}"
    );
    assert_eq!(report.failed[0].1.kind, ErrorKind::AccessDenied);
    assert_eq!(report.failed[0].1.operation, "CreateBudget");
    assert_eq!(
        report.applied.len(),
        7,
        "the first budget, its notifications and both email subscriptions: {report}"
    );
    assert!(report.skipped.is_empty(), "nothing needs the failed budget");
    assert_eq!(account.writes().len(), 4, "every write was attempted");
    let text = report.render();
    assert!(
        text.contains("failed: + budget bg-writing-assistant")
            && text.contains("    CreateBudget: access denied: not authorized\n"),
        "{text}"
    );
    assert!(
        text.ends_with("Apply incomplete: 7 applied, 5 failed, 0 skipped.\n"),
        "{text}"
    );
    let total = report.applied.len() + report.failed.len() + report.skipped.len();
    assert_eq!(total, first.changes.len());

    let next = converge(&account, &want, "bg-");
    assert!(next.is_success(), "{next}");
    assert_eq!(next.applied.len(), 5);
    assert!(converge(&account, &want, "bg-").applied.is_empty());
}

fn key90() -> NotificationKey {
    NotificationKey {
        notification_type: SpendBasis::Actual,
        threshold_type: ThresholdType::Percentage,
        threshold: dec!(90),
    }
}

fn email(address: &str) -> Subscriber {
    Subscriber {
        subscription_type: SubscriberType::Email,
        address: address.into(),
    }
}

fn budget(name: &str) -> BudgetState {
    BudgetState {
        name: name.into(),
        limit: dec!(5),
        time_unit: Period::Monthly,
        filter: None,
    }
}

/// bg-x with one notification to `subscribers`, the guard's.
fn seed_x(account: &InMemoryAccount, subscribers: Vec<Subscriber>) {
    account.seed_budget(LiveBudget {
        budget: budget("bg-x"),
        notifications: [(key90(), subscribers)].into_iter().collect(),
        actions: Vec::new(),
    });
    account.seed_owner("bg-x", OWNER);
}

fn want_x(subscribers: Vec<Subscriber>) -> AccountState {
    let mut want = AccountState::default();
    want.budgets.insert("bg-x".into(), budget("bg-x"));
    want.notifications.insert(
        "bg-x".into(),
        [(key90(), subscribers)].into_iter().collect(),
    );
    want
}

#[test]
fn a_change_that_needs_a_failed_one_is_skipped_and_names_it() {
    let account = InMemoryAccount::new();
    seed_x(&account, vec![email("a@example.com")]);
    account.seed_budget(LiveBudget {
        budget: budget("bg-old"),
        notifications: BTreeMap::new(),
        actions: Vec::new(),
    });
    account.seed_owner("bg-old", OWNER);
    let want = want_x(vec![email("b@example.com")]);
    let plan = owned_plan(&account, &want, "bg-");
    assert_eq!(plan.changes.len(), 3, "{}", plan.render());

    account.fail_write(
        1,
        PortError::new(ErrorKind::Transient, "x", "service unavailable"),
    );
    let mut heard = Vec::new();
    let report = block_on(apply(&plan, &account, &account, &one_at_a_time(), |o| {
        heard.push(match o {
            ChangeOutcome::Applied(_) => "applied",
            ChangeOutcome::Failed(..) => "failed",
            ChangeOutcome::Skipped(_) => "skipped",
        })
    }));
    assert_eq!(heard, ["failed", "skipped", "applied"]);
    // The old subscriber stays: the notification is never left without one.
    assert_eq!(
        account.budget("bg-x").unwrap().notifications[&key90()],
        vec![email("a@example.com")]
    );
    assert!(
        account.budget("bg-old").is_none(),
        "the unrelated delete went on"
    );
    assert!(report.is_retryable());
    let skipped = &report.skipped[0];
    assert!(
        matches!(&skipped.change, Change::DeleteSubscriber { subscriber, .. } if subscriber.address == "a@example.com")
    );
    assert!(
        matches!(&skipped.because, Change::CreateSubscriber { subscriber, .. } if subscriber.address == "b@example.com")
    );
    let text = report.render();
    assert!(
        text.contains(
            "skipped: - subscriber bg-x: ACTUAL > 90% -> a@example.com \
             (needs + subscriber bg-x: ACTUAL > 90% -> b@example.com, which failed)\n"
        ),
        "{text}"
    );
    assert!(text.contains("    CreateSubscriber: service error: service unavailable\n"));
    assert_eq!(
        report.to_json()["skipped"][0]["because"]["address"],
        "b@example.com"
    );
    assert_eq!(
        report.to_json()["summary"],
        json!({"applied": 1, "failed": 1, "skipped": 1})
    );

    let next = converge(&account, &want, "bg-");
    assert!(next.is_success(), "{next}");
    assert_eq!(
        account.budget("bg-x").unwrap().notifications[&key90()],
        vec![email("b@example.com")]
    );
    assert!(converge(&account, &want, "bg-").applied.is_empty());
}

#[test]
fn an_address_that_moves_channel_is_unsubscribed_before_it_is_subscribed_again() {
    let mut want = desired(&example(), TOPIC);
    let account = InMemoryAccount::new();
    assert!(converge(&account, &want, "bg-").is_success());
    for s in want
        .email_subscriptions
        .iter_mut()
        .filter(|s| s.address == "finops@example.com")
    {
        s.channel = "platform".into();
    }
    let tasks = tasks(&owned_plan(&account, &want, "bg-"));
    assert_eq!(
        tasks.len(),
        1,
        "the unsubscribe runs with the subscribe, first"
    );
    assert!(matches!(&tasks[0].change, Change::Subscribe(s) if s.channel == "platform"));
    assert!(matches!(&tasks[0].folded[0], Change::Unsubscribe(s) if s.channel == "finops"));
    assert!(converge(&account, &want, "bg-").is_success());
    let subscriptions = account.subscriptions();
    let finops: Vec<_> = subscriptions
        .iter()
        .filter(|s| s.address == "finops@example.com")
        .collect();
    assert_eq!(finops.len(), 1, "{finops:?}");
    assert_eq!(finops[0].channel.as_deref(), Some("platform"));
    assert!(converge(&account, &want, "bg-").applied.is_empty());
}

#[test]
fn a_plan_touching_an_unowned_budget_is_refused() {
    let account = InMemoryAccount::new();
    account.seed_budget(unowned());
    let plan = Plan {
        changes: vec![Change::DeleteBudget(unowned().budget)],
        ..Plan::default()
    };
    let report = apply_with(&account, &plan, &ApplyOptions::new("bg-", OWNER));
    assert_eq!(report.failed.len(), 1);
    assert!(account.writes().is_empty());
    assert!(account.budget("team-budget").is_some());
}

#[test]
fn pending_subscriptions_count_as_present_and_foreign_ones_are_ignored() {
    let want = desired(&example(), TOPIC);
    let account = InMemoryAccount::new();
    account.seed_subscription(LiveSubscription {
        address: "finops@example.com".into(),
        arn: None,
        channel: None,
    });
    account.seed_subscription(LiveSubscription {
        address: "someone@example.com".into(),
        arn: Some("arn:foreign".into()),
        channel: None,
    });
    let live = block_on(read_live(
        &account,
        Some(&account),
        "bg-",
        &want,
        ReadDepth::Full,
    ))
    .unwrap();
    let p = plan(&want, &live);
    let subscribes: Vec<_> = p
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Subscribe(_)))
        .collect();
    assert_eq!(subscribes.len(), 1, "{}", p.render());
    assert_eq!(p.pending.len(), 1);
    assert!(
        !p.changes
            .iter()
            .any(|c| matches!(c, Change::Unsubscribe(_)))
    );
}

#[test]
fn a_new_alerts_topic_is_one_update_subscriber_per_notification() {
    let policy = example();
    let account = InMemoryAccount::new();
    converge(&account, &desired(&policy, TOPIC), "bg-");
    let before = account.writes().len();
    let moved = desired(&policy, "arn:aws:sns:us-east-1:123456789012:alerts-2");
    let report = converge(&account, &moved, "bg-");
    assert!(report.is_success(), "{report}");
    assert_eq!(
        report.applied.len(),
        16,
        "each swap reports its creation and its deletion"
    );
    assert_eq!(account.writes()[before..], ["UpdateSubscriber"; 8]);
    assert!(converge(&account, &moved, "bg-").applied.is_empty());
}

fn plan_at(account: &InMemoryAccount, want: &AccountState, depth: ReadDepth) -> Plan {
    owned_plan_at(account, want, "bg-", depth)
}

#[test]
fn a_quick_read_applies_policy_edits_and_leaves_subscriber_drift_to_a_full_read() {
    let mut policy = example();
    let account = InMemoryAccount::new();
    converge(&account, &desired(&policy, TOPIC), "bg-");
    let want = desired(&policy, TOPIC);
    assert!(plan_at(&account, &want, ReadDepth::Quick).is_empty());

    // A policy edit (an amount, a threshold) is planned the same from a quick read.
    let chatbot = policy.budgets.get_mut("chatbot").unwrap();
    chatbot.amount = dec!(750);
    chatbot.thresholds[0].value = dec!(60);
    let edited = desired(&policy, TOPIC);
    let quick = plan_at(&account, &edited, ReadDepth::Quick);
    assert_eq!(quick, plan_at(&account, &edited, ReadDepth::Full));
    assert_eq!(quick.changes.len(), 3, "{}", quick.render());

    // Someone re-points a notification's subscriber by hand: only a full read sees it.
    let key = *edited.notifications["bg-writing-assistant"]
        .keys()
        .next()
        .unwrap();
    let sns = |address: &str| Subscriber {
        subscription_type: SubscriberType::Sns,
        address: address.into(),
    };
    let hand = "arn:aws:sns:us-east-1:123456789012:someone-elses";
    block_on(account.update_subscriber("bg-writing-assistant", &key, &sns(TOPIC), &sns(hand)))
        .unwrap();
    let quick = plan_at(&account, &want, ReadDepth::Quick);
    assert!(quick.is_empty(), "{}", quick.render());
    let full = plan_at(&account, &want, ReadDepth::Full);
    assert_eq!(full.changes.len(), 2, "{}", full.render());
    assert!(converge(&account, &want, "bg-").is_success());
    assert_eq!(
        account
            .budget("bg-writing-assistant")
            .unwrap()
            .notifications[&key],
        vec![sns(TOPIC)]
    );

    // Likewise a new alerts topic: the subscribers move on a full read only.
    let moved = desired(&example(), "arn:aws:sns:us-east-1:123456789012:alerts-2");
    assert!(plan_at(&account, &moved, ReadDepth::Quick).is_empty());
    assert!(!plan_at(&account, &moved, ReadDepth::Full).is_empty());
}

#[test]
fn subscriber_swap_creates_before_it_deletes() {
    let new = Subscriber {
        subscription_type: SubscriberType::Sns,
        address: TOPIC.into(),
    };
    let account = InMemoryAccount::new();
    seed_x(&account, vec![email("a@example.com")]);
    let want = want_x(vec![new.clone()]);
    let report = converge(&account, &want, "bg-");
    assert!(report.is_success());
    assert_eq!(
        account.writes(),
        vec!["CreateSubscriber", "DeleteSubscriber"]
    );
    assert_eq!(
        account.budget("bg-x").unwrap().notifications[&key90()],
        vec![new]
    );
}
