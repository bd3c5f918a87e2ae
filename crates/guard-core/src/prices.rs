//! The Amazon Bedrock price catalog: on-demand token prices per model, each with where and when the
//! figure was read, and the Cost Explorer service the model bills under.
//!
//! The bundled figures live in `prices/catalog.yaml` (USD per 1M tokens, as AWS and the sources
//! publish them) and are converted here, exactly, to USD per 1K tokens. A policy can replace or add
//! entries ([`Catalog::with_overrides`], [`Catalog::with_policy_overrides`]). The AWS Price List API
//! (service codes `AmazonBedrock` and `AmazonBedrockFoundationModels`) is the authority; this
//! catalog is a dated copy of it.
//!
//! Model ids are resolved the way Bedrock bills them ([`Catalog::resolve`]): an exact id first, then a
//! cross-region inference profile (`us.`, `eu.`, `global.`, ...) maps to its base model. From the
//! Claude 4.5 generation on, regional profiles cost more than `global.` (see
//! [`ModelPrice::regional_premium_percent`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Cost Explorer service of Amazon's own and the open-weight models, and the service every
/// Bedrock budget scope includes.
pub const BEDROCK_SERVICE: &str = "Amazon Bedrock";

/// The `service` of a [`PriceOverride`] that names none.
pub const DEFAULT_OVERRIDE_SERVICE: &str = BEDROCK_SERVICE;

/// The `source` of a [`PriceOverride`] that names none.
pub const DEFAULT_OVERRIDE_SOURCE: &str = "policy";

/// Cross-region inference profile prefixes, as they appear before a base model id
/// (`us.anthropic.claude-...`). The profile name is the prefix without its dot.
pub const PROFILE_PREFIXES: [&str; 8] = [
    "us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global.",
];

/// The profile whose prices never carry a regional premium.
pub const GLOBAL_PROFILE: &str = "global";

mod terms;
pub use terms::{LongContextPrice, ServiceTier, TermPrices};

const BUNDLED_YAML: &str = include_str!("prices/catalog.yaml");

/// Claude prompt caching: cache write costs 1.25x the input price.
const CLAUDE_CACHE_WRITE_FACTOR: Decimal = Decimal::from_parts(125, 0, 0, false, 2);
/// Claude prompt caching: cache read costs 0.1x the input price.
const CLAUDE_CACHE_READ_FACTOR: Decimal = Decimal::from_parts(1, 0, 0, false, 1);
/// Nova prompt caching: cache read costs 0.25x the input price (and cache write nothing).
const NOVA_CACHE_READ_FACTOR: Decimal = Decimal::from_parts(25, 0, 0, false, 2);
/// Claude prompt caching: a write kept for 1 hour costs 2x the input price.
const CLAUDE_CACHE_WRITE_1H_FACTOR: Decimal = Decimal::TWO;

/// The on-demand price of one model, in USD per 1,000 tokens.
///
/// Money is [`Decimal`]; in JSON and YAML it is written and read as a plain number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelPrice {
    /// Base model id, e.g. `anthropic.claude-sonnet-4-5-20250929-v1:0` (or, for a model the policy
    /// adds, any id Bedrock reports, such as an application inference profile ARN).
    pub model_id: String,
    /// USD per 1,000 input tokens.
    #[serde(with = "rust_decimal::serde::float")]
    #[schemars(with = "f64")]
    pub input_per_1k: Decimal,
    /// USD per 1,000 output tokens.
    #[serde(with = "rust_decimal::serde::float")]
    #[schemars(with = "f64")]
    pub output_per_1k: Decimal,
    /// USD per 1,000 tokens written to the prompt cache. When absent, [`ModelPrice::cost`] uses the
    /// model family's rule (see [`ModelPrice::cache_write_price`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub cache_write_per_1k: Option<Decimal>,
    /// USD per 1,000 tokens read from the prompt cache. When absent, [`ModelPrice::cost`] uses the
    /// model family's rule (see [`ModelPrice::cache_read_price`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub cache_read_per_1k: Option<Decimal>,
    /// USD per 1,000 tokens written to the prompt cache with a 1-hour time to live, where it
    /// differs from the 5-minute write. When absent, see [`ModelPrice::cache_write_1h_price`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub cache_write_1h_per_1k: Option<Decimal>,
    /// Prices of a request whose prompt is above a size (Claude Sonnet 4 and 4.5 above 200K
    /// tokens), where the model has such a tier. [`ModelPrice::request_cost`] applies them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_context: Option<LongContextPrice>,
    /// Prices under the Flex and Priority service tiers, where Bedrock publishes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tiers: BTreeMap<ServiceTier, TermPrices>,
    /// USD per 1,000 input tokens of batch inference, where the model offers it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub batch_input_per_1k: Option<Decimal>,
    /// USD per 1,000 output tokens of batch inference, where the model offers it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub batch_output_per_1k: Option<Decimal>,
    /// How much more (in percent) every price term costs through a regional cross-region inference
    /// profile (`us.`, `eu.`, `apac.`, ...) than through `global.`. Set for the Claude 4.5
    /// generation and later (10). The figures of this entry are the `global.` ones, and the bare
    /// base id is billed like `global.`. [`Catalog::resolve`] applies the premium; [`ModelPrice::cost`]
    /// does not (it prices the figures it holds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub regional_premium_percent: Option<Decimal>,
    /// The Cost Explorer service the model bills under: `Amazon Bedrock` for Amazon and open-weight
    /// models, the Marketplace service (e.g. `Claude Sonnet 4.5 (Amazon Bedrock Edition)`) for the
    /// others.
    pub service: String,
    /// Where the figures were read.
    pub source: String,
    /// When the figures were checked, `YYYY-MM-DD` (empty for a policy override that gives none).
    pub checked: String,
    /// Anything a reader should know, e.g. `unsettled: ...` for a figure the sources disagree on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where the model stands in Bedrock's lifecycle, as the entry's source recorded it.
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// When the model became legacy, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_since: Option<String>,
    /// When the model reaches (or reached) its end of life on Bedrock, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life: Option<String>,
    /// The model to move to, for a legacy or end-of-life one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
    /// Where the lifecycle was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_source: Option<String>,
    /// Prices under a cross-region inference profile (`eu`, `apac`, `us-gov`, ...) that differ
    /// from what [`ModelPrice::regional_premium_percent`] gives: figures of their own, or a
    /// premium of their own. [`Catalog::resolve`] applies them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, ProfilePrice>,
}

/// A model's lifecycle state on Amazon Bedrock (the `modelLifecycle` of GetFoundationModel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    #[default]
    Active,
    /// Still invocable, with an end of life announced.
    Legacy,
    /// No longer invocable.
    EndOfLife,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "active",
            Lifecycle::Legacy => "legacy",
            Lifecycle::EndOfLife => "end of life",
        }
    }
}

/// The price of a model under one cross-region inference profile, USD per 1,000 tokens: either
/// a premium in percent over the entry's figures, or figures of its own (input and output at
/// least; cache terms left out follow the family rule from this input price, batch left out is
/// not offered under the profile).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfilePrice {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub premium_percent: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub input_per_1k: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub output_per_1k: Option<Decimal>,
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
    pub batch_input_per_1k: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::float_option"
    )]
    #[schemars(with = "Option<f64>")]
    pub batch_output_per_1k: Option<Decimal>,
}

/// The prompt-caching rules a model family follows when an entry gives no cache prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheRule {
    /// Anthropic Claude: write 1.25x input, read 0.1x input.
    Claude,
    /// Amazon Nova: no write charge, read 0.25x input.
    Nova,
    /// Anything else: cache tokens priced as input tokens.
    Input,
}

impl CacheRule {
    fn of(model_id: &str) -> CacheRule {
        let (_, base) = split_profile(model_id);
        if base.starts_with("anthropic.") {
            CacheRule::Claude
        } else if base.starts_with("amazon.nova-") {
            CacheRule::Nova
        } else {
            CacheRule::Input
        }
    }
}

impl ModelPrice {
    /// The price of cache writes per 1K tokens: the entry's own figure, else the family rule (Claude
    /// 1.25x input; Nova 0, it charges no cache write), else the input price. Pricing an unknown
    /// model's cache tokens as input keeps an estimate on the safe (high) side for reads and close
    /// for writes.
    pub fn cache_write_price(&self) -> Decimal {
        self.cache_write_per_1k
            .unwrap_or_else(|| match CacheRule::of(&self.model_id) {
                CacheRule::Claude => (self.input_per_1k * CLAUDE_CACHE_WRITE_FACTOR).normalize(),
                CacheRule::Nova => Decimal::ZERO,
                CacheRule::Input => self.input_per_1k,
            })
    }

    /// The price of cache reads per 1K tokens: the entry's own figure, else the family rule (Claude
    /// 0.1x input, Nova 0.25x input), else the input price.
    pub fn cache_read_price(&self) -> Decimal {
        self.cache_read_per_1k
            .unwrap_or_else(|| match CacheRule::of(&self.model_id) {
                CacheRule::Claude => (self.input_per_1k * CLAUDE_CACHE_READ_FACTOR).normalize(),
                CacheRule::Nova => (self.input_per_1k * NOVA_CACHE_READ_FACTOR).normalize(),
                CacheRule::Input => self.input_per_1k,
            })
    }

    /// The price of 1-hour cache writes per 1K tokens: the entry's own figure, else Claude's rule
    /// (2x input), else the 5-minute write price.
    pub fn cache_write_1h_price(&self) -> Decimal {
        self.cache_write_1h_per_1k
            .unwrap_or_else(|| match CacheRule::of(&self.model_id) {
                CacheRule::Claude => (self.input_per_1k * CLAUDE_CACHE_WRITE_1H_FACTOR).normalize(),
                CacheRule::Nova | CacheRule::Input => self.cache_write_price(),
            })
    }

    /// This price with `terms` as its standard figures (a service tier, or the long-context
    /// tier). Batch and the other tiers do not carry over: a tier's batch price is not published.
    fn with_terms(&self, terms: &TermPrices) -> ModelPrice {
        ModelPrice {
            input_per_1k: terms.input_per_1k,
            output_per_1k: terms.output_per_1k,
            cache_write_per_1k: terms.cache_write_per_1k,
            cache_read_per_1k: terms.cache_read_per_1k,
            cache_write_1h_per_1k: terms.cache_write_1h_per_1k,
            batch_input_per_1k: None,
            batch_output_per_1k: None,
            long_context: None,
            tiers: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// This price under a service tier, `None` where the entry has no price for it.
    pub fn in_tier(&self, tier: ServiceTier) -> Option<ModelPrice> {
        self.tiers.get(&tier).map(|terms| self.with_terms(terms))
    }

    /// The figures that bill one request with this prompt: the long-context tier's when the
    /// prompt (input, cache read and cache write tokens together) is above its size, else these.
    pub fn for_request(
        &self,
        input_tokens: u64,
        cache_read_tokens: u64,
        cache_write_tokens: u64,
    ) -> Cow<'_, ModelPrice> {
        let prompt = input_tokens
            .saturating_add(cache_read_tokens)
            .saturating_add(cache_write_tokens);
        match &self.long_context {
            Some(long) if prompt > long.above_input_tokens => {
                Cow::Owned(self.with_terms(&long.prices))
            }
            _ => Cow::Borrowed(self),
        }
    }

    /// The cost in USD of one request of these token counts, at the long-context tier's prices
    /// when its prompt is above that tier's size ([`ModelPrice::for_request`]). [`ModelPrice::cost`]
    /// never applies that tier, since summed counts say nothing of one request's size.
    pub fn request_cost(
        &self,
        input_tokens: u64,
        output_tokens: u64,
        cache_read_tokens: u64,
        cache_write_tokens: u64,
    ) -> Decimal {
        self.for_request(input_tokens, cache_read_tokens, cache_write_tokens)
            .cost(
                input_tokens,
                output_tokens,
                cache_read_tokens,
                cache_write_tokens,
            )
    }

    /// The on-demand cost in USD of the given token counts: each count / 1000 x its price per 1K.
    ///
    /// Cache prices come from [`ModelPrice::cache_read_price`] and
    /// [`ModelPrice::cache_write_price`] (the entry's figure, else the family rule, else the input
    /// price). `input_tokens` should not include the cache tokens (Bedrock reports them apart).
    /// The figures are taken as they are: a [`ModelPrice::regional_premium_percent`] is not applied
    /// here (use the price from [`Catalog::resolve`], which has it applied). Saturates instead of
    /// overflowing.
    pub fn cost(
        &self,
        input_tokens: u64,
        output_tokens: u64,
        cache_read_tokens: u64,
        cache_write_tokens: u64,
    ) -> Decimal {
        let term = |tokens: u64, per_1k: Decimal| {
            (Decimal::from(tokens) / Decimal::ONE_THOUSAND).saturating_mul(per_1k)
        };
        term(input_tokens, self.input_per_1k)
            .saturating_add(term(output_tokens, self.output_per_1k))
            .saturating_add(term(cache_read_tokens, self.cache_read_price()))
            .saturating_add(term(cache_write_tokens, self.cache_write_price()))
            .normalize()
    }

    /// This price with every term raised by `percent` (used for regional inference profiles).
    fn with_premium(&self, percent: Decimal) -> ModelPrice {
        let factor = Decimal::ONE + percent / Decimal::ONE_HUNDRED;
        let raise = |d: Decimal| (d * factor).normalize();
        let raise_opt = |d: Option<Decimal>| d.map(raise);
        ModelPrice {
            input_per_1k: raise(self.input_per_1k),
            output_per_1k: raise(self.output_per_1k),
            cache_write_per_1k: raise_opt(self.cache_write_per_1k),
            cache_read_per_1k: raise_opt(self.cache_read_per_1k),
            cache_write_1h_per_1k: raise_opt(self.cache_write_1h_per_1k),
            long_context: self.long_context.as_ref().map(|l| LongContextPrice {
                above_input_tokens: l.above_input_tokens,
                prices: l.prices.raised(factor),
            }),
            tiers: self
                .tiers
                .iter()
                .map(|(tier, terms)| (*tier, terms.raised(factor)))
                .collect(),
            batch_input_per_1k: raise_opt(self.batch_input_per_1k),
            batch_output_per_1k: raise_opt(self.batch_output_per_1k),
            regional_premium_percent: None,
            profiles: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// This price under `profile`: its own figures or premium from [`ModelPrice::profiles`],
    /// else the regional premium for any profile but `global`, else the entry's figures.
    fn under_profile(&self, profile: &str) -> ModelPrice {
        let unchanged = || ModelPrice {
            profiles: BTreeMap::new(),
            regional_premium_percent: None,
            ..self.clone()
        };
        match self.profiles.get(profile) {
            Some(ProfilePrice {
                premium_percent: Some(percent),
                ..
            }) => self.with_premium(*percent),
            Some(own) => ModelPrice {
                input_per_1k: own.input_per_1k.unwrap_or(self.input_per_1k),
                output_per_1k: own.output_per_1k.unwrap_or(self.output_per_1k),
                cache_write_per_1k: own.cache_write_per_1k,
                cache_read_per_1k: own.cache_read_per_1k,
                batch_input_per_1k: own.batch_input_per_1k,
                batch_output_per_1k: own.batch_output_per_1k,
                // The entry's other terms are the base figures', not this profile's.
                cache_write_1h_per_1k: None,
                long_context: None,
                tiers: BTreeMap::new(),
                ..unchanged()
            },
            None => match self.regional_premium_percent {
                Some(percent) if profile != GLOBAL_PROFILE => self.with_premium(percent),
                _ => unchanged(),
            },
        }
    }
}

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

/// A model id resolved against the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPrice {
    /// The id as asked, e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0`.
    pub model_id: String,
    /// The effective figures for that id: a regional premium is already applied (and
    /// `regional_premium_percent` cleared). `price.model_id` is the catalog entry's id (the base
    /// model id when a profile prefix was stripped).
    pub price: ModelPrice,
    /// The cross-region inference profile of the asked id (`us`, `eu`, `apac`, `jp`, `au`, `ca`,
    /// `us-gov`, `global`), if it has one.
    pub profile: Option<String>,
}

/// Splits a cross-region inference profile prefix off a model id:
/// `us.anthropic.claude-...` gives `(Some("us"), "anthropic.claude-...")`; an id without one gives
/// `(None, id)`.
pub fn split_profile(model_id: &str) -> (Option<&str>, &str) {
    for prefix in PROFILE_PREFIXES {
        if let Some(base) = model_id.strip_prefix(prefix) {
            return (Some(&prefix[..prefix.len() - 1]), base);
        }
    }
    (None, model_id)
}

/// Model prices by model id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    entries: BTreeMap<String, ModelPrice>,
}

impl Catalog {
    /// The catalog shipped with Budget Guard (parsed once, then cloned).
    pub fn bundled() -> Catalog {
        static BUNDLED: OnceLock<Catalog> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                parse_bundled(BUNDLED_YAML)
                    .unwrap_or_else(|e| panic!("bundled price catalog is invalid: {e}"))
            })
            .clone()
    }

    /// This catalog with `prices` replacing the entries of the same `model_id`, or added as new
    /// models (an application inference profile ARN, for example). Later prices win over earlier.
    pub fn with_overrides(mut self, prices: impl IntoIterator<Item = ModelPrice>) -> Catalog {
        for price in prices {
            self.entries.insert(price.model_id.clone(), price);
        }
        self
    }

    /// This catalog with a policy's `pricing` section (model id to [`PriceOverride`]) applied.
    ///
    /// Like [`Catalog::with_overrides`], but where an override leaves `service` or
    /// `regional_premium_percent` unset and the catalog already prices that id, they are kept from
    /// the existing entry: overriding `anthropic.claude-sonnet-4-5-...` keeps it under
    /// `Claude Sonnet 4.5 (Amazon Bedrock Edition)` and keeps its regional premium. For an id with
    /// a profile prefix (`us.anthropic...`), only the service is taken from the base entry, since
    /// its figures are already the profile's.
    pub fn with_policy_overrides<K: AsRef<str>>(
        mut self,
        overrides: impl IntoIterator<Item = (K, PriceOverride)>,
    ) -> Catalog {
        for (model_id, mut price) in overrides {
            let model_id = model_id.as_ref();
            let existing = self
                .entries
                .get(model_id)
                .or_else(|| self.entries.get(split_profile(model_id).1));
            if let Some(existing) = existing {
                if price.service.is_none() {
                    price.service = Some(existing.service.clone());
                }
                if price.regional_premium_percent.is_none() && existing.model_id == model_id {
                    price.regional_premium_percent = existing.regional_premium_percent;
                }
            }
            let mut price = price.into_price(model_id);
            // New figures do not make an end-of-life model invocable again.
            if let Some(existing) = existing {
                price.lifecycle = existing.lifecycle;
                price.legacy_since.clone_from(&existing.legacy_since);
                price.end_of_life.clone_from(&existing.end_of_life);
                price.successor.clone_from(&existing.successor);
                price
                    .lifecycle_source
                    .clone_from(&existing.lifecycle_source);
            }
            self.entries.insert(price.model_id.clone(), price);
        }
        self
    }

    /// The effective price of a model id as Bedrock reports it.
    ///
    /// An exact entry wins (so a policy can price `us.some-model` or an application inference
    /// profile ARN on its own). Otherwise a cross-region inference profile prefix (`us.`, `eu.`,
    /// `apac.`, `jp.`, `au.`, `ca.`, `us-gov.`, `global.`) is stripped to find the base model: for an
    /// entry with a [`ModelPrice::regional_premium_percent`] (Claude 4.5 and later) every term
    /// costs that much more under a regional profile, while `global.` and the bare base id get the
    /// entry's (global) figures; older models cost the same under any prefix. Unknown ids and ARNs
    /// that are not themselves entries give `None`.
    pub fn resolve(&self, model_id: &str) -> Option<ResolvedPrice> {
        let (profile, base) = split_profile(model_id);
        let profile_name = profile.map(str::to_owned);
        if let Some(price) = self.entries.get(model_id) {
            return Some(ResolvedPrice {
                model_id: model_id.to_owned(),
                price: price.clone(),
                profile: profile_name,
            });
        }
        let entry = self.entries.get(base)?;
        let price = entry.under_profile(profile?);
        Some(ResolvedPrice {
            model_id: model_id.to_owned(),
            price,
            profile: profile_name,
        })
    }

    /// The entry stored under exactly this id (no profile resolution).
    pub fn get(&self, model_id: &str) -> Option<&ModelPrice> {
        self.entries.get(model_id)
    }

    /// Every entry, sorted by model id.
    pub fn entries(&self) -> impl Iterator<Item = &ModelPrice> {
        self.entries.values()
    }

    /// The Cost Explorer services that spend on these model ids lands in, always with
    /// `Amazon Bedrock`. Ids the catalog cannot resolve add nothing.
    pub fn services_for<'a>(
        &self,
        model_ids: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let mut services = BTreeSet::from([BEDROCK_SERVICE.to_owned()]);
        services.extend(
            model_ids
                .into_iter()
                .filter_map(|id| self.resolve(id))
                .map(|r| r.price.service),
        );
        services
    }

    /// The Cost Explorer services of every model in the catalog, with `Amazon Bedrock`: the scope of
    /// "all Bedrock spend" as far as the catalog knows it.
    pub fn all_services(&self) -> BTreeSet<String> {
        self.services_for(self.entries.keys().map(String::as_str))
    }
}

/// A catalog file (the bundled one, or a `prices.yaml` beside the policy): per-1M figures,
/// sources by key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    sources: BTreeMap<String, String>,
    models: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
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
struct RawProfile {
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
fn per_1k(per_1m: Decimal) -> Decimal {
    (per_1m / Decimal::ONE_THOUSAND).normalize()
}

fn parse_bundled(yaml: &str) -> Result<Catalog, String> {
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
fn entry_problem(e: &RawEntry) -> Option<String> {
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

#[cfg(test)]
mod tests {
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
        let back = parse_catalog(&text)
            .unwrap_or_else(|e| panic!("{e} at {}:{}\n{text}", e.line, e.column));
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
        let titan =
            serde_json::to_value(price("amazon.titan-text-express-v1")).expect("serializes");
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
        let parsed =
            parse_bundled(&format!("sources: {{k: text}}\nmodels:\n{entry}")).expect("valid");
        assert_eq!(
            parsed.get("a.b").map(|p| (p.input_per_1k, p.output_per_1k)),
            Some((dec!(0.001), dec!(0.002)))
        );
    }
}
