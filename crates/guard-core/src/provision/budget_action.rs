//! The hard stop in AWS: a threshold's `deny: {roles}` as an AWS Budgets action that attaches the
//! deployment's deny-Bedrock policy to those roles, executed automatically when the threshold is
//! crossed. The actions the guard wants on a budget, and what must change for the live ones to
//! match. A budget's actions belong to whoever owns the budget: the guard reconciles them only on
//! budgets it owns, as it does notifications.

use crate::provision::account::{NotificationKey, Subscriber, SubscriberType};
use crate::provision::change::FieldChange;

/// The Budgets action type of every hard stop.
pub const APPLY_IAM_POLICY: &str = "APPLY_IAM_POLICY";
/// The approval model of every hard stop: nobody has to be awake for it to run.
pub const AUTOMATIC: &str = "AUTOMATIC";

/// The deployment's two IAM resources behind every hard stop: the policy attached, and the role
/// AWS Budgets runs as to attach it (stack outputs `DenyPolicyArn` and `BudgetActionRoleArn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardStop {
    pub deny_policy_arn: String,
    pub execution_role_arn: String,
}

/// A Budgets action as the guard compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetAction {
    /// The action's id (live actions only).
    pub id: Option<String>,
    /// When it runs: the same notification type and threshold as the notification it goes with.
    pub key: NotificationKey,
    /// [`APPLY_IAM_POLICY`] for the guard's. A live action of another type where the guard wants
    /// one is replaced: AWS cannot change an action's type.
    pub action_type: String,
    pub approval_model: String,
    /// `None` in a desired state made without the deployment's [`HardStop`] (an offline plan).
    pub policy_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    /// IAM role names, sorted.
    pub roles: Vec<String>,
    /// The groups and users it attaches to as well (`group NAME`, `user NAME`): none in the
    /// guard's, so a live action with some is updated.
    pub others: Vec<String>,
    /// Whom AWS tells when it runs, sorted.
    pub subscribers: Vec<Subscriber>,
}

impl BudgetAction {
    /// The action a threshold with `deny.roles` asks for. Its one subscriber is the alerts topic,
    /// like the threshold's notification: AWS's message that the action ran reaches the alert
    /// handler, which passes on what it does not recognise to the `unmatched_notify` channels.
    pub fn wanted(key: NotificationKey, roles: &[String], alerts_topic_arn: &str) -> BudgetAction {
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        BudgetAction {
            id: None,
            key,
            action_type: APPLY_IAM_POLICY.to_owned(),
            approval_model: AUTOMATIC.to_owned(),
            policy_arn: None,
            execution_role_arn: None,
            roles,
            others: Vec::new(),
            subscribers: vec![Subscriber {
                subscription_type: SubscriberType::Sns,
                address: alerts_topic_arn.to_owned(),
            }],
        }
    }

    pub fn set_hard_stop(&mut self, hard_stop: &HardStop) {
        self.policy_arn = Some(hard_stop.deny_policy_arn.clone());
        self.execution_role_arn = Some(hard_stop.execution_role_arn.clone());
    }

    /// `ACTUAL > 100%: deny Bedrock to roles app-a, app-b (AUTOMATIC)`.
    pub fn describe(&self) -> String {
        let what = if self.action_type == APPLY_IAM_POLICY {
            format!("deny Bedrock to roles {}", self.roles.join(", "))
        } else {
            self.action_type.clone()
        };
        format!("{}: {what} ({})", self.key.label(), self.approval_model)
    }

    /// What differs between a live action and the wanted one at the same threshold.
    fn field_changes(have: &BudgetAction, want: &BudgetAction) -> Vec<FieldChange> {
        let mut fields = Vec::new();
        let mut compare = |field: &'static str, old: String, new: String| {
            if old != new {
                fields.push(FieldChange { field, old, new });
            }
        };
        let arn = |a: &Option<String>| a.clone().unwrap_or_else(|| "(unset)".into());
        let list = |l: &[String]| format!("[{}]", l.join(", "));
        compare(
            "approval_model",
            have.approval_model.clone(),
            want.approval_model.clone(),
        );
        compare("policy_arn", arn(&have.policy_arn), arn(&want.policy_arn));
        compare(
            "execution_role_arn",
            arn(&have.execution_role_arn),
            arn(&want.execution_role_arn),
        );
        compare("roles", list(&have.roles), list(&want.roles));
        compare("groups_and_users", list(&have.others), list(&want.others));
        let addresses =
            |s: &[Subscriber]| list(&s.iter().map(|s| s.address.clone()).collect::<Vec<_>>());
        compare(
            "subscribers",
            addresses(&have.subscribers),
            addresses(&want.subscribers),
        );
        fields
    }
}

/// One change to a budget's actions; the plan makes it a [`Change`](super::change::Change)
/// (`CreateAction`, `UpdateAction`, `DeleteAction`) of the budget it belongs to.
// A plan holds a few of these, built once per run: boxing would cost clarity, not memory that counts.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionChange {
    Create(BudgetAction),
    /// `new` carries `old`'s id.
    Update {
        old: BudgetAction,
        new: BudgetAction,
        fields: Vec<FieldChange>,
    },
    Delete(BudgetAction),
}

/// What must change for a budget's `live` actions to match the `wanted` ones. An action is known
/// by its threshold: the guard keeps one per threshold, so a second live action at the same
/// threshold is deleted, and so is a live action at a threshold the guard does not want.
pub fn plan_actions(wanted: &[BudgetAction], live: &[BudgetAction]) -> Vec<ActionChange> {
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let mut deletes = Vec::new();
    let mut matched = vec![false; live.len()];
    for want in wanted {
        // AWS cannot change an action's type: one of another type at this threshold is not
        // this one, and goes with the unmatched.
        let found = live.iter().enumerate().find(|(i, have)| {
            !matched[*i] && have.key == want.key && have.action_type == want.action_type
        });
        match found {
            Some((i, have)) => {
                matched[i] = true;
                let fields = BudgetAction::field_changes(have, want);
                if !fields.is_empty() {
                    updates.push(ActionChange::Update {
                        old: have.clone(),
                        new: BudgetAction {
                            id: have.id.clone(),
                            ..want.clone()
                        },
                        fields,
                    });
                }
            }
            None => creates.push(ActionChange::Create(want.clone())),
        }
    }
    for (have, _) in live.iter().zip(&matched).filter(|(_, m)| !**m) {
        deletes.push(ActionChange::Delete(have.clone()));
    }
    creates.extend(updates);
    creates.extend(deletes);
    creates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ThresholdType;
    use crate::spend_basis::SpendBasis;
    use rust_decimal::Decimal;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

    fn key(threshold: i64) -> NotificationKey {
        NotificationKey {
            notification_type: SpendBasis::Actual,
            threshold_type: ThresholdType::Percentage,
            threshold: Decimal::new(threshold, 0),
        }
    }

    fn hard_stop() -> HardStop {
        HardStop {
            deny_policy_arn: "arn:aws:iam::123456789012:policy/deny".into(),
            execution_role_arn: "arn:aws:iam::123456789012:role/budgets".into(),
        }
    }

    fn wanted(threshold: i64, roles: &[&str]) -> BudgetAction {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let mut action = BudgetAction::wanted(key(threshold), &roles, TOPIC);
        action.set_hard_stop(&hard_stop());
        action
    }

    fn live(threshold: i64, roles: &[&str], id: &str) -> BudgetAction {
        BudgetAction {
            id: Some(id.to_owned()),
            ..wanted(threshold, roles)
        }
    }

    #[test]
    fn the_same_action_plans_nothing() {
        let changes = plan_actions(&[wanted(100, &["b", "a"])], &[live(100, &["a", "b"], "1")]);
        assert_eq!(changes, vec![]);
    }

    #[test]
    fn a_new_threshold_creates_and_a_gone_one_deletes() {
        let changes = plan_actions(&[wanted(100, &["a"])], &[live(90, &["a"], "1")]);
        assert!(matches!(&changes[0], ActionChange::Create(a) if a.key == key(100)));
        assert!(matches!(&changes[1], ActionChange::Delete(a) if a.id.as_deref() == Some("1")));
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn other_roles_update_in_place_keeping_the_id() {
        let changes = plan_actions(&[wanted(100, &["a", "c"])], &[live(100, &["a"], "1")]);
        let [ActionChange::Update { new, fields, .. }] = changes.as_slice() else {
            panic!("{changes:?}");
        };
        assert_eq!(new.id.as_deref(), Some("1"));
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, "roles");
        assert_eq!(
            (fields[0].old.as_str(), fields[0].new.as_str()),
            ("[a]", "[a, c]")
        );
    }

    #[test]
    fn a_manual_action_or_one_with_users_is_made_ours() {
        let mut manual = live(100, &["a"], "1");
        manual.approval_model = "MANUAL".into();
        manual.others = vec!["user alice".into()];
        let changes = plan_actions(&[wanted(100, &["a"])], &[manual]);
        let [ActionChange::Update { fields, .. }] = changes.as_slice() else {
            panic!("{changes:?}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field).collect();
        assert_eq!(names, ["approval_model", "groups_and_users"]);
    }

    #[test]
    fn another_type_at_the_threshold_is_replaced_and_a_duplicate_deleted() {
        let mut scp = live(100, &[], "1");
        scp.action_type = "APPLY_SCP_POLICY".into();
        let twin = live(100, &["a"], "3");
        let changes = plan_actions(&[wanted(100, &["a"])], &[scp, live(100, &["a"], "2"), twin]);
        // The first live action of our type at the threshold is kept; the SCP action and the
        // twin go.
        let deleted: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                ActionChange::Delete(a) => a.id.as_deref(),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["1", "3"]);
        assert_eq!(changes.len(), 2, "{changes:?}");
    }

    #[test]
    fn a_desired_action_without_the_hard_stop_differs_from_any_live_one() {
        let unset = BudgetAction::wanted(key(100), &["a".to_owned()], TOPIC);
        let changes = plan_actions(&[unset], &[live(100, &["a"], "1")]);
        let [ActionChange::Update { fields, .. }] = changes.as_slice() else {
            panic!("{changes:?}");
        };
        assert_eq!(fields[0].new, "(unset)");
    }
}
