//! The plan: what must change in an account for it to match the policy. A pure function of the
//! desired and the live state, so that the offline plan (live = empty), the live plan and apply all
//! share it.

use crate::account::{
    AccountState, BudgetState, EmailSubscription, Expression, NotificationKey, Subscriber,
};
use crate::budget_action::{ActionChange, BudgetAction, plan_actions};
use crate::policy::raw::Basis;
use serde_json::{Value, json};

/// The resource tag that names the deployment a budget belongs to. The guard changes and deletes
/// only budgets that have its prefix and this tag with its owner's name.
pub const OWNER_TAG: &str = "budget-guard:owner";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

// Plans hold tens of changes, built once per run: boxing the update's states would cost more
// clarity than the few hundred bytes it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    CreateBudget(BudgetState),
    UpdateBudget {
        old: BudgetState,
        new: BudgetState,
        fields: Vec<FieldChange>,
    },
    DeleteBudget(BudgetState),
    CreateNotification {
        budget: String,
        key: NotificationKey,
        subscribers: Vec<Subscriber>,
    },
    DeleteNotification {
        budget: String,
        key: NotificationKey,
    },
    CreateSubscriber {
        budget: String,
        key: NotificationKey,
        subscriber: Subscriber,
    },
    DeleteSubscriber {
        budget: String,
        key: NotificationKey,
        subscriber: Subscriber,
    },
    Subscribe(EmailSubscription),
    Unsubscribe(EmailSubscription),
    /// A Budgets action: a threshold's hard stop (see [`crate::budget_action`]).
    CreateAction {
        budget: String,
        action: BudgetAction,
    },
    /// `new` carries `old`'s id.
    UpdateAction {
        budget: String,
        old: BudgetAction,
        new: BudgetAction,
        fields: Vec<FieldChange>,
    },
    DeleteAction {
        budget: String,
        action: BudgetAction,
    },
    /// Tags an existing budget as this deployment's (`apply --adopt`), before its other changes.
    AdoptBudget {
        name: String,
        owner: String,
        /// The owner tag it had, if any.
        previous: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Change {
    pub fn action(&self) -> Action {
        match self {
            Change::CreateBudget(_)
            | Change::CreateNotification { .. }
            | Change::CreateSubscriber { .. }
            | Change::CreateAction { .. }
            | Change::Subscribe(_) => Action::Create,
            Change::UpdateBudget { .. }
            | Change::UpdateAction { .. }
            | Change::AdoptBudget { .. } => Action::Update,
            _ => Action::Delete,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Change::CreateBudget(_)
            | Change::UpdateBudget { .. }
            | Change::DeleteBudget(_)
            | Change::AdoptBudget { .. } => "budget",
            Change::CreateNotification { .. } | Change::DeleteNotification { .. } => "notification",
            Change::CreateSubscriber { .. } | Change::DeleteSubscriber { .. } => "subscriber",
            Change::CreateAction { .. }
            | Change::UpdateAction { .. }
            | Change::DeleteAction { .. } => "budget_action",
            Change::Subscribe(_) | Change::Unsubscribe(_) => "email_subscription",
        }
    }

    /// The budget a change belongs to, if any.
    pub fn budget(&self) -> Option<&str> {
        match self {
            Change::CreateBudget(b) | Change::DeleteBudget(b) => Some(&b.name),
            Change::UpdateBudget { new, .. } => Some(&new.name),
            Change::AdoptBudget { name, .. } => Some(name),
            Change::CreateNotification { budget, .. }
            | Change::DeleteNotification { budget, .. }
            | Change::CreateSubscriber { budget, .. }
            | Change::DeleteSubscriber { budget, .. }
            | Change::CreateAction { budget, .. }
            | Change::UpdateAction { budget, .. }
            | Change::DeleteAction { budget, .. } => Some(budget),
            Change::Subscribe(_) | Change::Unsubscribe(_) => None,
        }
    }

    /// The JSON form: `{action, kind, name, ...}` with the Budgets API's names and values.
    pub fn to_json(&self) -> Value {
        let action = match self.action() {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        };
        let mut value = json!({ "action": action, "kind": self.kind() });
        let obj = value
            .as_object_mut()
            .expect("json! of an object is an object");
        let mut put = |k: &str, v: Value| {
            obj.insert(k.to_owned(), v);
        };
        let budget_fields = |b: &BudgetState, put: &mut dyn FnMut(&str, Value)| {
            put("name", json!(b.name));
            put("limit", decimal(b.limit));
            put("unit", json!("USD"));
            put("time_unit", json!(b.time_unit.time_unit()));
            put("budget_type", json!("COST"));
            put(
                "filter_expression",
                serde_json::to_value(&b.filter).unwrap_or(Value::Null),
            );
        };
        let key_fields = |budget: &str, key: &NotificationKey, put: &mut dyn FnMut(&str, Value)| {
            put("name", json!(budget));
            put("budget", json!(budget));
            put("notification_type", json!(basis_api(key.notification_type)));
            put("comparison_operator", json!("GREATER_THAN"));
            put("threshold", decimal(key.threshold));
            put("threshold_type", json!(key.threshold_type.as_api()));
        };
        let subscriber_fields = |s: &Subscriber, put: &mut dyn FnMut(&str, Value)| {
            put(
                "subscription_type",
                serde_json::to_value(s.subscription_type).unwrap_or(Value::Null),
            );
            put("address", json!(s.address));
        };
        let action_fields = |budget: &str, a: &BudgetAction, put: &mut dyn FnMut(&str, Value)| {
            key_fields(budget, &a.key, put);
            put("action_id", json!(a.id));
            put("action_type", json!(a.action_type));
            put("approval_model", json!(a.approval_model));
            put("policy_arn", json!(a.policy_arn));
            put("execution_role_arn", json!(a.execution_role_arn));
            put("roles", json!(a.roles));
            put(
                "subscribers",
                Value::Array(
                    a.subscribers
                        .iter()
                        .map(|s| json!({ "subscription_type": s.subscription_type, "address": s.address }))
                        .collect(),
                ),
            );
        };
        match self {
            Change::CreateAction { budget, action } | Change::DeleteAction { budget, action } => {
                action_fields(budget, action, &mut put);
            }
            Change::UpdateAction {
                budget,
                new,
                fields,
                ..
            } => {
                action_fields(budget, new, &mut put);
                put("changes", field_changes_json(fields));
            }
            Change::CreateBudget(b) | Change::DeleteBudget(b) => budget_fields(b, &mut put),
            Change::UpdateBudget { new, fields, .. } => {
                budget_fields(new, &mut put);
                put("changes", field_changes_json(fields));
            }
            Change::CreateNotification {
                budget,
                key,
                subscribers,
            } => {
                key_fields(budget, key, &mut put);
                put(
                    "subscribers",
                    Value::Array(
                        subscribers
                            .iter()
                            .map(|s| json!({ "subscription_type": s.subscription_type, "address": s.address }))
                            .collect(),
                    ),
                );
            }
            Change::DeleteNotification { budget, key } => key_fields(budget, key, &mut put),
            Change::CreateSubscriber {
                budget,
                key,
                subscriber,
            }
            | Change::DeleteSubscriber {
                budget,
                key,
                subscriber,
            } => {
                key_fields(budget, key, &mut put);
                subscriber_fields(subscriber, &mut put);
            }
            Change::Subscribe(s) | Change::Unsubscribe(s) => {
                put("name", json!(s.address));
                put("channel", json!(s.channel));
                put("address", json!(s.address));
                put("protocol", json!("email"));
            }
            Change::AdoptBudget {
                name,
                owner,
                previous,
            } => {
                put("name", json!(name));
                put("owner", json!(owner));
                put("previous_owner", json!(previous));
            }
        }
        value
    }

    /// One line as infrastructure tools print it: `+`, `~` with old and new, `-`.
    pub fn render(&self) -> String {
        match self {
            Change::CreateAction { budget, action } => {
                format!("+ budget action {budget}: {}", action.describe())
            }
            Change::UpdateAction {
                budget,
                new,
                fields,
                ..
            } => {
                let mut line = format!("~ budget action {budget}: {}", new.key.label());
                for f in fields {
                    line.push_str(&format!("\n    ~ {}: {} -> {}", f.field, f.old, f.new));
                }
                line
            }
            Change::DeleteAction { budget, action } => {
                format!("- budget action {budget}: {}", action.describe())
            }
            Change::CreateBudget(b) => format!(
                "+ budget {}: {} USD {}, {}",
                b.name,
                b.limit.normalize(),
                b.time_unit.time_unit(),
                b.filter
                    .as_ref()
                    .map(Expression::describe)
                    .unwrap_or_else(|| "all costs".into())
            ),
            Change::UpdateBudget { new, fields, .. } => {
                let mut line = format!("~ budget {}", new.name);
                for f in fields {
                    line.push_str(&format!("\n    ~ {}: {} -> {}", f.field, f.old, f.new));
                }
                line
            }
            Change::DeleteBudget(b) => format!("- budget {}", b.name),
            Change::CreateNotification {
                budget,
                key,
                subscribers,
            } => format!(
                "+ notification {budget}: {} -> {}",
                key.label(),
                subscribers
                    .iter()
                    .map(|s| s.address.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Change::DeleteNotification { budget, key } => {
                format!("- notification {budget}: {}", key.label())
            }
            Change::CreateSubscriber {
                budget,
                key,
                subscriber,
            } => {
                format!(
                    "+ subscriber {budget}: {} -> {}",
                    key.label(),
                    subscriber.address
                )
            }
            Change::DeleteSubscriber {
                budget,
                key,
                subscriber,
            } => {
                format!(
                    "- subscriber {budget}: {} -> {}",
                    key.label(),
                    subscriber.address
                )
            }
            Change::Subscribe(s) => {
                format!("+ email subscription {} (channel {})", s.address, s.channel)
            }
            Change::Unsubscribe(s) => {
                format!("- email subscription {} (channel {})", s.address, s.channel)
            }
            Change::AdoptBudget {
                name,
                owner,
                previous,
            } => format!(
                "~ budget {name}: adopt ({OWNER_TAG} {} -> {owner})",
                previous.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

pub fn basis_api(basis: Basis) -> &'static str {
    match basis {
        Basis::Actual => "ACTUAL",
        Basis::Forecasted => "FORECASTED",
    }
}

fn field_changes_json(fields: &[FieldChange]) -> Value {
    Value::Array(
        fields
            .iter()
            .map(|f| json!({ "field": f.field, "old": f.old, "new": f.new }))
            .collect(),
    )
}

fn decimal(d: rust_decimal::Decimal) -> Value {
    serde_json::to_value(
        rust_decimal::serde::float::serialize(&d, serde_json::value::Serializer)
            .unwrap_or(Value::Null),
    )
    .unwrap_or(Value::Null)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Email addresses that wait for their owner to confirm: counted as present, shown so that
    /// nobody wonders why they get no mail.
    pub pending: Vec<EmailSubscription>,
    /// Budgets with the prefix that the plan would have changed or deleted, left alone because
    /// they are not this deployment's (see [`crate::ownership`]).
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

    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action() == action).count()
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
            self.count(Action::Create),
            self.count(Action::Update),
            self.count(Action::Delete)
        )
    }

    pub fn to_json(&self) -> Value {
        json!({
            "changes": self.changes.iter().map(Change::to_json).collect::<Vec<_>>(),
            "pending_confirmation": self.pending.iter().map(|s| json!({"channel": s.channel, "address": s.address})).collect::<Vec<_>>(),
            "not_ours": self.not_ours.iter().map(|n| json!({"name": n.name, "owner": n.owner, "wanted": n.wanted})).collect::<Vec<_>>(),
            "summary": {
                "create": self.count(Action::Create),
                "update": self.count(Action::Update),
                "delete": self.count(Action::Delete),
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
