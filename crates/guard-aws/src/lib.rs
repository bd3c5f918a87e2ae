//! Adapters from the ports of `guard-core` to AWS and Slack, one module per service: each wraps
//! the service with real SDK clients, maps typed SDK errors to the port's errors, and declares
//! the IAM actions it calls. `wiring` puts them together per function.

pub mod bedrock;
pub mod budgets;
pub mod cloudwatch;
pub mod dynamodb;
pub mod iam;
pub mod lambda;
pub mod policy_files;
pub mod pricing;
pub mod sdk;
pub mod secrets;
pub mod slack;
pub mod sns;
pub mod ssm;
pub mod wiring;
