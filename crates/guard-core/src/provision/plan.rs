//! The plan: what must change in an account for it to match the policy. A pure function of the
//! desired and the live state, so that the offline plan (live = empty), the live plan and apply all
//! share it.

use crate::provision::account::OWNER_TAG;
use crate::provision::account::{AccountState, BudgetState, EmailSubscription, Expression};
use crate::provision::budget_action::{ActionChange, plan_actions};
use crate::provision::change::{Change, FieldChange, Verb};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Email addresses that wait for their owner to confirm: counted as present, shown so that
    /// nobody wonders why they get no mail.
    pub pending: Vec<EmailSubscription>,
    /// Budgets with the prefix that the plan would have changed or deleted, left alone because
    /// they are not this deployment's (see [`crate::provision::ownership`]).
    pub not_ours: Vec<NotOurs>,
}

/// A budget with the prefix that is not this deployment's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOurs {
    pub name: String,
    /// Its owner tag: another deployment's name, or `None` when it has no tag (made by hand, or by
    /// a version of the guard from before ownership tags).
    pub owner: Option<String>,
    /// Whether the policy has a budget of that name: then the account cannot match the policy
    /// until the budget is adopted (`apply --adopt`) or renamed.
    pub wanted: bool,
}

impl NotOurs {
    pub fn render(&self) -> String {
        let whose = match &self.owner {
            None => format!("not ours (no {OWNER_TAG} tag)"),
            Some(owner) => format!("not ours (deployment {owner})"),
        };
        let wanted = if self.wanted {
            "; the policy wants a budget of that name"
        } else {
            ""
        };
        format!(
            "! budget {}: {whose}: left alone{wanted}; `budget-guard apply --adopt {}` takes it over",
            self.name, self.name
        )
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Budgets the policy wants that are not this deployment's: while there are any, applying
    /// cannot make the account match the policy.
    pub fn blocked(&self) -> impl Iterator<Item = &NotOurs> {
        self.not_ours.iter().filter(|n| n.wanted)
    }

    pub fn count(&self, verb: Verb) -> usize {
        self.changes.iter().filter(|c| c.verb() == verb).count()
    }

    pub fn summary(&self) -> String {
        let blocked = self.blocked().count();
        if self.is_empty() && blocked == 0 {
            return "No changes: the account matches the policy.".into();
        }
        if self.is_empty() {
            let (s, are) = if blocked == 1 {
                ("", "is")
            } else {
                ("s", "are")
            };
            return format!(
                "No changes the guard may make, but {blocked} budget{s} of the policy {are} not ours."
            );
        }
        format!(
            "Plan: {} to create, {} to update, {} to delete.",
            self.count(Verb::Create),
            self.count(Verb::Update),
            self.count(Verb::Delete)
        )
    }

    pub fn to_json(&self) -> Value {
        json!({
            "changes": self.changes.iter().map(Change::to_json).collect::<Vec<_>>(),
            "pending_confirmation": self.pending.iter().map(|s| json!({"channel": s.channel, "address": s.address})).collect::<Vec<_>>(),
            "not_ours": self.not_ours.iter().map(|n| json!({"name": n.name, "owner": n.owner, "wanted": n.wanted})).collect::<Vec<_>>(),
            "summary": {
                "create": self.count(Verb::Create),
                "update": self.count(Verb::Update),
                "delete": self.count(Verb::Delete),
            },
        })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            out.push_str(&change.render());
            out.push('\n');
        }
        for s in &self.pending {
            out.push_str(&format!(
                "  email subscription {} (channel {}) is pending confirmation\n",
                s.address, s.channel
            ));
        }
        for n in &self.not_ours {
            out.push_str(&n.render());
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }
}

/// What must change for `live` to match `desired`. Ordered: creates (budgets, then notifications,
/// subscribers, budget actions, email subscriptions), updates, then deletes (budget actions,
/// subscribers, notifications, budgets, email subscriptions). A budget's own notifications are not listed when the budget itself is
/// created or deleted with them.
pub fn plan(desired: &AccountState, live: &AccountState) -> Plan {
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let empty = Default::default();

    for (name, want) in &desired.budgets {
        match live.budgets.get(name) {
            None => creates.push(Change::CreateBudget(want.clone())),
            Some(have) => {
                let fields = budget_field_changes(have, want);
                if !fields.is_empty() {
                    updates.push(Change::UpdateBudget {
                        old: have.clone(),
                        new: want.clone(),
                        fields,
                    });
                }
            }
        }
    }
    let mut notification_creates = Vec::new();
    let mut subscriber_creates = Vec::new();
    let mut subscriber_deletes = Vec::new();
    let mut notification_deletes = Vec::new();
    for (budget, wanted) in &desired.notifications {
        let had = live.notifications.get(budget).unwrap_or(&empty);
        for (key, subscribers) in wanted {
            match had.get(key) {
                None => notification_creates.push(Change::CreateNotification {
                    budget: budget.clone(),
                    key: *key,
                    subscribers: subscribers.clone(),
                }),
                Some(have) => {
                    for s in subscribers.iter().filter(|s| !have.contains(s)) {
                        subscriber_creates.push(Change::CreateSubscriber {
                            budget: budget.clone(),
                            key: *key,
                            subscriber: s.clone(),
                        });
                    }
                    for s in have.iter().filter(|s| !subscribers.contains(s)) {
                        subscriber_deletes.push(Change::DeleteSubscriber {
                            budget: budget.clone(),
                            key: *key,
                            subscriber: s.clone(),
                        });
                    }
                }
            }
        }
        for key in had.keys().filter(|k| !wanted.contains_key(k)) {
            notification_deletes.push(Change::DeleteNotification {
                budget: budget.clone(),
                key: *key,
            });
        }
    }
    let mut action_creates = Vec::new();
    let mut action_deletes = Vec::new();
    let names: std::collections::BTreeSet<&String> =
        desired.actions.keys().chain(live.actions.keys()).collect();
    for budget in names {
        let wanted = desired
            .actions
            .get(budget)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let had = live
            .actions
            .get(budget)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for change in plan_actions(wanted, had) {
            let budget = budget.clone();
            match change {
                ActionChange::Create(action) => {
                    action_creates.push(Change::CreateAction { budget, action });
                }
                ActionChange::Update { old, new, fields } => updates.push(Change::UpdateAction {
                    budget,
                    old,
                    new,
                    fields,
                }),
                ActionChange::Delete(action) => {
                    action_deletes.push(Change::DeleteAction { budget, action });
                }
            }
        }
    }
    let mut budget_deletes = Vec::new();
    for (name, have) in &live.budgets {
        if !desired.budgets.contains_key(name) {
            budget_deletes.push(Change::DeleteBudget(have.clone()));
        }
    }

    let mut subscribes = Vec::new();
    let mut unsubscribes = Vec::new();
    let mut pending = Vec::new();
    let same = |a: &EmailSubscription, b: &EmailSubscription| {
        a.channel == b.channel && a.address.eq_ignore_ascii_case(&b.address)
    };
    for want in &desired.email_subscriptions {
        match live
            .email_subscriptions
            .iter()
            .find(|have| same(have, want))
        {
            None => subscribes.push(Change::Subscribe(want.clone())),
            Some(have) if have.pending => pending.push(have.clone()),
            Some(_) => {}
        }
    }
    for have in &live.email_subscriptions {
        // A pending subscription cannot be removed until its owner confirms it.
        if !have.pending
            && !desired
                .email_subscriptions
                .iter()
                .any(|want| same(have, want))
        {
            unsubscribes.push(Change::Unsubscribe(have.clone()));
        }
    }

    let mut changes = creates;
    changes.extend(notification_creates);
    changes.extend(subscriber_creates);
    changes.extend(action_creates);
    changes.extend(subscribes);
    changes.extend(updates);
    changes.extend(action_deletes);
    changes.extend(subscriber_deletes);
    changes.extend(notification_deletes);
    changes.extend(budget_deletes);
    changes.extend(unsubscribes);
    Plan {
        changes,
        pending,
        not_ours: Vec::new(),
    }
}

fn budget_field_changes(have: &BudgetState, want: &BudgetState) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    if have.limit.normalize() != want.limit.normalize() {
        fields.push(FieldChange {
            field: "limit",
            old: have.limit.normalize().to_string(),
            new: want.limit.normalize().to_string(),
        });
    }
    if have.time_unit != want.time_unit {
        fields.push(FieldChange {
            field: "time_unit",
            old: have.time_unit.time_unit().into(),
            new: want.time_unit.time_unit().into(),
        });
    }
    let norm = |f: &Option<Expression>| f.as_ref().map(Expression::normalized);
    if norm(&have.filter) != norm(&want.filter) {
        let describe = |f: &Option<Expression>| {
            f.as_ref()
                .map(Expression::describe)
                .unwrap_or_else(|| "all costs".into())
        };
        fields.push(FieldChange {
            field: "filter",
            old: describe(&have.filter),
            new: describe(&want.filter),
        });
    }
    fields
}
