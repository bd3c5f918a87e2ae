//! Spend alerts (schema `budget-guard/spend-alert@1`).
//!
//! The spend watcher publishes one JSON object per alert to the same topic:
//!
//! ```json
//! {
//!   "schema": "budget-guard/spend-alert@1",
//!   "budget_name": "bg-chatbot",
//!   "alert_type": "ACTUAL",
//!   "threshold": 450.0,
//!   "budgeted": 500.0,
//!   "amount": 455.12,
//!   "period": "monthly",
//!   "period_start": "2026-11-01",
//!   "observed_at": "2026-11-12T06:41:09Z",
//!   "source": "spend-watcher"
//! }
//! ```
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `schema` | string | always `budget-guard/spend-alert@1`; any other value is rejected |
//! | `budget_name` | string, not empty | the AWS Budgets budget name the alert stands in for |
//! | `alert_type` | `"ACTUAL"` or `"FORECASTED"` | spend so far, or spend projected to the period end |
//! | `threshold` | number, dollars, >= 0 | the threshold crossed, in dollars (not percent) |
//! | `budgeted` | number, dollars, >= 0 | the budget limit for the period |
//! | `amount` | number, dollars, >= 0 | the actual or forecasted spend |
//! | `period` | `"daily"`, `"monthly"`, `"quarterly"`, `"annually"` | the budget period |
//! | `period_start` | `YYYY-MM-DD` | first day (UTC) of the period the amount belongs to |
//! | `observed_at` | RFC 3339 UTC time | when the watcher computed the amount |
//! | `source` | string | who published it, `spend-watcher` |
//!
//! Within `@1`, new fields may only be added, never removed or changed in meaning; readers ignore
//! fields they do not know. Anything else needs `@2`, which this build rejects with
//! [`AlertParseError::UnsupportedSchema`]. Numbers are JSON numbers (a JSON string holding a number is
//! also read). [`SpendAlert::to_json`] writes exactly this shape.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AlertParseError, not_an_alert, snippet};
use crate::period::Period;
use crate::spend_basis::{self, SpendBasis};

/// The `schema` value of the spend alerts this build reads and writes.
pub const SPEND_ALERT_SCHEMA: &str = "budget-guard/spend-alert@1";

/// The spend watcher's alert, schema `budget-guard/spend-alert@1` (see the module docs).
///
/// Serialize with [`SpendAlert::to_json`], which adds the `schema` field; the derived `Serialize`
/// alone leaves it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendAlert {
    pub budget_name: String,
    #[serde(with = "spend_basis::api_form")]
    pub alert_type: SpendBasis,
    /// Dollars.
    #[serde(with = "rust_decimal::serde::float")]
    pub threshold: Decimal,
    /// Dollars.
    #[serde(with = "rust_decimal::serde::float")]
    pub budgeted: Decimal,
    /// Dollars, actual or forecasted as `alert_type` says.
    #[serde(with = "rust_decimal::serde::float")]
    pub amount: Decimal,
    pub period: Period,
    pub period_start: NaiveDate,
    pub observed_at: DateTime<Utc>,
    pub source: String,
}

#[derive(Serialize)]
struct SpendAlertWire<'a> {
    schema: &'static str,
    #[serde(flatten)]
    alert: &'a SpendAlert,
}

impl SpendAlert {
    /// The alert as the JSON message the spend watcher publishes, `schema` first.
    pub fn to_json(&self) -> String {
        let wire = SpendAlertWire {
            schema: SPEND_ALERT_SCHEMA,
            alert: self,
        };
        // Serializing plain strings, numbers and dates into a String cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    pub(super) fn from_json_value(value: Value) -> Result<SpendAlert, AlertParseError> {
        let Value::Object(map) = &value else {
            return Err(not_an_alert("JSON that is not an object"));
        };
        if map.contains_key("Records") {
            return Err(not_an_alert(
                "this is a Lambda SNS event, not a bare message (read it with `sns_records` or `parse_input`)",
            ));
        }
        match map.get("schema") {
            None => return Err(not_an_alert("JSON without a `schema` field")),
            Some(Value::String(s)) if s == SPEND_ALERT_SCHEMA => {}
            Some(Value::String(s)) => {
                return Err(AlertParseError::UnsupportedSchema { schema: snippet(s) });
            }
            Some(other) => {
                return Err(AlertParseError::UnsupportedSchema {
                    schema: snippet(&other.to_string()),
                });
            }
        }
        let alert: SpendAlert =
            serde_json::from_value(value).map_err(|e| AlertParseError::InvalidSpendAlert {
                reason: e.to_string(),
            })?;
        alert.validate()?;
        Ok(alert)
    }

    fn validate(&self) -> Result<(), AlertParseError> {
        let invalid = |reason: String| Err(AlertParseError::InvalidSpendAlert { reason });
        if self.budget_name.trim().is_empty() {
            return invalid("`budget_name` is empty".to_owned());
        }
        for (field, value) in [
            ("threshold", self.threshold),
            ("budgeted", self.budgeted),
            ("amount", self.amount),
        ] {
            if value.is_sign_negative() && !value.is_zero() {
                return invalid(format!("`{field}` is negative ({value})"));
            }
        }
        Ok(())
    }
}
