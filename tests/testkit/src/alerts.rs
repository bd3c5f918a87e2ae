//! AWS Budgets alerts as AWS writes them, for the suites that feed the alert handler.

use crate::ACCOUNT_ID;

/// An AWS Budgets notification in AWS's plain-text layout (the layout of the samples in
/// `tests/fixtures/alerts`). Every field is text as AWS prints it: amounts without the `$`,
/// the date as `November 12, 2026`. The default is bg-chatbot's ACTUAL alert at $450 of $500.
#[derive(Debug, Clone)]
pub struct BudgetsAlert<'a> {
    pub budget: &'a str,
    /// `ACTUAL` or `FORECASTED`.
    pub alert_type: &'a str,
    pub budgeted: &'a str,
    /// The threshold in dollars (AWS prints a percentage threshold as its dollar amount).
    pub threshold: &'a str,
    pub amount: &'a str,
    pub date: &'a str,
    pub account: &'a str,
    /// The budget's time unit as the API names it (`DAILY`, `MONTHLY`, `QUARTERLY`,
    /// `ANNUALLY`): AWS words the opening sentence by it.
    pub time_unit: &'a str,
}

impl Default for BudgetsAlert<'_> {
    fn default() -> Self {
        BudgetsAlert {
            budget: "bg-chatbot",
            alert_type: "ACTUAL",
            budgeted: "500.00",
            threshold: "450.00",
            amount: "455.12",
            date: "November 12, 2026",
            account: ACCOUNT_ID,
            time_unit: "MONTHLY",
        }
    }
}

impl BudgetsAlert<'_> {
    /// The message body as SNS delivers it.
    pub fn text(&self) -> String {
        let BudgetsAlert {
            budget,
            alert_type,
            budgeted,
            threshold,
            amount,
            date,
            account,
            time_unit,
        } = self;
        // As in the recorded samples: a daily budget's alert speaks of yesterday.
        let (over, so_far) = match *time_unit {
            "DAILY" => ("per day".to_owned(), "Yesterday, the"),
            "QUARTERLY" => ("for the current quarter".to_owned(), "The"),
            "ANNUALLY" => ("for the current year".to_owned(), "The"),
            _ => ("for the current month".to_owned(), "The"),
        };
        format!(
            "AWS Budget Notification {date}\nAWS Account {account}\n\nDear AWS Customer,\n\n\
             You requested that we alert you when the {alert_type} Cost associated with your {budget} budget is greater than \
             ${threshold} {over}. {so_far} {alert_type} Cost associated with this budget is ${amount}. You can find \
             additional details below and by accessing the AWS Budgets dashboard [1].\n\n\
             Budget Name: {budget}\nBudget Type: Cost\nBudgeted Amount: ${budgeted}\nAlert Type: {alert_type}\n\
             Alert Threshold: > ${threshold}\n{alert_type} Amount: ${amount}\n\n\
             [1] https://console.aws.amazon.com/billing/home#/budgets\n"
        )
    }
}

/// An AWS Budgets notification in AWS's exact layout, for `budget` crossing `threshold` dollars.
pub fn budgets_alert_text(
    budget: &str,
    budgeted: &str,
    threshold: &str,
    amount: &str,
    date: &str,
) -> String {
    BudgetsAlert {
        budget,
        budgeted,
        threshold,
        amount,
        date,
        ..Default::default()
    }
    .text()
}
