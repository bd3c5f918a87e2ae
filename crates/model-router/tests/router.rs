//! The router against a real `aws_sdk_ssm::Client` whose responses come from `aws-smithy-mocks`.
//! Call counts are the mock rules' `num_calls()`. The SDK's own retries are off here so that one
//! refresh is one call; time is tokio's paused clock where the TTL matters.

use std::time::Duration;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::Region;
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::error::ErrorMetadata;
use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
use aws_sdk_ssm::types::error::ParameterNotFound;
use aws_sdk_ssm::types::{Parameter, ParameterType};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use model_router::{ConfigError, FlagError, ModelRouter, Resolution, Source};

const ROUTE: &str = "support-chatbot";
const PARAM: &str = "/budget-guard/routes/support-chatbot";
const HAIKU: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";
const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA: &str = "us.amazon.nova-lite-v1:0";
const FALLBACK: &str = "amazon.nova-micro-v1:0";

/// A flag value as the alert-handler writes it.
fn flag(model_id: &str) -> String {
    format!(
        r#"{{"version":1,"route":"support-chatbot","model_id":"{model_id}","step":2,"ladder_size":3,"budget":"bg-chatbot","period_start":"2026-11-01","reason":"bg-chatbot crossed 90% (ACTUAL)","changed_at":"2026-11-12T06:41:09Z","changed_by":"alert-handler","pinned":false}}"#
    )
}

fn output(name: &str, value: &str) -> GetParameterOutput {
    GetParameterOutput::builder()
        .parameter(
            Parameter::builder()
                .name(name)
                .r#type(ParameterType::String)
                .value(value)
                .version(3)
                .build(),
        )
        .build()
}

fn not_found() -> GetParameterError {
    GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
}

fn access_denied() -> GetParameterError {
    GetParameterError::generic(
        ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("not authorized to perform ssm:GetParameter")
            .build(),
    )
}

const THROTTLED_BODY: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

/// What `aws_smithy_mocks::mock_client!` builds, by hand: aws-sdk-ssm 1.83 (the version in the
/// lock file) has `with_test_defaults` but not the `with_test_defaults_v2` that the macro calls.
fn ssm(rules: &[&Rule]) -> Client {
    ssm_with_retries(rules, RetryConfig::disabled())
}

fn ssm_with_retries(rules: &[&Rule], retry: RetryConfig) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_ssm::Config::builder()
        .with_test_defaults()
        .region(Region::new("us-east-1"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

fn router(client: Client) -> ModelRouter {
    ModelRouter::builder(client, FALLBACK)
        .default_model(ROUTE, SONNET)
        .build()
        .expect("valid settings")
}

fn assert_resolution(r: &Resolution, model_id: &str, source: Source) {
    assert_eq!((r.model_id.as_str(), r.source), (model_id, source), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_callers_make_one_call() {
    // The response takes a while, so that the callers really pile up on the refresh in flight.
    let rule = mock!(Client::get_parameter)
        .match_requests(|req| req.name() == Some(PARAM))
        .then_compute_output(|_| {
            std::thread::sleep(Duration::from_millis(200));
            output(PARAM, &flag(HAIKU))
        });
    let router = router(ssm(&[&rule]));

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(100));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let router = router.clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            router.resolve(ROUTE).await
        });
    }
    let mut sources = Vec::new();
    while let Some(resolution) = tasks.join_next().await {
        let resolution = resolution.expect("task did not panic");
        assert_eq!(resolution.model_id, HAIKU);
        sources.push(resolution.source);
    }
    assert_eq!(sources.len(), 100);
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(sources.iter().filter(|s| **s == Source::Flag).count(), 1);
    assert_eq!(sources.iter().filter(|s| **s == Source::Cached).count(), 99);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_on_an_expired_entry_wait_for_the_one_refresh() {
    // The refresh is throttled once and the SDK retries after a backoff (a tokio sleep), so the
    // refreshing task yields and the other 99 callers really arrive while it is in flight.
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU)))
        .http_status(400, Some(THROTTLED_BODY.to_owned()))
        .output(|| output(PARAM, &flag(NOVA)))
        .repeatedly()
        .build();
    let retry = RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(500))
        .with_use_static_exponential_base(true);
    let router = router(ssm_with_retries(&[&rule], retry));
    assert_eq!(router.model_for(ROUTE).await, HAIKU);
    assert_eq!(rule.num_calls(), 1);

    tokio::time::advance(Duration::from_secs(31)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let router = router.clone();
        tasks.spawn(async move { router.resolve(ROUTE).await });
    }
    let mut flags = 0;
    while let Some(resolution) = tasks.join_next().await {
        let resolution = resolution.expect("task did not panic");
        assert_eq!(resolution.model_id, NOVA);
        flags += usize::from(resolution.source == Source::Flag);
    }
    assert_eq!(flags, 1);
    // One refresh: its throttled attempt and the SDK's retry.
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn serves_the_cache_within_the_ttl_and_reads_again_after_it() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU)))
        .output(|| output(PARAM, &flag(NOVA)))
        .repeatedly()
        .build();
    let router = router(ssm(&[&rule]));

    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Flag);
    assert_eq!(rule.num_calls(), 1);

    tokio::time::advance(Duration::from_secs(29)).await;
    for _ in 0..10 {
        assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Cached);
    }
    assert_eq!(rule.num_calls(), 1, "no call within the TTL");

    tokio::time::advance(Duration::from_secs(2)).await;
    assert_resolution(&router.resolve(ROUTE).await, NOVA, Source::Flag);
    assert_resolution(&router.resolve(ROUTE).await, NOVA, Source::Cached);
    assert_eq!(rule.num_calls(), 2, "exactly one more call after the TTL");
}

#[tokio::test(start_paused = true)]
async fn the_ttl_is_configurable() {
    let rule = mock!(Client::get_parameter).then_output(|| output(PARAM, &flag(HAIKU)));
    let client = ssm(&[&rule]);
    let router = ModelRouter::builder(client, FALLBACK)
        .ttl(Duration::from_secs(5))
        .build()
        .unwrap();
    router.model_for(ROUTE).await;
    tokio::time::advance(Duration::from_secs(4)).await;
    router.model_for(ROUTE).await;
    assert_eq!(rule.num_calls(), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    router.model_for(ROUTE).await;
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn ssm_failure_after_a_success_serves_the_stale_value_and_retries_after_the_ttl() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU)))
        .http_status(400, Some(THROTTLED_BODY.to_owned()))
        .error(access_denied)
        .http_status(503, None)
        .output(|| output(PARAM, &flag(NOVA)))
        .repeatedly()
        .build();
    let router = router(ssm(&[&rule]));
    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Flag);

    // Throttled: the last good value, and no new call on every request.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, HAIKU, Source::Stale);
    assert!(
        matches!(&r.error, Some(FlagError::Throttled { code }) if code == "ThrottlingException"),
        "{r:?}"
    );
    for _ in 0..20 {
        assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Stale);
    }
    assert_eq!(
        rule.num_calls(),
        2,
        "a failure is retried after the TTL, not on every call"
    );

    // Access denied.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, HAIKU, Source::Stale);
    assert!(
        matches!(r.error, Some(FlagError::AccessDenied { .. })),
        "{r:?}"
    );
    assert_eq!(rule.num_calls(), 3);

    // A 5xx without an error code.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, HAIKU, Source::Stale);
    assert!(matches!(r.error, Some(FlagError::Service { .. })), "{r:?}");
    assert_eq!(rule.num_calls(), 4);

    // SSM is back: the new value.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, NOVA, Source::Flag);
    assert_eq!(r.error, None);
    assert_eq!(rule.num_calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn parameter_not_found_serves_the_route_default_then_the_fallback() {
    let rule = mock!(Client::get_parameter).then_error(not_found);
    let router = router(ssm(&[&rule]));

    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, SONNET, Source::Default);
    assert_eq!(r.error, Some(FlagError::NotFound));
    assert_eq!(router.model_for(ROUTE).await, SONNET);
    assert_eq!(rule.num_calls(), 1, "not found is cached for the TTL too");

    // A route with no default of its own gets the router's fallback.
    let r = router.resolve("batch-summaries").await;
    assert_resolution(&r, FALLBACK, Source::Default);
    assert_eq!(rule.num_calls(), 2);

    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(router.model_for(ROUTE).await, SONNET);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn failure_before_any_success_serves_the_default_until_ssm_answers() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .error(access_denied)
        .output(|| output(PARAM, &flag(HAIKU)))
        .repeatedly()
        .build();
    let router = router(ssm(&[&rule]));

    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, SONNET, Source::Default);
    assert!(
        matches!(r.error, Some(FlagError::AccessDenied { .. })),
        "{r:?}"
    );
    assert_resolution(&router.resolve(ROUTE).await, SONNET, Source::Default);
    assert_eq!(rule.num_calls(), 1);

    tokio::time::advance(Duration::from_secs(31)).await;
    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Flag);
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn invalid_json_serves_the_last_good_value_or_the_default() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, "{not json"))
        .output(|| output(PARAM, &flag(HAIKU)))
        .output(|| output(PARAM, r#"{"version":2,"route":"support-chatbot"}"#))
        .output(|| output(PARAM, "anthropic.claude-opus-4-1-20250805-v1:0"))
        .output(|| output(PARAM, r#"{"model_id":"us.amazon.nova-lite-v1:0"}"#))
        .repeatedly()
        .build();
    let router = router(ssm(&[&rule]));

    // Never a good value yet: the default.
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, SONNET, Source::Default);
    assert!(
        matches!(r.error, Some(FlagError::InvalidValue { .. })),
        "{r:?}"
    );

    tokio::time::advance(Duration::from_secs(31)).await;
    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Flag);

    // No model_id: invalid, keep the last good value.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, HAIKU, Source::Stale);
    assert_eq!(r.error.as_ref().map(FlagError::kind), Some("invalid_value"));

    // A bare model id is not a flag either.
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Stale);

    // Only model_id, no optional fields: fine.
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_resolution(&router.resolve(ROUTE).await, NOVA, Source::Flag);
    assert_eq!(rule.num_calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_deleted_flag_sends_the_route_back_to_its_default() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU)))
        .error(not_found)
        .repeatedly()
        .build();
    let router = router(ssm(&[&rule]));
    assert_eq!(router.model_for(ROUTE).await, HAIKU);
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, SONNET, Source::Default);
    assert_eq!(r.error, Some(FlagError::NotFound));
}

#[tokio::test(start_paused = true)]
async fn routes_are_cached_separately_and_names_are_configurable() {
    let chat = mock!(Client::get_parameter)
        .match_requests(|req| req.name() == Some(PARAM))
        .then_output(|| output(PARAM, &flag(HAIKU)));
    let custom = mock!(Client::get_parameter)
        .match_requests(|req| req.name() == Some("/team/flags/search"))
        .then_output(|| output("/team/flags/search", &flag(NOVA)));
    let pathed = mock!(Client::get_parameter)
        .match_requests(|req| req.name() == Some("/other/path/batch"))
        .then_output(|| output("/other/path/batch", &flag(SONNET)));
    let client = ssm(&[&chat, &custom, &pathed]);

    let router = ModelRouter::builder(client.clone(), FALLBACK)
        .parameter_name("search", "/team/flags/search")
        .build()
        .unwrap();
    assert_eq!(router.parameter_name(ROUTE).as_deref(), Some(PARAM));
    assert_eq!(router.model_for(ROUTE).await, HAIKU);
    assert_eq!(router.model_for("search").await, NOVA);
    assert_eq!(router.model_for(ROUTE).await, HAIKU);
    assert_eq!(router.model_for("search").await, NOVA);
    assert_eq!((chat.num_calls(), custom.num_calls()), (1, 1));

    let router = ModelRouter::builder(client, FALLBACK)
        .flags_path("/other/path")
        .build()
        .unwrap();
    assert_eq!(
        router.parameter_name("batch").as_deref(),
        Some("/other/path/batch")
    );
    assert_eq!(router.model_for("batch").await, SONNET);
    assert_eq!(pathed.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_cache() {
    let rule = mock!(Client::get_parameter).then_output(|| output(PARAM, &flag(HAIKU)));
    let router = router(ssm(&[&rule]));
    let other = router.clone();
    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Flag);
    assert_resolution(&other.resolve(ROUTE).await, HAIKU, Source::Cached);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unusable_route_name_gets_the_default_without_a_call() {
    let rule = mock!(Client::get_parameter).then_output(|| output(PARAM, &flag(HAIKU)));
    let router = router(ssm(&[&rule]));
    for route in ["", "a/b", "has space", "../x"] {
        let r = router.resolve(route).await;
        assert_resolution(&r, FALLBACK, Source::Default);
        assert_eq!(r.error, Some(FlagError::InvalidRoute));
        assert_eq!(router.parameter_name(route), None);
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn the_builder_rejects_settings_that_cannot_work() {
    let rule = mock!(Client::get_parameter).then_error(not_found);
    let client = ssm(&[&rule]);
    let build = |b: model_router::ModelRouterBuilder| b.build().unwrap_err();
    let builder = || ModelRouter::builder(client.clone(), FALLBACK);

    assert!(matches!(
        build(ModelRouter::builder(client.clone(), "")),
        ConfigError::InvalidModelId { .. }
    ));
    assert!(matches!(
        build(builder().default_model(ROUTE, "two words")),
        ConfigError::InvalidModelId { .. }
    ));
    assert_eq!(build(builder().ttl(Duration::ZERO)), ConfigError::ZeroTtl);
    assert_eq!(
        build(builder().refresh_timeout(Duration::ZERO)),
        ConfigError::ZeroRefreshTimeout
    );
    assert!(matches!(
        build(builder().flags_path("budget-guard/routes/")),
        ConfigError::InvalidFlagsPath(_)
    ));
    assert!(matches!(
        build(builder().parameter_name(ROUTE, "")),
        ConfigError::InvalidParameterName { .. }
    ));
    assert!(matches!(
        build(builder().default_model("a/b", HAIKU)),
        ConfigError::InvalidRoute(_)
    ));
    assert_eq!(rule.num_calls(), 0);
}

#[test]
fn the_router_is_clone_send_sync_and_its_futures_are_send() {
    fn clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    fn send<T: Send>(_: &T) {}
    clone_send_sync::<ModelRouter>();
    let rule = mock!(Client::get_parameter).then_error(not_found);
    let router = router(ssm(&[&rule]));
    send(&router.resolve(ROUTE));
    send(&router.model_for(ROUTE));
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_hangs_is_cut_at_the_refresh_timeout() {
    // Throttled, and the SDK would back off for 5 s before retrying: longer than the router waits.
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU)))
        .http_status(400, Some(THROTTLED_BODY.to_owned()))
        .repeatedly()
        .build();
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_secs(5))
        .with_use_static_exponential_base(true);
    let router = ModelRouter::builder(ssm_with_retries(&[&rule], retry), FALLBACK)
        .refresh_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    assert_eq!(router.model_for(ROUTE).await, HAIKU);

    tokio::time::advance(Duration::from_secs(31)).await;
    let started = tokio::time::Instant::now();
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, HAIKU, Source::Stale);
    assert_eq!(r.error, Some(FlagError::TimedOut(Duration::from_secs(1))));
    assert!(
        started.elapsed() <= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Stale);
    assert_eq!(rule.num_calls(), 2);
}

/// Collects what the tracing subscriber writes.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn logs_name_the_route_and_error_kind_but_never_the_value() {
    const MARKER: &str = "do-not-log-this";
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU).replace("crossed 90%", MARKER)))
        .output(|| {
            output(
                PARAM,
                &format!(r#"{{"model_id":"{MARKER} x","reason":"{MARKER}"}}"#),
            )
        })
        .output(|| output(PARAM, &format!("[\"{MARKER}\"]")))
        .http_status(400, Some(THROTTLED_BODY.to_owned()))
        .repeatedly()
        .build();
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let router = router(ssm(&[&rule]));
    for _ in 0..4 {
        router.resolve(ROUTE).await;
        tokio::time::advance(Duration::from_secs(31)).await;
    }
    assert_eq!(rule.num_calls(), 4);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.contains(MARKER), "{logs}");
    assert!(
        logs.contains("route=\"support-chatbot\"") || logs.contains("route=support-chatbot"),
        "{logs}"
    );
    assert!(logs.contains("invalid_value"), "{logs}");
    assert!(logs.contains("throttled"), "{logs}");
    assert!(
        logs.contains(HAIKU),
        "the model id itself may be logged: {logs}"
    );
}
