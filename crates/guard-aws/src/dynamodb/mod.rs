//! Amazon DynamoDB: the fast path's usage counters.

pub mod usage_counters;

pub use usage_counters::DynamoUsageCounters;
