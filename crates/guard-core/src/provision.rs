//! Provisioning: the ports through which the guard reads and writes AWS Budgets and the notify
//! topic's email subscriptions, reading the live state through them, and applying a plan with
//! bounded concurrency and a report of what was and was not applied.
//!
//! Everything here is generic over the ports and runs on any executor: no tokio, no SDK, no
//! clock. The adapters live in `guard-aws`; [`InMemoryAccount`] is a real in-memory fake.

use crate::account::{
    AccountState, BudgetState, EmailSubscription, NotificationKey, Subscriber, SubscriberType,
    channel_of_filter_policy,
};
use crate::budget_action::BudgetAction;
use crate::plan::{Action, Change, Plan};
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// Why a port call failed, as far as the orchestration cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Still throttled after the client's retries.
    Throttled,
    /// The caller lacks an IAM permission.
    AccessDenied,
    /// The thing to change does not exist (any more).
    NotFound,
    /// The thing to create exists already.
    Duplicate,
    /// A limit of the service (notifications per budget, subscribers per notification).
    LimitExceeded,
    /// The request was refused as invalid.
    Invalid,
    /// A server-side or network failure that outlasted the retries.
    Transient,
    Other,
}

impl ErrorKind {
    /// Whether the same call may well succeed later.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Transient)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::AccessDenied => "access denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::Duplicate => "already exists",
            ErrorKind::LimitExceeded => "limit exceeded",
            ErrorKind::Invalid => "invalid request",
            ErrorKind::Transient => "service error",
            ErrorKind::Other => "error",
        }
    }
}

/// A failed port call: which operation, what kind of failure, and the service's message. The
/// adapter keeps the typed SDK error as the source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {}: {message}", kind.as_str())]
pub struct PortError {
    pub kind: ErrorKind,
    /// The API operation, e.g. `CreateBudget`.
    pub operation: &'static str,
    pub message: String,
    #[source]
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    pub fn new(kind: ErrorKind, operation: &'static str, message: impl Into<String>) -> PortError {
        PortError {
            kind,
            operation,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> PortError {
        self.source = Some(Arc::new(source));
        self
    }
}

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
    /// number of budgets). Subscribers are not read: [`read_live`] takes each desired
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
    /// ([`OWNER_TAG`](crate::plan::OWNER_TAG)).
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

/// The live email subscriptions as the plan sees them. Confirmed ones count when their filter
/// policy names a channel. A pending one cannot be read, so it counts as present for every
/// channel of the desired state that has its address (that is what stops a daily run from
/// re-sending confirmation emails); a pending address no channel wants is left alone.
pub fn live_email_subscriptions(
    listed: &[LiveSubscription],
    desired: &AccountState,
) -> Vec<EmailSubscription> {
    let mut out = Vec::new();
    for s in listed {
        match (&s.arn, &s.channel) {
            (Some(arn), Some(channel)) => out.push(EmailSubscription {
                channel: channel.clone(),
                address: s.address.clone(),
                pending: false,
                arn: Some(arn.clone()),
            }),
            (Some(_), None) => {}
            (None, _) => {
                for want in desired
                    .email_subscriptions
                    .iter()
                    .filter(|w| w.address.eq_ignore_ascii_case(&s.address))
                {
                    let known = out.iter().any(|o: &EmailSubscription| {
                        o.channel == want.channel && o.address.eq_ignore_ascii_case(&want.address)
                    });
                    if !known {
                        out.push(EmailSubscription {
                            channel: want.channel.clone(),
                            address: s.address.clone(),
                            pending: true,
                            arn: None,
                        });
                    }
                }
            }
        }
    }
    // A confirmed subscription wins over a pending one for the same channel and address.
    let confirmed: Vec<(String, String)> = out
        .iter()
        .filter(|s| !s.pending)
        .map(|s| (s.channel.clone(), s.address.to_ascii_lowercase()))
        .collect();
    out.retain(|s| {
        !s.pending || !confirmed.contains(&(s.channel.clone(), s.address.to_ascii_lowercase()))
    });
    out.sort();
    out
}

/// Reads the guard's part of the account: owned budgets (by `prefix`) as deep as `depth` and,
/// when a subscription store is given, the notify topic's email subscriptions, matched against
/// `desired`. After a [`ReadDepth::Quick`] read, a notification that `desired` has is taken to
/// have the desired subscribers (they were not read); one it does not have is planned for
/// deletion whole, so its subscribers do not matter.
pub async fn read_live<R: BudgetReader, S: SubscriptionStore>(
    reader: &R,
    subscriptions: Option<&S>,
    prefix: &str,
    desired: &AccountState,
    depth: ReadDepth,
) -> Result<AccountState, PortError> {
    let mut state = AccountState::default();
    for live in reader.owned_budgets(prefix, depth).await? {
        // The reader promises it; checked again because ownership is the one rule never to break.
        if !live.budget.name.starts_with(prefix) {
            continue;
        }
        let mut notifications = live.notifications;
        if depth == ReadDepth::Quick
            && let Some(wanted) = desired.notifications.get(&live.budget.name)
        {
            for (key, subscribers) in &mut notifications {
                if let Some(want) = wanted.get(key) {
                    subscribers.clone_from(want);
                }
            }
        }
        state
            .notifications
            .insert(live.budget.name.clone(), notifications);
        if !live.actions.is_empty() {
            state.actions.insert(live.budget.name.clone(), live.actions);
        }
        state.budgets.insert(live.budget.name.clone(), live.budget);
    }
    if let Some(store) = subscriptions {
        let listed = store.email_subscriptions().await?;
        state.email_subscriptions = live_email_subscriptions(&listed, desired);
    }
    Ok(state)
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Writes in flight at once. Budgets allows few requests per second; the client retries
    /// throttling with backoff, and a small bound keeps it rare.
    pub concurrency: usize,
    /// Budget names must start with it: a change to any other budget is refused.
    pub prefix: String,
    /// The deployment the guard acts for: every budget it creates carries it in its
    /// [`OWNER_TAG`](crate::plan::OWNER_TAG) tag.
    pub owner: String,
}

impl ApplyOptions {
    pub fn new(prefix: impl Into<String>, owner: impl Into<String>) -> ApplyOptions {
        ApplyOptions {
            concurrency: DEFAULT_CONCURRENCY,
            prefix: prefix.into(),
            owner: owner.into(),
        }
    }
}

pub const DEFAULT_CONCURRENCY: usize = 4;

/// The result of one change.
// Passed by reference to a progress callback once per change: boxing would cost more clarity
// than the bytes save (as with `Change`).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Outcome {
    Applied(Change),
    Failed(Change, PortError),
    /// Not attempted: it needs a change that failed (`because`).
    Skipped(Skipped),
}

/// A change that was not attempted because a change it needs failed.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub change: Change,
    /// The failed change it waited for (the first failure, when it waited through a skipped one).
    pub because: Change,
}

/// What an apply did: every change of the plan is in exactly one list.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub applied: Vec<Change>,
    pub failed: Vec<(Change, PortError)>,
    pub skipped: Vec<Skipped>,
}

impl ApplyReport {
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }

    /// Whether running again may succeed without anyone changing anything: some failure was
    /// throttling or a service error.
    pub fn is_retryable(&self) -> bool {
        self.failed.iter().any(|(_, e)| e.kind.is_retryable())
    }

    pub fn summary(&self) -> String {
        format!(
            "Apply {}: {} applied, {} failed, {} skipped.",
            if self.is_success() {
                "complete"
            } else {
                "incomplete"
            },
            self.applied.len(),
            self.failed.len(),
            self.skipped.len()
        )
    }

    /// For people: each failure with AWS's error, each change skipped and why, then the summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (change, error) in &self.failed {
            out.push_str(&format!(
                "failed: {}\n    {error}\n",
                first_line(&change.render())
            ));
        }
        for s in &self.skipped {
            out.push_str(&format!("{}\n", s.render()));
        }
        if !self.is_success() {
            out.push_str("Nothing was rolled back; run apply again to converge.\n");
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    pub fn to_json(&self) -> Value {
        json!({
            "applied": self.applied.iter().map(Change::to_json).collect::<Vec<_>>(),
            "failed": self.failed.iter().map(|(c, e)| {
                let mut v = c.to_json();
                v["error"] = json!({ "operation": e.operation, "kind": e.kind.as_str(), "message": e.message });
                v
            }).collect::<Vec<_>>(),
            "skipped": self.skipped.iter().map(|s| {
                let mut v = s.change.to_json();
                v["because"] = s.because.to_json();
                v
            }).collect::<Vec<_>>(),
            "summary": { "applied": self.applied.len(), "failed": self.failed.len(), "skipped": self.skipped.len() },
        })
    }

    fn record(&mut self, outcome: Outcome, progress: &mut impl FnMut(&Outcome)) {
        progress(&outcome);
        match outcome {
            Outcome::Applied(change) => self.applied.push(change),
            Outcome::Failed(change, error) => self.failed.push((change, error)),
            Outcome::Skipped(skipped) => self.skipped.push(skipped),
        }
    }
}

impl Skipped {
    /// `skipped: <change> (needs <change>, which failed)`, first lines only.
    pub fn render(&self) -> String {
        format!(
            "skipped: {} (needs {}, which failed)",
            first_line(&self.change.render()),
            first_line(&self.because.render())
        )
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// One write: a change, the changes folded into the same call (the notification creations of a
/// budget creation, the deletion an SNS subscriber swap replaces), and the writes that must have
/// succeeded before it may start.
#[derive(Debug, Clone)]
struct Task {
    change: Change,
    folded: Vec<Change>,
    /// Indices of earlier tasks it needs.
    after: Vec<usize>,
}

impl Task {
    fn new(change: Change) -> Task {
        Task {
            change,
            folded: Vec::new(),
            after: Vec::new(),
        }
    }

    fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        std::iter::once(&self.change).chain(&self.folded).cloned()
    }

    /// Adoptions (tagging); creations and updates; those of budget actions, whose budgets must
    /// exist; deletions of budget actions, before their budgets may go; other deletions.
    fn phase(&self) -> u8 {
        let of_action = matches!(
            self.change,
            Change::CreateAction { .. } | Change::UpdateAction { .. } | Change::DeleteAction { .. }
        );
        match (&self.change, self.change.action()) {
            (Change::AdoptBudget { .. }, _) => 0,
            (_, Action::Create | Action::Update) if !of_action => 1,
            (_, Action::Create | Action::Update) => 2,
            (_, Action::Delete) if of_action => 3,
            (_, Action::Delete) => 4,
        }
    }
}

/// How a task ended.
#[derive(Debug, Clone, Copy)]
enum Done {
    Applied,
    /// Failed, or skipped: the index of the failed task to name to those that wait for it.
    Failed(usize),
}

/// Applies `plan`: adoptions first, then creations and updates, then deletions, each phase with at
/// most `options.concurrency` writes in flight. A failure stops nothing but what needs it: a
/// change whose prerequisite failed is skipped and names it (a budget's other changes need its
/// adoption; a notification's subscriber deletions need its subscriber creations, so that it
/// never loses its last subscriber; the notifications of a new budget go in its CreateBudget call
/// and fail with it). `progress` hears of each change as it completes. Nothing is rolled back:
/// the next apply plans from what is there.
pub async fn apply<W: BudgetWriter, S: SubscriptionStore>(
    plan: &Plan,
    budgets: &W,
    subscriptions: &S,
    options: &ApplyOptions,
    mut progress: impl FnMut(&Outcome),
) -> ApplyReport {
    let tasks = tasks(plan);
    let mut done: Vec<Option<Done>> = vec![None; tasks.len()];
    let mut report = ApplyReport::default();
    let limit = options.concurrency.max(1);
    for phase in 0..=4 {
        let mut ready = Vec::new();
        for (i, task) in tasks.iter().enumerate().filter(|(_, t)| t.phase() == phase) {
            let failed = task.after.iter().find_map(|&j| match done[j] {
                Some(Done::Failed(root)) => Some(root),
                _ => None,
            });
            match failed {
                Some(root) => {
                    for change in task.changes() {
                        let skipped = Skipped {
                            change,
                            because: tasks[root].change.clone(),
                        };
                        report.record(Outcome::Skipped(skipped), &mut progress);
                    }
                    done[i] = Some(Done::Failed(root));
                }
                None => ready.push(i),
            }
        }
        let mut ready = ready.into_iter();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < limit {
                let Some(i) = ready.next() else { break };
                let task = &tasks[i];
                running.push(async move {
                    let result = execute(task, budgets, subscriptions, options).await;
                    (i, result)
                });
            }
            let Some((i, result)) = running.next().await else {
                break;
            };
            let task = &tasks[i];
            done[i] = Some(match &result {
                Ok(()) => Done::Applied,
                Err(_) => Done::Failed(i),
            });
            for change in task.changes() {
                let outcome = match &result {
                    Ok(()) => Outcome::Applied(change),
                    Err(error) => Outcome::Failed(change, error.clone()),
                };
                report.record(outcome, &mut progress);
            }
        }
    }
    report
}

/// The plan's writes in phase order, with what each needs. A budget's notifications created with
/// it go in its CreateBudget call. A notification may have only one SNS subscriber, so an SNS
/// subscriber that replaces another (a new alerts topic) is one UpdateSubscriber: the creation
/// carries the deletion folded in. An address that moves to another channel is unsubscribed in
/// the same task, just before it is subscribed again.
fn tasks(plan: &Plan) -> Vec<Task> {
    let created: Vec<&str> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateBudget(b) => Some(b.name.as_str()),
            _ => None,
        })
        .collect();
    let mut first: Vec<Task> = Vec::new();
    let mut second: Vec<Task> = Vec::new();
    let mut folded: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for change in &plan.changes {
        match change {
            Change::CreateNotification { budget, .. } if created.contains(&budget.as_str()) => {
                folded
                    .entry(budget.clone())
                    .or_default()
                    .push(change.clone());
            }
            c if c.action() == Action::Delete => second.push(Task::new(c.clone())),
            c => first.push(Task::new(c.clone())),
        }
    }
    for task in &mut first {
        if let Change::CreateBudget(b) = &task.change {
            task.folded = folded.remove(&b.name).unwrap_or_default();
        }
        if let Change::CreateSubscriber {
            budget,
            key,
            subscriber,
        } = &task.change
            && subscriber.subscription_type == SubscriberType::Sns
        {
            let replaced = second.iter().position(|t| {
                matches!(&t.change, Change::DeleteSubscriber { budget: b, key: k, subscriber: s }
                    if b == budget && k == key && s.subscription_type == SubscriberType::Sns)
            });
            if let Some(i) = replaced {
                task.folded.push(second.remove(i).change);
            }
        }
        // SNS keeps one subscription per topic, protocol and address: an address that moves to
        // another channel is unsubscribed first, or the new subscription would be refused.
        if let Change::Subscribe(new) = &task.change {
            let moved = second.iter().position(|t| {
                matches!(&t.change, Change::Unsubscribe(old) if old.address.eq_ignore_ascii_case(&new.address))
            });
            if let Some(i) = moved {
                task.folded.push(second.remove(i).change);
            }
        }
    }
    let mut tasks = first;
    tasks.extend(second);
    tasks.sort_by_key(Task::phase);
    let deps: Vec<Vec<usize>> = tasks
        .iter()
        .map(|task| {
            tasks
                .iter()
                .enumerate()
                .filter(|(_, before)| needs(task, before))
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    for (task, after) in tasks.iter_mut().zip(deps) {
        task.after = after;
    }
    tasks
}

/// Whether `task` may run only after `before` succeeded.
fn needs(task: &Task, before: &Task) -> bool {
    if before.phase() >= task.phase() {
        return false;
    }
    match (&task.change, &before.change) {
        // A budget taken over is tagged before anything else of it changes.
        (change, Change::AdoptBudget { name, .. }) => change.budget() == Some(name.as_str()),
        // An action goes on a budget that exists.
        (Change::CreateAction { budget, .. }, Change::CreateBudget(b)) => *budget == b.name,
        // A budget goes once its actions are gone.
        (Change::DeleteBudget(b), Change::DeleteAction { budget, .. }) => *budget == b.name,
        // A notification keeps a subscriber through a swap.
        (
            Change::DeleteSubscriber { budget, key, .. },
            Change::CreateSubscriber {
                budget: b, key: k, ..
            },
        ) => budget == b && key == k,
        _ => false,
    }
}

async fn execute<W: BudgetWriter, S: SubscriptionStore>(
    task: &Task,
    budgets: &W,
    subscriptions: &S,
    options: &ApplyOptions,
) -> Result<(), PortError> {
    let prefix = &options.prefix;
    if let Some(name) = task
        .change
        .budget()
        .filter(|name| !name.starts_with(prefix.as_str()))
    {
        return Err(PortError::new(
            ErrorKind::Invalid,
            "Plan",
            format!(
                "budget {name} does not start with the prefix {prefix}: the guard never changes it"
            ),
        ));
    }
    match &task.change {
        Change::CreateBudget(budget) => {
            let notifications: Vec<(NotificationKey, Vec<Subscriber>)> = task
                .folded
                .iter()
                .filter_map(|c| match c {
                    Change::CreateNotification {
                        key, subscribers, ..
                    } => Some((*key, subscribers.clone())),
                    _ => None,
                })
                .collect();
            budgets
                .create_budget(budget, &notifications, &options.owner)
                .await
        }
        Change::UpdateBudget { new, .. } => budgets.update_budget(new).await,
        Change::DeleteBudget(budget) => budgets.delete_budget(&budget.name).await,
        Change::AdoptBudget { name, owner, .. } => budgets.tag_owner(name, owner).await,
        Change::CreateNotification {
            budget,
            key,
            subscribers,
        } => budgets.create_notification(budget, key, subscribers).await,
        Change::DeleteNotification { budget, key } => {
            budgets.delete_notification(budget, key).await
        }
        Change::CreateSubscriber {
            budget,
            key,
            subscriber,
        } => match task.folded.first() {
            Some(Change::DeleteSubscriber {
                subscriber: old, ..
            }) => {
                budgets
                    .update_subscriber(budget, key, old, subscriber)
                    .await
            }
            _ => budgets.create_subscriber(budget, key, subscriber).await,
        },
        Change::DeleteSubscriber {
            budget,
            key,
            subscriber,
        } => budgets.delete_subscriber(budget, key, subscriber).await,
        Change::CreateAction { budget, action } => budgets.create_action(budget, action).await,
        Change::UpdateAction { budget, new, .. } => budgets.update_action(budget, new).await,
        Change::DeleteAction { budget, action } => match &action.id {
            Some(id) => budgets.delete_action(budget, id).await,
            None => Err(PortError::new(
                ErrorKind::Invalid,
                "DeleteBudgetAction",
                "a budget action without an id",
            )),
        },
        Change::Subscribe(s) => {
            for moved in &task.folded {
                if let Change::Unsubscribe(old) = moved
                    && let Some(arn) = &old.arn
                {
                    subscriptions.unsubscribe(arn).await?;
                }
            }
            subscriptions.subscribe(&s.channel, &s.address).await
        }
        Change::Unsubscribe(s) => match &s.arn {
            Some(arn) => subscriptions.unsubscribe(arn).await,
            None => Err(PortError::new(
                ErrorKind::Invalid,
                "Unsubscribe",
                format!(
                    "{} is pending confirmation and cannot be removed yet",
                    s.address
                ),
            )),
        },
    }
}

/// One write the in-memory fake saw, by operation name.
pub type WriteLog = Vec<&'static str>;

/// A real in-memory account behind all the ports, for tests of everything above the adapters.
/// Budgets without the prefix or without an owner tag can be seeded to check that nothing touches
/// them, and a failure can be scripted for the n-th write.
#[derive(Debug, Default, Clone)]
pub struct InMemoryAccount {
    inner: Arc<Mutex<Memory>>,
}

#[derive(Debug, Default)]
struct Memory {
    budgets: BTreeMap<String, LiveBudget>,
    /// Owner tags by budget name.
    owners: BTreeMap<String, String>,
    subscriptions: Vec<LiveSubscription>,
    writes: WriteLog,
    reads: usize,
    tag_reads: usize,
    next_arn: usize,
    /// (write number counted from 1, error): that write fails.
    faults: Vec<(usize, PortError)>,
}

impl InMemoryAccount {
    pub fn new() -> InMemoryAccount {
        InMemoryAccount::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Puts a budget in place as if someone had made it (any name, prefix or not), untagged.
    pub fn seed_budget(&self, budget: LiveBudget) {
        self.with(|m| m.budgets.insert(budget.budget.name.clone(), budget));
    }

    /// Sets a budget's owner tag as someone else would (no write is logged).
    pub fn seed_owner(&self, budget: &str, owner: &str) {
        self.with(|m| m.owners.insert(budget.to_owned(), owner.to_owned()));
    }

    /// The owner tag of a budget.
    pub fn owner(&self, budget: &str) -> Option<String> {
        self.with(|m| m.owners.get(budget).cloned())
    }

    /// How many owner tags were read so far.
    pub fn tag_reads(&self) -> usize {
        self.with(|m| m.tag_reads)
    }

    /// Puts an email subscription in place; `arn: None` makes it pending.
    pub fn seed_subscription(&self, subscription: LiveSubscription) {
        self.with(|m| m.subscriptions.push(subscription));
    }

    /// The `n`-th write from now (1 = the next) fails with `error`.
    pub fn fail_write(&self, n: usize, error: PortError) {
        self.with(|m| {
            let at = m.writes.len() + n;
            m.faults.push((at, error));
        });
    }

    /// Every write so far, by operation.
    pub fn writes(&self) -> WriteLog {
        self.with(|m| m.writes.clone())
    }

    pub fn budget(&self, name: &str) -> Option<LiveBudget> {
        self.with(|m| m.budgets.get(name).cloned())
    }

    pub fn budget_names(&self) -> Vec<String> {
        self.with(|m| m.budgets.keys().cloned().collect())
    }

    pub fn subscriptions(&self) -> Vec<LiveSubscription> {
        self.with(|m| m.subscriptions.clone())
    }

    fn write<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&mut Memory) -> Result<T, PortError>,
    ) -> Result<T, PortError> {
        self.with(|m| {
            m.writes.push(operation);
            let n = m.writes.len();
            if let Some(i) = m.faults.iter().position(|(at, _)| *at == n) {
                let (_, mut error) = m.faults.remove(i);
                error.operation = operation;
                return Err(error);
            }
            f(m)
        })
    }
}

fn not_found(operation: &'static str, what: &str) -> PortError {
    PortError::new(
        ErrorKind::NotFound,
        operation,
        format!("{what} does not exist"),
    )
}

fn notification_of<'a>(
    m: &'a mut Memory,
    operation: &'static str,
    budget: &str,
    key: &NotificationKey,
) -> Result<&'a mut Vec<Subscriber>, PortError> {
    m.budgets
        .get_mut(budget)
        .ok_or_else(|| not_found(operation, budget))?
        .notifications
        .get_mut(key)
        .ok_or_else(|| {
            not_found(
                operation,
                &format!("notification {} of {budget}", key.label()),
            )
        })
}

impl BudgetReader for InMemoryAccount {
    async fn owned_budgets(
        &self,
        prefix: &str,
        depth: ReadDepth,
    ) -> Result<Vec<LiveBudget>, PortError> {
        Ok(self.with(|m| {
            m.reads += 1;
            m.budgets
                .values()
                .filter(|b| b.budget.name.starts_with(prefix))
                .cloned()
                .map(|mut b| {
                    if depth == ReadDepth::Quick {
                        b.notifications.values_mut().for_each(Vec::clear);
                    }
                    b
                })
                .collect()
        }))
    }
}

impl crate::ownership::BudgetOwners for InMemoryAccount {
    async fn owner_tag(&self, budget: &str) -> Result<Option<String>, PortError> {
        self.with(|m| {
            m.tag_reads += 1;
            if !m.budgets.contains_key(budget) {
                return Err(not_found("ListTagsForResource", budget));
            }
            Ok(m.owners.get(budget).cloned())
        })
    }
}

impl BudgetWriter for InMemoryAccount {
    async fn create_budget(
        &self,
        budget: &BudgetState,
        notifications: &[(NotificationKey, Vec<Subscriber>)],
        owner: &str,
    ) -> Result<(), PortError> {
        self.write("CreateBudget", |m| {
            if m.budgets.contains_key(&budget.name) {
                return Err(PortError::new(
                    ErrorKind::Duplicate,
                    "CreateBudget",
                    budget.name.clone(),
                ));
            }
            let live = LiveBudget {
                budget: budget.clone(),
                notifications: notifications.iter().cloned().collect(),
                actions: Vec::new(),
            };
            m.budgets.insert(budget.name.clone(), live);
            m.owners.insert(budget.name.clone(), owner.to_owned());
            Ok(())
        })
    }

    async fn tag_owner(&self, budget: &str, owner: &str) -> Result<(), PortError> {
        self.write("TagResource", |m| {
            if !m.budgets.contains_key(budget) {
                return Err(not_found("TagResource", budget));
            }
            m.owners.insert(budget.to_owned(), owner.to_owned());
            Ok(())
        })
    }

    async fn update_budget(&self, budget: &BudgetState) -> Result<(), PortError> {
        self.write("UpdateBudget", |m| {
            let live = m
                .budgets
                .get_mut(&budget.name)
                .ok_or_else(|| not_found("UpdateBudget", &budget.name))?;
            live.budget = budget.clone();
            Ok(())
        })
    }

    async fn delete_budget(&self, name: &str) -> Result<(), PortError> {
        self.write("DeleteBudget", |m| {
            m.owners.remove(name);
            m.budgets
                .remove(name)
                .map(drop)
                .ok_or_else(|| not_found("DeleteBudget", name))
        })
    }

    async fn create_notification(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscribers: &[Subscriber],
    ) -> Result<(), PortError> {
        self.write("CreateNotification", |m| {
            let live = m
                .budgets
                .get_mut(budget)
                .ok_or_else(|| not_found("CreateNotification", budget))?;
            if live.notifications.contains_key(key) {
                return Err(PortError::new(
                    ErrorKind::Duplicate,
                    "CreateNotification",
                    key.label(),
                ));
            }
            live.notifications.insert(*key, subscribers.to_vec());
            Ok(())
        })
    }

    async fn delete_notification(
        &self,
        budget: &str,
        key: &NotificationKey,
    ) -> Result<(), PortError> {
        self.write("DeleteNotification", |m| {
            let live = m
                .budgets
                .get_mut(budget)
                .ok_or_else(|| not_found("DeleteNotification", budget))?;
            live.notifications
                .remove(key)
                .map(drop)
                .ok_or_else(|| not_found("DeleteNotification", &key.label()))
        })
    }

    async fn create_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscriber: &Subscriber,
    ) -> Result<(), PortError> {
        self.write("CreateSubscriber", |m| {
            let list = notification_of(m, "CreateSubscriber", budget, key)?;
            if list.contains(subscriber) {
                return Err(PortError::new(
                    ErrorKind::Duplicate,
                    "CreateSubscriber",
                    subscriber.address.clone(),
                ));
            }
            list.push(subscriber.clone());
            Ok(())
        })
    }

    async fn delete_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscriber: &Subscriber,
    ) -> Result<(), PortError> {
        self.write("DeleteSubscriber", |m| {
            let list = notification_of(m, "DeleteSubscriber", budget, key)?;
            let i = list
                .iter()
                .position(|s| s == subscriber)
                .ok_or_else(|| not_found("DeleteSubscriber", &subscriber.address))?;
            list.remove(i);
            Ok(())
        })
    }

    async fn update_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        old: &Subscriber,
        new: &Subscriber,
    ) -> Result<(), PortError> {
        self.write("UpdateSubscriber", |m| {
            let list = notification_of(m, "UpdateSubscriber", budget, key)?;
            let i = list
                .iter()
                .position(|s| s == old)
                .ok_or_else(|| not_found("UpdateSubscriber", &old.address))?;
            list[i] = new.clone();
            Ok(())
        })
    }

    async fn create_action(&self, budget: &str, action: &BudgetAction) -> Result<(), PortError> {
        self.write("CreateBudgetAction", |m| {
            m.next_arn += 1;
            let id = format!("00000000-0000-4000-8000-{:012}", m.next_arn);
            let live = m
                .budgets
                .get_mut(budget)
                .ok_or_else(|| not_found("CreateBudgetAction", budget))?;
            live.actions.push(BudgetAction {
                id: Some(id),
                ..action.clone()
            });
            Ok(())
        })
    }

    async fn update_action(&self, budget: &str, action: &BudgetAction) -> Result<(), PortError> {
        self.write("UpdateBudgetAction", |m| {
            let live = m
                .budgets
                .get_mut(budget)
                .ok_or_else(|| not_found("UpdateBudgetAction", budget))?;
            let have = live
                .actions
                .iter_mut()
                .find(|a| a.id.is_some() && a.id == action.id)
                .ok_or_else(|| not_found("UpdateBudgetAction", "the action"))?;
            // AWS keeps an action's type.
            *have = BudgetAction {
                action_type: have.action_type.clone(),
                ..action.clone()
            };
            Ok(())
        })
    }

    async fn delete_action(&self, budget: &str, action_id: &str) -> Result<(), PortError> {
        self.write("DeleteBudgetAction", |m| {
            let live = m
                .budgets
                .get_mut(budget)
                .ok_or_else(|| not_found("DeleteBudgetAction", budget))?;
            let i = live
                .actions
                .iter()
                .position(|a| a.id.as_deref() == Some(action_id))
                .ok_or_else(|| not_found("DeleteBudgetAction", action_id))?;
            live.actions.remove(i);
            Ok(())
        })
    }
}

impl SubscriptionStore for InMemoryAccount {
    async fn email_subscriptions(&self) -> Result<Vec<LiveSubscription>, PortError> {
        Ok(self.with(|m| m.subscriptions.clone()))
    }

    async fn subscribe(&self, channel: &str, address: &str) -> Result<(), PortError> {
        self.write("Subscribe", |m| {
            m.next_arn += 1;
            let arn = format!("arn:aws:sns:us-east-1:000000000000:notify:{}", m.next_arn);
            m.subscriptions.push(LiveSubscription {
                address: address.to_owned(),
                arn: Some(arn),
                channel: channel_of_filter_policy(&crate::account::channel_filter_policy(channel)),
            });
            Ok(())
        })
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), PortError> {
        self.write("Unsubscribe", |m| {
            let i = m
                .subscriptions
                .iter()
                .position(|s| s.arn.as_deref() == Some(subscription_arn))
                .ok_or_else(|| not_found("Unsubscribe", subscription_arn))?;
            m.subscriptions.remove(i);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::desired;
    use crate::period::Period;
    use crate::plan::plan;
    use crate::policy::raw::Basis;
    use crate::policy::{SourceFile, ThresholdType, load};
    use futures::executor::block_on;
    use rust_decimal_macros::dec;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
    const OWNER: &str = "BudgetGuard";

    fn example() -> crate::policy::Policy {
        let text = include_str!("../../../policies/example.yaml");
        let (policy, diagnostics) =
            load(&[SourceFile::new("example.yaml", text.as_bytes().to_vec())]);
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
            let ownership = crate::ownership::Ownership::new(OWNER);
            crate::ownership::claim(plan(want, &live), want, &live, account, &ownership, prefix)
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
            notification_type: Basis::Actual,
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
                Outcome::Applied(_) => "applied",
                Outcome::Failed(..) => "failed",
                Outcome::Skipped(_) => "skipped",
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
}
