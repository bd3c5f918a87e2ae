//! The alert-handler's orchestration, generic over its ports: flags, its own state, Slack and
//! email. The Lambda function, `budget-guard alert handle`, `alert simulate` and the tests (the
//! last two with [`crate::alerts::in_memory`]) all run this same code, at a `now` they are given.
//!
//! Flags are derived, never stepped (see [`crate::alerts::ledger`]): an alert adds a requirement to its
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

mod alert;
mod command;
mod job;
mod tick;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::alerts::flags::{Flag, RouteState};
use crate::alerts::ledger::{
    self, Decision, Ledger, MAX_BY_BYTES, MAX_REASON_BYTES, Pin, Requirement, bounded, derive,
    flag_agrees, flag_for, off_ladder,
};
use crate::alerts::notice::{
    AlertNotice, Notice, RolloverNotice, email_body, email_subject, excerpt, slack_payload,
};
use crate::alerts::parse::{Alert, parse_message};
use crate::alerts::ports::{Deadline, EmailPublisher, FlagStore, SlackPoster, StateStore};
use crate::alerts::routing::{
    Assessment, RouteAction, Trust, assess, route_channels, split_channels, threshold_title,
};
use crate::policy::{ChannelSpec, Policy, RouteSpec};
use crate::ports::{ErrorKind, PortError};
pub use crate::state_key::key_part;

/// The `version` of job records this build writes.
pub const JOB_VERSION: u32 = 2;

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
pub struct JobOutcome {
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

impl JobOutcome {
    fn new(job: String) -> JobOutcome {
        JobOutcome {
            job,
            already_handled: false,
            done: vec![],
            failed: vec![],
            flags_written: vec![],
            ignored: None,
        }
    }

    fn nothing(job: String) -> JobOutcome {
        JobOutcome {
            already_handled: true,
            ..JobOutcome::new(job)
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HandleError {
    /// The job's record could not be read: nothing was done.
    #[error("cannot read the handler state {job}: {source}")]
    State { job: String, source: PortError },
    /// Some actions failed; the rest succeeded and are recorded.
    #[error("{job}: {} action(s) failed: {}", failed.len(), failed.iter().map(|(k, e)| format!("{k}: {e}")).collect::<Vec<_>>().join("; "))]
    Incomplete {
        job: String,
        failed: Vec<(String, PortError)>,
        outcome: Box<JobOutcome>,
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
                source.is_retryable()
            }
            HandleError::Incomplete { failed, .. } => failed.iter().any(|(_, e)| e.is_retryable()),
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
}
