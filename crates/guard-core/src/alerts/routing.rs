//! Routing decisions, pure: which budget, threshold and period an alert is about, whether it is to
//! be trusted, and how flag changes are described. Where a route must be is decided by
//! [`crate::alerts::ledger::derive`]; nothing is written here.
//!
//! Rules:
//! - An alert matches a budget by its name with the policy's prefix, and a threshold by its basis
//!   (ACTUAL or FORECASTED) and its value, in dollars or percent of the *policy's* amount, within a
//!   cent or a hundredth of a percent (Budgets rounds to cents). The amounts an alert claims are
//!   never used to match it.
//! - An AWS Budgets alert belongs to the period of its notification date (UTC, as AWS Budgets
//!   counts) and must name the deploying account. A spend alert's `period` must be its budget's
//!   and its `period_start` the start of the period that contains its `observed_at`.
//! - An alert whose period is not the current one at `now` is late: people are told, and it never
//!   moves a flag.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::alerts::parse::Alert;
use crate::policy::{BudgetSpec, ChannelSpec, Policy, ThresholdSpec};

/// How far ahead of the handler's clock a spend alert's `observed_at`, or a scheduled event's
/// `time`, may be.
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 15;

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

/// Matches an alert to a budget and threshold of the policy.
pub fn match_alert(policy: &Policy, alert: &Alert) -> Match {
    let Some(budget) = policy.budget_by_name(alert.budget_name()) else {
        return Match::UnknownBudget;
    };
    let basis = alert.alert_type();
    // Only the policy's amount: an alert's own `budgeted` is not evidence of anything.
    let cent = Decimal::new(1, 2);
    let amount = budget.amount;
    // Checked: an alert's numbers come from outside and may be absurd.
    let alert_percent = alert
        .threshold()
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|t| t.checked_div(amount))
        .map(|p| p.round_dp(2));
    let mut best: Option<(Decimal, usize)> = None;
    for (index, t) in budget
        .thresholds
        .iter()
        .enumerate()
        .filter(|(_, t)| t.basis == basis)
    {
        let mut distance = Decimal::MAX;
        if let Some(dollars) = t.dollars(amount).checked_sub(alert.threshold())
            && dollars.abs() <= cent
        {
            distance = distance.min(dollars.abs());
        }
        if t.threshold_type == crate::policy::ThresholdType::Percentage
            && let Some(alert_percent) = alert_percent
            && let Some(percent) = t.percent(amount).checked_sub(alert_percent)
            && percent.abs() <= cent
        {
            distance = distance.min(percent.abs());
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
        // Left out when unknown: `str_option` writes `null` but cannot read it back.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "rust_decimal::serde::str_option"
        )]
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
    /// The route went back up: to the top of its ladder, or to the step that a requirement still
    /// in force holds it at.
    Restore {
        route: String,
        from_step: usize,
        from_model: String,
        #[serde(default = "top_step")]
        to_step: usize,
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

/// The threshold label and basis, for reasons and messages: `90% (ACTUAL)`.
pub fn threshold_title(t: &ThresholdSpec) -> String {
    format!("{} ({})", t.label(), t.basis.as_api())
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

fn top_step() -> usize {
    1
}

/// The Slack and email channels of every threshold that steps `route` down, else `fallback`.
pub fn route_channels(
    policy: &Policy,
    route: &str,
    budget: Option<&BudgetSpec>,
) -> (Vec<String>, Vec<String>) {
    let names: Vec<&String> = policy
        .budgets
        .values()
        .filter(|b| budget.is_none_or(|only| only.key == b.key))
        .flat_map(|b| b.thresholds.iter())
        .filter(|t| t.downgrade.as_ref().is_some_and(|d| d.route == route))
        .flat_map(|t| t.notify.iter())
        .collect();
    if names.is_empty() {
        return split_channels(policy, &policy.settings.unmatched_notify);
    }
    split_channels(policy, names)
}

/// What the handler trusts. `None` fields check nothing (tests and dry runs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// The alerts topic: SNS records from any other topic are ignored.
    pub alerts_topic: Option<String>,
    /// The AWS account that deployed the guard: AWS Budgets alerts must name it.
    pub account: Option<String>,
}

impl Trust {
    /// Trusts the alerts topic `arn` and the account it belongs to.
    pub fn for_alerts_topic(arn: &str) -> Trust {
        Trust {
            alerts_topic: Some(arn.to_owned()),
            account: arn
                .split(':')
                .nth(4)
                .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned),
        }
    }
}

/// What an alert is, as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    /// A budget and threshold of the policy, in a known period.
    Matched {
        /// The policy's budget key.
        budget: String,
        /// The index of the threshold in the budget's thresholds.
        threshold: usize,
        period_start: NaiveDate,
        /// The period is not the current one at `now`: tell, never move a flag.
        late: bool,
    },
    /// Not for this guard, or not to be believed; `reason` says why. No flag moves.
    Unmatched { reason: String },
}

/// Places `alert` against the policy at `now` (see the module rules).
pub fn assess(policy: &Policy, trust: &Trust, alert: &Alert, now: DateTime<Utc>) -> Assessment {
    let unmatched = |reason: String| Assessment::Unmatched { reason };
    if let (Alert::Budgets(a), Some(ours)) = (alert, &trust.account)
        && a.account.as_deref() != Some(ours.as_str())
    {
        return unmatched(format!(
            "the alert is for AWS account {}, not this deployment's ({ours})",
            a.account.as_deref().unwrap_or("(none named)")
        ));
    }
    let (key, threshold) = match match_alert(policy, alert) {
        Match::Matched { budget, threshold } => (budget, threshold),
        other => {
            return unmatched(
                other
                    .unmatched_reason(alert.budget_name())
                    .unwrap_or_default(),
            );
        }
    };
    let budget = &policy.budgets[&key];
    if let Some(period) = alert.period()
        && period != budget.period
    {
        return unmatched(format!(
            "the alert is about a {period} period; budget {} is {}",
            budget.name, budget.period
        ));
    }
    let period_start = match alert {
        Alert::Spend(a) => {
            let expected = budget.period.start_of(a.observed_at.date_naive());
            if a.period_start != expected {
                return unmatched(format!(
                    "period_start {} is not the start ({expected}) of the {} period that contains observed_at {}",
                    a.period_start,
                    budget.period,
                    a.observed_at.to_rfc3339()
                ));
            }
            if a.observed_at > now + Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
                return unmatched(format!(
                    "observed_at {} is in the future",
                    a.observed_at.to_rfc3339()
                ));
            }
            expected
        }
        Alert::Budgets(a) => match a.notification_date {
            Some(date) => budget.period.start_of(date),
            None => {
                return unmatched(
                    "the alert has no notification date, so its period is unknown".to_owned(),
                );
            }
        },
    };
    let current = budget.period.start_of(now.date_naive());
    if period_start > current {
        // Recorded, it would stand for a threshold already told and suppress the real alert.
        return unmatched(format!(
            "the alert is about the {} period from {period_start}, which has not begun",
            budget.period
        ));
    }
    Assessment::Matched {
        budget: key,
        threshold,
        period_start,
        late: period_start != current,
    }
}
