//! The watcher over simulated time (the clock is an input): how long from overspending to the
//! alert, and how few metrics it reads while nothing is near a threshold.

#[path = "support/spend_sim.rs"]
mod sim;

use chrono::Duration;
use guard_core::spend::WatchConfig;
use guard_testkit::policy_fixture;
use rust_decimal_macros::dec;
use sim::{load_policy, runaway_burst};

#[test]
fn a_runaway_burst_is_alerted_within_minutes_of_crossing() {
    let policy = load_policy(&policy_fixture("watched-chatbot"));
    let outcome = runaway_burst(&policy, &WatchConfig::default());
    let alerted = |threshold| {
        outcome
            .alerts
            .iter()
            .find(|(_, a)| {
                a.threshold == threshold
                    && a.alert_type == guard_core::spend_basis::SpendBasis::Actual
            })
            .map(|(t, _)| *t)
    };
    for threshold in [dec!(250), dec!(450), dec!(500)] {
        let crossed = outcome.true_crossings[&("bg-chatbot".to_owned(), threshold)];
        let alert = alerted(threshold).expect("alerted");
        let delay = alert - crossed;
        // A minute is visible 2 minutes after it starts, 1 after it ends; then at most a few minutes
        // of schedule.
        println!(
            "${threshold}: crossed {crossed}, alerted {alert}, delay {} min",
            delay.num_minutes()
        );
        assert!(
            delay >= Duration::minutes(1) && delay <= Duration::minutes(6),
            "${threshold}: crossed {crossed}, alerted {alert}"
        );
    }
    // One alert per threshold.
    let mut thresholds: Vec<_> = outcome
        .alerts
        .iter()
        .map(|(_, a)| (a.threshold, a.alert_type))
        .collect();
    thresholds.dedup();
    assert_eq!(thresholds.len(), outcome.alerts.len());
    // Far fewer reads than runs: the schedule reads every 12 minutes while far from a threshold.
    assert!(
        outcome.refresh_runs * 3 < outcome.runs,
        "{} reads in {} runs",
        outcome.refresh_runs,
        outcome.runs
    );
}
