//! The provisioner: AWS Budgets (budgets, notifications, subscribers and the hard stops' actions),
//! the notify topic's email subscriptions, and the weekly price check (the Price List, and its
//! `PriceChanges` metric), and the application inference profiles it resolves at deploy and
//! records for the other functions. The function itself is `functions/provisioner`.

use crate::iam::Calls;

/// The calls of the provisioner's adapters.
pub const CALLS: &[Calls] = &[
    crate::budgets::CALLS,
    crate::budgets::actions::CALLS,
    crate::sns::subscriptions::CALLS,
    crate::pricing::CALLS,
    crate::cloudwatch::guard_metrics::CALLS,
    crate::bedrock::CALLS,
    crate::ssm::profile_mapping::WRITE_CALLS,
];
