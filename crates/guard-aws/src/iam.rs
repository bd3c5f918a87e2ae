//! The IAM actions each function's adapters call, on which kind of resource. The CDK app derives
//! every function role from this list (`budget-guard iam-actions --format json`), so code and
//! permissions cannot drift. An adapter that calls a new AWS API adds its action here; the tests
//! of each adapter check that every call it makes is listed.

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
    /// The usage meter's DynamoDB table (the fast path's counters).
    UsageTable,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub actions: Vec<&'static str>,
    pub resource: ResourceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<&'static str>,
}

/// One adapter's needs.
pub type Needs = &'static [(&'static [&'static str], ResourceKind)];

/// The functions and the adapters' needs they are made of. Filled by each adapter module.
pub fn function_needs() -> Vec<(&'static str, Vec<Needs>)> {
    vec![
        (
            "provisioner",
            vec![
                crate::budgets::NEEDS,
                crate::budget_actions::NEEDS,
                crate::sns_subscriptions::NEEDS,
                // The weekly price check: the Price List, and its `PriceChanges` metric.
                crate::price_list::NEEDS,
                crate::metrics::WRITE_NEEDS,
                // Application inference profiles: resolved, then recorded for the others.
                crate::inference_profiles::NEEDS,
                crate::profile_mapping::WRITE_NEEDS,
            ],
        ),
        ("alert-handler", {
            let mut needs = crate::alert_handler::NEEDS.to_vec();
            needs.push(crate::profile_mapping::READ_NEEDS);
            needs
        }),
        (
            "spend-watcher",
            vec![
                crate::profile_mapping::READ_NEEDS,
                crate::metrics::READ_NEEDS,
                crate::metrics::WRITE_NEEDS,
                crate::spend_state::STATE_NEEDS,
                crate::spend_state::ALERT_NEEDS,
                // Reconciliation: the fast path's counters, granted only when its table exists.
                crate::usage_counters::READ_NEEDS,
            ],
        ),
        (
            "usage-meter",
            vec![
                crate::usage_counters::NEEDS,
                crate::spend_state::ALERT_NEEDS,
            ],
        ),
    ]
}

/// Per function, its statements, actions merged per resource kind and sorted.
pub fn statements() -> Vec<(&'static str, Vec<Statement>)> {
    function_needs()
        .into_iter()
        .map(|(function, needs)| {
            let mut statements: Vec<Statement> = Vec::new();
            for (actions, resource) in needs.iter().flat_map(|n| n.iter()) {
                match statements.iter_mut().find(|s| s.resource == *resource) {
                    Some(s) => s.actions.extend(actions.iter().copied()),
                    None => statements.push(Statement {
                        actions: actions.to_vec(),
                        resource: *resource,
                        state_dir: resource.state_dir(),
                    }),
                }
            }
            for s in &mut statements {
                s.actions.sort_unstable();
                s.actions.dedup();
            }
            (function, statements)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_dirs_of(function: &str) -> Vec<&'static str> {
        statements()
            .into_iter()
            .filter(|(f, _)| *f == function)
            .flat_map(|(_, s)| s)
            .filter_map(|s| s.state_dir)
            .collect()
    }

    /// The split state path: each function writes only its own subtree, and neither subtree
    /// contains the other.
    #[test]
    fn each_function_writes_only_its_own_state_subtree() {
        let handler = state_dirs_of("alert-handler");
        let watcher = state_dirs_of("spend-watcher");
        assert_eq!(handler, [guard_core::policy::ALERT_HANDLER_STATE_DIR]);
        assert_eq!(watcher, [guard_core::policy::SPEND_WATCHER_STATE_DIR]);
        assert!(state_dirs_of("provisioner").is_empty());
        assert!(!handler[0].starts_with(watcher[0]) && !watcher[0].starts_with(handler[0]));
        let settings = guard_core::policy::raw::Settings::default();
        assert_eq!(
            settings.alert_handler_state_path(),
            "/budget-guard/state/alert-handler/"
        );
        assert_eq!(
            settings.spend_watcher_state_path(),
            "/budget-guard/state/spend/"
        );
    }
}
