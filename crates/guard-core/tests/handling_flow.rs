//! The alert-handler's orchestration over in-memory ports: downgrades, notifications, redelivery,
//! partial failures and retries, pins and the period roll-over.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::executor::block_on;
use guard_core::flags::{ALERT_HANDLER, Flag};
use guard_core::handling::fakes::{MemoryFlags, MemoryState, RecordingEmail, RecordingSlack};
use guard_core::handling::{HandleError, Handler, PortErrorKind};
use guard_core::policy::{self, Policy, SourceFile};

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_LITE: &str = "us.amazon.nova-lite-v1:0";
const PARAM: &str = "/budget-guard/routes/support-chatbot";

type TestHandler = Handler<MemoryFlags, MemoryState, RecordingSlack, RecordingEmail>;

fn policy() -> Policy {
    let source = SourceFile::new(
        "example.yaml",
        include_str!("../../../policies/example.yaml"),
    );
    let (policy, diagnostics) = policy::load(&[source]);
    policy.unwrap_or_else(|| panic!("{diagnostics:?}"))
}

fn handler() -> TestHandler {
    Handler::new(
        policy(),
        MemoryFlags::default(),
        MemoryState::default(),
        RecordingSlack::default(),
        RecordingEmail::default(),
    )
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
    format!(
        "AWS Budget Notification November 12, 2026\nAWS Account 111122223333\n\nDear AWS Customer,\n\n\
         You requested that we alert you when the {alert_type} Cost associated with your {name} budget is greater than \
         ${threshold} for the current month. The {alert_type} Cost associated with this budget is ${amount}. You can find \
         additional details below and by accessing the AWS Budgets dashboard [1].\n\n\
         Budget Name: {name}\nBudget Type: Cost\nBudgeted Amount: ${budgeted}\nAlert Type: {alert_type}\n\
         Alert Threshold: > ${threshold}\n{alert_type} Amount: ${amount}\n\n\
         [1] https://console.aws.amazon.com/costmanagement/home#/budgets\n"
    )
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
    h: &TestHandler,
    id: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<guard_core::handling::Outcome, HandleError> {
    block_on(h.handle_message(
        id,
        Some("AWS Budgets: bg-chatbot has exceeded your alert threshold"),
        message,
        now,
    ))
}

fn flag(h: &TestHandler) -> Option<Flag> {
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
    h.slack.fail_next([PortErrorKind::Unavailable]);
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
    h.email.fail_next([PortErrorKind::Throttled]);
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
    h.flags.fail_puts([PortErrorKind::Throttled]);
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
    *h.state.get_failures.lock().unwrap() = vec![PortErrorKind::Throttled];
    let err = handle(&h, "m-90", &at_90(), nov(12)).unwrap_err();
    assert!(matches!(err, HandleError::State { .. }) && err.retryable());
    assert!(h.slack.posts().is_empty() && flag(&h).is_none());
}

fn pinned_at(step: usize, period: NaiveDate) -> Flag {
    let p = policy();
    let route = &p.routes["support-chatbot"];
    let change = guard_core::flags::Change {
        budget: Some("bg-chatbot"),
        period_start: Some(period),
        reason: "pinned by an operator",
        at: nov(1),
        by: "alice",
        pinned: true,
    };
    Flag::at_step(route, step, change)
}

#[test]
fn a_pinned_flag_stays_and_the_message_says_so() {
    let h = handler();
    h.flags.insert(
        PARAM,
        pinned_at(1, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
    );
    handle(&h, "m-100", &at_100(), nov(12)).unwrap();
    assert_eq!(h.flags.put_count(), 0);
    assert_eq!(flag(&h).unwrap().model_id, SONNET);
    let text = h.slack.posts()[0].1.to_string();
    assert!(text.contains("pinned"), "{text}");
    assert!(h.email.published()[0].1.contains("pinned"));
}

#[test]
fn unmatched_alerts_change_nothing_and_go_to_every_slack_channel() {
    let h = handler();
    let unknown_budget = budgets_message("bg-someone-else", "ACTUAL", "90.00", "100.00", "95");
    handle(&h, "m-x", &unknown_budget, nov(12)).unwrap();
    let unknown_threshold = budgets_message("bg-chatbot", "ACTUAL", "333.00", "500.00", "340");
    handle(&h, "m-y", &unknown_threshold, nov(12)).unwrap();
    assert_eq!(h.flags.put_count(), 0);
    let posts = h.slack.posts();
    assert_eq!(posts.len(), 2);
    for (_, payload) in &posts {
        assert!(payload.to_string().contains("Unmatched"), "{payload}");
    }
    assert!(h.email.published().is_empty());
}

#[test]
fn a_threshold_rounded_to_cents_still_matches() {
    let p = policy();
    let text = budgets_message("bg-chatbot", "ACTUAL", "449.99", "500.00", "455");
    let alert = guard_core::alert::parse_message(&text).unwrap();
    assert!(matches!(
        guard_core::routing::match_alert(&p, &alert),
        guard_core::routing::Match::Matched { threshold: 2, .. }
    ));
}

#[test]
fn a_message_that_is_no_alert_is_reported_as_unrecognised() {
    let h = handler();
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
fn the_rollover_restores_and_notifies_once_per_period() {
    let h = handler();
    handle(
        &h,
        "m-100",
        &at_100(),
        Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap(),
    )
    .unwrap();
    assert_eq!(flag(&h).unwrap().step, 3);
    let posts_before = h.slack.posts().len();
    // Still October: nothing to restore.
    let results = block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 10, 31, 23, 0, 0).unwrap()));
    assert!(results.is_empty(), "{results:?}");
    let results = block_on(h.handle_tick(nov(1)));
    assert_eq!(results.len(), 1);
    let outcome = results.into_iter().next().unwrap().unwrap();
    assert_eq!(outcome.flags_written, vec!["support-chatbot"]);
    let f = flag(&h).unwrap();
    assert_eq!((f.step, f.model_id.as_str()), (1, SONNET));
    assert_eq!(f.period_start, NaiveDate::from_ymd_opt(2026, 11, 1));
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
    assert!(block_on(h.handle_tick(nov(2))).is_empty());
    assert_eq!(h.slack.posts().len(), posts_before + 1);
}

#[test]
fn the_rollover_leaves_a_pinned_flag_and_says_so_once() {
    let h = handler();
    h.flags.insert(
        PARAM,
        pinned_at(3, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()),
    );
    let results = block_on(h.handle_tick(nov(1)));
    assert_eq!(results.len(), 1);
    assert!(results[0].is_ok());
    assert_eq!(h.flags.put_count(), 0);
    assert_eq!(flag(&h).unwrap().model_id, NOVA_LITE);
    assert!(h.slack.posts()[0].1.to_string().contains("pinned"));
    assert!(block_on(h.handle_tick(nov(1))).is_empty());
    assert_eq!(h.slack.posts().len(), 1);
}

#[test]
fn an_alert_before_the_rollover_sets_the_flag_for_the_new_period() {
    let h = handler();
    handle(
        &h,
        "m-100",
        &at_100(),
        Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap(),
    )
    .unwrap();
    // November's 90% alert arrives before the tick: the flag is for this period now, at step 2.
    handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    let f = flag(&h).unwrap();
    assert_eq!(
        (f.step, f.period_start),
        (2, NaiveDate::from_ymd_opt(2026, 11, 1))
    );
    // And the tick does not undo it.
    assert!(block_on(h.handle_tick(nov(12))).is_empty());
    assert_eq!(flag(&h).unwrap().step, 2);
}

#[test]
fn a_failing_rollover_notification_is_retried_by_the_next_tick() {
    let h = handler();
    handle(
        &h,
        "m-90",
        &at_90(),
        Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap(),
    )
    .unwrap();
    h.slack.fail_next([PortErrorKind::Timeout]);
    let results = block_on(h.handle_tick(nov(1)));
    assert!(results[0].is_err());
    assert_eq!(flag(&h).unwrap().step, 1);
    let results = block_on(h.handle_tick(nov(1)));
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

#[test]
fn job_records_fit_a_standard_ssm_parameter() {
    // Standard-tier SSM parameters hold at most 4 KB; the state store uses them.
    let h = handler();
    h.flags.fail_puts([PortErrorKind::Throttled]);
    let _ = handle(&h, "m-90", &at_90(), nov(12));
    handle(&h, "m-90", &at_90(), nov(12)).unwrap();
    handle(&h, "m-z", &"x".repeat(10_000), nov(12)).unwrap();
    for key in h.state.keys() {
        let len = h.state.records.lock().unwrap()[&key].len();
        eprintln!("{key}: {len} bytes");
        assert!(len < 4096, "{key}: {len} bytes");
    }
    let payload = h.slack.posts()[1].1.to_string();
    eprintln!(
        "slack payload: {} bytes; email body: {} bytes",
        payload.len(),
        h.email.published()[1].2.len()
    );
}

#[test]
fn the_tick_prunes_finished_records_once_they_expire() {
    let h = handler();
    let oct20 = Utc.with_ymd_and_hms(2026, 10, 20, 0, 0, 0).unwrap();
    handle(&h, "m-old", &at_100(), oct20).unwrap();
    h.slack.fail_next([PortErrorKind::Unavailable]);
    assert!(handle(&h, "m-unfinished", &at_80_forecast(), oct20).is_err());
    block_on(h.handle_tick(nov(1)));
    assert!(
        h.state
            .keys()
            .contains(&"rollover/chatbot/2026-11-01".to_owned())
    );
    assert!(
        h.state.keys().contains(&"alerts/m-old".to_owned()),
        "kept for 30 days"
    );
    block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()));
    let keys = h.state.keys();
    assert!(!keys.contains(&"alerts/m-old".to_owned()), "{keys:?}");
    assert!(
        !keys.contains(&"rollover/chatbot/2026-11-01".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"alerts/m-unfinished".to_owned()),
        "unfinished jobs stay: {keys:?}"
    );
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
}

#[test]
fn a_daily_budget_rolls_over_every_day() {
    let yaml = r#"version: 1
channels:
  ops:
    slack:
      webhook_secret: budget-guard/slack/ops
routes:
  batch:
    ladder: [us.amazon.nova-pro-v1:0, us.amazon.nova-lite-v1:0, us.amazon.nova-micro-v1:0]
budgets:
  batch daily:
    amount: 60
    period: daily
    scope:
      models: [us.amazon.nova-pro-v1:0]
    thresholds:
      - at: 90%
        notify: [ops]
        downgrade:
          route: batch
          to: cheapest
"#;
    let (policy, diagnostics) = policy::load(&[SourceFile::new("daily.yaml", yaml)]);
    let policy = policy.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let h = Handler::new(
        policy,
        MemoryFlags::default(),
        MemoryState::default(),
        RecordingSlack::default(),
        RecordingEmail::default(),
    );
    let message = budgets_message("bg-batch daily", "ACTUAL", "54.00", "60.00", "55.1");
    block_on(h.handle_message("d-1", None, &message, nov(12))).unwrap();
    let param = "/budget-guard/routes/batch";
    assert_eq!(h.flags.get(param).unwrap().step, 3);
    assert!(
        block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 11, 12, 23, 59, 0).unwrap())).is_empty()
    );
    let results = block_on(h.handle_tick(Utc.with_ymd_and_hms(2026, 11, 13, 0, 1, 0).unwrap()));
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].as_ref().unwrap().job,
        "rollover/batch_daily/2026-11-13"
    );
    assert_eq!(h.flags.get(param).unwrap().step, 1);
}
