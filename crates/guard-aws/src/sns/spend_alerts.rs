//! The spend watcher's voice: its alerts, published as `budget-guard/spend-alert@1` JSON to the
//! alerts topic, where the alert handler takes them as it takes AWS Budgets' own.

use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::SdkError;
use aws_sdk_sns::operation::publish::PublishError;
use guard_core::alerts::parse::spend_alert::SpendAlert;
use guard_core::ports::PortError;
use guard_core::spend::ports::AlertSink;

use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::sdk_error_kind;

/// Publishing alerts, on the alerts topic.
pub const CALLS: Calls = &[Call::new(
    "Publish",
    "sns:Publish",
    ResourceKind::AlertsTopic,
)];

#[derive(Debug, thiserror::Error)]
pub enum SpendAlertError {
    #[error("sns:Publish of the alert of budget `{budget}` failed")]
    Publish {
        budget: String,
        source: SdkError<PublishError, HttpResponse>,
    },
}

impl SpendAlertError {
    /// As the spend watcher's ports report it, this error kept as the source.
    pub fn into_port_error(self) -> PortError {
        let SpendAlertError::Publish { source, .. } = &self;
        PortError::from_source(sdk_error_kind(source), "sns:Publish", self)
    }
}

/// Publishes spend alerts to the alerts topic.
#[derive(Debug, Clone)]
pub struct SnsSpendAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsSpendAlerts {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsSpendAlerts {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes the alert's JSON; returns the SNS message id.
    pub async fn send(&self, alert: &SpendAlert) -> Result<String, SpendAlertError> {
        let subject: String = format!("Budget Guard: {} {}", alert.budget_name, alert.alert_type)
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(100)
            .collect();
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(alert.to_json())
            .send()
            .await
            .map_err(|source| SpendAlertError::Publish {
                budget: alert.budget_name.clone(),
                source,
            })?;
        let id = out.message_id.unwrap_or_default();
        tracing::info!(
            budget = %alert.budget_name,
            alert_type = %alert.alert_type,
            threshold = %alert.threshold,
            amount = %alert.amount,
            message_id = %id,
            "spend alert published"
        );
        Ok(id)
    }
}

impl AlertSink for SnsSpendAlerts {
    async fn publish(&self, alert: &SpendAlert) -> Result<(), PortError> {
        self.send(alert)
            .await
            .map(|_| ())
            .map_err(SpendAlertError::into_port_error)
    }
}
