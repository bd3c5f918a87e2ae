//! The usage meter, the fast path's function: Bedrock's invocation log records in, counted into
//! the usage table, and the spend alerts of the thresholds they cross to the alerts topic; it reads
//! the recorded models of application inference profiles at start. The function itself is
//! `functions/usage-meter`.

use crate::iam::Calls;

/// The calls of the usage meter's adapters.
pub const CALLS: &[Calls] = &[
    crate::dynamodb::usage_counters::CALLS,
    crate::sns::spend_alerts::CALLS,
    crate::ssm::profile_mapping::READ_CALLS,
];
