//! Any text into the alert parser: a bare SNS message (AWS Budgets plain text or a spend watcher
//! JSON alert), a Lambda SNS event or an SNS envelope. Non-UTF-8 bytes go through
//! `String::from_utf8_lossy`, as a Lambda handler that got bytes would. Must never panic or hang.
#![no_main]

use guard_core::alerts::parse::{Alert, parse_message, sns::parse_input};
use libfuzzer_sys::fuzz_target;

fn touch(alert: &Alert) {
    // What the alert handler and `alert simulate` read from a parsed alert.
    let _ = alert.kind();
    let _ = alert.budget_name();
    let _ = alert.alert_type();
    let _ = alert.threshold();
    let _ = alert.budgeted();
    let _ = alert.amount();
    let _ = alert.period();
    let _ = alert.threshold_percent();
    let _ = alert.to_summary_json();
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(alert) = parse_message(&text) {
        touch(&alert);
    }
    if let Ok(records) = parse_input(&text) {
        for record in &records {
            touch(&record.alert);
        }
    }
});
