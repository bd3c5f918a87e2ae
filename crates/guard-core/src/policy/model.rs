//! The checked policy: every name resolved, every threshold typed, every amount exact. Everything
//! downstream (estimate, plan, alert handling, the spend watcher, the CDK app through `export`)
//! reads this, never the YAML. Two types of the raw layer (`Settings`, `ChatbotChannel`) are part
//! of it as they are: validation has checked them, and a copy of each would only have to be kept
//! in step.

use super::raw::{ChatbotChannel, Settings};
use super::role_arn::RoleArn;
use crate::period::Period;
use crate::pricing::catalog::{Catalog, ModelPrice};
use crate::spend_basis::SpendBasis;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Policy {
    pub settings: Settings,
    pub channels: BTreeMap<String, ChannelSpec>,
    pub routes: BTreeMap<String, RouteSpec>,
    pub budgets: BTreeMap<String, BudgetSpec>,
    /// Prices the policy sets, by model id; they replace the bundled catalog's.
    pub pricing: BTreeMap<String, ModelPrice>,
    /// The entries of the price catalog file beside the policy (`prices.yaml`), by model id:
    /// they replace the bundled catalog's, and `pricing` replaces them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub catalog_prices: BTreeMap<String, ModelPrice>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChannelSpec {
    Slack {
        webhook_secret: String,
        /// Where the guard's alarms reach this channel, when it is named in `settings.alarms`.
        #[serde(skip_serializing_if = "Option::is_none")]
        chatbot: Option<ChatbotChannel>,
    },
    Email {
        addresses: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RouteSpec {
    pub name: String,
    /// The model id of each step, from the most capable (step 1) to the cheapest. A `stop` step
    /// repeats the model above it (what a reader that knows no `blocked` keeps calling).
    pub ladder: Vec<String>,
    /// How each step calls its model, beside `ladder`.
    pub steps: Vec<StepSpec>,
    /// The SSM parameter of the route's flag.
    pub parameter: String,
}

/// How one ladder step calls its model.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StepSpec {
    /// The Bedrock service tier, when not Standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<crate::pricing::catalog::ServiceTier>,
    /// The output cap of each request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// The route is blocked: applications make no call.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub blocked: bool,
}

impl RouteSpec {
    /// The model at a 1-based ladder step, clamped to the ladder.
    pub fn model_at(&self, step: usize) -> &str {
        let index = step.clamp(1, self.ladder.len().max(1)) - 1;
        self.ladder
            .get(index)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The 1-based step of a model on the ladder: its first step (a model may stand on several
    /// steps, with a cap or a tier).
    pub fn step_of(&self, model_id: &str) -> Option<usize> {
        self.ladder
            .iter()
            .position(|m| m == model_id)
            .map(|i| i + 1)
    }

    /// How a 1-based step calls its model (a plain model call past the ladder's end).
    pub fn step_at(&self, step: usize) -> StepSpec {
        step.checked_sub(1)
            .and_then(|i| self.steps.get(i))
            .cloned()
            .unwrap_or_default()
    }

    /// A step as messages name it: its model, with its tier and output cap; `stop` for a block.
    pub fn step_label(&self, step: usize) -> String {
        let rung = self.step_at(step);
        if rung.blocked {
            return "stop (no calls)".to_owned();
        }
        let mut label = self.model_at(step).to_owned();
        if let Some(tier) = rung.service_tier {
            label.push_str(&format!(" on {}", tier.as_str()));
        }
        if let Some(cap) = rung.max_output_tokens {
            label.push_str(&format!(", max {cap} output tokens"));
        }
        label
    }

    /// The last step, where every downgrade ends (a `stop` when the ladder has one).
    pub fn last_step(&self) -> usize {
        self.ladder.len().max(1)
    }

    /// The cheapest step that still serves requests: the last one that is not `stop`.
    pub fn cheapest_step(&self) -> usize {
        match self.steps.last() {
            Some(last) if last.blocked && self.ladder.len() > 1 => self.ladder.len() - 1,
            _ => self.last_step(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BudgetSpec {
    /// The policy's name for the budget, without the prefix.
    pub key: String,
    /// The AWS budget name: prefix and key.
    pub name: String,
    #[serde(with = "rust_decimal::serde::float")]
    pub amount: Decimal,
    pub period: Period,
    pub scope: ScopeSpec,
    pub watch: bool,
    pub thresholds: Vec<ThresholdSpec>,
    pub usage: Vec<UseCaseSpec>,
}

/// What a budget covers, expanded: the exact Cost Explorer services and the other filters.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ScopeSpec {
    pub services: Vec<String>,
    /// The models whose token metrics the spend watcher prices for this budget.
    pub models: Vec<String>,
    pub tags: BTreeMap<String, Vec<String>>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// The applications whose calls the fast path counts (any one); empty: every caller.
    pub applications: Vec<ApplicationSpec>,
}

/// An application of a budget's scope, checked: how an invocation log record names its caller.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationSpec {
    /// Calls made as this role (any session of it).
    Role(RoleArn),
    /// Calls whose `requestMetadata` holds every one of these keys with its value.
    RequestMetadata(BTreeMap<String, String>),
    /// Calls made through this application inference profile (the record's `modelId`).
    InferenceProfile(String),
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ThresholdType {
    Percentage,
    AbsoluteValue,
}

impl ThresholdType {
    pub fn as_api(self) -> &'static str {
        match self {
            ThresholdType::Percentage => "PERCENTAGE",
            ThresholdType::AbsoluteValue => "ABSOLUTE_VALUE",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ThresholdSpec {
    /// The number as AWS Budgets takes it: a percentage or USD.
    #[serde(with = "rust_decimal::serde::float")]
    pub value: Decimal,
    pub threshold_type: ThresholdType,
    pub basis: SpendBasis,
    pub notify: Vec<String>,
    pub downgrade: Option<DowngradeSpec>,
    /// IAM role names to deny Bedrock to at this threshold (a Budgets action), sorted, unique.
    pub deny_roles: Vec<String>,
}

impl ThresholdSpec {
    /// The threshold in USD for a budget of `amount`.
    pub fn dollars(&self, amount: Decimal) -> Decimal {
        match self.threshold_type {
            ThresholdType::AbsoluteValue => self.value,
            ThresholdType::Percentage => (amount * self.value / Decimal::ONE_HUNDRED).round_dp(2),
        }
    }

    /// The threshold as a share of `amount`, in percent.
    pub fn percent(&self, amount: Decimal) -> Decimal {
        match self.threshold_type {
            ThresholdType::Percentage => self.value,
            ThresholdType::AbsoluteValue if amount.is_zero() => Decimal::ZERO,
            ThresholdType::AbsoluteValue => {
                (self.value * Decimal::ONE_HUNDRED / amount).round_dp(2)
            }
        }
    }

    /// How the policy would write it: `90%` or `$450`.
    pub fn label(&self) -> String {
        match self.threshold_type {
            ThresholdType::Percentage => format!("{}%", self.value.normalize()),
            ThresholdType::AbsoluteValue => format!("${}", self.value.normalize()),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DowngradeSpec {
    pub route: String,
    /// The 1-based ladder step to go to (2 or lower on the ladder).
    pub to_step: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UseCaseSpec {
    pub name: String,
    pub route: Option<String>,
    /// The model priced: the use case's model, or the top of its route's ladder.
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub requests_per_day: u64,
}

impl Policy {
    /// The bundled catalog with the price file beside the policy, then the policy's own prices,
    /// applied.
    pub fn catalog(&self) -> Catalog {
        Catalog::bundled()
            .with_overrides(self.catalog_prices.values().cloned())
            .with_overrides(self.pricing.values().cloned())
    }

    /// The deployment this policy's guard acts for: `settings.owner`, else the stack's name.
    /// `None` when neither is known.
    pub fn owner(&self, stack_name: Option<&str>) -> Option<String> {
        self.settings
            .owner
            .clone()
            .or_else(|| stack_name.filter(|s| !s.is_empty()).map(str::to_owned))
    }

    /// The budget an AWS budget name belongs to, if the guard owns it.
    pub fn budget_by_name(&self, name: &str) -> Option<&BudgetSpec> {
        let key = name.strip_prefix(&self.settings.budget_prefix)?;
        self.budgets.get(key)
    }

    /// Every IAM role some threshold denies Bedrock to, sorted: the roles the stack's Budgets
    /// action role may attach its deny policy to.
    pub fn deny_roles(&self) -> Vec<String> {
        let roles: std::collections::BTreeSet<&String> = self
            .budgets
            .values()
            .flat_map(|b| &b.thresholds)
            .flat_map(|t| &t.deny_roles)
            .collect();
        roles.into_iter().cloned().collect()
    }

    /// The budgets whose thresholds downgrade `route`.
    pub fn budgets_for_route<'a>(
        &'a self,
        route: &'a str,
    ) -> impl Iterator<Item = &'a BudgetSpec> + 'a {
        self.budgets.values().filter(move |b| {
            b.thresholds
                .iter()
                .any(|t| t.downgrade.as_ref().is_some_and(|d| d.route == route))
        })
    }
}
