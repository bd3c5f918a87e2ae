//! Alerts that reach the alert-handler: AWS Budgets' plain-text notifications and the spend watcher's
//! JSON alerts, bare or wrapped in a Lambda SNS event.
//!
//! Pure: no I/O, no clock. Every parser here is linear in the size of its input, never panics, and
//! rejects inputs over [`MAX_INPUT_BYTES`].
//!
//! # AWS Budgets alerts
//!
//! Budgets publishes plain text, not JSON. [`parse_message`] reads its `Key: Value` lines, not the
//! prose:
//!
//! ```text
//! Budget Name: bg-chatbot-monthly
//! Budget Type: Cost
//! Budgeted Amount: $500.00
//! Alert Type: ACTUAL
//! Alert Threshold: > $400.00
//! ACTUAL Amount: $412.37
//! ```
//!
//! The threshold arrives in dollars even when the notification was set as a percentage; see
//! [`Alert::threshold_percent`]. Amounts may have thousands separators and zero, one or two decimals.
//! Only the budget period, the account, the date and the console link come from elsewhere: the period
//! from the prose ("for the current month", "per day", ...), the rest from the first lines and the
//! `[1]` link line. Each of these is optional; a missing or odd one gives `None`, not an error.
//!
//! # Spend alerts (schema `budget-guard/spend-alert@1`)
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

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::period::Period;

/// Inputs larger than this (1 MiB) are rejected before any parsing. An SNS message is at most 256 KiB.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// The `schema` value of the spend alerts this build reads and writes.
pub const SPEND_ALERT_SCHEMA: &str = "budget-guard/spend-alert@1";

/// Whether an alert is about spend so far or spend forecast to the end of the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlertType {
    Actual,
    Forecasted,
}

impl AlertType {
    /// `ACTUAL` or `FORECASTED`, as Budgets and the spend alert schema spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Actual => "ACTUAL",
            AlertType::Forecasted => "FORECASTED",
        }
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertType {
    type Err = AlertParseError;

    /// Reads `ACTUAL` or `FORECASTED`, ignoring ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("ACTUAL") {
            Ok(AlertType::Actual)
        } else if s.eq_ignore_ascii_case("FORECASTED") {
            Ok(AlertType::Forecasted)
        } else {
            Err(AlertParseError::UnknownAlertType { value: snippet(s) })
        }
    }
}

/// An AWS Budgets notification, as read from its plain-text SNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetsAlert {
    pub budget_name: String,
    pub alert_type: AlertType,
    /// The threshold crossed, in dollars (Budgets sends dollars even for percentage thresholds).
    pub threshold: Decimal,
    /// The budget limit, in dollars.
    pub budgeted: Decimal,
    /// The `ACTUAL Amount` or `FORECASTED Amount`, whichever matches `alert_type`.
    pub amount: Decimal,
    /// From the prose ("for the current month", "per day", ...); `None` when it says none of these.
    pub period: Option<Period>,
    /// From the `AWS Account 111122223333` line: twelve digits.
    pub account: Option<String>,
    /// From the first line, `AWS Budget Notification November 12, 2026`.
    pub notification_date: Option<NaiveDate>,
    /// The `[1] https://...` link, kept only when it points at the AWS console.
    pub console_url: Option<String>,
}

/// The spend watcher's alert, schema `budget-guard/spend-alert@1` (see the module docs).
///
/// Serialize with [`SpendAlert::to_json`], which adds the `schema` field; the derived `Serialize`
/// alone leaves it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendAlert {
    pub budget_name: String,
    pub alert_type: AlertType,
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

    fn from_json_value(value: Value) -> Result<SpendAlert, AlertParseError> {
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

    pub fn alert_type(&self) -> AlertType {
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
        map.insert("alert_type".into(), Value::from(self.alert_type().as_str()));
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

fn not_an_alert(reason: impl Into<String>) -> AlertParseError {
    AlertParseError::NotAnAlert {
        reason: reason.into(),
    }
}

/// A value from the input, shortened for an error message.
fn snippet(s: &str) -> String {
    const MAX_CHARS: usize = 80;
    match s.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

fn check_size(text: &str) -> Result<(), AlertParseError> {
    if text.len() > MAX_INPUT_BYTES {
        Err(AlertParseError::TooLarge {
            len: text.len(),
            max: MAX_INPUT_BYTES,
        })
    } else {
        Ok(())
    }
}

fn strip_bom(text: &str) -> &str {
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

/// One SNS notification from a Lambda SNS event (`Records[].Sns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsRecord {
    pub message_id: String,
    pub subject: Option<String>,
    pub message: String,
    pub topic_arn: Option<String>,
    pub timestamp: Option<String>,
}

// Only the fields Budget Guard reads. Everything else (including `SigningCertUrl` / `SigningCertURL`
// and `UnsubscribeUrl` / `UnsubscribeURL`, which real events spell either way) is ignored, so both
// spellings, or both at once, are accepted.
#[derive(Deserialize)]
struct RawSns {
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "Subject", default)]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "TopicArn", default)]
    topic_arn: Option<String>,
    #[serde(rename = "Timestamp", default)]
    timestamp: Option<String>,
}

impl From<RawSns> for SnsRecord {
    fn from(raw: RawSns) -> Self {
        SnsRecord {
            message_id: raw.message_id,
            subject: raw.subject,
            message: raw.message,
            topic_arn: raw.topic_arn,
            timestamp: raw.timestamp,
        }
    }
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(rename = "Sns")]
    sns: RawSns,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "Records")]
    records: Vec<RawRecord>,
}

/// The SNS notifications in a Lambda SNS event, in order. An event with an empty `Records` list gives
/// an empty vector; the messages are not parsed here (see [`parse_message`]).
pub fn sns_records(event_json: &str) -> Result<Vec<SnsRecord>, AlertParseError> {
    check_size(event_json)?;
    let event: RawEvent = serde_json::from_str(strip_bom(event_json)).map_err(|e| {
        AlertParseError::InvalidSnsEvent {
            reason: e.to_string(),
        }
    })?;
    Ok(event.records.into_iter().map(|r| r.sns.into()).collect())
}

/// One alert read by [`parse_input`], with the SNS fields when it came wrapped in an SNS event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRecord {
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub alert: Alert,
}

/// Reads what `budget-guard alert parse FILE` is given: a bare message (Budgets text or spend alert
/// JSON), a whole Lambda SNS event (every record must hold an alert), or a single SNS notification
/// envelope as SQS and HTTP subscribers receive it (`{"Type": "Notification", "Message": ...}`).
pub fn parse_input(text: &str) -> Result<Vec<ParsedRecord>, AlertParseError> {
    check_size(text)?;
    let text = strip_bom(text);
    if !text.trim_start().starts_with('{') {
        let alert = parse_budgets_text(text)?;
        return Ok(vec![ParsedRecord {
            message_id: None,
            subject: None,
            alert: Alert::Budgets(alert),
        }]);
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| not_an_alert(format!("invalid JSON: {e}")))?;
    let records: Vec<SnsRecord> = match &value {
        Value::Object(map) if map.contains_key("Records") => {
            let event: RawEvent =
                serde_json::from_value(value).map_err(|e| AlertParseError::InvalidSnsEvent {
                    reason: e.to_string(),
                })?;
            event.records.into_iter().map(|r| r.sns.into()).collect()
        }
        Value::Object(map)
            if map.get("Type").and_then(Value::as_str) == Some("Notification")
                && map.contains_key("Message")
                && !map.contains_key("schema") =>
        {
            let raw: RawSns =
                serde_json::from_value(value).map_err(|e| AlertParseError::InvalidSnsEvent {
                    reason: e.to_string(),
                })?;
            vec![raw.into()]
        }
        _ => {
            let alert = SpendAlert::from_json_value(value)?;
            return Ok(vec![ParsedRecord {
                message_id: None,
                subject: None,
                alert: Alert::Spend(alert),
            }]);
        }
    };
    if records.is_empty() {
        return Err(AlertParseError::NoRecords);
    }
    records
        .into_iter()
        .map(|record| match parse_message(&record.message) {
            Ok(alert) => Ok(ParsedRecord {
                message_id: Some(record.message_id),
                subject: record.subject,
                alert,
            }),
            Err(error) => Err(AlertParseError::Record {
                message_id: snippet(&record.message_id),
                error: Box::new(error),
            }),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// AWS Budgets plain text

const BUDGET_NAME: &str = "Budget Name";
const BUDGET_TYPE: &str = "Budget Type";
const BUDGETED_AMOUNT: &str = "Budgeted Amount";
const ALERT_TYPE: &str = "Alert Type";
const ALERT_THRESHOLD: &str = "Alert Threshold";
const ACTUAL_AMOUNT: &str = "ACTUAL Amount";
const FORECASTED_AMOUNT: &str = "FORECASTED Amount";

const KEYS: [&str; 7] = [
    BUDGET_NAME,
    BUDGET_TYPE,
    BUDGETED_AMOUNT,
    ALERT_TYPE,
    ALERT_THRESHOLD,
    ACTUAL_AMOUNT,
    FORECASTED_AMOUNT,
];

/// The `Key: Value` lines of a Budgets message, first value of each key.
#[derive(Default)]
struct Fields<'a> {
    values: [Option<&'a str>; KEYS.len()],
}

impl<'a> Fields<'a> {
    /// Records `value` for `key` if `key` is one of [`KEYS`]; returns whether it was.
    fn offer(&mut self, key: &str, value: &'a str) -> Result<bool, AlertParseError> {
        let Some(i) = KEYS.iter().position(|k| k.eq_ignore_ascii_case(key)) else {
            return Ok(false);
        };
        match self.values[i] {
            None => self.values[i] = Some(value),
            Some(first) if first == value => {}
            Some(first) => {
                return Err(AlertParseError::ConflictingLines {
                    line: KEYS[i],
                    first: snippet(first),
                    second: snippet(value),
                });
            }
        }
        Ok(true)
    }

    fn get(&self, key: &'static str) -> Option<&'a str> {
        KEYS.iter()
            .position(|k| *k == key)
            .and_then(|i| self.values[i])
    }
}

fn parse_budgets_text(text: &str) -> Result<BudgetsAlert, AlertParseError> {
    let mut fields = Fields::default();
    let mut prose = String::new();
    let mut notification_date = None;
    let mut account = None;
    let mut console_url = None;
    let mut first_line = true;

    // `lines` splits on `\n` and drops a `\r` before it, so `\r\n` files read the same.
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let is_first = std::mem::replace(&mut first_line, false);
        if is_first {
            if let Some(rest) = line.strip_prefix("AWS Budget Notification") {
                notification_date = parse_notification_date(rest);
                continue;
            }
        }
        if let Some(rest) = line.strip_prefix("AWS Account ") {
            if account.is_none() {
                account = parse_account(rest);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("[1]") {
            if console_url.is_none() {
                console_url = console_link(rest.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            if fields.offer(key.trim(), value.trim())? {
                continue;
            }
        }
        prose.push_str(line);
        prose.push('\n');
    }

    let budget_name = match fields.get(BUDGET_NAME) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => return Err(not_an_alert("missing `Budget Name:` line")),
    };
    let require = |line: &'static str| {
        fields
            .get(line)
            .ok_or_else(|| AlertParseError::MissingLine {
                budget_name: snippet(&budget_name),
                line,
            })
    };

    let budget_type = require(BUDGET_TYPE)?;
    if !budget_type.eq_ignore_ascii_case("Cost") {
        return Err(AlertParseError::NotCostBudget {
            budget_name: snippet(&budget_name),
            budget_type: snippet(budget_type),
        });
    }
    let alert_type: AlertType = require(ALERT_TYPE)?.parse()?;
    let budgeted = dollars(BUDGETED_AMOUNT, require(BUDGETED_AMOUNT)?)?;
    let threshold_text = require(ALERT_THRESHOLD)?;
    let threshold = dollars(ALERT_THRESHOLD, strip_comparison(threshold_text))?;
    let amount_line = match alert_type {
        AlertType::Actual => ACTUAL_AMOUNT,
        AlertType::Forecasted => FORECASTED_AMOUNT,
    };
    let amount = dollars(amount_line, require(amount_line)?)?;
    let period = period_from_prose(&prose, &budget_name);

    Ok(BudgetsAlert {
        budget_name,
        alert_type,
        threshold,
        budgeted,
        amount,
        period,
        account,
        notification_date,
        console_url,
    })
}

/// `> $400.00` -> `$400.00` (also `>=` and `≥`, or no comparison at all).
fn strip_comparison(s: &str) -> &str {
    let s = s.trim_start();
    let s = s
        .strip_prefix(">=")
        .or_else(|| s.strip_prefix('≥'))
        .or_else(|| s.strip_prefix('>'))
        .unwrap_or(s);
    s.trim_start()
}

/// Reads a dollar amount: optional `-`, optional `$`, digits with optional thousands separators in
/// groups of three, optional decimals (`$1,388.1`, `$51.9`, `$500`, `1200.00`).
fn dollars(line: &'static str, value: &str) -> Result<Decimal, AlertParseError> {
    parse_dollars(value).ok_or_else(|| AlertParseError::InvalidAmount {
        line,
        value: snippet(value),
    })
}

fn parse_dollars(s: &str) -> Option<Decimal> {
    // 28 significant digits plus separators is far below this; longer text is not an amount.
    const MAX_LEN: usize = 48;
    let s = s.trim();
    if s.len() > MAX_LEN {
        return None;
    }
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix('$').unwrap_or(s);
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) if !negative => (true, rest),
        Some(_) => return None,
        None => (negative, s),
    };
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if int.contains(',') {
        let mut groups = int.split(',');
        let first = groups.next().unwrap_or_default();
        let grouped =
            all_digits(first) && first.len() <= 3 && groups.all(|g| g.len() == 3 && all_digits(g));
        if !grouped {
            return None;
        }
    } else if !all_digits(int) {
        return None;
    }
    if frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let mut plain = String::with_capacity(s.len() + 1);
    if negative {
        plain.push('-');
    }
    plain.extend(int.chars().filter(|c| *c != ','));
    if let Some(frac) = frac {
        plain.push('.');
        plain.push_str(frac);
    }
    Decimal::from_str(&plain).ok()
}

/// ` November 12, 2026` -> 2026-11-12.
fn parse_notification_date(rest: &str) -> Option<NaiveDate> {
    let rest = rest.trim();
    if rest.len() > 40 {
        return None;
    }
    NaiveDate::parse_from_str(rest, "%B %d, %Y").ok()
}

/// `111122223333` (or `1111-2222-3333`) -> `111122223333`.
fn parse_account(rest: &str) -> Option<String> {
    let rest = rest.trim();
    if rest.len() > 14 {
        return None;
    }
    let digits: String = rest.chars().filter(|c| *c != '-').collect();
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Keeps the `[1]` link only when it is an https link to an AWS console (the messages use
/// `console.aws.amazon.com/billing/...` and `.../costmanagement/...`), so a forged message cannot put
/// an arbitrary link into Slack under the console's name.
fn console_link(url: &str) -> Option<String> {
    const MAX_LEN: usize = 2048;
    const CONSOLE_HOSTS: [&str; 3] = [
        "console.aws.amazon.com",
        "console.amazonaws-us-gov.com",
        "console.amazonaws.cn",
    ];
    if url.len() > MAX_LEN || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let rest = url.strip_prefix("https://")?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    let host_ok = CONSOLE_HOSTS.iter().any(|h| {
        host == *h
            || host
                .strip_suffix(h)
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1)
    });
    host_ok.then(|| url.to_owned())
}

/// The budget period from the prose, with the budget name taken out first so that a name such as
/// `team per day` cannot decide it. `None` when no phrase or phrases of two periods are found.
fn period_from_prose(prose: &str, budget_name: &str) -> Option<Period> {
    let prose = prose.replace(budget_name, " ").to_ascii_lowercase();
    const PHRASES: [(&str, Period); 5] = [
        ("for the current month", Period::Monthly),
        ("per day", Period::Daily),
        ("yesterday", Period::Daily),
        ("for the current quarter", Period::Quarterly),
        ("for the current year", Period::Annually),
    ];
    let mut found: Option<Period> = None;
    for (phrase, period) in PHRASES {
        if prose.contains(phrase) {
            match found {
                Some(p) if p != period => return None,
                _ => found = Some(period),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../../tests/fixtures/alerts/", $name))
        };
    }

    const MONTHLY_80: &str = fixture!("monthly-actual-80pct.txt");
    const MONTHLY_80_CRLF: &str = fixture!("monthly-actual-80pct-crlf.txt");
    const FORECASTED_100: &str = fixture!("monthly-forecasted-100pct.txt");
    const DAILY_90: &str = fixture!("daily-actual-90pct.txt");
    const QUARTERLY_75: &str = fixture!("quarterly-actual-75pct.txt");
    const ANNUALLY_50: &str = fixture!("annually-forecasted-50pct.txt");
    const NO_DECIMALS: &str = fixture!("monthly-actual-no-decimals.txt");
    const THOUSANDS: &str = fixture!("monthly-actual-thousands.txt");
    const USAGE: &str = fixture!("usage-budget-actual.txt");
    const SPEND: &str = fixture!("spend-alert-forecasted.json");
    const SPEND_V2: &str = fixture!("spend-alert-unknown-schema.json");
    const SNS_EVENT: &str = fixture!("sns-event-budget-alert.json");
    const SNS_URL_CAPS: &str = fixture!("sns-event-daily-url-caps.json");
    const SNS_SPEND: &str = fixture!("sns-event-spend-alert.json");
    const SNS_NOT_ALERT: &str = fixture!("sns-event-not-an-alert.json");

    const ALL: [&str; 15] = [
        MONTHLY_80,
        MONTHLY_80_CRLF,
        FORECASTED_100,
        DAILY_90,
        QUARTERLY_75,
        ANNUALLY_50,
        NO_DECIMALS,
        THOUSANDS,
        USAGE,
        SPEND,
        SPEND_V2,
        SNS_EVENT,
        SNS_URL_CAPS,
        SNS_SPEND,
        SNS_NOT_ALERT,
    ];

    const BILLING: &str = "https://console.aws.amazon.com/billing/home#/budgets";
    const COSTMGMT: &str = "https://console.aws.amazon.com/costmanagement/home#/budgets";

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn budgets(text: &str) -> BudgetsAlert {
        match parse_message(text) {
            Ok(Alert::Budgets(a)) => a,
            other => panic!("expected a Budgets alert, got {other:?}"),
        }
    }

    fn monthly_80_expected() -> BudgetsAlert {
        BudgetsAlert {
            budget_name: "bg-chatbot-monthly".into(),
            alert_type: AlertType::Actual,
            threshold: dec!(400.00),
            budgeted: dec!(500.00),
            amount: dec!(412.37),
            period: Some(Period::Monthly),
            account: Some("111122223333".into()),
            notification_date: Some(date(2026, 11, 12)),
            console_url: Some(COSTMGMT.into()),
        }
    }

    #[test]
    fn monthly_actual_80pct() {
        let a = budgets(MONTHLY_80);
        assert_eq!(a, monthly_80_expected());
        assert_eq!(Alert::Budgets(a).threshold_percent(), dec!(80));
    }

    #[test]
    fn crlf_and_padding_read_the_same() {
        assert_eq!(budgets(MONTHLY_80_CRLF), monthly_80_expected());
        assert_eq!(
            budgets(&MONTHLY_80.replace('\n', "\r\n")),
            monthly_80_expected()
        );
    }

    #[test]
    fn monthly_forecasted_100pct() {
        let a = budgets(FORECASTED_100);
        assert_eq!(
            a,
            BudgetsAlert {
                budget_name: "bg-summarizer".into(),
                alert_type: AlertType::Forecasted,
                threshold: dec!(1200.00),
                budgeted: dec!(1200.00),
                amount: dec!(1388.1),
                period: Some(Period::Monthly),
                account: Some("111122223333".into()),
                notification_date: Some(date(2026, 11, 3)),
                console_url: Some(BILLING.into()),
            }
        );
        assert_eq!(Alert::Budgets(a).threshold_percent(), dec!(100));
    }

    #[test]
    fn daily_actual_90pct_name_with_space() {
        let a = budgets(DAILY_90);
        assert_eq!(
            a,
            BudgetsAlert {
                budget_name: "bg-batch daily".into(),
                alert_type: AlertType::Actual,
                threshold: dec!(45.00),
                budgeted: dec!(50.00),
                amount: dec!(51.9),
                period: Some(Period::Daily),
                account: Some("111122223333".into()),
                notification_date: Some(date(2026, 11, 20)),
                console_url: Some(BILLING.into()),
            }
        );
        assert_eq!(Alert::Budgets(a).threshold_percent(), dec!(90));
    }

    #[test]
    fn quarterly_actual_75pct() {
        let a = budgets(QUARTERLY_75);
        assert_eq!(
            a,
            BudgetsAlert {
                budget_name: "bg-research quarterly".into(),
                alert_type: AlertType::Actual,
                threshold: dec!(2250.00),
                budgeted: dec!(3000.00),
                amount: dec!(2301.44),
                period: Some(Period::Quarterly),
                account: Some("444455556666".into()),
                notification_date: Some(date(2026, 10, 28)),
                console_url: Some(COSTMGMT.into()),
            }
        );
        assert_eq!(Alert::Budgets(a).threshold_percent(), dec!(75));
    }

    #[test]
    fn annually_forecasted_50pct_single_digit_day() {
        let a = budgets(ANNUALLY_50);
        assert_eq!(
            a,
            BudgetsAlert {
                budget_name: "bg-platform-annual".into(),
                alert_type: AlertType::Forecasted,
                threshold: dec!(6000.00),
                budgeted: dec!(12000.00),
                amount: dec!(6120.5),
                period: Some(Period::Annually),
                account: Some("111122223333".into()),
                notification_date: Some(date(2026, 2, 4)),
                console_url: Some(BILLING.into()),
            }
        );
        assert_eq!(Alert::Budgets(a).threshold_percent(), dec!(50));
    }

    #[test]
    fn whole_dollars() {
        let a = budgets(NO_DECIMALS);
        assert_eq!(
            a,
            BudgetsAlert {
                budget_name: "bg-chatbot-monthly".into(),
                alert_type: AlertType::Actual,
                threshold: dec!(500),
                budgeted: dec!(500),
                amount: dec!(501),
                period: Some(Period::Monthly),
                account: Some("111122223333".into()),
                notification_date: Some(date(2026, 11, 15)),
                console_url: Some(COSTMGMT.into()),
            }
        );
        assert_eq!(Alert::Budgets(a).threshold_percent(), dec!(100));
    }

    #[test]
    fn thousands_separators_everywhere() {
        let a = budgets(THOUSANDS);
        assert_eq!(
            a,
            BudgetsAlert {
                budget_name: "bg-enterprise-search".into(),
                alert_type: AlertType::Actual,
                threshold: dec!(1125000.00),
                budgeted: dec!(1250000.00),
                amount: dec!(1130412.5),
                period: Some(Period::Monthly),
                account: Some("111122223333".into()),
                notification_date: Some(date(2026, 11, 21)),
                console_url: Some(BILLING.into()),
            }
        );
        assert_eq!(Alert::Budgets(a).threshold_percent(), dec!(90));
    }

    #[test]
    fn usage_budget_is_rejected() {
        let err = parse_message(USAGE).unwrap_err();
        assert_eq!(
            err,
            AlertParseError::NotCostBudget {
                budget_name: "bg-ec2-hours".into(),
                budget_type: "Usage".into()
            }
        );
        assert!(err.to_string().contains("not a cost budget"), "{err}");
    }

    fn spend_expected() -> SpendAlert {
        SpendAlert {
            budget_name: "bg-chatbot".into(),
            alert_type: AlertType::Forecasted,
            threshold: dec!(450),
            budgeted: dec!(500),
            amount: dec!(455.12),
            period: Period::Monthly,
            period_start: date(2026, 11, 1),
            observed_at: DateTime::parse_from_rfc3339("2026-11-12T06:41:09Z")
                .unwrap()
                .with_timezone(&Utc),
            source: "spend-watcher".into(),
        }
    }

    #[test]
    fn spend_alert_parses_and_round_trips() {
        let Ok(Alert::Spend(a)) = parse_message(SPEND) else {
            panic!("expected a spend alert")
        };
        assert_eq!(a, spend_expected());
        assert_eq!(Alert::Spend(a.clone()).threshold_percent(), dec!(90));
        let json = a.to_json();
        assert_eq!(
            json,
            r#"{"schema":"budget-guard/spend-alert@1","budget_name":"bg-chatbot","alert_type":"FORECASTED","threshold":450.0,"budgeted":500.0,"amount":455.12,"period":"monthly","period_start":"2026-11-01","observed_at":"2026-11-12T06:41:09Z","source":"spend-watcher"}"#
        );
        assert_eq!(parse_message(&json), Ok(Alert::Spend(a)));
        let fixture: Value = serde_json::from_str(SPEND).unwrap();
        let written: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(fixture, written);
    }

    #[test]
    fn spend_alert_ignores_unknown_fields_and_reads_integers() {
        let mut v: Value = serde_json::from_str(SPEND).unwrap();
        v["threshold"] = json!(450);
        v["added_in_a_later_minor"] = json!({"x": 1});
        let Ok(Alert::Spend(a)) = parse_message(&v.to_string()) else {
            panic!()
        };
        assert_eq!(a, spend_expected());
    }

    #[test]
    fn spend_alert_errors() {
        assert_eq!(
            parse_message(SPEND_V2),
            Err(AlertParseError::UnsupportedSchema {
                schema: "budget-guard/spend-alert@2".into()
            })
        );
        let err = parse_message(r#"{"budget_name": "x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an AWS Budgets alert or Budget Guard spend alert: JSON without a `schema` field"
        );
        let mut v: Value = serde_json::from_str(SPEND).unwrap();
        v["period"] = json!("weekly");
        assert!(matches!(
            parse_message(&v.to_string()),
            Err(AlertParseError::InvalidSpendAlert { .. })
        ));
        v["period"] = json!("monthly");
        v["amount"] = json!(-1.5);
        assert!(matches!(
            parse_message(&v.to_string()),
            Err(AlertParseError::InvalidSpendAlert { .. })
        ));
        v["amount"] = json!(1e300);
        assert!(matches!(
            parse_message(&v.to_string()),
            Err(AlertParseError::InvalidSpendAlert { .. })
        ));
        v["amount"] = json!(1.0);
        v["budget_name"] = json!(" ");
        assert!(matches!(
            parse_message(&v.to_string()),
            Err(AlertParseError::InvalidSpendAlert { .. })
        ));
        assert!(matches!(
            parse_message("{not json"),
            Err(AlertParseError::NotAnAlert { .. })
        ));
        assert!(matches!(
            parse_message(SNS_EVENT),
            Err(AlertParseError::NotAnAlert { .. })
        ));
    }

    #[test]
    fn sns_event_records() {
        let records = sns_records(SNS_EVENT).unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.message_id, "0b6f1c52-9d3e-5a4b-8f21-7c3d2e1a0b99");
        assert_eq!(
            r.subject.as_deref(),
            Some("AWS Budgets: bg-chatbot-monthly has exceeded your alert threshold")
        );
        assert_eq!(
            r.topic_arn.as_deref(),
            Some("arn:aws:sns:us-east-1:111122223333:budget-guard-alerts")
        );
        assert_eq!(r.timestamp.as_deref(), Some("2026-11-12T06:41:09.512Z"));
        assert_eq!(r.message, MONTHLY_80);

        let parsed = parse_input(SNS_EVENT).unwrap();
        assert_eq!(
            parsed,
            vec![ParsedRecord {
                message_id: Some("0b6f1c52-9d3e-5a4b-8f21-7c3d2e1a0b99".into()),
                subject: r.subject.clone(),
                alert: Alert::Budgets(monthly_80_expected()),
            }]
        );
    }

    #[test]
    fn sns_event_with_url_in_capitals() {
        let records = sns_records(SNS_URL_CAPS).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].message, DAILY_90);
        let parsed = parse_input(SNS_URL_CAPS).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            parsed[0].message_id.as_deref(),
            Some("6c2d1e0f-3a4b-5c6d-7e8f-90a1b2c3d4e5")
        );
        assert_eq!(parsed[0].alert, Alert::Budgets(budgets(DAILY_90)));

        // Both spellings at once are fine too.
        let mut v: Value = serde_json::from_str(SNS_URL_CAPS).unwrap();
        v["Records"][0]["Sns"]["SigningCertUrl"] = json!("https://example.com/x.pem");
        v["Records"][0]["Sns"]["UnsubscribeUrl"] = json!("https://example.com/u");
        assert_eq!(sns_records(&v.to_string()).unwrap(), records);
    }

    #[test]
    fn sns_event_with_spend_alert_and_null_subject() {
        let parsed = parse_input(SNS_SPEND).unwrap();
        assert_eq!(
            parsed,
            vec![ParsedRecord {
                message_id: Some("7d3e2f10-4b5c-6d7e-8f90-a1b2c3d4e5f6".into()),
                subject: None,
                alert: Alert::Spend(spend_expected()),
            }]
        );
    }

    #[test]
    fn sns_event_whose_message_is_not_an_alert() {
        let records = sns_records(SNS_NOT_ALERT).unwrap();
        assert_eq!(records.len(), 1);
        assert!(records[0].message.contains("InvocationThrottles"));
        let err = parse_input(SNS_NOT_ALERT).unwrap_err();
        assert_eq!(
            err,
            AlertParseError::Record {
                message_id: "8e4f3a21-5c6d-7e8f-90a1-b2c3d4e5f6a7".into(),
                error: Box::new(not_an_alert("JSON without a `schema` field")),
            }
        );
        assert_eq!(
            err.to_string(),
            "SNS message 8e4f3a21-5c6d-7e8f-90a1-b2c3d4e5f6a7: not an AWS Budgets alert or Budget Guard spend \
             alert: JSON without a `schema` field"
        );
    }

    #[test]
    fn parse_input_reads_bare_messages_and_envelopes() {
        let bare = parse_input(MONTHLY_80).unwrap();
        assert_eq!(
            bare,
            vec![ParsedRecord {
                message_id: None,
                subject: None,
                alert: Alert::Budgets(monthly_80_expected())
            }]
        );
        let spend = parse_input(SPEND).unwrap();
        assert_eq!(spend[0].alert, Alert::Spend(spend_expected()));

        let v: Value = serde_json::from_str(SNS_EVENT).unwrap();
        let envelope = v["Records"][0]["Sns"].to_string();
        let parsed = parse_input(&envelope).unwrap();
        assert_eq!(parsed, parse_input(SNS_EVENT).unwrap());
    }

    #[test]
    fn sns_event_errors() {
        assert_eq!(
            parse_input(r#"{"Records": []}"#),
            Err(AlertParseError::NoRecords)
        );
        assert_eq!(sns_records(r#"{"Records": []}"#), Ok(vec![]));
        assert!(matches!(
            sns_records("[]"),
            Err(AlertParseError::InvalidSnsEvent { .. })
        ));
        assert!(matches!(
            sns_records(r#"{"Records": [{"Sns": {}}]}"#),
            Err(AlertParseError::InvalidSnsEvent { .. })
        ));
        assert!(matches!(
            parse_input(r#"{"Records": [{}]}"#),
            Err(AlertParseError::InvalidSnsEvent { .. })
        ));
    }

    #[test]
    fn summary_json() {
        assert_eq!(
            parse_message(MONTHLY_80).unwrap().to_summary_json(),
            json!({
                "kind": "budgets",
                "budget_name": "bg-chatbot-monthly",
                "alert_type": "ACTUAL",
                "threshold": 400.0,
                "budgeted": 500.0,
                "amount": 412.37,
                "period": "monthly",
                "account": "111122223333",
                "notification_date": "2026-11-12",
                "console_url": COSTMGMT,
            })
        );
        assert_eq!(
            Alert::Spend(spend_expected()).to_summary_json(),
            json!({
                "kind": "spend",
                "budget_name": "bg-chatbot",
                "alert_type": "FORECASTED",
                "threshold": 450.0,
                "budgeted": 500.0,
                "amount": 455.12,
                "period": "monthly",
            })
        );
        let bare = "Budget Name: b\nBudget Type: Cost\nBudgeted Amount: $10\nAlert Type: ACTUAL\n\
                    Alert Threshold: > $5\nACTUAL Amount: $6";
        assert_eq!(
            parse_message(bare).unwrap().to_summary_json(),
            json!({
                "kind": "budgets", "budget_name": "b", "alert_type": "ACTUAL",
                "threshold": 5.0, "budgeted": 10.0, "amount": 6.0, "period": null,
            })
        );
    }

    #[test]
    fn missing_and_bad_lines() {
        let err = parse_message("hello").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an AWS Budgets alert or Budget Guard spend alert: missing `Budget Name:` line"
        );
        assert!(matches!(
            parse_message(""),
            Err(AlertParseError::NotAnAlert { .. })
        ));

        let without = |line: &str| {
            MONTHLY_80
                .lines()
                .filter(|l| !l.starts_with(line))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for (line, key) in [
            ("Budget Type", BUDGET_TYPE),
            ("Budgeted Amount", BUDGETED_AMOUNT),
            ("Alert Type", ALERT_TYPE),
            ("Alert Threshold", ALERT_THRESHOLD),
            ("ACTUAL Amount", ACTUAL_AMOUNT),
        ] {
            let err = parse_message(&without(line)).unwrap_err();
            assert_eq!(
                err,
                AlertParseError::MissingLine {
                    budget_name: "bg-chatbot-monthly".into(),
                    line: key
                }
            );
            assert_eq!(
                err.to_string(),
                format!("AWS Budgets alert for budget `bg-chatbot-monthly` has no `{key}:` line")
            );
        }

        // The amount line must match the alert type.
        let swapped = MONTHLY_80.replace("ACTUAL Amount:", "FORECASTED Amount:");
        assert!(matches!(
            parse_message(&swapped),
            Err(AlertParseError::MissingLine {
                line: ACTUAL_AMOUNT,
                ..
            })
        ));

        let bad_type = MONTHLY_80.replace("Alert Type: ACTUAL", "Alert Type: SOMETIMES");
        assert_eq!(
            parse_message(&bad_type),
            Err(AlertParseError::UnknownAlertType {
                value: "SOMETIMES".into()
            })
        );

        let bad_amount = MONTHLY_80.replace("$412.37", "$41,2.37");
        assert!(matches!(
            parse_message(&bad_amount),
            Err(AlertParseError::InvalidAmount {
                line: ACTUAL_AMOUNT,
                ..
            })
        ));

        let conflicting =
            MONTHLY_80.replace("Budget Type: Cost", "Budget Type: Cost\nBudget Name: other");
        assert!(matches!(
            parse_message(&conflicting),
            Err(AlertParseError::ConflictingLines {
                line: BUDGET_NAME,
                ..
            })
        ));
        let repeated = MONTHLY_80.replace(
            "Budget Type: Cost",
            "Budget Type: Cost\nBudget Name: bg-chatbot-monthly",
        );
        assert_eq!(budgets(&repeated), monthly_80_expected());
    }

    #[test]
    fn dollar_amounts() {
        for (text, want) in [
            ("$1,388.1", dec!(1388.1)),
            ("$51.9", dec!(51.9)),
            ("$500", dec!(500)),
            ("$0.00", dec!(0)),
            ("1200.00", dec!(1200)),
            ("$12,345,678.99", dec!(12345678.99)),
            (" $400.00 ", dec!(400)),
            ("-$3.50", dec!(-3.5)),
            ("$-3.50", dec!(-3.5)),
            ("$0.125", dec!(0.125)),
        ] {
            assert_eq!(parse_dollars(text), Some(want), "{text}");
        }
        for text in [
            "",
            "$",
            "$.5",
            "$5.",
            "$1,00",
            "$1000,000",
            "$,100",
            "$1,000,",
            "$1.2.3",
            "$ 5",
            "€5",
            "5 USD",
            "--$1",
            "-$-1",
            "$1e3",
            "$+1",
            "$99999999999999999999999999999999",
        ] {
            assert_eq!(parse_dollars(text), None, "{text:?}");
        }
        assert_eq!(strip_comparison("> $400.00"), "$400.00");
        assert_eq!(strip_comparison(">= $400.00"), "$400.00");
        assert_eq!(strip_comparison("$400.00"), "$400.00");
    }

    #[test]
    fn periods_from_prose() {
        let period_of = |from: &str, to: &str| budgets(&MONTHLY_80.replace(from, to)).period;
        assert_eq!(period_of("for the current month", "somehow"), None);
        // The budget name cannot decide the period.
        let named = MONTHLY_80.replace("bg-chatbot-monthly", "bg per day");
        assert_eq!(budgets(&named).period, Some(Period::Monthly));
        // Two periods in the prose: unknown rather than a guess.
        assert_eq!(
            period_of("for the current month.", "for the current month per day."),
            None
        );
    }

    #[test]
    fn header_lines() {
        let a =
            budgets(&MONTHLY_80.replace("AWS Account 111122223333", "AWS Account 1111-2222-3333"));
        assert_eq!(a.account.as_deref(), Some("111122223333"));
        let a = budgets(&MONTHLY_80.replace("AWS Account 111122223333", "AWS Account 12345"));
        assert_eq!(a.account, None);
        let a = budgets(&MONTHLY_80.replace("November 12, 2026", "Novembre 12, 2026"));
        assert_eq!(a.notification_date, None);
        let a = budgets(&MONTHLY_80.replace(
            COSTMGMT,
            "https://console.aws.amazon.com.evil.example/budgets",
        ));
        assert_eq!(a.console_url, None);
        let a =
            budgets(&MONTHLY_80.replace(COSTMGMT, "http://console.aws.amazon.com/billing/home"));
        assert_eq!(a.console_url, None);
        let regional = "https://us-east-1.console.aws.amazon.com/costmanagement/home#/budgets";
        let a = budgets(&MONTHLY_80.replace(COSTMGMT, regional));
        assert_eq!(a.console_url.as_deref(), Some(regional));
        let a = budgets(&format!("\u{feff}{MONTHLY_80}"));
        assert_eq!(a, monthly_80_expected());
    }

    #[test]
    fn threshold_percent_edges() {
        let mut a = monthly_80_expected();
        a.budgeted = Decimal::ZERO;
        assert_eq!(Alert::Budgets(a.clone()).threshold_percent(), Decimal::ZERO);
        a.budgeted = dec!(3);
        a.threshold = dec!(2);
        assert_eq!(Alert::Budgets(a.clone()).threshold_percent(), dec!(66.67));
        a.budgeted = dec!(0.0000000000000000000000000001);
        a.threshold = Decimal::MAX;
        assert_eq!(Alert::Budgets(a).threshold_percent(), Decimal::MAX);
    }

    #[test]
    fn oversized_input_is_rejected() {
        let big = "a".repeat(MAX_INPUT_BYTES + 1);
        let want = AlertParseError::TooLarge {
            len: MAX_INPUT_BYTES + 1,
            max: MAX_INPUT_BYTES,
        };
        assert_eq!(parse_message(&big), Err(want.clone()));
        assert_eq!(sns_records(&big), Err(want.clone()));
        assert_eq!(parse_input(&big), Err(want));
    }

    #[test]
    fn adversarial_inputs_near_the_limit_finish() {
        // Long lines and many repeated key lines and phrases: each is a single linear pass.
        let budget = MAX_INPUT_BYTES / 2;
        let name = "n".repeat(budget / 2);
        let mut text = format!("Budget Name: {name}\n");
        while text.len() < MAX_INPUT_BYTES - 64 {
            text.push_str("for the current quarter per day Budget Name: \n");
        }
        let _ = parse_message(&text);
        let many_keys = "Budget Name: x\n".repeat(MAX_INPUT_BYTES / 16);
        assert!(matches!(
            parse_message(&many_keys),
            Err(AlertParseError::MissingLine { .. })
        ));
        let amount = format!(
            "{MONTHLY_80}\nBudgeted Amount: ${}",
            "1".repeat(MAX_INPUT_BYTES - MONTHLY_80.len() - 40)
        );
        assert!(matches!(
            parse_message(&amount),
            Err(AlertParseError::ConflictingLines { .. })
        ));
        let deep = "[".repeat(MAX_INPUT_BYTES / 2);
        assert!(parse_input(&format!("{{\"Records\": {deep}")).is_err());
    }

    /// Exercises everything a caller may do with a parse result.
    fn use_result(result: Result<Vec<ParsedRecord>, AlertParseError>) {
        match result {
            Ok(records) => {
                for r in records {
                    let _ = r.alert.threshold_percent();
                    let _ = r.alert.to_summary_json();
                    if let Alert::Spend(s) = &r.alert {
                        let _ = parse_message(&s.to_json());
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Insert(usize, char),
        Delete(usize),
        Replace(usize, char),
        Truncate(usize),
        DuplicateLine(usize),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let interesting = prop::sample::select(vec![
            '$', ',', '.', ':', '\n', '\r', '>', '-', '{', '}', '"', '\\', '0', '9', ' ', 'é',
            '\u{feff}',
        ]);
        let ch = prop_oneof![any::<char>(), interesting];
        prop_oneof![
            (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
            any::<usize>().prop_map(Edit::Delete),
            (any::<usize>(), ch).prop_map(|(i, c)| Edit::Replace(i, c)),
            any::<usize>().prop_map(Edit::Truncate),
            any::<usize>().prop_map(Edit::DuplicateLine),
        ]
    }

    fn apply(text: &str, edits: &[Edit]) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for e in edits {
            let n = chars.len();
            match *e {
                Edit::Insert(i, c) => chars.insert(i % (n + 1), c),
                Edit::Delete(i) if n > 0 => {
                    chars.remove(i % n);
                }
                Edit::Replace(i, c) if n > 0 => chars[i % n] = c,
                Edit::Truncate(i) => chars.truncate(i % (n + 1)),
                Edit::DuplicateLine(i) => {
                    let s: String = chars.iter().collect();
                    let lines: Vec<&str> = s.split('\n').collect();
                    let k = i % lines.len();
                    let mut out = lines.clone();
                    out.insert(k, lines[k]);
                    chars = out.join("\n").chars().collect();
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    fn fragments() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "Budget Name: ",
            "Budget Type: Cost",
            "Budget Type: Usage",
            "Budgeted Amount: ",
            "Alert Type: ACTUAL",
            "Alert Type: FORECASTED",
            "Alert Threshold: > ",
            "ACTUAL Amount: ",
            "FORECASTED Amount: ",
            "AWS Budget Notification November 12, 2026",
            "AWS Account 111122223333",
            "[1] https://console.aws.amazon.com/",
            "for the current month",
            "per day",
            "$",
            "1,000",
            ".5",
            "99999999999999999999999999999",
            "\n",
            "\r\n",
            " ",
            "{\"schema\":\"budget-guard/spend-alert@1\"",
            "{\"Records\":[{\"Sns\":{\"MessageId\":\"m\",\"Message\":\"",
            "\"}}]}",
            "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"Message\":\"",
            ",\"amount\":1e30",
            "}",
        ]);
        prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            use_result(parse_input(&s));
            let _ = parse_message(&s);
            let _ = sns_records(&s);
        }

        #[test]
        fn alert_like_fragments_never_panic(s in fragments()) {
            use_result(parse_input(&s));
            let _ = parse_message(&s);
        }

        #[test]
        fn mutated_fixtures_never_panic(
            which in 0..ALL.len(),
            edits in prop::collection::vec(edit(), 1..12),
        ) {
            let text = apply(ALL[which], &edits);
            use_result(parse_input(&text));
            let _ = parse_message(&text);
            let _ = sns_records(&text);
        }

        #[test]
        fn spend_alert_numbers_never_panic(
            threshold in any::<f64>(),
            amount in prop_oneof![any::<f64>(), Just(1e-30), Just(7.9e28), Just(-0.0)],
        ) {
            let mut v: Value = serde_json::from_str(SPEND).unwrap();
            v["threshold"] = json!(threshold);
            v["amount"] = json!(amount);
            use_result(parse_input(&v.to_string()));
        }

        #[test]
        fn dollar_amounts_round_trip(cents in 0u64..10_000_000_000_000) {
            let whole = cents / 100;
            let mut grouped = String::new();
            let digits = whole.to_string();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let text = format!("${grouped}.{:02}", cents % 100);
            prop_assert_eq!(parse_dollars(&text), Some(Decimal::new(cents as i64, 2)));
        }
    }
}
