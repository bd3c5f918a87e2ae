//! Picks the Amazon Bedrock model id for a route from its Budget Guard routing flag.
//!
//! Budget Guard keeps one routing flag per route in SSM Parameter Store (by default
//! `/budget-guard/routes/<route>`), a JSON document written by the alert-handler when a budget is
//! crossed or a budget period rolls over:
//!
//! ```json
//! {"version":1,"route":"support-chatbot","model_id":"anthropic.claude-haiku-4-5-20251001-v1:0",
//!  "step":2,"ladder_size":3,"budget":"bg-chatbot","period_start":"2026-11-01",
//!  "reason":"bg-chatbot crossed 90% (ACTUAL)","changed_at":"2026-11-12T06:41:09Z",
//!  "changed_by":"alert-handler","pinned":false}
//! ```
//!
//! [`ModelRouter`] reads the flag and hands back its `model_id`, cached:
//!
//! - at most one `GetParameter` call per route per TTL (default 30 s) per process, however many
//!   tasks ask at once: callers that find the entry expired wait for the one refresh in flight;
//! - when SSM fails (throttling, network, access denied, a value that is not a flag) it keeps
//!   serving the last good model id and tries again after the TTL, not on every call;
//! - when there is no value (the parameter does not exist, or SSM failed before the first
//!   success) it serves the route's configured default model, or else the router's fallback;
//! - when the route has allowed models (its ladder in the policy) and the flag names another
//!   model, it serves the route's default model instead, and logs a warning once per refresh.
//!
//! [`ModelRouter::model_for`] always returns a model id; [`ModelRouter::resolve`] also says where
//! it came from. The router is cheap to clone: clones share one cache.
//!
//! ```no_run
//! use std::time::Duration;
//! use model_router::{ModelRouter, Source};
//!
//! # async fn demo() -> Result<(), model_router::ConfigError> {
//! let config = aws_config::load_from_env().await;
//! let router = ModelRouter::builder(
//!     aws_sdk_ssm::Client::new(&config),
//!     "anthropic.claude-haiku-4-5-20251001-v1:0", // when nothing else is known
//! )
//! .ttl(Duration::from_secs(30))
//! .default_model("support-chatbot", "anthropic.claude-sonnet-4-5-20250929-v1:0")
//! // The route's ladder: a flag naming any other model is not served.
//! .allowed_models(
//!     "support-chatbot",
//!     [
//!         "anthropic.claude-sonnet-4-5-20250929-v1:0",
//!         "anthropic.claude-haiku-4-5-20251001-v1:0",
//!         "us.amazon.nova-lite-v1:0",
//!     ],
//! )
//! .build()?;
//!
//! // Build the router once and share it (it is `Clone + Send + Sync`).
//! let model_id = router.model_for("support-chatbot").await;
//! // ... bedrock.converse().model_id(model_id) ...
//!
//! // Or, to know where the answer came from:
//! let resolution = router.resolve("support-chatbot").await;
//! match resolution.source {
//!     Source::Stale => {
//!         // SSM failed; resolution.model_id is the last good value, resolution.error says why.
//!     }
//!     Source::OffLadder => {
//!         // The flag named resolution.rejected_model_id, which is not on the route's ladder;
//!         // resolution.model_id is the route's default model.
//!     }
//!     _ => {}
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The caller needs `ssm:GetParameter` on the flag parameters (for example
//! `arn:aws:ssm:<region>:<account>:parameter/budget-guard/routes/*`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use serde_json::Value;
use tokio::time::Instant;

/// How long a flag read from SSM is served before it is read again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The path under which Budget Guard keeps one flag parameter per route.
pub const DEFAULT_FLAGS_PATH: &str = "/budget-guard/routes/";

/// How long one refresh may take (the SDK's own retries included) before it counts as failed.
pub const DEFAULT_REFRESH_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest model id (or model ARN) accepted, as Bedrock's `modelId` allows.
const MAX_MODEL_ID_LEN: usize = 2048;

/// Longest fully qualified SSM parameter name.
const MAX_PARAMETER_NAME_LEN: usize = 1011;

/// Longest parameter name or parameter ARN accepted for a route's own parameter.
const MAX_PARAMETER_REF_LEN: usize = 2048;

/// Error codes SSM and the AWS SDK use for throttling (matched on the error's code, never on its
/// message).
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Error codes for a caller that is not allowed to read the parameter.
const ACCESS_DENIED_CODES: &[&str] = &["AccessDeniedException", "AccessDenied"];

/// Where a [`Resolution`]'s model id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Read from the flag parameter in SSM by this call.
    Flag,
    /// Read from the flag parameter within the TTL (by an earlier call, or by the concurrent call
    /// whose refresh this one waited for).
    Cached,
    /// The last good value read from the flag: the latest refresh failed (see
    /// [`Resolution::error`]). Retried after the TTL.
    Stale,
    /// No flag value is known (the parameter does not exist, or SSM failed before the first
    /// success): the route's configured default model, or else the router's fallback.
    Default,
    /// The flag names a model that is not among the route's allowed models (see
    /// [`ModelRouterBuilder::allowed_models`]): the route's default model, or else the router's
    /// fallback, is served instead, and [`Resolution::rejected_model_id`] holds the flag's model.
    /// A flag edited by hand or by a stale writer must not move the route off its ladder.
    OffLadder,
}

/// A model id and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The Bedrock model id (or inference profile id or ARN) to call.
    pub model_id: String,
    /// Where `model_id` came from.
    pub source: Source,
    /// Why the flag could not be used, for [`Source::Stale`] and [`Source::Default`]; also set
    /// with [`Source::OffLadder`] when the latest refresh failed and the last value read was off
    /// the ladder.
    pub error: Option<FlagError>,
    /// For [`Source::OffLadder`], the flag's model id that was not served; `None` otherwise.
    pub rejected_model_id: Option<String>,
    /// How to call `model_id`: the flag's service tier, output cap and block (version-2 flags);
    /// a plain call for a default or off-ladder answer.
    pub rung: Rung,
}

/// How a route's step calls its model, as a version-2 flag says (a version-1 flag is a plain
/// call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rung {
    /// The Bedrock service tier to call on (Converse `serviceTier`); `None` for Standard.
    pub service_tier: Option<ServiceTier>,
    /// The most output tokens a request may ask for (Converse `inferenceConfig.maxTokens`).
    pub max_output_tokens: Option<u32>,
    /// The route is stopped: make no call.
    pub blocked: bool,
}

/// A Bedrock service tier other than Standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceTier {
    /// Cheaper; requests may wait behind the other tiers.
    Flex,
    /// Dearer; served ahead of the other tiers.
    Priority,
}

impl ServiceTier {
    /// The tier as Bedrock's `serviceTier` names it: `flex` or `priority`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
        }
    }
}

/// What to call for a route: [`ModelRouter::route_for`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The Bedrock model id (or inference profile id or ARN) to call.
    pub model_id: String,
    /// The service tier to call it on; `None` for Standard.
    pub service_tier: Option<ServiceTier>,
    /// The cap to put on `inferenceConfig.maxTokens`; `None` for no cap of the route's own.
    pub max_output_tokens: Option<u32>,
    /// Always `false` in a route returned: a blocked route is [`RouteBlocked`].
    pub blocked: bool,
}

/// The route's flag is at its `stop` step: its budget has stopped it, and no call should be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route {route:?} is stopped by its budget: make no call")]
pub struct RouteBlocked {
    /// The route.
    pub route: String,
    /// The model of the step above `stop`, what [`ModelRouter::model_for`] still returns.
    pub model_id: String,
}

/// Why a routing flag could not be read or used.
///
/// Built from the typed SDK error; carries the error kind and code, never the parameter value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlagError {
    /// The flag parameter does not exist (`ParameterNotFound`).
    #[error("the flag parameter does not exist")]
    NotFound,
    /// SSM throttled the request (`GetParameter` has a low default throughput).
    #[error("SSM throttled the request ({code})")]
    Throttled {
        /// The error code, such as `ThrottlingException`.
        code: String,
    },
    /// The caller may not read the parameter (or decrypt it).
    #[error("access denied ({code})")]
    AccessDenied {
        /// The error code, such as `AccessDeniedException`.
        code: String,
    },
    /// SSM answered with another error.
    #[error("SSM returned an error ({})", code.as_deref().unwrap_or("no error code"))]
    Service {
        /// The error code, when the response had one.
        code: Option<String>,
    },
    /// SSM could not be reached, or its response could not be read.
    #[error("SSM could not be reached: {reason}")]
    Unreachable {
        /// What went wrong: `dispatch failure`, `timeout` or `unreadable response`.
        reason: &'static str,
    },
    /// The request could not be built (for example the client has no region).
    #[error("the GetParameter request could not be built")]
    Request,
    /// The refresh took longer than the router's refresh timeout.
    #[error("the refresh took longer than {0:?}")]
    TimedOut(Duration),
    /// The parameter exists but its value is not a routing flag.
    #[error("the parameter value is not a routing flag: {reason}")]
    InvalidValue {
        /// What is wrong with it (never the value itself).
        reason: String,
    },
    /// The route name cannot be part of an SSM parameter name.
    #[error("the route name is not usable in a parameter name (allowed: A-Z a-z 0-9 _ . -)")]
    InvalidRoute,
}

impl FlagError {
    /// A short, stable name for the kind of error, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Throttled { .. } => "throttled",
            Self::AccessDenied { .. } => "access_denied",
            Self::Service { .. } => "service",
            Self::Unreachable { .. } => "unreachable",
            Self::Request => "request",
            Self::TimedOut(_) => "timed_out",
            Self::InvalidValue { .. } => "invalid_value",
            Self::InvalidRoute => "invalid_route",
        }
    }
}

/// A router setting that cannot work; returned by [`ModelRouterBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A model id is empty, too long, or has whitespace or control characters.
    #[error("{what} model id {model_id:?} is not a valid model id")]
    InvalidModelId {
        /// Which setting: `fallback` or `default for route <route>`.
        what: String,
        /// The model id given.
        model_id: String,
    },
    /// The flags path must start with `/` and hold only `A-Z a-z 0-9 _ . - /`.
    #[error("flags path {0:?} must start with '/' and hold only A-Z a-z 0-9 _ . - /")]
    InvalidFlagsPath(String),
    /// A parameter name given for a route is empty, too long or has whitespace.
    #[error("parameter name {name:?} for route {route:?} is not a valid parameter name")]
    InvalidParameterName {
        /// The route.
        route: String,
        /// The name given.
        name: String,
    },
    /// A route name given to the builder is not usable (see [`FlagError::InvalidRoute`]).
    #[error("route {0:?} is not a valid route name (allowed: A-Z a-z 0-9 _ . -)")]
    InvalidRoute(String),
    /// The TTL must be longer than zero: readers must cache.
    #[error("the TTL must be longer than zero")]
    ZeroTtl,
    /// The refresh timeout must be longer than zero.
    #[error("the refresh timeout must be longer than zero")]
    ZeroRefreshTimeout,
    /// A route's allowed-models list is empty: no flag could ever be served.
    #[error("the allowed models of route {route:?} are empty: list the models of its ladder")]
    EmptyAllowedModels {
        /// The route.
        route: String,
    },
    /// A route's default model is not among its allowed models, so the model served in place of
    /// an off-ladder flag would be off the ladder too.
    #[error("the default model {model_id:?} of route {route:?} is not among its allowed models")]
    DefaultNotAllowed {
        /// The route.
        route: String,
        /// The route's default model.
        model_id: String,
    },
    /// A route with allowed models but no default model of its own would fall back to the
    /// router's fallback, which is not among its allowed models.
    #[error(
        "route {route:?} has no default model and the fallback {model_id:?} is not among its \
         allowed models: give the route a default model from its allowed models"
    )]
    FallbackNotAllowed {
        /// The route.
        route: String,
        /// The router's fallback model.
        model_id: String,
    },
}

/// Builds a [`ModelRouter`]; start with [`ModelRouter::builder`].
#[derive(Debug)]
pub struct ModelRouterBuilder {
    client: Client,
    fallback: String,
    ttl: Duration,
    refresh_timeout: Duration,
    flags_path: String,
    defaults: HashMap<String, String>,
    allowed: HashMap<String, Vec<String>>,
    parameter_names: HashMap<String, String>,
}

impl ModelRouterBuilder {
    /// How long a value read from SSM is served before it is read again (default 30 s). A failed
    /// read is also retried only after this long.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long one refresh may take, the SDK's retries included, before it counts as failed
    /// (default 3 s). Callers waiting on a refresh wait at most about this long.
    #[must_use]
    pub fn refresh_timeout(mut self, timeout: Duration) -> Self {
        self.refresh_timeout = timeout;
        self
    }

    /// The path under which the route flags live (default `/budget-guard/routes/`); the flag of
    /// route `r` is `<path>r`. A missing trailing `/` is added.
    #[must_use]
    pub fn flags_path(mut self, path: impl Into<String>) -> Self {
        self.flags_path = path.into();
        self
    }

    /// The model to use for `route` while no flag value is known.
    #[must_use]
    pub fn default_model(mut self, route: impl Into<String>, model_id: impl Into<String>) -> Self {
        self.defaults.insert(route.into(), model_id.into());
        self
    }

    /// The models `route` may be served from its flag: the route's ladder in the Budget Guard
    /// policy. A flag naming any other model is not served; the route's default model (or, when it
    /// has none, the router's fallback) is, with [`Source::OffLadder`]. Calling this again for the
    /// same route replaces its list. A route without a list serves whatever its flag names.
    ///
    /// [`build`](Self::build) requires the list to be non-empty and the model served in place of
    /// an off-ladder flag (the route's default, else the fallback) to be on it.
    #[must_use]
    pub fn allowed_models<I>(mut self, route: impl Into<String>, models: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.allowed
            .insert(route.into(), models.into_iter().map(Into::into).collect());
        self
    }

    /// Read `route`'s flag from this parameter instead of `<flags path><route>`: a full name
    /// (`/team/flags/chat`) or a parameter ARN (shared across accounts).
    #[must_use]
    pub fn parameter_name(mut self, route: impl Into<String>, name: impl Into<String>) -> Self {
        self.parameter_names.insert(route.into(), name.into());
        self
    }

    /// Checks the settings and builds the router.
    pub fn build(self) -> Result<ModelRouter, ConfigError> {
        if self.ttl.is_zero() {
            return Err(ConfigError::ZeroTtl);
        }
        if self.refresh_timeout.is_zero() {
            return Err(ConfigError::ZeroRefreshTimeout);
        }
        if !valid_model_id(&self.fallback) {
            return Err(ConfigError::InvalidModelId {
                what: "fallback".to_owned(),
                model_id: self.fallback,
            });
        }
        let mut flags_path = self.flags_path;
        if !flags_path.starts_with('/')
            || !flags_path.chars().all(|c| valid_route_char(c) || c == '/')
        {
            return Err(ConfigError::InvalidFlagsPath(flags_path));
        }
        if !flags_path.ends_with('/') {
            flags_path.push('/');
        }
        for (route, model_id) in &self.defaults {
            if !valid_model_id(model_id) {
                return Err(ConfigError::InvalidModelId {
                    what: format!("default for route {route:?}"),
                    model_id: model_id.clone(),
                });
            }
            if !self.parameter_names.contains_key(route) && !valid_route(route) {
                return Err(ConfigError::InvalidRoute(route.clone()));
            }
        }
        for (route, models) in &self.allowed {
            if models.is_empty() {
                return Err(ConfigError::EmptyAllowedModels {
                    route: route.clone(),
                });
            }
            if let Some(model_id) = models.iter().find(|model_id| !valid_model_id(model_id)) {
                return Err(ConfigError::InvalidModelId {
                    what: format!("allowed model for route {route:?}"),
                    model_id: model_id.clone(),
                });
            }
            if !self.parameter_names.contains_key(route) && !valid_route(route) {
                return Err(ConfigError::InvalidRoute(route.clone()));
            }
            // Whatever replaces an off-ladder flag must itself be on the ladder, or the check
            // would trade one off-ladder model for another.
            match self.defaults.get(route) {
                Some(model_id) if !models.contains(model_id) => {
                    return Err(ConfigError::DefaultNotAllowed {
                        route: route.clone(),
                        model_id: model_id.clone(),
                    });
                }
                None if !models.contains(&self.fallback) => {
                    return Err(ConfigError::FallbackNotAllowed {
                        route: route.clone(),
                        model_id: self.fallback.clone(),
                    });
                }
                _ => {}
            }
        }
        for (route, name) in &self.parameter_names {
            let name_ok = !name.is_empty()
                && name.len() <= MAX_PARAMETER_REF_LEN
                && !name.chars().any(|c| c.is_whitespace() || c.is_control());
            if !name_ok {
                return Err(ConfigError::InvalidParameterName {
                    route: route.clone(),
                    name: name.clone(),
                });
            }
            if route.is_empty() {
                return Err(ConfigError::InvalidRoute(route.clone()));
            }
        }
        Ok(ModelRouter {
            inner: Arc::new(Inner {
                client: self.client,
                fallback: self.fallback,
                ttl: self.ttl,
                refresh_timeout: self.refresh_timeout,
                flags_path,
                defaults: self.defaults,
                allowed: self.allowed,
                parameter_names: self.parameter_names,
                slots: RwLock::new(HashMap::new()),
            }),
        })
    }
}

/// Picks the Bedrock model id for a route from its routing flag, cached. See the
/// [crate documentation](crate).
///
/// Cheap to clone; clones share one cache. Build it once per process.
#[derive(Clone)]
pub struct ModelRouter {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    fallback: String,
    ttl: Duration,
    refresh_timeout: Duration,
    flags_path: String,
    defaults: HashMap<String, String>,
    allowed: HashMap<String, Vec<String>>,
    parameter_names: HashMap<String, String>,
    /// One slot per route asked for; a slot is never removed.
    slots: RwLock<HashMap<String, Arc<Slot>>>,
}

/// The cache entry of one route.
struct Slot {
    parameter: String,
    default_model: String,
    /// The models the flag may name; `None` when the route has no allowed list.
    allowed: Option<Vec<String>>,
    state: RwLock<State>,
    /// Held by the one caller refreshing the slot; the others wait on it (single flight).
    refresh: tokio::sync::Mutex<()>,
}

/// What a flag says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FlagValue {
    model_id: String,
    rung: Rung,
}

#[derive(Default)]
struct State {
    /// The last model id read from the flag, on the route's ladder or not: whether it is served
    /// is decided when answering, so a failed refresh after an off-ladder read keeps serving the
    /// default rather than reviving an older value.
    last_read: Option<FlagValue>,
    /// When the latest refresh finished; `None` before the first.
    checked_at: Option<Instant>,
    /// Why the latest refresh failed; `None` when it succeeded.
    error: Option<FlagError>,
}

impl fmt::Debug for ModelRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("ModelRouter")
            .field("fallback", &inner.fallback)
            .field("ttl", &inner.ttl)
            .field("refresh_timeout", &inner.refresh_timeout)
            .field("flags_path", &inner.flags_path)
            .field("defaults", &inner.defaults)
            .field("allowed_models", &inner.allowed)
            .field("parameter_names", &inner.parameter_names)
            .field("cached_routes", &read(&inner.slots).len())
            .finish_non_exhaustive()
    }
}

impl ModelRouter {
    /// Starts a router on `client`; `fallback_model` is served for any route that has no flag
    /// value and no default model of its own.
    pub fn builder(client: Client, fallback_model: impl Into<String>) -> ModelRouterBuilder {
        ModelRouterBuilder {
            client,
            fallback: fallback_model.into(),
            ttl: DEFAULT_TTL,
            refresh_timeout: DEFAULT_REFRESH_TIMEOUT,
            flags_path: DEFAULT_FLAGS_PATH.to_owned(),
            defaults: HashMap::new(),
            allowed: HashMap::new(),
            parameter_names: HashMap::new(),
        }
    }

    /// The model id to call for `route`. Never fails: see [`resolve`](Self::resolve) for the rules.
    /// It knows nothing of service tiers, output caps or a stopped route (it returns the model of
    /// the step above `stop`): use [`route_for`](Self::route_for) for those.
    pub async fn model_for(&self, route: &str) -> String {
        self.resolve(route).await.model_id
    }

    /// What to call for `route`: the model, its service tier and output cap; or
    /// [`RouteBlocked`] when the route's budget has stopped it. Resolved as
    /// [`resolve`](Self::resolve) does, cached the same.
    pub async fn route_for(&self, route: &str) -> Result<Route, RouteBlocked> {
        let resolution = self.resolve(route).await;
        if resolution.rung.blocked {
            return Err(RouteBlocked {
                route: route.to_owned(),
                model_id: resolution.model_id,
            });
        }
        Ok(Route {
            model_id: resolution.model_id,
            service_tier: resolution.rung.service_tier,
            max_output_tokens: resolution.rung.max_output_tokens,
            blocked: false,
        })
    }

    /// The model id for `route` and where it came from.
    ///
    /// Within the TTL of the latest refresh the cached answer is returned at once. Otherwise one
    /// caller reads the flag from SSM while concurrent callers for the same route wait for it.
    pub async fn resolve(&self, route: &str) -> Resolution {
        let slot = match self.inner.slot(route) {
            Ok(slot) => slot,
            Err(error) => {
                tracing::warn!(
                    route,
                    error.kind = error.kind(),
                    "invalid route name; serving the default model"
                );
                return Resolution {
                    model_id: self.inner.default_model(route).to_owned(),
                    source: Source::Default,
                    error: Some(error),
                    rejected_model_id: None,
                    rung: Rung::default(),
                };
            }
        };
        let ttl = self.inner.ttl;
        if let Some(cached) = slot.cached(ttl) {
            return cached;
        }
        // Single flight: the first caller refreshes, the others queue here and then find the
        // fresh entry. If the refreshing caller is cancelled, the next one in the queue refreshes.
        let _refreshing = slot.refresh.lock().await;
        if let Some(cached) = slot.cached(ttl) {
            return cached;
        }
        let result = self.inner.fetch(&slot.parameter).await;
        slot.apply(route, result)
    }

    /// The SSM parameter that holds `route`'s flag, or `None` when the route name is not usable.
    pub fn parameter_name(&self, route: &str) -> Option<String> {
        self.inner.parameter_for(route).ok()
    }
}

impl Inner {
    fn default_model(&self, route: &str) -> &str {
        self.defaults.get(route).unwrap_or(&self.fallback)
    }

    fn parameter_for(&self, route: &str) -> Result<String, FlagError> {
        if let Some(name) = self.parameter_names.get(route) {
            return Ok(name.clone());
        }
        if !valid_route(route) || self.flags_path.len() + route.len() > MAX_PARAMETER_NAME_LEN {
            return Err(FlagError::InvalidRoute);
        }
        Ok(format!("{}{route}", self.flags_path))
    }

    fn slot(&self, route: &str) -> Result<Arc<Slot>, FlagError> {
        if let Some(slot) = read(&self.slots).get(route) {
            return Ok(Arc::clone(slot));
        }
        let parameter = self.parameter_for(route)?;
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(route.to_owned()).or_insert_with(|| {
            Arc::new(Slot {
                parameter,
                default_model: self.default_model(route).to_owned(),
                allowed: self.allowed.get(route).cloned(),
                state: RwLock::new(State::default()),
                refresh: tokio::sync::Mutex::new(()),
            })
        });
        Ok(Arc::clone(slot))
    }

    /// One `GetParameter` call (with the client's retries), bounded by the refresh timeout.
    async fn fetch(&self, parameter: &str) -> Result<FlagValue, FlagError> {
        let call = self.client.get_parameter().name(parameter).send();
        let output = match tokio::time::timeout(self.refresh_timeout, call).await {
            Err(_elapsed) => return Err(FlagError::TimedOut(self.refresh_timeout)),
            Ok(Err(error)) => return Err(classify(error)),
            Ok(Ok(output)) => output,
        };
        let value = output
            .parameter()
            .and_then(|parameter| parameter.value())
            .ok_or_else(|| FlagError::InvalidValue {
                reason: "the parameter has no value".to_owned(),
            })?;
        parse_flag(value)
    }
}

impl Slot {
    /// The answer from the cache, if the latest refresh is younger than `ttl`.
    fn cached(&self, ttl: Duration) -> Option<Resolution> {
        let state = read(&self.state);
        let checked_at = state.checked_at?;
        (checked_at.elapsed() < ttl).then(|| self.answer(&state, Source::Cached))
    }

    fn answer(&self, state: &State, fresh: Source) -> Resolution {
        match (&state.last_read, &state.error) {
            (Some(flag), error) if !self.allows(&flag.model_id) => Resolution {
                model_id: self.default_model.clone(),
                source: Source::OffLadder,
                error: error.clone(),
                rejected_model_id: Some(flag.model_id.clone()),
                rung: Rung::default(),
            },
            (Some(flag), None) => Resolution {
                model_id: flag.model_id.clone(),
                source: fresh,
                error: None,
                rejected_model_id: None,
                rung: flag.rung.clone(),
            },
            (Some(flag), Some(error)) => Resolution {
                model_id: flag.model_id.clone(),
                source: Source::Stale,
                error: Some(error.clone()),
                rejected_model_id: None,
                rung: flag.rung.clone(),
            },
            (None, error) => Resolution {
                model_id: self.default_model.clone(),
                source: Source::Default,
                error: error.clone(),
                rejected_model_id: None,
                rung: Rung::default(),
            },
        }
    }

    /// Whether the flag may route to `model_id`: any model when the route has no allowed list.
    fn allows(&self, model_id: &str) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|models| models.iter().any(|allowed| allowed == model_id))
    }

    /// Records the outcome of a refresh and answers from it.
    fn apply(&self, route: &str, result: Result<FlagValue, FlagError>) -> Resolution {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let parameter = self.parameter.as_str();
        match result {
            Ok(flag) => {
                let model_id = &flag.model_id;
                match state.last_read.as_ref().map(|f| f.model_id.as_str()) {
                    // Warned on every refresh that reads it, not only on a change: an off-ladder
                    // flag is a fault someone has to fix, and the TTL bounds the rate.
                    _ if !self.allows(model_id) => {
                        tracing::warn!(
                            route,
                            parameter,
                            flag_model = %model_id,
                            served_model = %self.default_model,
                            "routing flag model is not among the route's allowed models; serving the default model"
                        );
                    }
                    Some(previous) if previous == *model_id => {
                        tracing::debug!(route, parameter, model_id = %model_id, "routing flag read");
                    }
                    previous => {
                        tracing::info!(route, parameter, model_id = %model_id, previous = previous, "routing flag model");
                    }
                }
                state.last_read = Some(flag);
                state.error = None;
            }
            Err(FlagError::NotFound) => {
                // The flag does not exist (or no longer does): no routing decision stands, so the
                // route goes back to its default rather than keeping a value that was removed.
                let previous = state.last_read.take();
                let news = previous.is_some() || state.error != Some(FlagError::NotFound);
                if news {
                    tracing::info!(
                        route,
                        parameter,
                        error.kind = FlagError::NotFound.kind(),
                        had_value = previous.is_some(),
                        default_model = %self.default_model,
                        "no routing flag; serving the default model"
                    );
                } else {
                    tracing::debug!(
                        route,
                        parameter,
                        error.kind = FlagError::NotFound.kind(),
                        "still no routing flag"
                    );
                }
                state.error = Some(FlagError::NotFound);
            }
            Err(error) => {
                match state.last_read.as_ref().map(|f| f.model_id.as_str()) {
                    Some(last) if !self.allows(last) => {
                        tracing::warn!(route, parameter, error.kind = error.kind(), error = %error, flag_model = %last, served_model = %self.default_model, "routing flag refresh failed and the last model read is not among the route's allowed models; serving the default model");
                    }
                    Some(_) => {
                        tracing::warn!(route, parameter, error.kind = error.kind(), error = %error, "routing flag refresh failed; serving the last good model");
                    }
                    None => {
                        tracing::warn!(route, parameter, error.kind = error.kind(), error = %error, default_model = %self.default_model, "routing flag refresh failed; serving the default model");
                    }
                }
                state.error = Some(error);
            }
        }
        state.checked_at = Some(Instant::now());
        self.answer(&state, Source::Flag)
    }
}

/// Maps the SDK error to a [`FlagError`] on the typed error and its error code.
fn classify<R: fmt::Debug + Send + Sync + 'static>(
    error: SdkError<GetParameterError, R>,
) -> FlagError {
    match &error {
        SdkError::ConstructionFailure(_) => return FlagError::Request,
        SdkError::TimeoutError(_) => return FlagError::Unreachable { reason: "timeout" },
        SdkError::DispatchFailure(_) => {
            return FlagError::Unreachable {
                reason: "dispatch failure",
            };
        }
        SdkError::ResponseError(_) => {
            return FlagError::Unreachable {
                reason: "unreadable response",
            };
        }
        _ => {}
    }
    match error.into_service_error() {
        GetParameterError::ParameterNotFound(_) => FlagError::NotFound,
        other => match other.code() {
            Some(code) if THROTTLING_CODES.contains(&code) => FlagError::Throttled {
                code: code.to_owned(),
            },
            Some(code) if ACCESS_DENIED_CODES.contains(&code) => FlagError::AccessDenied {
                code: code.to_owned(),
            },
            code => FlagError::Service {
                code: code.map(str::to_owned),
            },
        },
    }
}

/// Reads `model_id` from a flag value, and the rung fields of a version-2 flag
/// (`service_tier`, `max_output_tokens`, `blocked`). Unknown and missing optional fields are fine;
/// a value without a usable `model_id`, or with a rung field this reader cannot honour, is not.
/// Error reasons never quote the value.
fn parse_flag(value: &str) -> Result<FlagValue, FlagError> {
    let invalid = |reason: &str| FlagError::InvalidValue {
        reason: reason.to_owned(),
    };
    let document: Value = serde_json::from_str(value).map_err(|error| FlagError::InvalidValue {
        reason: format!(
            "not valid JSON (line {}, column {})",
            error.line(),
            error.column()
        ),
    })?;
    let Value::Object(fields) = document else {
        return Err(invalid("not a JSON object"));
    };
    let model_id = match fields.get("model_id") {
        None | Some(Value::Null) => return Err(invalid("no `model_id`")),
        Some(Value::String(model_id)) if valid_model_id(model_id) => model_id.clone(),
        Some(Value::String(_)) => {
            return Err(invalid(
                "`model_id` is empty, too long, or has whitespace or control characters",
            ));
        }
        Some(_) => return Err(invalid("`model_id` is not a string")),
    };
    let service_tier = match fields.get("service_tier") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t == "flex" => Some(ServiceTier::Flex),
        Some(Value::String(t)) if t == "priority" => Some(ServiceTier::Priority),
        Some(_) => return Err(invalid("`service_tier` is not `flex` or `priority`")),
    };
    let max_output_tokens = match fields.get("max_output_tokens") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(cap) if cap > 0 => Some(cap),
            _ => return Err(invalid("`max_output_tokens` is not a count of 1 or more")),
        },
        Some(_) => return Err(invalid("`max_output_tokens` is not a number")),
    };
    let blocked = match fields.get("blocked") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("`blocked` is not true or false")),
    };
    Ok(FlagValue {
        model_id,
        rung: Rung {
            service_tier,
            max_output_tokens,
            blocked,
        },
    })
}

fn valid_model_id(model_id: &str) -> bool {
    !model_id.is_empty()
        && model_id.len() <= MAX_MODEL_ID_LEN
        && model_id.chars().all(|c| c.is_ascii_graphic())
}

fn valid_route_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn valid_route(route: &str) -> bool {
    !route.is_empty() && route.chars().all(valid_route_char)
}

/// Reads a lock, also after a panic elsewhere poisoned it (the data stays consistent: every
/// writer finishes its update before anything can panic).
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_flag() {
        let value = r#"{"version":1,"route":"support-chatbot","model_id":"anthropic.claude-haiku-4-5-20251001-v1:0","step":2,"ladder_size":3,"budget":"bg-chatbot","period_start":"2026-11-01","reason":"bg-chatbot crossed 90% (ACTUAL)","changed_at":"2026-11-12T06:41:09Z","changed_by":"alert-handler","pinned":false}"#;
        let flag = parse_flag(value).unwrap();
        assert_eq!(flag.model_id, "anthropic.claude-haiku-4-5-20251001-v1:0");
        assert_eq!(flag.rung, Rung::default(), "version 1 is a plain call");
    }

    #[test]
    fn parses_the_rung_of_a_version_2_flag() {
        let value = r#"{"version":2,"route":"chat","model_id":"us.amazon.nova-pro-v1:0","step":3,"ladder_size":5,"service_tier":"flex","max_output_tokens":500,"blocked":false}"#;
        let flag = parse_flag(value).unwrap();
        assert_eq!(
            flag.rung,
            Rung {
                service_tier: Some(ServiceTier::Flex),
                max_output_tokens: Some(500),
                blocked: false,
            }
        );
        let stopped = r#"{"version":2,"model_id":"m","blocked":true}"#;
        assert!(parse_flag(stopped).unwrap().rung.blocked);
        for value in [
            r#"{"model_id":"m","service_tier":"economy"}"#,
            r#"{"model_id":"m","max_output_tokens":0}"#,
            r#"{"model_id":"m","max_output_tokens":-5}"#,
            r#"{"model_id":"m","max_output_tokens":"500"}"#,
            r#"{"model_id":"m","blocked":"yes"}"#,
        ] {
            assert_eq!(
                parse_flag(value).unwrap_err().kind(),
                "invalid_value",
                "{value}"
            );
        }
    }

    #[test]
    fn tolerates_unknown_and_missing_optional_fields() {
        let value =
            r#"{"model_id":"us.amazon.nova-lite-v1:0","version":7,"new_field":{"a":[1,2]}}"#;
        assert_eq!(
            parse_flag(value).unwrap().model_id,
            "us.amazon.nova-lite-v1:0"
        );
        let arn = r#"{"model_id":"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"}"#;
        assert!(parse_flag(arn).is_ok());
    }

    #[test]
    fn rejects_values_without_a_usable_model_id() {
        for value in [
            "",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "[]",
            r#""a string""#,
            r#"{"version":1}"#,
            r#"{"model_id":null}"#,
            r#"{"model_id":""}"#,
            r#"{"model_id":"has space"}"#,
            r#"{"model_id":42}"#,
            r#"{"model_id":"x""#,
        ] {
            let error = parse_flag(value).unwrap_err();
            assert_eq!(error.kind(), "invalid_value", "{value:?}");
        }
    }

    #[test]
    fn invalid_value_reasons_do_not_quote_the_value() {
        let secret = "sk-do-not-log";
        for value in [
            format!(r#"{{"model_id":"{secret} x"}}"#),
            format!(r#"{{"model_id":["{secret}"]}}"#),
            format!(r#"["{secret}"]"#),
            format!(r#"{{"model_id":"{secret}"#),
        ] {
            let error = parse_flag(&value).unwrap_err();
            assert!(!error.to_string().contains(secret), "{error}");
        }
    }

    #[test]
    fn route_names() {
        assert!(valid_route("support-chatbot"));
        assert!(valid_route("team_a.chat-2"));
        assert!(!valid_route(""));
        assert!(!valid_route("a/b"));
        assert!(!valid_route("a b"));
        assert!(!valid_route("é"));
    }
}
