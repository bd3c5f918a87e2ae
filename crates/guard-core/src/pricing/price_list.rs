//! The AWS Price List's Bedrock products, read into catalog figures: what `budget-guard prices
//! refresh` does with the pages of `pricing:GetProducts`, kept pure so that recorded pages test it.
//!
//! The Price List names models by display name, never by model id: `AmazonBedrock` products carry
//! `model` ("Nova Pro"), mapped to ids by `price_list_names.yaml` beside this file; `AmazonBedrockFoundationModels`
//! products carry `servicename` ("Claude Sonnet 4.5 (Amazon Bedrock Edition)"), which is the
//! catalog entries' own `service`. A token price whose model maps to nothing is an error that names
//! it: a guessed mapping would price the wrong model. Products that are no token price (images,
//! provisioned throughput, guardrails) are counted and left out.

pub mod changes;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::pricing::catalog::{Catalog, LongContextPrice, ModelPrice, ServiceTier, TermPrices};

/// The service codes whose products price Bedrock tokens.
pub const SERVICE_CODES: [&str; 3] = [
    "AmazonBedrock",
    "AmazonBedrockFoundationModels",
    "AmazonBedrockService",
];

const NAMES_YAML: &str = include_str!("price_list_names.yaml");

/// Display names of the `AmazonBedrock` service code, to model ids.
fn display_names() -> &'static BTreeMap<String, String> {
    static NAMES: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        serde_yaml::from_str(NAMES_YAML)
            .unwrap_or_else(|e| panic!("prices/price_list_names.yaml is invalid: {e}"))
    })
}

/// One product as a GetProducts page holds it (each is a JSON document in `PriceList`).
#[derive(Debug, Deserialize)]
struct Product {
    product: ProductInfo,
    #[serde(rename = "serviceCode")]
    service_code: String,
    #[serde(default)]
    terms: OfferTerms,
}

#[derive(Debug, Deserialize)]
struct ProductInfo {
    sku: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct OfferTerms {
    #[serde(rename = "OnDemand", default)]
    on_demand: BTreeMap<String, OfferTerm>,
}

#[derive(Debug, Deserialize)]
struct OfferTerm {
    #[serde(rename = "priceDimensions")]
    price_dimensions: BTreeMap<String, Dimension>,
}

#[derive(Debug, Deserialize)]
struct Dimension {
    unit: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "pricePerUnit")]
    price_per_unit: BTreeMap<String, String>,
}

/// Which set of prices a usage type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Terms {
    Standard,
    LongContext,
    Tier(ServiceTier),
}

/// Which figure of its set a usage type prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Term {
    Input,
    Output,
    CacheRead,
    CacheWrite,
    CacheWrite1h,
    BatchInput,
    BatchOutput,
}

/// Which catalog figure a usage type prices.
type Field = (Terms, Term);

/// What a usage type says: the figure and whether it is the `global` profile's. `None` for a
/// usage type that is no token price.
///
/// The tier and long-context words (`flex`, `priority`, `longcontext` or `long-context`, `1h`)
/// follow the shapes of the standard usage types; they are not yet checked against a recorded
/// page (see tests/fixtures/price-list/README.md).
fn usage_type_field(usage_type: &str) -> Option<(Field, bool)> {
    let u = usage_type.to_ascii_lowercase();
    if !u.contains("token") {
        return None;
    }
    let terms = if u.contains("flex") {
        Terms::Tier(ServiceTier::Flex)
    } else if u.contains("priority") {
        Terms::Tier(ServiceTier::Priority)
    } else if u.contains("longcontext") || u.contains("long-context") || u.contains("long_context")
    {
        Terms::LongContext
    } else {
        Terms::Standard
    };
    let global = u.contains("global");
    let batch = u.contains("batch");
    let term = if u.contains("cache") && u.contains("read") {
        Term::CacheRead
    } else if u.contains("cache") && u.contains("write") {
        if u.contains("1h") {
            Term::CacheWrite1h
        } else {
            Term::CacheWrite
        }
    } else if u.contains("output") {
        if batch {
            Term::BatchOutput
        } else {
            Term::Output
        }
    } else if u.contains("input") {
        if batch { Term::BatchInput } else { Term::Input }
    } else {
        return None;
    };
    // Batch has no tier or long-context price of its own in the catalog.
    if terms != Terms::Standard && matches!(term, Term::BatchInput | Term::BatchOutput) {
        return None;
    }
    Some(((terms, term), global))
}

/// The products of one GetProducts answer as the API returns it:
/// `{"FormatVersion": "aws_v1", "PriceList": ["<product JSON>", ...], "NextToken": ...}`.
pub fn page_products(page: &str) -> Result<Vec<String>, PriceListError> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(rename = "PriceList", default)]
        price_list: Vec<String>,
    }
    let page: Page = serde_json::from_str(page).map_err(|e| PriceListError::Json(e.to_string()))?;
    Ok(page.price_list)
}

/// Whether `text` says per 1M tokens (`Some(true)`), per 1K (`Some(false)`), or neither.
fn says_per_million(text: &str) -> Option<bool> {
    let t = text.to_ascii_lowercase();
    if t.contains("1m") || t.contains("million") {
        Some(true)
    } else if t.contains("1k") || t.contains("thousand") {
        Some(false)
    } else {
        None
    }
}

/// USD per 1M tokens from a price dimension: its unit (else its description) says per 1K or per
/// 1M tokens.
fn per_1m(sku: &str, dimension: &Dimension) -> Result<Decimal, PriceListError> {
    let usd = dimension
        .price_per_unit
        .get("USD")
        .ok_or_else(|| PriceListError::Sku {
            sku: sku.to_owned(),
            problem: "has no USD price".into(),
        })?;
    let price: Decimal = usd.parse().map_err(|_| PriceListError::Sku {
        sku: sku.to_owned(),
        problem: format!("price {usd:?} is not a number"),
    })?;
    let per_million = says_per_million(&dimension.unit)
        .or_else(|| dimension.description.as_deref().and_then(says_per_million));
    match per_million {
        Some(true) => Ok(price.normalize()),
        Some(false) => Ok((price * Decimal::ONE_THOUSAND).normalize()),
        None => Err(PriceListError::Sku {
            sku: sku.to_owned(),
            problem: format!(
                "unit {:?} says neither 1K nor 1M tokens, and neither does its description",
                dimension.unit
            ),
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceListError {
    #[error("a Price List product is not JSON as GetProducts returns it: {0}")]
    Json(String),
    #[error("SKU {sku}: {problem}")]
    Sku { sku: String, problem: String },
    #[error(
        "SKU {sku} prices tokens of `{name}` ({attribute}), which maps to no model id: add it to prices/price_list_names.yaml (AmazonBedrock display names) or to the catalog (a Marketplace service name)"
    )]
    Unmapped {
        sku: String,
        attribute: &'static str,
        name: String,
    },
    #[error("SKU {sku}: `{model_id}` has two {field} prices, {first} and {second} per 1M tokens")]
    Conflict {
        sku: String,
        model_id: String,
        field: String,
        first: Decimal,
        second: Decimal,
    },
}

/// The figures read for one model, USD per 1M tokens: in-region (the `us.` geo price in
/// us-east-1) and `global`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    regional: BTreeMap<Field, Decimal>,
    global: BTreeMap<Field, Decimal>,
}

/// What to do with a token price whose model maps to no id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmapped {
    /// Stop with [`PriceListError::Unmapped`] (a refresh writes nothing then).
    Fail,
    /// Leave it out and name it in [`PriceListRead::unmapped`] (the weekly check, which compares
    /// only the policy's models).
    Collect,
}

/// What the Price List says, per model id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceListRead {
    figures: BTreeMap<String, Figures>,
    /// Names of token prices that map to no model id, with [`Unmapped::Collect`].
    pub unmapped: std::collections::BTreeSet<String>,
    /// Products that are no token price, or a tier the catalog does not hold.
    pub skipped: usize,
    /// Products read.
    pub products: usize,
}

/// Reads the products of GetProducts pages (each a JSON document), for `region` (a `regionCode`;
/// products of other regions are skipped), mapping names through `catalog` and the names file.
pub fn read_products<'a>(
    products: impl IntoIterator<Item = &'a str>,
    region: &str,
    catalog: &Catalog,
    unmapped: Unmapped,
) -> Result<PriceListRead, PriceListError> {
    let services: BTreeMap<&str, &str> = catalog
        .entries()
        .map(|p| (p.service.as_str(), p.model_id.as_str()))
        .collect();
    let mut read = PriceListRead::default();
    for text in products {
        read.products += 1;
        let product: Product =
            serde_json::from_str(text).map_err(|e| PriceListError::Json(e.to_string()))?;
        let attributes = &product.product.attributes;
        let sku = product.product.sku.as_str();
        if attributes.get("regionCode").is_some_and(|r| r != region) {
            read.skipped += 1;
            continue;
        }
        let usage_type = attributes
            .get("usagetype")
            .map(String::as_str)
            .unwrap_or("");
        let Some((field, global)) = usage_type_field(usage_type) else {
            read.skipped += 1;
            continue;
        };
        let model_id = match product.service_code.as_str() {
            "AmazonBedrockFoundationModels" => {
                let name = attributes.get("servicename").cloned().unwrap_or_default();
                services
                    .get(name.as_str())
                    .map(|id| (*id).to_owned())
                    .ok_or(PriceListError::Unmapped {
                        sku: sku.to_owned(),
                        attribute: "servicename",
                        name,
                    })
            }
            _ => {
                let name = attributes.get("model").cloned().unwrap_or_default();
                display_names()
                    .get(&name)
                    .cloned()
                    .ok_or(PriceListError::Unmapped {
                        sku: sku.to_owned(),
                        attribute: "model",
                        name,
                    })
            }
        };
        let model_id = match (model_id, unmapped) {
            (Ok(id), _) => id,
            (Err(PriceListError::Unmapped { name, .. }), Unmapped::Collect) => {
                read.unmapped.insert(name);
                continue;
            }
            (Err(e), _) => return Err(e),
        };
        let dimensions: Vec<&Dimension> = product
            .terms
            .on_demand
            .values()
            .flat_map(|t| t.price_dimensions.values())
            .collect();
        let [dimension] = dimensions[..] else {
            return Err(PriceListError::Sku {
                sku: sku.to_owned(),
                problem: format!(
                    "has {} on-demand price dimensions, not one",
                    dimensions.len()
                ),
            });
        };
        let price = per_1m(sku, dimension)?;
        let figures = read.figures.entry(model_id.clone()).or_default();
        let side = if global {
            &mut figures.global
        } else {
            &mut figures.regional
        };
        if let Some(first) = side.insert(field, price)
            && first != price
        {
            return Err(PriceListError::Conflict {
                sku: sku.to_owned(),
                model_id,
                field: field_name(field),
                first,
                second: price,
            });
        }
    }
    Ok(read)
}

fn field_name((terms, term): Field) -> String {
    let term = match term {
        Term::Input => "input",
        Term::Output => "output",
        Term::CacheRead => "cache read",
        Term::CacheWrite => "cache write",
        Term::CacheWrite1h => "1-hour cache write",
        Term::BatchInput => "batch input",
        Term::BatchOutput => "batch output",
    };
    match terms {
        Terms::Standard => term.to_owned(),
        Terms::LongContext => format!("long-context {term}"),
        Terms::Tier(tier) => format!("{} {term}", tier.as_str()),
    }
}

/// The size above which a long-context tier applies when the Price List gives its prices and the
/// catalog no size (the Claude Sonnet 4 and 4.5 tier's).
pub const DEFAULT_LONG_CONTEXT_TOKENS: u64 = 200_000;

/// A set of prices beside the standard ones (a service tier, the long-context tier), USD per 1M
/// tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshedTerms {
    pub input_per_1m: Decimal,
    pub output_per_1m: Decimal,
    pub cache_write_per_1m: Option<Decimal>,
    pub cache_read_per_1m: Option<Decimal>,
    pub cache_write_1h_per_1m: Option<Decimal>,
}

impl RefreshedTerms {
    /// The figures of `terms` in `side`, when it has both an input and an output price.
    fn read(side: &BTreeMap<Field, Decimal>, terms: Terms) -> Option<RefreshedTerms> {
        let get = |term: Term| side.get(&(terms, term)).copied();
        Some(RefreshedTerms {
            input_per_1m: get(Term::Input)?,
            output_per_1m: get(Term::Output)?,
            cache_write_per_1m: get(Term::CacheWrite),
            cache_read_per_1m: get(Term::CacheRead),
            cache_write_1h_per_1m: get(Term::CacheWrite1h),
        })
    }

    /// As catalog prices (per 1K), keeping from `base` any cache figure the Price List does not
    /// give.
    fn to_terms(&self, base: Option<&TermPrices>) -> TermPrices {
        let k = |d: Decimal| (d / Decimal::ONE_THOUSAND).normalize();
        TermPrices {
            input_per_1k: k(self.input_per_1m),
            output_per_1k: k(self.output_per_1m),
            cache_write_per_1k: self
                .cache_write_per_1m
                .map(k)
                .or(base.and_then(|b| b.cache_write_per_1k)),
            cache_read_per_1k: self
                .cache_read_per_1m
                .map(k)
                .or(base.and_then(|b| b.cache_read_per_1k)),
            cache_write_1h_per_1k: self
                .cache_write_1h_per_1m
                .map(k)
                .or(base.and_then(|b| b.cache_write_1h_per_1k)),
        }
    }
}

/// One model's figures as the Price List gives them, USD per 1M tokens, ready for a catalog file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshedPrice {
    pub model_id: String,
    pub input_per_1m: Decimal,
    pub output_per_1m: Decimal,
    pub cache_write_per_1m: Option<Decimal>,
    pub cache_read_per_1m: Option<Decimal>,
    pub cache_write_1h_per_1m: Option<Decimal>,
    pub batch_input_per_1m: Option<Decimal>,
    pub batch_output_per_1m: Option<Decimal>,
    /// Regional over global, where the Price List has both and they differ.
    pub regional_premium_percent: Option<Decimal>,
    pub long_context: Option<RefreshedTerms>,
    pub tiers: BTreeMap<ServiceTier, RefreshedTerms>,
}

impl RefreshedPrice {
    /// As a catalog price (per 1K), with the rest of `base` (service, lifecycle, profiles, and
    /// any figure the Price List does not give) kept.
    pub fn into_model_price(
        &self,
        base: Option<&ModelPrice>,
        source: &str,
        checked: &str,
    ) -> ModelPrice {
        let k = |d: Decimal| (d / Decimal::ONE_THOUSAND).normalize();
        let mut price = base.cloned().unwrap_or_else(|| ModelPrice {
            model_id: self.model_id.clone(),
            service: crate::pricing::catalog::BEDROCK_SERVICE.to_owned(),
            ..ModelPrice::default()
        });
        price.input_per_1k = k(self.input_per_1m);
        price.output_per_1k = k(self.output_per_1m);
        // A figure the Price List does not give stays as the catalog had it.
        price.cache_write_per_1k = self.cache_write_per_1m.map(k).or(price.cache_write_per_1k);
        price.cache_read_per_1k = self.cache_read_per_1m.map(k).or(price.cache_read_per_1k);
        price.cache_write_1h_per_1k = self
            .cache_write_1h_per_1m
            .map(k)
            .or(price.cache_write_1h_per_1k);
        price.batch_input_per_1k = self.batch_input_per_1m.map(k).or(price.batch_input_per_1k);
        price.batch_output_per_1k = self
            .batch_output_per_1m
            .map(k)
            .or(price.batch_output_per_1k);
        price.regional_premium_percent = self
            .regional_premium_percent
            .or(price.regional_premium_percent);
        if let Some(long) = &self.long_context {
            let old = price.long_context.take();
            price.long_context = Some(LongContextPrice {
                above_input_tokens: old
                    .as_ref()
                    .map_or(DEFAULT_LONG_CONTEXT_TOKENS, |o| o.above_input_tokens),
                prices: long.to_terms(old.as_ref().map(|o| &o.prices)),
            });
        }
        for (tier, terms) in &self.tiers {
            let old = price.tiers.get(tier);
            price.tiers.insert(*tier, terms.to_terms(old));
        }
        price.source = source.to_owned();
        price.checked = checked.to_owned();
        price.note = None;
        price
    }
}

impl PriceListRead {
    /// Each model with both an input and an output price. The base figures are the `global`
    /// ones where the Price List has them (the catalog's convention), else the in-region ones;
    /// a regional price above the global one becomes the regional premium.
    pub fn prices(&self) -> Vec<RefreshedPrice> {
        self.figures
            .iter()
            .filter_map(|(model_id, f)| {
                let standard = |term: Term| (Terms::Standard, term);
                let base = if f.global.contains_key(&standard(Term::Input)) {
                    &f.global
                } else {
                    &f.regional
                };
                let input = *base.get(&standard(Term::Input))?;
                let output = *base.get(&standard(Term::Output))?;
                let premium = match (
                    f.global.get(&standard(Term::Input)),
                    f.regional.get(&standard(Term::Input)),
                ) {
                    (Some(g), Some(r)) if r > g && !g.is_zero() => Some(
                        ((r / g - Decimal::ONE) * Decimal::ONE_HUNDRED)
                            .round_dp(2)
                            .normalize(),
                    ),
                    _ => None,
                };
                Some(RefreshedPrice {
                    model_id: model_id.clone(),
                    input_per_1m: input,
                    output_per_1m: output,
                    cache_write_per_1m: base.get(&standard(Term::CacheWrite)).copied(),
                    cache_read_per_1m: base.get(&standard(Term::CacheRead)).copied(),
                    cache_write_1h_per_1m: base.get(&standard(Term::CacheWrite1h)).copied(),
                    batch_input_per_1m: base.get(&standard(Term::BatchInput)).copied(),
                    batch_output_per_1m: base.get(&standard(Term::BatchOutput)).copied(),
                    regional_premium_percent: premium,
                    long_context: RefreshedTerms::read(base, Terms::LongContext),
                    tiers: ServiceTier::ALL
                        .into_iter()
                        .filter_map(|t| Some((t, RefreshedTerms::read(base, Terms::Tier(t))?)))
                        .collect(),
                })
            })
            .collect()
    }
}
