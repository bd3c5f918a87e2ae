//! The notify topic's email subscriptions behind [`SubscriptionStore`]: one per address and
//! email channel, each with the filter policy `{"channel": [<name>]}`. Subscriptions without
//! such a filter policy are not the guard's and are never changed.

use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::{classify, port_error};
use aws_sdk_sns::Client;
use aws_sdk_sns::operation::get_subscription_attributes::GetSubscriptionAttributesError;
use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicError;
use aws_sdk_sns::operation::subscribe::SubscribeError;
use aws_sdk_sns::operation::unsubscribe::UnsubscribeError;
use futures::stream::{self, StreamExt, TryStreamExt};
use guard_core::ports::{ErrorKind, PortError};
use guard_core::provision::account::{channel_filter_policy, channel_of_filter_policy};
use guard_core::provision::ports::{LiveSubscription, SubscriptionStore};

/// Every SNS operation this adapter calls. Subscription calls are authorized on the topic.
pub const CALLS: Calls = &[
    Call::new(
        "ListSubscriptionsByTopic",
        "sns:ListSubscriptionsByTopic",
        ResourceKind::NotifyTopic,
    ),
    Call::new(
        "GetSubscriptionAttributes",
        "sns:GetSubscriptionAttributes",
        ResourceKind::NotifyTopic,
    ),
    Call::new("Subscribe", "sns:Subscribe", ResourceKind::NotifyTopic),
    Call::new("Unsubscribe", "sns:Unsubscribe", ResourceKind::NotifyTopic),
];

/// What SNS lists as the ARN of a subscription nobody has confirmed yet.
pub const PENDING_CONFIRMATION: &str = "PendingConfirmation";
const READ_CONCURRENCY: usize = 8;

classify!(ListSubscriptionsByTopicError {
    AuthorizationErrorException => AccessDenied, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(GetSubscriptionAttributesError {
    AuthorizationErrorException => AccessDenied, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(SubscribeError {
    AuthorizationErrorException => AccessDenied, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
    FilterPolicyLimitExceededException => LimitExceeded, SubscriptionLimitExceededException => LimitExceeded,
    InvalidSecurityException => AccessDenied,
});
classify!(UnsubscribeError {
    AuthorizationErrorException => AccessDenied, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
    InvalidSecurityException => AccessDenied,
});

/// The email subscriptions of one topic.
#[derive(Debug, Clone)]
pub struct SnsSubscriptions {
    client: Client,
    topic_arn: String,
}

impl SnsSubscriptions {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> SnsSubscriptions {
        SnsSubscriptions {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// A client from `config` (see [`crate::sdk::load`]).
    pub fn from_sdk_config(
        config: &aws_config::SdkConfig,
        topic_arn: impl Into<String>,
    ) -> SnsSubscriptions {
        SnsSubscriptions::new(Client::new(config), topic_arn)
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// The channel of a confirmed subscription's filter policy; `None` when it has none the
    /// guard wrote, or when it is gone.
    async fn channel_of(&self, arn: &str) -> Result<Option<String>, PortError> {
        match self
            .client
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .attributes()
                .and_then(|a| a.get("FilterPolicy"))
                .and_then(|policy| channel_of_filter_policy(policy))),
            Err(e) => match port_error("GetSubscriptionAttributes", e) {
                e if e.kind == ErrorKind::NotFound => Ok(None),
                e => Err(e),
            },
        }
    }
}

fn is_pending(arn: &str) -> bool {
    arn.eq_ignore_ascii_case(PENDING_CONFIRMATION)
        || arn.eq_ignore_ascii_case("pending confirmation")
}

impl SubscriptionStore for SnsSubscriptions {
    #[tracing::instrument(skip(self), fields(topic = %self.topic_arn))]
    async fn email_subscriptions(&self) -> Result<Vec<LiveSubscription>, PortError> {
        let mut listed = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_subscriptions_by_topic()
                .topic_arn(&self.topic_arn)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| port_error("ListSubscriptionsByTopic", e))?;
            for s in page.subscriptions() {
                if s.protocol() != Some("email") {
                    continue;
                }
                let (Some(arn), Some(address)) = (s.subscription_arn(), s.endpoint()) else {
                    continue;
                };
                // A subscription being removed is listed as `Deleted` for a while.
                if arn.eq_ignore_ascii_case("Deleted") {
                    continue;
                }
                listed.push((address.to_owned(), arn.to_owned()));
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        let subscriptions: Vec<LiveSubscription> = stream::iter(listed)
            .map(|(address, arn)| async move {
                if is_pending(&arn) {
                    // Unreadable until confirmed: no attributes, no channel.
                    return Ok(LiveSubscription {
                        address,
                        arn: None,
                        channel: None,
                    });
                }
                let channel = self.channel_of(&arn).await?;
                Ok::<_, PortError>(LiveSubscription {
                    address,
                    arn: Some(arn),
                    channel,
                })
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        let pending = subscriptions.iter().filter(|s| s.is_pending()).count();
        tracing::debug!(
            email = subscriptions.len(),
            pending,
            "read email subscriptions"
        );
        Ok(subscriptions)
    }

    async fn subscribe(&self, channel: &str, address: &str) -> Result<(), PortError> {
        let out = self
            .client
            .subscribe()
            .topic_arn(&self.topic_arn)
            .protocol("email")
            .endpoint(address)
            .attributes("FilterPolicy", channel_filter_policy(channel))
            .attributes("FilterPolicyScope", "MessageAttributes")
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| port_error("Subscribe", e))?;
        tracing::info!(
            channel,
            address,
            subscription = out.subscription_arn().unwrap_or_default(),
            "subscribed"
        );
        Ok(())
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), PortError> {
        match self
            .client
            .unsubscribe()
            .subscription_arn(subscription_arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => match port_error("Unsubscribe", e) {
                // Already gone: what we wanted.
                e if e.kind == ErrorKind::NotFound => {}
                e => return Err(e),
            },
        }
        tracing::info!(subscription = subscription_arn, "unsubscribed");
        Ok(())
    }
}
