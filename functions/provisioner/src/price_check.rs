//! The weekly price check: the AWS Price List's prices of the models the policy names, against
//! the catalog the guard prices with (the bundled one, `prices.yaml`, `pricing:`). The number of
//! figures that moved by more than [`CHANGE_THRESHOLD_PERCENT`] is published as the
//! `PriceChanges` metric, whose alarm reaches the alarm channels by the path every other alarm
//! takes; what changed is logged, and `budget-guard prices refresh` shows it again.

use crate::{Provisioner, ProvisionerError};
use guard_aws::price_list::{PRICE_LIST_ENDPOINT_REGION, PriceListReader};
use guard_core::policy::Policy;
use guard_core::pricing::price_list::{
    SERVICE_CODES, Unmapped, changes::changes_for_models, changes::diff,
    changes::price_check_message, read_products,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The `detail-type` of the weekly price check.
pub const PRICE_CHECK: &str = "price-check";
/// The region whose prices are checked (the Price List's `regionCode`).
pub const PRICE_REGION_ENV: &str = "BUDGET_GUARD_PRICE_REGION";
/// The catalog's figures are us-east-1 ones.
pub const DEFAULT_PRICE_REGION: &str = "us-east-1";
/// A figure that moved by more than this many percent is a change worth telling.
pub const CHANGE_THRESHOLD_PERCENT: Decimal = Decimal::ONE;

/// The Price List client: the API answers in us-east-1, whatever region the function runs in.
pub fn pricing_client(config: &aws_config::SdkConfig) -> aws_sdk_pricing::Client {
    aws_sdk_pricing::Client::from_conf(
        aws_sdk_pricing::config::Builder::from(config)
            .region(aws_sdk_pricing::config::Region::new(
                PRICE_LIST_ENDPOINT_REGION,
            ))
            .build(),
    )
}

/// Every model id the policy names: ladder steps, use cases, and the models budgets watch.
fn policy_models(policy: &Policy) -> BTreeSet<&str> {
    let ladders = policy
        .routes
        .values()
        .flat_map(|r| r.ladder.iter().map(String::as_str));
    let budgets = policy.budgets.values().flat_map(|b| {
        b.usage
            .iter()
            .map(|u| u.model.as_str())
            .chain(b.scope.models.iter().map(String::as_str))
    });
    ladders.chain(budgets).collect()
}

impl Provisioner {
    /// Runs the check and publishes its metric; the answer says what was found.
    pub async fn price_check(&self) -> Result<Value, ProvisionerError> {
        // Profiles are priced as the last deploy or drift repair recorded them.
        let (policy, _) = guard_aws::profile_mapping::load_deployed_policy(
            std::slice::from_ref(&self.settings.policy_dir),
            self.profile_mapping.as_ref(),
        )
        .await
        .map_err(|e| ProvisionerError::Policy(e.to_string()))?;
        let catalog = policy.catalog();
        let region = self.settings.price_region.as_str();
        let reader = PriceListReader::new(self.pricing.clone());
        let mut products = Vec::new();
        for code in SERVICE_CODES {
            products.extend(
                reader
                    .products(code, region, |_| {})
                    .await
                    .map_err(|e| ProvisionerError::PriceList(Box::new(e)))?,
            );
        }
        let read = read_products(
            products.iter().map(String::as_str),
            region,
            &catalog,
            Unmapped::Collect,
        )
        .map_err(ProvisionerError::PriceListData)?;
        for name in &read.unmapped {
            tracing::warn!(name = %name, "a Price List token price maps to no model id: add it to prices/price_list_names.yaml");
        }
        let all = diff(&catalog, &read.prices());
        let models = policy_models(&policy);
        let told = changes_for_models(&all, models.iter().copied(), CHANGE_THRESHOLD_PERCENT);
        if told.is_empty() {
            tracing::info!(region, models = models.len(), "prices unchanged");
        } else {
            let (subject, body) = price_check_message(&told, region);
            tracing::warn!(region, changes = told.len(), subject = %subject, details = %body, "prices changed");
        }
        guard_aws::metrics::put_price_changes(
            &self.cloudwatch,
            &self.settings.metrics_namespace,
            told.len(),
        )
        .await
        .map_err(|e| ProvisionerError::PriceMetric(Box::new(e)))?;
        Ok(json!({
            "Region": region,
            "Products": read.products,
            "PolicyModels": models.len(),
            "PriceChanges": told.len(),
            "Changes": told,
            "Unmapped": read.unmapped,
        }))
    }
}
