//! The spend watcher's figures as the tests of what reads them write them.

use crate::period::Period;
use crate::spend::price::BudgetSpend;
use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;

/// The watcher's figure for the monthly budget `name` of `amount` at `observed_at`: `spent` in the
/// month from `period_start`, forecast flat, no rate and nothing by model.
pub fn flat_spend(
    name: &str,
    amount: Decimal,
    spent: Decimal,
    period_start: NaiveDate,
    observed_at: DateTime<Utc>,
) -> BudgetSpend {
    BudgetSpend {
        name: name.into(),
        amount,
        period: Period::Monthly,
        period_start,
        period_end: period_start + Months::new(1),
        spent,
        forecast: spent,
        rate_per_hour: Decimal::ZERO,
        by_model: vec![],
        unpriced: vec![],
        crossed: vec![],
        observed_at,
    }
}
