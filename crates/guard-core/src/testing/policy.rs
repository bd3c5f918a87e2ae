//! Policies from YAML text, for tests whose policy is a few lines of their own.

use crate::policy::{Policy, SourceFile, load};

/// The policy of `yaml` (one file, `policy.yaml`).
///
/// # Panics
///
/// When the policy has errors, with every diagnostic: a test without its policy has nothing to
/// run.
pub fn checked(yaml: &str) -> Policy {
    let (policy, diagnostics) = load(&[SourceFile::new("policy.yaml", yaml.as_bytes().to_vec())]);
    policy.unwrap_or_else(|| panic!("the test's policy is invalid: {diagnostics:#?}"))
}

/// `policy` with its budgets replaced by `count` copies of its budget `key`: `load-00`,
/// `load-01`, ... (as many digits as `count` needs, at least two), with amounts 100, 101, ...
///
/// # Panics
///
/// When `policy` has no budget `key`.
pub fn copies_of_budget(policy: &Policy, key: &str, count: usize) -> Policy {
    let template = policy.budgets[key].clone();
    let width = count.saturating_sub(1).to_string().len().max(2);
    let mut copies = policy.clone();
    copies.budgets.clear();
    for i in 0..count {
        let mut budget = template.clone();
        budget.key = format!("load-{i:0width$}");
        budget.name = format!("{}{}", policy.settings.budget_prefix, budget.key);
        budget.amount = rust_decimal::Decimal::from(100 + i);
        copies.budgets.insert(budget.key.clone(), budget);
    }
    copies
}
