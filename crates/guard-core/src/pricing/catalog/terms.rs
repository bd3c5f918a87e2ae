//! Price terms beside a model's standard on-demand figures: the Flex and Priority service tiers,
//! the long-context tier, and 1-hour prompt-cache writes. Each tier is a set of token prices that
//! replaces the standard ones for the requests it covers.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Bedrock service tier other than Standard (the `serviceTier` of a Converse request).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    /// Cheaper, for work that can wait: requests may queue behind Standard and Priority.
    Flex,
    /// Dearer, served ahead of the other tiers.
    Priority,
}

impl ServiceTier {
    pub const ALL: [ServiceTier; 2] = [ServiceTier::Flex, ServiceTier::Priority];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
        }
    }
}

/// Token prices that replace a model's standard ones, USD per 1,000 tokens. Cache terms left out
/// follow the model family's rule from this input price.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TermPrices {
    #[serde(with = "rust_decimal::serde::float")]
    #[schemars(with = "f64")]
    pub input_per_1k: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    #[schemars(with = "f64")]
    pub output_per_1k: Decimal,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub cache_write_per_1k: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub cache_read_per_1k: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub cache_write_1h_per_1k: Option<Decimal>,
}

impl TermPrices {
    /// Every figure times `factor` (a regional premium).
    pub(super) fn raised(&self, factor: Decimal) -> TermPrices {
        let raise = |d: Decimal| (d * factor).normalize();
        TermPrices {
            input_per_1k: raise(self.input_per_1k),
            output_per_1k: raise(self.output_per_1k),
            cache_write_per_1k: self.cache_write_per_1k.map(raise),
            cache_read_per_1k: self.cache_read_per_1k.map(raise),
            cache_write_1h_per_1k: self.cache_write_1h_per_1k.map(raise),
        }
    }
}

/// The prices of a request whose prompt (input, cache read and cache write tokens together) is
/// above `above_input_tokens`: every token of such a request, output too, is billed at them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LongContextPrice {
    pub above_input_tokens: u64,
    #[serde(flatten)]
    pub prices: TermPrices,
}

/// [`TermPrices`] as a catalog file writes them: per 1M tokens. A long-context tier adds
/// `above_input_tokens`; a service tier must not have it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTerms {
    #[serde(default)]
    pub above_input_tokens: Option<u64>,
    pub input_per_1m: Decimal,
    pub output_per_1m: Decimal,
    #[serde(default)]
    pub cache_write_per_1m: Option<Decimal>,
    #[serde(default)]
    pub cache_read_per_1m: Option<Decimal>,
    #[serde(default)]
    pub cache_write_1h_per_1m: Option<Decimal>,
}

impl RawTerms {
    pub fn figures(&self) -> [Option<Decimal>; 5] {
        [
            Some(self.input_per_1m),
            Some(self.output_per_1m),
            self.cache_write_per_1m,
            self.cache_read_per_1m,
            self.cache_write_1h_per_1m,
        ]
    }

    pub fn prices(&self) -> TermPrices {
        TermPrices {
            input_per_1k: super::file::per_1k(self.input_per_1m),
            output_per_1k: super::file::per_1k(self.output_per_1m),
            cache_write_per_1k: self.cache_write_per_1m.map(super::file::per_1k),
            cache_read_per_1k: self.cache_read_per_1m.map(super::file::per_1k),
            cache_write_1h_per_1k: self.cache_write_1h_per_1m.map(super::file::per_1k),
        }
    }
}

/// [`TermPrices`] per 1M tokens, in the form [`RawTerms`] reads, for a catalog file.
pub(super) fn file_figures(
    prices: &TermPrices,
    above_input_tokens: Option<u64>,
) -> BTreeMap<&'static str, serde_yaml::Value> {
    let per_1m = |d: Decimal| -> serde_yaml::Value {
        let text = (d * Decimal::ONE_THOUSAND).normalize().to_string();
        serde_yaml::from_str(&text).unwrap_or(serde_yaml::Value::String(text))
    };
    let mut figures = BTreeMap::new();
    if let Some(above) = above_input_tokens {
        figures.insert("above_input_tokens", above.into());
    }
    figures.insert("input_per_1m", per_1m(prices.input_per_1k));
    figures.insert("output_per_1m", per_1m(prices.output_per_1k));
    for (field, value) in [
        ("cache_write_per_1m", prices.cache_write_per_1k),
        ("cache_read_per_1m", prices.cache_read_per_1k),
        ("cache_write_1h_per_1m", prices.cache_write_1h_per_1k),
    ] {
        if let Some(v) = value {
            figures.insert(field, per_1m(v));
        }
    }
    figures
}
