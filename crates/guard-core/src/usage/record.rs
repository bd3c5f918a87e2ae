//! One Bedrock model invocation log record (`schemaType` `ModelInvocationLog`, `schemaVersion`
//! `1.0`), as Bedrock writes it to CloudWatch Logs, read for what it costs and who called:
//!
//! ```json
//! {
//!   "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
//!   "timestamp": "2026-11-20T14:00:03Z", "accountId": "123456789012",
//!   "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/chatbot/i-0abc"},
//!   "region": "us-east-1", "requestId": "6f3c...", "operation": "Converse",
//!   "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
//!   "input": {"inputContentType": "application/json", "inputBodyJson": {...},
//!             "inputTokenCount": 1200, "cacheReadInputTokenCount": 9000,
//!             "cacheWriteInputTokenCount": 0},
//!   "output": {"outputContentType": "application/json", "outputBodyJson": {...},
//!              "outputTokenCount": 350},
//!   "inferenceRegion": "us-east-2",
//!   "requestMetadata": {"app": "chatbot"}
//! }
//! ```
//!
//! `modelId` is what the caller passed: a base model id, a cross-region inference profile id
//! (`us.`, `eu.`, `global.`...), or an ARN of a foundation model, of a cross-region profile
//! (`.../inference-profile/us.anthropic...`) or of an application inference profile
//! (`.../application-inference-profile/<id>`). `inferenceRegion` is where a cross-region call ran;
//! the call is billed in `region`.
//!
//! The bodies (`inputBodyJson`, `outputBodyJson`, and `inputBodyS3Path`... when large) are not
//! fields of the types below: serde skips them while parsing, so no prompt or completion is ever
//! held, logged or stored. Errors say where a record is wrong, never what it holds.

use crate::spend::price::Tokens;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema versions this build reads.
pub const SCHEMA_VERSIONS: &[&str] = &["1.0"];

/// What the guard keeps of one invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvocationRecord {
    pub timestamp: DateTime<Utc>,
    pub account_id: String,
    /// The caller: an IAM user or assumed-role ARN.
    pub identity_arn: Option<String>,
    /// The region the call was made (and is billed) in.
    pub region: String,
    pub request_id: String,
    pub operation: Option<String>,
    /// As invoked: a model id, a profile id, or an ARN (see the module docs).
    pub model_id: String,
    /// Where a cross-region call ran.
    pub inference_region: Option<String>,
    pub tokens: Tokens,
    /// The caller's `requestMetadata` (string values only).
    pub request_metadata: BTreeMap<String, String>,
    /// Set when the invocation failed.
    pub error_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    schema_version: Option<String>,
    timestamp: DateTime<Utc>,
    account_id: String,
    #[serde(default)]
    identity: Option<WireIdentity>,
    region: String,
    request_id: String,
    #[serde(default)]
    operation: Option<String>,
    model_id: String,
    #[serde(default)]
    inference_region: Option<String>,
    #[serde(default)]
    input: Option<WireInput>,
    #[serde(default)]
    output: Option<WireOutput>,
    #[serde(default)]
    request_metadata: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    error_code: Option<String>,
}

#[derive(Deserialize)]
struct WireIdentity {
    arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInput {
    #[serde(default)]
    input_token_count: Option<u64>,
    #[serde(default)]
    cache_read_input_token_count: Option<u64>,
    #[serde(default)]
    cache_write_input_token_count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOutput {
    #[serde(default)]
    output_token_count: Option<u64>,
}

/// Why a log event is not a record the guard can count. Never holds the event's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not an invocation log record ({category} error at line {line} column {column})")]
    Malformed {
        category: String,
        line: usize,
        column: usize,
    },
    #[error("schemaVersion {0:?} is not one this build reads ({SCHEMA_VERSIONS:?})")]
    UnknownSchema(String),
    #[error("`{0}` is empty")]
    Empty(&'static str),
}

/// Reads one log event's message.
pub fn parse_record(message: &str) -> Result<InvocationRecord, RecordError> {
    let wire: Wire = serde_json::from_str(message).map_err(|e| RecordError::Malformed {
        category: format!("{:?}", e.classify()).to_lowercase(),
        line: e.line(),
        column: e.column(),
    })?;
    if let Some(v) = &wire.schema_version
        && !SCHEMA_VERSIONS.contains(&v.as_str())
    {
        // A version string is Bedrock's, not the caller's: short, and safe to show.
        return Err(RecordError::UnknownSchema(v.chars().take(16).collect()));
    }
    for (field, value) in [
        ("requestId", &wire.request_id),
        ("modelId", &wire.model_id),
        ("accountId", &wire.account_id),
    ] {
        if value.trim().is_empty() {
            return Err(RecordError::Empty(field));
        }
    }
    let input = wire.input.as_ref();
    let tokens = Tokens {
        input: input.and_then(|i| i.input_token_count).unwrap_or(0),
        output: wire
            .output
            .as_ref()
            .and_then(|o| o.output_token_count)
            .unwrap_or(0),
        cache_read: input
            .and_then(|i| i.cache_read_input_token_count)
            .unwrap_or(0),
        cache_write: input
            .and_then(|i| i.cache_write_input_token_count)
            .unwrap_or(0),
    };
    let request_metadata = wire
        .request_metadata
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect();
    Ok(InvocationRecord {
        timestamp: wire.timestamp,
        account_id: wire.account_id,
        identity_arn: wire.identity.and_then(|i| i.arn),
        region: wire.region,
        request_id: wire.request_id,
        operation: wire.operation,
        model_id: wire.model_id,
        inference_region: wire.inference_region,
        tokens,
        request_metadata,
        error_code: wire.error_code,
    })
}

/// The id a record's model is priced and scoped as: the id inside a foundation-model or
/// cross-region profile ARN (`arn:...:inference-profile/us.anthropic.X` is `us.anthropic.X`);
/// anything else (a plain id, an application inference profile ARN) as it is.
pub fn invoked_id(model_id: &str) -> &str {
    if !model_id.starts_with("arn:") {
        return model_id;
    }
    let resource = model_id.splitn(6, ':').nth(5).unwrap_or_default();
    resource
        .strip_prefix("foundation-model/")
        .or_else(|| resource.strip_prefix("inference-profile/"))
        .filter(|id| !id.is_empty())
        .unwrap_or(model_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SONNET_WITH_CACHE: &str = r#"{
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
        "timestamp": "2026-11-20T14:00:03Z", "accountId": "123456789012",
        "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/chatbot/i-0abc"},
        "region": "us-east-1", "requestId": "6f3c2a10-1b7e-4e0c-9c51-2f0a8d1e4b01",
        "operation": "Converse",
        "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "input": {"inputContentType": "application/json",
                  "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "the launch code is 0000"}]}]},
                  "inputTokenCount": 1200, "cacheReadInputTokenCount": 9000, "cacheWriteInputTokenCount": 500},
        "output": {"outputContentType": "application/json",
                   "outputBodyJson": {"output": {"message": {"content": [{"text": "noted: 0000"}]}}},
                   "outputTokenCount": 350},
        "inferenceRegion": "us-east-2",
        "requestMetadata": {"app": "chatbot", "tenant": "acme", "n": 3}
    }"#;

    #[test]
    fn a_record_gives_its_metadata_and_every_token_count() {
        let r = parse_record(SONNET_WITH_CACHE).unwrap();
        assert_eq!(r.request_id, "6f3c2a10-1b7e-4e0c-9c51-2f0a8d1e4b01");
        assert_eq!(r.model_id, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(r.account_id, "123456789012");
        assert_eq!(r.region, "us-east-1");
        assert_eq!(r.inference_region.as_deref(), Some("us-east-2"));
        assert_eq!(
            r.identity_arn.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/chatbot/i-0abc")
        );
        assert_eq!(r.operation.as_deref(), Some("Converse"));
        assert_eq!(
            r.tokens,
            Tokens {
                input: 1200,
                output: 350,
                cache_read: 9000,
                cache_write: 500
            }
        );
        assert_eq!(r.timestamp.to_rfc3339(), "2026-11-20T14:00:03+00:00");
        // Non-string metadata values are not kept.
        assert_eq!(
            r.request_metadata.into_iter().collect::<Vec<_>>(),
            [
                ("app".into(), "chatbot".into()),
                ("tenant".into(), "acme".into())
            ]
        );
    }

    #[test]
    fn the_prompt_and_the_completion_are_not_kept() {
        let r = parse_record(SONNET_WITH_CACHE).unwrap();
        let kept = format!("{r:?} {}", serde_json::to_string(&r).unwrap());
        assert!(!kept.contains("0000"), "{kept}");
        assert!(!kept.contains("launch code"), "{kept}");
    }

    #[test]
    fn a_record_without_token_counts_costs_nothing_rather_than_failing() {
        let r = parse_record(
            r#"{"schemaVersion":"1.0","timestamp":"2026-11-20T14:00:03Z","accountId":"123456789012",
                "region":"us-east-1","requestId":"r1","modelId":"amazon.titan-image-generator-v2:0",
                "errorCode":"ValidationException"}"#,
        )
        .unwrap();
        assert!(r.tokens.is_zero());
        assert_eq!(r.error_code.as_deref(), Some("ValidationException"));
    }

    #[test]
    fn a_malformed_record_says_where_not_what() {
        let err = parse_record(r#"{"timestamp": "yesterday", "secret": "hunter2"}"#).unwrap_err();
        assert!(matches!(err, RecordError::Malformed { .. }), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!err.to_string().contains("yesterday"), "{err}");
        assert!(matches!(
            parse_record("START RequestId: abc"),
            Err(RecordError::Malformed { .. })
        ));
        let empty_id = SONNET_WITH_CACHE.replace("6f3c2a10-1b7e-4e0c-9c51-2f0a8d1e4b01", " ");
        assert_eq!(
            parse_record(&empty_id),
            Err(RecordError::Empty("requestId"))
        );
        let v2 =
            SONNET_WITH_CACHE.replace("\"schemaVersion\": \"1.0\"", "\"schemaVersion\": \"2.0\"");
        assert_eq!(
            parse_record(&v2),
            Err(RecordError::UnknownSchema("2.0".into()))
        );
    }

    #[test]
    fn profile_and_model_arns_are_priced_as_the_id_inside_them() {
        assert_eq!(
            invoked_id(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(
            invoked_id("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"),
            "amazon.nova-lite-v1:0"
        );
        let app =
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6";
        assert_eq!(invoked_id(app), app);
        assert_eq!(invoked_id("amazon.nova-lite-v1:0"), "amazon.nova-lite-v1:0");
        assert_eq!(invoked_id("arn:aws:bedrock"), "arn:aws:bedrock");
    }
}
