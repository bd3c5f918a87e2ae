//! The alert-handler wired to AWS: the Lambda function and `budget-guard alert handle` both build
//! it here and hand it the raw event, so they run the same code.
//!
//! Events: a Lambda SNS event (Budgets alerts and spend alerts on the alerts topic), or the period
//! roll-over tick, an EventBridge scheduled event (`source` `aws.events` or `budget-guard.schedule`,
//! `detail-type` `Scheduled Event` or `rollover-tick`).

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use guard_core::handling::{
    EmailPublisher, FlagStore, HandleError, Handler, Outcome, SlackPoster, StateStore,
};
use guard_core::policy::Policy;
use serde::Serialize;
use serde_json::Value;

use crate::flag_store::{SsmFlagStore, SsmStateStore};
use crate::iam::Needs;
use crate::notify::SnsNotifier;
use crate::secrets::WebhookSecrets;
use crate::slack::{SlackClient, SlackError};

/// The handler on the real services.
pub type LiveHandler = Handler<SsmFlagStore, SsmStateStore, SlackClient, SnsNotifier>;

/// Every adapter need of the alert-handler.
pub const NEEDS: [Needs; 5] = [
    crate::flag_store::FLAGS_NEEDS,
    crate::flag_store::STATE_NEEDS,
    crate::secrets::NEEDS,
    crate::notify::NEEDS,
    crate::route_metrics::NEEDS,
];

/// Every SDK operation the alert-handler's adapters call, as `service:Action`.
pub fn operations() -> Vec<&'static str> {
    [
        crate::flag_store::OPERATIONS,
        crate::secrets::OPERATIONS,
        crate::notify::OPERATIONS,
        crate::route_metrics::OPERATIONS,
    ]
    .concat()
}

/// Builds the handler from one SDK config: SSM for flags and state, Secrets Manager and Slack,
/// SNS for the notify topic.
pub fn live_handler(
    config: &SdkConfig,
    policy: Policy,
    notify_topic_arn: &str,
) -> Result<LiveHandler, SlackError> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let state = SsmStateStore::new(ssm.clone(), &policy.settings.state_path);
    let slack = SlackClient::new(WebhookSecrets::new(aws_sdk_secretsmanager::Client::new(
        config,
    )))?;
    let email = SnsNotifier::new(aws_sdk_sns::Client::new(config), notify_topic_arn);
    Ok(Handler::new(
        policy,
        SsmFlagStore::new(ssm),
        state,
        slack,
        email,
    ))
}

/// One SNS notification of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub message_id: String,
    pub subject: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Sns(Vec<Notification>),
    Tick,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is neither an SNS event nor a roll-over tick: {0}")]
    Unknown(String),
    #[error("{failed} of {total} jobs failed: {summary}")]
    Failed {
        failed: usize,
        total: usize,
        summary: String,
        report: Box<EventReport>,
    },
}

const TICK_SOURCES: [&str; 2] = ["aws.events", "budget-guard.schedule"];
const TICK_DETAIL_TYPES: [&str; 2] = ["Scheduled Event", "rollover-tick"];

/// Reads the event: SNS (with `aws_lambda_events`, falling back to Budget Guard's lenient reader
/// for events that lack fields it requires) or a tick.
pub fn classify(event: &Value) -> Result<Event, EventError> {
    if event.get("Records").is_some() {
        let typed: Result<aws_lambda_events::event::sns::SnsEvent, _> =
            serde_json::from_value(event.clone());
        let notifications = match typed {
            Ok(sns) => sns
                .records
                .into_iter()
                .map(|r| Notification {
                    message_id: r.sns.message_id,
                    subject: r.sns.subject,
                    message: r.sns.message,
                })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "not a complete aws_lambda_events SNS event; reading the fields Budget Guard needs");
                guard_core::alert::sns_records(&event.to_string())
                    .map_err(|e| EventError::Unknown(e.to_string()))?
                    .into_iter()
                    .map(|r| Notification {
                        message_id: r.message_id,
                        subject: r.subject,
                        message: r.message,
                    })
                    .collect()
            }
        };
        return Ok(Event::Sns(notifications));
    }
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default();
    if TICK_SOURCES.contains(&field("source")) || TICK_DETAIL_TYPES.contains(&field("detail-type"))
    {
        return Ok(Event::Tick);
    }
    Err(EventError::Unknown(
        "expected `Records` (SNS) or an EventBridge scheduled event".to_owned(),
    ))
}

/// What one event did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventReport {
    pub outcomes: Vec<Outcome>,
    pub errors: Vec<String>,
    #[serde(skip)]
    pub retryable: bool,
}

/// Handles one event. Any job that did not finish makes this an error, so the delivery is retried;
/// the retry redoes only what failed.
pub async fn handle_event<F, S, K, E>(
    handler: &Handler<F, S, K, E>,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<EventReport, EventError>
where
    F: FlagStore,
    S: StateStore,
    K: SlackPoster,
    E: EmailPublisher,
{
    let results: Vec<Result<Outcome, HandleError>> = match classify(event)? {
        Event::Sns(notifications) => {
            let mut results = Vec::new();
            for n in &notifications {
                results.push(
                    handler
                        .handle_message(&n.message_id, n.subject.as_deref(), &n.message, now)
                        .await,
                );
            }
            results
        }
        Event::Tick => handler.handle_tick(now).await,
    };
    let total = results.len();
    let mut report = EventReport::default();
    for result in results {
        match result {
            Ok(outcome) => report.outcomes.push(outcome),
            Err(error) => {
                report.retryable |= error.retryable();
                if let HandleError::Incomplete { outcome, .. } = &error {
                    report.outcomes.push((**outcome).clone());
                }
                tracing::error!(%error, "job incomplete");
                report.errors.push(error.to_string());
            }
        }
    }
    if report.errors.is_empty() {
        Ok(report)
    } else {
        Err(EventError::Failed {
            failed: report.errors.len(),
            total,
            summary: report.errors.join(" | "),
            report: Box::new(report),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{ResourceKind, statements};

    #[test]
    fn every_operation_the_adapters_call_is_in_the_alert_handlers_statements() {
        let all = statements();
        let (_, handler) = all
            .iter()
            .find(|(f, _)| *f == "alert-handler")
            .expect("alert-handler");
        let listed: Vec<&str> = handler
            .iter()
            .flat_map(|s| s.actions.iter().copied())
            .collect();
        for op in operations() {
            assert!(listed.contains(&op), "{op} is called but not listed");
        }
        let kinds: Vec<ResourceKind> = handler.iter().map(|s| s.resource).collect();
        for kind in [
            ResourceKind::Flags,
            ResourceKind::State,
            ResourceKind::SlackSecrets,
            ResourceKind::NotifyTopic,
        ] {
            assert!(kinds.contains(&kind), "{kind:?}");
        }
        // Least privilege: nothing beyond what the adapters call.
        for action in listed {
            assert!(
                operations().contains(&action),
                "{action} is listed but never called"
            );
        }
    }

    #[test]
    fn events_are_told_apart() {
        let sns = serde_json::json!({"Records": [{"Sns": {"MessageId": "m", "Message": "x"}}]});
        assert!(matches!(classify(&sns), Ok(Event::Sns(n)) if n[0].message_id == "m"));
        for tick in [
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            serde_json::json!({"source": "budget-guard.schedule", "detail-type": "rollover-tick"}),
        ] {
            assert!(matches!(classify(&tick), Ok(Event::Tick)));
        }
        assert!(matches!(
            classify(&serde_json::json!({"x": 1})),
            Err(EventError::Unknown(_))
        ));
        let fixture = include_str!("../../../tests/fixtures/alerts/sns-event-daily-url-caps.json");
        assert!(
            matches!(classify(&serde_json::from_str(fixture).unwrap()), Ok(Event::Sns(n)) if n.len() == 1)
        );
    }
}
