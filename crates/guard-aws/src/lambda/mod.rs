//! AWS Lambda: how the functions name their failures, and operators' commands sent to the
//! deployed alert handler (feature `handler-commands`).

#[cfg(feature = "handler-commands")]
pub mod commands;
pub mod error;
