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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::spend::flat_spend;
    use chrono::{NaiveDate, TimeZone};
    use rust_decimal_macros::dec;

    #[test]
    fn reads_every_minute_only_near_a_threshold() {
        let policy =
            crate::testing::policy::checked(&guard_testkit::policy_fixture("watched-chatbot"));
        let budget = &policy.budgets["chatbot"];
        let now = Utc.with_ymd_and_hms(2026, 11, 12, 6, 0, 0).unwrap();
        let config = WatchConfig::default();
        let november = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let spend = |spent| flat_spend(&budget.name, budget.amount, spent, november, now);
        let state = SpendState::new(november);
        assert_eq!(
            next_refresh(budget, &spend(dec!(10)), &state, now, &config),
            now + Duration::minutes(12)
        );
        assert_eq!(
            next_refresh(budget, &spend(dec!(249.9)), &state, now, &config),
            now + Duration::minutes(1)
        );
        // Past 50%, already alerted: the next actual threshold (90%) is far again.
        let mut tripped = state.clone();
        tripped.confirm("ACTUAL>50%");
        assert_eq!(
            next_refresh(budget, &spend(dec!(251)), &tripped, now, &config),
            now + Duration::minutes(12)
        );
    }
}
