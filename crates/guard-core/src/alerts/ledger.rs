//! The requirement ledger: why each route is where it is. A route's flag is never stepped; it is
//! derived, by [`derive()`], from the route's ledger, the policy and `now`:
//!
//! > The flag is the deepest step required by any requirement whose budget is in the policy (and
//! > still steps this route down) and whose period is current at `now`, unless the route is pinned.
//!
//! Alerts add requirements, the tick drops those that no longer count, operators pin, unpin, set
//! and restore; every one of them then calls the same [`derive()`]. So a daily budget's roll-over
//! leaves a monthly budget's requirement in force, an alert about an ended period moves nothing,
//! and a budget removed from the policy stops holding its routes down.
//!
//! One ledger per route, kept by the alert handler at `ledger/<route>` under the state path. Every
//! field is bounded so a record always fits a standard SSM parameter ([`MAX_RECORD_BYTES`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::alerts::flags::{ALERT_HANDLER, Change, Flag};
use crate::period::Period;
use crate::policy::{BudgetSpec, Policy, RouteSpec};

/// The `version` of ledger records this build writes.
pub const LEDGER_VERSION: u32 = 1;
/// A standard SSM parameter holds at most 4 KB.
pub const MAX_RECORD_BYTES: usize = 4096;
/// Alert ids kept per requirement: the first that raised it and the latest that confirmed it.
pub const MAX_ALERT_IDS: usize = 2;
/// Longest alert id kept, in bytes as stored (SNS message ids are 36 characters).
pub const MAX_ALERT_ID_BYTES: usize = 40;
/// Longest `by` and `reason` kept from an operator or an alert, in bytes as stored.
pub const MAX_BY_BYTES: usize = 64;
pub const MAX_REASON_BYTES: usize = 200;
/// Thresholds of all budgets that may step one route down: bounds the route's ledger (validation
/// enforces it; a test proves the largest ledger fits [`MAX_RECORD_BYTES`]).
pub const MAX_DOWNGRADES_PER_ROUTE: usize = 8;

/// Requirements kept per route: every downgrade of the policy, an operator's, and room for
/// those of budgets that left the policy within their period.
pub const MAX_REQUIREMENTS: usize = MAX_DOWNGRADES_PER_ROUTE + 2;

/// The `threshold` of an operator's requirement (`budget-guard flags set`).
pub const MANUAL: &str = "manual";

/// One reason for a route to be at least at `step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// The AWS budget name (prefix included); `None` for an operator's `flags set`.
    pub budget: Option<String>,
    pub period: Period,
    /// The first day (UTC) of the period the requirement belongs to.
    pub period_start: NaiveDate,
    /// The threshold as the policy writes it, with its basis: `90% (ACTUAL)`; [`MANUAL`] for an
    /// operator's.
    pub threshold: String,
    pub step: usize,
    /// The alerts that raised it (or `by` for an operator's), at most [`MAX_ALERT_IDS`].
    #[serde(default)]
    pub alert_ids: Vec<String>,
}

impl Requirement {
    fn same(&self, other: &Requirement) -> bool {
        self.budget == other.budget
            && self.period == other.period
            && self.period_start == other.period_start
            && self.threshold == other.threshold
    }
}

/// An operator's pin: the route stays at `step` whatever alerts and periods do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub step: usize,
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub version: u32,
    pub route: String,
    #[serde(default)]
    pub requirements: Vec<Requirement>,
    #[serde(default)]
    pub pin: Option<Pin>,
}

/// Cuts `text` from outside to at most `max` bytes as it is stored in a JSON record, saying how
/// many characters were cut: `… (4,200 more characters)`. Plain ASCII keeps up to `max`
/// characters; quotes, control characters and other scripts take more bytes each.
pub fn bounded(text: &str, max: usize) -> String {
    crate::text::clip_json(text, max)
}

impl Ledger {
    pub fn new(route: &str) -> Ledger {
        Ledger {
            version: LEDGER_VERSION,
            route: route.to_owned(),
            requirements: Vec::new(),
            pin: None,
        }
    }

    /// Adds `requirement`, or the alert id to the same requirement already there. True when the
    /// ledger changed.
    pub fn add(&mut self, mut requirement: Requirement) -> bool {
        for id in &mut requirement.alert_ids {
            *id = bounded(id, MAX_ALERT_ID_BYTES);
        }
        requirement.alert_ids.truncate(MAX_ALERT_IDS);
        if let Some(existing) = self.requirements.iter_mut().find(|r| r.same(&requirement)) {
            let mut changed = false;
            if requirement.step > existing.step {
                existing.step = requirement.step;
                changed = true;
            }
            for id in requirement.alert_ids {
                if existing.alert_ids.contains(&id) {
                    continue;
                }
                // Keep the first id and the latest one.
                if existing.alert_ids.len() >= MAX_ALERT_IDS {
                    existing.alert_ids.truncate(MAX_ALERT_IDS - 1);
                }
                existing.alert_ids.push(id);
                changed = true;
            }
            return changed;
        }
        self.requirements.push(requirement);
        true
    }

    /// Drops the requirements whose period has ended at `now`: they can never count again.
    /// Those of a budget that is not in the policy are kept until their period ends (the budget
    /// may come back within it), unless the ledger grows past its bound. True when it changed.
    pub fn prune(&mut self, policy: &Policy, route: &RouteSpec, now: DateTime<Utc>) -> bool {
        let before = self.requirements.len();
        let today = now.date_naive();
        self.requirements
            .retain(|r| r.period.start_of(today) == r.period_start);
        if self.requirements.len() > MAX_REQUIREMENTS {
            self.requirements.retain(|r| counts(policy, route, r, now));
        }
        before != self.requirements.len()
    }

    /// The operator's requirement, replacing an earlier one of the same period.
    pub fn set_manual(&mut self, requirement: Requirement) {
        self.requirements.retain(|r| r.budget.is_some());
        self.requirements.push(requirement);
    }

    /// The record as stored: JSON, at most [`MAX_RECORD_BYTES`] for a valid policy.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether budget `budget` has a threshold that steps `route` down.
pub fn steps_down(budget: &BudgetSpec, route: &str) -> bool {
    budget
        .thresholds
        .iter()
        .any(|t| t.downgrade.as_ref().is_some_and(|d| d.route == route))
}

/// The period of an operator's requirement on `route`: that of the first budget stepping the
/// route down, else monthly. So a flag set by hand lasts until that budget's roll-over.
pub fn manual_period(policy: &Policy, route: &str) -> Period {
    policy
        .budgets
        .values()
        .find(|b| steps_down(b, route))
        .map_or(Period::Monthly, |b| b.period)
}

/// Whether a requirement counts at `now`: its period is the current one, and it is an operator's
/// or its budget is in the policy, with the same period, and still steps this route down.
pub fn counts(policy: &Policy, route: &RouteSpec, r: &Requirement, now: DateTime<Utc>) -> bool {
    let today = now.date_naive();
    if r.period.start_of(today) != r.period_start {
        return false;
    }
    match &r.budget {
        None => true,
        Some(name) => policy
            .budget_by_name(name)
            .is_some_and(|b| b.period == r.period && steps_down(b, &route.name)),
    }
}

/// Where a route must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// 1-based step on the route's ladder.
    pub step: usize,
    pub pinned: bool,
    /// The requirement that sets the step (the first of the deepest), when not pinned.
    pub because: Option<Requirement>,
}

/// The rule (see the module docs).
pub fn derive(policy: &Policy, route: &RouteSpec, ledger: &Ledger, now: DateTime<Utc>) -> Decision {
    let clamp = |step: usize| step.clamp(1, route.last_step());
    if let Some(pin) = &ledger.pin {
        return Decision {
            step: clamp(pin.step),
            pinned: true,
            because: None,
        };
    }
    let mut best: Option<&Requirement> = None;
    for r in ledger
        .requirements
        .iter()
        .filter(|r| counts(policy, route, r, now))
    {
        if best.is_none_or(|b| clamp(r.step) > clamp(b.step)) {
            best = Some(r);
        }
    }
    Decision {
        step: best.map_or(1, |r| clamp(r.step)),
        pinned: false,
        because: best.cloned(),
    }
}

/// Whether the stored flag already says what `decision` says: its model, tier, cap and block are
/// the ladder's at the decided step, and its pin agrees. No flag stands for the top of the
/// ladder, unpinned (when that step is a plain model call).
pub fn flag_agrees(route: &RouteSpec, flag: Option<&Flag>, decision: &Decision) -> bool {
    let rung = route.step_at(decision.step);
    match flag {
        None => decision.step == 1 && !decision.pinned && rung == Default::default(),
        Some(f) => {
            f.model_id == route.model_at(decision.step)
                && f.step == decision.step
                && f.ladder_size == route.ladder.len()
                && f.pinned == decision.pinned
                && (f.service_tier, f.max_output_tokens, f.blocked)
                    == (rung.service_tier, rung.max_output_tokens, rung.blocked)
        }
    }
}

/// Who writes a flag, and why, when it is not the alert handler's own decision.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub by: &'a str,
    pub reason: &'a str,
}

/// The flag that says `decision`, written at `now`, by the alert handler or an operator.
pub fn flag_for(
    route: &RouteSpec,
    ledger: &Ledger,
    decision: &Decision,
    now: DateTime<Utc>,
    author: Option<Author<'_>>,
) -> Flag {
    let reason = match (&ledger.pin, &decision.because) {
        _ if author.is_some() => author.map(|a| a.reason.to_owned()).unwrap_or_default(),
        (Some(pin), _) => format!("pinned by {}: {}", pin.by, pin.reason),
        (None, Some(r)) => match &r.budget {
            Some(budget) => format!("{budget} crossed {}", r.threshold),
            None => format!(
                "set by hand ({})",
                r.alert_ids.first().map_or("operator", String::as_str)
            ),
        },
        (None, None) => "no budget requires a step down this period".to_owned(),
    };
    let change = Change {
        budget: decision.because.as_ref().and_then(|r| r.budget.as_deref()),
        period_start: decision.because.as_ref().map(|r| r.period_start),
        reason: &bounded(&reason, MAX_REASON_BYTES),
        at: now,
        by: &author.map_or_else(|| ALERT_HANDLER.to_owned(), |a| bounded(a.by, MAX_BY_BYTES)),
        pinned: decision.pinned,
    };
    Flag::at_step(route, decision.step, change)
}

/// Whether the stored flag names a model off its route's ladder.
pub fn off_ladder(route: &RouteSpec, flag: Option<&Flag>) -> bool {
    flag.is_some_and(|f| route.step_of(&f.model_id).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::raw::Settings;
    use crate::policy::{DowngradeSpec, ScopeSpec, ThresholdSpec, ThresholdType};
    use crate::spend_basis::SpendBasis;
    use chrono::TimeZone;
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;

    fn route() -> RouteSpec {
        RouteSpec {
            name: "chat".into(),
            ladder: vec!["a".into(), "b".into(), "c".into()],
            steps: vec![crate::policy::StepSpec::default(); 3],
            parameter: "/budget-guard/routes/chat".into(),
        }
    }

    fn budget(key: &str, period: Period, to_step: usize) -> BudgetSpec {
        BudgetSpec {
            key: key.into(),
            name: format!("bg-{key}"),
            amount: Decimal::new(100, 0),
            period,
            scope: ScopeSpec::default(),
            watch: false,
            thresholds: vec![ThresholdSpec {
                value: Decimal::new(90, 0),
                threshold_type: ThresholdType::Percentage,
                basis: SpendBasis::Actual,
                notify: vec![],
                downgrade: Some(DowngradeSpec {
                    route: "chat".into(),
                    to_step,
                }),
                deny_roles: vec![],
            }],
            usage: vec![],
        }
    }

    fn policy(budgets: Vec<BudgetSpec>) -> Policy {
        Policy {
            settings: Settings::default(),
            channels: BTreeMap::new(),
            routes: [("chat".to_owned(), route())].into(),
            budgets: budgets.into_iter().map(|b| (b.key.clone(), b)).collect(),
            pricing: BTreeMap::new(),
            catalog_prices: BTreeMap::new(),
        }
    }

    fn at(m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).single().unwrap()
    }

    fn req(budget: &str, period: Period, start: NaiveDate, step: usize) -> Requirement {
        Requirement {
            budget: Some(budget.into()),
            period,
            period_start: start,
            threshold: "90% (ACTUAL)".into(),
            step,
            alert_ids: vec!["m1".into()],
        }
    }

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn a_daily_rollover_leaves_the_monthly_requirement_in_force() {
        let p = policy(vec![
            budget("monthly", Period::Monthly, 2),
            budget("daily", Period::Daily, 3),
        ]);
        let mut ledger = Ledger::new("chat");
        ledger.add(req("bg-monthly", Period::Monthly, day(11, 1), 2));
        ledger.add(req("bg-daily", Period::Daily, day(11, 20), 3));
        assert_eq!(derive(&p, &route(), &ledger, at(11, 20, 12)).step, 3);
        assert_eq!(derive(&p, &route(), &ledger, at(11, 21, 0)).step, 2);
        assert_eq!(derive(&p, &route(), &ledger, at(12, 1, 0)).step, 1);
        assert!(ledger.prune(&p, &route(), at(11, 21, 0)));
        assert_eq!(ledger.requirements.len(), 1);
        assert!(!ledger.prune(&p, &route(), at(11, 22, 0)));
    }

    #[test]
    fn a_budget_gone_from_the_policy_holds_nothing() {
        let with = policy(vec![budget("monthly", Period::Monthly, 3)]);
        let renamed = policy(vec![budget("monthly2", Period::Monthly, 3)]);
        let mut ledger = Ledger::new("chat");
        ledger.add(req("bg-monthly", Period::Monthly, day(11, 1), 3));
        assert_eq!(derive(&with, &route(), &ledger, at(11, 20, 0)).step, 3);
        assert_eq!(derive(&renamed, &route(), &ledger, at(11, 20, 0)).step, 1);
        let mut reprefixed = with.clone();
        reprefixed.settings.budget_prefix = "guard-".into();
        assert_eq!(
            derive(&reprefixed, &route(), &ledger, at(11, 20, 0)).step,
            1
        );
        // Gone and back within the period: the rule holds again, so the requirement was kept.
        assert!(!ledger.prune(&renamed, &route(), at(11, 20, 0)));
        assert_eq!(derive(&with, &route(), &ledger, at(11, 21, 0)).step, 3);
    }

    #[test]
    fn a_pin_wins_and_steps_are_clamped_to_the_ladder() {
        let p = policy(vec![budget("monthly", Period::Monthly, 9)]);
        let mut ledger = Ledger::new("chat");
        ledger.add(req("bg-monthly", Period::Monthly, day(11, 1), 9));
        assert_eq!(derive(&p, &route(), &ledger, at(11, 2, 0)).step, 3);
        ledger.pin = Some(Pin {
            step: 1,
            by: "ops".into(),
            reason: "launch day".into(),
            at: at(11, 2, 0),
        });
        let d = derive(&p, &route(), &ledger, at(11, 2, 0));
        assert_eq!((d.step, d.pinned), (1, true));
    }

    #[test]
    fn adding_is_idempotent_and_keeps_the_first_and_latest_ids() {
        let mut ledger = Ledger::new("chat");
        let r = req("bg-monthly", Period::Monthly, day(11, 1), 2);
        assert!(ledger.add(r.clone()));
        assert!(!ledger.add(r.clone()));
        for id in ["m2", "m3"] {
            let mut again = r.clone();
            again.alert_ids = vec![id.into()];
            assert!(ledger.add(again));
        }
        assert_eq!(ledger.requirements.len(), 1);
        assert_eq!(ledger.requirements[0].alert_ids, ["m1", "m3"]);
    }

    #[test]
    fn the_flag_agrees_only_with_the_ladders_model_at_the_step() {
        let p = policy(vec![budget("monthly", Period::Monthly, 2)]);
        let mut ledger = Ledger::new("chat");
        ledger.add(req("bg-monthly", Period::Monthly, day(11, 1), 2));
        let d = derive(&p, &route(), &ledger, at(11, 2, 0));
        let flag = flag_for(&route(), &ledger, &d, at(11, 2, 0), None);
        assert_eq!((flag.model_id.as_str(), flag.step), ("b", 2));
        assert!(flag_agrees(&route(), Some(&flag), &d));
        let mut off = flag.clone();
        off.model_id = "someone-elses-model".into();
        assert!(!flag_agrees(&route(), Some(&off), &d));
        assert!(off_ladder(&route(), Some(&off)));
        assert!(!flag_agrees(&route(), None, &d));
    }

    #[test]
    fn the_largest_ledger_fits_a_standard_ssm_parameter() {
        use crate::policy::limits;
        // Budget names take at most 100 bytes as stored (validation enforces it: 100 ASCII
        // characters, AWS's limit, or fewer of those that take more room: here quotes, stored as
        // `\"`); route names at most 64 characters. The longest threshold title validation lets
        // through: the smallest amount a `Decimal` holds, forecasted. Alert ids, `by` and
        // `reason` are cut to their bounds.
        let budget = |i: usize| format!("{i:0>2}{}", "\"".repeat(49));
        assert_eq!(
            crate::text::json_len(&budget(0)),
            limits::BUDGET_NAME_MAX_STORED_BYTES
        );
        let mut ledger = Ledger::new(&"r".repeat(limits::NAME_MAX_CHARS));
        for i in 0..MAX_REQUIREMENTS {
            ledger.requirements.push(Requirement {
                budget: Some(budget(i)),
                period: Period::Quarterly,
                period_start: day(10, 1),
                threshold: "$0.0000000000000000000000000001 (FORECASTED)".into(),
                step: 10,
                alert_ids: vec![bounded(&"\u{1}".repeat(5000), MAX_ALERT_ID_BYTES); MAX_ALERT_IDS],
            });
        }
        ledger.pin = Some(Pin {
            step: 10,
            by: bounded(&"😀".repeat(5000), MAX_BY_BYTES),
            reason: bounded(&"\"".repeat(5000), MAX_REASON_BYTES),
            at: at(11, 2, 0),
        });
        let len = ledger.to_json().len();
        eprintln!("the largest ledger: {len} bytes");
        assert!(len <= MAX_RECORD_BYTES, "{len} bytes");
    }

    #[test]
    fn bounded_cuts_with_a_count() {
        assert_eq!(bounded("short", 10), "short");
        let cut = bounded(&"x".repeat(5000), 200);
        assert!(cut.chars().count() <= 200, "{}", cut.len());
        assert!(cut.ends_with("more characters)"), "{cut}");
    }
}
