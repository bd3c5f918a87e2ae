//! In-memory fakes of the ports, and the data the tests of several crates build alike, for tests
//! of everything above the adapters. Built for the crate's own tests and, with the `testing`
//! feature, for the other crates' tests; never in a release build.

pub mod account;
pub mod policy;
pub mod spend;
pub mod usage;
