//! AWS Budgets alerts.
//!
//! Budgets publishes plain text, not JSON. [`parse_message`](super::parse_message) reads its `Key: Value` lines, not the
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
//! [`Alert::threshold_percent`](super::Alert::threshold_percent). Amounts may have thousands separators and zero, one or two decimals.
//! Only the budget period, the account, the date and the console link come from elsewhere: the period
//! from the prose ("for the current month", "per day", ...), the rest from the first lines and the
//! `[1]` link line. Each of these is optional; a missing or odd one gives `None`, not an error.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{AlertParseError, not_an_alert, snippet};
use crate::period::Period;
use crate::spend_basis::SpendBasis;

/// An AWS Budgets notification, as read from its plain-text SNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetsAlert {
    pub budget_name: String,
    pub alert_type: SpendBasis,
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

// ---------------------------------------------------------------------------------------------
// AWS Budgets plain text

pub(super) const BUDGET_NAME: &str = "Budget Name";
pub(super) const BUDGET_TYPE: &str = "Budget Type";
pub(super) const BUDGETED_AMOUNT: &str = "Budgeted Amount";
pub(super) const ALERT_TYPE: &str = "Alert Type";
pub(super) const ALERT_THRESHOLD: &str = "Alert Threshold";
pub(super) const ACTUAL_AMOUNT: &str = "ACTUAL Amount";
pub(super) const FORECASTED_AMOUNT: &str = "FORECASTED Amount";

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

pub(super) fn parse_budgets_text(text: &str) -> Result<BudgetsAlert, AlertParseError> {
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
    let alert_type_text = require(ALERT_TYPE)?;
    let alert_type =
        SpendBasis::from_api(alert_type_text).ok_or_else(|| AlertParseError::UnknownAlertType {
            value: snippet(alert_type_text.trim()),
        })?;
    let budgeted = dollars(BUDGETED_AMOUNT, require(BUDGETED_AMOUNT)?)?;
    let threshold_text = require(ALERT_THRESHOLD)?;
    let threshold = dollars(ALERT_THRESHOLD, strip_comparison(threshold_text))?;
    let amount_line = match alert_type {
        SpendBasis::Actual => ACTUAL_AMOUNT,
        SpendBasis::Forecasted => FORECASTED_AMOUNT,
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
pub(super) fn strip_comparison(s: &str) -> &str {
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

pub(super) fn parse_dollars(s: &str) -> Option<Decimal> {
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
