//! The alert-handler's orchestration, generic over its ports: flags, its own state, Slack and
//! email. The Lambda function, `budget-guard alert handle` and the tests (with [`fakes`]) all run
//! this same code.
//!
//! Each SNS message, and each budget's period roll-over, is a *job* with a record in the state
//! store (`alerts/<message id>`, `rollover/<budget>/<period start>` under the policy's state path):
//! the notice (what people are told), the flag tasks, and what succeeded. Order: flags first
//! (they protect the money), then Slack per channel, then one email publish per channel. A failure
//! stops nothing else; the job is saved and the handler returns an error so the delivery is retried,
//! and the retry redoes only what failed. A redelivery of a finished job does nothing.
//!
//! Flag tasks are decided again against the flag of the moment on every attempt, so a retry never
//! moves a flag up. When a retry changes what the notice says (a flag write that failed now
//! succeeded), the notice gets a new version and every channel is told again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::parse_message;
use crate::flags::Flag;
use crate::message::{
    AlertNotice, Notice, RolloverNotice, email_body, email_subject, excerpt, slack_payload,
};
use crate::policy::{ChannelSpec, Policy};
use crate::routing::{
    FlagTask, RouteAction, all_slack_channels, plan_alert, plan_rollover, run_task,
};

/// The `version` of job records this build writes.
pub const JOB_VERSION: u32 = 1;

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

/// How long a finished alert's record is kept: far longer than SNS and Lambda retry a delivery.
pub const ALERT_RETENTION_DAYS: i64 = 30;

/// The records the tick may delete at `now`: finished alert jobs older than
/// [`ALERT_RETENTION_DAYS`], and roll-over jobs of periods that have ended. Records this build
/// cannot read, and unfinished jobs, are kept.
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
            if key.starts_with("alerts/") {
                return (now - job.first_seen).num_days() > ALERT_RETENTION_DAYS;
            }
            // rollover/<budget>/<period start>
            let mut parts = key.splitn(3, '/');
            let (Some("rollover"), Some(budget), Some(start)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return false;
            };
            let Ok(start) = start.parse::<chrono::NaiveDate>() else {
                return false;
            };
            let period = policy
                .budgets
                .values()
                .find(|b| key_part(&b.key) == budget)
                .map(|b| b.period);
            // A budget gone from the policy: keep its record for a year, then let it go.
            match period {
                Some(period) => period.next_start(start) <= today,
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
    ) -> Result<(), PortError>;
}

/// Publishes one email for a channel to the notify topic.
#[async_trait]
pub trait EmailPublisher: Send + Sync {
    async fn publish(&self, channel: &str, subject: &str, body: &str) -> Result<(), PortError>;
}

/// One alert or one budget's roll-over, as kept in the state store.
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
        id: String,
        now: DateTime<Utc>,
        notice: Notice,
        flag_tasks: Vec<FlagTask>,
        slack: Vec<String>,
        email: Vec<String>,
    ) -> Job {
        Job {
            version: JOB_VERSION,
            id,
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
    /// Reading the flags for the roll-over failed.
    #[error("cannot read the flag of route {route}: {source}")]
    Flags { route: String, source: PortError },
}

impl HandleError {
    /// Whether a retry may succeed. Every failure here is worth a retry except invalid input.
    pub fn retryable(&self) -> bool {
        match self {
            HandleError::State { source, .. } | HandleError::Flags { source, .. } => {
                source.retryable()
            }
            HandleError::Incomplete { failed, .. } => failed.iter().any(|(_, e)| e.retryable()),
        }
    }
}

/// The orchestration over the ports.
#[derive(Debug)]
pub struct Handler<F, S, K, E> {
    pub policy: Policy,
    pub flags: F,
    pub state: S,
    pub slack: K,
    pub email: E,
}

/// A state key part from outside (a message id): only `[A-Za-z0-9_.-]`, at most 200 characters.
pub fn key_part(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl<F: FlagStore, S: StateStore, K: SlackPoster, E: EmailPublisher> Handler<F, S, K, E> {
    pub fn new(policy: Policy, flags: F, state: S, slack: K, email: E) -> Self {
        Handler {
            policy,
            flags,
            state,
            slack,
            email,
        }
    }

    /// Handles one SNS message: a Budgets alert, a spend alert, or anything else.
    pub async fn handle_message(
        &self,
        message_id: &str,
        subject: Option<&str>,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, HandleError> {
        let key = format!("alerts/{}", key_part(message_id));
        let job = match self.load(&key).await? {
            Some(job) if job.is_complete() => {
                tracing::info!(job = %key, "already handled; nothing to do");
                return Ok(Outcome {
                    job: key,
                    already_handled: true,
                    done: vec![],
                    failed: vec![],
                    flags_written: vec![],
                });
            }
            Some(job) => job,
            None => self.alert_job(message_id, subject, message, now),
        };
        self.run(key, job, now).await
    }

    fn alert_job(
        &self,
        message_id: &str,
        subject: Option<&str>,
        message: &str,
        now: DateTime<Utc>,
    ) -> Job {
        match parse_message(message) {
            Ok(alert) => {
                let plan = plan_alert(&self.policy, &alert, now);
                tracing::info!(
                    budget = alert.budget_name(),
                    alert_type = %alert.alert_type(),
                    threshold = %alert.threshold(),
                    matched = ?plan.matched,
                    "alert"
                );
                let notice = Notice::Alert(Box::new(AlertNotice::new(
                    &alert,
                    &plan.matched,
                    plan.threshold.clone(),
                )));
                Job::new(
                    message_id.to_owned(),
                    now,
                    notice,
                    plan.flag_task.into_iter().collect(),
                    plan.slack,
                    plan.email,
                )
            }
            Err(error) => {
                tracing::warn!(%error, "a message on the alerts topic is no alert");
                let notice = Notice::Unrecognised {
                    subject: subject.map(str::to_owned),
                    reason: error.to_string(),
                    excerpt: excerpt(message),
                };
                Job::new(
                    message_id.to_owned(),
                    now,
                    notice,
                    vec![],
                    all_slack_channels(&self.policy),
                    vec![],
                )
            }
        }
    }

    /// The period roll-over tick: for each budget whose period rolled over, restores the flags
    /// written in an earlier period and tells the budget's channels. One job per budget and period.
    pub async fn handle_tick(&self, now: DateTime<Utc>) -> Vec<Result<Outcome, HandleError>> {
        let mut results = Vec::new();
        let mut flags = BTreeMap::new();
        for route in self.policy.routes.values() {
            match self.flags.get_flag(&route.parameter).await {
                Ok(Some(flag)) => {
                    flags.insert(route.name.clone(), flag);
                }
                Ok(None) => {}
                Err(source) => results.push(Err(HandleError::Flags {
                    route: route.name.clone(),
                    source,
                })),
            }
        }
        let mut plans: BTreeMap<String, _> = plan_rollover(&self.policy, &flags, now)
            .into_iter()
            .map(|p| (p.budget.clone(), p))
            .collect();
        for budget in self.policy.budgets.values() {
            let period_start = budget.period.start_of(now.date_naive());
            let key = format!("rollover/{}/{}", key_part(&budget.key), period_start);
            let job = match self.load(&key).await {
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
                Ok(Some(job)) if job.is_complete() => continue,
                Ok(Some(job)) => job,
                Ok(None) => {
                    let Some(plan) = plans.remove(&budget.key) else {
                        continue;
                    };
                    let notice = Notice::Rollover(RolloverNotice {
                        budget_name: budget.name.clone(),
                        period: budget.period,
                        period_start,
                        actions: vec![],
                    });
                    Job::new(key.clone(), now, notice, plan.tasks, plan.slack, plan.email)
                }
            };
            results.push(self.run(key, job, now).await);
        }
        self.prune(now).await;
        results
    }

    /// Deletes expired records (see [`expired_records`]). Failures are logged, not returned: the
    /// next tick tries again, and nothing depends on it.
    async fn prune(&self, now: DateTime<Utc>) {
        let mut records = Vec::new();
        for prefix in ["alerts/", "rollover/"] {
            match self.state.list_state(prefix).await {
                Ok(mut found) => records.append(&mut found),
                Err(error) => {
                    tracing::warn!(%error, "cannot list the handler state to prune it");
                    return;
                }
            }
        }
        let expired = expired_records(&self.policy, &records, now);
        if expired.is_empty() {
            return;
        }
        match self.state.delete_state(&expired).await {
            Ok(()) => tracing::info!(deleted = expired.len(), "expired handler state deleted"),
            Err(error) => tracing::warn!(%error, "cannot delete expired handler state"),
        }
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
        let target_model = match task {
            FlagTask::Downgrade { to_step, .. } => route.model_at(*to_step).to_owned(),
            FlagTask::Restore { .. } => route.model_at(1).to_owned(),
        };
        let failed = |e: PortError| {
            let action = RouteAction::Failed {
                route: route.name.clone(),
                target_model: target_model.clone(),
                error: e.to_string(),
            };
            (action, e)
        };
        let current = self
            .flags
            .get_flag(&route.parameter)
            .await
            .map_err(failed)?;
        let (action, write) = run_task(&self.policy, route, task, current.as_ref(), now);
        let wrote = write.is_some();
        if let Some(flag) = write {
            self.flags
                .put_flag(&route.parameter, &flag)
                .await
                .map_err(failed)?;
            tracing::info!(route = %route.name, parameter = %route.parameter, model_id = %flag.model_id, step = flag.step, "flag written");
        }
        Ok((action, wrote))
    }

    async fn run(
        &self,
        key: String,
        mut job: Job,
        now: DateTime<Utc>,
    ) -> Result<Outcome, HandleError> {
        job.attempts += 1;
        let mut outcome = Outcome {
            job: key.clone(),
            already_handled: false,
            done: vec![],
            failed: vec![],
            flags_written: vec![],
        };
        let mut failed: Vec<(String, PortError)> = Vec::new();

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
        }

        let payload = slack_payload(&job.notice);
        for channel in job.slack.clone() {
            let delivery = format!("slack:{channel}");
            if job.sent.get(&delivery) == Some(&job.notice_version) {
                continue;
            }
            let result = match self.policy.channels.get(&channel) {
                Some(ChannelSpec::Slack { webhook_secret }) => {
                    self.slack.post(&channel, webhook_secret, &payload).await
                }
                _ => Err(PortError::new(
                    PortErrorKind::Invalid,
                    "post to Slack",
                    format!("channel {channel} is not a Slack channel of the policy"),
                )),
            };
            self.record(&mut job, &mut outcome, &mut failed, delivery, result);
        }

        let (subject, body) = (email_subject(&job.notice), email_body(&job.notice));
        for channel in job.email.clone() {
            let delivery = format!("email:{channel}");
            if job.sent.get(&delivery) == Some(&job.notice_version) {
                continue;
            }
            let result = self.email.publish(&channel, &subject, &body).await;
            self.record(&mut job, &mut outcome, &mut failed, delivery, result);
        }

        let record = serde_json::to_string(&job).unwrap_or_default();
        if let Err(error) = self.state.put_state(&key, &record).await {
            tracing::error!(job = %key, %error, "cannot save the handler state");
            failed.push(("state".to_owned(), error));
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

    fn record(
        &self,
        job: &mut Job,
        outcome: &mut Outcome,
        failed: &mut Vec<(String, PortError)>,
        delivery: String,
        result: Result<(), PortError>,
    ) {
        match result {
            Ok(()) => {
                job.sent.insert(delivery.clone(), job.notice_version);
                outcome.done.push(delivery);
            }
            Err(error) => {
                tracing::warn!(job = %job.id, delivery = %delivery, %error, "delivery failed");
                failed.push((delivery, error));
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
