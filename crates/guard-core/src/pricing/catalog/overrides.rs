//! The prices a policy's `pricing:` section sets.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::*;

/// A price as a policy's `pricing` section gives it: only the input and output prices are required.
///
/// Unset `service` means `Amazon Bedrock` and unset `source` means `policy` when converted with
/// [`PriceOverride::into_price`]; [`Catalog::with_policy_overrides`] instead keeps the service (and
/// regional premium) of the entry being replaced, so overriding a Claude price does not lose its
/// Marketplace service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    /// USD per 1,000 input tokens.
    #[serde(with = "rust_decimal::serde::float")]
    #[schemars(with = "f64", range(min = 0))]
    pub input_per_1k: Decimal,
    /// USD per 1,000 output tokens.
    #[serde(with = "rust_decimal::serde::float")]
    #[schemars(with = "f64", range(min = 0))]
    pub output_per_1k: Decimal,
    /// USD per 1,000 tokens written to the prompt cache.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>", range(min = 0))]
    pub cache_write_per_1k: Option<Decimal>,
    /// USD per 1,000 tokens read from the prompt cache.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>", range(min = 0))]
    pub cache_read_per_1k: Option<Decimal>,
    /// USD per 1,000 input tokens of batch inference.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>", range(min = 0))]
    pub batch_input_per_1k: Option<Decimal>,
    /// USD per 1,000 output tokens of batch inference.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>", range(min = 0))]
    pub batch_output_per_1k: Option<Decimal>,
    /// Percent that regional inference profiles cost more than `global.` (10 for Claude 4.5 and
    /// later).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>", range(min = 0))]
    pub regional_premium_percent: Option<Decimal>,
    /// Cost Explorer service the model bills under (default `Amazon Bedrock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Where the figures come from (default `policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When the figures were checked, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
    /// Free text shown with the price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl PriceOverride {
    /// The catalog entry for `model_id`: unset `service` becomes `Amazon Bedrock`, unset `source`
    /// becomes `policy`, unset `checked` stays empty.
    pub fn into_price(self, model_id: &str) -> ModelPrice {
        ModelPrice {
            model_id: model_id.to_owned(),
            input_per_1k: self.input_per_1k,
            output_per_1k: self.output_per_1k,
            cache_write_per_1k: self.cache_write_per_1k,
            cache_read_per_1k: self.cache_read_per_1k,
            batch_input_per_1k: self.batch_input_per_1k,
            batch_output_per_1k: self.batch_output_per_1k,
            cache_write_1h_per_1k: None,
            long_context: None,
            tiers: BTreeMap::new(),
            regional_premium_percent: self.regional_premium_percent,
            service: self
                .service
                .unwrap_or_else(|| DEFAULT_OVERRIDE_SERVICE.to_owned()),
            source: self
                .source
                .unwrap_or_else(|| DEFAULT_OVERRIDE_SOURCE.to_owned()),
            checked: self.checked.unwrap_or_default(),
            note: self.note,
            lifecycle: Lifecycle::Active,
            legacy_since: None,
            end_of_life: None,
            successor: None,
            lifecycle_source: None,
            profiles: BTreeMap::new(),
        }
    }
}
