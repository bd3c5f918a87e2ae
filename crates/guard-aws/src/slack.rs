//! Slack incoming webhooks over HTTPS (reqwest with rustls). The webhook URL comes from Secrets
//! Manager ([`WebhookSecrets`]) and is never logged: errors carry the channel and secret names,
//! never the URL. Every request has a timeout; a 429 is retried after its `Retry-After` when that
//! is short enough, else reported as throttled so the handler's retry tries again later.

use std::time::{Duration, Instant};

use guard_core::alerts::ports::{Deadline, SlackPoster};
use guard_core::ports::{ErrorKind, PortError};
use serde_json::Value;

use crate::secrets::{SecretError, WebhookSecrets};

/// Per request, connect and answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` waited for in place.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(15);
/// Attempts per post when Slack answers 429.
pub const MAX_ATTEMPTS: u32 = 3;
/// Time kept back from the invocation's deadline, for saving the job and answering.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(3);
/// The least time worth starting a request with.
const MIN_REQUEST_TIME: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("Slack webhook of channel {channel} did not answer within {timeout:?}")]
    Timeout { channel: String, timeout: Duration },
    /// A connection or protocol failure; the error has its URL removed.
    #[error("Slack webhook of channel {channel}: {source}")]
    Request {
        channel: String,
        source: reqwest::Error,
    },
    #[error("Slack webhook of channel {channel} answered {status}: {body}")]
    Status {
        channel: String,
        status: u16,
        body: String,
    },
    #[error("Slack rate-limited channel {channel}; retry after {retry_after:?}")]
    RateLimited {
        channel: String,
        retry_after: Duration,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    /// Too little of the invocation is left to post and still save what was done.
    #[error(
        "not posting to Slack channel {channel}: the invocation's deadline is near; the retry posts it"
    )]
    DeadlineNear { channel: String },
}

impl SlackError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SlackError::Secret(e) => e.kind(),
            SlackError::Timeout { .. } | SlackError::DeadlineNear { .. } => ErrorKind::Timeout,
            SlackError::Request { .. } => ErrorKind::Transient,
            SlackError::RateLimited { .. } => ErrorKind::Throttled,
            SlackError::Status { status, .. } if *status >= 500 => ErrorKind::Transient,
            SlackError::Status {
                status: 404 | 410, ..
            } => ErrorKind::NotFound,
            SlackError::Status {
                status: 401 | 403, ..
            } => ErrorKind::AccessDenied,
            SlackError::Status { .. } | SlackError::Client(_) => ErrorKind::Invalid,
        }
    }
}

/// Posts Block Kit payloads to Slack incoming webhooks.
#[derive(Debug)]
pub struct SlackClient {
    http: reqwest::Client,
    secrets: WebhookSecrets,
    timeout: Duration,
    max_retry_after: Duration,
}

impl SlackClient {
    pub fn new(secrets: WebhookSecrets) -> Result<Self, SlackError> {
        Self::with_limits(secrets, DEFAULT_TIMEOUT, DEFAULT_MAX_RETRY_AFTER)
    }

    pub fn with_limits(
        secrets: WebhookSecrets,
        timeout: Duration,
        max_retry_after: Duration,
    ) -> Result<Self, SlackError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("budget-guard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackError::Client(e.without_url()))?;
        Ok(SlackClient {
            http,
            secrets,
            timeout,
            max_retry_after,
        })
    }

    /// Posts `payload` to the webhook in `secret`, giving up before `deadline` (less
    /// [`DEADLINE_MARGIN`]): a `Retry-After` that would pass it is not waited for.
    pub async fn post_to(
        &self,
        channel: &str,
        secret: &str,
        payload: &Value,
        deadline: Option<Instant>,
    ) -> Result<(), SlackError> {
        let left = || {
            deadline.map(|d| {
                d.saturating_duration_since(Instant::now())
                    .saturating_sub(DEADLINE_MARGIN)
            })
        };
        let near = || SlackError::DeadlineNear {
            channel: channel.to_owned(),
        };
        if left().is_some_and(|l| l < MIN_REQUEST_TIME) {
            return Err(near());
        }
        let url = self.secrets.webhook_url(secret).await?;
        let mut attempt = 1;
        loop {
            let timeout = match left() {
                Some(l) if l < MIN_REQUEST_TIME => return Err(near()),
                Some(l) => l.min(self.timeout),
                None => self.timeout,
            };
            let response = self
                .http
                .post(&url)
                .timeout(timeout)
                .json(payload)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        SlackError::Timeout {
                            channel: channel.to_owned(),
                            timeout,
                        }
                    } else {
                        SlackError::Request {
                            channel: channel.to_owned(),
                            source: e.without_url(),
                        }
                    }
                })?;
            let status = response.status().as_u16();
            if status == 429 {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs);
                let fits = left().is_none_or(|l| retry_after + MIN_REQUEST_TIME <= l);
                if attempt < MAX_ATTEMPTS && retry_after <= self.max_retry_after && fits {
                    tracing::warn!(
                        channel,
                        retry_after_secs = retry_after.as_secs(),
                        attempt,
                        "Slack rate limit; waiting"
                    );
                    tokio::time::sleep(retry_after).await;
                    attempt += 1;
                    continue;
                }
                return Err(SlackError::RateLimited {
                    channel: channel.to_owned(),
                    retry_after,
                });
            }
            if (200..300).contains(&status) {
                tracing::info!(channel, status, "posted to Slack");
                return Ok(());
            }
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(100)
                .collect();
            if matches!(status, 404 | 410) {
                // The webhook is gone; the secret may have been rotated since it was cached.
                self.secrets.forget(secret);
            }
            tracing::warn!(channel, status, body = %body, "Slack refused the post");
            return Err(SlackError::Status {
                channel: channel.to_owned(),
                status,
                body,
            });
        }
    }
}

impl SlackPoster for SlackClient {
    async fn post(
        &self,
        channel: &str,
        webhook_secret: &str,
        payload: &Value,
        deadline: Deadline,
    ) -> Result<(), PortError> {
        self.post_to(channel, webhook_secret, payload, deadline)
            .await
            .map_err(|e| PortError::new(e.kind(), "post to Slack", e.to_string()))
    }
}
