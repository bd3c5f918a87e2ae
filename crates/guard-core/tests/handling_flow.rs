//! The alert-handler's orchestration over in-memory ports: downgrades, notifications, redelivery,
//! partial failures and retries, pins and the period roll-over.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::executor::block_on;
use guard_core::alerts::flags::{ALERT_HANDLER, Flag};
use guard_core::alerts::handler::{Command, HandleError, Handler, Inbound};
use guard_core::alerts::in_memory::{
    InMemoryHandler, MemoryFlags, MemoryState, RecordingEmail, RecordingSlack,
};
use guard_core::alerts::routing::Trust;
use guard_core::policy::{self, Policy, SourceFile, limits};
use guard_core::ports::{ErrorKind, PortError};
use guard_testkit::{BudgetsAlert, example_policy, policy_fixture};

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_LITE: &str = "us.amazon.nova-lite-v1:0";
const PARAM: &str = "/budget-guard/routes/support-chatbot";

fn policy() -> Policy {
    let (policy, diagnostics) = policy::load(&[SourceFile::new("example.yaml", example_policy())]);
    policy.unwrap_or_else(|| panic!("{diagnostics:?}"))
}

fn handler() -> InMemoryHandler {
    handler_for(policy())
}

/// A handler on `policy` over fresh in-memory ports, trusting every topic and account.
fn handler_for(policy: Policy) -> InMemoryHandler {
    Handler::in_memory(policy, Trust::default())
}

fn nov(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 6, 41, 9).unwrap()
}

/// An AWS Budgets message in AWS's layout.
fn budgets_message(
    name: &str,
    alert_type: &str,
    threshold: &str,
    budgeted: &str,
    amount: &str,
) -> String {
    BudgetsAlert {
        budget: name,
        alert_type,
        threshold,
        budgeted,
        amount,
        account: "111122223333",
        ..Default::default()
    }
    .text()
}

fn at_90() -> String {
    budgets_message("bg-chatbot", "ACTUAL", "450.00", "500.00", "455.12")
}
fn at_100() -> String {
    budgets_message("bg-chatbot", "ACTUAL", "500.00", "500.00", "501.3")
}
fn at_80_forecast() -> String {
    budgets_message("bg-chatbot", "FORECASTED", "400.00", "500.00", "612.5")
}

fn handle(
    h: &InMemoryHandler,
    id: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<guard_core::alerts::handler::JobOutcome, HandleError> {
    let inbound = Inbound {
        message_id: id,
        topic_arn: None,
        subject: Some("AWS Budgets: bg-chatbot has exceeded your alert threshold"),
        message,
    };
    block_on(h.handle_message(&inbound, now, None))
}

fn flag(h: &InMemoryHandler) -> Option<Flag> {
    h.flags.get(PARAM)
}

#[test]
fn an_80_percent_forecast_notifies_and_changes_no_flag() {
    let h = handler();
    let outcome = handle(&h, "m-80", &at_80_forecast(), nov(12)).unwrap();
    assert!(outcome.flags_written.is_empty());
    assert_eq!(h.flags.put_count(), 0);
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, "platform-alerts");
    let text = posts[0].1.to_string();
    assert!(
        text.contains("Forecasted spend") && text.contains("notification only"),
        "{text}"
    );
    let emails = h.email.published();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].0, "finops");
    assert!(
        emails[0].1.contains("FORECASTED") && emails[0].1.len() < 100,
        "{}",
        emails[0].1
    );
}

#[test]
fn a_90_percent_alert_steps_down_one_step_and_posts_once() {
    let h = handler();
    let outcome = handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    assert_eq!(outcome.flags_written, vec!["support-chatbot"]);
    let f = flag(&h).unwrap();
    assert_eq!((f.step, f.model_id.as_str(), f.ladder_size), (2, HAIKU, 3));
    assert_eq!(f.budget.as_deref(), Some("bg-chatbot"));
    assert_eq!(f.period_start, NaiveDate::from_ymd_opt(2026, 11, 1));
    assert_eq!(f.changed_by, ALERT_HANDLER);
    assert!(f.reason.contains("90%"), "{}", f.reason);
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 1);
    let text = posts[0].1.to_string();
    assert!(
        text.contains(SONNET) && text.contains(HAIKU) && text.contains("per month"),
        "{text}"
    );
    let emails = h.email.published();
    assert_eq!(emails.len(), 1);
    assert!(
        emails[0].1.contains("support-chatbot -> "),
        "{}",
        emails[0].1
    );
    assert!(emails[0].2.contains("stepped down"), "{}", emails[0].2);
}

#[test]
fn the_100_percent_alert_goes_to_the_cheapest() {
    let h = handler();
    handle(&h, "m-100", &at_100(), nov(12)).unwrap();
    assert_eq!(flag(&h).unwrap().model_id, NOVA_LITE);
}

#[test]
fn alerts_in_either_order_end_at_the_same_flag() {
    let a = handler();
    handle(&a, "m-90", &at_90(), nov(12)).unwrap();
    handle(&a, "m-100", &at_100(), nov(13)).unwrap();
    let b = handler();
    handle(&b, "m-100", &at_100(), nov(12)).unwrap();
    handle(&b, "m-90", &at_90(), nov(13)).unwrap();
    let (fa, fb) = (flag(&a).unwrap(), flag(&b).unwrap());
    assert_eq!((fa.step, fa.model_id.as_str()), (3, NOVA_LITE));
    assert_eq!((fb.step, fb.model_id.as_str()), (3, NOVA_LITE));
    // The late 90% alert never moves the flag up, and says so.
    assert_eq!(b.flags.put_count(), 1);
    let last = b.slack.posts().last().unwrap().1.to_string();
    assert!(last.contains("already on"), "{last}");
}

#[test]
fn a_redelivery_posts_nothing_new_and_changes_nothing() {
    let h = handler();
    handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    let again = handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    assert!(again.already_handled);
    assert_eq!(h.slack.posts().len(), 1);
    assert_eq!(h.email.published().len(), 1);
    assert_eq!(h.flags.put_count(), 1);
}

#[test]
fn slack_failing_once_ends_with_one_post_and_one_flag_change() {
    let h = handler();
    h.slack.fail_next([ErrorKind::Transient]);
    let err = handle(&h, "m-90", &at_90(), nov(12)).unwrap_err();
    assert!(err.retryable(), "{err}");
    assert!(
        matches!(&err, HandleError::Incomplete { failed, .. } if failed.len() == 1 && failed[0].0 == "slack:platform-alerts")
    );
    assert_eq!(
        h.email.published().len(),
        1,
        "a failing Slack does not stop the email"
    );
    let retry = handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    assert_eq!(retry.done, vec!["slack:platform-alerts"]);
    assert_eq!(h.slack.posts().len(), 1);
    assert_eq!(h.email.published().len(), 1);
    assert_eq!(h.flags.put_count(), 1);
    assert!(
        handle(&h, "m-90", &at_90(), nov(12))
            .unwrap()
            .already_handled
    );
}

#[test]
fn an_email_failure_is_retried_alone() {
    let h = handler();
    h.email.fail_next([ErrorKind::Throttled]);
    assert!(handle(&h, "m-90", &at_90(), nov(12)).is_err());
    assert_eq!(h.slack.posts().len(), 1);
    let retry = handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    assert_eq!(retry.done, vec!["email:finops"]);
    assert_eq!(h.slack.posts().len(), 1);
    assert_eq!(h.email.published().len(), 1);
}

#[test]
fn a_failed_flag_write_still_notifies_and_the_retry_fixes_and_updates() {
    let h = handler();
    h.flags.fail_puts([ErrorKind::Throttled]);
    let err = handle(&h, "m-90", &at_90(), nov(12)).unwrap_err();
    assert!(err.retryable());
    assert!(flag(&h).is_none());
    let first = h.slack.posts()[0].1.to_string();
    assert!(
        first.contains("Could not move") && first.contains("will retry"),
        "{first}"
    );
    handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    assert_eq!(flag(&h).unwrap().model_id, HAIKU);
    // The notice changed, so every channel hears the outcome once more.
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 2);
    assert!(posts[1].1.to_string().contains("stepped down"));
    assert_eq!(h.email.published().len(), 2);
}

#[test]
fn state_read_failure_does_nothing_and_is_retryable() {
    let h = handler();
    *h.state.get_failures.lock().unwrap() = vec![ErrorKind::Throttled];
    let err = handle(&h, "m-90", &at_90(), nov(12)).unwrap_err();
    assert!(matches!(err, HandleError::State { .. }) && err.retryable());
    assert!(h.slack.posts().is_empty() && flag(&h).is_none());
}

/// The same message, dated `date` (`October 20, 2026`) on its first line.
fn dated(message: &str, date: &str) -> String {
    message.replace("November 12, 2026", date)
}

fn pin(h: &InMemoryHandler, step: usize, at: DateTime<Utc>) {
    let command = Command::Pin {
        route: "support-chatbot".into(),
        step: Some(step),
        by: "alice".into(),
        reason: "pinned by an operator".into(),
    };
    block_on(h.handle_command(&command, at)).unwrap();
}

#[test]
fn a_pinned_route_stays_and_the_message_says_so() {
    let h = handler();
    pin(&h, 1, nov(1));
    let puts = h.flags.put_count();
    handle(&h, "m-100", &at_100(), nov(12)).unwrap();
    assert_eq!(h.flags.put_count(), puts);
    assert_eq!(flag(&h).unwrap().model_id, SONNET);
    let text = h.slack.posts()[0].1.to_string();
    assert!(text.contains("pinned"), "{text}");
    assert!(h.email.published()[0].1.contains("pinned"));
    // Unpinned, the requirement the alert left takes effect at once.
    let command = Command::Unpin {
        route: "support-chatbot".into(),
        by: "alice".into(),
        reason: "done".into(),
    };
    block_on(h.handle_command(&command, nov(13))).unwrap();
    assert_eq!(flag(&h).unwrap().model_id, NOVA_LITE);
}

#[test]
fn unmatched_alerts_change_nothing_and_are_only_logged_by_default() {
    let h = handler();
    let unknown_budget = budgets_message("bg-someone-else", "ACTUAL", "90.00", "100.00", "95");
    handle(&h, "m-x", &unknown_budget, nov(12)).unwrap();
    let unknown_threshold = budgets_message("bg-chatbot", "ACTUAL", "333.00", "500.00", "340");
    handle(&h, "m-y", &unknown_threshold, nov(12)).unwrap();
    assert_eq!(h.flags.put_count(), 0);
    assert!(h.slack.posts().is_empty());
    assert!(h.email.published().is_empty());
}

#[test]
fn unmatched_alerts_go_to_the_unmatched_notify_channels_once() {
    let mut p = policy();
    p.settings.unmatched_notify = vec!["platform-alerts".into()];
    let h = Handler::in_memory(
        p,
        Trust {
            alerts_topic: None,
            account: Some("111122223333".into()),
        },
    );
    let unknown_budget = budgets_message("bg-someone-else", "ACTUAL", "90.00", "100.00", "95");
    handle(&h, "m-x", &unknown_budget, nov(12)).unwrap();
    handle(&h, "m-x", &unknown_budget, nov(12)).unwrap();
    // Another account's alert for a budget of ours: told, never acted on.
    let other_account = at_100().replace("111122223333", "999999999999");
    handle(&h, "m-o", &other_account, nov(12)).unwrap();
    assert_eq!(h.flags.put_count(), 0);
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 2);
    for (_, payload) in &posts {
        assert!(payload.to_string().contains("Unmatched"), "{payload}");
    }
    assert!(posts[1].1.to_string().contains("999999999999"));
}

#[test]
fn a_threshold_rounded_to_cents_still_matches() {
    let p = policy();
    let text = budgets_message("bg-chatbot", "ACTUAL", "449.99", "500.00", "455");
    let alert = guard_core::alerts::parse::parse_message(&text).unwrap();
    assert!(matches!(
        guard_core::alerts::routing::match_alert(&p, &alert),
        guard_core::alerts::routing::Match::Matched { threshold: 2, .. }
    ));
}

#[test]
fn thresholds_are_matched_against_the_policys_amount_never_the_alerts() {
    let p = policy();
    // $250 of a claimed $250 budget is 100% of what the alert says, but 50% of the policy's $500.
    let text = budgets_message("bg-chatbot", "ACTUAL", "250.00", "250.00", "260");
    let alert = guard_core::alerts::parse::parse_message(&text).unwrap();
    assert!(matches!(
        guard_core::alerts::routing::match_alert(&p, &alert),
        guard_core::alerts::routing::Match::Matched { threshold: 0, .. }
    ));
    // A spend alert claiming `budgeted: 0` matches nothing by percent.
    let forged = r#"{"schema":"budget-guard/spend-alert@1","budget_name":"bg-chatbot","alert_type":"ACTUAL",
        "threshold":0.0,"budgeted":0.0,"amount":0.0,"period":"monthly","period_start":"2026-11-01",
        "observed_at":"2026-11-12T06:41:09Z","source":"spend-watcher"}"#;
    let alert = guard_core::alerts::parse::parse_message(forged).unwrap();
    assert!(matches!(
        guard_core::alerts::routing::match_alert(&p, &alert),
        guard_core::alerts::routing::Match::UnknownThreshold { .. }
    ));
}

#[test]
fn a_message_that_is_no_alert_is_reported_as_unrecognised() {
    let mut p = policy();
    p.settings.unmatched_notify = vec!["platform-alerts".into()];
    let h = handler_for(p);
    handle(&h, "m-z", "hello <!channel> from a test publish", nov(12)).unwrap();
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 1);
    let text = posts[0].1.to_string();
    assert!(
        text.contains("Unrecognised")
            && text.contains("&lt;!channel&gt;")
            && !text.contains("<!channel>"),
        "{text}"
    );
}

#[test]
fn the_rollover_restores_and_notifies_once() {
    let h = handler();
    let oct20 = Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap();
    handle(&h, "m-100", &dated(&at_100(), "October 20, 2026"), oct20).unwrap();
    assert_eq!(flag(&h).unwrap().step, 3);
    let posts_before = h.slack.posts().len();
    // Still October: nothing to restore.
    let results =
        block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 10, 31, 23, 0, 0).unwrap(), None));
    assert!(results.is_empty(), "{results:?}");
    let results = block_on(h.handle_tick(nov(1), None));
    assert_eq!(results.len(), 1);
    let outcome = results.into_iter().next().unwrap().unwrap();
    assert_eq!(outcome.flags_written, vec!["support-chatbot"]);
    let f = flag(&h).unwrap();
    assert_eq!((f.step, f.model_id.as_str()), (1, SONNET));
    let posts = h.slack.posts();
    assert_eq!(posts.len(), posts_before + 1);
    assert!(posts.last().unwrap().1.to_string().contains("back on"));
    assert!(
        h.email
            .published()
            .last()
            .unwrap()
            .1
            .contains("1 route restored")
    );
    // A later tick does nothing.
    assert!(block_on(h.handle_tick(nov(2), None)).is_empty());
    assert_eq!(h.slack.posts().len(), posts_before + 1);
}

#[test]
fn the_rollover_leaves_a_pinned_route_where_it_is() {
    let h = handler();
    pin(&h, 3, Utc.with_ymd_and_hms(2026, 10, 2, 0, 0, 0).unwrap());
    let puts = h.flags.put_count();
    let results = block_on(h.handle_tick(nov(1), None));
    assert!(results.is_empty(), "{results:?}");
    assert_eq!(h.flags.put_count(), puts);
    assert_eq!(flag(&h).unwrap().model_id, NOVA_LITE);
}

#[test]
fn a_late_alert_tells_people_and_moves_no_flag() {
    let h = handler();
    // October's 100% alert, delivered on 1 November after the roll-over.
    handle(&h, "m-100", &dated(&at_100(), "October 31, 2026"), nov(1)).unwrap();
    assert!(flag(&h).is_none(), "{:?}", flag(&h));
    let text = h.slack.posts()[0].1.to_string();
    assert!(text.contains("Late"), "{text}");
    assert!(h.email.published()[0].1.contains("late"));
    // And the next tick leaves November alone.
    assert!(block_on(h.handle_tick(nov(1), None)).is_empty());
    assert!(flag(&h).is_none());
}

#[test]
fn a_failing_rollover_notification_is_retried_by_the_next_tick() {
    let h = handler();
    let oct20 = Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap();
    handle(&h, "m-90", &dated(&at_90(), "October 20, 2026"), oct20).unwrap();
    h.slack.fail_next([ErrorKind::Timeout]);
    let results = block_on(h.handle_tick(nov(1), None));
    assert!(results[0].is_err());
    assert_eq!(flag(&h).unwrap().step, 1);
    let later = Utc.with_ymd_and_hms(2026, 11, 1, 1, 0, 0).unwrap();
    let results = block_on(h.handle_tick(later, None));
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(h.flags.put_count(), 2);
    assert!(
        h.slack
            .posts()
            .last()
            .unwrap()
            .1
            .to_string()
            .contains("back on")
    );
}

/// Standard-tier SSM parameters hold at most 4 KB; the state store uses them. Every record the
/// handler has written fits, and reads back.
fn assert_records_fit(state: &MemoryState) {
    let records = state.records.lock().unwrap().clone();
    assert!(!records.is_empty());
    for (key, value) in &records {
        eprintln!("{key}: {} bytes", value.len());
        assert!(
            value.len() <= guard_core::alerts::ledger::MAX_RECORD_BYTES,
            "{key}: {} bytes\n{value}",
            value.len()
        );
        let readable = if key.starts_with("ledger/") {
            serde_json::from_str::<guard_core::alerts::ledger::Ledger>(value).is_ok()
        } else {
            serde_json::from_str::<guard_core::alerts::handler::Job>(value).is_ok()
        };
        assert!(readable, "{key} reads back: {value}");
    }
}

/// What was cut says how much: `… (4,200 more characters)`.
fn assert_cut_with_a_count(state: &MemoryState) {
    let records = state.records.lock().unwrap().clone();
    let all: String = records.values().cloned().collect();
    assert!(all.contains(" more characters)"), "{all}");
}

#[test]
fn records_fit_a_standard_ssm_parameter() {
    let mut p = policy();
    p.settings.unmatched_notify = vec!["platform-alerts".into()];
    let h = handler_for(p);
    h.flags.fail_puts([ErrorKind::Throttled]);
    let _ = handle(&h, &"m".repeat(300), &at_90(), nov(12));
    handle(&h, &"m".repeat(300), &at_90(), nov(12)).unwrap();
    handle(&h, "m-z", &"x".repeat(10_000), nov(12)).unwrap();
    // A 5,000-character alert type, budget name or message id, and a subject as long, are cut
    // with a count, never stored whole; so are characters that take more room once stored.
    let long = at_100().replace("bg-chatbot", &format!("bg-{}", "c".repeat(5000)));
    handle(&h, "m-long", &long, nov(12)).unwrap();
    let alert_type = at_100().replace("ACTUAL", &"A".repeat(5000));
    handle(&h, "m-type", &alert_type, nov(12)).unwrap();
    for (id, filler) in [("m-quote", "\""), ("m-control", "\u{1}"), ("m-emoji", "😀")] {
        let name = at_100().replace("bg-chatbot", &filler.repeat(5000));
        handle(&h, id, &name, nov(12)).unwrap();
    }
    let hostile = Inbound {
        message_id: &"\u{1}".repeat(5000),
        topic_arn: None,
        subject: Some(&"s\"".repeat(5000)),
        message: &format!("{}\n{}", "\"".repeat(5000), "x".repeat(5000)),
    };
    block_on(h.handle_message(&hostile, nov(12), None)).unwrap();
    let command = Command::Pin {
        route: "support-chatbot".into(),
        step: None,
        by: "o".repeat(5000),
        reason: "r".repeat(5000),
    };
    block_on(h.handle_command(&command, nov(12))).unwrap();
    assert_records_fit(&h.state);
    assert_cut_with_a_count(&h.state);
}

/// A flag store whose writes fail with a 5,000-character error, as an AWS error may quote what
/// it refused.
#[derive(Debug, Default)]
struct LongWinded(MemoryFlags);

impl guard_core::alerts::ports::FlagStore for LongWinded {
    async fn get_flag(&self, parameter: &str) -> Result<Option<Flag>, PortError> {
        self.0.get_flag(parameter).await
    }
    async fn put_flag(&self, _parameter: &str, _flag: &Flag) -> Result<(), PortError> {
        Err(PortError::new(
            ErrorKind::Throttled,
            "put flag",
            "e".repeat(5000),
        ))
    }
}

/// A policy at every bound validation allows for what the handler records: the longest prefix
/// and budget names, route and channel names, model ids and threshold, and the most channels one
/// job tells.
fn largest_policy(budget: &str) -> Policy {
    let prefix = "p".repeat(limits::BUDGET_PREFIX_MAX_CHARS);
    let channel = |i: usize| format!("{i}{}", "c".repeat(limits::NAME_MAX_CHARS - 1));
    let channels: Vec<String> = (0..limits::CHANNELS_PER_JOB_MAX).map(channel).collect();
    let mut yaml = format!(
        "version: 1\nsettings:\n  budget_prefix: {prefix}\n  unmatched_notify: [{}]\nchannels:\n",
        channels.join(", ")
    );
    for (i, name) in channels.iter().enumerate() {
        if i % 2 == 0 {
            yaml.push_str(&format!("  {name}:\n    slack: {{webhook_secret: s{i}}}\n"));
        } else {
            yaml.push_str(&format!(
                "  {name}:\n    email: [e{i}@example.com, f{i}@example.com]\n"
            ));
        }
    }
    let route = "r".repeat(limits::NAME_MAX_CHARS);
    let model = |c: char| format!("{c}{}", "m".repeat(limits::MODEL_ID_MAX_CHARS - 1));
    yaml.push_str(&format!(
        "routes:\n  {route}:\n    ladder: [{}, {}]\npricing:\n  {}: {{input_per_1k: 1, output_per_1k: 1}}\n  {}: {{input_per_1k: 0.5, output_per_1k: 0.5}}\n",
        model('a'),
        model('b'),
        model('a'),
        model('b')
    ));
    yaml.push_str(&format!(
        "budgets:\n  {}:\n    amount: 300\n    period: quarterly\n    thresholds:\n      - at: 33.3333333333333%\n        on: forecasted\n        notify: [{}]\n        downgrade: {{route: {route}, to: 2}}\n",
        serde_json::to_string(budget).unwrap(),
        channels.join(", ")
    ));
    let (policy, diagnostics) = policy::load(&[SourceFile::new("largest.yaml", yaml.clone())]);
    policy.unwrap_or_else(|| panic!("{yaml}\n{diagnostics:#?}"))
}

#[test]
fn records_of_the_largest_policy_fit_a_standard_ssm_parameter() {
    // The budget's own name as long as the prefix leaves: in ASCII, and in characters that take
    // more room once stored (validation bounds a name's stored bytes too).
    let room = limits::BUDGET_NAME_MAX_STORED_BYTES - limits::BUDGET_PREFIX_MAX_CHARS;
    for budget in [
        "b".repeat(room),
        "é".repeat(room / 2),
        format!("{}bb", "😀".repeat(room / 4)),
        "\"".repeat(room / 2),
    ] {
        let p = largest_policy(&budget);
        let spec = p.budgets.values().next().unwrap().clone();
        let route = p.routes.values().next().unwrap().clone();
        let forecast = |id: &str| {
            let message = budgets_message(&spec.name, "FORECASTED", "100.00", "300.00", "612.5")
                .replace("for the current month", "for the current quarter");
            (id.to_owned(), message)
        };
        // A matched alert that steps the route down and tells every channel; its redelivery.
        let h = handler_for(p.clone());
        let (id, message) = forecast(&"m".repeat(5000));
        handle(&h, &id, &message, nov(12)).unwrap();
        assert_eq!(h.flags.get(&route.parameter).map(|f| f.step), Some(2));
        // An alert about no budget of the policy, told to `unmatched_notify`.
        let unknown = budgets_message(&"u".repeat(5000), "ACTUAL", "1.00", "2.00", "3.00");
        handle(&h, "m-unknown", &unknown, nov(12)).unwrap();
        assert_records_fit(&h.state);
        // The quarter ends: the tick moves the route back and tells every channel.
        let next_quarter = Utc.with_ymd_and_hms(2027, 1, 1, 0, 5, 0).unwrap();
        block_on(h.handle_tick(next_quarter, None));
        // A flag someone else wrote, naming a 5,000-character model off the ladder.
        let mut stray = h.flags.get(&route.parameter).unwrap();
        stray.model_id = "x".repeat(5000);
        stray.reason = "r".repeat(5000);
        h.flags.insert(&route.parameter, stray);
        block_on(h.handle_tick(next_quarter + chrono::Duration::minutes(5), None));
        assert_records_fit(&h.state);
        assert_cut_with_a_count(&h.state);

        // A flag write that fails with a 5,000-character error: the notice records the failure.
        let failing = Handler::new(
            p.clone(),
            Trust::default(),
            LongWinded::default(),
            MemoryState::default(),
            RecordingSlack::default(),
            RecordingEmail::default(),
        );
        let (id, message) = forecast("m-fails");
        let inbound = Inbound {
            message_id: &id,
            topic_arn: None,
            subject: None,
            message: &message,
        };
        assert!(block_on(failing.handle_message(&inbound, nov(12), None)).is_err());
        assert_records_fit(&failing.state);
        assert_cut_with_a_count(&failing.state);
    }
}

#[test]
fn the_tick_prunes_finished_records_once_they_expire() {
    let h = handler();
    let oct20 = Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap();
    let old_notice = "notices/chatbot/2026-10-01/100pct-ACTUAL".to_owned();
    let unfinished = "notices/chatbot/2026-10-01/80pct-FORECASTED".to_owned();
    handle(&h, "m-old", &dated(&at_100(), "October 20, 2026"), oct20).unwrap();
    h.slack.fail_next([ErrorKind::Transient]);
    assert!(
        handle(
            &h,
            "m-unfinished",
            &dated(&at_80_forecast(), "October 20, 2026"),
            oct20
        )
        .is_err()
    );
    block_on(h.handle_tick(nov(1), None));
    let rollover = "rollover/support-chatbot/20261101T064109".to_owned();
    assert!(h.state.keys().contains(&rollover), "{:?}", h.state.keys());
    assert!(
        h.state.keys().contains(&old_notice),
        "kept until the next period ends"
    );
    // 30 days after it finished, the roll-over's record goes; so does October's notice.
    block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap(), None));
    let keys = h.state.keys();
    assert!(!keys.contains(&old_notice), "{keys:?}");
    assert!(!keys.contains(&rollover), "{keys:?}");
    assert!(
        keys.contains(&"ledger/support-chatbot".to_owned()),
        "ledgers stay: {keys:?}"
    );
    assert!(
        keys.contains(&unfinished),
        "an unfinished job stays (and is retried by the ticks of its first day): {keys:?}"
    );
    assert!(!h.state.job(&unfinished).unwrap().is_complete());
}

#[test]
fn a_spend_watcher_alert_downgrades_for_the_period_it_names() {
    let h = handler();
    let spend = r#"{"schema":"budget-guard/spend-alert@1","budget_name":"bg-chatbot","alert_type":"ACTUAL",
        "threshold":450.0,"budgeted":500.0,"amount":455.12,"period":"monthly","period_start":"2026-11-01",
        "observed_at":"2026-11-12T06:41:09Z","source":"spend-watcher"}"#;
    handle(&h, "s-90", spend, nov(12)).unwrap();
    let f = flag(&h).unwrap();
    assert_eq!(
        (f.step, f.period_start),
        (2, NaiveDate::from_ymd_opt(2026, 11, 1))
    );
    let text = h.slack.posts()[0].1.to_string();
    assert!(text.contains("spend watcher"), "{text}");
    // The same threshold from AWS Budgets later: logged, not told twice, nothing moves.
    let posts = h.slack.posts().len();
    let again = handle(&h, "m-90", &at_90(), nov(13)).unwrap();
    assert!(again.already_handled);
    assert_eq!(h.slack.posts().len(), posts);
    assert_eq!(h.email.published().len(), 1);
}

#[test]
fn a_forged_spend_alert_moves_nothing() {
    let h = handler();
    let spend = |start: &str, observed: &str| {
        format!(
            r#"{{"schema":"budget-guard/spend-alert@1","budget_name":"bg-chatbot","alert_type":"ACTUAL",
            "threshold":500.0,"budgeted":500.0,"amount":501,"period":"monthly","period_start":"{start}",
            "observed_at":"{observed}","source":"spend-watcher"}}"#
        )
    };
    // A period_start that does not contain observed_at, and one from the future.
    handle(
        &h,
        "s-1",
        &spend("2099-01-01", "2026-11-12T06:41:09Z"),
        nov(12),
    )
    .unwrap();
    handle(
        &h,
        "s-2",
        &spend("2099-01-01", "2099-01-05T00:00:00Z"),
        nov(12),
    )
    .unwrap();
    assert!(flag(&h).is_none());
    assert!(h.slack.posts().is_empty());
}

#[test]
fn a_daily_budget_rolls_over_every_day_and_a_monthly_requirement_stays() {
    let yaml = policy_fixture("daily-and-monthly-batch");
    let (policy, diagnostics) = policy::load(&[SourceFile::new("daily.yaml", yaml)]);
    let policy = policy.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let h = handler_for(policy);
    let monthly = budgets_message("bg-batch monthly", "ACTUAL", "900.00", "1000.00", "901");
    handle(&h, "m-1", &monthly, nov(12)).unwrap();
    let daily = budgets_message("bg-batch daily", "ACTUAL", "54.00", "60.00", "55.1")
        .replace("for the current month", "per day");
    handle(&h, "d-1", &daily, nov(12)).unwrap();
    let param = "/budget-guard/routes/batch";
    assert_eq!(h.flags.get(param).unwrap().step, 3);
    assert!(
        block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 11, 12, 23, 59, 0).unwrap(), None))
            .is_empty()
    );
    let results =
        block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 11, 13, 0, 1, 0).unwrap(), None));
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].as_ref().unwrap().job,
        "rollover/batch/20261113T000100"
    );
    // The daily requirement ended; the monthly one still holds the route at step 2.
    assert_eq!(h.flags.get(param).unwrap().step, 2);
    let last = h.slack.posts().last().unwrap().1.to_string();
    assert!(last.contains("still requires"), "{last}");
    assert_eq!(
        block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 12, 1, 0, 1, 0).unwrap(), None)).len(),
        1
    );
    assert_eq!(h.flags.get(param).unwrap().step, 1);
}

#[test]
fn a_budget_removed_from_the_policy_no_longer_holds_its_route() {
    let h = handler();
    handle(&h, "m-100", &at_100(), nov(12)).unwrap();
    assert_eq!(flag(&h).unwrap().step, 3);
    let mut renamed = policy();
    let mut budget = renamed.budgets.remove("chatbot").unwrap();
    budget.key = "chatbot-v2".into();
    budget.name = "bg-chatbot-v2".into();
    renamed.budgets.insert("chatbot-v2".into(), budget);
    let h2 = Handler::new(
        renamed,
        Trust::default(),
        h.flags,
        h.state,
        RecordingSlack::default(),
        RecordingEmail::default(),
    );
    let results = block_on(h2.handle_tick(nov(12), None));
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(h2.flags.get(PARAM).unwrap().step, 1);
}

#[test]
fn a_flag_off_its_ladder_is_rewritten_at_the_next_tick_and_people_are_told() {
    let h = handler();
    handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    let mut off = flag(&h).unwrap();
    off.model_id = "us.anthropic.claude-opus-4-1-20250805-v1:0".into();
    h.flags.insert(PARAM, off);
    let results = block_on(h.handle_tick(nov(13), None));
    assert_eq!(results.len(), 1, "{results:?}");
    let f = flag(&h).unwrap();
    assert_eq!((f.step, f.model_id.as_str()), (2, HAIKU));
    let last = h.slack.posts().last().unwrap().1.to_string();
    assert!(last.contains("not on its ladder"), "{last}");
}

#[test]
fn budgets_whose_names_differ_only_outside_ascii_are_told_apart() {
    // Same length, same ASCII letters: before the state key took a digest of what it replaced,
    // both budgets' notices shared one record and the second alert was taken for a redelivery.
    let yaml = policy_fixture("look-alike-budget-names");
    let (p, diagnostics) = policy::load(&[SourceFile::new("names.yaml", yaml)]);
    let h = handler_for(p.unwrap_or_else(|| panic!("{diagnostics:#?}")));
    for (i, name) in ["bg-café", "bg-cafè", "bg-a b", "bg-a_b"]
        .iter()
        .enumerate()
    {
        let message = budgets_message(name, "ACTUAL", "90.00", "100.00", "95");
        handle(&h, &format!("m-{i}"), &message, nov(12)).unwrap();
    }
    let told: Vec<String> = h.email.published().into_iter().map(|e| e.2).collect();
    assert_eq!(told.len(), 4, "{told:#?}");
    for name in ["bg-café", "bg-cafè", "bg-a b", "bg-a_b"] {
        assert_eq!(
            told.iter().filter(|body| body.contains(name)).count(),
            1,
            "{name}: {told:#?}"
        );
    }
}
