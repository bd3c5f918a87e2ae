//! Budgets made by hand, outside any deployment of the guard: what its ownership checks must leave
//! alone, or adopt when told to.

use crate::ACCOUNT_ID;
use anyhow::{Context, Result};
use aws_sdk_budgets::types as sdk;

/// A monthly cost budget of `amount` USD named `name`, with no filter: the least a person types
/// into the console.
pub fn hand_made_budget(name: &str, amount: &str) -> sdk::Budget {
    sdk::Budget::builder()
        .budget_name(name)
        .budget_limit(
            sdk::Spend::builder()
                .amount(amount)
                .unit("USD")
                .build()
                .expect("amount and unit are set"),
        )
        .time_unit(sdk::TimeUnit::Monthly)
        .budget_type(sdk::BudgetType::Cost)
        .build()
        .expect("name, limit, time unit and type are set")
}

/// Creates [`hand_made_budget`] in the emulator's account, with `tags` (key, value) on it.
pub async fn create_hand_made_budget(
    budgets: &aws_sdk_budgets::Client,
    name: &str,
    amount: &str,
    tags: &[(&str, &str)],
) -> Result<()> {
    let tags = tags
        .iter()
        .map(|(key, value)| sdk::ResourceTag::builder().key(*key).value(*value).build())
        .collect::<Result<Vec<_>, _>>()?;
    budgets
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(hand_made_budget(name, amount))
        .set_resource_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .with_context(|| format!("creating the budget {name} by hand"))?;
    Ok(())
}

/// Deletes the budget `name` from the emulator's account, as a person does in the console.
pub async fn delete_budget_by_hand(budgets: &aws_sdk_budgets::Client, name: &str) -> Result<()> {
    budgets
        .delete_budget()
        .account_id(ACCOUNT_ID)
        .budget_name(name)
        .send()
        .await
        .with_context(|| format!("deleting the budget {name} by hand"))?;
    Ok(())
}
