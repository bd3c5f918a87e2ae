//! The flags oracle. The rule of DESIGN.md, written as plainly as possible in [`oracle_step`], is
//! checked against the real handler over in-memory ports, after every event of random sequences:
//! alerts from budgets of every period and both sources, on time, late, from the future,
//! duplicated, redelivered and forged; ticks at random times and at every day boundary (as the
//! hourly schedule runs them); pins, unpins, restores and hand-set steps; policy changes; and port
//! failures injected before events, each failed event retried as Lambda retries it.
//!
//! `make test` runs 256 cases. The longer run in BENCHMARKS.md sets `BUDGET_GUARD_ORACLE_CASES`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use futures::executor::block_on;
use guard_core::alerts::flags::RouteState;
use guard_core::alerts::handler::{Command, Handler, Inbound};
use guard_core::alerts::in_memory::InMemoryHandler;
use guard_core::alerts::parse::spend_alert::SpendAlert;
use guard_core::alerts::routing::{Trust, threshold_title};
use guard_core::period::Period;
use guard_core::policy::{self, BudgetSpec, Policy, SourceFile};
use guard_core::ports::ErrorKind;
use guard_testkit::BudgetsAlert;
use proptest::prelude::*;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts";
const ACCOUNT: &str = "123456789012";

fn base_policy() -> Policy {
    // Loaded once: validation is the slow part of a case, and the long run has 100,000 of them.
    static BASE: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let yaml = include_str!("../../../tests/fixtures/policies/flags-oracle.yaml");
        let (policy, diagnostics) = policy::load(&[SourceFile::new("flags-oracle.yaml", yaml)]);
        policy.unwrap_or_else(|| panic!("{diagnostics:?}"))
    })
    .clone()
}

/// The policies a sequence moves between: as written; without the quarterly budget; with the
/// monthly budget renamed; with the annual budget stepping the route further down.
fn policy_variant(variant: usize) -> Policy {
    let mut p = base_policy();
    match variant {
        1 => {
            p.budgets.remove("chat-quarterly");
        }
        2 => {
            let mut b = p.budgets.remove("chat-monthly").unwrap();
            b.key = "chat-monthly-v2".into();
            b.name = "bg-chat-monthly-v2".into();
            p.budgets.insert(b.key.clone(), b);
        }
        3 => {
            let b = p.budgets.get_mut("chat-annual").unwrap();
            b.thresholds[0].downgrade.as_mut().unwrap().to_step = 4;
        }
        _ => {}
    }
    p
}

// ---------------------------------------------------------------------------------------------
// The oracle: the rule, and nothing else.

#[derive(Debug, Default, Clone)]
struct Oracle {
    /// (route, budget name, period, period start, step)
    required: BTreeSet<(String, String, Period, NaiveDate, usize)>,
    /// (route, period, period start, step): an operator's `flags set`.
    manual: BTreeSet<(String, Period, NaiveDate, usize)>,
    /// (route, step)
    pins: BTreeSet<(String, usize)>,
    /// (budget name, period start, threshold): told once, acted on once.
    seen: BTreeSet<(String, NaiveDate, String)>,
}

/// The deepest step required by any requirement whose budget is in the policy (and still steps
/// this route down) and whose period is current at `now`, unless the route is pinned.
fn oracle_step(o: &Oracle, p: &Policy, route: &str, now: DateTime<Utc>) -> (usize, bool) {
    let cheapest = p.routes[route].ladder.len();
    if let Some((_, step)) = o.pins.iter().find(|(r, _)| r == route) {
        return ((*step).clamp(1, cheapest), true);
    }
    let current = |period: Period, start: NaiveDate| period.start_of(now.date_naive()) == start;
    let by_budget = o.required.iter().filter(|(r, name, period, start, _)| {
        r == route
            && current(*period, *start)
            && p.budget_by_name(name).is_some_and(|b| {
                b.period == *period
                    && b.thresholds
                        .iter()
                        .any(|t| t.downgrade.as_ref().is_some_and(|d| d.route == route))
            })
    });
    let by_hand = o
        .manual
        .iter()
        .filter(|(r, period, start, _)| r == route && current(*period, *start));
    let deepest = by_budget
        .map(|x| x.4)
        .chain(by_hand.map(|x| x.3))
        .max()
        .unwrap_or(1);
    (deepest.clamp(1, cheapest), false)
}

// ---------------------------------------------------------------------------------------------
// Events.

#[derive(Debug, Clone, Copy)]
enum Forgery {
    None,
    OtherAccount,
    OtherTopic,
    /// A spend alert whose period_start is not the start of the period of its observed_at.
    WrongPeriodStart,
}

#[derive(Debug, Clone)]
enum Event {
    Alert {
        budget: usize,
        threshold: usize,
        /// -1: about the period before (late); 0: this one; 1: the next (from the future).
        offset: i8,
        spend: bool,
        forgery: Forgery,
    },
    Redeliver,
    Tick,
    Pin(Option<usize>),
    Unpin,
    Restore(bool),
    Set(usize),
    Policy(usize),
}

#[derive(Debug, Clone, Copy)]
enum Failure {
    None,
    FlagPut,
    StateGet,
    Slack,
    Email,
}

fn event() -> impl Strategy<Value = Event> {
    let forgery = prop_oneof![
        6 => Just(Forgery::None),
        1 => Just(Forgery::OtherAccount),
        1 => Just(Forgery::OtherTopic),
        1 => Just(Forgery::WrongPeriodStart),
    ];
    let offset = prop_oneof![6 => Just(0i8), 2 => Just(-1i8), 1 => Just(1i8)];
    prop_oneof![
        10 => (0..5usize, 0..2usize, offset, any::<bool>(), forgery).prop_map(
            |(budget, threshold, offset, spend, forgery)| Event::Alert { budget, threshold, offset, spend, forgery }
        ),
        2 => Just(Event::Redeliver),
        3 => Just(Event::Tick),
        1 => proptest::option::of(1..=4usize).prop_map(Event::Pin),
        1 => Just(Event::Unpin),
        1 => any::<bool>().prop_map(Event::Restore),
        1 => (1..=4usize).prop_map(Event::Set),
        1 => (0..4usize).prop_map(Event::Policy),
    ]
}

fn failure() -> impl Strategy<Value = Failure> {
    prop_oneof![
        8 => Just(Failure::None),
        1 => Just(Failure::FlagPut),
        1 => Just(Failure::StateGet),
        1 => Just(Failure::Slack),
        1 => Just(Failure::Email),
    ]
}

fn inject(h: &InMemoryHandler, failure: Failure) {
    match failure {
        Failure::None => {}
        Failure::FlagPut => h.flags.fail_puts([ErrorKind::Throttled]),
        Failure::StateGet => h
            .state
            .get_failures
            .lock()
            .unwrap()
            .push(ErrorKind::Transient),
        Failure::Slack => h.slack.fail_next([ErrorKind::Timeout]),
        Failure::Email => h.email.fail_next([ErrorKind::Throttled]),
    }
}

/// Runs `attempt` until it succeeds, as Lambda and SNS retry; every injected failure is one-shot.
fn retried<T, E: std::fmt::Debug>(mut attempt: impl FnMut() -> Result<T, E>) {
    let mut last = None;
    for _ in 0..6 {
        match attempt() {
            Ok(_) => return,
            Err(e) => last = Some(e),
        }
    }
    panic!("still failing after 6 attempts: {last:?}");
}

fn tick(h: &InMemoryHandler, now: DateTime<Utc>) {
    retried(|| {
        let results = block_on(h.handle_tick(now, None));
        match results.iter().find(|r| r.is_err()) {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(()),
        }
    });
}

fn command(h: &InMemoryHandler, command: &Command, now: DateTime<Utc>) {
    retried(|| block_on(h.handle_command(command, now)));
}

/// The budgets a sequence's alerts name, by index: the base policy's, whatever the policy now is.
const BUDGETS: [&str; 5] = [
    "chat-daily",
    "chat-monthly",
    "chat-quarterly",
    "chat-annual",
    "docs-monthly",
];

/// A day in the period `offset` periods from the one containing `now`.
fn day_in(period: Period, now: DateTime<Utc>, offset: i8) -> NaiveDate {
    let start = period.start_of(now.date_naive());
    match offset {
        0 => now.date_naive(),
        o if o < 0 => start.pred_opt().unwrap(),
        _ => period.next_start(start),
    }
}

fn budgets_text(spec: &BudgetSpec, dollars: &str, date: NaiveDate, account: &str) -> String {
    BudgetsAlert {
        budget: &spec.name,
        budgeted: &spec.amount.to_string(),
        threshold: dollars,
        amount: dollars,
        date: &date.format("%B %-d, %Y").to_string(),
        account,
        time_unit: spec.period.time_unit(),
        ..Default::default()
    }
    .text()
}

struct Run {
    h: InMemoryHandler,
    oracle: Oracle,
    /// The last alert delivered, and when: (id, message, topic, at).
    last: Option<(String, String, Option<String>, DateTime<Utc>)>,
    next_id: usize,
}

impl Run {
    fn deliver(&mut self, id: &str, message: &str, topic: Option<&str>, now: DateTime<Utc>) {
        let inbound = Inbound {
            message_id: id,
            topic_arn: topic,
            subject: None,
            message,
        };
        retried(|| block_on(self.h.handle_message(&inbound, now, None)));
    }

    fn alert(&mut self, e: &Event, now: DateTime<Utc>) {
        let Event::Alert {
            budget,
            threshold,
            offset,
            spend,
            forgery,
        } = *e
        else {
            return;
        };
        let base = base_policy();
        let spec = &base.budgets[BUDGETS[budget]];
        let t = &spec.thresholds[threshold.min(spec.thresholds.len() - 1)];
        let dollars = t.dollars(spec.amount);
        let date = day_in(spec.period, now, offset);
        let message = if spend {
            let observed = if offset == 0 {
                now
            } else {
                Utc.from_utc_datetime(&date.and_hms_opt(12, 0, 0).unwrap())
            };
            let period_start = match forgery {
                Forgery::WrongPeriodStart => NaiveDate::from_ymd_opt(2099, 1, 1).unwrap(),
                _ => spec.period.start_of(observed.date_naive()),
            };
            SpendAlert {
                budget_name: spec.name.clone(),
                alert_type: guard_core::spend_basis::SpendBasis::Actual,
                threshold: dollars,
                budgeted: spec.amount,
                amount: dollars,
                period: spec.period,
                period_start,
                observed_at: observed,
                source: "spend-watcher".into(),
            }
            .to_json()
        } else {
            let account = match forgery {
                Forgery::OtherAccount => "999999999999",
                _ => ACCOUNT,
            };
            budgets_text(spec, &dollars.to_string(), date, account)
        };
        let topic = match forgery {
            Forgery::OtherTopic => "arn:aws:sns:us-east-1:123456789012:someone-elses",
            _ => TOPIC,
        };
        self.next_id += 1;
        let id = format!("m-{}", self.next_id);
        self.deliver(&id, &message, Some(topic), now);
        self.last = Some((id, message, Some(topic.to_owned()), now));

        // The oracle: a trusted alert for a threshold of the policy, about the period it names.
        let forged = match forgery {
            Forgery::None => false,
            Forgery::OtherAccount => !spend,
            Forgery::OtherTopic => true,
            Forgery::WrongPeriodStart => spend,
        };
        let p = &self.h.policy;
        let Some(budget) = p.budget_by_name(&spec.name) else {
            return;
        };
        let Some(t) = budget
            .thresholds
            .iter()
            .find(|pt| pt.dollars(budget.amount) == dollars && pt.basis == t.basis)
        else {
            return;
        };
        let start = budget.period.start_of(date);
        if forged || offset > 0 || budget.period != spec.period {
            return;
        }
        if !self
            .oracle
            .seen
            .insert((budget.name.clone(), start, threshold_title(t)))
        {
            return;
        }
        if let Some(d) = &t.downgrade
            && start == budget.period.start_of(now.date_naive())
        {
            self.oracle.required.insert((
                d.route.clone(),
                budget.name.clone(),
                budget.period,
                start,
                d.to_step,
            ));
        }
    }

    fn apply(&mut self, e: &Event, now: DateTime<Utc>) {
        let by = || ("ops".to_owned(), "oracle".to_owned());
        match e {
            Event::Alert { .. } => self.alert(e, now),
            Event::Redeliver => {
                // SNS and Lambda retry for hours to days, well inside the handler's retention
                // of a message's record (30 days).
                if let Some((id, message, topic, at)) = self.last.clone()
                    && now - at <= Duration::days(7)
                {
                    self.deliver(&id, &message, topic.as_deref(), now);
                }
            }
            Event::Tick => tick(&self.h, now),
            Event::Pin(step) => {
                let (by, reason) = by();
                let here = oracle_step(&self.oracle, &self.h.policy, "chat", now).0;
                command(
                    &self.h,
                    &Command::Pin {
                        route: "chat".into(),
                        step: *step,
                        by,
                        reason,
                    },
                    now,
                );
                self.oracle.pins = [("chat".to_owned(), step.unwrap_or(here))].into();
            }
            Event::Unpin => {
                let (by, reason) = by();
                command(
                    &self.h,
                    &Command::Unpin {
                        route: "chat".into(),
                        by,
                        reason,
                    },
                    now,
                );
                self.oracle.pins.clear();
            }
            Event::Restore(all) => {
                let (by, reason) = by();
                let route = (!all).then(|| "chat".to_owned());
                command(
                    &self.h,
                    &Command::Restore {
                        route: route.clone(),
                        by,
                        reason,
                    },
                    now,
                );
                let touched = |r: &str| route.as_deref().is_none_or(|only| only == r);
                self.oracle.required.retain(|x| !touched(&x.0));
                self.oracle.manual.retain(|x| !touched(&x.0));
                self.oracle.pins = self
                    .oracle
                    .pins
                    .iter()
                    .map(|(r, s)| (r.clone(), if touched(r) { 1 } else { *s }))
                    .collect();
            }
            Event::Set(step) => {
                let (by, reason) = by();
                command(
                    &self.h,
                    &Command::Set {
                        route: "chat".into(),
                        step: *step,
                        by,
                        reason,
                    },
                    now,
                );
                let period = guard_core::alerts::ledger::manual_period(&self.h.policy, "chat");
                self.oracle.manual.retain(|x| x.0 != "chat");
                self.oracle.manual.insert((
                    "chat".into(),
                    period,
                    period.start_of(now.date_naive()),
                    *step,
                ));
            }
            Event::Policy(variant) => {
                // A deploy: the handler starts on the new policy, and the next tick (run at once
                // here) derives every route again.
                self.h.policy = policy_variant(*variant);
                tick(&self.h, now);
            }
        }
    }

    fn check(&self, now: DateTime<Utc>, event: &Event) -> Result<(), TestCaseError> {
        for (name, route) in &self.h.policy.routes {
            let expected = oracle_step(&self.oracle, &self.h.policy, name, now);
            let flag = self.h.flags.get(&route.parameter);
            let actual = flag.as_ref().map_or((1, false), |f| {
                (RouteState::of(route, Some(f)).step, f.pinned)
            });
            prop_assert_eq!(
                actual,
                expected,
                "route {} at {} after {:?}",
                name,
                now,
                event
            );
            if let Some(f) = &flag {
                prop_assert_eq!(&f.model_id, &route.ladder[expected.0 - 1]);
            }
        }
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("BUDGET_GUARD_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn flags_equal_the_oracle_after_every_event(
        steps in proptest::collection::vec((0..(24 * 40u32), event(), failure()), 1..60),
    ) {
        let mut run = Run {
            h: Handler::in_memory(base_policy(), Trust::for_alerts_topic(TOPIC)),
            oracle: Oracle::default(),
            last: None,
            next_id: 0,
        };
        let mut now = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        for (hours, event, failure) in &steps {
            let next = now + Duration::hours(i64::from(*hours));
            if next.date_naive() != now.date_naive() {
                // The schedule ticks after every midnight (UTC).
                let midnight = Utc.from_utc_datetime(&next.date_naive().and_hms_opt(0, 5, 0).unwrap());
                tick(&run.h, midnight.min(next));
            }
            now = next;
            inject(&run.h, *failure);
            run.apply(event, now);
            // A failure the event never reached is not carried over to the next one.
            run.h.flags.put_failures.lock().unwrap().clear();
            run.h.state.get_failures.lock().unwrap().clear();
            run.h.slack.failures.lock().unwrap().clear();
            run.h.email.failures.lock().unwrap().clear();
            run.check(now, event)?;
        }
    }
}
