//! Property: whatever the order of alerts, redeliveries and transient delivery failures (each
//! followed by a retry), a period ends with the flag at the deepest step any delivered threshold
//! asks for, every channel told exactly once per alert, and the flag written at most once per
//! step it moved to.

use chrono::{TimeZone, Utc};
use futures::executor::block_on;
use guard_core::handling::fakes::{MemoryFlags, MemoryState, RecordingEmail, RecordingSlack};
use guard_core::handling::{Handler, PortErrorKind};
use guard_core::policy::{self, Policy, SourceFile};
use proptest::prelude::*;

fn policy() -> Policy {
    let source = SourceFile::new(
        "example.yaml",
        include_str!("../../../policies/example.yaml"),
    );
    policy::load(&[source]).0.expect("example policy")
}

/// (message id, message, ladder step it asks for, Slack posts, emails)
fn alerts() -> Vec<(&'static str, String, usize, usize, usize)> {
    let msg = |t: &str, th: &str, amount: &str| {
        format!(
            "Budget Name: bg-chatbot\nBudget Type: Cost\nBudgeted Amount: $500.00\nAlert Type: {t}\n\
             Alert Threshold: > ${th}\n{t} Amount: ${amount}\n"
        )
    };
    vec![
        ("a50", msg("ACTUAL", "250.00", "251"), 1, 1, 0),
        ("f80", msg("FORECASTED", "400.00", "600"), 1, 1, 1),
        ("a90", msg("ACTUAL", "450.00", "451.5"), 2, 1, 1),
        ("a100", msg("ACTUAL", "500.00", "500.01"), 3, 1, 1),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_order_ends_at_the_deepest_step(
        order in Just((0..4usize).collect::<Vec<_>>()).prop_shuffle(),
        take in 1..=4usize,
        redeliver in proptest::collection::vec(any::<bool>(), 4),
        slack_fails in proptest::collection::vec(any::<bool>(), 4),
        email_fails in proptest::collection::vec(any::<bool>(), 4),
    ) {
        let h = Handler::new(policy(), MemoryFlags::default(), MemoryState::default(), RecordingSlack::default(), RecordingEmail::default());
        let all = alerts();
        let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 0, 0).unwrap();
        let (mut deepest, mut posts, mut emails) = (1, 0, 0);
        for (n, &i) in order.iter().take(take).enumerate() {
            let (id, message, step, p, e) = &all[i];
            if slack_fails[n] { h.slack.fail_next([PortErrorKind::Unavailable]); }
            if email_fails[n] && *e > 0 { h.email.fail_next([PortErrorKind::Throttled]); }
            let first = block_on(h.handle_message(id, None, message, now));
            prop_assert_eq!(first.is_err(), slack_fails[n] || (email_fails[n] && *e > 0));
            if first.is_err() {
                prop_assert!(block_on(h.handle_message(id, None, message, now)).is_ok());
            }
            if redeliver[n] {
                prop_assert!(block_on(h.handle_message(id, None, message, now)).unwrap().already_handled);
            }
            deepest = deepest.max(*step);
            posts += p;
            emails += e;
        }
        let flag = h.flags.get("/budget-guard/routes/support-chatbot");
        prop_assert_eq!(flag.as_ref().map_or(1, |f| f.step), deepest);
        prop_assert_eq!(h.slack.posts().len(), posts);
        prop_assert_eq!(h.email.published().len(), emails);
        prop_assert!(h.flags.put_count() <= 2);
    }
}
