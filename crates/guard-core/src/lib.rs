//! The pure domain of Budget Guard: no I/O, no clock, no environment. Time and state are inputs.

pub mod account;
pub mod alert;
pub mod budget_action;
pub mod diagnostic;
pub mod estimate;
pub mod flags;
pub mod handling;
pub mod inference_profile;
pub mod ledger;
pub mod message;
pub mod ownership;
pub mod period;
pub mod plan;
pub mod policy;
pub mod price_list;
pub mod prices;
pub mod provision;
pub mod routing;
pub mod running_cost;
pub mod spend;
pub mod state_key;
pub mod text;
pub mod usage;
