//! What a message of the dead-letter queue holds, and the event inside it. Three things land on
//! that queue: a Lambda on-failure destination record (the function failed on every attempt, or
//! the event grew too old), the SNS message that SNS could not hand to the alert handler, and an
//! EventBridge event that could not reach its target. Each is unwrapped to the event the function
//! would have received, and said to be the alert handler's or not.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// Where a dead letter came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A Lambda asynchronous invocation record (`version`, `requestContext`, `requestPayload`).
    LambdaDestination,
    /// An SNS message whose delivery to the subscribed function failed.
    SnsSubscription,
    /// An EventBridge event whose delivery to its target failed.
    EventbridgeTarget,
    /// Nothing this guard sends.
    Unknown,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::LambdaDestination => "lambda-destination",
            Source::SnsSubscription => "sns-subscription",
            Source::EventbridgeTarget => "eventbridge-target",
            Source::Unknown => "unknown",
        }
    }
}

/// A dead letter, unwrapped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub source: Source,
    /// The function that failed or was to be invoked, by name, when the record says.
    pub function: Option<String>,
    /// Lambda's reason: `RetriesExhausted` or `EventAgeExceeded`.
    pub condition: Option<String>,
    /// How many times Lambda invoked the function with it.
    pub attempts: Option<u64>,
    /// When the record was made (Lambda's `timestamp`), as written.
    pub failed_at: Option<String>,
    /// The function's error (`errorType: errorMessage`), or the delivery error.
    pub error: Option<String>,
    /// What the event is, in a few words (`SNS message from <topic>`, `rollover-tick`).
    pub event_summary: String,
    /// The event the function would have received.
    pub event: Option<Value>,
    /// `None` when the alert handler's code can replay it; otherwise why not.
    pub not_replayable: Option<String>,
}

impl DeadLetter {
    pub fn replayable(&self) -> bool {
        self.not_replayable.is_none()
    }
}

/// Unwraps one message: its body, and the SQS message attributes as (name, string value).
pub fn unwrap(body: &str, attributes: &[(String, String)]) -> DeadLetter {
    let attr = |name: &str| {
        attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(body) else {
        return unknown("the message is not a JSON object");
    };
    if obj.contains_key("requestContext") && obj.contains_key("requestPayload") {
        return lambda_destination(&obj);
    }
    if obj.get("Type").and_then(Value::as_str) == Some("Notification")
        && obj.contains_key("TopicArn")
        && obj.contains_key("Message")
    {
        let event = sns_event(&obj);
        let error = match (attr("ErrorCode"), attr("ErrorMessage")) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (code, message) => code.or(message),
        };
        return finish(
            Source::SnsSubscription,
            None,
            None,
            None,
            None,
            error,
            event,
        );
    }
    if obj.contains_key("detail-type") && obj.contains_key("source") {
        let function = attr("TARGET_ARN").map(|arn| function_name(&arn));
        let error = match (attr("ERROR_CODE"), attr("ERROR_MESSAGE")) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (code, message) => code.or(message),
        };
        return finish(
            Source::EventbridgeTarget,
            function,
            None,
            None,
            None,
            error,
            Value::Object(obj),
        );
    }
    unknown("neither a Lambda destination record, an SNS message nor an EventBridge event")
}

fn unknown(why: &str) -> DeadLetter {
    DeadLetter {
        source: Source::Unknown,
        function: None,
        condition: None,
        attempts: None,
        failed_at: None,
        error: None,
        event_summary: "?".to_owned(),
        event: None,
        not_replayable: Some(why.to_owned()),
    }
}

fn lambda_destination(obj: &Map<String, Value>) -> DeadLetter {
    let context = obj.get("requestContext").unwrap_or(&Value::Null);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let function = text(context, "functionArn").map(|arn| function_name(&arn));
    let response = obj.get("responsePayload").unwrap_or(&Value::Null);
    let error = match (text(response, "errorType"), text(response, "errorMessage")) {
        (Some(kind), Some(message)) => Some(format!("{kind}: {message}")),
        (kind, message) => kind.or(message).or_else(|| {
            obj.get("responseContext")
                .and_then(|c| text(c, "functionError"))
        }),
    };
    finish(
        Source::LambdaDestination,
        function,
        text(context, "condition"),
        context
            .get("approximateInvokeCount")
            .and_then(Value::as_u64),
        obj.get("timestamp")
            .and_then(Value::as_str)
            .map(str::to_owned),
        error,
        obj.get("requestPayload").cloned().unwrap_or(Value::Null),
    )
}

fn finish(
    source: Source,
    function: Option<String>,
    condition: Option<String>,
    attempts: Option<u64>,
    failed_at: Option<String>,
    error: Option<String>,
    event: Value,
) -> DeadLetter {
    let (event_summary, not_replayable) = judge(&event);
    DeadLetter {
        source,
        function,
        condition,
        attempts,
        failed_at,
        error,
        event_summary,
        event: Some(event),
        not_replayable,
    }
}

/// What the event is, and whether it is the alert handler's: SNS records (only the alert handler
/// subscribes to a topic) and the roll-over tick are; the provisioner's and the spend watcher's
/// events are redone by their own next run, not by the alert handler.
fn judge(event: &Value) -> (String, Option<String>) {
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default();
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let topics: Vec<&str> = records
            .iter()
            .filter_map(|r| r.pointer("/Sns/TopicArn").and_then(Value::as_str))
            .collect();
        let summary = match topics.as_slice() {
            [] => "SNS event".to_owned(),
            [topic, ..] => format!(
                "SNS message from {}",
                topic.rsplit(':').next().unwrap_or(topic)
            ),
        };
        return (summary, None);
    }
    let detail_type = field("detail-type");
    if !detail_type.is_empty() {
        let why = match detail_type {
            "rollover-tick" => None,
            "spend-tick" => {
                Some("a spend-watcher tick: its next run reads newer metrics; nothing to replay")
            }
            "drift-repair" => Some(
                "a provisioner drift repair: run `budget-guard apply`, or wait for the next one",
            ),
            _ => Some("a scheduled event the alert handler does not take"),
        };
        return (detail_type.to_owned(), why.map(str::to_owned));
    }
    if let Some(kind) = event.get("RequestType").and_then(Value::as_str) {
        return (
            format!("CloudFormation {kind}"),
            Some(
                "a CloudFormation custom resource event: it is answered by deploying again"
                    .to_owned(),
            ),
        );
    }
    (
        "?".to_owned(),
        Some("not an event of the alert handler".to_owned()),
    )
}

/// `arn:aws:lambda:region:account:function:NAME[:qualifier]` -> `NAME`; anything else as is.
pub fn function_name(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => parts[i + 1].to_owned(),
        _ => arn.to_owned(),
    }
}

/// The Lambda SNS event that SNS would have invoked the alert handler with, from the message it
/// parked instead (the JSON form SNS delivers to HTTP and SQS endpoints, whose URL keys Lambda's
/// record spells `SigningCertUrl` and `UnsubscribeUrl`).
fn sns_event(message: &Map<String, Value>) -> Value {
    let mut sns = Map::new();
    for (key, value) in message {
        let key = match key.as_str() {
            "SigningCertURL" => "SigningCertUrl",
            "UnsubscribeURL" => "UnsubscribeUrl",
            k => k,
        };
        sns.insert(key.to_owned(), value.clone());
    }
    sns.entry("MessageAttributes").or_insert_with(|| json!({}));
    json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "",
            "Sns": Value::Object(sns),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns_record(topic: &str) -> Value {
        json!({"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "TopicArn": topic, "Message": "hello"}}]})
    }

    #[test]
    fn a_destination_record_gives_its_request_payload_and_error() {
        let record = json!({
            "version": "1.0",
            "timestamp": "2026-11-12T06:41:09.123Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:BudgetGuard-AlertHandler-AbC:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3
            },
            "requestPayload": sns_record("arn:aws:sns:us-east-1:123456789012:alerts"),
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "1 of 1 jobs failed", "errorType": "Failed"}
        });
        let d = unwrap(&record.to_string(), &[]);
        assert_eq!(d.source, Source::LambdaDestination);
        assert_eq!(d.function.as_deref(), Some("BudgetGuard-AlertHandler-AbC"));
        assert_eq!(d.condition.as_deref(), Some("RetriesExhausted"));
        assert_eq!(d.attempts, Some(3));
        assert_eq!(d.error.as_deref(), Some("Failed: 1 of 1 jobs failed"));
        assert_eq!(
            d.event,
            Some(sns_record("arn:aws:sns:us-east-1:123456789012:alerts"))
        );
        assert!(d.replayable());
        assert_eq!(d.event_summary, "SNS message from alerts");
    }

    #[test]
    fn an_event_too_old_has_no_response_and_is_still_replayable() {
        let record = json!({
            "version": "1.0",
            "timestamp": "2026-11-12T12:41:09Z",
            "requestContext": {"requestId": "r", "functionArn": "arn:aws:lambda:us-east-1:1:function:h", "condition": "EventAgeExceeded", "approximateInvokeCount": 0},
            "requestPayload": {"source": "budget-guard.schedule", "detail-type": "rollover-tick", "time": "2026-12-01T00:05:00Z"}
        });
        let d = unwrap(&record.to_string(), &[]);
        assert_eq!(d.condition.as_deref(), Some("EventAgeExceeded"));
        assert_eq!(d.error, None);
        assert!(d.replayable());
        assert_eq!(d.event_summary, "rollover-tick");
    }

    #[test]
    fn other_functions_events_are_not_the_alert_handlers() {
        for (payload, hint) in [
            (
                json!({"source": "budget-guard.schedule", "detail-type": "spend-tick"}),
                "spend-watcher",
            ),
            (
                json!({"source": "budget-guard.schedule", "detail-type": "drift-repair"}),
                "budget-guard apply",
            ),
            (
                json!({"RequestType": "Update", "ResponseURL": "https://x"}),
                "CloudFormation",
            ),
        ] {
            let record = json!({"version": "1.0", "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:p"}, "requestPayload": payload});
            let d = unwrap(&record.to_string(), &[]);
            assert!(!d.replayable(), "{d:?}");
            assert!(d.not_replayable.unwrap().contains(hint));
        }
    }

    #[test]
    fn an_sns_message_becomes_the_lambda_event_sns_would_have_sent() {
        let body = json!({
            "Type": "Notification",
            "MessageId": "m-2",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
            "Subject": "AWS Budgets: bg-chatbot has exceeded your alert threshold",
            "Message": "Budget Name: bg-chatbot",
            "Timestamp": "2026-11-12T06:41:09.000Z",
            "SignatureVersion": "1",
            "Signature": "c2ln",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        });
        let attrs = [
            ("ErrorCode".to_owned(), "403".to_owned()),
            ("ErrorMessage".to_owned(), "not authorized".to_owned()),
        ];
        let d = unwrap(&body.to_string(), &attrs);
        assert_eq!(d.source, Source::SnsSubscription);
        assert_eq!(d.error.as_deref(), Some("403: not authorized"));
        let event = d.event.unwrap();
        let sns = &event["Records"][0]["Sns"];
        assert_eq!(event["Records"][0]["EventSource"], "aws:sns");
        assert_eq!(sns["MessageId"], "m-2");
        assert_eq!(sns["Message"], "Budget Name: bg-chatbot");
        assert_eq!(sns["SigningCertUrl"], body["SigningCertURL"]);
        assert!(sns.get("SigningCertURL").is_none());
        // The typed reader the alert handler tries first takes it whole.
        let typed: aws_lambda_events::event::sns::SnsEvent =
            serde_json::from_value(event).expect("a complete Lambda SNS event");
        assert_eq!(typed.records[0].sns.message_id, "m-2");
    }

    #[test]
    fn an_eventbridge_event_names_its_target() {
        let body = json!({"version": "0", "source": "budget-guard.schedule", "detail-type": "rollover-tick", "time": "2026-12-01T00:05:00Z", "detail": {}});
        let attrs = [
            (
                "TARGET_ARN".to_owned(),
                "arn:aws:lambda:us-east-1:1:function:handler".to_owned(),
            ),
            ("ERROR_CODE".to_owned(), "SDK_CLIENT_ERROR".to_owned()),
        ];
        let d = unwrap(&body.to_string(), &attrs);
        assert_eq!(d.source, Source::EventbridgeTarget);
        assert_eq!(d.function.as_deref(), Some("handler"));
        assert_eq!(d.error.as_deref(), Some("SDK_CLIENT_ERROR"));
        assert!(d.replayable());
    }

    #[test]
    fn anything_else_is_unknown_and_never_replayed() {
        for body in ["not json", "[1,2]", r#"{"hello": "world"}"#] {
            let d = unwrap(body, &[]);
            assert_eq!(d.source, Source::Unknown);
            assert!(!d.replayable());
            assert_eq!(d.event, None);
        }
    }
}
