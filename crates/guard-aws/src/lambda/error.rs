//! How every function names its failures to Lambda, one way for all three: an `errorType` of
//! `<Function>.Retryable` when another attempt may succeed (Lambda's own retries, a replay from
//! the dead-letter queue), else `<Function>.NotRetryable`; the error's own text is the
//! `errorMessage`. Operators read both in `budget-guard dlq list` and in the functions' logs.

/// The functions' names as they appear in `errorType`.
pub const PROVISIONER: &str = "Provisioner";
pub const ALERT_HANDLER: &str = "AlertHandler";
pub const SPEND_WATCHER: &str = "SpendWatcher";

/// `errorType` of a failure of `function`.
pub fn error_type(function: &str, retryable: bool) -> String {
    let kind = if retryable {
        "Retryable"
    } else {
        "NotRetryable"
    };
    format!("{function}.{kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_says_whose_it_is_and_whether_to_try_again() {
        assert_eq!(error_type(ALERT_HANDLER, true), "AlertHandler.Retryable");
        assert_eq!(error_type(PROVISIONER, false), "Provisioner.NotRetryable");
    }
}
