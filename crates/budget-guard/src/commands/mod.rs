//! One module per subcommand: its arguments and its `run`.

pub mod alert;
pub mod apply;
pub mod dlq;
pub mod estimate;
pub mod export;
pub mod flags;
pub mod iam_actions;
pub mod plan;
pub mod prices;
pub mod prices_refresh;
pub mod profiles;
pub mod spend;
pub mod validate;
