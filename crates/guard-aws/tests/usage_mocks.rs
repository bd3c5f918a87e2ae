//! What the emulator cannot show of the usage counters, with `aws-smithy-mocks` on the real
//! DynamoDB client: a transaction that real DynamoDB cancels for contention (`TransactionConflict`,
//! which moto never reports) is sent again after a backoff; one that also finds a request counted
//! before is sent again without it; contention that lasts, and a cancellation for any other
//! reason, come back as errors.

#[macro_use]
mod mocks;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_types::retry::RetryConfig;
use guard_aws::dynamodb::usage_counters::{
    CONTENDED_ATTEMPTS, DynamoUsageCounters, UsageTableError,
};
use guard_core::testing::usage::charge;
use guard_core::usage::chunks::Chunk;
use guard_core::usage::meter::ChunkCounted;
use rust_decimal_macros::dec;
use std::sync::{Arc, Mutex};

const TABLE: &str = "budget-guard-usage";

/// Counters whose client the rules answer in order. The SDK's own retries are off: every send
/// the rules see is one the counters made.
fn counters(rules: &[&Rule]) -> DynamoUsageCounters {
    let client: Client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        rules,
        RetryConfig::disabled()
    );
    DynamoUsageCounters::new(client, TABLE)
}

/// Three requests on one budget: three markers, then one addition.
fn three_requests() -> Chunk {
    Chunk {
        charges: ["r-1", "r-2", "r-3"]
            .iter()
            .map(|id| charge(id, dec!(0.5), &["bg-chatbot"]))
            .collect(),
    }
}

/// DynamoDB's cancellation, one reason per item in the order sent (`None` for an item that was
/// fine).
fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
    TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .message(
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
            )
            .set_cancellation_reasons(Some(
                codes
                    .iter()
                    .map(|c| CancellationReason::builder().code(*c).build())
                    .collect(),
            ))
            .build(),
    )
}

/// The item count of each transaction sent, in order.
type Sent = Arc<Mutex<Vec<usize>>>;

/// Matches every transaction, recording its item count in `sent`.
fn recording(sent: &Sent) -> impl Fn(&TransactWriteItemsInput) -> bool + Send + Sync + 'static {
    let sent = sent.clone();
    move |r| {
        sent.lock().unwrap().push(r.transact_items().len());
        true
    }
}

fn transactions(sent: &Sent) -> Vec<usize> {
    sent.lock().unwrap().clone()
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// [`three_requests`] counted when DynamoDB cancels the first transaction with `codes` and takes
/// the next one: what came back, and each transaction's item count.
async fn counted_after_one_cancellation(
    codes: &'static [&'static str],
) -> (ChunkCounted, Vec<usize>) {
    let sent: Sent = Arc::default();
    let rule = mock!(Client::transact_write_items)
        .match_requests(recording(&sent))
        .sequence()
        .error(move || cancelled(codes))
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let counted = counters(&[&rule])
        .count_chunk(&three_requests())
        .await
        .unwrap();
    (counted, transactions(&sent))
}

#[tokio::test]
async fn a_transaction_cancelled_by_a_conflict_is_sent_again_whole() {
    let (counted, sent) =
        counted_after_one_cancellation(&["None", "None", "None", "TransactionConflict"]).await;
    assert_eq!(
        counted,
        ChunkCounted {
            counted: ids(&["r-1", "r-2", "r-3"]),
            already_counted: vec![],
        }
    );
    assert_eq!(sent, [4, 4]);
}

#[tokio::test]
async fn a_request_counted_before_is_dropped_and_the_rest_sent_again_after_the_conflict() {
    let (counted, sent) = counted_after_one_cancellation(&[
        "None",
        "ConditionalCheckFailed",
        "None",
        "TransactionConflict",
    ])
    .await;
    assert_eq!(
        counted,
        ChunkCounted {
            counted: ids(&["r-1", "r-3"]),
            already_counted: ids(&["r-2"]),
        }
    );
    // The second transaction: the two other markers and the one addition, of their costs only.
    assert_eq!(sent, [4, 3]);
}

#[tokio::test]
async fn contention_that_lasts_gives_up_after_the_last_attempt() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["None", "ThrottlingError", "None", "TransactionConflict"]))
        .times(CONTENDED_ATTEMPTS as usize)
        .build();
    let err = counters(&[&rule])
        .count_chunk(&three_requests())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            UsageTableError::Contended {
                requests: 3,
                attempts: CONTENDED_ATTEMPTS,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(rule.num_calls(), CONTENDED_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_cancellation_for_another_reason_is_an_error_at_once() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["None", "None", "None", "ValidationError"]))
        .times(2)
        .build();
    let err = counters(&[&rule])
        .count_chunk(&three_requests())
        .await
        .unwrap_err();
    assert!(
        matches!(err, UsageTableError::Count { requests: 3, .. }),
        "{err:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}
