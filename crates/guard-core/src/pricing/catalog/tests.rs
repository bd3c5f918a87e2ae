use super::file::*;
use super::overrides::*;
use super::*;
use rust_decimal_macros::dec;

const SONNET_45: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU_45: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";

/// Every model the catalog must carry.
const REQUIRED: &[&str] = &[
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    SONNET_45,
    HAIKU_45,
    "anthropic.claude-opus-4-20250514-v1:0",
    "anthropic.claude-opus-4-1-20250805-v1:0",
    "amazon.nova-micro-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.nova-premier-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "meta.llama3-1-8b-instruct-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "meta.llama3-1-405b-instruct-v1:0",
    "meta.llama3-2-1b-instruct-v1:0",
    "meta.llama3-2-3b-instruct-v1:0",
    "meta.llama3-2-11b-instruct-v1:0",
    "meta.llama3-2-90b-instruct-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mixtral-8x7b-instruct-v0:1",
    "mistral.mistral-large-2402-v1:0",
    "mistral.mistral-large-2407-v1:0",
    "cohere.command-r-v1:0",
    "cohere.command-r-plus-v1:0",
    "ai21.jamba-1-5-large-v1:0",
    "ai21.jamba-1-5-mini-v1:0",
    "amazon.titan-text-express-v1",
    "amazon.titan-text-lite-v1",
    "amazon.titan-text-premier-v1:0",
    // Added 2026-12-01.
    "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-opus-4-6-v1",
    "anthropic.claude-sonnet-4-6",
    "anthropic.claude-sonnet-5",
    "anthropic.claude-sonnet-5-5",
    "amazon.nova-2-lite-v1:0",
    "amazon.nova-2-pro-preview-20251202-v1:0",
    "meta.llama4-maverick-17b-instruct-v1:0",
    "meta.llama4-scout-17b-instruct-v1:0",
    "deepseek.r1-v1:0",
    "deepseek.v3-v1:0",
    "deepseek.v3.2",
    "openai.gpt-oss-120b-1:0",
    "openai.gpt-oss-20b-1:0",
    "openai.gpt-oss-safeguard-120b",
    "openai.gpt-oss-safeguard-20b",
    "qwen.qwen3-235b-a22b-2507-v1:0",
    "qwen.qwen3-32b-v1:0",
    "qwen.qwen3-coder-30b-a3b-v1:0",
    "qwen.qwen3-coder-480b-a35b-v1:0",
    "qwen.qwen3-coder-next",
    "qwen.qwen3-next-80b-a3b",
    "qwen.qwen3-vl-235b-a22b",
    "mistral.mistral-large-3-675b-instruct",
    "mistral.pixtral-large-2502-v1:0",
    "writer.palmyra-x4-v1:0",
    "writer.palmyra-x5-v1:0",
];

#[test]
fn prices_a_catalog_file_reads_back_as_written() {
    let bundled = Catalog::bundled();
    let entries: Vec<ModelPrice> = bundled.entries().cloned().collect();
    let text = catalog_file(&entries, "a header\nof two lines");
    assert!(text.starts_with("# a header\n# of two lines\n"), "{text}");
    let back =
        parse_catalog(&text).unwrap_or_else(|e| panic!("{e} at {}:{}\n{text}", e.line, e.column));
    assert_eq!(back, bundled);
}

#[test]
fn prices_geo_profiles_are_priced_as_published() {
    // eu. and apac. Nova cost more than us.; us-gov. Claude 20% more than global.
    let eu_pro = resolved("eu.amazon.nova-pro-v1:0").price;
    assert_eq!(
        (eu_pro.input_per_1k, eu_pro.output_per_1k),
        (dec!(0.00105), dec!(0.0042))
    );
    assert_eq!(eu_pro.cache_read_price(), dec!(0.0002625));
    assert_eq!(
        eu_pro.cache_write_price(),
        Decimal::ZERO,
        "Nova charges no write"
    );
    assert_eq!(eu_pro.batch_input_per_1k, None, "no eu. batch price read");
    let apac_lite = resolved("apac.amazon.nova-lite-v1:0").price;
    assert_eq!(
        (apac_lite.input_per_1k, apac_lite.output_per_1k),
        (dec!(0.000063), dec!(0.000252))
    );
    let us_pro = resolved("us.amazon.nova-pro-v1:0").price;
    assert_eq!(
        (us_pro.input_per_1k, us_pro.output_per_1k),
        (dec!(0.0008), dec!(0.0032))
    );
    let gov = resolved("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0").price;
    assert_eq!(
        (gov.input_per_1k, gov.output_per_1k),
        (dec!(0.0036), dec!(0.018))
    );
    let eu = resolved("eu.anthropic.claude-sonnet-4-5-20250929-v1:0").price;
    assert_eq!(
        (eu.input_per_1k, eu.output_per_1k),
        (dec!(0.0033), dec!(0.0165))
    );
    let global = resolved("global.anthropic.claude-sonnet-4-6").price;
    assert_eq!(
        (global.input_per_1k, global.output_per_1k),
        (dec!(0.003), dec!(0.015))
    );
    let jp_sonnet5 = resolved("jp.anthropic.claude-sonnet-5").price;
    assert_eq!(
        (jp_sonnet5.input_per_1k, jp_sonnet5.output_per_1k),
        (dec!(0.0022), dec!(0.011))
    );
    let eu_lite2 = resolved("eu.amazon.nova-2-lite-v1:0").price;
    assert_eq!(
        (eu_lite2.input_per_1k, eu_lite2.output_per_1k),
        (dec!(0.000429), dec!(0.003597))
    );
    // A resolved price carries no profile table of its own.
    assert!(eu_lite2.profiles.is_empty() && eu_lite2.regional_premium_percent.is_none());
}

#[test]
fn prices_lifecycle_names_a_live_successor() {
    let catalog = Catalog::bundled();
    let eol: Vec<&str> = catalog
        .entries()
        .filter(|p| p.lifecycle == Lifecycle::EndOfLife)
        .map(|p| p.model_id.as_str())
        .collect();
    assert_eq!(eol.len(), 15, "{eol:#?}");
    for id in [
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "amazon.nova-premier-v1:0",
        "meta.llama3-2-1b-instruct-v1:0",
        "cohere.command-r-v1:0",
        "ai21.jamba-1-5-mini-v1:0",
    ] {
        assert!(eol.contains(&id), "{id}");
    }
    for p in catalog.entries() {
        if p.lifecycle == Lifecycle::Active {
            assert!(
                p.successor.is_none() && p.lifecycle_source.is_none(),
                "{}",
                p.model_id
            );
        } else {
            assert!(
                p.lifecycle_source.is_some(),
                "{}: no lifecycle source",
                p.model_id
            );
        }
        if let Some(next) = &p.successor {
            assert_eq!(
                catalog.get(next).unwrap().lifecycle,
                Lifecycle::Active,
                "{}",
                p.model_id
            );
        }
    }
}

#[test]
fn prices_a_catalog_file_says_where_it_is_wrong() {
    let file = |entry: &str| {
        format!(
            "sources:\n  s: a source\nmodels:\n  - model_id: m.one\n    service: Amazon Bedrock\n    input_per_1m: 1\n    output_per_1m: 2\n    source: s\n    checked: \"2026-12-01\"\n{entry}"
        )
    };
    assert!(parse_catalog(&file("")).is_ok());
    for (extra, message, line) in [
        (
            "    profiles:\n      mars: {premium_percent: 5}\n",
            "`mars` is not a cross-region inference profile",
            4,
        ),
        (
            "    profiles:\n      eu: {input_per_1m: 1}\n",
            "profile `eu` needs either",
            4,
        ),
        (
            "    profiles:\n      eu: {premium_percent: 5, input_per_1m: 1, output_per_1m: 1}\n",
            "profile `eu` needs either",
            4,
        ),
        (
            "    lifecycle: end_of_life\n    successor: m.two\n",
            "successor `m.two` is not in the catalog",
            4,
        ),
        (
            "    end_of_life: \"2026-01-01\"\n",
            "an active model has no",
            4,
        ),
        (
            "    long_context: {input_per_1m: 2, output_per_1m: 4}\n",
            "`long_context` needs `above_input_tokens` above 0",
            4,
        ),
        (
            "    tiers:\n      flex: {above_input_tokens: 5, input_per_1m: 2, output_per_1m: 4}\n",
            "tier `flex` has `above_input_tokens`",
            4,
        ),
        (
            "    tiers:\n      flex: {input_per_1m: -2, output_per_1m: 4}\n",
            "a price is negative",
            4,
        ),
        (
            "    tiers:\n      standard: {input_per_1m: 2, output_per_1m: 4}\n",
            "unknown variant `standard`",
            11,
        ),
        ("    lifecycle: gone\n", "unknown variant `gone`", 10),
        ("    input_per_1k: 1\n", "unknown field `input_per_1k`", 10),
        (
            "  - model_id: m.one\n    service: x\n    input_per_1m: 1\n    output_per_1m: 1\n    source: s\n    checked: \"2026-12-01\"\n",
            "listed twice",
            4,
        ),
    ] {
        let error = parse_catalog(&file(extra)).expect_err(extra);
        assert!(error.message.contains(message), "{extra}: {error}");
        assert_eq!(error.line, line, "{extra}: {error}");
    }
}

fn price(id: &str) -> ModelPrice {
    Catalog::bundled()
        .get(id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn resolved(id: &str) -> ResolvedPrice {
    Catalog::bundled()
        .resolve(id)
        .unwrap_or_else(|| panic!("{id} does not resolve"))
}

#[test]
fn prices_long_context_bills_the_whole_request_above_its_size() {
    // Sonnet 4.5 above 200K prompt tokens: 6.00 / 22.50 per 1M (global), 10% more under us.
    let sonnet = resolved(SONNET_45).price;
    assert_eq!(sonnet.request_cost(200_000, 1_000, 0, 0), dec!(0.615));
    assert_eq!(sonnet.request_cost(250_000, 1_000, 0, 0), dec!(1.5225));
    // The prompt counts cache tokens too: 150K input + 60K read is above 200K.
    assert_eq!(
        sonnet.request_cost(150_000, 1_000, 60_000, 0),
        dec!(0.9) + dec!(0.0225) + dec!(0.036)
    );
    let us = resolved(&format!("us.{SONNET_45}")).price;
    assert_eq!(us.request_cost(250_000, 1_000, 0, 0), dec!(1.67475));
    // Summed counts (the spend watcher's) are never taken for one request.
    assert_eq!(sonnet.cost(250_000, 1_000, 0, 0), dec!(0.765));
    // A model without the tier bills a long prompt at its standard figures.
    let haiku = resolved(HAIKU_45).price;
    assert_eq!(
        haiku.request_cost(250_000, 1_000, 0, 0),
        haiku.cost(250_000, 1_000, 0, 0)
    );
}

#[test]
fn prices_service_tiers_replace_the_standard_figures() {
    let pro = price("amazon.nova-pro-v1:0");
    let flex = pro.in_tier(ServiceTier::Flex).expect("Nova Pro has Flex");
    assert_eq!(
        flex.cost(1_000_000, 1_000_000, 1_000_000, 0),
        dec!(0.40) + dec!(1.60) + dec!(0.10)
    );
    assert_eq!(flex.batch_input_per_1k, None, "no batch under a tier");
    let priority = pro.in_tier(ServiceTier::Priority).expect("and Priority");
    assert_eq!(priority.cost(1_000_000, 1_000_000, 0, 0), dec!(7.00));
    // Priority only: no Flex figure, no Flex price.
    assert_eq!(
        price("amazon.nova-premier-v1:0").in_tier(ServiceTier::Flex),
        None
    );
    // A regional premium raises the tier too; a profile with figures of its own drops the
    // base tiers, which are not its prices.
    let us_flex = resolved("us.openai.gpt-oss-120b-1:0")
        .price
        .in_tier(ServiceTier::Flex)
        .expect("gpt-oss-120b has Flex");
    assert_eq!(us_flex.input_per_1k, dec!(0.000075));
    assert_eq!(
        resolved("eu.amazon.nova-pro-v1:0")
            .price
            .in_tier(ServiceTier::Flex),
        None
    );
}

#[test]
fn prices_one_hour_cache_writes() {
    assert_eq!(price(SONNET_45).cache_write_1h_price(), dec!(0.006));
    assert_eq!(
        resolved(&format!("us.{SONNET_45}"))
            .price
            .cache_write_1h_price(),
        dec!(0.0066)
    );
    // Claude without a figure: 2x input; others: the 5-minute write.
    let mut claude = price(HAIKU_45);
    claude.cache_write_1h_per_1k = None;
    assert_eq!(claude.cache_write_1h_price(), dec!(0.002));
    let nova = price("amazon.nova-lite-v1:0");
    assert_eq!(nova.cache_write_1h_price(), nova.cache_write_price());
}

#[test]
fn prices_every_required_model_is_present_with_source_and_date() {
    let catalog = Catalog::bundled();
    for id in REQUIRED {
        let p = catalog.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert!(!p.source.trim().is_empty(), "{id}: empty source");
        assert!(!p.service.trim().is_empty(), "{id}: empty service");
        let date = chrono::NaiveDate::parse_from_str(&p.checked, "%Y-%m-%d");
        assert!(
            date.is_ok(),
            "{id}: checked {:?} is not YYYY-MM-DD",
            p.checked
        );
    }
    assert_eq!(
        catalog.entries().count(),
        REQUIRED.len(),
        "catalog has models the test does not list"
    );
}

#[test]
fn prices_entries_are_sorted_unique_and_non_negative() {
    let catalog = Catalog::bundled();
    let ids: Vec<&str> = catalog.entries().map(|p| p.model_id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "entries must be sorted by model id and unique");
    for p in catalog.entries() {
        let terms = [
            Some(p.input_per_1k),
            Some(p.output_per_1k),
            p.cache_write_per_1k,
            p.cache_read_per_1k,
            p.batch_input_per_1k,
            p.batch_output_per_1k,
        ];
        for term in terms.into_iter().flatten() {
            assert!(
                term >= Decimal::ZERO,
                "{}: negative price {term}",
                p.model_id
            );
        }
        assert!(
            p.output_per_1k > Decimal::ZERO,
            "{}: output price must be positive",
            p.model_id
        );
        // Batch is 50% of on-demand wherever the catalog gives it.
        if let (Some(bi), Some(bo)) = (p.batch_input_per_1k, p.batch_output_per_1k) {
            assert_eq!(bi * dec!(2), p.input_per_1k, "{}", p.model_id);
            assert_eq!(bo * dec!(2), p.output_per_1k, "{}", p.model_id);
        }
        assert_eq!(
            p.batch_input_per_1k.is_some(),
            p.batch_output_per_1k.is_some(),
            "{}",
            p.model_id
        );
    }
}

#[test]
fn prices_spot_checks_are_exact() {
    let s = price(SONNET_45);
    assert_eq!(
        (s.input_per_1k, s.output_per_1k),
        (dec!(0.003), dec!(0.015))
    );
    assert_eq!(
        (s.cache_write_per_1k, s.cache_read_per_1k),
        (Some(dec!(0.00375)), Some(dec!(0.0003)))
    );
    assert_eq!(
        (s.batch_input_per_1k, s.batch_output_per_1k),
        (Some(dec!(0.0015)), Some(dec!(0.0075)))
    );
    assert_eq!(s.regional_premium_percent, Some(dec!(10)));
    assert_eq!(s.service, "Claude Sonnet 4.5 (Amazon Bedrock Edition)");

    let h = price(HAIKU_45);
    assert_eq!(
        (h.input_per_1k, h.output_per_1k),
        (dec!(0.001), dec!(0.005))
    );
    assert_eq!(h.service, "Claude Haiku 4.5 (Amazon Bedrock Edition)");

    let micro = price("amazon.nova-micro-v1:0");
    assert_eq!(
        (micro.input_per_1k, micro.output_per_1k),
        (dec!(0.000035), dec!(0.00014))
    );
    assert_eq!(micro.cache_read_per_1k, Some(dec!(0.00000875)));
    assert_eq!(micro.cache_write_per_1k, Some(Decimal::ZERO));
    assert_eq!(
        (micro.batch_input_per_1k, micro.batch_output_per_1k),
        (Some(dec!(0.0000175)), Some(dec!(0.00007)))
    );
    assert_eq!(micro.service, BEDROCK_SERVICE);

    let premier = price("amazon.nova-premier-v1:0");
    assert_eq!(premier.cache_read_per_1k, Some(dec!(0.000625)));

    let haiku3 = price("anthropic.claude-3-haiku-20240307-v1:0");
    assert_eq!(
        (haiku3.input_per_1k, haiku3.output_per_1k),
        (dec!(0.00025), dec!(0.00125))
    );
    // Gap in the table, filled by the Claude rule: write 1.25x, read 0.1x input.
    assert_eq!(
        (haiku3.cache_write_per_1k, haiku3.cache_read_per_1k),
        (Some(dec!(0.0003125)), Some(dec!(0.000025)))
    );
    assert!(
        haiku3
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("unsettled:"))
    );
    assert_eq!(haiku3.service, "Claude 3 Haiku (Amazon Bedrock Edition)");

    let opus41 = price("anthropic.claude-opus-4-1-20250805-v1:0");
    assert_eq!(
        (opus41.input_per_1k, opus41.output_per_1k),
        (dec!(0.015), dec!(0.075))
    );
    assert_eq!(
        (opus41.cache_write_per_1k, opus41.cache_read_per_1k),
        (Some(dec!(0.01875)), Some(dec!(0.0015)))
    );
    assert_eq!(opus41.service, "Claude Opus 4.1 (Amazon Bedrock Edition)");

    let l70 = price("meta.llama3-70b-instruct-v1:0");
    assert_eq!(
        (l70.input_per_1k, l70.output_per_1k),
        (dec!(0.00265), dec!(0.0035))
    );
    let l33 = price("meta.llama3-3-70b-instruct-v1:0");
    assert_eq!(
        (l33.batch_input_per_1k, l33.batch_output_per_1k),
        (Some(dec!(0.00036)), Some(dec!(0.00036)))
    );
    let large2402 = price("mistral.mistral-large-2402-v1:0");
    assert_eq!(
        (large2402.input_per_1k, large2402.output_per_1k),
        (dec!(0.004), dec!(0.012))
    );
    let r_plus = price("cohere.command-r-plus-v1:0");
    assert_eq!(
        (r_plus.input_per_1k, r_plus.output_per_1k),
        (dec!(0.003), dec!(0.015))
    );
    let mini = price("ai21.jamba-1-5-mini-v1:0");
    assert_eq!(
        (mini.input_per_1k, mini.output_per_1k),
        (dec!(0.0002), dec!(0.0004))
    );
    let lite = price("amazon.titan-text-lite-v1");
    assert_eq!(
        (lite.input_per_1k, lite.output_per_1k),
        (dec!(0.00015), dec!(0.0002))
    );
}

#[test]
fn prices_unsettled_figures_are_marked() {
    for id in [
        "meta.llama3-1-70b-instruct-v1:0",
        "meta.llama3-1-405b-instruct-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "cohere.command-r-v1:0",
        "cohere.command-r-plus-v1:0",
    ] {
        let note = price(id).note.unwrap_or_default();
        assert!(note.starts_with("unsettled:"), "{id}: {note:?}");
    }
    assert!(
        price("amazon.nova-pro-v1:0")
            .note
            .is_none_or(|n| !n.contains("unsettled"))
    );
}

#[test]
fn prices_services_follow_the_billing_split() {
    for p in Catalog::bundled().entries() {
        let marketplace = ["anthropic.", "cohere.", "ai21."]
            .iter()
            .any(|v| p.model_id.starts_with(v));
        if marketplace {
            assert!(
                p.service.ends_with(" (Amazon Bedrock Edition)"),
                "{}: {}",
                p.model_id,
                p.service
            );
        } else {
            assert_eq!(p.service, BEDROCK_SERVICE, "{}", p.model_id);
        }
    }
}

#[test]
fn prices_regional_profiles_of_claude_45_cost_ten_percent_more() {
    let us = resolved(&format!("us.{SONNET_45}"));
    assert_eq!(us.profile.as_deref(), Some("us"));
    assert_eq!(us.model_id, format!("us.{SONNET_45}"));
    assert_eq!(us.price.model_id, SONNET_45);
    assert_eq!(us.price.input_per_1k, dec!(0.0033));
    assert_eq!(us.price.output_per_1k, dec!(0.0165));
    assert_eq!(us.price.cache_write_per_1k, Some(dec!(0.004125)));
    assert_eq!(us.price.cache_read_per_1k, Some(dec!(0.00033)));
    assert_eq!(us.price.batch_input_per_1k, Some(dec!(0.00165)));
    assert_eq!(us.price.batch_output_per_1k, Some(dec!(0.00825)));
    assert_eq!(
        us.price.regional_premium_percent, None,
        "premium is applied once"
    );
    assert_eq!(us.price.input_per_1k.to_string(), "0.0033");

    let eu = resolved(&format!("eu.{SONNET_45}"));
    assert_eq!(eu.price, us.price);

    let global = resolved(&format!("global.{SONNET_45}"));
    assert_eq!(global.profile.as_deref(), Some("global"));
    assert_eq!(
        (global.price.input_per_1k, global.price.output_per_1k),
        (dec!(0.003), dec!(0.015))
    );

    let bare = resolved(SONNET_45);
    assert_eq!(bare.profile, None);
    assert_eq!(
        (bare.price.input_per_1k, bare.price.output_per_1k),
        (dec!(0.003), dec!(0.015))
    );

    let haiku_apac = resolved(&format!("apac.{HAIKU_45}"));
    assert_eq!(
        (
            haiku_apac.price.input_per_1k,
            haiku_apac.price.output_per_1k
        ),
        (dec!(0.0011), dec!(0.0055))
    );
    let haiku_global = resolved(&format!("global.{HAIKU_45}"));
    assert_eq!(
        (
            haiku_global.price.input_per_1k,
            haiku_global.price.output_per_1k
        ),
        (dec!(0.001), dec!(0.005))
    );
}

#[test]
fn prices_older_models_cost_the_same_under_any_prefix() {
    let base = price("anthropic.claude-3-7-sonnet-20250219-v1:0");
    for prefix in PROFILE_PREFIXES {
        let r = resolved(&format!(
            "{prefix}anthropic.claude-3-7-sonnet-20250219-v1:0"
        ));
        assert_eq!(r.price, base, "{prefix}");
        assert_eq!(r.profile.as_deref(), Some(prefix.trim_end_matches('.')));
    }
    // us. Nova costs what the base model does (eu. and apac. have figures of their own).
    let nova = resolved("us.amazon.nova-pro-v1:0");
    assert_eq!(
        nova.price,
        ModelPrice {
            profiles: BTreeMap::new(),
            ..price("amazon.nova-pro-v1:0")
        }
    );
    let gov = resolved("us-gov.meta.llama3-8b-instruct-v1:0");
    assert_eq!(gov.profile.as_deref(), Some("us-gov"));
}

#[test]
fn prices_unknown_ids_and_arns_do_not_resolve() {
    let catalog = Catalog::bundled();
    assert!(catalog.resolve("anthropic.claude-9-unknown").is_none());
    assert!(catalog.resolve("us.anthropic.claude-9-unknown").is_none());
    assert!(
        catalog
            .resolve("xx.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .is_none()
    );
    assert!(catalog.resolve("").is_none());
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    assert!(catalog.resolve(arn).is_none());
    assert!(
        catalog.get(&format!("us.{SONNET_45}")).is_none(),
        "get does not resolve profiles"
    );
}

#[test]
fn prices_split_profile() {
    assert_eq!(split_profile("us.a.b"), (Some("us"), "a.b"));
    assert_eq!(split_profile("us-gov.a.b"), (Some("us-gov"), "a.b"));
    assert_eq!(split_profile("global.a"), (Some("global"), "a"));
    assert_eq!(
        split_profile("amazon.nova-pro-v1:0"),
        (None, "amazon.nova-pro-v1:0")
    );
}

#[test]
fn prices_overrides_replace_and_add() {
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/team-a";
    let cheaper = PriceOverride {
        input_per_1k: dec!(0.0001),
        output_per_1k: dec!(0.0002),
        ..PriceOverride::default()
    };
    let team = PriceOverride {
        input_per_1k: dec!(0.003),
        output_per_1k: dec!(0.015),
        service: Some("Claude Sonnet 4.5 (Amazon Bedrock Edition)".into()),
        ..PriceOverride::default()
    };
    let catalog = Catalog::bundled().with_overrides([
        cheaper.into_price("amazon.nova-pro-v1:0"),
        team.into_price(arn),
    ]);

    let nova = catalog.get("amazon.nova-pro-v1:0").expect("replaced");
    assert_eq!(
        (nova.input_per_1k, nova.output_per_1k),
        (dec!(0.0001), dec!(0.0002))
    );
    assert_eq!(nova.source, "policy");
    assert_eq!(nova.service, BEDROCK_SERVICE);
    assert_eq!(nova.cache_read_per_1k, None, "replaced wholesale");
    // Profile prefixes resolve to the replaced entry.
    assert_eq!(
        catalog
            .resolve("us.amazon.nova-pro-v1:0")
            .map(|r| r.price.input_per_1k),
        Some(dec!(0.0001))
    );

    let added = catalog.resolve(arn).expect("added");
    assert_eq!(added.profile, None);
    assert_eq!(added.price.output_per_1k, dec!(0.015));
    assert_eq!(catalog.entries().count(), REQUIRED.len() + 1);
    assert_eq!(
        Catalog::bundled().entries().count(),
        REQUIRED.len(),
        "bundled catalog untouched"
    );
}

#[test]
fn prices_policy_overrides_keep_service_and_premium() {
    let discounted = PriceOverride {
        input_per_1k: dec!(0.002),
        output_per_1k: dec!(0.01),
        ..PriceOverride::default()
    };
    let catalog = Catalog::bundled().with_policy_overrides([
        (SONNET_45.to_owned(), discounted.clone()),
        (format!("eu.{HAIKU_45}"), discounted.clone()),
        ("acme.private-model".to_owned(), discounted),
    ]);
    let sonnet = catalog.get(SONNET_45).expect("replaced");
    assert_eq!(sonnet.service, "Claude Sonnet 4.5 (Amazon Bedrock Edition)");
    assert_eq!(sonnet.regional_premium_percent, Some(dec!(10)));
    assert_eq!(
        catalog
            .resolve(&format!("us.{SONNET_45}"))
            .map(|r| r.price.input_per_1k),
        Some(dec!(0.0022))
    );

    let eu_haiku = catalog
        .resolve(&format!("eu.{HAIKU_45}"))
        .expect("exact entry");
    assert_eq!(
        eu_haiku.price.input_per_1k,
        dec!(0.002),
        "exact entry wins, no premium on top"
    );
    assert_eq!(
        eu_haiku.price.service,
        "Claude Haiku 4.5 (Amazon Bedrock Edition)"
    );
    assert_eq!(eu_haiku.profile.as_deref(), Some("eu"));
    // The other profiles still resolve to the bundled base entry.
    assert_eq!(
        catalog
            .resolve(&format!("us.{HAIKU_45}"))
            .map(|r| r.price.input_per_1k),
        Some(dec!(0.0011))
    );

    assert_eq!(
        catalog
            .get("acme.private-model")
            .map(|p| p.service.as_str()),
        Some(BEDROCK_SERVICE)
    );
}

#[test]
fn prices_override_parses_from_policy_yaml_and_rejects_unknown_fields() {
    let o: PriceOverride = serde_yaml::from_str(
        "input_per_1k: 0.0033\noutput_per_1k: 0.0165\ncache_read_per_1k: 0.00033\n",
    )
    .expect("valid");
    assert_eq!(
        (o.input_per_1k, o.output_per_1k, o.cache_read_per_1k),
        (dec!(0.0033), dec!(0.0165), Some(dec!(0.00033)))
    );
    let p = o.into_price("x.y");
    assert_eq!(
        (p.service.as_str(), p.source.as_str(), p.checked.as_str()),
        (BEDROCK_SERVICE, "policy", "")
    );
    assert!(
        serde_yaml::from_str::<PriceOverride>(
            "input_per_1k: 1\noutput_per_1k: 1\ninput_per_1m: 3\n"
        )
        .is_err()
    );
    assert!(
        serde_yaml::from_str::<PriceOverride>("input_per_1k: 1\n").is_err(),
        "output price is required"
    );
}

#[test]
fn prices_serialize_money_as_json_numbers() {
    let json = serde_json::to_value(price(SONNET_45)).expect("serializes");
    assert_eq!(json["input_per_1k"], serde_json::json!(0.003));
    assert_eq!(json["cache_read_per_1k"], serde_json::json!(0.0003));
    assert_eq!(json["regional_premium_percent"], serde_json::json!(10.0));
    let titan = serde_json::to_value(price("amazon.titan-text-express-v1")).expect("serializes");
    assert!(titan.get("cache_read_per_1k").is_none() && titan.get("note").is_none());
    // And it reads back to the same decimals.
    let back: ModelPrice = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, price(SONNET_45));
}

#[test]
fn prices_json_schema_says_number() {
    let schema = serde_json::to_value(schemars::schema_for!(PriceOverride)).expect("schema");
    let props = &schema["properties"];
    assert_eq!(props["input_per_1k"]["type"], "number");
    assert_eq!(props["input_per_1k"]["minimum"], 0);
    assert_eq!(
        props["cache_read_per_1k"]["type"],
        serde_json::json!(["number", "null"])
    );
    assert_eq!(props["cache_read_per_1k"]["minimum"], 0);
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["input_per_1k", "output_per_1k"]);
    let model = serde_json::to_value(schemars::schema_for!(ModelPrice)).expect("schema");
    assert_eq!(model["properties"]["output_per_1k"]["type"], "number");
}

#[test]
fn prices_cost_of_hand_computed_figures() {
    // 1,000 input + 2,000 output on Haiku 4.5 (global): 0.001 + 0.010.
    let haiku_global = resolved(&format!("global.{HAIKU_45}")).price;
    assert_eq!(haiku_global.cost(1_000, 2_000, 0, 0), dec!(0.011));
    assert_eq!(price(HAIKU_45).cost(1_000, 2_000, 0, 0), dec!(0.011));
    // The same through a regional profile: 0.0011 + 0.0110.
    assert_eq!(
        resolved(&format!("us.{HAIKU_45}"))
            .price
            .cost(1_000, 2_000, 0, 0),
        dec!(0.0121)
    );
    // Sonnet 4.5 global, with cache: 10,000 in 0.03 + 500 out 0.0075 + 20,000 read 0.006 + 4,000 write 0.015.
    assert_eq!(
        price(SONNET_45).cost(10_000, 500, 20_000, 4_000),
        dec!(0.0585)
    );
    // Nova Micro, a million of each: 0.035 + 0.14 + 0.00875 + 0 (no write charge).
    assert_eq!(
        price("amazon.nova-micro-v1:0").cost(1_000_000, 1_000_000, 1_000_000, 1_000_000),
        dec!(0.18375)
    );
    assert_eq!(price(SONNET_45).cost(0, 0, 0, 0), Decimal::ZERO);
    // Huge counts saturate rather than panic.
    let big = ModelPrice {
        input_per_1k: Decimal::MAX,
        ..price(SONNET_45)
    };
    assert_eq!(big.cost(u64::MAX, 0, 0, 0), Decimal::MAX);
}

#[test]
fn prices_cache_fallbacks_follow_family_rules() {
    let bare = |id: &str| {
        PriceOverride {
            input_per_1k: dec!(0.004),
            output_per_1k: dec!(0.02),
            ..PriceOverride::default()
        }
        .into_price(id)
    };
    let claude = bare("us.anthropic.claude-new-model");
    assert_eq!(
        (claude.cache_write_price(), claude.cache_read_price()),
        (dec!(0.005), dec!(0.0004))
    );
    let nova = bare("amazon.nova-2-lite-v1:0");
    assert_eq!(
        (nova.cache_write_price(), nova.cache_read_price()),
        (dec!(0), dec!(0.001))
    );
    let other = bare("meta.llama9-v1:0");
    assert_eq!(
        (other.cache_write_price(), other.cache_read_price()),
        (dec!(0.004), dec!(0.004))
    );
    // 1,000 of each on the Claude-like entry: 0.004 + 0.02 + 0.0004 + 0.005.
    assert_eq!(claude.cost(1_000, 1_000, 1_000, 1_000), dec!(0.0294));
}

#[test]
fn prices_services_for_a_scope() {
    let catalog = Catalog::bundled();
    assert_eq!(
        catalog.services_for([]),
        BTreeSet::from([BEDROCK_SERVICE.to_owned()])
    );
    let ids = [
        format!("us.{SONNET_45}"),
        "amazon.nova-pro-v1:0".to_owned(),
        "ai21.jamba-1-5-large-v1:0".to_owned(),
        "unknown.model".to_owned(),
    ];
    let services = catalog.services_for(ids.iter().map(String::as_str));
    let expected: BTreeSet<String> = [
        BEDROCK_SERVICE,
        "Claude Sonnet 4.5 (Amazon Bedrock Edition)",
        "Jamba 1.5 Large (Amazon Bedrock Edition)",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(services, expected);

    let all = catalog.all_services();
    assert!(all.contains(BEDROCK_SERVICE));
    assert!(all.contains("Claude 3.5 Sonnet (Amazon Bedrock Edition)"));
    assert!(all.contains("Claude Opus 4.1 (Amazon Bedrock Edition)"));
    assert!(all.contains("Cohere Command R+ (Amazon Bedrock Edition)"));
    // One Marketplace service per Anthropic, Cohere and AI21 model, plus Amazon Bedrock.
    assert_eq!(all.len(), 15 + 2 + 2 + 1);
}

#[test]
fn prices_bundled_yaml_rejects_bad_sources_and_duplicates() {
    let entry = "  - {model_id: a.b, service: S, input_per_1m: 1, output_per_1m: 2, source: k, checked: '2026-01-01'}\n";
    assert!(parse_bundled(&format!("sources: {{k: text}}\nmodels:\n{entry}")).is_ok());
    assert!(parse_bundled(&format!("sources: {{j: text}}\nmodels:\n{entry}")).is_err());
    assert!(parse_bundled(&format!("sources: {{k: text}}\nmodels:\n{entry}{entry}")).is_err());
    let parsed = parse_bundled(&format!("sources: {{k: text}}\nmodels:\n{entry}")).expect("valid");
    assert_eq!(
        parsed.get("a.b").map(|p| (p.input_per_1k, p.output_per_1k)),
        Some((dec!(0.001), dec!(0.002)))
    );
}
