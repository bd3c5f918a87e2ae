//! The fast path: Bedrock model invocation logs, one record per call, priced and counted against
//! the budgets they fall in, period to date. Pure: the records, the counters' answers and `now`
//! are inputs; the adapters behind [`meter::UsageCounters`] and
//! [`crate::spend::ports::AlertSink`] do the I/O.
//!
//! - [`awslogs`]: the `awslogs` event a CloudWatch Logs subscription hands to Lambda (base64 of
//!   gzip of JSON) to its log events.
//! - [`reconcile`]: the fast path's counters against the spend watcher's figures from metrics,
//!   each run of the watcher; drift past 5% logged and shown.
//! - [`record`]: one log event's message to an [`record::InvocationRecord`]: metadata and token
//!   counts only. The prompt and the completion are skipped while parsing and never kept.
//! - [`attribution`]: a budget scope's `applications` (role, request metadata, application
//!   inference profile) against a record's caller.
//! - [`chunks`]: a batch's charges grouped into the counters' atomic writes: one addition per
//!   counter, at most 100 items a write.
//! - [`meter`]: a record to its price and budgets, the counters' keys and expiry, and the run over
//!   a batch that counts each request once and publishes each threshold's spend alert once per
//!   period, in the spend watcher's vocabulary ([`crate::spend::thresholds::threshold_id`],
//!   [`crate::alerts::parse::spend_alert::SpendAlert`]).

pub mod attribution;
pub mod awslogs;
pub mod chunks;
pub mod meter;
pub mod reconcile;
pub mod record;
