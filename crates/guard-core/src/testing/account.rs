//! An in-memory account behind all of provisioning's ports.

use crate::ports::{ErrorKind, PortError};
use crate::provision::account::{
    BudgetState, NotificationKey, Subscriber, channel_of_filter_policy,
};
use crate::provision::budget_action::BudgetAction;
use crate::provision::ports::{
    BudgetOwners, BudgetReader, BudgetWriter, LiveBudget, LiveSubscription, ReadDepth,
    SubscriptionStore,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

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

impl BudgetOwners for InMemoryAccount {
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
                channel: channel_of_filter_policy(
                    &crate::provision::account::channel_filter_policy(channel),
                ),
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
