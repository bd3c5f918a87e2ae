//! Applying a plan through the ports, with bounded concurrency, in an order that never leaves a
//! budget half made, and a report of what was and was not applied.
//!
//! Generic over the ports and runs on any executor: no tokio, no SDK, no clock.

use crate::ports::{ErrorKind, PortError};
use crate::provision::account::{NotificationKey, Subscriber, SubscriberType};
use crate::provision::change::{Change, Verb};
use crate::provision::plan::Plan;
use crate::provision::ports::{BudgetWriter, SubscriptionStore};
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Writes in flight at once. Budgets allows few requests per second; the client retries
    /// throttling with backoff, and a small bound keeps it rare.
    pub concurrency: usize,
    /// Budget names must start with it: a change to any other budget is refused.
    pub prefix: String,
    /// The deployment the guard acts for: every budget it creates carries it in its
    /// [`OWNER_TAG`](crate::provision::account::OWNER_TAG) tag.
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
pub enum ChangeOutcome {
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

    fn record(&mut self, outcome: ChangeOutcome, progress: &mut impl FnMut(&ChangeOutcome)) {
        progress(&outcome);
        match outcome {
            ChangeOutcome::Applied(change) => self.applied.push(change),
            ChangeOutcome::Failed(change, error) => self.failed.push((change, error)),
            ChangeOutcome::Skipped(skipped) => self.skipped.push(skipped),
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
        match (&self.change, self.change.verb()) {
            (Change::AdoptBudget { .. }, _) => 0,
            (_, Verb::Create | Verb::Update) if !of_action => 1,
            (_, Verb::Create | Verb::Update) => 2,
            (_, Verb::Delete) if of_action => 3,
            (_, Verb::Delete) => 4,
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
    mut progress: impl FnMut(&ChangeOutcome),
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
                        report.record(ChangeOutcome::Skipped(skipped), &mut progress);
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
                    Ok(()) => ChangeOutcome::Applied(change),
                    Err(error) => ChangeOutcome::Failed(change, error.clone()),
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
            c if c.verb() == Verb::Delete => second.push(Task::new(c.clone())),
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

#[cfg(test)]
mod tests;
