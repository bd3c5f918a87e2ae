//! Invocation log records read, scoped and priced per second on one core: the usage meter's own
//! work per record, without its DynamoDB writes. The records are full Bedrock records, bodies
//! included (a short chat turn), of four kinds: a cross-region profile with cache tokens, a
//! profile ARN, a model no budget covers, and a base model id.
//!
//! `cargo run --release -p guard-core --example usage_throughput`

use guard_core::policy::{Policy, SourceFile};
use guard_core::usage::meter::{Outcome, assess};
use std::time::Instant;

const POLICY: &str = include_str!("../../../policies/example.yaml");
const RECORDS: usize = 200_000;

fn record(i: usize) -> String {
    let model = match i % 4 {
        0 => "us.anthropic.claude-sonnet-4-5-20250929-v1:0".to_owned(),
        1 => "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0"
            .to_owned(),
        2 => "us.meta.llama3-3-70b-instruct-v1:0".to_owned(),
        _ => "amazon.nova-pro-v1:0".to_owned(),
    };
    serde_json::json!({
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
        "timestamp": "2026-11-20T14:00:03Z", "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/support-chatbot/i-0abc"},
        "region": "us-east-1", "requestId": format!("6f3c2a10-1b7e-4e0c-9c51-{i:012}"),
        "operation": "Converse", "modelId": model,
        "input": {"inputContentType": "application/json",
                  "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "Where is my order? It was due on Tuesday and the tracking page has not moved since."}]}],
                                    "system": [{"text": "You are the support assistant of an online shop."}]},
                  "inputTokenCount": 1200 + i % 100, "cacheReadInputTokenCount": if i % 4 == 0 { 9000 } else { 0 },
                  "cacheWriteInputTokenCount": 0},
        "output": {"outputContentType": "application/json",
                   "outputBodyJson": {"output": {"message": {"role": "assistant", "content": [{"text": "I am sorry about the delay. Your parcel left the depot this morning."}]}},
                                      "stopReason": "end_turn", "usage": {"inputTokens": 1200, "outputTokens": 350}},
                   "outputTokenCount": 350},
        "inferenceRegion": "us-east-2",
        "requestMetadata": {"app": "support-chatbot"}
    })
    .to_string()
}

fn main() {
    let (policy, d) =
        guard_core::policy::load(&[SourceFile::new("example.yaml", POLICY.as_bytes().to_vec())]);
    let policy: Policy = policy.unwrap_or_else(|| panic!("{d:#?}"));
    let catalog = policy.catalog();
    let records: Vec<String> = (0..RECORDS).map(record).collect();
    let bytes: usize = records.iter().map(String::len).sum();
    // Warm up the allocator and caches, then time one pass on this thread.
    for r in records.iter().take(10_000) {
        std::hint::black_box(assess(&policy, &catalog, r));
    }
    let start = Instant::now();
    let (mut charged, mut unmatched, mut other) = (0usize, 0usize, 0usize);
    for r in &records {
        match std::hint::black_box(assess(&policy, &catalog, r)) {
            Outcome::Charge(_) => charged += 1,
            Outcome::Unmatched => unmatched += 1,
            _ => other += 1,
        }
    }
    let elapsed = start.elapsed();
    let per_second = RECORDS as f64 / elapsed.as_secs_f64();
    println!(
        "- {RECORDS} records ({} bytes each on average) read, scoped and priced in {:.3} s on one core: {:.0} records/s ({:.1} us each); {charged} charged, {unmatched} in no budget, {other} other",
        bytes / RECORDS,
        elapsed.as_secs_f64(),
        per_second,
        elapsed.as_secs_f64() * 1e6 / RECORDS as f64,
    );
}
