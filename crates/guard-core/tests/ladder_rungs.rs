//! Ladder steps beyond a model swap: what `estimate` makes of each (a cap, a service tier, `stop`),
//! the warning for a budget whose scope does not follow its route down, and README's policy.

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{Policy, SourceFile, load};
use guard_core::pricing::estimate::estimate;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
const NOVA_PRO: &str = "us.amazon.nova-pro-v1:0";

fn loaded(text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
    load(&[SourceFile::new("p.yaml", text)])
}

/// `policies/examples/ladder-rungs.yaml`: Sonnet, Haiku, Haiku capped at 500 output tokens, Nova
/// Pro on Flex, stop; 100 requests a day of 1,000 input and 2,000 output tokens.
const EXAMPLE: &str = include_str!("../../../policies/examples/ladder-rungs.yaml");

/// The example with only Sonnet in the budget's scope.
fn sonnet_only_scope() -> String {
    let dropped = format!("        - {HAIKU}\n        - {NOVA_PRO}\n");
    assert!(EXAMPLE.contains(&dropped), "the example's scope lists them");
    EXAMPLE.replacen(&dropped, "", 1)
}

#[test]
fn every_rung_is_priced_as_it_calls() {
    let (policy, diagnostics) = loaded(EXAMPLE);
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
    let (policy, diagnostics) = loaded(&sonnet_only_scope());
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
    assert_eq!(diagnostics[0].line, 23, "at the scope's models");
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

/// A what-if prices a route whose top step is on a tier at that tier, as the estimate does:
/// Nova Pro on Flex, 0.40 / 1.60 per 1M, cache reads 0.10.
#[test]
fn a_what_if_on_a_tier_step_keeps_the_tier() {
    let text = format!(
        "version: 1
routes:
  drafts:
    ladder:
      - {{ model: {NOVA_PRO}, service_tier: flex }}
budgets:
  b:
    amount: 100
    period: monthly
    usage:
      - {{ name: u, route: drafts, input_tokens: 1000, output_tokens: 1000, requests_per_day: 100 }}
channels:
  ops:
    email: [ops@example.com]
settings:
  alarms: [ops]
"
    );
    let (policy, diagnostics) = loaded(&text);
    let policy = policy.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let shares = "cache-hit=50%".parse().unwrap();
    let [b] = &guard_core::pricing::estimate::what_if(&policy, &shares).unwrap()[..] else {
        panic!("one budget");
    };
    // (0.0004 + 0.0016) x 3,000 requests = $6.00; with half the input from the cache,
    // (0.0002 + 0.00005 + 0.0016) x 3,000 = $5.55.
    assert_eq!(
        (b.estimated, b.what_if, b.saving),
        (dec!(6), dec!(5.55), dec!(0.45))
    );
}
