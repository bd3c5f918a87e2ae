//! The usage meter's counters against the local emulator's DynamoDB (and SNS for its alerts): a
//! request counts once however often it is delivered, its cost lands in every budget's counter
//! atomically, request records carry their TTL, a threshold's alert is claimed once per period,
//! and every call made is in the usage meter's IAM needs.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
mod common;
use guard_aws::dynamodb::usage_counters::{
    DynamoUsageCounters, KEY, TTL_ATTRIBUTE, counter_pk, request_pk,
};
use guard_aws::sns::spend_alerts::SnsSpendAlerts;
use guard_core::policy::Policy;
use guard_core::testing::usage::{charge, counter_key as key};
use guard_core::usage::awslogs::LogEvent;
use guard_core::usage::chunks::{Chunk, chunk};
use guard_core::usage::meter::{Charge, ChunkCounted, CounterKey, meter_batch};
use guard_testkit::Emulator;
use rust_decimal_macros::dec;

const TABLE: &str = "budget-guard-usage";

async fn table(aws: &Emulator) -> aws_sdk_dynamodb::Client {
    guard_testkit::create_ttl_table(&aws.sdk_config().await, TABLE, KEY, TTL_ATTRIBUTE)
        .await
        .unwrap()
}

fn one(charge: Charge) -> Chunk {
    Chunk {
        charges: vec![charge],
    }
}

fn counted(new: &[&str], before: &[&str]) -> ChunkCounted {
    ChunkCounted {
        counted: new.iter().map(|s| s.to_string()).collect(),
        already_counted: before.iter().map(|s| s.to_string()).collect(),
    }
}

async fn requests_of(ddb: &aws_sdk_dynamodb::Client, k: &CounterKey) -> String {
    let counter = ddb
        .get_item()
        .table_name(TABLE)
        .key(KEY, AttributeValue::S(counter_pk(k)))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    match counter.item().and_then(|i| i.get("requests")) {
        Some(AttributeValue::N(n)) => n.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_chunk_with_requests_counted_before_counts_each_new_one_once_and_exactly() {
    let aws = Emulator::start().unwrap();
    let ddb = table(&aws).await;
    let counters = DynamoUsageCounters::new(ddb.clone(), TABLE);

    // Delivered first: r2 and r5, alone.
    let early = chunk(vec![
        charge("r2", dec!(0.02), &["bg-chatbot", "bg-all"]),
        charge("r5", dec!(0.05), &["bg-chatbot"]),
    ])
    .unwrap();
    assert_eq!(
        counters.count_chunk(&early.chunks[0]).await.unwrap(),
        counted(&["r2", "r5"], &[])
    );

    // Then a batch that holds them again among new requests, in one transaction.
    let batch = chunk(
        (1..=6)
            .map(|i| {
                let budgets: &[&str] = if i % 2 == 0 {
                    &["bg-chatbot", "bg-all"]
                } else {
                    &["bg-chatbot"]
                };
                charge(&format!("r{i}"), rust_decimal::Decimal::new(i, 2), budgets)
            })
            .collect(),
    )
    .unwrap();
    assert_eq!(batch.chunks.len(), 1);
    let answer = counters.count_chunk(&batch.chunks[0]).await.unwrap();
    assert_eq!(answer, counted(&["r1", "r3", "r4", "r6"], &["r2", "r5"]));

    // Every request once: $0.01 + ... + $0.06 on the chatbot, the even ones on `all`.
    assert_eq!(
        counters.read_total(&key("bg-chatbot")).await.unwrap(),
        dec!(0.21)
    );
    assert_eq!(
        counters.read_total(&key("bg-all")).await.unwrap(),
        dec!(0.12)
    );
    assert_eq!(requests_of(&ddb, &key("bg-chatbot")).await, "6");
    assert_eq!(requests_of(&ddb, &key("bg-all")).await, "3");

    // The whole batch again: nothing new, nothing moves.
    let again = counters.count_chunk(&batch.chunks[0]).await.unwrap();
    assert!(again.counted.is_empty(), "{again:?}");
    assert_eq!(again.already_counted.len(), 6);
    assert_eq!(
        counters.read_total(&key("bg-chatbot")).await.unwrap(),
        dec!(0.21)
    );
}

#[tokio::test]
async fn a_request_counts_once_in_every_counter_it_belongs_to() {
    let aws = Emulator::start().unwrap();
    let ddb = table(&aws).await;
    let counters = DynamoUsageCounters::new(ddb.clone(), TABLE);

    let first = one(charge("r1", dec!(0.0147675), &["bg-chatbot", "bg-all"]));
    assert_eq!(
        counters.count_chunk(&first).await.unwrap(),
        counted(&["r1"], &[])
    );
    assert_eq!(
        counters.count_chunk(&first).await.unwrap(),
        counted(&[], &["r1"]),
        "a redelivered request is not an error and adds nothing"
    );
    let second = one(charge("r2", dec!(0.0000325), &["bg-chatbot"]));
    assert_eq!(
        counters.count_chunk(&second).await.unwrap(),
        counted(&["r2"], &[])
    );

    assert_eq!(
        counters.read_total(&key("bg-chatbot")).await.unwrap(),
        dec!(0.0148)
    );
    assert_eq!(
        counters.read_total(&key("bg-all")).await.unwrap(),
        dec!(0.0147675)
    );
    assert_eq!(
        counters.read_total(&key("bg-other")).await.unwrap(),
        dec!(0),
        "a counter never written is zero"
    );

    // The request's record expires; the counter says whose it is and counts requests.
    let request = ddb
        .get_item()
        .table_name(TABLE)
        .key(KEY, AttributeValue::S(request_pk("r1")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        request.item().unwrap().get(TTL_ATTRIBUTE),
        Some(&AttributeValue::N("1795800000".into()))
    );
    let counter = ddb
        .get_item()
        .table_name(TABLE)
        .key(KEY, AttributeValue::S(counter_pk(&key("bg-chatbot"))))
        .send()
        .await
        .unwrap();
    let item = counter.item().unwrap();
    assert_eq!(item.get("requests"), Some(&AttributeValue::N("2".into())));
    assert_eq!(
        item.get("budget"),
        Some(&AttributeValue::S("bg-chatbot".into()))
    );
    assert_eq!(
        item.get(TTL_ATTRIBUTE),
        Some(&AttributeValue::N("1798000000".into()))
    );
}

#[tokio::test]
async fn an_alert_is_claimed_until_it_is_confirmed_then_never_again() {
    let aws = Emulator::start().unwrap();
    let counters = DynamoUsageCounters::new(table(&aws).await, TABLE);
    let k = key("bg-chatbot");
    assert!(
        counters
            .claim(&k, "ACTUAL>90%", 1_798_000_000)
            .await
            .unwrap()
    );
    assert!(
        counters
            .claim(&k, "ACTUAL>90%", 1_798_000_000)
            .await
            .unwrap(),
        "a claim whose publish never got confirmed is claimed again"
    );
    counters.confirm(&k, "ACTUAL>90%").await.unwrap();
    assert!(
        !counters
            .claim(&k, "ACTUAL>90%", 1_798_000_000)
            .await
            .unwrap()
    );
    assert!(
        counters
            .claim(&k, "ACTUAL>100%", 1_798_000_000)
            .await
            .unwrap()
    );
    let next_period = CounterKey {
        period_start: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        ..k
    };
    assert!(
        counters
            .claim(&next_period, "ACTUAL>90%", 1_800_000_000)
            .await
            .unwrap()
    );
}

fn policy() -> Policy {
    guard_core::testing::policy::checked(&guard_testkit::policy_fixture("metered"))
}

fn record(request_id: &str, output_tokens: u64) -> LogEvent {
    LogEvent {
        id: format!("event-{request_id}"),
        timestamp: 1_795_600_803_000,
        message: serde_json::json!({
            "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
            "timestamp": "2026-11-20T14:00:03Z", "accountId": "123456789012",
            "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/chatbot/i-0abc"},
            "region": "us-east-1", "requestId": request_id, "operation": "Converse",
            "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "input": {"inputTokenCount": 0},
            "output": {"outputTokenCount": output_tokens}
        })
        .to_string(),
    }
}

#[tokio::test]
async fn a_batch_delivered_twice_alerts_once_and_calls_only_what_iam_grants() {
    let aws = Emulator::start().unwrap();
    let config = aws.sdk_config().await;
    let counters = DynamoUsageCounters::new(table(&aws).await, TABLE);
    let topic = aws.create_topic("budget-guard-alerts").await.unwrap();
    let sink = SnsSpendAlerts::new(aws_sdk_sns::Client::new(&config), &topic);
    let p = policy();
    let now: DateTime<Utc> = "2026-11-20T14:00:30Z".parse().unwrap();
    aws.reset_calls();

    // 60,000 output tokens of Sonnet 4.5 through `us.`: $0.99 of the $1 budget.
    let batch = [record("r1", 60_000)];
    let first = meter_batch(&p, &p.catalog(), &batch, (&counters, &sink), now)
        .await
        .unwrap();
    assert_eq!(first.counted, 1);
    assert_eq!(first.alerts.len(), 1);
    assert_eq!(first.alerts[0].threshold, dec!(0.5));
    let again = meter_batch(&p, &p.catalog(), &batch, (&counters, &sink), now)
        .await
        .unwrap();
    assert_eq!((again.counted, again.already_counted), (0, 1));
    assert!(again.alerts.is_empty());
    let published = aws.sns_published(&topic).await.unwrap();
    assert_eq!(published.len(), 1, "{published:?}");
    let alert: serde_json::Value = serde_json::from_str(&published[0].message).unwrap();
    assert_eq!(alert["schema"], "budget-guard/spend-alert@1");
    assert_eq!(alert["source"], "usage-meter");
    assert_eq!(alert["budget_name"], "bg-chatbot");
    assert_eq!(alert["amount"], 0.99);

    let calls = aws.calls();
    assert!(
        calls
            .iter()
            .any(|(s, a)| s == "dynamodb" && a == "TransactWriteItems"),
        "{calls:?}"
    );
    common::assert_calls_listed("usage-meter", &calls);
}

#[tokio::test]
async fn the_watcher_reads_the_counters_that_exist_in_batches_with_only_its_read_grant() {
    let aws = Emulator::start().unwrap();
    let counters = DynamoUsageCounters::new(table(&aws).await, TABLE);
    let counted = chunk(vec![
        charge("r1", dec!(0.25), &["bg-chatbot", "bg-all"]),
        charge("r2", dec!(0.5), &["bg-all"]),
    ])
    .unwrap();
    counters.count_chunk(&counted.chunks[0]).await.unwrap();
    aws.reset_calls();

    // More keys than one BatchGetItem takes: most of them have no counter.
    let mut keys: Vec<CounterKey> = (0..150).map(|i| key(&format!("bg-quiet-{i}"))).collect();
    keys.push(key("bg-chatbot"));
    keys.push(key("bg-all"));
    let mut october = key("bg-all");
    october.period_start = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    keys.push(october);
    let totals = counters.read_totals(&keys).await.unwrap();
    assert_eq!(
        totals.into_iter().collect::<Vec<_>>(),
        [(key("bg-all"), dec!(0.75)), (key("bg-chatbot"), dec!(0.25))]
    );
    assert_eq!(aws.call_count("dynamodb", "BatchGetItem"), 2);

    common::assert_calls_listed("spend-watcher", &aws.calls());
    let watcher_table_actions: Vec<&str> = guard_aws::wiring::calls_of("spend-watcher")
        .filter(|c| c.resource == guard_aws::iam::ResourceKind::UsageTable)
        .map(|c| c.action)
        .collect();
    assert_eq!(
        watcher_table_actions,
        ["dynamodb:BatchGetItem"],
        "the watcher only reads the counters"
    );
}
