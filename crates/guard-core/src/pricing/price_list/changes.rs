//! What differs between the catalog in use and the Price List, and the weekly price check's message.

use super::*;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PriceChange {
    pub model_id: String,
    /// `input`, `cache read`, `flex output`, `long-context input`, ...
    pub field: String,
    /// USD per 1,000 tokens; `None` when the catalog has no such figure (or no such model).
    #[serde(with = "rust_decimal::serde::float_option")]
    pub before: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::float_option")]
    pub after: Option<Decimal>,
    /// (after - before) / before in percent, when both are set and before is not zero.
    #[serde(with = "rust_decimal::serde::float_option")]
    pub percent: Option<Decimal>,
}

type Pair = (String, Option<Decimal>, Option<Decimal>);

/// The figures of a set of prices to compare, named with `prefix` (`flex `, `long-context `).
fn term_pairs(prefix: &str, old: Option<&TermPrices>, new: &RefreshedTerms) -> Vec<Pair> {
    let k = |d: Decimal| (d / Decimal::ONE_THOUSAND).normalize();
    vec![
        (
            format!("{prefix}input"),
            old.map(|o| o.input_per_1k),
            Some(k(new.input_per_1m)),
        ),
        (
            format!("{prefix}output"),
            old.map(|o| o.output_per_1k),
            Some(k(new.output_per_1m)),
        ),
        (
            format!("{prefix}cache write"),
            old.and_then(|o| o.cache_write_per_1k),
            new.cache_write_per_1m.map(k),
        ),
        (
            format!("{prefix}cache read"),
            old.and_then(|o| o.cache_read_per_1k),
            new.cache_read_per_1m.map(k),
        ),
        (
            format!("{prefix}1-hour cache write"),
            old.and_then(|o| o.cache_write_1h_per_1k),
            new.cache_write_1h_per_1m.map(k),
        ),
    ]
}

/// Every figure of `refreshed` that differs from `catalog`'s entry, by model and field. Figures
/// the Price List does not give are not compared.
pub fn diff(catalog: &Catalog, refreshed: &[RefreshedPrice]) -> Vec<PriceChange> {
    let k = |d: Decimal| (d / Decimal::ONE_THOUSAND).normalize();
    let mut changes = Vec::new();
    for r in refreshed {
        let old = catalog.get(&r.model_id);
        let standard = TermPrices {
            input_per_1k: old.map(|o| o.input_per_1k).unwrap_or_default(),
            output_per_1k: old.map(|o| o.output_per_1k).unwrap_or_default(),
            cache_write_per_1k: old.and_then(|o| o.cache_write_per_1k),
            cache_read_per_1k: old.and_then(|o| o.cache_read_per_1k),
            cache_write_1h_per_1k: old.and_then(|o| o.cache_write_1h_per_1k),
        };
        let as_terms = RefreshedTerms {
            input_per_1m: r.input_per_1m,
            output_per_1m: r.output_per_1m,
            cache_write_per_1m: r.cache_write_per_1m,
            cache_read_per_1m: r.cache_read_per_1m,
            cache_write_1h_per_1m: r.cache_write_1h_per_1m,
        };
        let mut pairs = term_pairs("", old.map(|_| &standard), &as_terms);
        pairs.extend([
            (
                "batch input".to_owned(),
                old.and_then(|o| o.batch_input_per_1k),
                r.batch_input_per_1m.map(k),
            ),
            (
                "batch output".to_owned(),
                old.and_then(|o| o.batch_output_per_1k),
                r.batch_output_per_1m.map(k),
            ),
        ]);
        if let Some(long) = &r.long_context {
            let before = old.and_then(|o| o.long_context.as_ref()).map(|l| &l.prices);
            pairs.extend(term_pairs("long-context ", before, long));
        }
        for (tier, terms) in &r.tiers {
            let before = old.and_then(|o| o.tiers.get(tier));
            pairs.extend(term_pairs(&format!("{} ", tier.as_str()), before, terms));
        }
        for (field, before, after) in pairs {
            if after.is_none() || before.map(|d| d.normalize()) == after {
                continue;
            }
            let percent = match (before, after) {
                (Some(b), Some(a)) if !b.is_zero() => {
                    Some(((a - b) / b * Decimal::ONE_HUNDRED).round_dp(2).normalize())
                }
                _ => None,
            };
            changes.push(PriceChange {
                model_id: r.model_id.clone(),
                field,
                before,
                after,
                percent,
            });
        }
    }
    changes
}

/// The changes that matter to a policy: figures of the models it names (under any inference
/// profile), moved by more than `threshold_percent`, or a figure that appeared or went away.
pub fn changes_for_models<'a>(
    changes: &'a [PriceChange],
    models: impl IntoIterator<Item = &'a str>,
    threshold_percent: Decimal,
) -> Vec<&'a PriceChange> {
    let bases: std::collections::BTreeSet<&str> = models
        .into_iter()
        .map(|m| crate::pricing::catalog::split_profile(m).1)
        .collect();
    changes
        .iter()
        .filter(|c| bases.contains(c.model_id.as_str()))
        .filter(|c| c.percent.is_none_or(|p| p.abs() > threshold_percent))
        .collect()
}

/// The text that tells the alarm channels of price changes: a subject and a body.
pub fn price_check_message(changes: &[&PriceChange], region: &str) -> (String, String) {
    let models: std::collections::BTreeSet<&str> =
        changes.iter().map(|c| c.model_id.as_str()).collect();
    let subject = format!(
        "Budget Guard: Bedrock prices changed for {} model{}",
        models.len(),
        if models.len() == 1 { "" } else { "s" }
    );
    let mut body = format!(
        "The AWS Price List ({region}) differs from the prices the guard uses for models of the policy:\n\n"
    );
    let show = |d: Option<Decimal>| {
        d.map(|d| d.normalize().to_string())
            .unwrap_or_else(|| "none".into())
    };
    for c in changes {
        let percent = c
            .percent
            .map(|p| {
                format!(
                    " ({}{}%)",
                    if p.is_sign_positive() { "+" } else { "" },
                    p.normalize()
                )
            })
            .unwrap_or_default();
        body.push_str(&format!(
            "  {} {}: {} -> {} USD per 1K tokens{percent}\n",
            c.model_id,
            c.field,
            show(c.before),
            show(c.after)
        ));
    }
    body.push_str(
        "\nEstimates and the spend watcher use the old figures until the catalog is updated: run `budget-guard prices refresh --write policies/prices.yaml`, review, commit and deploy.\n",
    );
    (subject, body)
}
