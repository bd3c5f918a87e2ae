//! SSM Parameter Store: routing flags, the alert handler's records and the spend watcher's state.

pub mod flags;
pub mod handler_state;
pub mod parameters;
pub mod spend_state;

pub use flags::SsmFlagStore;
pub use handler_state::SsmStateStore;
pub use spend_state::SsmSpendState;
