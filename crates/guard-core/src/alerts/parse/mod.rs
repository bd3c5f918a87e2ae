//! Alerts that reach the alert-handler: AWS Budgets' plain-text notifications
//! ([`budgets_text`]) and the spend watcher's JSON alerts ([`spend_alert`]), bare or wrapped in a
//! Lambda SNS event ([`sns`]).
//!
//! Pure: no I/O, no clock. Every parser here is linear in the size of its input, never panics, and
//! rejects inputs over [`MAX_INPUT_BYTES`].

pub mod budgets_text;
pub mod sns;
pub mod spend_alert;
#[cfg(test)]
mod tests;

use crate::period::Period;
use crate::spend_basis::SpendBasis;
use rust_decimal::{Decimal, RoundingStrategy};

use serde_json::Value;

use budgets_text::{BudgetsAlert, parse_budgets_text};
use spend_alert::SpendAlert;

/// Inputs larger than this (1 MiB) are rejected before any parsing. An SNS message is at most 256 KiB.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// An alert from either source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    Budgets(BudgetsAlert),
    Spend(SpendAlert),
}

impl Alert {
    /// `budgets` or `spend`.
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::Budgets(_) => "budgets",
            Alert::Spend(_) => "spend",
        }
    }

    pub fn budget_name(&self) -> &str {
        match self {
            Alert::Budgets(a) => &a.budget_name,
            Alert::Spend(a) => &a.budget_name,
        }
    }

    pub fn alert_type(&self) -> SpendBasis {
        match self {
            Alert::Budgets(a) => a.alert_type,
            Alert::Spend(a) => a.alert_type,
        }
    }

    /// The threshold crossed, in dollars.
    pub fn threshold(&self) -> Decimal {
        match self {
            Alert::Budgets(a) => a.threshold,
            Alert::Spend(a) => a.threshold,
        }
    }

    /// The budget limit, in dollars.
    pub fn budgeted(&self) -> Decimal {
        match self {
            Alert::Budgets(a) => a.budgeted,
            Alert::Spend(a) => a.budgeted,
        }
    }

    /// The actual or forecasted spend, in dollars.
    pub fn amount(&self) -> Decimal {
        match self {
            Alert::Budgets(a) => a.amount,
            Alert::Spend(a) => a.amount,
        }
    }

    pub fn period(&self) -> Option<Period> {
        match self {
            Alert::Budgets(a) => a.period,
            Alert::Spend(a) => Some(a.period),
        }
    }

    /// `threshold / budgeted * 100`, rounded half away from zero to 2 decimal places (trailing zeros
    /// dropped, so the 80% alert gives `80`); `0` when `budgeted` is 0. Saturates at `Decimal::MAX`
    /// rather than overflow.
    pub fn threshold_percent(&self) -> Decimal {
        let (threshold, budgeted) = (self.threshold(), self.budgeted());
        if budgeted.is_zero() {
            return Decimal::ZERO;
        }
        let hundred = Decimal::ONE_HUNDRED;
        threshold
            .checked_mul(hundred)
            .and_then(|t| t.checked_div(budgeted))
            .or_else(|| {
                threshold
                    .checked_div(budgeted)
                    .and_then(|q| q.checked_mul(hundred))
            })
            .unwrap_or(Decimal::MAX)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            .normalize()
    }

    /// The alert as the CLI shows it: `kind`, `budget_name`, `alert_type`, `threshold`, `budgeted`,
    /// `amount` (JSON numbers), `period` (lowercase or null); Budgets alerts add `account`,
    /// `notification_date` (`YYYY-MM-DD`) and `console_url` when known.
    pub fn to_summary_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("kind".into(), Value::from(self.kind()));
        map.insert("budget_name".into(), Value::from(self.budget_name()));
        map.insert("alert_type".into(), Value::from(self.alert_type().as_api()));
        map.insert("threshold".into(), number(self.threshold()));
        map.insert("budgeted".into(), number(self.budgeted()));
        map.insert("amount".into(), number(self.amount()));
        map.insert(
            "period".into(),
            self.period()
                .map_or(Value::Null, |p| Value::from(p.as_str())),
        );
        if let Alert::Budgets(a) = self {
            if let Some(account) = &a.account {
                map.insert("account".into(), Value::from(account.as_str()));
            }
            if let Some(date) = a.notification_date {
                map.insert(
                    "notification_date".into(),
                    Value::from(date.format("%Y-%m-%d").to_string()),
                );
            }
            if let Some(url) = &a.console_url {
                map.insert("console_url".into(), Value::from(url.as_str()));
            }
        }
        Value::Object(map)
    }
}

fn number(d: Decimal) -> Value {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Why a message, or an SNS event, could not be read as an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertParseError {
    #[error("input is {len} bytes; alert input over 1 MiB ({max} bytes) is rejected")]
    TooLarge { len: usize, max: usize },
    #[error("not an AWS Budgets alert or Budget Guard spend alert: {reason}")]
    NotAnAlert { reason: String },
    #[error("AWS Budgets alert for budget `{budget_name}` has no `{line}:` line")]
    MissingLine {
        budget_name: String,
        line: &'static str,
    },
    #[error("AWS Budgets alert has two different `{line}:` lines: `{first}` and `{second}`")]
    ConflictingLines {
        line: &'static str,
        first: String,
        second: String,
    },
    #[error(
        "budget `{budget_name}` is a `{budget_type}` budget, not a cost budget: Budget Guard acts only on cost budgets"
    )]
    NotCostBudget {
        budget_name: String,
        budget_type: String,
    },
    #[error("unknown alert type `{value}`: expected ACTUAL or FORECASTED")]
    UnknownAlertType { value: String },
    #[error("`{line}:` value `{value}` is not a dollar amount such as $1,234.56")]
    InvalidAmount { line: &'static str, value: String },
    #[error(
        "unsupported spend alert schema `{schema}`: this build reads `budget-guard/spend-alert@1`"
    )]
    UnsupportedSchema { schema: String },
    #[error("invalid Budget Guard spend alert: {reason}")]
    InvalidSpendAlert { reason: String },
    #[error("not a Lambda SNS event: {reason}")]
    InvalidSnsEvent { reason: String },
    #[error("the SNS event has no records")]
    NoRecords,
    /// One record of an SNS event failed; `error` says why.
    #[error("SNS message {message_id}: {error}")]
    Record {
        message_id: String,
        error: Box<AlertParseError>,
    },
}

pub(super) fn not_an_alert(reason: impl Into<String>) -> AlertParseError {
    AlertParseError::NotAnAlert {
        reason: reason.into(),
    }
}

/// A value from the input, shortened for an error message.
pub(super) fn snippet(s: &str) -> String {
    const MAX_CHARS: usize = 80;
    match s.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

pub(super) fn check_size(text: &str) -> Result<(), AlertParseError> {
    if text.len() > MAX_INPUT_BYTES {
        Err(AlertParseError::TooLarge {
            len: text.len(),
            max: MAX_INPUT_BYTES,
        })
    } else {
        Ok(())
    }
}

pub(super) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Parses a bare SNS `Message`: an AWS Budgets plain-text alert, or a spend watcher JSON alert (any
/// message whose first non-blank character is `{`).
pub fn parse_message(message: &str) -> Result<Alert, AlertParseError> {
    check_size(message)?;
    let message = strip_bom(message);
    if message.trim_start().starts_with('{') {
        let value: Value = serde_json::from_str(message)
            .map_err(|e| not_an_alert(format!("invalid JSON: {e}")))?;
        SpendAlert::from_json_value(value).map(Alert::Spend)
    } else {
        parse_budgets_text(message).map(Alert::Budgets)
    }
}
