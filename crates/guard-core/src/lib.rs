//! The pure domain of Budget Guard: no I/O, no clock, no environment. Time and state are inputs.
//!
//! One folder per feature: `policy` (load and check), `pricing` (catalog, Price List, estimate),
//! `provision` (desired and live account state, plan, apply), `alerts` (parse, route, tell, flags),
//! `spend` (the spend watcher) and `usage` (the fast path: invocation logs to counters and alerts).
//! The modules beside them are the small vocabulary they share.

pub mod alerts;
pub mod diagnostic;
pub mod period;
pub mod policy;
pub mod ports;
pub mod pricing;
pub mod provision;
pub mod spend;
pub mod spend_basis;
pub mod state_key;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod text;
pub mod usage;
