//! When a budget's metrics are read again.

use super::WatchConfig;
use super::price::BudgetSpend;
use super::query::day_start;
use super::thresholds::{SpendState, threshold_id};
use crate::policy::BudgetSpec;
use crate::spend_basis::SpendBasis;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
/// When a budget's metrics need reading again: within a minute while a burst could reach its next
/// threshold before the following read, else up to `config.max_refresh` later.
///
/// A burst is `burst_factor` times the larger of the recent rate and the budget's even pace
/// (amount over the period's length). The read comes at half the time such a burst needs to reach
/// the next actual threshold.
pub fn next_refresh(
    budget: &BudgetSpec,
    spend: &BudgetSpend,
    state: &SpendState,
    now: DateTime<Utc>,
    config: &WatchConfig,
) -> DateTime<Utc> {
    let minute = Duration::minutes(1);
    let period_seconds = Decimal::from(
        (day_start(spend.period_end) - day_start(spend.period_start))
            .num_seconds()
            .max(1),
    );
    let pace_per_second = budget.amount / period_seconds;
    let rate_per_second = spend.rate_per_hour / Decimal::from(3600);
    let burst = rate_per_second.max(pace_per_second) * Decimal::from(config.burst_factor.max(1));
    let mut wait = config.max_refresh;
    // Only actual thresholds set the pace: a forecast is a trend, and read every `max_refresh` it
    // is still hours ahead of AWS Budgets' own (updated up to three times a day).
    for t in budget
        .thresholds
        .iter()
        .filter(|t| t.basis == SpendBasis::Actual)
    {
        if state.tripped.contains(&threshold_id(t)) {
            continue;
        }
        let headroom = t.dollars(budget.amount) - spend.spent;
        let reach_seconds = if burst.is_zero() {
            Decimal::MAX
        } else {
            headroom / burst
        };
        let half = (reach_seconds / Decimal::TWO).floor();
        let secs =
            i64::try_from(half.min(Decimal::from(config.max_refresh.num_seconds()))).unwrap_or(0);
        wait = wait.min(Duration::seconds(secs));
    }
    // Never later than the period's end: the new period starts fresh.
    (now + wait.max(minute)).min(day_start(spend.period_end))
}
