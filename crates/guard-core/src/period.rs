//! Budget periods and their boundaries. Time is always passed in: nothing here reads a clock.

use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How often a budget resets, as the policy and AWS Budgets (`TimeUnit`) know it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Daily,
    Monthly,
    Quarterly,
    Annually,
}

impl Period {
    /// The Budgets API `TimeUnit` for this period.
    pub fn time_unit(self) -> &'static str {
        match self {
            Period::Daily => "DAILY",
            Period::Monthly => "MONTHLY",
            Period::Quarterly => "QUARTERLY",
            Period::Annually => "ANNUALLY",
        }
    }

    /// Parses a Budgets API `TimeUnit`.
    pub fn from_time_unit(unit: &str) -> Option<Period> {
        match unit {
            "DAILY" => Some(Period::Daily),
            "MONTHLY" => Some(Period::Monthly),
            "QUARTERLY" => Some(Period::Quarterly),
            "ANNUALLY" => Some(Period::Annually),
            _ => None,
        }
    }

    /// The policy spelling (`daily`, `monthly`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Monthly => "monthly",
            Period::Quarterly => "quarterly",
            Period::Annually => "annually",
        }
    }

    /// The first day of the period that contains `day` (UTC calendar, as AWS Budgets uses).
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        let first_of = |month: u32| {
            NaiveDate::from_ymd_opt(day.year(), month, 1)
                .expect("month 1..=12 always has a first day")
        };
        match self {
            Period::Daily => day,
            Period::Monthly => first_of(day.month()),
            Period::Quarterly => first_of((day.month0() / 3) * 3 + 1),
            Period::Annually => first_of(1),
        }
    }

    /// The first day of the period after the one that contains `day`.
    pub fn next_start(self, day: NaiveDate) -> NaiveDate {
        let start = self.start_of(day);
        match self {
            Period::Daily => start.succ_opt().unwrap_or(start),
            Period::Monthly => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start),
            Period::Quarterly => start
                .checked_add_months(chrono::Months::new(3))
                .unwrap_or(start),
            Period::Annually => start
                .checked_add_months(chrono::Months::new(12))
                .unwrap_or(start),
        }
    }

    /// Number of days in the period that contains `day`.
    pub fn days_in(self, day: NaiveDate) -> i64 {
        (self.next_start(day) - self.start_of(day)).num_days()
    }

    /// Days used to turn a daily cost into a cost per period when no date is given: the average
    /// length of the period in a non-leap year (30 days for a month, as costing guides do).
    pub fn nominal_days(self) -> u32 {
        match self {
            Period::Daily => 1,
            Period::Monthly => 30,
            Period::Quarterly => 91,
            Period::Annually => 365,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn period_boundaries() {
        assert_eq!(Period::Monthly.start_of(d(2026, 11, 29)), d(2026, 11, 1));
        assert_eq!(Period::Monthly.next_start(d(2026, 12, 31)), d(2027, 1, 1));
        assert_eq!(Period::Quarterly.start_of(d(2026, 11, 29)), d(2026, 10, 1));
        assert_eq!(Period::Quarterly.next_start(d(2026, 3, 31)), d(2026, 4, 1));
        assert_eq!(Period::Annually.start_of(d(2026, 11, 29)), d(2026, 1, 1));
        assert_eq!(Period::Daily.next_start(d(2026, 2, 28)), d(2026, 3, 1));
        assert_eq!(Period::Monthly.days_in(d(2028, 2, 10)), 29);
        assert_eq!(Period::Quarterly.days_in(d(2026, 11, 1)), 92);
    }

    #[test]
    fn time_units_round_trip() {
        for p in [
            Period::Daily,
            Period::Monthly,
            Period::Quarterly,
            Period::Annually,
        ] {
            assert_eq!(Period::from_time_unit(p.time_unit()), Some(p));
        }
    }
}
