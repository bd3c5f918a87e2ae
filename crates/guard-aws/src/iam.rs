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
    /// SSM parameters under the policy's state path.
    State,
    AlertsTopic,
    NotifyTopic,
    /// The Secrets Manager secrets that the policy's Slack channels name.
    SlackSecrets,
    /// cloudwatch:PutMetricData, limited to the guard's namespace by condition.
    MetricsNamespace,
    /// Actions without resource-level permissions (cloudwatch:GetMetricData).
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub actions: Vec<&'static str>,
    pub resource: ResourceKind,
}

/// One adapter's needs.
pub type Needs = &'static [(&'static [&'static str], ResourceKind)];

/// The functions and the adapters' needs they are made of. Filled by each adapter module.
pub fn function_needs() -> Vec<(&'static str, Vec<Needs>)> {
    vec![
        (
            "provisioner",
            vec![crate::budgets::NEEDS, crate::sns_subscriptions::NEEDS],
        ),
        ("alert-handler", crate::alert_handler::NEEDS.to_vec()),
        (
            "spend-watcher",
            vec![
                crate::metrics::READ_NEEDS,
                crate::metrics::WRITE_NEEDS,
                crate::spend_state::STATE_NEEDS,
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
