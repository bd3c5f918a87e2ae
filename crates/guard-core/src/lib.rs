//! The pure domain of Budget Guard: no I/O, no clock, no environment. Time and state are inputs.

pub mod alert;
pub mod period;
pub mod prices;
