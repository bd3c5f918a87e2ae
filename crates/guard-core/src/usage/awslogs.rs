//! The event a CloudWatch Logs subscription filter sends to Lambda:
//! `{"awslogs": {"data": "<base64 of gzip of JSON>"}}`, where the JSON holds `messageType`
//! (`DATA_MESSAGE`, or `CONTROL_MESSAGE` when Logs checks that the destination is reachable),
//! `owner`, `logGroup`, `logStream`, `subscriptionFilters` and `logEvents[]` of
//! `{id, timestamp, message}`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// Decompressed payloads larger than this (16 MiB) are refused: Logs sends at most about 1 MB of
/// log events per invocation, so anything far larger is not a subscription event.
pub const MAX_DECODED_BYTES: u64 = 16 * 1024 * 1024;

/// One log event: `message` is the invocation log record, as Bedrock wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    pub id: String,
    /// Milliseconds since the epoch, when Logs ingested the event.
    pub timestamp: i64,
    pub message: String,
}

/// The decoded payload of one `awslogs` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsBatch {
    pub message_type: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub log_group: String,
    #[serde(default)]
    pub log_stream: String,
    #[serde(default)]
    pub subscription_filters: Vec<String>,
    #[serde(default)]
    pub log_events: Vec<LogEvent>,
}

impl LogsBatch {
    /// Whether this is Logs' reachability check, which carries no records.
    pub fn is_control(&self) -> bool {
        self.message_type == "CONTROL_MESSAGE"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsLogsError {
    #[error("the event has no `awslogs.data` string")]
    NoData,
    #[error("`awslogs.data` is not base64: {0}")]
    Base64(String),
    #[error("`awslogs.data` is not gzip: {0}")]
    Gzip(String),
    #[error("`awslogs.data` decompresses to more than {MAX_DECODED_BYTES} bytes")]
    TooLarge,
    #[error("`awslogs.data` is not a Logs subscription payload: {0}")]
    Json(String),
}

/// Reads the Lambda event (`{"awslogs": {"data": ...}}`) into its batch.
pub fn decode_event(event: &serde_json::Value) -> Result<LogsBatch, AwsLogsError> {
    let data = event
        .get("awslogs")
        .and_then(|a| a.get("data"))
        .and_then(serde_json::Value::as_str)
        .ok_or(AwsLogsError::NoData)?;
    decode_data(data)
}

/// Reads `awslogs.data`: base64, then gzip, then JSON.
pub fn decode_data(data: &str) -> Result<LogsBatch, AwsLogsError> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| AwsLogsError::Base64(e.to_string()))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| AwsLogsError::Gzip(e.to_string()))?;
    if json.len() as u64 > MAX_DECODED_BYTES {
        return Err(AwsLogsError::TooLarge);
    }
    // The error says where, never what: a log event's text may hold a prompt.
    serde_json::from_slice(&json).map_err(|e| {
        AwsLogsError::Json(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// The `awslogs` event Logs would send for `batch` (what the tests and the benchmark post).
pub fn encode_event(batch: &LogsBatch) -> serde_json::Value {
    use std::io::Write;
    let json = serde_json::to_vec(batch).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let compressed = gz
        .write_all(&json)
        .and_then(|()| gz.finish())
        .unwrap_or_default();
    serde_json::json!({
        "awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(compressed)}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(messages: &[&str]) -> LogsBatch {
        LogsBatch {
            message_type: "DATA_MESSAGE".into(),
            owner: "123456789012".into(),
            log_group: "/aws/bedrock/modelinvocations".into(),
            log_stream: "aws/bedrock/modelinvocations".into(),
            subscription_filters: vec!["budget-guard".into()],
            log_events: messages
                .iter()
                .enumerate()
                .map(|(i, m)| LogEvent {
                    id: format!("3795{i}"),
                    timestamp: 1_795_000_000_000,
                    message: (*m).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn an_encoded_event_decodes_to_the_same_batch() {
        let b = batch(&[r#"{"a":1}"#, "plain text"]);
        let event = encode_event(&b);
        assert!(
            event["awslogs"]["data"]
                .as_str()
                .unwrap()
                .starts_with("H4sI")
        );
        assert_eq!(decode_event(&event).unwrap(), b);
    }

    #[test]
    fn the_control_message_is_known_as_such() {
        let mut b = batch(&[]);
        b.message_type = "CONTROL_MESSAGE".into();
        assert!(decode_event(&encode_event(&b)).unwrap().is_control());
        assert!(!batch(&[]).is_control());
    }

    #[test]
    fn what_is_not_an_awslogs_event_is_an_error_that_says_which_layer_failed() {
        assert_eq!(
            decode_event(&serde_json::json!({"Records": []})),
            Err(AwsLogsError::NoData)
        );
        assert!(matches!(decode_data("@@@"), Err(AwsLogsError::Base64(_))));
        let not_gzip = base64::engine::general_purpose::STANDARD.encode(b"{\"a\":1}");
        assert!(matches!(decode_data(&not_gzip), Err(AwsLogsError::Gzip(_))));
    }

    #[test]
    fn a_payload_that_is_not_the_logs_shape_is_reported_without_its_text() {
        use std::io::Write;
        let secret = "my card number is 4111";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(format!("{{\"messageType\": 7, \"x\": \"{secret}\"}}").as_bytes())
            .unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        let err = decode_data(&data).unwrap_err();
        assert!(matches!(err, AwsLogsError::Json(_)), "{err}");
        assert!(!err.to_string().contains("4111"), "{err}");
    }
}
