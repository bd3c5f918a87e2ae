//! Amazon CloudWatch: Bedrock's token metrics in, the guard's own metrics out.

pub mod guard_metrics;
pub mod token_metrics;

pub use guard_metrics::{CloudWatchEstimates, RouteStepMetrics};
pub use token_metrics::CloudWatchTokenMetrics;

use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Utc};

fn to_smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_secs(t.timestamp())
}
