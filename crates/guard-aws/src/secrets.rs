//! Slack webhook URLs from Secrets Manager. A secret holds the URL as a plain string, or JSON with
//! a `url` key. Values are cached per container (per process) after the first read, and never
//! logged or put in an error message.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use guard_core::ports::{ErrorKind, PortError};

use crate::iam::{Call, Calls, ResourceKind};
use crate::sdk::{classify, port_error};

/// What reading webhook URLs calls, on the secrets the policy's Slack channels name.
pub const CALLS: Calls = &[Call::new(
    "GetSecretValue",
    "secretsmanager:GetSecretValue",
    ResourceKind::SlackSecrets,
)];

classify!(GetSecretValueError {
    ResourceNotFoundException => NotFound, InternalServiceError => Transient,
    DecryptionFailure => AccessDenied, InvalidParameterException => Invalid, InvalidRequestException => Invalid,
});

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading secret {secret}: {source}")]
    Aws { secret: String, source: PortError },
    #[error("secret {secret} holds no string value")]
    Empty { secret: String },
    /// The value is neither an https/http URL nor JSON with a `url` string. The value is not quoted.
    #[error("secret {secret} holds neither a webhook URL nor JSON with a `url` key")]
    NotAUrl { secret: String },
}

impl SecretError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SecretError::Aws { source, .. } => source.kind,
            SecretError::Empty { .. } | SecretError::NotAUrl { .. } => ErrorKind::Invalid,
        }
    }
}

/// Reads the webhook URL out of a secret's string: the URL itself, or `{"url": "..."}`. Only
/// `https://` URLs are taken, and `http://` on the loopback interface (local tests).
pub fn webhook_url_of(value: &str) -> Option<String> {
    let value = value.trim();
    let url = if value.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(value).ok()?;
        json.get("url")?.as_str()?.trim().to_owned()
    } else {
        value.to_owned()
    };
    if url.contains(char::is_whitespace) {
        return None;
    }
    let secure = url
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty());
    let loopback = url.strip_prefix("http://").is_some_and(|rest| {
        [
            "127.0.0.1:",
            "127.0.0.1/",
            "localhost:",
            "localhost/",
            "[::1]:",
        ]
        .iter()
        .any(|h| rest.starts_with(h))
    });
    (secure || loopback).then_some(url)
}

/// Webhook URLs by secret name, read once per process.
#[derive(Debug)]
pub struct WebhookSecrets {
    client: aws_sdk_secretsmanager::Client,
    cache: Mutex<HashMap<String, String>>,
}

impl WebhookSecrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        WebhookSecrets {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, secret: &str) -> Option<String> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(secret)
            .cloned()
    }

    /// The webhook URL in `secret`, from the cache or Secrets Manager.
    pub async fn webhook_url(&self, secret: &str) -> Result<String, SecretError> {
        if let Some(url) = self.cached(secret) {
            return Ok(url);
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| SecretError::Aws {
                secret: secret.to_owned(),
                source: port_error("secretsmanager:GetSecretValue", e),
            })?;
        let value = output.secret_string().ok_or_else(|| SecretError::Empty {
            secret: secret.to_owned(),
        })?;
        let url = webhook_url_of(value).ok_or_else(|| SecretError::NotAUrl {
            secret: secret.to_owned(),
        })?;
        tracing::debug!(secret, "webhook URL read from Secrets Manager");
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(secret.to_owned(), url.clone());
        Ok(url)
    }

    /// Forgets a cached URL (after the webhook answered that it no longer exists).
    pub fn forget(&self, secret: &str) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_json_secrets() {
        let url = "https://hooks.slack.com/services/EXAMPLE/EXAMPLE/EXAMPLE";
        assert_eq!(webhook_url_of(url).as_deref(), Some(url));
        assert_eq!(webhook_url_of(&format!("  {url}\n")).as_deref(), Some(url));
        assert_eq!(
            webhook_url_of(&format!(r#"{{"url": "{url}", "channel": "x"}}"#)).as_deref(),
            Some(url)
        );
        assert_eq!(webhook_url_of(r#"{"webhook": "x"}"#), None);
        assert_eq!(webhook_url_of("not a url"), None);
        assert_eq!(webhook_url_of("{broken"), None);
        assert_eq!(
            webhook_url_of("http://hooks.example.com/x"),
            None,
            "plain http only on loopback"
        );
        assert!(webhook_url_of("http://127.0.0.1:8080/services/T/B/X").is_some());
    }
}
