//! The usage meter's charges as the counting tests write them: requests of 20 November 2026
//! against monthly budgets of November.

use crate::usage::meter::{Charge, Counter, CounterKey};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The November 2026 counter of `budget`.
pub fn counter_key(budget: &str) -> CounterKey {
    CounterKey {
        budget: budget.into(),
        period_start: NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date"),
    }
}

/// Request `request_id`, made on 20 November 2026, costing `cost` in each of `budgets`.
pub fn charge(request_id: &str, cost: Decimal, budgets: &[&str]) -> Charge {
    Charge {
        request_id: request_id.into(),
        at: "2026-11-20T14:00:03Z".parse().expect("a time"),
        cost,
        counters: budgets
            .iter()
            .map(|b| Counter {
                key: counter_key(b),
                expires_at: 1_798_000_000,
            })
            .collect(),
        expires_at: 1_795_800_000,
    }
}
