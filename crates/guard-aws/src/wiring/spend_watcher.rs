//! The spend watcher: Bedrock's token metrics in, `EstimatedSpend` out, its state in SSM and its
//! alerts to the alerts topic; it reads the recorded models of application inference profiles at
//! start. The function itself is `functions/spend-watcher`.

use crate::iam::Calls;

/// The calls of the spend watcher's adapters.
pub const CALLS: &[Calls] = &[
    crate::cloudwatch::token_metrics::CALLS,
    crate::cloudwatch::guard_metrics::CALLS,
    crate::ssm::spend_state::CALLS,
    crate::sns::spend_alerts::CALLS,
    crate::ssm::profile_mapping::READ_CALLS,
    // Reconciliation with the fast path's counters: granted only where its table exists.
    crate::dynamodb::usage_counters::READ_CALLS,
];
