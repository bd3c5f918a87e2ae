//! The alert handler's domain: alerts parsed, routed to their budget and threshold, the flags
//! ledger and the flags it derives, the notices people are told, and the handler that runs them
//! over its ports.

pub mod flags;
pub mod handler;
pub mod in_memory;
pub mod ledger;
pub mod notice;
pub mod parse;
pub mod ports;
pub mod routing;
