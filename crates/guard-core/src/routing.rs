//! Routing decisions, pure: which budget and threshold an alert is about, what it does to a route's
//! flag, and what the period roll-over restores. Flags and time are inputs; nothing is written here.
//!
//! Rules:
//! - An alert matches a budget by its name without the policy's prefix, and a threshold by its basis
//!   (ACTUAL or FORECASTED) and its value in dollars or percent, within a cent or a hundredth of a
//!   percent (Budgets rounds to cents).
//! - Within one budget period a flag only moves down. A flag written for an earlier period of its
//!   budget (the roll-over has not run yet) counts as the top of the ladder.
//! - A pinned flag never moves; the decision says so.
//! - The roll-over restores every flag whose budget period has ended to the top of its ladder,
//!   unless pinned.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertType};
use crate::estimate::monthly_saving;
use crate::flags::{ALERT_HANDLER, Change, Flag, RouteState};
use crate::policy::raw::Basis;
use crate::policy::{BudgetSpec, ChannelSpec, Policy, RouteSpec, ThresholdSpec};

/// How an alert relates to the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Match {
    /// `budget` is the policy's key; `threshold` the index in the budget's thresholds.
    Matched { budget: String, threshold: usize },
    /// No budget of the policy has this name (or it lacks the prefix).
    UnknownBudget,
    /// The budget is known, no threshold of it has this basis and value.
    UnknownThreshold { budget: String },
}

impl Match {
    /// Why an alert is unmatched, for messages; `None` when matched.
    pub fn unmatched_reason(&self, budget_name: &str) -> Option<String> {
        match self {
            Match::Matched { .. } => None,
            Match::UnknownBudget => Some(format!("no budget of the policy is named {budget_name}")),
            Match::UnknownThreshold { budget } => Some(format!(
                "budget {budget} has no threshold with this value and basis"
            )),
        }
    }
}

fn basis_of(alert_type: AlertType) -> Basis {
    match alert_type {
        AlertType::Actual => Basis::Actual,
        AlertType::Forecasted => Basis::Forecasted,
    }
}

/// Matches an alert to a budget and threshold of the policy.
pub fn match_alert(policy: &Policy, alert: &Alert) -> Match {
    let Some(budget) = policy.budget_by_name(alert.budget_name()) else {
        return Match::UnknownBudget;
    };
    let basis = basis_of(alert.alert_type());
    // Budgets reports the threshold in dollars of the budgeted amount it saw; compare against that,
    // and against the policy's amount, in dollars and in percent.
    let cent = Decimal::new(1, 2);
    let alert_percent = alert.threshold_percent();
    let mut best: Option<(Decimal, usize)> = None;
    for (index, t) in budget
        .thresholds
        .iter()
        .enumerate()
        .filter(|(_, t)| t.basis == basis)
    {
        let mut distance = Decimal::MAX;
        for amount in [alert.budgeted(), budget.amount] {
            let dollars = (t.dollars(amount) - alert.threshold()).abs();
            if dollars <= cent {
                distance = distance.min(dollars);
            }
            if t.threshold_type == crate::policy::ThresholdType::Percentage && !amount.is_zero() {
                let percent = (t.percent(amount) - alert_percent).abs();
                if percent <= cent {
                    distance = distance.min(percent);
                }
            }
        }
        if distance != Decimal::MAX && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, index));
        }
    }
    match best {
        Some((_, threshold)) => Match::Matched {
            budget: budget.key.clone(),
            threshold,
        },
        None => Match::UnknownThreshold {
            budget: budget.key.clone(),
        },
    }
}

/// What happened, or would happen, to one route's flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteAction {
    /// Stepped down (or, for a flag from an earlier period, set) to `to_step`.
    Downgrade {
        route: String,
        from_step: usize,
        from_model: String,
        to_step: usize,
        to_model: String,
        ladder_size: usize,
        /// Estimated saving per month of running on `to_model` instead of `from_model`.
        #[serde(default, with = "rust_decimal::serde::str_option")]
        monthly_saving: Option<Decimal>,
    },
    /// The flag is already at or below the target; nothing changes.
    AlreadyThere {
        route: String,
        step: usize,
        model: String,
        target_step: usize,
        target_model: String,
    },
    /// The flag is pinned; the target is not applied.
    Pinned {
        route: String,
        step: usize,
        model: String,
        target_step: usize,
        target_model: String,
    },
    /// The roll-over put the route back on the top of its ladder.
    Restore {
        route: String,
        from_step: usize,
        from_model: String,
        to_model: String,
    },
    /// The roll-over left a pinned flag where it is.
    PinnedStays {
        route: String,
        step: usize,
        model: String,
    },
    /// The route of the downgrade is not in the policy.
    UnknownRoute { route: String },
    /// Reading or writing the flag failed; the handler retries.
    Failed {
        route: String,
        target_model: String,
        error: String,
    },
}

impl RouteAction {
    pub fn route(&self) -> &str {
        match self {
            RouteAction::Downgrade { route, .. }
            | RouteAction::AlreadyThere { route, .. }
            | RouteAction::Pinned { route, .. }
            | RouteAction::Restore { route, .. }
            | RouteAction::PinnedStays { route, .. }
            | RouteAction::UnknownRoute { route }
            | RouteAction::Failed { route, .. } => route,
        }
    }
}

/// A change to make to a route's flag, decided again against the flag of the moment each time it
/// runs, so a retry never moves a flag up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlagTask {
    /// Step `route` down to `to_step` for `budget` (policy key) crossing `threshold` (its label).
    Downgrade {
        route: String,
        budget: String,
        to_step: usize,
        reason: String,
        period_start: NaiveDate,
    },
    /// Put `route` back on top for the new period of `budget` (policy key) starting `period_start`.
    Restore {
        route: String,
        budget: String,
        period_start: NaiveDate,
    },
}

impl FlagTask {
    pub fn route(&self) -> &str {
        match self {
            FlagTask::Downgrade { route, .. } | FlagTask::Restore { route, .. } => route,
        }
    }

    /// The key of this task in a handled job's record.
    pub fn key(&self) -> String {
        format!("flag:{}", self.route())
    }
}

/// Whether a flag was written for a period of its budget that has ended by `today`.
pub fn is_stale(policy: &Policy, flag: &Flag, today: NaiveDate) -> bool {
    let Some(budget) = flag
        .budget
        .as_deref()
        .and_then(|b| policy.budget_by_name(b))
    else {
        return false;
    };
    flag.period_start
        .is_none_or(|start| start < budget.period.start_of(today))
}

/// The outcome of a flag task against the route's current flag: the action and the flag to write,
/// if any. `route` must be the task's route.
pub fn run_task(
    policy: &Policy,
    route: &RouteSpec,
    task: &FlagTask,
    current: Option<&Flag>,
    now: DateTime<Utc>,
) -> (RouteAction, Option<Flag>) {
    let state = RouteState::of(route, current);
    let today = now.date_naive();
    let stale = current.is_some_and(|f| is_stale(policy, f, today));
    match task {
        FlagTask::Downgrade {
            budget,
            to_step,
            reason,
            period_start,
            ..
        } => {
            let budget_name = policy
                .budgets
                .get(budget)
                .map_or(budget.as_str(), |b| b.name.as_str());
            let target = (*to_step).clamp(1, route.cheapest_step());
            let target_model = route.model_at(target).to_owned();
            if state.pinned {
                let action = RouteAction::Pinned {
                    route: route.name.clone(),
                    step: state.step,
                    model: state.model_id,
                    target_step: target,
                    target_model,
                };
                return (action, None);
            }
            // A flag from an ended period stands for the top of the ladder.
            let base = if stale { 1 } else { state.step };
            let change = Change {
                budget: Some(budget_name),
                period_start: Some(*period_start),
                reason,
                at: now,
                by: ALERT_HANDLER,
                pinned: false,
            };
            if target > base {
                let flag = Flag::at_step(route, target, change);
                let action = RouteAction::Downgrade {
                    route: route.name.clone(),
                    from_step: state.step,
                    monthly_saving: monthly_saving(
                        policy,
                        &route.name,
                        &state.model_id,
                        &flag.model_id,
                    ),
                    from_model: state.model_id,
                    to_step: target,
                    to_model: flag.model_id.clone(),
                    ladder_size: route.ladder.len(),
                };
                (action, Some(flag))
            } else {
                // At or below the target. A flag from an ended period is kept where it is but
                // rewritten for this period, so the roll-over does not undo this alert.
                let rewrite = stale.then(|| Flag::at_step(route, base.max(state.step), change));
                let action = RouteAction::AlreadyThere {
                    route: route.name.clone(),
                    step: state.step,
                    model: state.model_id,
                    target_step: target,
                    target_model,
                };
                (action, rewrite)
            }
        }
        FlagTask::Restore {
            budget,
            period_start,
            ..
        } => {
            let budget_name = policy
                .budgets
                .get(budget)
                .map_or(budget.as_str(), |b| b.name.as_str());
            let ours = current.is_some_and(|f| f.budget.as_deref() == Some(budget_name));
            if state.step == 1 || !stale || !ours {
                let action = RouteAction::AlreadyThere {
                    route: route.name.clone(),
                    step: state.step,
                    model: state.model_id,
                    target_step: 1,
                    target_model: route.model_at(1).to_owned(),
                };
                return (action, None);
            }
            if state.pinned {
                return (
                    RouteAction::PinnedStays {
                        route: route.name.clone(),
                        step: state.step,
                        model: state.model_id,
                    },
                    None,
                );
            }
            let reason = format!(
                "{budget_name}: new {} period from {period_start}",
                policy
                    .budgets
                    .get(budget)
                    .map_or("budget", |b| b.period.as_str())
            );
            let change = Change {
                budget: Some(budget_name),
                period_start: Some(*period_start),
                reason: &reason,
                at: now,
                by: ALERT_HANDLER,
                pinned: false,
            };
            let flag = Flag::at_step(route, 1, change);
            let action = RouteAction::Restore {
                route: route.name.clone(),
                from_step: state.step,
                from_model: state.model_id,
                to_model: flag.model_id.clone(),
            };
            (action, Some(flag))
        }
    }
}

/// What an alert leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertPlan {
    pub matched: Match,
    /// The policy's budget key, when matched to a budget.
    pub budget: Option<String>,
    /// The threshold as the policy writes it (`90%`), when matched.
    pub threshold: Option<String>,
    pub flag_task: Option<FlagTask>,
    /// Slack channels to post to, in the policy's order.
    pub slack: Vec<String>,
    /// Email channels to publish to.
    pub email: Vec<String>,
}

/// The channels of `names`, split into Slack and email, each once, in order.
pub fn split_channels<'a>(
    policy: &Policy,
    names: impl IntoIterator<Item = &'a String>,
) -> (Vec<String>, Vec<String>) {
    let mut seen = BTreeSet::new();
    let (mut slack, mut email) = (Vec::new(), Vec::new());
    for name in names {
        if !seen.insert(name.clone()) {
            continue;
        }
        match policy.channels.get(name) {
            Some(ChannelSpec::Slack { .. }) => slack.push(name.clone()),
            Some(ChannelSpec::Email { .. }) => email.push(name.clone()),
            None => {}
        }
    }
    (slack, email)
}

/// Every Slack channel of the policy: where unmatched alerts go.
pub fn all_slack_channels(policy: &Policy) -> Vec<String> {
    policy
        .channels
        .iter()
        .filter(|(_, c)| matches!(c, ChannelSpec::Slack { .. }))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The first day of the budget period an alert is about: the spend watcher says it; for Budgets
/// alerts it is the period containing `now`.
pub fn alert_period_start(budget: &BudgetSpec, alert: &Alert, now: DateTime<Utc>) -> NaiveDate {
    match alert {
        Alert::Spend(a) if a.period == budget.period => a.period_start,
        _ => budget.period.start_of(now.date_naive()),
    }
}

/// The threshold label and basis, for reasons and messages: `90% (ACTUAL)`.
pub fn threshold_title(t: &ThresholdSpec) -> String {
    match t.basis {
        Basis::Actual => format!("{} (ACTUAL)", t.label()),
        Basis::Forecasted => format!("{} (FORECASTED)", t.label()),
    }
}

/// Plans an alert: match it, and say which flag task and channels follow.
pub fn plan_alert(policy: &Policy, alert: &Alert, now: DateTime<Utc>) -> AlertPlan {
    let matched = match_alert(policy, alert);
    let Match::Matched {
        budget: key,
        threshold,
    } = &matched
    else {
        let budget = match &matched {
            Match::UnknownThreshold { budget } => Some(budget.clone()),
            _ => None,
        };
        return AlertPlan {
            matched,
            budget,
            threshold: None,
            flag_task: None,
            slack: all_slack_channels(policy),
            email: Vec::new(),
        };
    };
    let budget = &policy.budgets[key];
    let t = &budget.thresholds[*threshold];
    let (slack, email) = split_channels(policy, &t.notify);
    let flag_task = t.downgrade.as_ref().map(|d| FlagTask::Downgrade {
        route: d.route.clone(),
        budget: key.clone(),
        to_step: d.to_step,
        reason: format!("{} crossed {}", budget.name, threshold_title(t)),
        period_start: alert_period_start(budget, alert, now),
    });
    AlertPlan {
        matched: matched.clone(),
        budget: Some(key.clone()),
        threshold: Some(t.label()),
        flag_task,
        slack,
        email,
    }
}

/// The roll-over of one budget: the flags to restore for its period that starts `period_start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloverPlan {
    /// The policy's budget key.
    pub budget: String,
    pub period_start: NaiveDate,
    pub tasks: Vec<FlagTask>,
    pub slack: Vec<String>,
    pub email: Vec<String>,
}

/// The routes that thresholds of `budget` downgrade, each once, in order.
pub fn downgraded_routes(budget: &BudgetSpec) -> Vec<String> {
    let mut routes: Vec<String> = Vec::new();
    for d in budget
        .thresholds
        .iter()
        .filter_map(|t| t.downgrade.as_ref())
    {
        if !routes.contains(&d.route) {
            routes.push(d.route.clone());
        }
    }
    routes
}

/// For each budget of the policy, the flags (by route) from an earlier period of that budget that
/// the roll-over at `now` restores, or reports as pinned. Budgets with nothing to do are left out.
pub fn plan_rollover(
    policy: &Policy,
    flags: &BTreeMap<String, Flag>,
    now: DateTime<Utc>,
) -> Vec<RolloverPlan> {
    let today = now.date_naive();
    let mut plans = Vec::new();
    for budget in policy.budgets.values() {
        let period_start = budget.period.start_of(today);
        let mut tasks = Vec::new();
        let mut notify: Vec<&String> = Vec::new();
        for (route_name, flag) in flags {
            let Some(route) = policy.routes.get(route_name) else {
                continue;
            };
            if flag.budget.as_deref() != Some(budget.name.as_str())
                || !is_stale(policy, flag, today)
            {
                continue;
            }
            if RouteState::of(route, Some(flag)).step == 1 {
                continue;
            }
            tasks.push(FlagTask::Restore {
                route: route_name.clone(),
                budget: budget.key.clone(),
                period_start,
            });
            for t in &budget.thresholds {
                if t.downgrade.as_ref().is_some_and(|d| &d.route == route_name) {
                    notify.extend(t.notify.iter());
                }
            }
        }
        if tasks.is_empty() {
            continue;
        }
        if notify.is_empty() {
            notify.extend(budget.thresholds.iter().flat_map(|t| t.notify.iter()));
        }
        let (slack, email) = split_channels(policy, notify);
        plans.push(RolloverPlan {
            budget: budget.key.clone(),
            period_start,
            tasks,
            slack,
            email,
        });
    }
    plans
}
