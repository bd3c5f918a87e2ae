//! The usage meter's counters in one DynamoDB table (partition key `pk`, a string; TTL attribute
//! `expires_at`). Three kinds of item, told apart by the key's first part (`:` never appears in
//! an AWS budget name, so the parts cannot run into each other):
//!
//! | `pk` | attributes | written by |
//! |---|---|---|
//! | `request:<request id>` | `at`, `expires_at` (48 hours on) | the Put of [`DynamoUsageCounters::count`], only when absent |
//! | `counter:<budget>:<period start>` | `spent` (USD), `requests`, `budget`, `period_start`, `expires_at` | the `ADD` of the same transaction |
//! | `alert:<budget>:<period start>:<threshold id>` | `state` (`pending`, `published`), `expires_at` | [`DynamoUsageCounters::claim`], [`DynamoUsageCounters::confirm`] |
//!
//! A request is counted with one `TransactWriteItems`: the request's item with
//! `attribute_not_exists(pk)` and an `ADD` to each of its budgets' counters. Both happen or
//! neither; a request id recorded before cancels the transaction with `ConditionalCheckFailed`
//! on its first item, which is [`Counted::AlreadyCounted`], not an error. Amounts are DynamoDB
//! numbers, which are exact decimals (38 digits), so sums do not drift.
//!
//! The spend watcher reads the counters back (BatchGetItem, [`READ_NEEDS`]) to compare them with
//! its figures from token metrics ([`guard_core::usage::reconcile`]).

use std::str::FromStr;

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
use guard_core::usage::meter::{Charge, Counted, CounterKey, UsageCounters};
use guard_core::usage::reconcile::CounterReader;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

use crate::iam::{Needs, ResourceKind};
use crate::sdk::sdk_error_kind;

/// The IAM actions behind the calls below (a transaction's writes are authorized as the
/// PutItem and UpdateItem they are made of).
pub const NEEDS: Needs = &[(
    &[
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ],
    ResourceKind::UsageTable,
)];
/// What the spend watcher calls to read the counters for its reconciliation: reads only.
pub const READ_NEEDS: Needs = &[(&["dynamodb:BatchGetItem"], ResourceKind::UsageTable)];
/// BatchGetItem: at most 100 keys per request.
pub const MAX_KEYS_PER_BATCH_GET: usize = 100;
/// Rounds of BatchGetItem for the keys DynamoDB left unprocessed (throttled) before giving up; the
/// watcher's next run reads them again.
const UNPROCESSED_ROUNDS: usize = 3;
/// Each API operation this module calls, with the IAM actions it is authorized as.
pub const OPERATIONS: &[(&str, &[&str])] = &[
    (
        "dynamodb:TransactWriteItems",
        &["dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    ("dynamodb:GetItem", &["dynamodb:GetItem"]),
    ("dynamodb:PutItem", &["dynamodb:PutItem"]),
    ("dynamodb:UpdateItem", &["dynamodb:UpdateItem"]),
    ("dynamodb:BatchGetItem", &["dynamodb:BatchGetItem"]),
];
/// The table's partition key.
pub const KEY: &str = "pk";
/// The table's TTL attribute: epoch seconds.
pub const TTL_ATTRIBUTE: &str = "expires_at";

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
    #[error("dynamodb:TransactWriteItems counting request {request_id} failed")]
    Count {
        request_id: String,
        source: SdkError<TransactWriteItemsError, HttpResponse>,
    },
    #[error("a request counts against {0} budgets; a transaction holds at most 99 besides it")]
    TooManyCounters(usize),
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
            UsageTableError::TooManyCounters(_) => {
                ("dynamodb:TransactWriteItems", ErrorKind::Invalid)
            }
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

    /// Counts one request (see the module docs).
    pub async fn count_request(&self, charge: &Charge) -> Result<Counted, UsageTableError> {
        if charge.counters.len() > 99 {
            return Err(UsageTableError::TooManyCounters(charge.counters.len()));
        }
        let request = Put::builder()
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
        let mut items = vec![TransactWriteItem::builder().put(request).build()];
        for counter in &charge.counters {
            let update = Update::builder()
                .table_name(&self.table)
                .key(KEY, s(counter_pk(&counter.key)))
                .update_expression(
                    "ADD #spent :cost, #requests :one \
                     SET #budget = :budget, #period = :period, #ttl = :ttl",
                )
                .expression_attribute_names("#spent", "spent")
                .expression_attribute_names("#requests", "requests")
                .expression_attribute_names("#budget", "budget")
                .expression_attribute_names("#period", "period_start")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":cost", n(charge.cost.normalize()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":budget", s(&counter.key.budget))
                .expression_attribute_values(":period", s(counter.key.period_start.to_string()))
                .expression_attribute_values(":ttl", n(counter.expires_at))
                .build()?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Counted::New),
            Err(e) if request_seen_before(&e) => Ok(Counted::AlreadyCounted),
            Err(source) => Err(UsageTableError::Count {
                request_id: charge.request_id.clone(),
                source,
            }),
        }
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

/// A counter item's `spent`: zero when absent (an item written before its first ADD); what it
/// holds instead, when not a number.
fn spent_of(spent: Option<&AttributeValue>) -> Result<Decimal, String> {
    match spent {
        None => Ok(Decimal::ZERO),
        Some(AttributeValue::N(v)) => Decimal::from_str(v).map_err(|_| v.clone()),
        Some(other) => Err(format!("{other:?}")),
    }
}

/// Whether a cancelled transaction failed only because its first item, the request's record,
/// exists already.
fn request_seen_before(e: &SdkError<TransactWriteItemsError, HttpResponse>) -> bool {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        e.as_service_error()
    else {
        return false;
    };
    let reasons = cancelled.cancellation_reasons();
    reasons.first().and_then(|r| r.code()) == Some("ConditionalCheckFailed")
        && reasons
            .iter()
            .skip(1)
            .all(|r| matches!(r.code(), None | Some("None")))
}

impl UsageCounters for DynamoUsageCounters {
    async fn count(&self, charge: &Charge) -> Result<Counted, PortError> {
        self.count_request(charge)
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

    #[test]
    fn every_operation_is_authorized_by_the_needs() {
        let granted: Vec<&str> = NEEDS.iter().flat_map(|(a, _)| a.iter().copied()).collect();
        let granted_read: Vec<&str> = READ_NEEDS
            .iter()
            .flat_map(|(a, _)| a.iter().copied())
            .collect();
        for (_, actions) in OPERATIONS {
            for a in *actions {
                assert!(
                    granted.contains(a) || granted_read.contains(a),
                    "{a} is in neither NEEDS nor READ_NEEDS"
                );
            }
        }
    }
}
