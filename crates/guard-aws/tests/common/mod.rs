//! Checks the emulator suites share.

use guard_aws::iam::Call;

/// Every call in `calls` (the emulator's `(service, operation)` log) is one the wiring of
/// `function` lists, so its IAM role, derived from the same list, allows it.
pub fn assert_calls_listed(function: &str, calls: &[(String, String)]) {
    let listed: Vec<&Call> = guard_aws::wiring::calls_of(function).collect();
    assert!(!listed.is_empty(), "{function} is not a function");
    assert!(!calls.is_empty(), "no AWS call was made");
    for (service, operation) in calls {
        // The emulator logs CloudWatch under its endpoint's name.
        let service = if service == "monitoring" {
            "cloudwatch"
        } else {
            service.as_str()
        };
        assert!(
            listed
                .iter()
                .any(|c| c.service() == service && c.operation == operation),
            "{service} {operation} is called but not in the {function}'s calls"
        );
    }
}
