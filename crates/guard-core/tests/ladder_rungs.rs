//! Ladder steps beyond a model swap: what `estimate` makes of each (a cap, a service tier, `stop`),
//! the warning for a budget whose scope does not follow its route down, and README's policy.

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::estimate::estimate;
use guard_core::policy::{Policy, SourceFile, load};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_PRO: &str = "us.amazon.nova-pro-v1:0";

fn loaded(text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
    load(&[SourceFile::new("p.yaml", text)])
}

fn policy(scope: &str) -> String {
    format!(
        "version: 1
routes:
  chat:
    ladder:
      - {SONNET}
      - {HAIKU}
      - {{ model: {HAIKU}, max_output_tokens: 500 }}
      - {{ model: {NOVA_PRO}, service_tier: flex }}
      - stop
budgets:
  chatbot:
    amount: 1000
    period: monthly
    scope:
      models: [{scope}]
    thresholds:
      - {{ at: 90%, notify: [ops], downgrade: {{ route: chat, to: 4 }} }}
      - {{ at: 100%, notify: [ops], downgrade: {{ route: chat, to: stop }} }}
    usage:
      - {{ name: chat, route: chat, input_tokens: 1000, output_tokens: 2000, requests_per_day: 100 }}
channels:
  ops:
    email: [ops@example.com]
settings:
  alarms: [ops]
"
    )
}

#[test]
fn every_rung_is_priced_as_it_calls() {
    let (policy, diagnostics) = loaded(&policy(&format!("{SONNET}, {HAIKU}, {NOVA_PRO}")));
    let policy = policy.unwrap_or_else(|| panic!("{diagnostics:?}"));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let budgets = estimate(&policy).unwrap();
    let steps: Vec<(usize, Decimal)> = budgets[0]
        .steps
        .iter()
        .map(|s| (s.step, s.estimated))
        .collect();
    // A request: 1,000 input and 2,000 output tokens; 100 a day for 30 days (x 3,000).
    // Step 1, Sonnet under us.: 0.0033 + 0.033 = 0.0363 -> $108.90.
    assert_eq!(budgets[0].estimated, dec!(108.90));
    assert_eq!(
        steps,
        [
            // Haiku under us.: 0.0011 + 0.011 = 0.0121.
            (2, dec!(36.30)),
            // Haiku capped at 500 output tokens: 0.0011 + 0.00275 = 0.00385.
            (3, dec!(11.55)),
            // Nova Pro on Flex: 0.0004 + 2 x 0.0016 = 0.0036.
            (4, dec!(10.80)),
            // stop: nothing.
            (5, dec!(0)),
        ]
    );
    let json = serde_json::to_value(&budgets[0].steps).unwrap();
    assert_eq!(json[1]["max_output_tokens"], 500);
    assert_eq!(json[2]["service_tier"], "flex");
    assert_eq!(json[3]["blocked"], true);
}

#[test]
fn a_scope_that_does_not_follow_the_ladder_down_is_warned() {
    let (policy, diagnostics) = loaded(&policy(SONNET));
    assert!(policy.is_some(), "a warning, not an error: {diagnostics:?}");
    let mut warned: Vec<&str> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.message.as_str())
        .collect();
    warned.sort_unstable();
    // Haiku (steps 2 and 3) and Nova Pro (step 4) are left out; `stop` needs no scope.
    assert_eq!(
        warned,
        [
            format!(
                "budget `chatbot` steps route `chat` down to `{NOVA_PRO}`, which its scope does not cover"
            ),
            format!(
                "budget `chatbot` steps route `chat` down to `{HAIKU}`, which its scope does not cover"
            ),
        ]
    );
    assert_eq!(diagnostics[0].line, 15, "at the scope's models");
}

/// README's policy example is a policy: it validates without a warning.
#[test]
fn the_readme_policy_validates() {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default())
        .find(|b| b.contains("version: 1") && b.contains("budgets:"))
        .expect("README has a policy example");
    let (policy, diagnostics) = loaded(block);
    assert!(policy.is_some(), "{diagnostics:#?}");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}
