//! Each function put together from the adapters: which adapters' calls make up its IAM role, the
//! environment it reads ([`env::Env`]), and the code that builds it. The Lambda functions and the
//! CLI commands that run the same code build them here.

pub mod alert_handler;
pub mod env;
pub mod provisioner;
pub mod schedule;
pub mod spend_watcher;
pub mod usage_meter;

use crate::iam::{Call, Statement, statements};

/// Every function and the calls its adapters make, as the CDK app names the functions.
pub const FUNCTIONS: [(&str, &[crate::iam::Calls]); 4] = [
    ("provisioner", provisioner::CALLS),
    ("alert-handler", alert_handler::CALLS),
    ("spend-watcher", spend_watcher::CALLS),
    ("usage-meter", usage_meter::CALLS),
];

/// The calls of the function `name` (none for a name that is no function).
pub fn calls_of(name: &str) -> impl Iterator<Item = &'static Call> + use<'_> {
    FUNCTIONS
        .iter()
        .filter(move |(function, _)| *function == name)
        .flat_map(|(_, adapters)| adapters.iter().flat_map(|calls| calls.iter()))
}

/// Per function, the statements of its role.
pub fn iam_statements() -> Vec<(&'static str, Vec<Statement>)> {
    FUNCTIONS
        .iter()
        .map(|(function, adapters)| (*function, statements(adapters)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_dirs_of(function: &str) -> Vec<&'static str> {
        iam_statements()
            .into_iter()
            .filter(|(f, _)| *f == function)
            .flat_map(|(_, s)| s)
            .filter_map(|s| s.state_dir)
            .collect()
    }

    /// The split state path: each function writes only its own subtree, and neither subtree
    /// contains the other.
    #[test]
    fn each_function_writes_only_its_own_state_subtree() {
        let handler = state_dirs_of("alert-handler");
        let watcher = state_dirs_of("spend-watcher");
        assert_eq!(handler, [guard_core::policy::ALERT_HANDLER_STATE_DIR]);
        assert_eq!(watcher, [guard_core::policy::SPEND_WATCHER_STATE_DIR]);
        assert!(state_dirs_of("provisioner").is_empty());
        assert!(!handler[0].starts_with(watcher[0]) && !watcher[0].starts_with(handler[0]));
        let settings = guard_core::policy::raw::Settings::default();
        assert_eq!(
            settings.alert_handler_state_path(),
            "/budget-guard/state/alert-handler/"
        );
        assert_eq!(
            settings.spend_watcher_state_path(),
            "/budget-guard/state/spend/"
        );
    }
}
