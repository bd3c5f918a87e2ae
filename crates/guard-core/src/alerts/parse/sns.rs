//! Lambda SNS events: the records they carry, each read as an alert.

use serde::Deserialize;
use serde_json::Value;

use super::budgets_text::parse_budgets_text;
use super::spend_alert::SpendAlert;
use super::{Alert, AlertParseError, check_size, not_an_alert, parse_message, snippet, strip_bom};

/// One SNS notification from a Lambda SNS event (`Records[].Sns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsRecord {
    pub message_id: String,
    pub subject: Option<String>,
    pub message: String,
    pub topic_arn: Option<String>,
    pub timestamp: Option<String>,
}

// Only the fields Budget Guard reads. Everything else (including `SigningCertUrl` / `SigningCertURL`
// and `UnsubscribeUrl` / `UnsubscribeURL`, which real events spell either way) is ignored, so both
// spellings, or both at once, are accepted.
#[derive(Deserialize)]
struct RawSns {
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "Subject", default)]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "TopicArn", default)]
    topic_arn: Option<String>,
    #[serde(rename = "Timestamp", default)]
    timestamp: Option<String>,
}

impl From<RawSns> for SnsRecord {
    fn from(raw: RawSns) -> Self {
        SnsRecord {
            message_id: raw.message_id,
            subject: raw.subject,
            message: raw.message,
            topic_arn: raw.topic_arn,
            timestamp: raw.timestamp,
        }
    }
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(rename = "Sns")]
    sns: RawSns,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "Records")]
    records: Vec<RawRecord>,
}

/// The SNS notifications in a Lambda SNS event, in order. An event with an empty `Records` list gives
/// an empty vector; the messages are not parsed here (see [`parse_message`]).
pub fn sns_records(event_json: &str) -> Result<Vec<SnsRecord>, AlertParseError> {
    check_size(event_json)?;
    let event: RawEvent = serde_json::from_str(strip_bom(event_json)).map_err(|e| {
        AlertParseError::InvalidSnsEvent {
            reason: e.to_string(),
        }
    })?;
    Ok(event.records.into_iter().map(|r| r.sns.into()).collect())
}

/// One alert read by [`parse_input`], with the SNS fields when it came wrapped in an SNS event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRecord {
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub alert: Alert,
}

/// Reads what `budget-guard alert parse FILE` is given: a bare message (Budgets text or spend alert
/// JSON), a whole Lambda SNS event (every record must hold an alert), or a single SNS notification
/// envelope as SQS and HTTP subscribers receive it (`{"Type": "Notification", "Message": ...}`).
pub fn parse_input(text: &str) -> Result<Vec<ParsedRecord>, AlertParseError> {
    check_size(text)?;
    let text = strip_bom(text);
    if !text.trim_start().starts_with('{') {
        let alert = parse_budgets_text(text)?;
        return Ok(vec![ParsedRecord {
            message_id: None,
            subject: None,
            alert: Alert::Budgets(alert),
        }]);
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| not_an_alert(format!("invalid JSON: {e}")))?;
    let records: Vec<SnsRecord> = match &value {
        Value::Object(map) if map.contains_key("Records") => {
            let event: RawEvent =
                serde_json::from_value(value).map_err(|e| AlertParseError::InvalidSnsEvent {
                    reason: e.to_string(),
                })?;
            event.records.into_iter().map(|r| r.sns.into()).collect()
        }
        Value::Object(map)
            if map.get("Type").and_then(Value::as_str) == Some("Notification")
                && map.contains_key("Message")
                && !map.contains_key("schema") =>
        {
            let raw: RawSns =
                serde_json::from_value(value).map_err(|e| AlertParseError::InvalidSnsEvent {
                    reason: e.to_string(),
                })?;
            vec![raw.into()]
        }
        _ => {
            let alert = SpendAlert::from_json_value(value)?;
            return Ok(vec![ParsedRecord {
                message_id: None,
                subject: None,
                alert: Alert::Spend(alert),
            }]);
        }
    };
    if records.is_empty() {
        return Err(AlertParseError::NoRecords);
    }
    records
        .into_iter()
        .map(|record| match parse_message(&record.message) {
            Ok(alert) => Ok(ParsedRecord {
                message_id: Some(record.message_id),
                subject: record.subject,
                alert,
            }),
            Err(error) => Err(AlertParseError::Record {
                message_id: snippet(&record.message_id),
                error: Box::new(error),
            }),
        })
        .collect()
}
