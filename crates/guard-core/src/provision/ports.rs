//! Provisioning's ports: AWS Budgets read and written, budgets' owner tags, and the notify topic's
//! email subscriptions. The adapters are in `guard-aws`; the in-memory account is in
//! `crate::testing` (feature `testing`). Written in the one style of [`crate::ports`].

use std::collections::BTreeMap;
use std::future::Future;

use crate::ports::PortError;
use crate::provision::account::{BudgetState, NotificationKey, Subscriber};
use crate::provision::budget_action::BudgetAction;

/// A budget as read, with its notifications and their subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBudget {
    pub budget: BudgetState,
    /// Each notification with its subscribers; the lists are empty after a [`ReadDepth::Quick`]
    /// read, which does not read subscribers.
    pub notifications: BTreeMap<NotificationKey, Vec<Subscriber>>,
    /// Its Budgets actions, every one of them (read at both depths).
    pub actions: Vec<BudgetAction>,
}

/// How much of the guard's budgets a read fetches.
///
/// The subscribers of a notification are the one part of a budget that AWS lists only one
/// notification at a time (a call per notification: 2,000 calls for 500 budgets of 4
/// thresholds), and the one part a policy edit never changes: every notification the guard writes
/// has one subscriber, the alerts topic. A new or changed threshold is a notification created
/// whole with its subscriber, a removed one is deleted whole; neither needs its subscribers read.
/// So a quick read is enough to apply any policy edit; a full read is needed only to see
/// subscribers that differ from what the guard wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadDepth {
    /// Budgets and their notifications, from list calls that each return many budgets
    /// (DescribeBudgets and DescribeBudgetNotificationsForAccount: a few calls whatever the
    /// number of budgets). Subscribers are not read: [`read_live`](super::live::read_live) takes each desired
    /// notification's subscribers to be the desired ones. Subscriber drift (a subscriber
    /// re-pointed or added by hand, or notifications still on an old alerts topic) is not seen.
    Quick,
    /// Also every notification's subscribers (DescribeSubscribersForNotification, one call per
    /// notification): sees and repairs subscriber drift. Deploys, `plan --full` and
    /// `apply --full`, and the daily full drift repair read this way.
    Full,
}

/// Reads the budgets the guard owns.
pub trait BudgetReader: Sync {
    /// Every budget whose name starts with `prefix`, with its notifications, and with their
    /// subscribers when `depth` is [`ReadDepth::Full`] (empty lists when it is
    /// [`ReadDepth::Quick`]). Budgets without the prefix are never returned.
    fn owned_budgets(
        &self,
        prefix: &str,
        depth: ReadDepth,
    ) -> impl Future<Output = Result<Vec<LiveBudget>, PortError>> + Send;
}

/// Changes budgets, their notifications and subscribers. Budgets are updated in place.
pub trait BudgetWriter: Sync {
    /// Creates a budget with its notifications, tagged as `owner`'s
    /// ([`OWNER_TAG`](crate::provision::account::OWNER_TAG)).
    fn create_budget(
        &self,
        budget: &BudgetState,
        notifications: &[(NotificationKey, Vec<Subscriber>)],
        owner: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Sets the owner tag of an existing budget (TagResource).
    fn tag_owner(
        &self,
        budget: &str,
        owner: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn update_budget(
        &self,
        budget: &BudgetState,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn delete_budget(&self, name: &str) -> impl Future<Output = Result<(), PortError>> + Send;
    fn create_notification(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscribers: &[Subscriber],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn delete_notification(
        &self,
        budget: &str,
        key: &NotificationKey,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn create_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscriber: &Subscriber,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn delete_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscriber: &Subscriber,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Replaces one subscriber by another in one call (UpdateSubscriber): how the one SNS
    /// subscriber a notification may have moves to a new alerts topic.
    fn update_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        old: &Subscriber,
        new: &Subscriber,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Creates a Budgets action (CreateBudgetAction). Its policy and role are set.
    fn create_action(
        &self,
        budget: &str,
        action: &BudgetAction,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Rewrites the action of `action.id` as `action` (UpdateBudgetAction).
    fn update_action(
        &self,
        budget: &str,
        action: &BudgetAction,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn delete_action(
        &self,
        budget: &str,
        action_id: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// An email subscription of the notify topic as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSubscription {
    pub address: String,
    /// `None` while the owner has not confirmed (SNS lists `PendingConfirmation`).
    pub arn: Option<String>,
    /// The channel its filter policy selects; `None` when it has no guard filter policy (not the
    /// guard's) or when it is pending (unreadable).
    pub channel: Option<String>,
}

impl LiveSubscription {
    pub fn is_pending(&self) -> bool {
        self.arn.is_none()
    }
}

/// The email subscriptions of the notify topic.
pub trait SubscriptionStore: Sync {
    /// Every email subscription of the topic, with the channel of its filter policy.
    fn email_subscriptions(
        &self,
    ) -> impl Future<Output = Result<Vec<LiveSubscription>, PortError>> + Send;
    /// Subscribes `address` with the filter policy of `channel`.
    fn subscribe(
        &self,
        channel: &str,
        address: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn unsubscribe(
        &self,
        subscription_arn: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Reads the owner tag of budgets.
pub trait BudgetOwners: Sync {
    /// The value of the budget's [`OWNER_TAG`](super::account::OWNER_TAG) tag; `None` when it has none.
    fn owner_tag(
        &self,
        budget: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
}
