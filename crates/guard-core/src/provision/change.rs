//! One change of a plan: what it does to which budget, notification, subscriber or action, and how
//! it reads (text and JSON).

use crate::provision::account::OWNER_TAG;
use crate::provision::account::{
    BudgetState, EmailSubscription, Expression, NotificationKey, Subscriber,
};
use crate::provision::budget_action::BudgetAction;
use serde_json::{Value, json};

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
    /// A Budgets action: a threshold's hard stop (see [`crate::provision::budget_action`]).
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

/// What a change does to its object: create, update or delete it. (Not a budget action: those are
/// objects, changed by `CreateAction`, `UpdateAction` and `DeleteAction`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Update,
    Delete,
}

impl Change {
    pub fn verb(&self) -> Verb {
        match self {
            Change::CreateBudget(_)
            | Change::CreateNotification { .. }
            | Change::CreateSubscriber { .. }
            | Change::CreateAction { .. }
            | Change::Subscribe(_) => Verb::Create,
            Change::UpdateBudget { .. }
            | Change::UpdateAction { .. }
            | Change::AdoptBudget { .. } => Verb::Update,
            _ => Verb::Delete,
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
        let action = match self.verb() {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
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
            put("notification_type", json!(key.notification_type.as_api()));
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
