//! The usage meter's counters in one DynamoDB table (partition key `pk`, a string; TTL attribute
//! `expires_at`). Three kinds of item, told apart by the key's first part (`:` never appears in
//! an AWS budget name, so the parts cannot run into each other):
//!
//! | `pk` | attributes | written by |
//! |---|---|---|
//! | `request:<request id>` | `at`, `expires_at` (48 hours on) | the Put of [`DynamoUsageCounters::count_chunk`], only when absent |
//! | `counter:<budget>:<period start>` | `spent` (USD), `requests`, `budget`, `period_start`, `expires_at` | the `ADD` of the same transaction |
//! | `alert:<budget>:<period start>:<threshold id>` | `state` (`pending`, `published`), `expires_at` | [`DynamoUsageCounters::claim`], [`DynamoUsageCounters::confirm`] |
//!
//! A chunk of requests ([`guard_core::usage::chunks`]) is counted with one `TransactWriteItems`:
//! each request's item with `attribute_not_exists(pk)`, then one `ADD` per counter of the chunk's
//! summed costs. All happen or none. DynamoDB answers a cancelled transaction with a reason per
//! item, in the order sent:
//!
//! - `ConditionalCheckFailed` at a request's item: that request was counted before (a
//!   redelivery). It is answered as already counted and the rest is sent again without it.
//! - `TransactionConflict` (another write holds one of the items), `ThrottlingError`,
//!   `ProvisionedThroughputExceeded`: the same items are sent again after a jittered backoff,
//!   at most [`CONTENDED_ATTEMPTS`] times; then the error is retryable for Lambda.
//! - anything else is an error.
//!
//! Amounts are DynamoDB numbers, which are exact decimals (38 digits), so sums do not drift.
//!
//! The spend watcher reads the counters back (BatchGetItem, [`READ_CALLS`]) to compare them with
//! its figures from token metrics ([`guard_core::usage::reconcile`]).

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::str::FromStr;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use chrono::SecondsFormat;
use guard_core::ports::{ErrorKind, PortError};
use guard_core::usage::chunks::{Chunk, MAX_TRANSACTION_ITEMS};
use guard_core::usage::meter::{ChunkCounted, CounterKey, UsageCounters};
use guard_core::usage::reconcile::CounterReader;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::sdk_error_kind;

/// The calls below; a transaction's writes are authorized as the PutItem and UpdateItem they
/// are made of.
pub const CALLS: Calls = &[
    Call::new(
        "TransactWriteItems",
        "dynamodb:PutItem",
        ResourceKind::UsageTable,
    ),
    Call::new(
        "TransactWriteItems",
        "dynamodb:UpdateItem",
        ResourceKind::UsageTable,
    ),
    Call::new("GetItem", "dynamodb:GetItem", ResourceKind::UsageTable),
    Call::new("PutItem", "dynamodb:PutItem", ResourceKind::UsageTable),
    Call::new(
        "UpdateItem",
        "dynamodb:UpdateItem",
        ResourceKind::UsageTable,
    ),
];
/// What the spend watcher calls to read the counters for its reconciliation: reads only.
pub const READ_CALLS: Calls = &[Call::new(
    "BatchGetItem",
    "dynamodb:BatchGetItem",
    ResourceKind::UsageTable,
)];
/// BatchGetItem: at most 100 keys per request.
pub const MAX_KEYS_PER_BATCH_GET: usize = 100;
/// Rounds of BatchGetItem for the keys DynamoDB left unprocessed (throttled) before giving up; the
/// watcher's next run reads them again.
const UNPROCESSED_ROUNDS: usize = 3;
/// The table's partition key.
pub const KEY: &str = "pk";
/// The table's TTL attribute: epoch seconds.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Sends of one chunk that DynamoDB may cancel for contention or throttling before the error
/// goes to Lambda (which delivers the batch again).
pub const CONTENDED_ATTEMPTS: u32 = 6;
/// The first backoff's ceiling; each next one doubles it, up to [`BACKOFF_CAP`].
const BACKOFF_BASE: Duration = Duration::from_millis(25);
const BACKOFF_CAP: Duration = Duration::from_millis(800);

const PENDING: &str = "pending";
const PUBLISHED: &str = "published";

pub fn request_pk(request_id: &str) -> String {
    format!("request:{request_id}")
}

pub fn counter_pk(key: &CounterKey) -> String {
    format!("counter:{}:{}", key.budget, key.period_start)
}

pub fn alert_pk(key: &CounterKey, threshold: &str) -> String {
    format!("alert:{}:{}:{threshold}", key.budget, key.period_start)
}

#[derive(Debug, thiserror::Error)]
pub enum UsageTableError {
    #[error(
        "dynamodb:TransactWriteItems counting {requests} requests from {first_request_id} on failed"
    )]
    Count {
        first_request_id: String,
        requests: usize,
        source: SdkError<TransactWriteItemsError, HttpResponse>,
    },
    #[error(
        "dynamodb:TransactWriteItems counting {requests} requests from {first_request_id} on was \
         cancelled by contention or throttling {attempts} times"
    )]
    Contended {
        first_request_id: String,
        requests: usize,
        attempts: u32,
    },
    #[error("a chunk of {0} items does not fit one transaction")]
    TooManyItems(usize),
    #[error("dynamodb:GetItem {pk} failed")]
    Total {
        pk: String,
        source: SdkError<GetItemError, HttpResponse>,
    },
    #[error("item {pk} holds `spent` = {value:?}, which is not a number")]
    Corrupt { pk: String, value: String },
    #[error("dynamodb:PutItem {pk} failed")]
    Claim {
        pk: String,
        source: SdkError<PutItemError, HttpResponse>,
    },
    #[error("dynamodb:UpdateItem {pk} failed")]
    Confirm {
        pk: String,
        source: SdkError<UpdateItemError, HttpResponse>,
    },
    #[error("dynamodb:BatchGetItem of {keys} counters failed")]
    Totals {
        keys: usize,
        source: SdkError<BatchGetItemError, HttpResponse>,
    },
    #[error("dynamodb:BatchGetItem left {0} counters unread after retries")]
    Unprocessed(usize),
    #[error("building a DynamoDB request failed: {0}")]
    Build(#[from] aws_sdk_dynamodb::error::BuildError),
}

impl UsageTableError {
    /// The port's error: the operation that failed, its kind (whether the batch is worth
    /// delivering again), and this error as the source.
    pub fn into_port_error(self) -> PortError {
        let (operation, kind) = match &self {
            UsageTableError::Count { source, .. } => {
                ("dynamodb:TransactWriteItems", sdk_error_kind(source))
            }
            UsageTableError::Contended { .. } => {
                ("dynamodb:TransactWriteItems", ErrorKind::Throttled)
            }
            UsageTableError::TooManyItems(_) => ("dynamodb:TransactWriteItems", ErrorKind::Invalid),
            UsageTableError::Total { source, .. } => ("dynamodb:GetItem", sdk_error_kind(source)),
            UsageTableError::Corrupt { .. } => ("dynamodb:GetItem", ErrorKind::Invalid),
            UsageTableError::Claim { source, .. } => ("dynamodb:PutItem", sdk_error_kind(source)),
            UsageTableError::Confirm { source, .. } => {
                ("dynamodb:UpdateItem", sdk_error_kind(source))
            }
            UsageTableError::Totals { source, .. } => {
                ("dynamodb:BatchGetItem", sdk_error_kind(source))
            }
            UsageTableError::Unprocessed(_) => ("dynamodb:BatchGetItem", ErrorKind::Throttled),
            UsageTableError::Build(_) => ("build DynamoDB request", ErrorKind::Invalid),
        };
        PortError::from_source(kind, operation, self)
    }
}

/// The counters in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoUsageCounters {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl DynamoUsageCounters {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoUsageCounters {
            client,
            table: table.into(),
        }
    }

    /// Counts a chunk of requests (see the module docs): each new one once, atomically with its
    /// counters' additions; the ones recorded before are answered as already counted.
    pub async fn count_chunk(&self, chunk: &Chunk) -> Result<ChunkCounted, UsageTableError> {
        if chunk.items() > MAX_TRANSACTION_ITEMS {
            return Err(UsageTableError::TooManyItems(chunk.items()));
        }
        let mut done = ChunkCounted::default();
        let mut pending = chunk.clone();
        let mut contended = 0;
        while !pending.is_empty() {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(self.transaction(&pending)?))
                .send()
                .await;
            let error = match sent {
                Ok(_) => {
                    done.counted
                        .extend(pending.charges.iter().map(|c| c.request_id.clone()));
                    break;
                }
                Err(e) => e,
            };
            let Some(cancelled) = Cancelled::read(&error, pending.charges.len()) else {
                return Err(count_failed(&pending, error));
            };
            if cancelled.other {
                return Err(count_failed(&pending, error));
            }
            if !cancelled.counted_before.is_empty() {
                done.already_counted.extend(
                    cancelled
                        .counted_before
                        .iter()
                        .map(|&i| pending.charges[i].request_id.clone()),
                );
                pending = pending.without(&cancelled.counted_before);
                if pending.is_empty() {
                    break;
                }
            }
            if cancelled.contended {
                contended += 1;
                if contended >= CONTENDED_ATTEMPTS {
                    return Err(UsageTableError::Contended {
                        first_request_id: pending.charges[0].request_id.clone(),
                        requests: pending.charges.len(),
                        attempts: contended,
                    });
                }
                let wait = backoff(contended);
                tracing::debug!(
                    attempt = contended,
                    requests = pending.charges.len(),
                    wait_ms = wait.as_millis() as u64,
                    "usage counters contended: sending again"
                );
                tokio::time::sleep(wait).await;
            } else if cancelled.counted_before.is_empty() {
                // Cancelled with no reason that names an item: nothing to drop or wait for.
                return Err(count_failed(&pending, error));
            }
        }
        Ok(done)
    }

    /// The chunk's transaction: its requests' markers first (the reasons of a cancellation come
    /// back in this order), then one addition per counter.
    fn transaction(
        &self,
        chunk: &Chunk,
    ) -> Result<Vec<TransactWriteItem>, aws_sdk_dynamodb::error::BuildError> {
        let mut items = Vec::with_capacity(chunk.items());
        for charge in &chunk.charges {
            let marker = Put::builder()
                .table_name(&self.table)
                .item(KEY, s(request_pk(&charge.request_id)))
                .item(
                    "at",
                    s(charge.at.to_rfc3339_opts(SecondsFormat::Secs, true)),
                )
                .item(TTL_ATTRIBUTE, n(charge.expires_at))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", KEY)
                .build()?;
            items.push(TransactWriteItem::builder().put(marker).build());
        }
        for add in chunk.adds() {
            let update = Update::builder()
                .table_name(&self.table)
                .key(KEY, s(counter_pk(&add.key)))
                .update_expression(
                    "ADD #spent :cost, #requests :requests \
                     SET #budget = :budget, #period = :period, #ttl = :ttl",
                )
                .expression_attribute_names("#spent", "spent")
                .expression_attribute_names("#requests", "requests")
                .expression_attribute_names("#budget", "budget")
                .expression_attribute_names("#period", "period_start")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":cost", n(add.cost.normalize()))
                .expression_attribute_values(":requests", n(add.requests))
                .expression_attribute_values(":budget", s(&add.key.budget))
                .expression_attribute_values(":period", s(add.key.period_start.to_string()))
                .expression_attribute_values(":ttl", n(add.expires_at))
                .build()?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        Ok(items)
    }

    /// A counter's total, read consistently; zero when nothing was counted yet.
    pub async fn read_total(&self, key: &CounterKey) -> Result<Decimal, UsageTableError> {
        let pk = counter_pk(key);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(&pk))
            .consistent_read(true)
            .projection_expression("#spent")
            .expression_attribute_names("#spent", "spent")
            .send()
            .await
            .map_err(|source| UsageTableError::Total {
                pk: pk.clone(),
                source,
            })?;
        spent_of(out.item().and_then(|i| i.get("spent")))
            .map_err(|value| UsageTableError::Corrupt { pk, value })
    }

    /// The totals of the counters that exist among `keys` (BatchGetItem, 100 keys a request,
    /// eventually consistent: the watcher compares figures minutes apart anyway). Keys that
    /// DynamoDB leaves unprocessed are asked again, a few rounds at most.
    pub async fn read_totals(
        &self,
        keys: &[CounterKey],
    ) -> Result<BTreeMap<CounterKey, Decimal>, UsageTableError> {
        let by_pk: HashMap<String, &CounterKey> = keys.iter().map(|k| (counter_pk(k), k)).collect();
        let mut totals = BTreeMap::new();
        let pks: Vec<&String> = by_pk.keys().collect();
        for chunk in pks.chunks(MAX_KEYS_PER_BATCH_GET) {
            let mut wanted = KeysAndAttributes::builder()
                .projection_expression("#pk, #spent")
                .expression_attribute_names("#pk", KEY)
                .expression_attribute_names("#spent", "spent");
            for pk in chunk {
                wanted = wanted.keys(HashMap::from([(KEY.to_owned(), s(*pk))]));
            }
            let mut request = HashMap::from([(self.table.clone(), wanted.build()?)]);
            let mut rounds = 0;
            while !request.is_empty() {
                if rounds == UNPROCESSED_ROUNDS {
                    let left = request.values().map(|k| k.keys().len()).sum();
                    return Err(UsageTableError::Unprocessed(left));
                }
                rounds += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(request))
                    .send()
                    .await
                    .map_err(|source| UsageTableError::Totals {
                        keys: chunk.len(),
                        source,
                    })?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let Some(AttributeValue::S(pk)) = item.get(KEY) else {
                        continue;
                    };
                    let Some(key) = by_pk.get(pk) else {
                        continue;
                    };
                    let spent =
                        spent_of(item.get("spent")).map_err(|value| UsageTableError::Corrupt {
                            pk: pk.clone(),
                            value,
                        })?;
                    totals.insert((*key).clone(), spent);
                }
                request = out
                    .unprocessed_keys()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(_, k)| !k.keys().is_empty())
                    .collect();
            }
        }
        Ok(totals)
    }

    /// Claims a threshold's alert: true when it was never claimed, or claimed and not confirmed.
    pub async fn claim(
        &self,
        key: &CounterKey,
        threshold: &str,
        expires_at: i64,
    ) -> Result<bool, UsageTableError> {
        let pk = alert_pk(key, threshold);
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(&pk))
            .item("state", s(PENDING))
            .item(TTL_ATTRIBUTE, n(expires_at))
            .condition_expression("attribute_not_exists(#pk) OR #state = :pending")
            .expression_attribute_names("#pk", KEY)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s(PENDING))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(source) => Err(UsageTableError::Claim { pk, source }),
        }
    }

    /// Marks a claimed alert as published.
    pub async fn confirm(&self, key: &CounterKey, threshold: &str) -> Result<(), UsageTableError> {
        let pk = alert_pk(key, threshold);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(&pk))
            .update_expression("SET #state = :published")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":published", s(PUBLISHED))
            .send()
            .await
            .map_err(|source| UsageTableError::Confirm { pk, source })?;
        Ok(())
    }
}

fn count_failed(
    chunk: &Chunk,
    source: SdkError<TransactWriteItemsError, HttpResponse>,
) -> UsageTableError {
    UsageTableError::Count {
        first_request_id: chunk.charges[0].request_id.clone(),
        requests: chunk.charges.len(),
        source,
    }
}

/// What a cancelled transaction's reasons say, one per item in the order sent.
#[derive(Debug, Default, PartialEq, Eq)]
struct Cancelled {
    /// Positions of the requests whose marker exists: counted before.
    counted_before: BTreeSet<usize>,
    /// Some item was contended for or throttled: the same write may pass later.
    contended: bool,
    /// Some item failed for another reason (or a counter's update failed its check).
    other: bool,
}

impl Cancelled {
    /// The reasons of a `TransactionCanceledException`, for a transaction whose first `markers`
    /// items are requests' markers; `None` for any other error. The codes are the ones DynamoDB
    /// documents for `CancellationReason.Code`.
    fn read(e: &SdkError<TransactWriteItemsError, HttpResponse>, markers: usize) -> Option<Self> {
        let TransactWriteItemsError::TransactionCanceledException(cancelled) =
            e.as_service_error()?
        else {
            return None;
        };
        let mut out = Cancelled::default();
        for (i, reason) in cancelled.cancellation_reasons().iter().enumerate() {
            match reason.code() {
                None | Some("None") => {}
                Some("ConditionalCheckFailed") if i < markers => {
                    out.counted_before.insert(i);
                }
                Some(
                    "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded",
                ) => out.contended = true,
                Some(_) => out.other = true,
            }
        }
        Some(out)
    }
}

/// A random wait below an exponentially growing ceiling ("full jitter"), so that writers
/// cancelled together do not come back together.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(16))
        .min(BACKOFF_CAP);
    // A fresh RandomState is randomly keyed: its hash of anything is a random number.
    let random = std::collections::hash_map::RandomState::new().hash_one(attempt);
    ceiling.mul_f64((random % 1_000_000) as f64 / 1_000_000.0)
}

/// A counter item's `spent`: zero when absent (an item written before its first ADD); what it
/// holds instead, when not a number.
fn spent_of(spent: Option<&AttributeValue>) -> Result<Decimal, String> {
    match spent {
        None => Ok(Decimal::ZERO),
        Some(AttributeValue::N(v)) => Decimal::from_str(v).map_err(|_| v.clone()),
        Some(other) => Err(format!("{other:?}")),
    }
}

impl UsageCounters for DynamoUsageCounters {
    async fn count(&self, chunk: &Chunk) -> Result<ChunkCounted, PortError> {
        self.count_chunk(chunk)
            .await
            .map_err(UsageTableError::into_port_error)
    }

    async fn total(&self, key: &CounterKey) -> Result<Decimal, PortError> {
        self.read_total(key)
            .await
            .map_err(UsageTableError::into_port_error)
    }

    async fn claim_alert(
        &self,
        key: &CounterKey,
        threshold: &str,
        expires_at: i64,
    ) -> Result<bool, PortError> {
        self.claim(key, threshold, expires_at)
            .await
            .map_err(UsageTableError::into_port_error)
    }

    async fn confirm_alert(&self, key: &CounterKey, threshold: &str) -> Result<(), PortError> {
        self.confirm(key, threshold)
            .await
            .map_err(UsageTableError::into_port_error)
    }
}

impl CounterReader for DynamoUsageCounters {
    async fn read_totals(
        &self,
        keys: &[CounterKey],
    ) -> Result<BTreeMap<CounterKey, Decimal>, PortError> {
        DynamoUsageCounters::read_totals(self, keys)
            .await
            .map_err(UsageTableError::into_port_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_three_kinds_of_item_never_share_a_key() {
        let key = CounterKey {
            budget: "bg-chat#bot".into(),
            period_start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        };
        assert_eq!(counter_pk(&key), "counter:bg-chat#bot:2026-11-01");
        assert_eq!(
            alert_pk(&key, "ACTUAL>90%"),
            "alert:bg-chat#bot:2026-11-01:ACTUAL>90%"
        );
        assert_eq!(request_pk("6f3c"), "request:6f3c");
    }
}
