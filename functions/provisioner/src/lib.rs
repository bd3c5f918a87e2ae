//! The provisioner Lambda: a CloudFormation custom resource handler (Create and Update apply the
//! policy; Delete removes what the guard owns unless the policy retains it), the scheduled
//! drift repair, which re-applies the same policy, and the weekly price check ([`price_check`]).
//!
//! What it owns: budgets with the policy's prefix whose `budget-guard:owner` tag names this
//! deployment (`settings.owner`, else the stack name from `BUDGET_GUARD_STACK_NAME`). A Delete
//! from any stack but its own (`BUDGET_GUARD_STACK_ID`) removes nothing, a failed Create answers
//! with a PhysicalResourceId whose Delete removes nothing, and answers go only to an https
//! ResponseURL on an AWS host (a pre-signed S3 URL): anything else is refused before any work.
//!
//! How deep each run reads (see [`ReadDepth`]): a deploy (Create, Update) and the daily
//! `drift-repair-full` read every notification's subscribers; the 6-hourly `drift-repair` reads
//! budgets and notifications only (a few list calls), so subscriber drift waits for the next full
//! run; a Delete removes whole budgets and needs no subscribers.
//!
//! The policy arrives as a Lambda layer of the committed YAML files (`/opt/policy`, or
//! `BUDGET_GUARD_POLICY_DIR`), read with the CLI's loader, so a bad policy fails `cdk deploy`
//! with the same `file:line:col` errors and changes nothing.

pub mod cfn;
pub mod price_check;
pub mod profiles;
pub mod reason;

use cfn::{CfnRequest, CfnResponse, RequestType, ResponseUrlPolicy};
use guard_aws::budgets::BudgetsAdapter;
use guard_aws::inference_profiles::InferenceProfileReader;
use guard_aws::policy_files::read_sources;
use guard_aws::profile_mapping::{PROFILES_PARAMETER_ENV, ProfileMapping};
use guard_aws::sdk::{
    ACCOUNT_ID_ENV, ALERTS_TOPIC_ENV, BUDGET_ACTION_ROLE_ENV, DENY_POLICY_ENV,
    METRICS_NAMESPACE_ENV, NOTIFY_TOPIC_ENV, STACK_ID_ENV, STACK_NAME_ENV, account_id_from_arn,
    partition_from_arn,
};
use guard_aws::sns_subscriptions::SnsSubscriptions;
use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{self, LoadOptions, Policy, SourceFile, UnmappedProfiles};
use guard_core::ports::PortError;
use guard_core::provision::account::{AccountState, desired};
use guard_core::provision::apply::{ApplyOptions, ApplyReport, apply};
use guard_core::provision::budget_action::HardStop;
use guard_core::provision::live::read_live;
use guard_core::provision::ownership::{ClaimError, Ownership, claim};
use guard_core::provision::plan::{Plan, plan};
use guard_core::provision::ports::ReadDepth;
use guard_core::spend::run::DEFAULT_METRICS_NAMESPACE;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The PhysicalResourceId of the custom resource: `budget-guard:<prefix>`. Stable while the
/// prefix stays; a new prefix is a new resource, and CloudFormation's Delete of the old one
/// removes this deployment's budgets of the old prefix. (`:` cannot occur in a budget name, so
/// the prefix reads back exactly.) Only a successful answer names a prefix: a failed Create is
/// `budget-guard-failed-<request id>`, whose Delete removes nothing.
pub const PHYSICAL_ID_PREFIX: &str = "budget-guard:";

/// How one run reads the account.
#[derive(Debug, Clone, Copy)]
struct Read {
    depth: ReadDepth,
    /// Whether the notify topic's email subscriptions are read (and so reconciled).
    with_subscriptions: bool,
}

/// The `detail-type` of the scheduled drift repair that reads budgets and notifications only.
pub const DRIFT_REPAIR: &str = "drift-repair";
/// The `detail-type` of the scheduled drift repair that also reads every subscriber (daily).
pub const DRIFT_REPAIR_FULL: &str = "drift-repair-full";

#[derive(Debug, thiserror::Error)]
pub enum ProvisionerError {
    #[error("not an event the provisioner handles: {0}")]
    UnknownEvent(String),
    #[error("the policy cannot be used:\n{0}")]
    Policy(String),
    #[error("{0}")]
    Config(String),
    #[error("reading the account: {0}")]
    Read(#[source] PortError),
    #[error("{0}")]
    Claim(#[source] ClaimError),
    #[error("{reason}")]
    Incomplete { reason: String, retryable: bool },
    #[error("refused to answer CloudFormation at the ResponseURL: {0}; nothing was done")]
    ResponseUrl(String),
    #[error("answering CloudFormation at its ResponseURL: {0}")]
    Respond(#[source] reqwest::Error),
    #[error("reading the AWS Price List: {0}")]
    PriceList(#[source] Box<guard_aws::price_list::PriceListReadError>),
    #[error("{0}")]
    PriceListData(#[source] guard_core::pricing::price_list::PriceListError),
    #[error("publishing the price check's metric: {0}")]
    PriceMetric(#[source] Box<guard_aws::metrics::MetricsError>),
}

impl ProvisionerError {
    /// Whether Lambda should retry the invocation.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProvisionerError::UnknownEvent(_)
            | ProvisionerError::Policy(_)
            | ProvisionerError::Config(_)
            | ProvisionerError::ResponseUrl(_) => false,
            ProvisionerError::Read(e) => e.kind.is_retryable(),
            ProvisionerError::Claim(e) => e.is_retryable(),
            ProvisionerError::Incomplete { retryable, .. } => *retryable,
            ProvisionerError::Respond(_) => true,
            // A week is long: a failed check is tried again at once.
            ProvisionerError::PriceList(_) | ProvisionerError::PriceMetric(_) => true,
            ProvisionerError::PriceListData(_) => false,
        }
    }
}

impl From<ProvisionerError> for lambda_runtime::Diagnostic {
    fn from(error: ProvisionerError) -> Self {
        use guard_aws::lambda_error::{PROVISIONER, error_type};
        lambda_runtime::Diagnostic {
            error_type: error_type(PROVISIONER, error.is_retryable()),
            error_message: error.to_string(),
        }
    }
}

/// What arrived.
#[derive(Debug)]
pub enum Event {
    CustomResource(Box<CfnRequest>),
    /// An EventBridge scheduled event (`source: aws.events`, `detail-type: Scheduled Event`) or
    /// the stack's own schedule input (`detail-type: drift-repair` or `drift-repair-full`).
    Scheduled {
        detail_type: String,
    },
}

impl Event {
    pub fn parse(value: Value) -> Result<Event, ProvisionerError> {
        if value.get("RequestType").is_some() && value.get("ResponseURL").is_some() {
            let request = serde_json::from_value(value)
                .map_err(|e| ProvisionerError::UnknownEvent(e.to_string()))?;
            return Ok(Event::CustomResource(Box::new(request)));
        }
        if let Some(detail_type) = value.get("detail-type").and_then(Value::as_str) {
            return Ok(Event::Scheduled {
                detail_type: detail_type.to_owned(),
            });
        }
        let keys: Vec<&String> = value
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        Err(ProvisionerError::UnknownEvent(format!("keys {keys:?}")))
    }
}

/// Settings from the function's environment.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub policy_dir: PathBuf,
    pub alerts_topic_arn: Option<String>,
    pub notify_topic_arn: Option<String>,
    pub account_id: Option<String>,
    /// The deployment's stack name: the owner of its budgets unless the policy sets one.
    pub stack_name: Option<String>,
    /// The deployment's stack id: only a Delete from this stack removes anything.
    pub stack_id: Option<String>,
    /// The guard's CloudWatch namespace, where the price check's metric goes.
    pub metrics_namespace: String,
    /// The region whose Price List the weekly price check reads.
    pub price_region: String,
    /// The deny policy and Budgets role of the hard stops: set by the stack when the policy has
    /// `deny`.
    pub hard_stop: Option<HardStop>,
    /// Where the models of the application inference profiles the policy names without a
    /// `profiles:` entry are recorded: set by the stack when the policy has such profiles.
    pub profiles_parameter: Option<String>,
}

impl Settings {
    pub fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Settings {
            policy_dir: guard_aws::policy_files::policy_dir_from_env(),
            alerts_topic_arn: var(ALERTS_TOPIC_ENV),
            notify_topic_arn: var(NOTIFY_TOPIC_ENV),
            account_id: var(ACCOUNT_ID_ENV),
            stack_name: var(STACK_NAME_ENV),
            stack_id: var(STACK_ID_ENV),
            metrics_namespace: var(METRICS_NAMESPACE_ENV)
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
            price_region: var(price_check::PRICE_REGION_ENV)
                .unwrap_or_else(|| price_check::DEFAULT_PRICE_REGION.to_owned()),
            hard_stop: var(DENY_POLICY_ENV).zip(var(BUDGET_ACTION_ROLE_ENV)).map(
                |(deny_policy_arn, execution_role_arn)| HardStop {
                    deny_policy_arn,
                    execution_role_arn,
                },
            ),
            profiles_parameter: var(PROFILES_PARAMETER_ENV),
        }
    }
}

/// The policy for a Delete, which prices nothing: application inference profiles need not be
/// resolved (Bedrock may no longer know them). Create, Update and the drift repair load it with
/// [`Provisioner::load_resolving_profiles`].
pub fn load_policy_for_delete(dir: &Path) -> Result<Policy, PolicyFailure> {
    let sources =
        read_sources(&[dir.to_path_buf()]).map_err(|e| PolicyFailure::Unreadable(e.report()))?;
    let options = LoadOptions {
        unmapped_profiles: UnmappedProfiles::ResolvedAtDeploy,
    };
    check_policy(dir, &sources, options)
}

/// `sources` (the files of `dir`, and any resolved profiles) checked; warnings are logged.
pub(crate) fn check_policy(
    dir: &Path,
    sources: &[SourceFile],
    options: LoadOptions,
) -> Result<Policy, PolicyFailure> {
    let (policy, diagnostics) = policy::load_with(sources, options);
    for d in diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
    {
        tracing::warn!(file = %d.file, line = d.line, column = d.column, code = %d.code, message = %d.message, "policy warning");
    }
    policy.ok_or_else(|| {
        let dir_prefix = format!("{}/", dir.display());
        let errors = diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| Diagnostic {
                file: d
                    .file
                    .strip_prefix(&dir_prefix)
                    .unwrap_or(&d.file)
                    .to_owned(),
                ..d
            })
            .collect();
        PolicyFailure::Invalid(errors)
    })
}

#[derive(Debug, Clone)]
pub enum PolicyFailure {
    Unreadable(String),
    Invalid(Vec<Diagnostic>),
    /// Its application inference profiles could not be resolved or recorded.
    Profiles {
        reason: String,
        retryable: bool,
    },
}

impl PolicyFailure {
    /// For CloudFormation's `Reason`: bounded, with the count of what was cut.
    pub fn reason(&self) -> String {
        match self {
            PolicyFailure::Unreadable(text) => {
                reason::bounded(&format!("Budget Guard cannot read its policy: {text}"))
            }
            PolicyFailure::Invalid(errors) => reason::policy_errors(errors),
            PolicyFailure::Profiles { reason, .. } => reason::bounded(reason),
        }
    }

    /// The scheduled run's error.
    fn into_error(self) -> ProvisionerError {
        match self {
            PolicyFailure::Profiles { reason, retryable } => {
                ProvisionerError::Incomplete { reason, retryable }
            }
            other => ProvisionerError::Policy(other.reason()),
        }
    }
}

/// The provisioner: SDK clients built once, adapters per invocation (the topics come with it).
#[derive(Debug, Clone)]
pub struct Provisioner {
    budgets: aws_sdk_budgets::Client,
    sns: aws_sdk_sns::Client,
    pricing: aws_sdk_pricing::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    http: reqwest::Client,
    responses: ResponseUrlPolicy,
    settings: Settings,
    inference_profiles: InferenceProfileReader,
    profile_mapping: Option<ProfileMapping>,
}

/// What an apply did, and the plan it applied (with the budgets it left alone).
#[derive(Debug)]
pub struct Applied {
    pub plan: Plan,
    pub report: ApplyReport,
}

impl Applied {
    /// Every change applied, and no budget the policy wants belongs to someone else.
    pub fn is_success(&self) -> bool {
        self.report.is_success() && self.plan.blocked().next().is_none()
    }

    /// For CloudFormation's `Reason` and the scheduled run's error.
    pub fn reason(&self) -> String {
        reason::apply_report(&self.report, &self.plan)
    }

    fn error(&self) -> ProvisionerError {
        ProvisionerError::Incomplete {
            reason: self.reason(),
            retryable: self.report.is_retryable(),
        }
    }
}

/// The topics and account of one run.
#[derive(Debug, Clone)]
struct Target {
    alerts: String,
    notify: Option<String>,
    account: String,
    partition: String,
}

impl Provisioner {
    pub fn new(config: &aws_config::SdkConfig, settings: Settings) -> Provisioner {
        Provisioner {
            budgets: aws_sdk_budgets::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            pricing: price_check::pricing_client(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            // A pre-signed URL answers itself; a redirect could lead anywhere.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            responses: ResponseUrlPolicy::cloudformation(),
            inference_profiles: InferenceProfileReader::from_sdk_config(config),
            profile_mapping: settings
                .profiles_parameter
                .as_deref()
                .map(|name| ProfileMapping::from_config(config, name)),
            settings,
        }
    }

    /// Asks Bedrock through `reader` (tests point it at a local listener answering as Bedrock).
    pub fn with_inference_profiles(mut self, reader: InferenceProfileReader) -> Provisioner {
        self.inference_profiles = reader;
        self
    }

    /// Where answers may go. The Lambda binary keeps [`ResponseUrlPolicy::cloudformation`];
    /// tests that answer a local listener set [`ResponseUrlPolicy::loopback_http`].
    pub fn with_response_urls(mut self, policy: ResponseUrlPolicy) -> Provisioner {
        self.responses = policy;
        self
    }

    /// One invocation.
    pub async fn handle(&self, event: Value) -> Result<Value, ProvisionerError> {
        match Event::parse(event)? {
            Event::CustomResource(request) => {
                // Checked before anything is done: a request that cannot be answered where
                // CloudFormation listens did not come from CloudFormation.
                let url = self.responses.check(&request.response_url).map_err(|why| {
                    tracing::error!(
                        request_type = ?request.request_type,
                        stack_id = %request.stack_id,
                        why = %why,
                        "custom resource request with a ResponseURL that is not CloudFormation's: refused, nothing done, nothing sent"
                    );
                    ProvisionerError::ResponseUrl(why)
                })?;
                let response = self.custom_resource(&request).await;
                tracing::info!(
                    request_type = ?request.request_type,
                    status = response.status.as_str(),
                    physical_resource_id = %response.physical_resource_id,
                    "answering CloudFormation"
                );
                cfn::respond(&self.http, &url, &response)
                    .await
                    .map_err(ProvisionerError::Respond)?;
                Ok(serde_json::to_value(&response).unwrap_or(Value::Null))
            }
            Event::Scheduled { detail_type } if detail_type == price_check::PRICE_CHECK => {
                self.price_check().await
            }
            Event::Scheduled { detail_type } => self.drift_repair(&detail_type).await,
        }
    }

    fn target(&self, properties: Option<&cfn::Properties>) -> Result<Target, String> {
        let alerts = properties
            .and_then(|p| p.alerts_topic_arn.clone())
            .or_else(|| self.settings.alerts_topic_arn.clone())
            .ok_or_else(|| format!("no alerts topic: neither the AlertsTopicArn property nor {ALERTS_TOPIC_ENV} is set"))?;
        let notify = properties
            .and_then(|p| p.notify_topic_arn.clone())
            .or_else(|| self.settings.notify_topic_arn.clone());
        let account = match &self.settings.account_id {
            Some(account) => account.clone(),
            None => account_id_from_arn(&alerts)
                .ok_or_else(|| {
                    format!("no account id in the alerts topic ARN {alerts}; set {ACCOUNT_ID_ENV}")
                })?
                .to_owned(),
        };
        let partition = partition_from_arn(&alerts).unwrap_or("aws").to_owned();
        Ok(Target {
            alerts,
            notify,
            account,
            partition,
        })
    }

    /// This deployment's name: the policy's `settings.owner`, else the stack name.
    fn ownership(&self, policy: &Policy) -> Result<Ownership, String> {
        policy
            .owner(self.settings.stack_name.as_deref())
            .map(Ownership::new)
            .ok_or_else(|| {
                format!("no owner for the budgets: neither settings.owner in the policy nor {STACK_NAME_ENV} is set")
            })
    }

    fn adapters(&self, target: &Target) -> (BudgetsAdapter, SnsSubscriptions) {
        let budgets = BudgetsAdapter::new(self.budgets.clone(), &target.account)
            .with_partition(&target.partition);
        // Without a notify topic there are no subscriptions to read; an empty ARN reads as none.
        let subscriptions =
            SnsSubscriptions::new(self.sns.clone(), target.notify.clone().unwrap_or_default());
        (budgets, subscriptions)
    }

    /// Makes the account match `want` (this deployment's budgets of `prefix`, read as `read`
    /// says). Budgets for which `keep` is true are left out.
    async fn converge(
        &self,
        target: &Target,
        prefix: &str,
        ownership: &Ownership,
        want: &AccountState,
        read: Read,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Applied, ProvisionerError> {
        let Read {
            depth,
            with_subscriptions,
        } = read;
        let (budgets, subscriptions) = self.adapters(target);
        let subscriptions_to_read =
            (with_subscriptions && target.notify.is_some()).then_some(&subscriptions);
        let mut live = read_live(&budgets, subscriptions_to_read, prefix, want, depth)
            .await
            .map_err(ProvisionerError::Read)?;
        live.budgets.retain(|name, _| !keep(name));
        live.notifications.retain(|name, _| !keep(name));
        live.actions.retain(|name, _| !keep(name));
        let mut want = want.clone();
        if subscriptions_to_read.is_none() {
            // Subscriptions not read are left as they are.
            want.email_subscriptions.clear();
        }
        let plan = claim(
            plan(&want, &live),
            &want,
            &live,
            &budgets,
            ownership,
            prefix,
        )
        .await
        .map_err(ProvisionerError::Claim)?;
        for n in &plan.not_ours {
            tracing::warn!(budget = %n.name, owner = ?n.owner, wanted = n.wanted, "not this deployment's budget: left alone");
        }
        tracing::info!(
            prefix,
            owner = %ownership.owner,
            ?depth,
            changes = plan.changes.len(),
            pending = plan.pending.len(),
            not_ours = plan.not_ours.len(),
            "planned"
        );
        let options = ApplyOptions::new(prefix, ownership.owner.clone());
        let report = apply(&plan, &budgets, &subscriptions, &options, |outcome| match outcome {
            guard_core::provision::apply::Outcome::Applied(change) => {
                tracing::info!(change = %change.render().lines().next().unwrap_or_default(), "applied")
            }
            guard_core::provision::apply::Outcome::Failed(change, error) => {
                tracing::error!(change = %change.render().lines().next().unwrap_or_default(), operation = error.operation, kind = error.kind.as_str(), message = %error.message, "failed")
            }
            guard_core::provision::apply::Outcome::Skipped(skipped) => {
                tracing::warn!(change = %skipped.render(), "skipped")
            }
        })
        .await;
        Ok(Applied { plan, report })
    }

    async fn apply_policy(
        &self,
        policy: &Policy,
        target: &Target,
        depth: ReadDepth,
    ) -> Result<Applied, ProvisionerError> {
        let want = desired(policy, &target.alerts)
            .with_hard_stop(self.settings.hard_stop.as_ref())
            .map_err(|e| ProvisionerError::Config(e.to_string()))?;
        let ownership = self.ownership(policy).map_err(ProvisionerError::Config)?;
        self.converge(
            target,
            &policy.settings.budget_prefix,
            &ownership,
            &want,
            Read {
                depth,
                with_subscriptions: true,
            },
            |_| false,
        )
        .await
    }

    /// The answer to one custom resource request; never fails (a failure is a FAILED answer).
    pub async fn custom_resource(&self, request: &CfnRequest) -> CfnResponse {
        match request.request_type {
            RequestType::Create | RequestType::Update => {
                // A failed answer keeps the id CloudFormation has (an Update), or gets one that
                // names no prefix (a Create): the Delete of a rollback or a cleanup then removes
                // nothing, however much the failed request had done.
                let failed_id = request
                    .physical_resource_id
                    .clone()
                    .unwrap_or_else(|| format!("budget-guard-failed-{}", request.request_id));
                let policy = match self.load_resolving_profiles().await {
                    Ok(policy) => policy,
                    Err(failure) => {
                        return CfnResponse::failed(request, failed_id, failure.reason());
                    }
                };
                let target = match self.target(request.resource_properties.as_ref()) {
                    Ok(target) => target,
                    Err(reason) => return CfnResponse::failed(request, failed_id, reason),
                };
                // A deploy may bring a new alerts topic: every subscriber is read.
                match self.apply_policy(&policy, &target, ReadDepth::Full).await {
                    Ok(applied) if applied.is_success() => {
                        let id = format!("{PHYSICAL_ID_PREFIX}{}", policy.settings.budget_prefix);
                        CfnResponse::success(request, id, report_data(&applied.report, &policy))
                    }
                    Ok(applied) => CfnResponse::failed(request, failed_id, applied.reason()),
                    Err(error) => {
                        CfnResponse::failed(request, failed_id, reason::bounded(&error.to_string()))
                    }
                }
            }
            RequestType::Delete => {
                let loaded = load_policy_for_delete(&self.settings.policy_dir);
                self.delete(request, loaded).await
            }
        }
    }

    async fn delete(
        &self,
        request: &CfnRequest,
        loaded: Result<Policy, PolicyFailure>,
    ) -> CfnResponse {
        let id = request.physical_resource_id.clone().unwrap_or_default();
        if self.settings.stack_id.as_deref() != Some(request.stack_id.as_str()) {
            tracing::warn!(
                request_stack = %request.stack_id,
                own_stack = ?self.settings.stack_id,
                physical_resource_id = %id,
                "Delete from a stack that is not this deployment's: nothing removed"
            );
            return CfnResponse::success(
                request,
                id,
                json!({ "Removed": 0, "Note": "not this deployment's stack; nothing removed" }),
            );
        }
        let Some(prefix) = id
            .strip_prefix(PHYSICAL_ID_PREFIX)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
        else {
            return CfnResponse::success(
                request,
                id,
                json!({ "Removed": 0, "Note": "nothing was provisioned" }),
            );
        };
        let policy = match loaded {
            Ok(policy) => policy,
            Err(_) => {
                // Whether to retain is unknown: keep everything rather than guess.
                tracing::warn!(prefix, "policy unreadable on Delete: nothing removed");
                return CfnResponse::success(
                    request,
                    id,
                    json!({ "Removed": 0, "Note": "policy unreadable; nothing removed" }),
                );
            }
        };
        if policy.settings.retain_on_delete {
            tracing::info!(prefix, "retain_on_delete: budgets and subscriptions kept");
            return CfnResponse::success(
                request,
                id,
                json!({ "Removed": 0, "Note": "retained (settings.retain_on_delete)" }),
            );
        }
        let target = match self.target(request.resource_properties.as_ref()) {
            Ok(target) => target,
            Err(reason) => return CfnResponse::failed(request, id, reason),
        };
        let ownership = match self.ownership(&policy) {
            Ok(ownership) => ownership,
            Err(reason) => {
                tracing::warn!(prefix, %reason, "owner unknown on Delete: nothing removed");
                return CfnResponse::success(
                    request,
                    id,
                    json!({ "Removed": 0, "Note": "owner unknown; nothing removed" }),
                );
            }
        };
        // The Delete of an old prefix after the prefix changed: this deployment's budgets of the
        // old prefix go, but neither the current prefix's budgets nor the subscriptions, which the
        // policy still wants.
        let current = policy.settings.budget_prefix.clone();
        let replaced = current != prefix;
        let keep = |name: &str| replaced && name.starts_with(&current);
        match self
            .converge(
                &target,
                &prefix,
                &ownership,
                &AccountState::default(),
                Read {
                    depth: ReadDepth::Quick,
                    with_subscriptions: !replaced,
                },
                keep,
            )
            .await
        {
            Ok(applied) if applied.report.is_success() => CfnResponse::success(
                request,
                id,
                json!({ "Removed": applied.report.applied.len(), "LeftAlone": applied.plan.not_ours.len() }),
            ),
            Ok(applied) => CfnResponse::failed(request, id, applied.reason()),
            Err(error) => CfnResponse::failed(request, id, reason::bounded(&error.to_string())),
        }
    }

    /// The scheduled run: the same policy as the last deploy, applied again. `drift-repair-full`
    /// reads every subscriber; any other scheduled event reads budgets and notifications only.
    pub async fn drift_repair(&self, detail_type: &str) -> Result<Value, ProvisionerError> {
        let policy = self
            .load_resolving_profiles()
            .await
            .map_err(PolicyFailure::into_error)?;
        let target = self.target(None).map_err(ProvisionerError::Config)?;
        let depth = drift_repair_depth(detail_type);
        let applied = self.apply_policy(&policy, &target, depth).await?;
        let report = &applied.report;
        tracing::info!(
            detail_type,
            ?depth,
            changes = report.applied.len() + report.failed.len() + report.skipped.len(),
            applied = report.applied.len(),
            failed = report.failed.len(),
            skipped = report.skipped.len(),
            not_ours = applied.plan.not_ours.len(),
            "drift repair"
        );
        if !applied.is_success() {
            // A failed run is a function error: the alarm on the provisioner's errors fires, and
            // Lambda retries it when a retry may help (throttling, a service error).
            return Err(applied.error());
        }
        Ok(report_data(report, &policy))
    }
}

/// How deep a scheduled drift repair reads: every subscriber on `drift-repair-full` only.
pub fn drift_repair_depth(detail_type: &str) -> ReadDepth {
    if detail_type == DRIFT_REPAIR_FULL {
        ReadDepth::Full
    } else {
        ReadDepth::Quick
    }
}

fn report_data(report: &ApplyReport, policy: &Policy) -> Value {
    json!({
        "Changes": report.applied.len(),
        "Budgets": policy.budgets.len(),
        "Prefix": policy.settings.budget_prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_told_apart() {
        let cfn = json!({"RequestType": "Create", "ResponseURL": "http://x", "StackId": "s", "RequestId": "r",
            "LogicalResourceId": "l", "ResourceType": "Custom::BudgetGuardPolicy", "ResourceProperties": {}});
        assert!(matches!(Event::parse(cfn), Ok(Event::CustomResource(_))));
        let scheduled =
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert!(matches!(
            Event::parse(scheduled),
            Ok(Event::Scheduled { .. })
        ));
        let own =
            json!({"source": "budget-guard.schedule", "detail-type": "drift-repair", "detail": {}});
        assert!(
            matches!(Event::parse(own), Ok(Event::Scheduled { detail_type }) if detail_type == "drift-repair")
        );
        assert_eq!(drift_repair_depth(DRIFT_REPAIR_FULL), ReadDepth::Full);
        assert_eq!(drift_repair_depth(DRIFT_REPAIR), ReadDepth::Quick);
        assert_eq!(drift_repair_depth("Scheduled Event"), ReadDepth::Quick);
        let other = Event::parse(json!({"Records": []})).unwrap_err();
        assert!(!other.is_retryable());
    }
}
