use super::changes::*;
use super::*;
use rust_decimal_macros::dec;

fn fixture_products(dir: &str) -> Vec<String> {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/price-list/"
    );
    let mut files: Vec<_> = std::fs::read_dir(format!("{root}{dir}"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| page_products(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

fn read(dir: &str) -> Result<PriceListRead, PriceListError> {
    let products = fixture_products(dir);
    read_products(
        products.iter().map(String::as_str),
        "us-east-1",
        &Catalog::bundled(),
        Unmapped::Fail,
    )
}

#[test]
fn every_display_name_maps_to_a_catalog_model() {
    let catalog = Catalog::bundled();
    for (name, id) in display_names() {
        assert!(
            catalog.get(id).is_some(),
            "{name}: {id} is not in the catalog"
        );
    }
}

#[test]
fn usage_types_map_to_catalog_fields() {
    use ServiceTier::{Flex, Priority};
    use Term::*;
    use Terms::{LongContext, Standard, Tier};
    for (usage_type, expected) in [
        (
            "USE1-NovaPro-input-tokens",
            Some(((Standard, Input), false)),
        ),
        (
            "USE1-NovaPro-output-tokens",
            Some(((Standard, Output), false)),
        ),
        (
            "USE1-NovaPro-input-tokens-batch",
            Some(((Standard, BatchInput), false)),
        ),
        (
            "USE1-NovaPro-cache-read-input-token-count",
            Some(((Standard, CacheRead), false)),
        ),
        (
            "USE1-MP:USE1_InputTokenCount_Global-Units",
            Some(((Standard, Input), true)),
        ),
        (
            "USE1-MP:USE1_CacheWriteInputTokenCount-Units",
            Some(((Standard, CacheWrite), false)),
        ),
        (
            "USE1-MP:USE1_CacheWriteInputTokenCount_1h_Global-Units",
            Some(((Standard, CacheWrite1h), true)),
        ),
        (
            "USE1-MP:USE1_InputTokenCount_LongContext_Global-Units",
            Some(((LongContext, Input), true)),
        ),
        (
            "USE1-NovaPro-input-tokens-flex",
            Some(((Tier(Flex), Input), false)),
        ),
        (
            "USE1-NovaPro-output-tokens-priority",
            Some(((Tier(Priority), Output), false)),
        ),
        // No tier has a batch price.
        ("USE1-NovaPro-input-tokens-batch-flex", None),
        ("USE1-NovaCanvas-T2I-1024-Standard", None),
    ] {
        assert_eq!(usage_type_field(usage_type), expected, "{usage_type}");
    }
}

#[test]
fn recorded_pages_give_per_model_prices() {
    let read = read("us-east-1").unwrap();
    // Skipped: an image model and an eu-west-1 price.
    assert_eq!((read.products, read.skipped), (30, 2));
    let prices = read.prices();
    let get = |id: &str| prices.iter().find(|p| p.model_id == id).unwrap().clone();
    let pro = get("amazon.nova-pro-v1:0");
    assert_eq!(
        (pro.input_per_1m, pro.output_per_1m),
        (dec!(0.85), dec!(3.2))
    );
    assert_eq!(pro.batch_input_per_1m, Some(dec!(0.425)));
    assert_eq!(pro.regional_premium_percent, None);
    // Per 1M in the page already.
    let r1 = get("deepseek.r1-v1:0");
    assert_eq!((r1.input_per_1m, r1.output_per_1m), (dec!(1.35), dec!(5.4)));
    // Global figures are the base, the regional ones 10% more.
    let sonnet = get("anthropic.claude-sonnet-4-5-20250929-v1:0");
    assert_eq!(
        (sonnet.input_per_1m, sonnet.output_per_1m),
        (dec!(3), dec!(15))
    );
    assert_eq!(sonnet.cache_write_per_1m, Some(dec!(3.75)));
    assert_eq!(sonnet.regional_premium_percent, Some(dec!(10)));
    let long = sonnet.long_context.expect("Sonnet 4.5's long-context tier");
    assert_eq!(
        (long.input_per_1m, long.output_per_1m),
        (dec!(6), dec!(22.5))
    );
    // Tiers and the 1-hour write.
    let flex = &pro.tiers[&ServiceTier::Flex];
    assert_eq!(
        (flex.input_per_1m, flex.output_per_1m),
        (dec!(0.4), dec!(1.6))
    );
    assert_eq!(
        get("anthropic.claude-haiku-4-5-20251001-v1:0").cache_write_1h_per_1m,
        Some(dec!(2))
    );

    let changes = diff(&Catalog::bundled(), &prices);
    let fields: Vec<(&str, &str, Option<Decimal>)> = changes
        .iter()
        .map(|c| (c.model_id.as_str(), c.field.as_str(), c.percent))
        .collect();
    assert_eq!(
        fields,
        [
            ("amazon.nova-pro-v1:0", "input", Some(dec!(6.25))),
            ("amazon.nova-pro-v1:0", "batch input", Some(dec!(6.25))),
            ("amazon.nova-pro-v1:0", "priority input", Some(dec!(7.14))),
        ]
    );
}

#[test]
fn an_unmapped_token_price_stops_the_read() {
    let error = read("unmapped").unwrap_err();
    assert!(
        matches!(&error, PriceListError::Unmapped { name, attribute: "model", .. } if name == "Nova Ultra"),
        "{error}"
    );
}

#[test]
fn the_weekly_check_collects_unmapped_names_and_tells_only_the_policys_changes() {
    let products = fixture_products("unmapped");
    let collected = read_products(
        products.iter().map(String::as_str),
        "us-east-1",
        &Catalog::bundled(),
        Unmapped::Collect,
    )
    .unwrap();
    assert_eq!(
        collected.unmapped.iter().collect::<Vec<_>>(),
        ["Nova Ultra"]
    );

    let prices = read("us-east-1").unwrap().prices();
    let changes = diff(&Catalog::bundled(), &prices);
    // Nova Pro moved 6.25%: told for a policy that names it under any profile.
    let told = changes_for_models(&changes, ["eu.amazon.nova-pro-v1:0"], dec!(1));
    assert_eq!(told.len(), 3);
    assert!(changes_for_models(&changes, ["amazon.nova-lite-v1:0"], dec!(1)).is_empty());
    // Above the threshold only.
    assert!(changes_for_models(&changes, ["amazon.nova-pro-v1:0"], dec!(8)).is_empty());
    let (subject, body) = price_check_message(&told, "us-east-1");
    assert_eq!(subject, "Budget Guard: Bedrock prices changed for 1 model");
    assert!(
        body.contains(
            "  amazon.nova-pro-v1:0 input: 0.0008 -> 0.00085 USD per 1K tokens (+6.25%)\n"
        ),
        "{body}"
    );
}

#[test]
fn two_prices_for_one_figure_are_an_error() {
    let mut products = fixture_products("us-east-1");
    let twin = products[0]
        .replace("0.00085", "0.0009")
        .replace("\"sku\":\"", "\"sku\":\"TWIN");
    products.push(twin);
    let error = read_products(
        products.iter().map(String::as_str),
        "us-east-1",
        &Catalog::bundled(),
        Unmapped::Fail,
    )
    .unwrap_err();
    assert!(
        matches!(&error, PriceListError::Conflict { field, .. } if field == "input"),
        "{error}"
    );
}

#[test]
fn a_refreshed_price_keeps_what_the_price_list_does_not_say() {
    let catalog = Catalog::bundled();
    let base = catalog.get("amazon.nova-lite-v1:0").unwrap();
    let refreshed = RefreshedPrice {
        model_id: base.model_id.clone(),
        input_per_1m: dec!(0.07),
        output_per_1m: dec!(0.28),
        ..RefreshedPrice::default()
    };
    let price = refreshed.into_model_price(Some(base), "the Price List", "2026-12-01");
    assert_eq!(
        (price.input_per_1k, price.output_per_1k),
        (dec!(0.00007), dec!(0.00028))
    );
    assert_eq!(price.cache_read_per_1k, base.cache_read_per_1k);
    assert_eq!(price.batch_input_per_1k, base.batch_input_per_1k);
    assert_eq!(price.profiles, base.profiles);
    assert_eq!(price.tiers, base.tiers);
    assert_eq!(
        (price.source.as_str(), price.checked.as_str()),
        ("the Price List", "2026-12-01")
    );
}
