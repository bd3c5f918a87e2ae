//! Test kit for Budget Guard's test suites (test-only, never published).
//!
//! - [`Emulator`]: a fresh local AWS (moto's server plus `tests/emulator/moto_launcher.py`,
//!   which adds the Budgets actions moto lacks) per test, on 127.0.0.1 on a free port, with
//!   its own log of the API calls it handled, forked by `tests/emulator/fork_server.py` from a
//!   process that has imported moto once. Tests run in parallel safely.
//! - [`SlackListener`], [`CfnResponseListener`] and the general [`HttpRecorder`]: local
//!   HTTP/1.1 listeners that record every request and answer per a [`Script`].
//! - [`BudgetsAlert`] and [`budgets_alert_text`]: an AWS Budgets alert in AWS's plain-text layout.
//! - [`example_policy`] and [`policy_fixture`]: the example policy, and the shared policies of
//!   `tests/fixtures/policies/`; [`ExampleAlertAccount`], the account its alert handler finds.
//! - [`LocalLambda`]: a function binary in its own process behind a local Lambda Runtime API,
//!   invoked with real Lambda events ([`sns_event`]), timed from process start; on a
//!   [`FakeClock`], so that stories run on fixed dates.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use guard_testkit::{Emulator, Script, SlackListener, ACCOUNT_ID};
//!
//! let aws = Emulator::start()?;
//! let budgets = aws_sdk_budgets::Client::new(&aws.sdk_config().await);
//! // ... run the code under test against `budgets` ...
//! assert!(aws.write_calls().is_empty(), "a dry run writes nothing");
//!
//! let slack = SlackListener::start(Script::sequence([500, 200]))?;
//! // ... hand slack.url() to the code under test (through a secret) ...
//! let posts = slack.wait_for(2, std::time::Duration::from_secs(5)).await?;
//! assert_eq!(posts[1].json.as_ref().unwrap()["text"], "...");
//! # let _ = ACCOUNT_ID;
//! # Ok(()) }
//! ```
//!
//! The emulator needs the Python venv: `scripts/emulator.sh setup` (or `make test`) makes
//! `.venv` at the workspace root; env `BUDGET_GUARD_PYTHON` points elsewhere.

mod alert_account;
mod alerts;
mod budgets;
mod clock;
mod emulator;
mod fork_server;
mod http;
mod lambda;
mod loopback;
mod policies;
mod tables;

pub use alert_account::ExampleAlertAccount;
pub use alerts::{BudgetsAlert, budgets_alert_text};
pub use budgets::{create_hand_made_budget, delete_budget_by_hand, hand_made_budget};
pub use clock::{FakeClock, libfaketime};
pub use emulator::{
    ACCESS_KEY_ID, ACCOUNT_ID, Emulator, REGION, SECRET_ACCESS_KEY, SnsPublished, is_write_action,
    python, workspace_root,
};
pub use http::{CfnResponseListener, HttpRecorder, RecordedRequest, Reply, Script, SlackListener};
pub use lambda::{Invocation, LocalLambda, sns_event};
pub use policies::{
    EXAMPLE_WEBHOOK_SECRET, alias_bomb, aliased_notify_lists, example_policy, policy_fixture,
    policy_fixture_path,
};
pub use tables::create_ttl_table;
