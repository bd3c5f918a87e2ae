//! The catalog file: the bundled `catalog.yaml` and a policy folder's `prices.yaml`, read and written.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::*;

/// A catalog file (the bundled one, or a `prices.yaml` beside the policy): per-1M figures,
/// sources by key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalog {
    sources: BTreeMap<String, String>,
    models: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntry {
    model_id: String,
    service: String,
    input_per_1m: Decimal,
    output_per_1m: Decimal,
    #[serde(default)]
    cache_write_per_1m: Option<Decimal>,
    #[serde(default)]
    cache_read_per_1m: Option<Decimal>,
    #[serde(default)]
    batch_input_per_1m: Option<Decimal>,
    #[serde(default)]
    batch_output_per_1m: Option<Decimal>,
    #[serde(default)]
    cache_write_1h_per_1m: Option<Decimal>,
    #[serde(default)]
    long_context: Option<terms::RawTerms>,
    #[serde(default)]
    tiers: BTreeMap<ServiceTier, terms::RawTerms>,
    #[serde(default)]
    regional_premium_percent: Option<Decimal>,
    source: String,
    checked: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    lifecycle: Lifecycle,
    #[serde(default)]
    legacy_since: Option<String>,
    #[serde(default)]
    end_of_life: Option<String>,
    #[serde(default)]
    successor: Option<String>,
    /// A key of `sources`: where the lifecycle was read.
    #[serde(default)]
    lifecycle_source: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    #[serde(default)]
    premium_percent: Option<Decimal>,
    #[serde(default)]
    input_per_1m: Option<Decimal>,
    #[serde(default)]
    output_per_1m: Option<Decimal>,
    #[serde(default)]
    cache_write_per_1m: Option<Decimal>,
    #[serde(default)]
    cache_read_per_1m: Option<Decimal>,
    #[serde(default)]
    batch_input_per_1m: Option<Decimal>,
    #[serde(default)]
    batch_output_per_1m: Option<Decimal>,
}

/// Why a catalog file cannot be read, with where (1-based) when it is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CatalogError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// USD per 1M tokens to USD per 1K tokens, exactly.
pub(super) fn per_1k(per_1m: Decimal) -> Decimal {
    (per_1m / Decimal::ONE_THOUSAND).normalize()
}

pub(super) fn parse_bundled(yaml: &str) -> Result<Catalog, String> {
    parse_catalog(yaml).map_err(|e| format!("{}:{}: {e}", e.line, e.column))
}

/// Reads a catalog file: the bundled `prices/catalog.yaml`, or a `prices.yaml` in a policy
/// folder, which has the same form (what `budget-guard prices refresh --write` writes).
pub fn parse_catalog(yaml: &str) -> Result<Catalog, CatalogError> {
    let raw: RawCatalog = serde_yaml::from_str(yaml).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        CatalogError {
            message: e.to_string(),
            line,
            column,
        }
    })?;
    // Where an entry's problem is reported: its `model_id` line.
    let at = |model_id: &str, message: String| {
        let (line, column) = yaml
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                let column = l.find("model_id:")?;
                let value = l[column + "model_id:".len()..]
                    .trim()
                    .trim_matches(['"', '\'']);
                (value == model_id).then_some((i + 1, column + 1))
            })
            .unwrap_or((1, 1));
        CatalogError {
            message: format!("{model_id}: {message}"),
            line,
            column,
        }
    };
    let one_line = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut entries = BTreeMap::new();
    for e in raw.models {
        let source = raw
            .sources
            .get(&e.source)
            .ok_or_else(|| at(&e.model_id, format!("unknown source key {:?}", e.source)))?;
        if let Some(problem) = entry_problem(&e) {
            return Err(at(&e.model_id, problem));
        }
        let lifecycle_source = match &e.lifecycle_source {
            None => None,
            Some(key) => Some(one_line(raw.sources.get(key).ok_or_else(|| {
                at(&e.model_id, format!("unknown lifecycle source key {key:?}"))
            })?)),
        };
        let mut profiles = BTreeMap::new();
        for (name, p) in &e.profiles {
            if !PROFILE_PREFIXES
                .iter()
                .any(|prefix| prefix[..prefix.len() - 1] == *name)
            {
                return Err(at(
                    &e.model_id,
                    format!(
                        "`{name}` is not a cross-region inference profile (us, eu, apac, jp, au, ca, us-gov, global)"
                    ),
                ));
            }
            let own = p.input_per_1m.is_some() || p.output_per_1m.is_some();
            if p.premium_percent.is_some() == own
                || (own && (p.input_per_1m.is_none() || p.output_per_1m.is_none()))
            {
                return Err(at(
                    &e.model_id,
                    format!(
                        "profile `{name}` needs either `premium_percent` or both `input_per_1m` and `output_per_1m`"
                    ),
                ));
            }
            profiles.insert(
                name.clone(),
                ProfilePrice {
                    premium_percent: p.premium_percent,
                    input_per_1k: p.input_per_1m.map(per_1k),
                    output_per_1k: p.output_per_1m.map(per_1k),
                    cache_write_per_1k: p.cache_write_per_1m.map(per_1k),
                    cache_read_per_1k: p.cache_read_per_1m.map(per_1k),
                    batch_input_per_1k: p.batch_input_per_1m.map(per_1k),
                    batch_output_per_1k: p.batch_output_per_1m.map(per_1k),
                },
            );
        }
        let price = ModelPrice {
            model_id: e.model_id.clone(),
            input_per_1k: per_1k(e.input_per_1m),
            output_per_1k: per_1k(e.output_per_1m),
            cache_write_per_1k: e.cache_write_per_1m.map(per_1k),
            cache_read_per_1k: e.cache_read_per_1m.map(per_1k),
            batch_input_per_1k: e.batch_input_per_1m.map(per_1k),
            batch_output_per_1k: e.batch_output_per_1m.map(per_1k),
            cache_write_1h_per_1k: e.cache_write_1h_per_1m.map(per_1k),
            long_context: e.long_context.as_ref().map(|l| LongContextPrice {
                above_input_tokens: l.above_input_tokens.unwrap_or_default(),
                prices: l.prices(),
            }),
            tiers: e.tiers.iter().map(|(t, raw)| (*t, raw.prices())).collect(),
            regional_premium_percent: e.regional_premium_percent,
            service: e.service,
            source: one_line(source),
            checked: e.checked,
            note: e.note.as_deref().map(one_line),
            lifecycle: e.lifecycle,
            legacy_since: e.legacy_since,
            end_of_life: e.end_of_life,
            successor: e.successor,
            lifecycle_source,
            profiles,
        };
        if entries.insert(e.model_id.clone(), price).is_some() {
            return Err(at(&e.model_id, "listed twice".into()));
        }
    }
    for price in entries.values() {
        if let Some(successor) = &price.successor {
            match entries.get(successor) {
                None => {
                    return Err(at(
                        &price.model_id,
                        format!("successor `{successor}` is not in the catalog"),
                    ));
                }
                Some(next) if next.lifecycle == Lifecycle::EndOfLife => {
                    return Err(at(
                        &price.model_id,
                        format!("successor `{successor}` is itself past its end of life"),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(Catalog { entries })
}

/// A catalog file holding `entries`, in the form [`parse_catalog`] reads (per-1M figures, sources
/// by key): what `budget-guard prices refresh --write` writes beside the policy.
pub fn catalog_file(entries: &[ModelPrice], header: &str) -> String {
    #[derive(Serialize)]
    struct File<'a> {
        sources: BTreeMap<String, &'a str>,
        models: Vec<Entry<'a>>,
    }
    #[derive(Serialize)]
    struct Entry<'a> {
        model_id: &'a str,
        service: &'a str,
        #[serde(with = "rust_decimal::serde::float")]
        input_per_1m: Decimal,
        #[serde(with = "rust_decimal::serde::float")]
        output_per_1m: Decimal,
        #[serde(
            skip_serializing_if = "Option::is_none",
            with = "rust_decimal::serde::float_option"
        )]
        cache_write_per_1m: Option<Decimal>,
        #[serde(
            skip_serializing_if = "Option::is_none",
            with = "rust_decimal::serde::float_option"
        )]
        cache_read_per_1m: Option<Decimal>,
        #[serde(
            skip_serializing_if = "Option::is_none",
            with = "rust_decimal::serde::float_option"
        )]
        batch_input_per_1m: Option<Decimal>,
        #[serde(
            skip_serializing_if = "Option::is_none",
            with = "rust_decimal::serde::float_option"
        )]
        batch_output_per_1m: Option<Decimal>,
        #[serde(
            skip_serializing_if = "Option::is_none",
            with = "rust_decimal::serde::float_option"
        )]
        cache_write_1h_per_1m: Option<Decimal>,
        #[serde(skip_serializing_if = "Option::is_none")]
        long_context: Option<BTreeMap<&'static str, serde_yaml::Value>>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        tiers: BTreeMap<ServiceTier, BTreeMap<&'static str, serde_yaml::Value>>,
        #[serde(
            skip_serializing_if = "Option::is_none",
            with = "rust_decimal::serde::float_option"
        )]
        regional_premium_percent: Option<Decimal>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        profiles: BTreeMap<&'a str, BTreeMap<&'static str, f64>>,
        #[serde(skip_serializing_if = "is_active")]
        lifecycle: Lifecycle,
        #[serde(skip_serializing_if = "Option::is_none")]
        legacy_since: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_of_life: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        successor: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        lifecycle_source: Option<String>,
        source: String,
        checked: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<&'a str>,
    }
    fn is_active(l: &Lifecycle) -> bool {
        *l == Lifecycle::Active
    }
    let m = |d: Decimal| (d * Decimal::ONE_THOUSAND).normalize();
    /// The key of `text` in `sources`, added as `s<n>` when it is new.
    fn key_of<'a>(text: &'a str, sources: &mut BTreeMap<String, &'a str>) -> String {
        if let Some((key, _)) = sources.iter().find(|(_, t)| **t == text) {
            return key.clone();
        }
        let key = format!("s{}", sources.len() + 1);
        sources.insert(key.clone(), text);
        key
    }
    let mut sources: BTreeMap<String, &str> = BTreeMap::new();
    let mut models = Vec::new();
    for p in entries {
        let source = key_of(&p.source, &mut sources);
        let lifecycle_source = p
            .lifecycle_source
            .as_deref()
            .map(|text| key_of(text, &mut sources));
        let profiles = p
            .profiles
            .iter()
            .map(|(name, pp)| {
                let mut figures = BTreeMap::new();
                let mut put = |field: &'static str, value: Option<Decimal>, scale: bool| {
                    if let Some(v) = value {
                        let v = if scale { m(v) } else { v };
                        figures.insert(field, v.to_string().parse().unwrap_or(f64::NAN));
                    }
                };
                put("premium_percent", pp.premium_percent, false);
                put("input_per_1m", pp.input_per_1k, true);
                put("output_per_1m", pp.output_per_1k, true);
                put("cache_write_per_1m", pp.cache_write_per_1k, true);
                put("cache_read_per_1m", pp.cache_read_per_1k, true);
                put("batch_input_per_1m", pp.batch_input_per_1k, true);
                put("batch_output_per_1m", pp.batch_output_per_1k, true);
                (name.as_str(), figures)
            })
            .collect();
        models.push(Entry {
            model_id: &p.model_id,
            service: &p.service,
            input_per_1m: m(p.input_per_1k),
            output_per_1m: m(p.output_per_1k),
            cache_write_per_1m: p.cache_write_per_1k.map(m),
            cache_read_per_1m: p.cache_read_per_1k.map(m),
            batch_input_per_1m: p.batch_input_per_1k.map(m),
            batch_output_per_1m: p.batch_output_per_1k.map(m),
            cache_write_1h_per_1m: p.cache_write_1h_per_1k.map(m),
            long_context: p
                .long_context
                .as_ref()
                .map(|l| terms::file_figures(&l.prices, Some(l.above_input_tokens))),
            tiers: p
                .tiers
                .iter()
                .map(|(t, terms)| (*t, terms::file_figures(terms, None)))
                .collect(),
            regional_premium_percent: p.regional_premium_percent,
            profiles,
            lifecycle: p.lifecycle,
            legacy_since: p.legacy_since.as_deref(),
            end_of_life: p.end_of_life.as_deref(),
            successor: p.successor.as_deref(),
            lifecycle_source,
            source,
            checked: &p.checked,
            note: p.note.as_deref(),
        });
    }
    let body = serde_yaml::to_string(&File { sources, models }).unwrap_or_default();
    let comments: String = header.lines().map(|l| format!("# {l}\n")).collect();
    format!("{comments}{body}")
}

/// What is wrong with one entry on its own, if anything.
pub(super) fn entry_problem(e: &RawEntry) -> Option<String> {
    let is_date = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok();
    if !is_date(&e.checked) {
        return Some(format!("checked {:?} is not YYYY-MM-DD", e.checked));
    }
    for (field, date) in [
        ("legacy_since", &e.legacy_since),
        ("end_of_life", &e.end_of_life),
    ] {
        if let Some(date) = date
            && !is_date(date)
        {
            return Some(format!("{field} {date:?} is not YYYY-MM-DD"));
        }
    }
    match &e.long_context {
        Some(long) if long.above_input_tokens.is_none_or(|above| above == 0) => {
            return Some("`long_context` needs `above_input_tokens` above 0".into());
        }
        _ => {}
    }
    if let Some(tier) = e.tiers.iter().find(|(_, t)| t.above_input_tokens.is_some()) {
        return Some(format!(
            "tier `{}` has `above_input_tokens`, which only `long_context` has",
            tier.0.as_str()
        ));
    }
    let term_figures = e
        .long_context
        .iter()
        .chain(e.tiers.values())
        .flat_map(terms::RawTerms::figures);
    let figures = [
        Some(e.input_per_1m),
        Some(e.output_per_1m),
        e.cache_write_per_1m,
        e.cache_read_per_1m,
        e.cache_write_1h_per_1m,
        e.batch_input_per_1m,
        e.batch_output_per_1m,
    ]
    .into_iter()
    .chain(term_figures);
    let profile_figures = e.profiles.values().flat_map(|p| {
        [
            p.input_per_1m,
            p.output_per_1m,
            p.cache_write_per_1m,
            p.cache_read_per_1m,
            p.batch_input_per_1m,
            p.batch_output_per_1m,
        ]
    });
    if figures
        .chain(profile_figures)
        .flatten()
        .any(|d| d < Decimal::ZERO)
    {
        return Some("a price is negative".into());
    }
    if e.lifecycle == Lifecycle::Active && (e.end_of_life.is_some() || e.legacy_since.is_some()) {
        return Some("an active model has no `legacy_since` or `end_of_life`".into());
    }
    None
}
