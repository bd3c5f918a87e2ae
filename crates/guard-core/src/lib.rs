//! The pure domain of Budget Guard.
