//! Operators' flag commands, sent to the deployed alert handler: a synchronous Lambda `Invoke`
//! with a command event (`{"budget-guard-command": {...}}`). The alert handler is the one writer
//! of flags (reserved concurrency 1), so a pin and an alert are handled one after the other, never
//! interleaved. Who may send commands is IAM's decision: `lambda:InvokeFunction` on the function.

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use guard_core::alerts::handler::{Command, RouteReport};
use serde_json::{Value, json};

use crate::wiring::alert_handler::COMMAND_KEY;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(
        "you may not invoke the alert handler {function}: flag commands need lambda:InvokeFunction on it ({message}); nothing was changed"
    )]
    AccessDenied { function: String, message: String },
    #[error(
        "there is no alert handler function {function} here (check the name and the region); nothing was changed"
    )]
    NotFound { function: String },
    /// The handler ran and refused the command (an unknown route, a step off the ladder).
    #[error("the alert handler refused the command: {message}")]
    Refused { message: String },
    #[error("invoking the alert handler {function} failed ({code}): {message}")]
    Invoke {
        function: String,
        code: String,
        message: String,
    },
    #[error("the alert handler answered something that is not a command's answer: {0}")]
    Answer(String),
}

/// Sends `command` to the alert handler `function` and returns the routes it changed.
pub async fn send(
    client: &aws_sdk_lambda::Client,
    function: &str,
    command: &Command,
) -> Result<Vec<RouteReport>, CommandError> {
    let payload = json!({ COMMAND_KEY: command }).to_string();
    let output = match client
        .invoke()
        .function_name(function)
        .payload(Blob::new(payload))
        .send()
        .await
    {
        Ok(output) => output,
        Err(error) => {
            let service = error.as_service_error();
            if service.is_some_and(|e| e.is_resource_not_found_exception()) {
                return Err(CommandError::NotFound {
                    function: function.to_owned(),
                });
            }
            let code = error.code().unwrap_or("unknown").to_owned();
            let message = error.message().unwrap_or("no message").to_owned();
            // IAM's refusal is not modelled as its own error type by Lambda's API.
            if code == "AccessDeniedException" {
                return Err(CommandError::AccessDenied {
                    function: function.to_owned(),
                    message,
                });
            }
            return Err(CommandError::Invoke {
                function: function.to_owned(),
                code,
                message: if service.is_some() {
                    message
                } else {
                    error.to_string()
                },
            });
        }
    };
    let body: Value = output
        .payload()
        .map(|b| serde_json::from_slice(b.as_ref()))
        .transpose()
        .map_err(|e| CommandError::Answer(e.to_string()))?
        .unwrap_or(Value::Null);
    if output.function_error().is_some() {
        let message = body
            .get("errorMessage")
            .and_then(Value::as_str)
            .map_or_else(|| body.to_string(), str::to_owned);
        return Err(CommandError::Refused { message });
    }
    serde_json::from_value(body.get("routes").cloned().unwrap_or(Value::Null))
        .map_err(|e| CommandError::Answer(format!("{e}: {body}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn client(rule: &aws_smithy_mocks::Rule) -> aws_sdk_lambda::Client {
        let interceptor = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(rule);
        aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::Config::builder()
                .with_test_defaults()
                .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
                .region(aws_sdk_lambda::config::Region::new("us-east-1"))
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
                .build(),
        )
    }

    fn pin() -> Command {
        Command::Pin {
            route: "chat".into(),
            step: None,
            by: "alice".into(),
            reason: "launch".into(),
        }
    }

    #[tokio::test]
    async fn without_permission_the_command_says_so() {
        let denied = mock!(aws_sdk_lambda::Client::invoke).then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(403).unwrap(),
                SdkBody::from(r#"{"Message":"User: arn:aws:iam::123456789012:user/bob is not authorized to perform: lambda:InvokeFunction"}"#),
            )
            .tap_header("x-amzn-errortype", "AccessDeniedException")
        });
        let err = send(&client(&denied), "alert-handler", &pin())
            .await
            .unwrap_err();
        assert!(matches!(err, CommandError::AccessDenied { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("lambda:InvokeFunction") && text.contains("nothing was changed"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_handlers_answer_and_its_refusals_are_read() {
        let ok = mock!(aws_sdk_lambda::Client::invoke)
            .match_requests(|r| {
                r.payload()
                    .is_some_and(|p| String::from_utf8_lossy(p.as_ref()).contains(COMMAND_KEY))
            })
            .then_output(|| {
                InvokeOutput::builder()
                    .status_code(200)
                    .payload(Blob::new(r#"{"ok":true,"routes":[{"route":"chat","step":2,"model_id":"m","pinned":true,"because":"pinned by alice: launch","written":true}]}"#))
                    .build()
            });
        let routes = send(&client(&ok), "alert-handler", &pin()).await.unwrap();
        assert_eq!((routes[0].step, routes[0].pinned), (2, true));

        let refused = mock!(aws_sdk_lambda::Client::invoke).then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .function_error("Unhandled")
                .payload(Blob::new(
                    r#"{"errorType":"AlertHandler.NotRetryable","errorMessage":"no route chat in the policy"}"#,
                ))
                .build()
        });
        let err = send(&client(&refused), "alert-handler", &pin())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no route chat"), "{err}");
    }

    trait TapHeader {
        fn tap_header(self, name: &'static str, value: &'static str) -> Self;
    }

    impl TapHeader for HttpResponse {
        fn tap_header(mut self, name: &'static str, value: &'static str) -> Self {
            self.headers_mut().insert(name, value);
            self
        }
    }
}
