//! The Amazon Bedrock price catalog: on-demand token prices per model, each with where and when the
//! figure was read, and the Cost Explorer service the model bills under.
//!
//! The bundled figures live in `catalog.yaml` beside this file (USD per 1M tokens, as AWS and the sources
//! publish them) and are converted here, exactly, to USD per 1K tokens. A policy can replace or add
//! entries ([`Catalog::with_overrides`], [`Catalog::with_policy_overrides`]). The AWS Price List API
//! (service codes `AmazonBedrock` and `AmazonBedrockFoundationModels`) is the authority; this
//! catalog is a dated copy of it.
//!
//! Model ids are resolved the way Bedrock bills them ([`Catalog::resolve`]): an exact id first, then a
//! cross-region inference profile (`us.`, `eu.`, `global.`, ...) maps to its base model. From the
//! Claude 4.5 generation on, regional profiles cost more than `global.` (see
//! [`ModelPrice::regional_premium_percent`]).

pub mod file;
pub mod overrides;
#[cfg(test)]
mod tests;

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
use file::parse_bundled;
use overrides::PriceOverride;
pub use terms::{LongContextPrice, ServiceTier, TermPrices};

const BUNDLED_YAML: &str = include_str!("catalog.yaml");

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
