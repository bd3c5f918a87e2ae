//! One module per subcommand: its arguments and its `run`.

pub mod apply;
pub mod estimate;
pub mod export;
pub mod iam_actions;
pub mod plan;
pub mod prices;
pub mod validate;
