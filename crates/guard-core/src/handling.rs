//! The alert-handler's orchestration, generic over its ports: flags, its own state, Slack and
//! email. The Lambda function, `budget-guard alert handle` and the tests (with [`fakes`]) all run
//! this same code, at a `now` they are given.
//!
//! Flags are derived, never stepped (see [`crate::ledger`]): an alert adds a requirement to its
//! route's ledger, the tick drops the requirements that no longer count, an operator's command
//! pins, unpins, sets or restores; each then derives the route's flag and writes it if it differs.
//!
//! What people are told is a *job* with a record in the state store: the notice, the flag tasks,
//! and what succeeded, saved after every action so a retry redoes only what did not happen. Jobs:
//! - `notices/<budget>/<period start>/<threshold>`: a matched alert. One job per budget, period and
//!   threshold, whichever source (AWS Budgets or the spend watcher) comes first: a later alert for
//!   the same threshold is logged, not told twice.
//! - `alerts/<message id>`: a message that is not for this policy, told to
//!   `settings.unmatched_notify` (nobody by default).
//! - `rollover/<route>/<time>`: a tick that moved a route (a period ended, a budget left the
//!   policy, the flag named a model off its ladder).
//!
//! Order within a job: flags first (they protect the money), then Slack per channel, then one email
//! publish per channel. A failure stops nothing else; the handler returns an error so the delivery
//! is retried. When a retry changes what the notice says (a flag write that failed now succeeded),
//! the notice gets a new version and every channel is told again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::{Alert, parse_message};
use crate::flags::{Flag, RouteState};
use crate::ledger::{
    self, Decision, Ledger, MAX_BY_BYTES, MAX_REASON_BYTES, Pin, Requirement, bounded, derive,
    flag_agrees, flag_for, off_ladder,
};
use crate::message::{
    AlertNotice, Notice, RolloverNotice, email_body, email_subject, excerpt, slack_payload,
};
use crate::policy::{ChannelSpec, Policy, RouteSpec};
use crate::routing::{
    Assessment, RouteAction, Trust, assess, route_channels, split_channels, threshold_title,
};
pub use crate::state_key::key_part;

/// The `version` of job records this build writes.
pub const JOB_VERSION: u32 = 2;

/// When the invocation must be over (the Lambda context's deadline), if there is one. Adapters
/// that wait (Slack's `Retry-After`) stop before it; what did not go out is retried.
pub type Deadline = Option<Instant>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortErrorKind {
    Throttled,
    Timeout,
    Unavailable,
    NotFound,
    AccessDenied,
    Invalid,
    Other,
}

/// A port's failure, as the orchestration sees it. The adapters keep their typed errors and map
/// them here; `message` never holds a secret or a webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({kind:?}): {message}")]
pub struct PortError {
    pub kind: PortErrorKind,
    pub operation: String,
    pub message: String,
}

impl PortError {
    pub fn new(
        kind: PortErrorKind,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> PortError {
        PortError {
            kind,
            operation: operation.into(),
            message: message.into(),
        }
    }

    /// Whether trying again later may succeed.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            PortErrorKind::Throttled | PortErrorKind::Timeout | PortErrorKind::Unavailable
        )
    }
}

/// Routing flags, by SSM parameter name.
#[async_trait]
pub trait FlagStore: Send + Sync {
    /// The flag, or `None` when the parameter does not exist.
    async fn get_flag(&self, parameter: &str) -> Result<Option<Flag>, PortError>;
    /// Writes (overwrites) the flag.
    async fn put_flag(&self, parameter: &str, flag: &Flag) -> Result<(), PortError>;
}

/// The handler's own records, by key relative to the policy's state path.
#[async_trait]
pub trait StateStore: Send + Sync {
    async fn get_state(&self, key: &str) -> Result<Option<String>, PortError>;
    async fn put_state(&self, key: &str, value: &str) -> Result<(), PortError>;
    /// Every record whose key starts with `prefix`, as `(key, value)`.
    async fn list_state(&self, prefix: &str) -> Result<Vec<(String, String)>, PortError>;
    async fn delete_state(&self, keys: &[String]) -> Result<(), PortError>;
}

/// How long a finished job's record is kept when nothing else says: far longer than SNS and
/// Lambda retry a delivery.
pub const ALERT_RETENTION_DAYS: i64 = 30;

/// How long the tick goes on retrying a job that a failure left unfinished.
pub const RESUME_HOURS: i64 = 24;

/// The records the tick may delete at `now`: finished `alerts/` and `rollover/` jobs older than
/// [`ALERT_RETENTION_DAYS`], and finished `notices/` jobs once the period after theirs has ended
/// (until then a late alert about the same threshold must still find that it was told). Records
/// this build cannot read, unfinished jobs and ledgers are kept.
pub fn expired_records(
    policy: &Policy,
    records: &[(String, String)],
    now: DateTime<Utc>,
) -> Vec<String> {
    let today = now.date_naive();
    records
        .iter()
        .filter(|(key, value)| {
            let Ok(job) = serde_json::from_str::<Job>(value) else {
                return false;
            };
            if !job.is_complete() {
                return false;
            }
            if key.starts_with("alerts/") || key.starts_with("rollover/") {
                return (now - job.first_seen).num_days() > ALERT_RETENTION_DAYS;
            }
            // notices/<budget>/<period start>/<threshold>
            let mut parts = key.splitn(4, '/');
            let (Some("notices"), Some(budget), Some(start)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return false;
            };
            let Ok(start) = start.parse::<NaiveDate>() else {
                return false;
            };
            let period = policy
                .budgets
                .values()
                .find(|b| key_part(&b.key) == budget)
                .map(|b| b.period);
            match period {
                Some(period) => period.next_start(period.next_start(start)) <= today,
                // A budget gone from the policy: keep its record for a year, then let it go.
                None => (today - start).num_days() > 366,
            }
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// Posts to a Slack channel's incoming webhook, whose URL is in the named secret.
#[async_trait]
pub trait SlackPoster: Send + Sync {
    async fn post(
        &self,
        channel: &str,
        webhook_secret: &str,
        payload: &Value,
        deadline: Deadline,
    ) -> Result<(), PortError>;
}

/// Publishes one email for a channel to the notify topic.
#[async_trait]
pub trait EmailPublisher: Send + Sync {
    async fn publish(&self, channel: &str, subject: &str, body: &str) -> Result<(), PortError>;
}

/// A change to a route's flag, redone from the ledger on every attempt, so a retry never moves a
/// flag further than the rule says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlagTask {
    /// Add `requirement` to the route's ledger, then derive the flag.
    Require {
        route: String,
        requirement: Requirement,
    },
    /// Derive the flag again (a tick: periods ended, the policy changed, the flag was off-ladder).
    Sync { route: String },
}

impl FlagTask {
    pub fn route(&self) -> &str {
        match self {
            FlagTask::Require { route, .. } | FlagTask::Sync { route } => route,
        }
    }

    /// The key of this task in a job's record.
    pub fn key(&self) -> String {
        format!("flag:{}", self.route())
    }
}

/// One alert, or one route moved by a tick, as kept in the state store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub version: u32,
    pub id: String,
    pub first_seen: DateTime<Utc>,
    pub attempts: u32,
    pub notice: Notice,
    /// Bumped whenever the notice changes after it was first sent.
    pub notice_version: u32,
    pub flag_tasks: Vec<FlagTask>,
    pub slack: Vec<String>,
    pub email: Vec<String>,
    /// Routes whose flag task succeeded.
    #[serde(default)]
    pub flags_done: BTreeSet<String>,
    /// `slack:<channel>` or `email:<channel>` to the notice version it delivered.
    #[serde(default)]
    pub sent: BTreeMap<String, u32>,
}

impl Job {
    fn new(
        id: &str,
        now: DateTime<Utc>,
        notice: Notice,
        flag_tasks: Vec<FlagTask>,
        (slack, email): (Vec<String>, Vec<String>),
    ) -> Job {
        Job {
            version: JOB_VERSION,
            id: bounded(id, ledger::MAX_ALERT_ID_BYTES),
            first_seen: now,
            attempts: 0,
            notice,
            notice_version: 1,
            flag_tasks,
            slack,
            email,
            flags_done: BTreeSet::new(),
            sent: BTreeMap::new(),
        }
    }

    fn deliveries(&self) -> Vec<String> {
        self.slack
            .iter()
            .map(|c| format!("slack:{c}"))
            .chain(self.email.iter().map(|c| format!("email:{c}")))
            .collect()
    }

    /// Whether every flag task and every delivery of the current notice succeeded.
    pub fn is_complete(&self) -> bool {
        self.flag_tasks
            .iter()
            .all(|t| self.flags_done.contains(t.route()))
            && self
                .deliveries()
                .iter()
                .all(|d| self.sent.get(d) == Some(&self.notice_version))
    }

    /// Records a flag task's action in the notice; true when the notice changed.
    fn set_action(&mut self, action: RouteAction) -> bool {
        let changed = match &mut self.notice {
            Notice::Alert(a) => {
                let changed = a.action.as_ref() != Some(&action);
                a.action = Some(action);
                changed
            }
            Notice::Rollover(r) => match r.actions.iter_mut().find(|a| a.route() == action.route())
            {
                Some(existing) if *existing == action => false,
                Some(existing) => {
                    *existing = action;
                    true
                }
                None => {
                    r.actions.push(action);
                    true
                }
            },
            Notice::Unrecognised { .. } => false,
        };
        if changed && !self.sent.is_empty() {
            self.notice_version += 1;
        }
        changed
    }
}

/// What handling one job did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The job's key in the state store.
    pub job: String,
    /// Finished before this call: nothing was done.
    pub already_handled: bool,
    /// Flag tasks (`flag:<route>`) and deliveries (`slack:<channel>`, `email:<channel>`) that
    /// succeeded in this call.
    pub done: Vec<String>,
    /// What failed in this call, and why.
    pub failed: Vec<(String, String)>,
    /// The flags written in this call, by route.
    pub flags_written: Vec<String>,
    /// Why the message was not handled at all (it came from a topic that is not the alerts topic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

impl Outcome {
    fn new(job: String) -> Outcome {
        Outcome {
            job,
            already_handled: false,
            done: vec![],
            failed: vec![],
            flags_written: vec![],
            ignored: None,
        }
    }

    fn nothing(job: String) -> Outcome {
        Outcome {
            already_handled: true,
            ..Outcome::new(job)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// The job's record could not be read: nothing was done.
    #[error("cannot read the handler state {job}: {source}")]
    State { job: String, source: PortError },
    /// Some actions failed; the rest succeeded and are recorded.
    #[error("{job}: {} action(s) failed: {}", failed.len(), failed.iter().map(|(k, e)| format!("{k}: {e}")).collect::<Vec<_>>().join("; "))]
    Incomplete {
        job: String,
        failed: Vec<(String, PortError)>,
        outcome: Box<Outcome>,
    },
    /// Reading or writing a route's flag or ledger failed.
    #[error("route {route}: {source}")]
    Flags { route: String, source: PortError },
    /// An operator's command that cannot be carried out as given.
    #[error("{0}")]
    Command(String),
}

impl HandleError {
    /// Whether a retry may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            HandleError::State { source, .. } | HandleError::Flags { source, .. } => {
                source.retryable()
            }
            HandleError::Incomplete { failed, .. } => failed.iter().any(|(_, e)| e.retryable()),
            HandleError::Command(_) => false,
        }
    }
}

/// One SNS notification as the handler receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound<'a> {
    pub message_id: &'a str,
    /// The topic the record came from (`Records[].Sns.TopicArn`).
    pub topic_arn: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub message: &'a str,
}

/// An operator's change to a route, from `budget-guard flags`. Carried out by the handler, the
/// one writer of flags, so that it is ordered with alerts and ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Require `step` by hand until the roll-over of the route's budget period.
    Set {
        route: String,
        step: usize,
        by: String,
        reason: String,
    },
    /// Hold the route at `step` (where it is, when `None`) whatever alerts and periods do.
    Pin {
        route: String,
        step: Option<usize>,
        by: String,
        reason: String,
    },
    Unpin {
        route: String,
        by: String,
        reason: String,
    },
    /// Drop the requirements of a route (every route when `None`): back to the top, or to its pin.
    Restore {
        route: Option<String>,
        by: String,
        reason: String,
    },
}

/// A route after a command: its flag and why it is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteReport {
    pub route: String,
    pub step: usize,
    pub model_id: String,
    pub pinned: bool,
    /// Why the route is at `step` (the requirement in force, or the pin).
    pub because: Option<String>,
    /// Whether this command wrote the flag.
    pub written: bool,
}

/// The orchestration over the ports.
#[derive(Debug)]
pub struct Handler<F, S, K, E> {
    pub policy: Policy,
    pub trust: Trust,
    pub flags: F,
    pub state: S,
    pub slack: K,
    pub email: E,
}

/// The state key of a route's ledger.
pub fn ledger_key(route: &str) -> String {
    format!("ledger/{}", key_part(route))
}

/// The state key of the job that tells about `threshold` of `budget` in the period from
/// `period_start`.
pub fn notice_key(budget_key: &str, period_start: NaiveDate, threshold: &str) -> String {
    format!(
        "notices/{}/{period_start}/{}",
        key_part(budget_key),
        key_part(
            &threshold
                .replace('%', "pct")
                .replace('$', "usd")
                .replace(" (", "-")
                .replace(')', "")
        )
    )
}

/// How a route's flag moved, for the notice.
fn describe(
    route: &RouteSpec,
    before: &RouteState,
    decision: &Decision,
    required: Option<usize>,
) -> RouteAction {
    let target_step = required
        .unwrap_or(decision.step)
        .clamp(1, route.last_step());
    if decision.pinned && required.is_some() {
        return RouteAction::Pinned {
            route: route.name.clone(),
            step: decision.step,
            model: route.step_label(decision.step),
            target_step,
            target_model: route.step_label(target_step),
        };
    }
    if decision.step > before.step {
        RouteAction::Downgrade {
            route: route.name.clone(),
            from_step: before.step,
            from_model: route.step_label(before.step),
            to_step: decision.step,
            to_model: route.step_label(decision.step),
            ladder_size: route.ladder.len(),
            monthly_saving: None,
        }
    } else if decision.step < before.step {
        RouteAction::Restore {
            route: route.name.clone(),
            from_step: before.step,
            from_model: route.step_label(before.step),
            to_step: decision.step,
            to_model: route.step_label(decision.step),
        }
    } else if decision.pinned && required.is_none() {
        RouteAction::PinnedStays {
            route: route.name.clone(),
            step: decision.step,
            model: route.step_label(decision.step),
        }
    } else {
        RouteAction::AlreadyThere {
            route: route.name.clone(),
            step: decision.step,
            model: route.step_label(decision.step),
            target_step,
            target_model: route.step_label(target_step),
        }
    }
}

/// Where the route stands by its stored flag: the flag's own model (even off the ladder, cut to
/// the length of a model id: anyone with write access to the parameter wrote it) and the step it
/// claims, clamped to the ladder.
fn standing(route: &RouteSpec, flag: Option<&Flag>) -> RouteState {
    let mut state = RouteState::of(route, flag);
    if let Some(f) = flag {
        state.model_id = bounded(&f.model_id, MAX_FLAG_MODEL_BYTES);
    }
    state
}

/// The most of a stored flag's model id a notice quotes: a policy's model ids are shorter.
const MAX_FLAG_MODEL_BYTES: usize = crate::policy::limits::MODEL_ID_MAX_CHARS;

impl<F: FlagStore, S: StateStore, K: SlackPoster, E: EmailPublisher> Handler<F, S, K, E> {
    pub fn new(policy: Policy, trust: Trust, flags: F, state: S, slack: K, email: E) -> Self {
        Handler {
            policy,
            trust,
            flags,
            state,
            slack,
            email,
        }
    }

    /// Handles one SNS message from the alerts topic: a Budgets alert, a spend alert, or anything
    /// else, at `now`.
    pub async fn handle_message(
        &self,
        inbound: &Inbound<'_>,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<Outcome, HandleError> {
        if let Some(ours) = &self.trust.alerts_topic
            && inbound.topic_arn != Some(ours.as_str())
        {
            let reason = format!(
                "the record comes from topic {}, not the alerts topic",
                inbound.topic_arn.unwrap_or("(none)")
            );
            tracing::warn!(message_id = inbound.message_id, %reason, "ignored");
            return Ok(Outcome {
                ignored: Some(reason),
                ..Outcome::new(format!("alerts/{}", key_part(inbound.message_id)))
            });
        }
        let parsed = parse_message(inbound.message);
        self.handle_parsed(inbound, parsed, now, deadline).await
    }

    /// Handles an alert already read (`budget-guard alert simulate`): as [`Self::handle_message`]
    /// past the topic check.
    pub async fn handle_alert(
        &self,
        message_id: &str,
        alert: &Alert,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<Outcome, HandleError> {
        let inbound = Inbound {
            message_id,
            topic_arn: None,
            subject: None,
            message: "",
        };
        self.handle_parsed(&inbound, Ok(alert.clone()), now, deadline)
            .await
    }

    async fn handle_parsed(
        &self,
        inbound: &Inbound<'_>,
        parsed: Result<Alert, crate::alert::AlertParseError>,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<Outcome, HandleError> {
        // A message handled before keeps the meaning it had: one that was not for this policy
        // (say, dated in a period that had not begun) is not acted on when SNS redelivers it later.
        let by_id = format!("alerts/{}", key_part(inbound.message_id));
        match self.load(&by_id).await? {
            Some(job) if job.is_complete() => {
                tracing::info!(job = %by_id, "already handled; nothing to do");
                return Ok(Outcome::nothing(by_id));
            }
            Some(job) => return self.run(by_id, job, now, deadline).await,
            None => {}
        }
        let (key, fresh) = match parsed {
            Ok(alert) => self.alert_job(inbound, &alert, now),
            Err(error) => {
                tracing::warn!(%error, message_id = inbound.message_id, "a message on the alerts topic is no alert");
                // All of it from outside: each part cut to its bound, with a count of what was cut.
                let notice = Notice::Unrecognised {
                    subject: inbound
                        .subject
                        .map(|s| bounded(s, crate::message::MAX_SUBJECT_CHARS)),
                    reason: bounded(&error.to_string(), MAX_REASON_BYTES),
                    excerpt: excerpt(inbound.message),
                };
                let channels = split_channels(&self.policy, &self.policy.settings.unmatched_notify);
                let key = format!("alerts/{}", key_part(inbound.message_id));
                let job = Job::new(inbound.message_id, now, notice, vec![], channels);
                (key, job)
            }
        };
        let job = match self.load(&key).await? {
            Some(job) if job.is_complete() => {
                tracing::info!(job = %key, message_id = inbound.message_id, "already told; logged only");
                return Ok(Outcome::nothing(key));
            }
            Some(job) => job,
            None => fresh,
        };
        self.run(key, job, now, deadline).await
    }

    /// The job an alert makes, and its key.
    fn alert_job(&self, inbound: &Inbound<'_>, alert: &Alert, now: DateTime<Utc>) -> (String, Job) {
        let assessment = assess(&self.policy, &self.trust, alert, now);
        tracing::info!(
            message_id = inbound.message_id,
            budget = alert.budget_name(),
            alert_type = %alert.alert_type(),
            threshold = %alert.threshold(),
            assessment = ?assessment,
            "alert"
        );
        match assessment {
            Assessment::Unmatched { reason } => {
                let mut notice = AlertNotice::new(alert, None);
                notice.unmatched = Some(bounded(&reason, MAX_REASON_BYTES));
                let channels = split_channels(&self.policy, &self.policy.settings.unmatched_notify);
                let key = format!("alerts/{}", key_part(inbound.message_id));
                let job = Job::new(
                    inbound.message_id,
                    now,
                    Notice::Alert(Box::new(notice)),
                    vec![],
                    channels,
                );
                (key, job)
            }
            Assessment::Matched {
                budget,
                threshold,
                period_start,
                late,
            } => {
                let spec = &self.policy.budgets[&budget];
                let t = &spec.thresholds[threshold];
                let title = threshold_title(t);
                let mut notice = AlertNotice::new(alert, Some(t.label()));
                notice.late = late;
                let tasks = match (&t.downgrade, late) {
                    (Some(d), false) => vec![FlagTask::Require {
                        route: d.route.clone(),
                        requirement: Requirement {
                            budget: Some(spec.name.clone()),
                            period: spec.period,
                            period_start,
                            threshold: title.clone(),
                            step: d.to_step,
                            alert_ids: vec![bounded(
                                inbound.message_id,
                                ledger::MAX_ALERT_ID_BYTES,
                            )],
                        },
                    }],
                    _ => vec![],
                };
                let key = notice_key(&spec.key, period_start, &title);
                let channels = split_channels(&self.policy, &t.notify);
                let job = Job::new(
                    inbound.message_id,
                    now,
                    Notice::Alert(Box::new(notice)),
                    tasks,
                    channels,
                );
                (key, job)
            }
        }
    }

    /// The tick at `now`: resumes jobs a failure left unfinished, derives every route of the
    /// policy again (periods ended, budgets gone, flags off their ladder), tells people of each
    /// route that moved, and prunes expired records.
    pub async fn handle_tick(
        &self,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Vec<Result<Outcome, HandleError>> {
        let mut results = Vec::new();
        // Each kind of job by its own path: the IAM grant covers paths under the state path.
        let mut records = Vec::new();
        for prefix in ["alerts/", "notices/", "rollover/"] {
            match self.state.list_state(prefix).await {
                Ok(mut found) => records.append(&mut found),
                Err(error) => {
                    tracing::warn!(%error, prefix, "cannot list the handler state; resuming none of it");
                }
            }
        }
        for (key, value) in &records {
            // A job still unfinished after a day (a channel that is gone) is left for the logs
            // rather than failing every tick.
            if let Ok(job) = serde_json::from_str::<Job>(value)
                && !job.is_complete()
                && now - job.first_seen < chrono::Duration::hours(RESUME_HOURS)
            {
                results.push(self.run(key.clone(), job, now, deadline).await);
            }
        }
        for route in self.policy.routes.values() {
            if let Some(result) = self.tick_route(route, now, deadline).await {
                results.push(result);
            }
        }
        let expired = expired_records(&self.policy, &records, now);
        if !expired.is_empty() {
            match self.state.delete_state(&expired).await {
                Ok(()) => tracing::info!(deleted = expired.len(), "expired handler state deleted"),
                Err(error) => tracing::warn!(%error, "cannot delete expired handler state"),
            }
        }
        results
    }

    /// One route at the tick: nothing when its flag already agrees with its ledger (the ledger is
    /// pruned all the same), else a job that tells why it moves, saved before the move.
    async fn tick_route(
        &self,
        route: &RouteSpec,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Option<Result<Outcome, HandleError>> {
        let fail = |source| {
            Some(Err(HandleError::Flags {
                route: route.name.clone(),
                source,
            }))
        };
        let mut ledger = match self.load_ledger(route).await {
            Ok(ledger) => ledger,
            Err(source) => return fail(source),
        };
        let flag = match self.flags.get_flag(&route.parameter).await {
            Ok(flag) => flag,
            Err(source) => return fail(source),
        };
        let before = ledger.clone();
        let pruned = ledger.prune(&self.policy, route, now);
        let decision = derive(&self.policy, route, &ledger, now);
        if flag_agrees(route, flag.as_ref(), &decision) {
            if pruned && let Err(source) = self.save_ledger(&ledger).await {
                return fail(source);
            }
            return None;
        }
        // Why it moves: the deepest requirement whose period ended, else a budget gone from the
        // policy or a flag someone else wrote.
        let today = now.date_naive();
        let ended = before
            .requirements
            .iter()
            .filter(|r| r.period.start_of(today) != r.period_start)
            .filter_map(|r| {
                let budget = r
                    .budget
                    .as_deref()
                    .and_then(|b| self.policy.budget_by_name(b))?;
                Some((r.step, budget))
            })
            .max_by_key(|(step, _)| *step)
            .map(|(_, b)| b);
        let (notice, channels) = match ended {
            Some(budget) if !off_ladder(route, flag.as_ref()) => (
                Notice::Rollover(RolloverNotice {
                    budget_name: budget.name.clone(),
                    period: budget.period,
                    period_start: budget.period.start_of(today),
                    actions: vec![],
                    note: None,
                }),
                route_channels(&self.policy, &route.name, Some(budget)),
            ),
            _ => {
                let why = if off_ladder(route, flag.as_ref()) {
                    format!(
                        "the flag of route {} named {}, which is not on its ladder; it is rewritten from the policy",
                        route.name,
                        bounded(
                            flag.as_ref().map_or("", |f| f.model_id.as_str()),
                            MAX_FLAG_MODEL_BYTES
                        )
                    )
                } else {
                    format!(
                        "the flag of route {} did not match what the policy and this period require; it is rewritten",
                        route.name
                    )
                };
                (
                    Notice::Rollover(RolloverNotice {
                        budget_name: String::new(),
                        period: ledger::manual_period(&self.policy, &route.name),
                        period_start: today,
                        actions: vec![],
                        note: Some(why),
                    }),
                    route_channels(&self.policy, &route.name, None),
                )
            }
        };
        let key = format!(
            "rollover/{}/{}",
            key_part(&route.name),
            now.format("%Y%m%dT%H%M%S")
        );
        let job = Job::new(
            &key,
            now,
            notice,
            vec![FlagTask::Sync {
                route: route.name.clone(),
            }],
            channels,
        );
        Some(self.run(key, job, now, deadline).await)
    }

    /// Carries out an operator's command: changes the ledger, derives, writes the flag.
    pub async fn handle_command(
        &self,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<RouteReport>, HandleError> {
        let route_of = |name: &str| {
            self.policy.routes.get(name).ok_or_else(|| {
                HandleError::Command(format!(
                    "no route {name} in the policy; routes: {}",
                    self.policy
                        .routes
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        };
        let routes: Vec<&RouteSpec> = match command {
            Command::Set { route, .. }
            | Command::Pin { route, .. }
            | Command::Unpin { route, .. } => {
                vec![route_of(route)?]
            }
            Command::Restore { route: Some(r), .. } => vec![route_of(r)?],
            Command::Restore { route: None, .. } => self.policy.routes.values().collect(),
        };
        let mut reports = Vec::new();
        for route in routes {
            let flags_error = |source| HandleError::Flags {
                route: route.name.clone(),
                source,
            };
            let mut ledger = self.load_ledger(route).await.map_err(flags_error)?;
            let flag = self
                .flags
                .get_flag(&route.parameter)
                .await
                .map_err(flags_error)?;
            ledger.prune(&self.policy, route, now);
            let check_step = |step: usize| {
                if (1..=route.ladder.len()).contains(&step) {
                    Ok(step)
                } else {
                    Err(HandleError::Command(format!(
                        "route {} has steps 1 to {}; {step} is not one of them",
                        route.name,
                        route.ladder.len()
                    )))
                }
            };
            match command {
                Command::Set { step, by, .. } => {
                    let period = ledger::manual_period(&self.policy, &route.name);
                    ledger.set_manual(Requirement {
                        budget: None,
                        period,
                        period_start: period.start_of(now.date_naive()),
                        threshold: ledger::MANUAL.to_owned(),
                        step: check_step(*step)?,
                        alert_ids: vec![bounded(by, MAX_BY_BYTES)],
                    });
                }
                Command::Pin {
                    step, by, reason, ..
                } => {
                    let here = derive(&self.policy, route, &ledger, now).step;
                    ledger.pin = Some(Pin {
                        step: check_step(step.unwrap_or(here))?,
                        by: bounded(by, MAX_BY_BYTES),
                        reason: bounded(reason, MAX_REASON_BYTES),
                        at: now,
                    });
                }
                Command::Unpin { .. } => ledger.pin = None,
                Command::Restore { by, reason, .. } => {
                    ledger.requirements.clear();
                    if let Some(pin) = &mut ledger.pin {
                        pin.step = 1;
                        pin.by = bounded(by, MAX_BY_BYTES);
                        pin.reason = bounded(reason, MAX_REASON_BYTES);
                        pin.at = now;
                    }
                }
            }
            self.save_ledger(&ledger).await.map_err(flags_error)?;
            let decision = derive(&self.policy, route, &ledger, now);
            let written = !flag_agrees(route, flag.as_ref(), &decision);
            if written {
                let (by, reason) = match command {
                    Command::Set { by, reason, .. }
                    | Command::Pin { by, reason, .. }
                    | Command::Unpin { by, reason, .. }
                    | Command::Restore { by, reason, .. } => (by, reason),
                };
                let author = ledger::Author { by, reason };
                let new = flag_for(route, &ledger, &decision, now, Some(author));
                self.flags
                    .put_flag(&route.parameter, &new)
                    .await
                    .map_err(flags_error)?;
                tracing::info!(route = %route.name, step = decision.step, pinned = decision.pinned, command = ?command, "flag written by an operator's command");
            }
            reports.push(RouteReport {
                route: route.name.clone(),
                step: decision.step,
                model_id: route.model_at(decision.step).to_owned(),
                pinned: decision.pinned,
                because: match (&ledger.pin, &decision.because) {
                    (Some(pin), _) => Some(format!("pinned by {}: {}", pin.by, pin.reason)),
                    (None, Some(r)) => Some(match &r.budget {
                        Some(b) => format!(
                            "{b} crossed {} ({} period from {})",
                            r.threshold, r.period, r.period_start
                        ),
                        None => format!(
                            "set by hand until the {} period from {} ends",
                            r.period, r.period_start
                        ),
                    }),
                    (None, None) => None,
                },
                written,
            });
        }
        Ok(reports)
    }

    async fn load_ledger(&self, route: &RouteSpec) -> Result<Ledger, PortError> {
        match self.state.get_state(&ledger_key(&route.name)).await? {
            None => Ok(Ledger::new(&route.name)),
            Some(text) => serde_json::from_str::<Ledger>(&text).map_err(|e| {
                // A ledger this build cannot read: act on nothing rather than on a guess.
                PortError::new(
                    PortErrorKind::Invalid,
                    "read ledger",
                    format!("the ledger of route {} is unreadable: {e}", route.name),
                )
            }),
        }
    }

    async fn save_ledger(&self, ledger: &Ledger) -> Result<(), PortError> {
        self.state
            .put_state(&ledger_key(&ledger.route), &ledger.to_json())
            .await
    }

    async fn load(&self, key: &str) -> Result<Option<Job>, HandleError> {
        let text = self
            .state
            .get_state(key)
            .await
            .map_err(|source| HandleError::State {
                job: key.to_owned(),
                source,
            })?;
        match text.map(|t| serde_json::from_str::<Job>(&t)) {
            None => Ok(None),
            Some(Ok(job)) => Ok(Some(job)),
            Some(Err(e)) => {
                // A record this build cannot read: act on nothing rather than twice.
                tracing::error!(job = key, error = %e, "unreadable handler state; not acting on this job");
                Err(HandleError::State {
                    job: key.to_owned(),
                    source: PortError::new(
                        PortErrorKind::Invalid,
                        "read state",
                        format!("not a job record: {e}"),
                    ),
                })
            }
        }
    }

    async fn run_flag_task(
        &self,
        task: &FlagTask,
        now: DateTime<Utc>,
    ) -> Result<(RouteAction, bool), (RouteAction, PortError)> {
        let Some(route) = self.policy.routes.get(task.route()) else {
            return Ok((
                RouteAction::UnknownRoute {
                    route: task.route().to_owned(),
                },
                false,
            ));
        };
        let required = match task {
            FlagTask::Require { requirement, .. } => Some(requirement.step),
            FlagTask::Sync { .. } => None,
        };
        let failed = |e: PortError| {
            let target = required.unwrap_or(1).clamp(1, route.last_step());
            let action = RouteAction::Failed {
                route: route.name.clone(),
                target_model: route.model_at(target).to_owned(),
                // An AWS error's text can be long, and may quote what it refused.
                error: bounded(&e.to_string(), MAX_REASON_BYTES),
            };
            (action, e)
        };
        let mut ledger = self.load_ledger(route).await.map_err(failed)?;
        let flag = self
            .flags
            .get_flag(&route.parameter)
            .await
            .map_err(failed)?;
        let before = standing(route, flag.as_ref());
        let mut changed = ledger.prune(&self.policy, route, now);
        if let FlagTask::Require { requirement, .. } = task {
            changed |= ledger.add(requirement.clone());
        }
        if changed {
            self.save_ledger(&ledger).await.map_err(failed)?;
        }
        let decision = derive(&self.policy, route, &ledger, now);
        let write = !flag_agrees(route, flag.as_ref(), &decision);
        if write {
            let new = flag_for(route, &ledger, &decision, now, None);
            self.flags
                .put_flag(&route.parameter, &new)
                .await
                .map_err(failed)?;
            tracing::info!(route = %route.name, parameter = %route.parameter, model_id = %new.model_id, step = new.step, pinned = new.pinned, "flag written");
        }
        let mut action = describe(route, &before, &decision, required);
        if let RouteAction::Downgrade {
            from_step,
            to_step,
            monthly_saving,
            ..
        } = &mut action
        {
            *monthly_saving =
                crate::estimate::monthly_saving(&self.policy, &route.name, *from_step, *to_step);
        }
        Ok((action, write))
    }

    async fn run(
        &self,
        key: String,
        mut job: Job,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<Outcome, HandleError> {
        job.attempts += 1;
        let mut outcome = Outcome::new(key.clone());
        let mut failed: Vec<(String, PortError)> = Vec::new();
        // A tick's job is saved before anything is done, so that the next tick finds it if this
        // invocation dies (an alert's job is made again from its redelivered message).
        if key.starts_with("rollover/") && job.attempts == 1 {
            self.save(&key, &job, &mut failed).await;
        }

        for task in job.flag_tasks.clone() {
            if job.flags_done.contains(task.route()) {
                continue;
            }
            match self.run_flag_task(&task, now).await {
                Ok((action, wrote)) => {
                    job.set_action(action);
                    job.flags_done.insert(task.route().to_owned());
                    outcome.done.push(task.key());
                    if wrote {
                        outcome.flags_written.push(task.route().to_owned());
                    }
                }
                Err((action, error)) => {
                    tracing::warn!(job = %key, route = task.route(), %error, "flag task failed");
                    job.set_action(action);
                    failed.push((task.key(), error));
                }
            }
            self.save(&key, &job, &mut failed).await;
        }

        let payload = slack_payload(&job.notice);
        for channel in job.slack.clone() {
            let delivery = format!("slack:{channel}");
            if job.sent.get(&delivery) == Some(&job.notice_version) {
                continue;
            }
            let result = match self.policy.channels.get(&channel) {
                Some(ChannelSpec::Slack { webhook_secret, .. }) => {
                    self.slack
                        .post(&channel, webhook_secret, &payload, deadline)
                        .await
                }
                _ => Err(PortError::new(
                    PortErrorKind::Invalid,
                    "post to Slack",
                    format!("channel {channel} is not a Slack channel of the policy"),
                )),
            };
            if self.record(&mut job, &mut outcome, &mut failed, delivery, result) {
                self.save(&key, &job, &mut failed).await;
            }
        }

        let (subject, body) = (email_subject(&job.notice), email_body(&job.notice));
        for channel in job.email.clone() {
            let delivery = format!("email:{channel}");
            if job.sent.get(&delivery) == Some(&job.notice_version) {
                continue;
            }
            let result = self.email.publish(&channel, &subject, &body).await;
            if self.record(&mut job, &mut outcome, &mut failed, delivery, result) {
                self.save(&key, &job, &mut failed).await;
            }
        }

        // The record also stands for the message itself: one with nothing to do must still be
        // found, so that a redelivery is known as one.
        if outcome.done.is_empty() {
            self.save(&key, &job, &mut failed).await;
        }
        outcome.failed = failed
            .iter()
            .map(|(k, e)| (k.clone(), e.to_string()))
            .collect();
        if failed.is_empty() {
            tracing::info!(job = %key, done = ?outcome.done, "job handled");
            Ok(outcome)
        } else {
            Err(HandleError::Incomplete {
                job: key,
                failed,
                outcome: Box::new(outcome),
            })
        }
    }

    async fn save(&self, key: &str, job: &Job, failed: &mut Vec<(String, PortError)>) {
        let record = serde_json::to_string(job).unwrap_or_default();
        if let Err(error) = self.state.put_state(key, &record).await {
            tracing::error!(job = %key, %error, "cannot save the handler state");
            if !failed.iter().any(|(k, _)| k == "state") {
                failed.push(("state".to_owned(), error));
            }
        }
    }

    /// Records a delivery's result; true when it succeeded.
    fn record(
        &self,
        job: &mut Job,
        outcome: &mut Outcome,
        failed: &mut Vec<(String, PortError)>,
        delivery: String,
        result: Result<(), PortError>,
    ) -> bool {
        match result {
            Ok(()) => {
                job.sent.insert(delivery.clone(), job.notice_version);
                outcome.done.push(delivery);
                true
            }
            Err(error) => {
                tracing::warn!(job = %job.id, delivery = %delivery, %error, "delivery failed");
                failed.push((delivery, error));
                false
            }
        }
    }
}

/// In-memory ports for tests and dry runs: real behaviour, scripted failures.
pub mod fakes {
    use super::*;

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pops the next scripted failure, if any.
    fn next_failure(script: &Mutex<Vec<PortErrorKind>>, operation: &str) -> Result<(), PortError> {
        let mut s = lock(script);
        if s.is_empty() {
            Ok(())
        } else {
            Err(PortError::new(s.remove(0), operation, "scripted failure"))
        }
    }

    #[derive(Debug, Default)]
    pub struct MemoryFlags {
        pub flags: Mutex<BTreeMap<String, Flag>>,
        /// Failures for the next `put_flag` calls, in order.
        pub put_failures: Mutex<Vec<PortErrorKind>>,
        pub get_failures: Mutex<Vec<PortErrorKind>>,
        pub puts: Mutex<Vec<(String, Flag)>>,
    }

    impl MemoryFlags {
        pub fn get(&self, parameter: &str) -> Option<Flag> {
            lock(&self.flags).get(parameter).cloned()
        }
        pub fn insert(&self, parameter: &str, flag: Flag) {
            lock(&self.flags).insert(parameter.to_owned(), flag);
        }
        pub fn fail_puts(&self, kinds: impl IntoIterator<Item = PortErrorKind>) {
            lock(&self.put_failures).extend(kinds);
        }
        pub fn fail_gets(&self, kinds: impl IntoIterator<Item = PortErrorKind>) {
            lock(&self.get_failures).extend(kinds);
        }
        pub fn put_count(&self) -> usize {
            lock(&self.puts).len()
        }
    }

    #[async_trait]
    impl FlagStore for MemoryFlags {
        async fn get_flag(&self, parameter: &str) -> Result<Option<Flag>, PortError> {
            next_failure(&self.get_failures, "get flag")?;
            Ok(self.get(parameter))
        }
        async fn put_flag(&self, parameter: &str, flag: &Flag) -> Result<(), PortError> {
            next_failure(&self.put_failures, "put flag")?;
            lock(&self.puts).push((parameter.to_owned(), flag.clone()));
            self.insert(parameter, flag.clone());
            Ok(())
        }
    }

    #[derive(Debug, Default)]
    pub struct MemoryState {
        pub records: Mutex<BTreeMap<String, String>>,
        pub get_failures: Mutex<Vec<PortErrorKind>>,
    }

    impl MemoryState {
        pub fn job(&self, key: &str) -> Option<Job> {
            lock(&self.records)
                .get(key)
                .and_then(|t| serde_json::from_str(t).ok())
        }
        pub fn keys(&self) -> Vec<String> {
            lock(&self.records).keys().cloned().collect()
        }
    }

    #[async_trait]
    impl StateStore for MemoryState {
        async fn get_state(&self, key: &str) -> Result<Option<String>, PortError> {
            next_failure(&self.get_failures, "get state")?;
            Ok(lock(&self.records).get(key).cloned())
        }
        async fn put_state(&self, key: &str, value: &str) -> Result<(), PortError> {
            lock(&self.records).insert(key.to_owned(), value.to_owned());
            Ok(())
        }
        async fn list_state(&self, prefix: &str) -> Result<Vec<(String, String)>, PortError> {
            Ok(lock(&self.records)
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect())
        }
        async fn delete_state(&self, keys: &[String]) -> Result<(), PortError> {
            let mut records = lock(&self.records);
            for key in keys {
                records.remove(key);
            }
            Ok(())
        }
    }

    /// Records successful posts; scripted failures are not recorded.
    #[derive(Debug, Default)]
    pub struct RecordingSlack {
        pub posts: Mutex<Vec<(String, Value)>>,
        pub failures: Mutex<Vec<PortErrorKind>>,
        pub attempts: Mutex<usize>,
    }

    impl RecordingSlack {
        pub fn posts(&self) -> Vec<(String, Value)> {
            lock(&self.posts).clone()
        }
        pub fn fail_next(&self, kinds: impl IntoIterator<Item = PortErrorKind>) {
            lock(&self.failures).extend(kinds);
        }
    }

    #[async_trait]
    impl SlackPoster for RecordingSlack {
        async fn post(
            &self,
            channel: &str,
            _webhook_secret: &str,
            payload: &Value,
            _deadline: Deadline,
        ) -> Result<(), PortError> {
            *lock(&self.attempts) += 1;
            next_failure(&self.failures, "post to Slack")?;
            lock(&self.posts).push((channel.to_owned(), payload.clone()));
            Ok(())
        }
    }

    #[derive(Debug, Default)]
    pub struct RecordingEmail {
        /// `(channel, subject, body)`.
        pub published: Mutex<Vec<(String, String, String)>>,
        pub failures: Mutex<Vec<PortErrorKind>>,
    }

    impl RecordingEmail {
        pub fn published(&self) -> Vec<(String, String, String)> {
            lock(&self.published).clone()
        }
        pub fn fail_next(&self, kinds: impl IntoIterator<Item = PortErrorKind>) {
            lock(&self.failures).extend(kinds);
        }
    }

    #[async_trait]
    impl EmailPublisher for RecordingEmail {
        async fn publish(&self, channel: &str, subject: &str, body: &str) -> Result<(), PortError> {
            next_failure(&self.failures, "publish email")?;
            lock(&self.published).push((channel.to_owned(), subject.to_owned(), body.to_owned()));
            Ok(())
        }
    }
}
