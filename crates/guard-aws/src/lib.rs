//! Adapters from the ports of `guard-core` to AWS and Slack. Each module wraps one service with
//! real SDK clients, maps typed SDK errors to the port's errors, and declares its IAM actions.

pub mod alert_handler;
pub mod budget_actions;
pub mod budgets;
pub mod flag_store;
#[cfg(feature = "handler-commands")]
pub mod handler_commands;
pub mod iam;
pub mod inference_profiles;
pub mod lambda_error;
pub mod metrics;
pub mod notify;
pub mod policy_files;
pub mod price_list;
pub mod profile_mapping;
pub mod route_metrics;
pub mod schedule;
pub mod sdk;
pub mod secrets;
pub mod slack;
pub mod sns_subscriptions;
pub mod spend_state;
pub mod usage_counters;
