//! Email through the notify topic: one `Publish` per email channel, with the message attribute
//! `channel` (String) that the channel's email subscriptions filter on (the provisioner sets their
//! filter policies).

use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::MessageAttributeValue;
use guard_core::alerts::ports::EmailPublisher;
use guard_core::ports::PortError;

use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::{build_error, classify, port_error};

/// The message attribute the email subscriptions filter on.
pub const CHANNEL_ATTRIBUTE: &str = "channel";

/// What publishing calls, on the notify topic.
pub const CALLS: Calls = &[Call::new(
    "Publish",
    "sns:Publish",
    ResourceKind::NotifyTopic,
)];

classify!(PublishError {
    AuthorizationErrorException => AccessDenied, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
    InvalidParameterValueException => Invalid, ValidationException => Invalid,
    KmsThrottlingException => Throttled, KmsAccessDeniedException => AccessDenied,
    KmsDisabledException => Invalid, KmsInvalidStateException => Invalid, KmsNotFoundException => Invalid,
    KmsOptInRequired => Invalid, InvalidSecurityException => AccessDenied, EndpointDisabledException => Invalid,
    PlatformApplicationDisabledException => Invalid,
});

/// Publishes emails to the notify topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes one message for `channel`; returns the SNS message id.
    pub async fn publish_to(
        &self,
        channel: &str,
        subject: &str,
        body: &str,
    ) -> Result<String, PortError> {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(channel)
            .build()
            .map_err(|e| build_error("sns:Publish", e))?;
        let output = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(body)
            .message_attributes(CHANNEL_ATTRIBUTE, attribute)
            .send()
            .await
            .map_err(|e| port_error("sns:Publish", e))?;
        let id = output.message_id.unwrap_or_default();
        tracing::info!(channel, message_id = %id, "email published to the notify topic");
        Ok(id)
    }
}

impl EmailPublisher for SnsNotifier {
    async fn publish(&self, channel: &str, subject: &str, body: &str) -> Result<(), PortError> {
        self.publish_to(channel, subject, body).await.map(|_| ())
    }
}
