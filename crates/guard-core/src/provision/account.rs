//! The state of an account as far as the guard cares: its owned budgets, their notifications and
//! subscribers, and the email subscriptions of the notify topic. `desired` computes it from a
//! policy; the adapters read the live one; `plan` compares the two.

use crate::period::Period;
use crate::policy::{BudgetSpec, ChannelSpec, Policy, ThresholdType};
use crate::provision::budget_action::{BudgetAction, HardStop};
use crate::spend_basis::SpendBasis;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// The resource tag that names the deployment a budget belongs to. The guard changes and deletes
/// only budgets that have its prefix and this tag with its owner's name.
pub const OWNER_TAG: &str = "budget-guard:owner";

/// A Budgets `Expression`, as the API spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Expression {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and: Option<Vec<Expression>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<KeyValues>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<KeyValues>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValues {
    pub key: String,
    pub values: Vec<String>,
    pub match_options: Vec<String>,
}

impl Expression {
    pub fn dimension(key: &str, values: &[String]) -> Expression {
        Expression {
            dimensions: Some(KeyValues::equals(key, values)),
            ..Default::default()
        }
    }

    pub fn tag(key: &str, values: &[String]) -> Expression {
        Expression {
            tags: Some(KeyValues::equals(key, values)),
            ..Default::default()
        }
    }

    /// The same filter with every list sorted, so that two filters that mean the same compare equal.
    pub fn normalized(&self) -> Expression {
        let mut and = self
            .and
            .as_ref()
            .map(|list| list.iter().map(Expression::normalized).collect::<Vec<_>>());
        if let Some(list) = and.as_mut() {
            list.sort_by_key(|e| serde_json::to_string(e).unwrap_or_default());
        }
        Expression {
            and,
            dimensions: self.dimensions.as_ref().map(KeyValues::normalized),
            tags: self.tags.as_ref().map(KeyValues::normalized),
        }
    }

    /// A one-line rendering for plans: `SERVICE in [..] and tag app in [..]`.
    pub fn describe(&self) -> String {
        if let Some(list) = &self.and {
            return list
                .iter()
                .map(Expression::describe)
                .collect::<Vec<_>>()
                .join(" and ");
        }
        let kv = |prefix: &str, kv: &KeyValues| {
            format!("{prefix}{} in [{}]", kv.key, kv.values.join(", "))
        };
        match (&self.dimensions, &self.tags) {
            (Some(d), _) => kv("", d),
            (_, Some(t)) => kv("tag ", t),
            _ => "everything".into(),
        }
    }
}

impl KeyValues {
    fn equals(key: &str, values: &[String]) -> KeyValues {
        KeyValues {
            key: key.to_owned(),
            values: values.to_vec(),
            match_options: vec!["EQUALS".to_owned()],
        }
    }

    fn normalized(&self) -> KeyValues {
        let mut values = self.values.clone();
        values.sort();
        values.dedup();
        let mut match_options = self.match_options.clone();
        if match_options.is_empty() {
            match_options.push("EQUALS".to_owned());
        }
        match_options.sort();
        KeyValues {
            key: self.key.clone(),
            values,
            match_options,
        }
    }
}

/// An AWS budget the guard owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetState {
    pub name: String,
    #[serde(with = "rust_decimal::serde::float")]
    pub limit: Decimal,
    pub time_unit: Period,
    pub filter: Option<Expression>,
}

/// What identifies a budget notification, as the Budgets API does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NotificationKey {
    pub notification_type: SpendBasis,
    pub threshold_type: ThresholdType,
    /// `GREATER_THAN`: the guard always alerts when spend goes over.
    #[serde(with = "rust_decimal::serde::float")]
    pub threshold: Decimal,
}

impl NotificationKey {
    pub fn label(&self) -> String {
        let basis = self.notification_type.as_api();
        match self.threshold_type {
            ThresholdType::Percentage => format!("{basis} > {}%", self.threshold.normalize()),
            ThresholdType::AbsoluteValue => format!("{basis} > ${}", self.threshold.normalize()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubscriberType {
    Sns,
    Email,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Subscriber {
    pub subscription_type: SubscriberType,
    pub address: String,
}

/// An email subscription of the notify topic, for one channel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EmailSubscription {
    pub channel: String,
    pub address: String,
    /// Real SNS lists an unconfirmed address with the ARN `PendingConfirmation`; such a
    /// subscription cannot be changed or removed, and counts as present.
    pub pending: bool,
    /// The subscription ARN, when confirmed (live state only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// The guard's part of an account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountState {
    pub budgets: BTreeMap<String, BudgetState>,
    /// Per budget name, its notifications and each one's subscribers.
    pub notifications: BTreeMap<String, BTreeMap<NotificationKey, Vec<Subscriber>>>,
    /// Per budget name, its Budgets actions (the hard stops). A budget without actions may be
    /// missing.
    pub actions: BTreeMap<String, Vec<BudgetAction>>,
    pub email_subscriptions: Vec<EmailSubscription>,
}

impl AccountState {
    /// The desired state with the deployment's deny policy and Budgets role in every action. A
    /// state with actions cannot be applied without them: `None` is then an error.
    pub fn with_hard_stop(
        mut self,
        hard_stop: Option<&HardStop>,
    ) -> Result<AccountState, MissingHardStop> {
        let actions = self.actions.values().map(Vec::len).sum::<usize>();
        match hard_stop {
            Some(hard_stop) => {
                for action in self.actions.values_mut().flatten() {
                    action.set_hard_stop(hard_stop);
                }
                Ok(self)
            }
            None if actions > 0 => Err(MissingHardStop { actions }),
            None => Ok(self),
        }
    }
}

/// A policy with `deny` for a deployment that has no deny policy or Budgets role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the policy denies Bedrock to roles at {actions} threshold(s), but the deny policy and the role AWS Budgets runs as are not known: \
     the stack makes them when the policy has `deny` (outputs DenyPolicyArn and BudgetActionRoleArn)"
)]
pub struct MissingHardStop {
    pub actions: usize,
}

pub const SERVICE_DIMENSION: &str = "SERVICE";
pub const LINKED_ACCOUNT_DIMENSION: &str = "LINKED_ACCOUNT";
pub const REGION_DIMENSION: &str = "REGION";

/// The filter of a budget: services, and the tags, accounts and regions when the scope has them.
pub fn filter_for(budget: &BudgetSpec) -> Expression {
    let scope = &budget.scope;
    let mut parts = vec![Expression::dimension(SERVICE_DIMENSION, &scope.services)];
    for (key, values) in &scope.tags {
        parts.push(Expression::tag(key, values));
    }
    if !scope.accounts.is_empty() {
        parts.push(Expression::dimension(
            LINKED_ACCOUNT_DIMENSION,
            &scope.accounts,
        ));
    }
    if !scope.regions.is_empty() {
        parts.push(Expression::dimension(REGION_DIMENSION, &scope.regions));
    }
    // An `And` needs at least two operands.
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        Expression {
            and: Some(parts),
            ..Default::default()
        }
    }
}

/// The account state that `policy` asks for. Every notification's one subscriber is the alerts
/// topic: the alert handler fans out to Slack and email. A threshold's `deny` is a Budgets action
/// without the deployment's deny policy and role: [`AccountState::with_hard_stop`] adds them.
pub fn desired(policy: &Policy, alerts_topic_arn: &str) -> AccountState {
    let mut state = AccountState::default();
    for budget in policy.budgets.values() {
        state.budgets.insert(
            budget.name.clone(),
            BudgetState {
                name: budget.name.clone(),
                limit: budget.amount,
                time_unit: budget.period,
                filter: Some(filter_for(budget)),
            },
        );
        let notifications = budget
            .thresholds
            .iter()
            .map(|t| {
                let key = NotificationKey {
                    notification_type: t.basis,
                    threshold_type: t.threshold_type,
                    threshold: t.value,
                };
                let subscriber = Subscriber {
                    subscription_type: SubscriberType::Sns,
                    address: alerts_topic_arn.to_owned(),
                };
                (key, vec![subscriber])
            })
            .collect();
        state
            .notifications
            .insert(budget.name.clone(), notifications);
        let actions: Vec<BudgetAction> = budget
            .thresholds
            .iter()
            .filter(|t| !t.deny_roles.is_empty())
            .map(|t| {
                let key = NotificationKey {
                    notification_type: t.basis,
                    threshold_type: t.threshold_type,
                    threshold: t.value,
                };
                BudgetAction::wanted(key, &t.deny_roles, alerts_topic_arn)
            })
            .collect();
        if !actions.is_empty() {
            state.actions.insert(budget.name.clone(), actions);
        }
    }
    for (name, channel) in &policy.channels {
        if let ChannelSpec::Email { addresses } = channel {
            for address in addresses {
                state.email_subscriptions.push(EmailSubscription {
                    channel: name.clone(),
                    address: address.clone(),
                    pending: false,
                    arn: None,
                });
            }
        }
    }
    state.email_subscriptions.sort();
    state
}

/// The SNS filter policy of an email channel's subscriptions: only messages for that channel.
pub fn channel_filter_policy(channel: &str) -> String {
    serde_json::json!({ "channel": [channel] }).to_string()
}

/// The channel a subscription's filter policy selects, if it is one the guard wrote.
pub fn channel_of_filter_policy(policy: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(policy).ok()?;
    let list = value.get("channel")?.as_array()?;
    match list.as_slice() {
        [serde_json::Value::String(channel)] => Some(channel.clone()),
        _ => None,
    }
}
