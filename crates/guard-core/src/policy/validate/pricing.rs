//! The `pricing:` and `profiles:` sections: prices as written, checked, and the catalog they make.

use super::*;

/// The policy's prices (`pricing:`, exactly as written) and application inference profiles
/// (`profiles:`, each priced as the model it runs), checked; the catalog with both laid over the
/// bundled one and `catalog_prices`, and the prices the policy itself set.
pub(super) fn check_pricing(
    ctx: &mut Ctx<'_>,
    files: &[ParsedFile<'_>],
    catalog_prices: &BTreeMap<String, ModelPrice>,
) -> (Catalog, BTreeMap<String, ModelPrice>) {
    let pricing = merge(ctx, "pricing", "price of model", |f| &f.file.pricing, files);
    for (model, (origin, _)) in &pricing.items {
        check_model_id_length(ctx, origin, model, true);
    }
    // Prices exactly as written: serde reads a YAML number through an f64, which keeps about 16
    // significant digits; the text keeps them all.
    let mut exact_prices: BTreeMap<&str, PriceOverride> = BTreeMap::new();
    for (model, (origin, price)) in &pricing.items {
        let mut exact = (*price).clone();
        let text = |field: &str| {
            ctx.text(&origin.join([key(field)]))
                .and_then(|t| parse_amount(t).ok())
        };
        if let Some(v) = text("input_per_1k") {
            exact.input_per_1k = v;
        }
        if let Some(v) = text("output_per_1k") {
            exact.output_per_1k = v;
        }
        for (field, slot) in [
            ("cache_read_per_1k", &mut exact.cache_read_per_1k),
            ("cache_write_per_1k", &mut exact.cache_write_per_1k),
            ("batch_input_per_1k", &mut exact.batch_input_per_1k),
            ("batch_output_per_1k", &mut exact.batch_output_per_1k),
        ] {
            if slot.is_some() {
                if let Some(v) = text(field) {
                    *slot = Some(v);
                }
            }
        }
        exact_prices.insert(model, exact);
    }
    for (model, (origin, _)) in &pricing.items {
        let price = &exact_prices[model];
        let terms = [
            ("input_per_1k", Some(price.input_per_1k)),
            ("output_per_1k", Some(price.output_per_1k)),
            ("cache_read_per_1k", price.cache_read_per_1k),
            ("cache_write_per_1k", price.cache_write_per_1k),
            ("batch_input_per_1k", price.batch_input_per_1k),
            ("batch_output_per_1k", price.batch_output_per_1k),
        ];
        for (field, value) in terms {
            if value.is_some_and(|v| v.is_sign_negative()) {
                ctx.error(
                    codes::NEGATIVE_PRICE,
                    &origin.join([key(field)]),
                    format!("price `{field}` of `{model}` is negative"),
                    "prices are USD per 1,000 tokens, zero or more",
                );
            } else if value.is_some_and(|v| v > Decimal::from(MAX_PRICE_PER_1K)) {
                ctx.error(
                    codes::PRICE_TOO_HIGH,
                    &origin.join([key(field)]),
                    format!("price `{field}` of `{model}` is more than ${MAX_PRICE_PER_1K} per 1,000 tokens"),
                    "prices are USD per 1,000 tokens; Bedrock's dearest model costs well under $1",
                );
            }
        }
    }
    let catalog = Catalog::bundled()
        .with_overrides(catalog_prices.values().cloned())
        .with_policy_overrides(
            exact_prices
                .iter()
                .map(|(model, price)| (*model, price.clone())),
        );
    let mut prices: BTreeMap<String, ModelPrice> = pricing
        .items
        .keys()
        .filter_map(|model| catalog.get(model).map(|p| ((*model).to_owned(), p.clone())))
        .collect();
    // Application inference profiles: each ARN is priced as the model it runs.
    let profiles = merge(
        ctx,
        "profiles",
        "inference profile",
        |f| &f.file.profiles,
        files,
    );
    for (arn, (origin, model)) in &profiles.items {
        if let Some(problem) = application_profile_arn_problem(arn) {
            ctx.error_at_key(
                codes::INVALID_PROFILE_ARN,
                origin,
                format!("`{arn}` is not an application inference profile ARN: {problem}"),
                "write the profile's ARN, `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`, as `aws bedrock list-inference-profiles --type-equals APPLICATION` shows it",
            );
            continue;
        }
        match catalog.resolve(model) {
            Some(resolved) if !model.starts_with("arn:") => {
                check_lifecycle(ctx, origin, model, &resolved.price);
                let price = ModelPrice {
                    model_id: (*arn).to_owned(),
                    note: Some(format!("application inference profile of {model}")),
                    profiles: BTreeMap::new(),
                    ..resolved.price
                };
                prices.insert((*arn).to_owned(), price);
            }
            _ => unknown_model(ctx, origin, model, &catalog),
        }
    }
    let catalog = catalog.with_overrides(
        profiles
            .items
            .keys()
            .filter_map(|arn| prices.get(*arn).cloned()),
    );
    (catalog, prices)
}

/// Why `arn` is not an application inference profile ARN
/// (`arn:PARTITION:bedrock:REGION:ACCOUNT:application-inference-profile/ID`), if it is not.
pub(super) fn application_profile_arn_problem(arn: &str) -> Option<&'static str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts[..] else {
        return Some("it has fewer than six `:`-separated parts");
    };
    if scheme != "arn" || !partition.starts_with("aws") {
        return Some("it does not start with `arn:aws`");
    }
    if service != "bedrock" {
        return Some("its service is not `bedrock`");
    }
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("its region is not a region name");
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Some("its account is not 12 digits");
    }
    match resource.strip_prefix("application-inference-profile/") {
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) => None,
        _ => Some("its resource is not `application-inference-profile/ID`"),
    }
}
