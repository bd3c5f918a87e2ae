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
/// A model on no ladder of these tests.
const OPUS: &str = "anthropic.claude-opus-4-1-20250805-v1:0";
/// The route's ladder, most capable first, as the policy lists it.
const LADDER: [&str; 3] = [SONNET, HAIKU, NOVA];

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

/// [`router`] with the route's ladder as its allowed models.
fn laddered_router(client: Client) -> ModelRouter {
    ModelRouter::builder(client, FALLBACK)
        .default_model(ROUTE, SONNET)
        .allowed_models(ROUTE, LADDER)
        .build()
        .expect("valid settings")
}

fn off_ladder(served: &str, rejected: &str, error: Option<FlagError>) -> Resolution {
    Resolution {
        model_id: served.to_owned(),
        source: Source::OffLadder,
        error,
        rejected_model_id: Some(rejected.to_owned()),
        rung: Default::default(),
    }
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

impl Logs {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Records, at DEBUG and above, what this thread logs until the guard is dropped.
///
/// `tracing` caches per callsite, process-wide, whether any subscriber wants its events, asking
/// the default subscriber of the first thread to reach it. A sibling test running without a
/// subscriber would cache "never" for the router's log lines and this test would record
/// nothing. A global subscriber that wants everything keeps that cache open on every thread;
/// the scoped one is what records.
fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry())
            .expect("nothing else in this test binary sets a global subscriber");
    });
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // A callsite a sibling registered while the global subscriber was being installed may
    // still hold its "never".
    tracing::callsite::rebuild_interest_cache();
    (logs, guard)
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
    let (logs, _capture) = capture_logs();

    let router = router(ssm(&[&rule]));
    for _ in 0..4 {
        router.resolve(ROUTE).await;
        tokio::time::advance(Duration::from_secs(31)).await;
    }
    assert_eq!(rule.num_calls(), 4);

    let logs = logs.text();
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

#[tokio::test(start_paused = true)]
async fn an_off_ladder_flag_serves_the_route_default() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(OPUS)))
        .output(|| output(PARAM, &flag(HAIKU)))
        .repeatedly()
        .build();
    let router = laddered_router(ssm(&[&rule]));

    assert_eq!(router.resolve(ROUTE).await, off_ladder(SONNET, OPUS, None));
    // Cached answers within the TTL say the same, without another call.
    for _ in 0..5 {
        assert_eq!(router.resolve(ROUTE).await, off_ladder(SONNET, OPUS, None));
    }
    assert_eq!(router.model_for(ROUTE).await, SONNET);
    assert_eq!(rule.num_calls(), 1);

    // The flag is back on the ladder: it is served, nothing is rejected.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, HAIKU, Source::Flag);
    assert_eq!((r.error, r.rejected_model_id), (None, None));
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_off_ladder_flag_on_a_route_without_a_default_serves_the_fallback() {
    let rule = mock!(Client::get_parameter).then_output(|| output(PARAM, &flag(OPUS)));
    let router = ModelRouter::builder(ssm(&[&rule]), FALLBACK)
        .allowed_models(ROUTE, [HAIKU, FALLBACK])
        .build()
        .unwrap();
    assert_eq!(
        router.resolve(ROUTE).await,
        off_ladder(FALLBACK, OPUS, None)
    );
}

#[tokio::test(start_paused = true)]
async fn an_on_ladder_flag_is_served() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU)))
        .output(|| output(PARAM, &flag(NOVA)))
        .http_status(400, Some(THROTTLED_BODY.to_owned()))
        .output(|| output(PARAM, &flag(SONNET)))
        .repeatedly()
        .build();
    // The ladder as a policy holds it: owned strings, passed by reference.
    let ladder: Vec<String> = LADDER.iter().map(|m| (*m).to_owned()).collect();
    let router = ModelRouter::builder(ssm(&[&rule]), FALLBACK)
        .default_model(ROUTE, SONNET)
        .allowed_models(ROUTE, &ladder)
        .build()
        .unwrap();

    for (model_id, calls) in [(HAIKU, 1), (NOVA, 2)] {
        let r = router.resolve(ROUTE).await;
        assert_resolution(&r, model_id, Source::Flag);
        assert_eq!(r.rejected_model_id, None);
        assert_resolution(&router.resolve(ROUTE).await, model_id, Source::Cached);
        assert_eq!(rule.num_calls(), calls);
        tokio::time::advance(Duration::from_secs(31)).await;
    }
    // A failure after an on-ladder value keeps serving it, as without a list.
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, NOVA, Source::Stale);
    assert_eq!(r.rejected_model_id, None);

    tokio::time::advance(Duration::from_secs(31)).await;
    assert_resolution(&router.resolve(ROUTE).await, SONNET, Source::Flag);
}

#[tokio::test(start_paused = true)]
async fn a_route_without_allowed_models_serves_any_flag() {
    const SEARCH: &str = "/budget-guard/routes/search";
    let chat = mock!(Client::get_parameter)
        .match_requests(|req| req.name() == Some(PARAM))
        .then_output(|| output(PARAM, &flag(OPUS)));
    let search = mock!(Client::get_parameter)
        .match_requests(|req| req.name() == Some(SEARCH))
        .then_output(|| output(SEARCH, &flag(OPUS)));
    // Only the other route has a list: lists are per route.
    let router = ModelRouter::builder(ssm(&[&chat, &search]), FALLBACK)
        .default_model(ROUTE, SONNET)
        .default_model("search", NOVA)
        .allowed_models("search", [NOVA, HAIKU])
        .build()
        .unwrap();

    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, OPUS, Source::Flag);
    assert_eq!(r.rejected_model_id, None);
    assert_resolution(&router.resolve(ROUTE).await, OPUS, Source::Cached);
    assert_eq!(router.resolve("search").await, off_ladder(NOVA, OPUS, None));
    assert_eq!((chat.num_calls(), search.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_after_an_off_ladder_flag_keeps_serving_the_default() {
    let rule = mock!(Client::get_parameter)
        .sequence()
        .output(|| output(PARAM, &flag(HAIKU)))
        .output(|| output(PARAM, &flag(OPUS)))
        .http_status(400, Some(THROTTLED_BODY.to_owned()))
        .error(not_found)
        .repeatedly()
        .build();
    let router = laddered_router(ssm(&[&rule]));
    assert_resolution(&router.resolve(ROUTE).await, HAIKU, Source::Flag);

    // Off the ladder: the default, not the earlier on-ladder value.
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(router.resolve(ROUTE).await, off_ladder(SONNET, OPUS, None));

    // Throttled: still the default, never the off-ladder value as a stale one.
    tokio::time::advance(Duration::from_secs(31)).await;
    let throttled = FlagError::Throttled {
        code: "ThrottlingException".to_owned(),
    };
    assert_eq!(
        router.resolve(ROUTE).await,
        off_ladder(SONNET, OPUS, Some(throttled.clone()))
    );
    assert_eq!(
        router.resolve(ROUTE).await,
        off_ladder(SONNET, OPUS, Some(throttled))
    );

    // The flag is deleted: a plain default, nothing rejected any more.
    tokio::time::advance(Duration::from_secs(31)).await;
    let r = router.resolve(ROUTE).await;
    assert_resolution(&r, SONNET, Source::Default);
    assert_eq!(r.rejected_model_id, None);
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn an_off_ladder_flag_is_warned_once_per_refresh() {
    let rule = mock!(Client::get_parameter).then_output(|| output(PARAM, &flag(OPUS)));
    let (logs, _capture) = capture_logs();
    let router = laddered_router(ssm(&[&rule]));
    let lines_naming_the_flag_model = || {
        logs.text()
            .lines()
            .filter(|line| line.contains(OPUS))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    for _ in 0..10 {
        assert_eq!(router.model_for(ROUTE).await, SONNET);
    }
    let lines = lines_naming_the_flag_model();
    assert_eq!(lines.len(), 1, "one line per refresh: {lines:#?}");
    let line = &lines[0];
    assert!(line.contains(" WARN "), "{line}");
    assert!(
        line.contains("route=\"support-chatbot\"") || line.contains("route=support-chatbot"),
        "{line}"
    );
    assert!(line.contains(&format!("flag_model={OPUS}")), "{line}");
    assert!(line.contains(&format!("served_model={SONNET}")), "{line}");

    tokio::time::advance(Duration::from_secs(31)).await;
    for _ in 0..10 {
        assert_eq!(router.model_for(ROUTE).await, SONNET);
    }
    let lines = lines_naming_the_flag_model();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines.iter().all(|line| line.contains(" WARN ")),
        "{lines:#?}"
    );
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn the_builder_checks_allowed_models() {
    let rule = mock!(Client::get_parameter).then_error(not_found);
    let client = ssm(&[&rule]);
    let build = |b: model_router::ModelRouterBuilder| b.build().unwrap_err();
    let builder = || ModelRouter::builder(client.clone(), FALLBACK).default_model(ROUTE, SONNET);

    let error = build(builder().allowed_models(ROUTE, std::iter::empty::<&str>()));
    assert_eq!(
        error,
        ConfigError::EmptyAllowedModels {
            route: ROUTE.to_owned()
        }
    );
    assert!(error.to_string().contains(ROUTE), "{error}");

    let error = build(
        builder()
            .default_model(ROUTE, OPUS)
            .allowed_models(ROUTE, LADDER),
    );
    assert_eq!(
        error,
        ConfigError::DefaultNotAllowed {
            route: ROUTE.to_owned(),
            model_id: OPUS.to_owned(),
        }
    );
    assert!(
        error.to_string().contains(ROUTE) && error.to_string().contains(OPUS),
        "{error}"
    );

    // Without a default of its own the route would get the fallback, which is off its ladder.
    let error = build(ModelRouter::builder(client.clone(), FALLBACK).allowed_models(ROUTE, LADDER));
    assert_eq!(
        error,
        ConfigError::FallbackNotAllowed {
            route: ROUTE.to_owned(),
            model_id: FALLBACK.to_owned(),
        }
    );
    assert!(error.to_string().contains(FALLBACK), "{error}");

    assert!(matches!(
        build(builder().allowed_models(ROUTE, [SONNET, "two words"])),
        ConfigError::InvalidModelId { model_id, .. } if model_id == "two words"
    ));
    assert_eq!(
        build(builder().allowed_models("a/b", [FALLBACK])),
        ConfigError::InvalidRoute("a/b".to_owned())
    );

    // A later list for the same route replaces the earlier one.
    builder()
        .allowed_models(ROUTE, [HAIKU])
        .allowed_models(ROUTE, LADDER)
        .build()
        .expect("the default is on the second list");
    ModelRouter::builder(client.clone(), FALLBACK)
        .allowed_models(ROUTE, [HAIKU, FALLBACK])
        .build()
        .expect("the fallback is on the list");
    assert_eq!(rule.num_calls(), 0);
}
