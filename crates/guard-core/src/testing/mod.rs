//! In-memory fakes of the ports, for tests of everything above the adapters. Built for the
//! crate's own tests and, with the `testing` feature, for the other crates' tests; never in a
//! release build.

pub mod account;
