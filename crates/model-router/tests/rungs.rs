//! Each kind of ladder step, from an AWS Budgets alert to the flag the alert handler writes to what
//! `route_for` returns: the alert handler's own code over in-memory ports writes the flag, and the
//! router reads that JSON from an SSM client whose `GetParameter` answers with it.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::Region;
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::types::{Parameter, ParameterType};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use chrono::{TimeZone, Utc};
use futures::executor::block_on;
use guard_core::alerts::handler::Handler;
use guard_core::alerts::handler::Inbound;
use guard_core::alerts::in_memory::InMemoryHandler;
use guard_core::alerts::routing::Trust;
use guard_core::policy::{SourceFile, load};
use guard_testkit::BudgetsAlert;
use model_router::{ModelRouter, Route, RouteBlocked, ServiceTier};

const ROUTE: &str = "chat";
const PARAM: &str = "/budget-guard/routes/chat";
const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_PRO: &str = "us.amazon.nova-pro-v1:0";

/// `policies/examples/ladder-rungs.yaml`: a model, a cheaper model, that model capped at 500
/// output tokens, Nova Pro on Flex, stop; one threshold per step (50%, 70%, 90%, 100% of $1,000).
const POLICY: &str = include_str!("../../../policies/examples/ladder-rungs.yaml");

fn handler() -> InMemoryHandler {
    let (policy, diagnostics) = load(&[SourceFile::new("ladder-rungs.yaml", POLICY)]);
    let policy = policy.unwrap_or_else(|| panic!("{diagnostics:?}"));
    Handler::in_memory(policy, Trust::default())
}

/// An AWS Budgets alert of bg-chatbot at `threshold` dollars, in AWS's layout.
fn alert(handler: &InMemoryHandler, threshold: u32) {
    let message = BudgetsAlert {
        budgeted: "1000.00",
        threshold: &format!("{threshold}.00"),
        amount: &format!("{threshold}.50"),
        account: "111122223333",
        ..Default::default()
    }
    .text();
    let inbound = Inbound {
        message_id: &format!("m-{threshold}"),
        topic_arn: None,
        subject: Some("AWS Budgets: bg-chatbot has exceeded your alert threshold"),
        message: &message,
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 41, 9).unwrap();
    block_on(handler.handle_message(&inbound, now, None)).expect("handled");
}

/// What the router makes of the flag the handler wrote.
async fn route_for(handler: &InMemoryHandler) -> Result<Route, RouteBlocked> {
    let value = handler.flags.get(PARAM).expect("a flag").to_json();
    let rule = mock!(Client::get_parameter)
        .match_requests(|r| r.name() == Some(PARAM))
        .then_output(move || {
            GetParameterOutput::builder()
                .parameter(
                    Parameter::builder()
                        .name(PARAM)
                        .r#type(ParameterType::String)
                        .value(value.clone())
                        .build(),
                )
                .build()
        });
    let config = aws_sdk_ssm::Config::builder()
        .with_test_defaults()
        .region(Region::new("us-east-1"))
        .http_client(create_mock_http_client())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::MatchAny)
                .with_rule(&rule),
        )
        .retry_config(RetryConfig::disabled())
        .build();
    let router = ModelRouter::builder(Client::from_conf(config), SONNET)
        .allowed_models(ROUTE, [SONNET, HAIKU, NOVA_PRO])
        .build()
        .expect("valid settings");
    router.route_for(ROUTE).await
}

fn plain(model_id: &str) -> Route {
    Route {
        model_id: model_id.to_owned(),
        service_tier: None,
        max_output_tokens: None,
        blocked: false,
    }
}

#[tokio::test]
async fn a_model_step_is_a_plain_call() {
    let h = handler();
    alert(&h, 500);
    assert_eq!(route_for(&h).await, Ok(plain(HAIKU)));
}

#[tokio::test]
async fn a_cap_step_caps_output() {
    let h = handler();
    alert(&h, 700);
    let flag = h.flags.get(PARAM).unwrap();
    assert_eq!((flag.step, flag.version), (3, 2));
    assert_eq!(
        route_for(&h).await,
        Ok(Route {
            max_output_tokens: Some(500),
            ..plain(HAIKU)
        })
    );
}

#[tokio::test]
async fn a_tier_step_calls_on_flex() {
    let h = handler();
    alert(&h, 900);
    assert_eq!(
        route_for(&h).await,
        Ok(Route {
            service_tier: Some(ServiceTier::Flex),
            ..plain(NOVA_PRO)
        })
    );
}

#[tokio::test]
async fn a_stop_step_blocks_the_route() {
    let h = handler();
    alert(&h, 1000);
    let flag = h.flags.get(PARAM).unwrap();
    assert!(flag.blocked);
    assert_eq!(
        route_for(&h).await,
        Err(RouteBlocked {
            route: ROUTE.to_owned(),
            model_id: NOVA_PRO.to_owned(),
        })
    );
}
