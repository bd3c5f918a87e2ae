//! Estimates against figures worked out by hand, to the cent. Prices are USD per 1,000 tokens from
//! the bundled catalog; `us.` inference profiles of Claude 4.5 cost 10% more than the base model.

use guard_core::policy::{Policy, SourceFile, load};
use guard_core::pricing::estimate::{BudgetEstimate, estimate};
use guard_testkit::{example_policy, policy_fixture};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn policy(text: &str) -> Policy {
    let (policy, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    policy.unwrap_or_else(|| panic!("valid policy: {diagnostics:#?}"))
}

fn example() -> Vec<BudgetEstimate> {
    estimate(&policy(example_policy())).expect("every model has a price")
}

fn budget<'a>(all: &'a [BudgetEstimate], name: &str) -> &'a BudgetEstimate {
    all.iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("budget {name}"))
}

#[test]
fn support_chatbot_on_sonnet_4_5() {
    // Sonnet 4.5 under `us.`: 0.0033 in, 0.0165 out per 1K.
    // 1,000 in x 0.0033/1K + 2,000 out x 0.0165/1K = 0.0033 + 0.0330 = 0.0363 a message;
    // x 400 a day = 14.52; x 30 days = 435.60 of 500 = 87.1%.
    let all = example();
    let chatbot = budget(&all, "bg-chatbot");
    let chat = &chatbot.use_cases[0];
    assert_eq!(chat.model, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    assert_eq!(chat.cost_per_request, dec!(0.0363));
    assert_eq!(chat.cost_per_day, dec!(14.52));
    assert_eq!(chat.cost, dec!(435.60));
    assert_eq!(chatbot.estimated, dec!(435.60));
    assert_eq!(chatbot.amount, dec!(500));
    assert_eq!(chatbot.days, 30);
    assert_eq!(chatbot.share_percent, dec!(87.1));
    // 435.60 is past 50% ($250) and the 80% forecast ($400), short of 90% ($450).
    assert_eq!(chatbot.crosses, ["50%", "80% forecasted"]);
}

#[test]
fn support_chatbot_on_lower_steps_with_savings() {
    // Haiku 4.5 under `us.`: 0.0011 in, 0.0055 out: 0.0011 + 0.0110 = 0.0121 x 12,000 = 145.20.
    // Nova Lite: 0.00006 in, 0.00024 out: 0.00006 + 0.00048 = 0.00054 x 12,000 = 6.48.
    let all = example();
    let steps: Vec<(usize, &str, Decimal, Decimal, Decimal)> = budget(&all, "bg-chatbot")
        .steps
        .iter()
        .map(|s| {
            (
                s.step,
                s.model.as_str(),
                s.estimated,
                s.saving,
                s.share_percent,
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (
                2,
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                dec!(145.20),
                dec!(290.40),
                dec!(29.0)
            ),
            (
                3,
                "us.amazon.nova-lite-v1:0",
                dec!(6.48),
                dec!(429.12),
                dec!(1.3)
            ),
        ]
    );
}

#[test]
fn writing_assistant_on_nova_pro() {
    // Nova Pro: 0.0008 in, 0.0032 out. 500 x 0.0008/1K + 1,500 x 0.0032/1K = 0.0004 + 0.0048 =
    // 0.0052 a task; x 200 = 1.04 a day; x 30 = 31.20 of 40 = 78%: past 50%, short of 80% ($32).
    let all = example();
    let writer = budget(&all, "bg-writing-assistant");
    assert_eq!(writer.use_cases[0].cost_per_request, dec!(0.0052));
    assert_eq!(writer.use_cases[0].cost_per_day, dec!(1.04));
    assert_eq!(writer.estimated, dec!(31.20));
    assert_eq!(writer.share_percent, dec!(78.0));
    assert_eq!(writer.crosses, ["50%"]);
    // Nova Lite: 0.5 x 0.00006 + 1.5 x 0.00024 = 0.00039 x 6,000 = 2.34.
    // Nova Micro: 0.5 x 0.000035 + 1.5 x 0.00014 = 0.0002275 x 6,000 = 1.365, 1.37 to the cent.
    let steps: Vec<(Decimal, Decimal)> = writer
        .steps
        .iter()
        .map(|s| (s.estimated, s.saving))
        .collect();
    assert_eq!(
        steps,
        [(dec!(2.34), dec!(28.86)), (dec!(1.37), dec!(29.83))]
    );
}

#[test]
fn prompt_cache_terms() {
    // Sonnet 4.5 under `us.`: cache write 3.75/1M x 1.1 = 0.004125/1K, cache read 0.30/1M x 1.1 =
    // 0.00033/1K. Per request: 1,000 in 0.0033 + 500 out 0.00825 + 4,000 read 0.00132 +
    // 1,000 written 0.004125 = 0.016995; x 100 a day = 1.6995; x 30 = 50.985, 50.99 to the cent.
    let p = policy(
        "version: 1
budgets:
  rag:
    amount: 100
    period: monthly
    usage:
      - name: rag
        model: us.anthropic.claude-sonnet-4-5-20250929-v1:0
        input_tokens: 1000
        output_tokens: 500
        cache_read_tokens: 4000
        cache_write_tokens: 1000
        requests_per_day: 100
",
    );
    let all = estimate(&p).unwrap();
    assert_eq!(all[0].use_cases[0].cost_per_request, dec!(0.016995));
    assert_eq!(all[0].use_cases[0].cost_per_day, dec!(1.6995));
    assert_eq!(all[0].estimated, dec!(50.99));
    assert_eq!(all[0].share_percent, dec!(51.0));
}

#[test]
fn price_overrides_are_exact_decimals() {
    let p = policy(&policy_fixture("price-overrides"));
    let price = &p.pricing["my-fine-tuned-model"];
    // Exact, not the nearest f64: 0.0033 has no finite binary form.
    assert_eq!(price.input_per_1k, dec!(0.0033));
    assert_eq!(price.input_per_1k.to_string(), "0.0033");
    assert_eq!(price.output_per_1k.to_string(), "0.0165");
    // Twenty significant digits, more than an f64 holds, come through as written.
    assert_eq!(
        p.pricing["precise-model"].input_per_1k.to_string(),
        "0.12345678901234567891"
    );
}

#[test]
fn price_override_prices_the_use_case() {
    // The override's figures are Sonnet 4.5's under `us.`: 0.0363 a message x 400 = 14.52 a day;
    // a quarter is 91 days: 1,321.32 of 1,000 = 132.1%, past $400 and the 100% forecast.
    let all = estimate(&policy(&policy_fixture("price-overrides"))).unwrap();
    let custom = &all[0];
    assert_eq!(custom.days, 91);
    assert_eq!(custom.use_cases[0].cost_per_request, dec!(0.0363));
    assert_eq!(custom.estimated, dec!(1321.32));
    assert_eq!(custom.share_percent, dec!(132.1));
    assert_eq!(custom.crosses, ["$400", "100% forecasted"]);
    assert!(custom.steps.is_empty(), "no route, no ladder steps");
}

#[test]
fn nothing_crossed_below_every_threshold() {
    let text =
        policy_fixture("price-overrides").replace("requests_per_day: 400", "requests_per_day: 1");
    let all = estimate(&policy(&text)).unwrap();
    // 0.0363 x 91 = 3.3033, 3.30.
    assert_eq!(all[0].estimated, dec!(3.30));
    assert!(all[0].crosses.is_empty());
}

#[test]
fn json_has_money_as_numbers() {
    let all = example();
    let json = serde_json::to_value(&all).unwrap();
    let chatbot = &json[0];
    assert_eq!(chatbot["name"], "bg-chatbot");
    assert_eq!(chatbot["amount"].as_f64(), Some(500.0));
    assert_eq!(chatbot["estimated"].as_f64(), Some(435.6));
    assert_eq!(chatbot["use_cases"][0]["cost"].as_f64(), Some(435.6));
    assert_eq!(
        chatbot["use_cases"][0]["model"],
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert_eq!(chatbot["steps"][0]["saving"].as_f64(), Some(290.4));
}

/// The same use case (1,000 requests a day of 1,000 input and 1,000 output tokens, 30 days) on
/// current models under each geo prefix, worked out from the published per-1M figures.
#[test]
fn current_models_in_each_geo_prefix_cost_what_is_published() {
    let month = |model: &str| -> Decimal {
        let text = format!(
            "version: 1\nbudgets:\n  b:\n    amount: 100000\n    period: monthly\n    usage:\n      - {{name: u, model: {model}, input_tokens: 1000, output_tokens: 1000, requests_per_day: 1000}}\n"
        );
        estimate(&policy(&text)).expect("priced")[0].estimated
    };
    for (model, per_1m_in_plus_out) in [
        // Claude Sonnet 4.5: 3 + 15 under global., +10% regional, +20% us-gov.
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", dec!(18)),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", dec!(19.8)),
        ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", dec!(19.8)),
        ("jp.anthropic.claude-sonnet-4-5-20250929-v1:0", dec!(19.8)),
        ("au.anthropic.claude-sonnet-4-5-20250929-v1:0", dec!(19.8)),
        (
            "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
            dec!(21.6),
        ),
        // Claude Sonnet 4.6: 3 + 15; Opus 4.6: 5 + 25; Sonnet 5: 2 + 10.
        ("global.anthropic.claude-sonnet-4-6", dec!(18)),
        ("apac.anthropic.claude-sonnet-4-6", dec!(19.8)),
        ("us.anthropic.claude-opus-4-6-v1", dec!(33)),
        ("us-gov.anthropic.claude-sonnet-5", dec!(14.4)),
        // Nova Pro: 0.80 + 3.20 in us., 1.05 + 4.20 in eu., 0.84 + 3.36 in apac.
        ("us.amazon.nova-pro-v1:0", dec!(4)),
        ("eu.amazon.nova-pro-v1:0", dec!(5.25)),
        ("apac.amazon.nova-pro-v1:0", dec!(4.2)),
        // Nova 2 Lite: 0.30 + 2.50 global., 0.33 + 2.75 us., 0.429 + 3.597 eu.
        ("global.amazon.nova-2-lite-v1:0", dec!(2.8)),
        ("us.amazon.nova-2-lite-v1:0", dec!(3.08)),
        ("eu.amazon.nova-2-lite-v1:0", dec!(4.026)),
        // Open-weight models: one price under any prefix.
        ("us.deepseek.r1-v1:0", dec!(6.75)),
        ("openai.gpt-oss-120b-1:0", dec!(0.75)),
        ("us-gov.openai.gpt-oss-120b-1:0", dec!(0.9)),
        ("us.meta.llama4-maverick-17b-instruct-v1:0", dec!(1.21)),
    ] {
        // 1,000 requests x 1,000 tokens each way = 1M tokens each way a day, for 30 days.
        assert_eq!(month(model), per_1m_in_plus_out * dec!(30), "{model}");
    }
}

/// A use case whose prompt is above 200K tokens on Claude Sonnet 4.5 is billed at the long-context
/// prices for every token of the request (6.00 / 22.50 per 1M under global., 10% more under us.).
#[test]
fn a_long_prompt_is_priced_at_the_long_context_tier() {
    let month = |model: &str, input: u64| -> Decimal {
        let text = format!(
            "version: 1\nbudgets:\n  b:\n    amount: 100000\n    period: monthly\n    usage:\n      - {{name: u, model: {model}, input_tokens: {input}, output_tokens: 1000, requests_per_day: 100}}\n"
        );
        estimate(&policy(&text)).expect("priced")[0].estimated
    };
    let sonnet = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";
    // 200,000 is not above: 0.6 + 0.015 a request, x 100 x 30.
    assert_eq!(month(sonnet, 200_000), dec!(1845));
    // 250,000: 1.5 + 0.0225 a request.
    assert_eq!(month(sonnet, 250_000), dec!(4567.5));
    assert_eq!(
        month("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 250_000),
        dec!(5024.25)
    );
    // Haiku 4.5 has no such tier: 0.25 + 0.005 a request.
    assert_eq!(
        month("global.anthropic.claude-haiku-4-5-20251001-v1:0", 250_000),
        dec!(765)
    );
}

/// An application inference profile ARN, named in `profiles:` with the model it runs, is priced
/// as that model on a ladder and in a use case.
#[test]
fn an_application_inference_profile_is_priced_as_its_model() {
    const ARN: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6";
    let text = format!(
        "version: 1
profiles:
  {ARN}: us.anthropic.claude-sonnet-4-5-20250929-v1:0
routes:
  chat:
    ladder: [{ARN}, us.amazon.nova-lite-v1:0]
budgets:
  b:
    amount: 1000
    period: monthly
    scope: {{models: [{ARN}]}}
    usage:
      - {{name: u, route: chat, input_tokens: 1000, output_tokens: 1000, requests_per_day: 1000}}
"
    );
    let policy = policy(&text);
    // us. Sonnet 4.5: 3.30 + 16.50 per 1M, 1M tokens each way a day, 30 days.
    assert_eq!(estimate(&policy).unwrap()[0].estimated, dec!(594));
    let price = policy.catalog().resolve(ARN).unwrap().price;
    assert_eq!(price.service, "Claude Sonnet 4.5 (Amazon Bedrock Edition)");
    assert_eq!(
        guard_core::pricing::catalog::Catalog::bundled()
            .services_for([ARN])
            .len(),
        1,
        "the bundled catalog alone does not know the ARN"
    );
    assert!(
        policy
            .catalog()
            .services_for([ARN])
            .contains(&price.service)
    );
}

#[test]
fn usd_groups_thousands_and_keeps_the_sign() {
    use guard_core::pricing::estimate::usd;
    assert_eq!(usd(Decimal::new(123456789, 2)), "$1,234,567.89");
    assert_eq!(usd(Decimal::new(5, 1)), "$0.50");
    assert_eq!(usd(Decimal::new(-1250, 2)), "-$12.50");
}
