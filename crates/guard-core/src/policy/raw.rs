//! What a policy file says, as written: the serde types behind `policies/*.yaml` and the JSON
//! Schema. Values whose meaning needs checking (thresholds, targets, emails, amounts) stay close to
//! their text here; `validate` turns them into the checked model of `model.rs`.

use crate::period::Period;
use crate::pricing::catalog::overrides::PriceOverride;
use crate::spend_basis::SpendBasis;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One policy file. Every file of a policy folder has this shape; their sections merge.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Budget Guard policy")]
pub struct PolicyFile {
    /// The policy format version. Always 1.
    pub version: u32,
    /// Settings for the whole guard. At most one file of a folder may have them.
    #[serde(default)]
    pub settings: Option<Settings>,
    /// Where alerts go: Slack channels and email lists, by name.
    #[serde(default)]
    pub channels: BTreeMap<String, Channel>,
    /// Per application, a ladder of Bedrock model ids from the most capable to the cheapest.
    #[serde(default)]
    pub routes: BTreeMap<String, Route>,
    /// Budgets by name; the AWS budget is named `<budget_prefix><name>`.
    #[serde(default)]
    pub budgets: BTreeMap<String, Budget>,
    /// Prices per model id that replace the bundled catalog's, or add models it does not know.
    #[serde(default)]
    pub pricing: BTreeMap<String, PriceOverride>,
    /// Application inference profiles by ARN, each with the model id it runs (what
    /// `aws bedrock get-inference-profile` shows): the ARN is priced as that model wherever the
    /// policy names it (ladders, scopes, use cases).
    #[serde(default)]
    pub profiles: BTreeMap<String, String>,
}

/// Settings for the whole guard; every field has a default.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Budgets whose names start with this prefix belong to the guard; no other budget is ever
    /// changed. Default `bg-`.
    #[serde(default = "default_prefix")]
    pub budget_prefix: String,
    /// The currency of every amount. Only USD, the currency of AWS Budgets for Bedrock.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The SSM Parameter Store path of the routing flags. Default `/budget-guard/routes/`.
    #[serde(default = "default_flags_path")]
    pub flags_path: String,
    /// The SSM Parameter Store path where the guard keeps its own state (alerts handled, thresholds
    /// the spend watcher has tripped). Default `/budget-guard/state/`.
    #[serde(default = "default_state_path")]
    pub state_path: String,
    /// Keep the budgets and email subscriptions when the stack is deleted. Default false.
    #[serde(default)]
    pub retain_on_delete: bool,
    /// The name of this deployment, written in the `budget-guard:owner` tag of every budget it
    /// creates; it changes and deletes only budgets with its prefix and this tag. Default: the
    /// stack's name. Set it when the stack is renamed, or when the CLI should not need
    /// `--stack-name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Channels told once about an alert that is not for this policy (an unknown budget or
    /// threshold, another account, a message that is no alert). None by default: such alerts are
    /// only logged.
    #[serde(default)]
    pub unmatched_notify: Vec<String>,
    /// Channels that receive the guard's own alarms (a function failing, the spend watcher
    /// stopped, events waiting in the dead-letter queue). Email channels get subscriptions to the
    /// alarms topic; Slack channels need `chatbot:` and get them through AWS Chatbot, which does
    /// not depend on the guard's functions. None by default, and `validate` warns.
    #[serde(default)]
    pub alarms: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            budget_prefix: default_prefix(),
            currency: default_currency(),
            flags_path: default_flags_path(),
            state_path: default_state_path(),
            retain_on_delete: false,
            owner: None,
            unmatched_notify: Vec::new(),
            alarms: Vec::new(),
        }
    }
}

fn default_prefix() -> String {
    "bg-".into()
}
fn default_currency() -> String {
    "USD".into()
}
fn default_flags_path() -> String {
    "/budget-guard/routes/".into()
}
/// Each function writes only its own subtree of the state path, so that neither role's grant
/// covers the other's records (nor the flags: validation keeps the two paths apart).
pub const ALERT_HANDLER_STATE_DIR: &str = "alert-handler/";
/// The spend watcher's subtree (named before the split, and kept so its records survive it).
pub const SPEND_WATCHER_STATE_DIR: &str = "spend/";
/// The one parameter of the state path that is no function's subtree: the models of the
/// application inference profiles the policy names without a `profiles:` entry, which the
/// provisioner resolves at deploy and the other functions read.
pub const PROFILES_PARAMETER: &str = "profiles";

impl Settings {
    /// `<state_path>alert-handler/`: the alert handler's records (messages, notices, roll-overs,
    /// ledgers).
    pub fn alert_handler_state_path(&self) -> String {
        state_subtree(&self.state_path, ALERT_HANDLER_STATE_DIR)
    }

    /// `<state_path>spend/`: the spend watcher's per-budget records.
    pub fn spend_watcher_state_path(&self) -> String {
        state_subtree(&self.state_path, SPEND_WATCHER_STATE_DIR)
    }

    /// `<state_path>profiles`: the application inference profiles resolved at deploy (JSON, ARN
    /// to priced model id), written by the provisioner only.
    pub fn profiles_parameter(&self) -> String {
        state_subtree(&self.state_path, PROFILES_PARAMETER)
    }
}

fn state_subtree(state_path: &str, dir: &str) -> String {
    format!("{}/{dir}", state_path.trim_end_matches('/'))
}

fn default_state_path() -> String {
    "/budget-guard/state/".into()
}

/// A place alerts go: exactly one of `slack` or `email`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// A Slack incoming webhook, kept in Secrets Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackChannel>,
    /// Email addresses. Each gets an SNS email subscription to confirm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Vec<String>>,
}

/// A Slack channel, reached through an incoming webhook whose URL is kept in Secrets Manager.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlackChannel {
    /// Name of the Secrets Manager secret that holds the webhook URL (never the URL itself).
    pub webhook_secret: String,
    /// The channel as AWS Chatbot (Amazon Q Developer in chat applications) knows it. Needed when
    /// the channel is named in `settings.alarms`: the guard's alarms reach Slack that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatbot: Option<ChatbotChannel>,
}

/// A Slack channel in AWS Chatbot: the workspace authorised once in the Chatbot console, and the
/// channel.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChatbotChannel {
    /// The Slack workspace id shown by the Chatbot console after its one-time authorisation,
    /// e.g. `T0123ABCDE`.
    pub workspace_id: String,
    /// The Slack channel id, the last part of the channel's link, e.g. `C0123ABCDE`.
    pub channel_id: String,
}

/// An application's routing flag and the ladder of models it steps down when a budget is hit.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The steps the route takes from the most capable to the cheapest: a model id (or inference
    /// profile id), a model with a service tier or an output cap, or `stop` (the last step only),
    /// which blocks the route.
    pub ladder: Vec<LadderStep>,
    /// The SSM parameter of the route's flag. Default `<flags_path><route name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// What the route serves, for people reading the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The word of a ladder step that blocks the route.
pub const STOP_STEP: &str = "stop";

/// One step of a route's ladder.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum LadderStep {
    /// A Bedrock model id (or inference profile id), called as is; or `stop`, which blocks the
    /// route (last step only).
    Model(String),
    /// A model called on a service tier or with an output cap.
    Rung(Rung),
}

/// A ladder step that changes how the model is called.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    /// The Bedrock model id (or inference profile id).
    pub model: String,
    /// The Bedrock service tier to call it on (`flex`: cheaper, may queue; `priority`), where the
    /// catalog prices it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<crate::pricing::catalog::ServiceTier>,
    /// The most output tokens a request may ask for (Converse `inferenceConfig.maxTokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_output_tokens: Option<u32>,
}

impl LadderStep {
    /// The model the step calls; `None` for `stop`.
    pub fn model(&self) -> Option<&str> {
        match self {
            LadderStep::Model(m) if m == STOP_STEP => None,
            LadderStep::Model(m) => Some(m),
            LadderStep::Rung(r) => Some(&r.model),
        }
    }
}

/// An AWS budget the guard owns: its amount and period, what spend it covers, its thresholds and
/// the expected usage.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The budgeted amount in USD, greater than zero.
    #[schemars(with = "f64")]
    pub amount: serde_yaml::Number,
    /// How often the budget resets.
    pub period: Period,
    /// What spend the budget covers. Default: all Bedrock spend.
    #[serde(default)]
    pub scope: Scope,
    /// Let the spend watcher price Bedrock's token metrics every minute and trip this budget's
    /// thresholds hours before AWS Budgets can.
    #[serde(default)]
    pub watch: bool,
    /// Up to 10 thresholds (the AWS Budgets limit per budget).
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// The expected usage, for `budget-guard estimate`.
    #[serde(default)]
    pub usage: Vec<UseCase>,
    /// What the budget is for, for people reading the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What spend a budget covers. With nothing set: all Bedrock spend, which is the `Amazon Bedrock`
/// service plus the Marketplace service (`... (Amazon Bedrock Edition)`) of each model in scope.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The models whose spend counts when the budget covers all Bedrock spend. Default: every
    /// model of every route and use case in the policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Explicit Cost Explorer services instead of all Bedrock spend.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Cost allocation tags: key to accepted values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Vec<String>>,
    /// Linked account ids (12 digits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// AWS regions, e.g. `us-east-1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The applications whose calls count, as Bedrock's model invocation logs name them: a call
    /// counts when it matches any one. Only the fast path reads invocation logs, so only it can
    /// tell applications apart; AWS Budgets and the spend watcher see the scope's other filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Application>,
}

/// One application a budget counts the calls of, as Bedrock's invocation logs name the caller.
/// Give exactly one of the three.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// An IAM role ARN (`arn:aws:iam::123456789012:role/chatbot`): calls made by any session of
    /// the role (the log's `identity.arn` is `arn:aws:sts::123456789012:assumed-role/chatbot/...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Keys and values of the `requestMetadata` the application sends with each call (Converse,
    /// InvokeModel): a call matches when it carries every one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_metadata: Option<BTreeMap<String, String>>,
    /// An application inference profile ARN the application calls through
    /// (`arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_profile: Option<String>,
}

/// A budget notification: when spend passes `at`, tell `notify` and step `downgrade` down.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// A share of the amount (`90%`) or an amount (`$450`).
    #[schemars(
        with = "String",
        regex(pattern = r"^\s*(\d+(\.\d+)?\s*%|\$\s*[\d,]+(\.\d+)?)\s*$")
    )]
    pub at: serde_yaml::Value,
    /// Whether the threshold applies to actual spend (default) or to the forecast.
    #[serde(default)]
    pub on: SpendBasis,
    /// Channels to tell.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Step a route down its ladder when this threshold is crossed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade: Option<Downgrade>,
    /// A hard stop in AWS itself: when this threshold is crossed, AWS Budgets attaches the
    /// stack's deny-Bedrock policy to these IAM roles (a Budgets action, executed automatically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<Deny>,
}

/// IAM roles to deny Bedrock invocation to.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Deny {
    /// IAM role names (not ARNs), as AWS Budgets takes them.
    #[schemars(
        length(min = 1, max = 100),
        inner(regex(pattern = r"^[\w+=,.@-]{1,64}$"))
    )]
    pub roles: Vec<String>,
}

/// Step a route down its ladder.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Downgrade {
    /// The route to step down.
    pub route: String,
    /// Where to: a ladder step (1 is the top), `cheapest`, or a model id of the ladder.
    #[schemars(with = "StepTarget")]
    pub to: serde_yaml::Value,
}

/// Schema-only description of a downgrade target.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum StepTarget {
    /// A ladder step; 1 is the most capable model.
    Step(u32),
    /// `cheapest`, or a model id of the route's ladder.
    Name(String),
}

/// Expected usage of one application, for `budget-guard estimate`: tokens per request and
/// requests per day, on a route's ladder or on one model.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UseCase {
    /// What the use case is, e.g. `support chatbot`.
    pub name: String,
    /// The route that serves it (its top model is priced, then each lower step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Or a model id, when no route serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Input tokens per request.
    pub input_tokens: u64,
    /// Output tokens per request.
    pub output_tokens: u64,
    /// Input tokens per request read from the prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens per request written to the prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Requests per day.
    pub requests_per_day: u64,
}
