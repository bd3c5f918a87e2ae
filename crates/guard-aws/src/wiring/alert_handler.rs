//! The alert-handler wired to AWS: the Lambda function and `budget-guard alert handle` both build
//! it here and hand it the raw event, so they run the same code.
//!
//! Events: a Lambda SNS event (Budgets alerts and spend alerts on the alerts topic), or the period
//! roll-over tick, an EventBridge scheduled event (`source` `aws.events` or `budget-guard.schedule`,
//! `detail-type` `Scheduled Event` or `rollover-tick`).

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use guard_core::alerts::handler::{
    Command, HandleError, Handler, Inbound, JobOutcome, RouteReport,
};
use guard_core::alerts::ports::{Deadline, EmailPublisher, FlagStore, SlackPoster, StateStore};
use guard_core::alerts::routing::{MAX_CLOCK_SKEW_MINUTES, Trust};
use guard_core::policy::Policy;
use serde::Serialize;
use serde_json::Value;

use crate::cloudwatch::guard_metrics;
use crate::iam::Calls;
use crate::secrets::WebhookSecrets;
use crate::slack::{SlackClient, SlackError};
use crate::sns::SnsNotifier;
use crate::ssm::{SsmFlagStore, SsmStateStore, flags, handler_state};

/// The handler on the real services.
pub type LiveHandler = Handler<SsmFlagStore, SsmStateStore, SlackClient, SnsNotifier>;

/// The calls of the alert handler's adapters: flags and its records in SSM, webhook URLs from
/// Secrets Manager, email through the notify topic, the `RouteStep` metric, and (at start) the
/// recorded models of application inference profiles.
pub const CALLS: &[Calls] = &[
    flags::CALLS,
    handler_state::CALLS,
    crate::secrets::CALLS,
    crate::sns::notify::CALLS,
    guard_metrics::CALLS,
    crate::ssm::profile_mapping::READ_CALLS,
];

/// Builds the handler from one SDK config: SSM for flags and state, Secrets Manager and Slack,
/// SNS for the notify topic. It trusts SNS records of `alerts_topic_arn` only, and AWS Budgets
/// alerts of that topic's account.
pub fn live_handler(
    config: &SdkConfig,
    policy: Policy,
    alerts_topic_arn: &str,
    notify_topic_arn: &str,
) -> Result<LiveHandler, SlackError> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let state = SsmStateStore::new(ssm.clone(), &policy.settings.alert_handler_state_path());
    let slack = SlackClient::new(WebhookSecrets::new(aws_sdk_secretsmanager::Client::new(
        config,
    )))?;
    let email = SnsNotifier::new(aws_sdk_sns::Client::new(config), notify_topic_arn);
    Ok(Handler::new(
        policy,
        Trust::for_alerts_topic(alerts_topic_arn),
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
    pub topic_arn: Option<String>,
    pub subject: Option<String>,
    pub message: String,
}

/// The key of an operator's command event (`budget-guard flags`): `{"budget-guard-command": ...}`.
pub const COMMAND_KEY: &str = "budget-guard-command";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Sns(Vec<Notification>),
    /// A scheduled tick, at the event's `time` when it has one.
    Tick(Option<DateTime<Utc>>),
    Command(Command),
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is neither an SNS event, a roll-over tick nor a command: {0}")]
    Unknown(String),
    /// The event is well formed but not to be acted on (a tick far from the clock).
    #[error("event refused: {0}")]
    Refused(String),
    #[error("{failed} of {total} jobs failed: {summary}")]
    Failed {
        failed: usize,
        total: usize,
        summary: String,
        report: Box<EventReport>,
    },
    #[error(transparent)]
    Command(HandleError),
}

const TICK_SOURCES: [&str; 2] = ["aws.events", "budget-guard.schedule"];
const TICK_DETAIL_TYPES: [&str; 2] = ["Scheduled Event", "rollover-tick"];

/// Reads the event: SNS (with `aws_lambda_events`, falling back to Budget Guard's lenient reader
/// for events that lack fields it requires), a tick, or an operator's command.
pub fn classify_event(event: &Value) -> Result<Event, EventError> {
    if let Some(command) = event.get(COMMAND_KEY) {
        return serde_json::from_value(command.clone())
            .map(Event::Command)
            .map_err(|e| EventError::Unknown(format!("not a command: {e}")));
    }
    if event.get("Records").is_some() {
        let typed: Result<aws_lambda_events::event::sns::SnsEvent, _> =
            serde_json::from_value(event.clone());
        let notifications = match typed {
            Ok(sns) => sns
                .records
                .into_iter()
                .map(|r| Notification {
                    message_id: r.sns.message_id,
                    topic_arn: Some(r.sns.topic_arn),
                    subject: r.sns.subject,
                    message: r.sns.message,
                })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "not a complete aws_lambda_events SNS event; reading the fields Budget Guard needs");
                guard_core::alerts::parse::sns::sns_records(&event.to_string())
                    .map_err(|e| EventError::Unknown(e.to_string()))?
                    .into_iter()
                    .map(|r| Notification {
                        message_id: r.message_id,
                        topic_arn: r.topic_arn,
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
        return Ok(Event::Tick(super::schedule::scheduled_time(event)));
    }
    Err(EventError::Unknown(
        "expected `Records` (SNS), an EventBridge scheduled event or a command".to_owned(),
    ))
}

/// What one event did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventReport {
    pub outcomes: Vec<JobOutcome>,
    pub errors: Vec<String>,
    /// The routes after an operator's command.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteReport>,
    #[serde(skip)]
    pub retryable: bool,
}

/// The instant a tick acts at: its event time, which must be within
/// [`MAX_CLOCK_SKEW_MINUTES`] of the clock, so that a forged or stale tick cannot end periods early
/// or late.
pub fn tick_time(
    event_time: Option<DateTime<Utc>>,
    clock: DateTime<Utc>,
) -> Result<DateTime<Utc>, EventError> {
    let Some(time) = event_time else {
        return Ok(clock);
    };
    let skew = (time - clock).num_seconds().abs();
    if skew > MAX_CLOCK_SKEW_MINUTES * 60 {
        return Err(EventError::Refused(format!(
            "the scheduled event's time {} is {} minutes from the handler's clock {}; a tick must be within {MAX_CLOCK_SKEW_MINUTES} minutes",
            time.to_rfc3339(),
            skew / 60,
            clock.to_rfc3339()
        )));
    }
    Ok(time)
}

/// Handles one event at `clock` (the function's clock, or a replay's `--at`). Any job that did not
/// finish makes this an error, so the delivery is retried; the retry redoes only what failed.
pub async fn handle_event<F, S, K, E>(
    handler: &Handler<F, S, K, E>,
    event: &Value,
    clock: DateTime<Utc>,
    deadline: Deadline,
) -> Result<EventReport, EventError>
where
    F: FlagStore,
    S: StateStore,
    K: SlackPoster,
    E: EmailPublisher,
{
    let results: Vec<Result<JobOutcome, HandleError>> = match classify_event(event)? {
        Event::Sns(notifications) => {
            let mut results = Vec::new();
            for n in &notifications {
                let inbound = Inbound {
                    message_id: &n.message_id,
                    topic_arn: n.topic_arn.as_deref(),
                    subject: n.subject.as_deref(),
                    message: &n.message,
                };
                results.push(handler.handle_message(&inbound, clock, deadline).await);
            }
            results
        }
        Event::Tick(time) => handler.handle_tick(tick_time(time, clock)?, deadline).await,
        Event::Command(command) => {
            let routes = handler
                .handle_command(&command, clock)
                .await
                .map_err(EventError::Command)?;
            return Ok(EventReport {
                routes,
                ..EventReport::default()
            });
        }
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
    fn the_alert_handlers_role_covers_flags_records_secrets_the_notify_topic_and_profiles() {
        let kinds: Vec<ResourceKind> = statements(CALLS).iter().map(|s| s.resource).collect();
        assert_eq!(
            kinds,
            [
                ResourceKind::Flags,
                ResourceKind::AlertHandlerState,
                ResourceKind::SlackSecrets,
                ResourceKind::NotifyTopic,
                ResourceKind::MetricsNamespace,
                ResourceKind::ProfileMapping,
            ]
        );
    }

    #[test]
    fn events_are_told_apart() {
        let sns = serde_json::json!({"Records": [{"Sns": {"MessageId": "m", "Message": "x"}}]});
        assert!(matches!(classify_event(&sns), Ok(Event::Sns(n)) if n[0].message_id == "m"));
        for tick in [
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            serde_json::json!({"source": "budget-guard.schedule", "detail-type": "rollover-tick"}),
        ] {
            assert!(matches!(classify_event(&tick), Ok(Event::Tick(None))));
        }
        let command = serde_json::json!({COMMAND_KEY: {"command": "unpin", "route": "r", "by": "me", "reason": "why"}});
        assert!(matches!(
            classify_event(&command),
            Ok(Event::Command(Command::Unpin { .. }))
        ));
        assert!(matches!(
            classify_event(&serde_json::json!({"x": 1})),
            Err(EventError::Unknown(_))
        ));
        let fixture =
            include_str!("../../../../tests/fixtures/alerts/sns-event-daily-url-caps.json");
        assert!(
            matches!(classify_event(&serde_json::from_str(fixture).unwrap()), Ok(Event::Sns(n)) if n.len() == 1)
        );
    }

    #[test]
    fn a_tick_far_from_the_clock_is_refused() {
        let clock = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(tick_time(None, clock).unwrap(), clock);
        let near = clock + chrono::Duration::minutes(14);
        assert_eq!(tick_time(Some(near), clock).unwrap(), near);
        for far in [
            clock + chrono::Duration::minutes(16),
            clock - chrono::Duration::minutes(16),
            clock + chrono::Duration::days(365 * 73),
        ] {
            assert!(matches!(
                tick_time(Some(far), clock),
                Err(EventError::Refused(_))
            ));
        }
    }
}
