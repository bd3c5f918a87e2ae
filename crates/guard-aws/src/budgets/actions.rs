//! AWS Budgets actions (the hard stops) for [`BudgetsAdapter`]: every owned budget's actions in
//! one listing (DescribeBudgetActionsForAccount), then created, updated and deleted one at a time.

use super::{BudgetsAdapter, from_subscribers, threshold_value, to_subscribers};
use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::{classify, port_error};
use aws_sdk_budgets::operation::create_budget_action::CreateBudgetActionError;
use aws_sdk_budgets::operation::delete_budget_action::DeleteBudgetActionError;
use aws_sdk_budgets::operation::describe_budget_actions_for_account::DescribeBudgetActionsForAccountError;
use aws_sdk_budgets::operation::update_budget_action::UpdateBudgetActionError;
use aws_sdk_budgets::types as sdk;
use guard_core::policy::ThresholdType;
use guard_core::ports::{ErrorKind, PortError};
use guard_core::provision::account::NotificationKey;
use guard_core::provision::budget_action::{APPLY_IAM_POLICY, BudgetAction};
use guard_core::spend_basis::SpendBasis;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// Every Budgets action operation this module calls, with the IAM actions that allow it.
pub const CALLS: Calls = &[
    // The account-wide listing is one call for every budget; the provisioner keeps the owned ones.
    Call::new(
        "DescribeBudgetActionsForAccount",
        "budgets:DescribeBudgetActionsForAccount",
        ResourceKind::Any,
    ),
    Call::new(
        "CreateBudgetAction",
        "budgets:CreateBudgetAction",
        ResourceKind::OwnedBudgets,
    ),
    Call::new(
        "UpdateBudgetAction",
        "budgets:UpdateBudgetAction",
        ResourceKind::OwnedBudgets,
    ),
    Call::new(
        "DeleteBudgetAction",
        "budgets:DeleteBudgetAction",
        ResourceKind::OwnedBudgets,
    ),
    // An action names the role AWS Budgets runs it as: creating or changing one passes that role.
    Call::new(
        "CreateBudgetAction",
        "iam:PassRole",
        ResourceKind::BudgetActionRole,
    ),
    Call::new(
        "UpdateBudgetAction",
        "iam:PassRole",
        ResourceKind::BudgetActionRole,
    ),
];

/// Actions per page of DescribeBudgetActionsForAccount (the API's maximum).
const ACTIONS_PAGE_SIZE: i32 = 100;

classify!(DescribeBudgetActionsForAccountError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
    InvalidNextTokenException => Invalid,
});
classify!(CreateBudgetActionError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    DuplicateRecordException => Duplicate, CreationLimitExceededException => LimitExceeded,
    ServiceQuotaExceededException => LimitExceeded, InternalErrorException => Transient,
    InvalidParameterException => Invalid,
});
// A locked action is one AWS is running or reversing: worth another try later.
classify!(UpdateBudgetActionError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    ResourceLockedException => Transient, InternalErrorException => Transient,
    InvalidParameterException => Invalid,
});
classify!(DeleteBudgetActionError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    ResourceLockedException => Transient, InternalErrorException => Transient,
    InvalidParameterException => Invalid,
});

impl BudgetsAdapter {
    /// The actions of every budget whose name starts with `prefix`, by budget name.
    pub(crate) async fn actions_by_budget(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, Vec<BudgetAction>>, PortError> {
        const OP: &str = "DescribeBudgetActionsForAccount";
        let mut actions = self
            .client()
            .describe_budget_actions_for_account()
            .account_id(self.account_id())
            .max_results(ACTIONS_PAGE_SIZE)
            .into_paginator()
            .items()
            .send();
        let mut out: BTreeMap<String, Vec<BudgetAction>> = BTreeMap::new();
        while let Some(action) = actions.next().await {
            let action = action.map_err(|e| port_error(OP, e))?;
            if !action.budget_name().starts_with(prefix) {
                continue;
            }
            match budget_action(&action) {
                Some(read) => out
                    .entry(action.budget_name().to_owned())
                    .or_default()
                    .push(read),
                None => tracing::warn!(
                    budget = action.budget_name(),
                    action_id = action.action_id(),
                    "budget action with a threshold the guard cannot read; left alone"
                ),
            }
        }
        Ok(out)
    }

    pub(crate) async fn create_budget_action(
        &self,
        budget: &str,
        action: &BudgetAction,
    ) -> Result<(), PortError> {
        const OP: &str = "CreateBudgetAction";
        let parts = Parts::of(action).map_err(|e| e.operation(OP))?;
        self.client()
            .create_budget_action()
            .account_id(self.account_id())
            .budget_name(budget)
            .notification_type(parts.notification_type)
            .action_type(sdk::ActionType::from(APPLY_IAM_POLICY))
            .action_threshold(parts.threshold)
            .definition(parts.definition)
            .execution_role_arn(parts.execution_role_arn)
            .approval_model(parts.approval_model)
            .set_subscribers(Some(parts.subscribers))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, action = %action.describe(), "created budget action");
        Ok(())
    }

    pub(crate) async fn update_budget_action(
        &self,
        budget: &str,
        action: &BudgetAction,
    ) -> Result<(), PortError> {
        const OP: &str = "UpdateBudgetAction";
        let id = action
            .id
            .as_deref()
            .ok_or_else(|| PortError::new(ErrorKind::Invalid, OP, "an action without an id"))?;
        let parts = Parts::of(action).map_err(|e| e.operation(OP))?;
        self.client()
            .update_budget_action()
            .account_id(self.account_id())
            .budget_name(budget)
            .action_id(id)
            .notification_type(parts.notification_type)
            .action_threshold(parts.threshold)
            .definition(parts.definition)
            .execution_role_arn(parts.execution_role_arn)
            .approval_model(parts.approval_model)
            .set_subscribers(Some(parts.subscribers))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, action_id = id, action = %action.describe(), "updated budget action");
        Ok(())
    }

    pub(crate) async fn delete_budget_action(
        &self,
        budget: &str,
        action_id: &str,
    ) -> Result<(), PortError> {
        const OP: &str = "DeleteBudgetAction";
        self.client()
            .delete_budget_action()
            .account_id(self.account_id())
            .budget_name(budget)
            .action_id(action_id)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, action_id, "deleted budget action");
        Ok(())
    }
}

/// What CreateBudgetAction and UpdateBudgetAction both send.
struct Parts {
    notification_type: sdk::NotificationType,
    threshold: sdk::ActionThreshold,
    definition: sdk::Definition,
    execution_role_arn: String,
    approval_model: sdk::ApprovalModel,
    subscribers: Vec<sdk::Subscriber>,
}

/// Why an action cannot be sent: it lacks the deployment's policy or role, or a part is invalid.
struct Unsendable(String);

impl Unsendable {
    fn operation(self, operation: &'static str) -> PortError {
        PortError::new(ErrorKind::Invalid, operation, self.0)
    }
}

impl Parts {
    fn of(action: &BudgetAction) -> Result<Parts, Unsendable> {
        let unset = |what: &str| {
            Unsendable(format!(
                "the action at {} has no {what}: the deployment's hard stop is not configured",
                action.key.label()
            ))
        };
        let policy_arn = action
            .policy_arn
            .as_deref()
            .ok_or_else(|| unset("deny policy"))?;
        let execution_role_arn = action
            .execution_role_arn
            .clone()
            .ok_or_else(|| unset("Budgets role"))?;
        let built = |e: aws_smithy_types::error::operation::BuildError| Unsendable(e.to_string());
        let iam = sdk::IamActionDefinition::builder()
            .policy_arn(policy_arn)
            .set_roles(Some(action.roles.clone()))
            .build()
            .map_err(built)?;
        let threshold = sdk::ActionThreshold::builder()
            .action_threshold_value(threshold_value(action.key.threshold))
            .action_threshold_type(match action.key.threshold_type {
                ThresholdType::Percentage => sdk::ThresholdType::Percentage,
                ThresholdType::AbsoluteValue => sdk::ThresholdType::AbsoluteValue,
            })
            .build()
            .map_err(built)?;
        Ok(Parts {
            notification_type: sdk::NotificationType::from(action.key.notification_type.as_api()),
            threshold,
            definition: sdk::Definition::builder()
                .iam_action_definition(iam)
                .build(),
            execution_role_arn,
            approval_model: sdk::ApprovalModel::from(action.approval_model.as_str()),
            subscribers: to_subscribers(&action.subscribers).map_err(built)?,
        })
    }
}

/// The guard's view of an action as read; `None` when its threshold is of a kind it never writes.
pub fn budget_action(action: &sdk::Action) -> Option<BudgetAction> {
    let threshold = action.action_threshold()?;
    let notification_type = SpendBasis::from_api(action.notification_type().as_str())?;
    let threshold_type = match threshold.action_threshold_type() {
        sdk::ThresholdType::Percentage => ThresholdType::Percentage,
        sdk::ThresholdType::AbsoluteValue => ThresholdType::AbsoluteValue,
        _ => return None,
    };
    // Display gives the shortest text that reads back as the same f64: 33.3, not 33.29999.
    let value = Decimal::from_str(&threshold.action_threshold_value().to_string()).ok()?;
    let iam = action
        .definition()
        .and_then(sdk::Definition::iam_action_definition);
    let mut roles = iam.map(|d| d.roles().to_vec()).unwrap_or_default();
    roles.sort();
    let mut others: Vec<String> = iam
        .map(|d| {
            let groups = d.groups().iter().map(|g| format!("group {g}"));
            let users = d.users().iter().map(|u| format!("user {u}"));
            groups.chain(users).collect()
        })
        .unwrap_or_default();
    others.sort();
    let execution_role_arn = action.execution_role_arn();
    Some(BudgetAction {
        id: Some(action.action_id().to_owned()),
        key: NotificationKey {
            notification_type,
            threshold_type,
            threshold: value,
        },
        action_type: action.action_type().as_str().to_owned(),
        approval_model: action.approval_model().as_str().to_owned(),
        policy_arn: iam.map(|d| d.policy_arn().to_owned()),
        execution_role_arn: (!execution_role_arn.is_empty()).then(|| execution_role_arn.to_owned()),
        roles,
        others,
        subscribers: from_subscribers(action.subscribers()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guard_core::provision::account::{Subscriber, SubscriberType};
    use guard_core::provision::budget_action::HardStop;

    #[test]
    fn an_action_reads_back_as_sent() {
        let key = NotificationKey {
            notification_type: SpendBasis::Forecasted,
            threshold_type: ThresholdType::Percentage,
            threshold: Decimal::from_str("33.3").unwrap(),
        };
        let mut want = BudgetAction::wanted(
            key,
            &["b-role".to_owned(), "a-role".to_owned()],
            "arn:aws:sns:us-east-1:123456789012:alerts",
        );
        want.set_hard_stop(&HardStop {
            deny_policy_arn: "arn:aws:iam::123456789012:policy/deny".into(),
            execution_role_arn: "arn:aws:iam::123456789012:role/budgets".into(),
        });
        let parts = Parts::of(&want).ok().expect("sendable");
        let sent = sdk::Action::builder()
            .action_id("00000000-0000-4000-8000-000000000001")
            .budget_name("bg-x")
            .notification_type(parts.notification_type)
            .action_type(sdk::ActionType::from(APPLY_IAM_POLICY))
            .action_threshold(parts.threshold)
            .definition(parts.definition)
            .execution_role_arn(parts.execution_role_arn)
            .approval_model(parts.approval_model)
            .status(sdk::ActionStatus::Standby)
            .set_subscribers(Some(parts.subscribers))
            .build()
            .unwrap();
        let read = budget_action(&sent).unwrap();
        assert_eq!(
            read,
            BudgetAction {
                id: Some("00000000-0000-4000-8000-000000000001".into()),
                ..want
            }
        );
        assert_eq!(
            read.subscribers,
            [Subscriber {
                subscription_type: SubscriberType::Sns,
                address: "arn:aws:sns:us-east-1:123456789012:alerts".into()
            }]
        );
    }

    #[test]
    fn an_action_without_the_deployments_policy_is_not_sent() {
        let key = NotificationKey {
            notification_type: SpendBasis::Actual,
            threshold_type: ThresholdType::Percentage,
            threshold: Decimal::ONE_HUNDRED,
        };
        let want = BudgetAction::wanted(key, &["a".to_owned()], "arn:aws:sns:us-east-1:1:t");
        let Err(why) = Parts::of(&want) else {
            panic!("sent without a policy");
        };
        assert!(why.0.contains("hard stop is not configured"), "{}", why.0);
    }
}
