//! The vocabulary of IAM needs: the kinds of resource the guard's roles cover, one [`Call`] per
//! API operation and IAM action an adapter makes, and the merging of calls into statements. Each
//! adapter lists its calls in a table (`CALLS`); `crate::wiring` says which adapters make up which
//! function. The CDK app derives every function role from the result (`budget-guard iam-actions
//! --format json`), and the emulator tests check that every call a function makes is listed, so
//! code and permissions cannot drift.

use serde::Serialize;

/// Which resources a statement covers; the CDK app turns each kind into ARNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// Budgets whose names carry the policy's prefix.
    OwnedBudgets,
    /// SSM parameters under the policy's flags path.
    Flags,
    /// SSM parameters under the alert handler's subtree of the policy's state path.
    AlertHandlerState,
    /// SSM parameters under the spend watcher's subtree of the policy's state path.
    SpendWatcherState,
    AlertsTopic,
    NotifyTopic,
    /// The Secrets Manager secrets that the policy's Slack channels name.
    SlackSecrets,
    /// cloudwatch:PutMetricData, limited to the guard's namespace by condition.
    MetricsNamespace,
    /// The role AWS Budgets runs the hard stops as: passed to `budgets.amazonaws.com` only. The
    /// stack makes it only when the policy has a `deny`.
    BudgetActionRole,
    /// The parameter where the provisioner records the models of the application inference
    /// profiles the policy names without a `profiles:` entry (`export`'s `profiles_parameter`).
    /// Nothing when the policy has none.
    ProfileMapping,
    /// Those profiles themselves (`export`'s `unresolved_profiles`), each by its ARN. Nothing
    /// when the policy has none.
    UnresolvedProfiles,
    /// Actions without resource-level permissions (cloudwatch:GetMetricData).
    Any,
}

impl ResourceKind {
    /// For a state kind, its subtree of the policy's state path, which the CDK app appends to
    /// `state_path` (so the directory names are written once, in guard-core).
    pub fn state_dir(self) -> Option<&'static str> {
        match self {
            ResourceKind::AlertHandlerState => Some(guard_core::policy::ALERT_HANDLER_STATE_DIR),
            ResourceKind::SpendWatcherState => Some(guard_core::policy::SPEND_WATCHER_STATE_DIR),
            _ => None,
        }
    }
}

/// One API operation an adapter calls, with one IAM action that allows it and the resources the
/// action is on. An operation that needs two actions is two calls: CreateBudget with tags needs
/// `budgets:ModifyBudget` and `budgets:TagResource`; CreateBudgetAction passes a role as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The operation as the service's API names it (and the emulator logs it): `DescribeBudgets`.
    pub operation: &'static str,
    /// The IAM action, `service:Action`: `budgets:ViewBudget`.
    pub action: &'static str,
    pub resource: ResourceKind,
}

impl Call {
    pub const fn new(
        operation: &'static str,
        action: &'static str,
        resource: ResourceKind,
    ) -> Call {
        Call {
            operation,
            action,
            resource,
        }
    }

    /// The IAM service prefix of the action (`budgets` of `budgets:ViewBudget`).
    pub fn service(&self) -> &'static str {
        self.action
            .split_once(':')
            .map_or(self.action, |(service, _)| service)
    }
}

/// One adapter's calls.
pub type Calls = &'static [Call];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub actions: Vec<&'static str>,
    pub resource: ResourceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<&'static str>,
}

/// The statements that allow `adapters`' calls: one per resource kind, in the order the kinds
/// first appear, its actions sorted and without repeats.
pub fn statements(adapters: &[Calls]) -> Vec<Statement> {
    let mut statements: Vec<Statement> = Vec::new();
    for call in adapters.iter().flat_map(|calls| calls.iter()) {
        match statements.iter_mut().find(|s| s.resource == call.resource) {
            Some(s) => s.actions.push(call.action),
            None => statements.push(Statement {
                actions: vec![call.action],
                resource: call.resource,
                state_dir: call.resource.state_dir(),
            }),
        }
    }
    for s in &mut statements {
        s.actions.sort_unstable();
        s.actions.dedup();
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGETS: Calls = &[
        Call::new(
            "DescribeBudgets",
            "budgets:ViewBudget",
            ResourceKind::OwnedBudgets,
        ),
        Call::new(
            "CreateBudget",
            "budgets:ModifyBudget",
            ResourceKind::OwnedBudgets,
        ),
        Call::new(
            "CreateBudget",
            "budgets:TagResource",
            ResourceKind::OwnedBudgets,
        ),
        Call::new(
            "UpdateBudget",
            "budgets:ModifyBudget",
            ResourceKind::OwnedBudgets,
        ),
    ];
    const METRICS: Calls = &[
        Call::new("ListMetrics", "cloudwatch:ListMetrics", ResourceKind::Any),
        Call::new(
            "PutMetricData",
            "cloudwatch:PutMetricData",
            ResourceKind::MetricsNamespace,
        ),
        Call::new(
            "GetMetricData",
            "cloudwatch:GetMetricData",
            ResourceKind::Any,
        ),
    ];

    #[test]
    fn calls_merge_per_resource_kind_in_the_order_kinds_first_appear() {
        let merged = statements(&[METRICS, BUDGETS]);
        let kinds: Vec<ResourceKind> = merged.iter().map(|s| s.resource).collect();
        assert_eq!(
            kinds,
            [
                ResourceKind::Any,
                ResourceKind::MetricsNamespace,
                ResourceKind::OwnedBudgets
            ]
        );
        assert_eq!(
            merged[0].actions,
            ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"]
        );
        // Two operations allowed by one action list it once.
        assert_eq!(
            merged[2].actions,
            [
                "budgets:ModifyBudget",
                "budgets:TagResource",
                "budgets:ViewBudget"
            ]
        );
    }

    #[test]
    fn a_state_kind_carries_its_subtree() {
        const STATE: Calls = &[Call::new(
            "GetParameter",
            "ssm:GetParameter",
            ResourceKind::SpendWatcherState,
        )];
        let merged = statements(&[STATE]);
        assert_eq!(
            merged[0].state_dir,
            Some(guard_core::policy::SPEND_WATCHER_STATE_DIR)
        );
        assert_eq!(STATE[0].service(), "ssm");
    }
}
