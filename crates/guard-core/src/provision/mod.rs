//! Provisioning AWS Budgets from a policy: the desired and live account state, the plan between
//! them, the budgets' actions, ownership, and applying a plan through the ports.

pub mod account;
pub mod apply;
pub mod budget_action;
pub mod change;
pub mod live;
pub mod ownership;
pub mod plan;
pub mod ports;
