//! SSM Parameter Store: routing flags, the alert handler's records, the spend watcher's state and
//! the recorded models of application inference profiles.

pub mod flags;
pub mod handler_state;
pub mod parameters;
pub mod profile_mapping;
pub mod spend_state;

pub use flags::SsmFlagStore;
pub use handler_state::SsmStateStore;
pub use profile_mapping::ProfileMapping;
pub use spend_state::SsmSpendState;
