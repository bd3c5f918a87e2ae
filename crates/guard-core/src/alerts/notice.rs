//! What the alert-handler tells people, and how: a [`Notice`] (the facts, kept in the handler's state
//! so that a retry sends the same words) rendered as a Slack Block Kit message, or as an email
//! subject and plain-text body for the notify topic.
//!
//! Everything that came from outside (budget names, amounts' labels, subjects, message excerpts) is
//! escaped for Slack mrkdwn (`&`, `<`, `>`), so an alert cannot ping `@channel` or smuggle links.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alerts::parse::Alert;
use crate::alerts::routing::RouteAction;
use crate::period::Period;
use crate::pricing::estimate::usd;
use crate::spend_basis::{self, SpendBasis};

/// The AWS Budgets console, when the alert brings no link of its own.
pub const BUDGETS_CONSOLE_URL: &str = "https://console.aws.amazon.com/costmanagement/home#/budgets";

/// SNS takes subjects of fewer than 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// Slack header blocks take at most 150 characters.
const MAX_HEADER_CHARS: usize = 150;

/// How much of an unrecognised message a notice quotes, in bytes as stored.
const EXCERPT_BYTES: usize = 400;
/// How much of an alert's budget name and console link a notice keeps, in bytes as stored: the
/// notice is kept in a 4 KB record, and the alert may come from anyone.
const MAX_BUDGET_NAME_BYTES: usize = 200;
const MAX_CONSOLE_URL_BYTES: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    Alert(Box<AlertNotice>),
    /// A message on the alerts topic that is no alert.
    Unrecognised {
        subject: Option<String>,
        reason: String,
        excerpt: String,
    },
    Rollover(RolloverNotice),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertNotice {
    /// The AWS budget name, as the alert gives it.
    pub budget_name: String,
    /// `budgets` or `spend`.
    pub source: String,
    #[serde(with = "spend_basis::api_form")]
    pub alert_type: SpendBasis,
    /// Dollars.
    #[serde(with = "rust_decimal::serde::str")]
    pub threshold: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub budgeted: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// The threshold as the policy writes it (`90%`), when matched.
    #[serde(default)]
    pub threshold_label: Option<String>,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub console_url: Option<String>,
    /// Why the alert matched no budget or threshold of the policy; `None` when it matched.
    #[serde(default)]
    pub unmatched: Option<String>,
    /// What happened to the route's flag; `None` when the threshold downgrades nothing.
    #[serde(default)]
    pub action: Option<RouteAction>,
    /// The alert is about a period that is over: told, and no flag moved.
    #[serde(default)]
    pub late: bool,
}

impl AlertNotice {
    /// The notice of a matched alert (`unmatched` is `None`; set it for one that is not).
    pub fn new(alert: &Alert, threshold_label: Option<String>) -> AlertNotice {
        AlertNotice {
            budget_name: crate::alerts::ledger::bounded(alert.budget_name(), MAX_BUDGET_NAME_BYTES),
            source: alert.kind().to_owned(),
            alert_type: alert.alert_type(),
            threshold: alert.threshold(),
            budgeted: alert.budgeted(),
            amount: alert.amount(),
            threshold_label,
            period: alert.period(),
            console_url: match alert {
                Alert::Budgets(a) => a
                    .console_url
                    .as_deref()
                    .map(|u| crate::alerts::ledger::bounded(u, MAX_CONSOLE_URL_BYTES)),
                Alert::Spend(_) => None,
            },
            unmatched: None,
            action: None,
            late: false,
        }
    }

    fn share(&self) -> Decimal {
        if self.budgeted.is_zero() {
            Decimal::ZERO
        } else {
            (self.amount * Decimal::ONE_HUNDRED / self.budgeted)
                .round_dp(1)
                .normalize()
        }
    }

    fn threshold_percent(&self) -> Decimal {
        if self.budgeted.is_zero() {
            Decimal::ZERO
        } else {
            (self.threshold * Decimal::ONE_HUNDRED / self.budgeted)
                .round_dp(2)
                .normalize()
        }
    }

    fn threshold_text(&self) -> String {
        self.threshold_label
            .clone()
            .unwrap_or_else(|| format!("{}%", self.threshold_percent()))
    }

    fn basis(&self) -> &'static str {
        self.alert_type.as_word()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloverNotice {
    pub budget_name: String,
    pub period: Period,
    pub period_start: NaiveDate,
    pub actions: Vec<RouteAction>,
    /// Why a route moved when no period ended (a flag off its ladder, a budget gone from the
    /// policy); `None` for a roll-over.
    #[serde(default)]
    pub note: Option<String>,
}

/// Escapes text for Slack mrkdwn.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// A short excerpt of an unrecognised message for a notice, with a count of what was cut.
pub fn excerpt(message: &str) -> String {
    crate::alerts::ledger::bounded(message.trim(), EXCERPT_BYTES)
}

/// Marks model ids and routes as code in mrkdwn.
fn code(text: &str) -> String {
    format!("`{}`", escape(&text.replace('`', "'")))
}

/// One sentence on a route action, in mrkdwn (`md`) or plain text.
fn action_sentence(action: &RouteAction, md: bool) -> String {
    let c = |t: &str| if md { code(t) } else { t.to_owned() };
    match action {
        RouteAction::Downgrade {
            route,
            from_step,
            from_model,
            to_step,
            to_model,
            ladder_size,
            monthly_saving,
        } => {
            let saving = match monthly_saving {
                Some(s) => format!(" Estimated saving: {} per month.", usd(*s)),
                None => " Estimated saving: unknown (the policy gives no usage for this route)."
                    .to_owned(),
            };
            if from_step == to_step {
                format!(
                    "Route {} stays on {} (step {to_step} of {ladder_size}) for this budget period.",
                    c(route),
                    c(to_model)
                )
            } else {
                format!(
                    "Route {} stepped down from {} (step {from_step}) to {} (step {to_step} of {ladder_size}).{saving}",
                    c(route),
                    c(from_model),
                    c(to_model)
                )
            }
        }
        RouteAction::AlreadyThere {
            route,
            step,
            model,
            target_step,
            target_model,
        } => format!(
            "Route {} is already on {} (step {step}), at or below {} (step {target_step}): no change.",
            c(route),
            c(model),
            c(target_model)
        ),
        RouteAction::Pinned {
            route,
            step,
            model,
            target_step,
            target_model,
        } => format!(
            "Route {} is pinned on {} (step {step}) and was left alone; this threshold would move it to {} (step {target_step}).",
            c(route),
            c(model),
            c(target_model)
        ),
        RouteAction::Restore {
            route,
            from_step,
            from_model,
            to_step,
            to_model,
        } if *to_step <= 1 => format!(
            "Route {} is back on {} (the top of its ladder), from {} (step {from_step}).",
            c(route),
            c(to_model),
            c(from_model)
        ),
        RouteAction::Restore {
            route,
            from_step,
            from_model,
            to_step,
            to_model,
        } => format!(
            "Route {} is back up on {} (step {to_step}), from {} (step {from_step}): a budget still requires step {to_step} this period.",
            c(route),
            c(to_model),
            c(from_model)
        ),
        RouteAction::PinnedStays { route, step, model } => {
            format!(
                "Route {} stays on {} (step {step}): it is pinned.",
                c(route),
                c(model)
            )
        }
        RouteAction::UnknownRoute { route } => {
            format!("Route {} is not in the policy: no flag changed.", c(route))
        }
        RouteAction::Failed {
            route,
            target_model,
            error,
        } => format!(
            "Could not move route {} to {}: {}. The alert-handler will retry.",
            c(route),
            c(target_model),
            if md { escape(error) } else { error.clone() }
        ),
    }
}

fn source_name(source: &str) -> &'static str {
    if source == "spend" {
        "Budget Guard spend watcher"
    } else {
        "AWS Budgets"
    }
}

/// The one-line summary: Slack's notification text and the first line of an email.
pub fn summary(notice: &Notice) -> String {
    match notice {
        Notice::Alert(a) if a.unmatched.is_some() => format!(
            "Unmatched budget alert: {} at {} of {} ({}, threshold {})",
            a.budget_name,
            usd(a.amount),
            usd(a.budgeted),
            a.alert_type,
            usd(a.threshold)
        ),
        Notice::Alert(a) => format!(
            "{}{} crossed {} ({}): {} of {} ({}%)",
            if a.late { "Late: " } else { "" },
            a.budget_name,
            a.threshold_text(),
            a.alert_type,
            usd(a.amount),
            usd(a.budgeted),
            a.share()
        ),
        Notice::Unrecognised { .. } => {
            "Unrecognised message on the Budget Guard alerts topic".to_owned()
        }
        Notice::Rollover(r) if r.note.is_some() => {
            let routes: Vec<&str> = r.actions.iter().map(RouteAction::route).collect();
            format!("Routing flag corrected: {}", routes.join(", "))
        }
        Notice::Rollover(r) => {
            format!(
                "{}: new {} period from {}; routes restored",
                r.budget_name, r.period, r.period_start
            )
        }
    }
}

/// A roll-over's route actions as Slack bullet lines.
fn action_lines(r: &RolloverNotice) -> String {
    r.actions
        .iter()
        .map(|a| format!("• {}", action_sentence(a, true)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Slack incoming-webhook payload: Block Kit blocks and a fallback `text`.
pub fn slack_payload(notice: &Notice) -> Value {
    let header = |text: String| json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&text, MAX_HEADER_CHARS), "emoji": true}});
    let section =
        |text: String| json!({"type": "section", "text": {"type": "mrkdwn", "text": text}});
    let field =
        |title: &str, text: String| json!({"type": "mrkdwn", "text": format!("*{title}*\n{text}")});
    let mut blocks = Vec::new();
    match notice {
        Notice::Alert(a) => {
            let title = if a.unmatched.is_some() {
                format!("Unmatched budget alert: {}", a.budget_name)
            } else {
                format!(
                    "{} crossed {} ({})",
                    a.budget_name,
                    a.threshold_text(),
                    a.basis()
                )
            };
            blocks.push(header(title));
            let period = a.period.map(|p| format!(" ({p})")).unwrap_or_default();
            let spend_title = match a.alert_type {
                SpendBasis::Actual => "Spend",
                SpendBasis::Forecasted => "Forecasted spend",
            };
            blocks.push(json!({"type": "section", "fields": [
                field("Budget", format!("{}{}", escape(&a.budget_name), period)),
                field(spend_title, format!("{} of {} ({}%)", usd(a.amount), usd(a.budgeted), a.share())),
                field("Threshold", format!("{} ({}), {}", escape(&a.threshold_text()), usd(a.threshold), a.basis())),
                field("Source", source_name(&a.source).to_owned()),
            ]}));
            if let Some(reason) = &a.unmatched {
                blocks.push(section(format!(
                    "*Unmatched:* {}. No flag was changed.",
                    escape(reason)
                )));
            } else if a.late {
                blocks.push(section(format!("*Late*\n{}", "This alert is about a period that is over (its data arrived late). No flag was changed.")));
            } else {
                let action = match &a.action {
                    Some(action) => action_sentence(action, true),
                    None => "No downgrade at this threshold: notification only.".to_owned(),
                };
                blocks.push(section(format!("*Action*\n{action}")));
            }
            let url = a.console_url.as_deref().unwrap_or(BUDGETS_CONSOLE_URL);
            blocks.push(json!({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open AWS Budgets"}, "url": url}
            ]}));
        }
        Notice::Unrecognised {
            subject,
            reason,
            excerpt,
        } => {
            blocks.push(header(
                "Unrecognised message on the alerts topic".to_owned(),
            ));
            let subject = subject
                .as_deref()
                .map(|s| format!("*Subject:* {}\n", escape(s)))
                .unwrap_or_default();
            blocks.push(section(format!(
                "{subject}*Why:* {}\nNo flag was changed.\n```{}```",
                escape(reason),
                escape(&excerpt.replace("```", "'''"))
            )));
        }
        Notice::Rollover(r) if r.note.is_some() => {
            blocks.push(header("Routing flag corrected".to_owned()));
            blocks.push(section(format!(
                "{}\n{}",
                escape(r.note.as_deref().unwrap_or_default()),
                action_lines(r)
            )));
        }
        Notice::Rollover(r) => {
            blocks.push(header(format!(
                "{}: new {} period",
                r.budget_name, r.period
            )));
            blocks.push(section(format!(
                "The {} period of budget {} started on {}.\n{}",
                r.period,
                escape(&r.budget_name),
                r.period_start,
                action_lines(r)
            )));
            blocks.push(json!({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open AWS Budgets"}, "url": BUDGETS_CONSOLE_URL}
            ]}));
        }
    }
    json!({"text": escape(&summary(notice)), "blocks": blocks})
}

/// A model id shortened for a subject line: `us.anthropic.claude-haiku-4-5-20251001-v1:0` is
/// `claude-haiku-4-5`, `us.amazon.nova-lite-v1:0` is `nova-lite`.
pub fn short_model(model_id: &str) -> String {
    let name = model_id.rsplit('.').next().unwrap_or(model_id);
    let name = name.split(':').next().unwrap_or(name);
    let mut parts: Vec<&str> = name.split('-').collect();
    while let Some(last) = parts.last() {
        let version = last.len() >= 2
            && last.starts_with('v')
            && last[1..].bytes().all(|b| b.is_ascii_digit());
        let date = last.len() == 8 && last.bytes().all(|b| b.is_ascii_digit());
        if (version || date) && parts.len() > 1 {
            parts.pop();
        } else {
            break;
        }
    }
    parts.join("-")
}

/// The email subject: ASCII, one line, fewer than 100 characters, saying it all.
pub fn email_subject(notice: &Notice) -> String {
    let text = match notice {
        Notice::Alert(a) => {
            let mut s = if a.unmatched.is_some() {
                format!(
                    "Budget Guard: unmatched alert for {} ({}% of {})",
                    a.budget_name,
                    a.share(),
                    usd(a.budgeted)
                )
            } else {
                format!(
                    "Budget Guard: {}{} {}% of {} ({}, >{})",
                    if a.late { "late: " } else { "" },
                    a.budget_name,
                    a.share(),
                    usd(a.budgeted),
                    a.alert_type,
                    a.threshold_text()
                )
            };
            match &a.action {
                Some(RouteAction::Downgrade {
                    route,
                    to_model,
                    from_step,
                    to_step,
                    ..
                }) if from_step != to_step => {
                    s.push_str(&format!(": {route} -> {}", short_model(to_model)));
                }
                Some(RouteAction::Pinned { route, .. }) => s.push_str(&format!(": {route} pinned")),
                Some(RouteAction::Failed { route, .. }) => {
                    s.push_str(&format!(": {route} change failed"))
                }
                _ => {}
            }
            s
        }
        Notice::Unrecognised { .. } => {
            "Budget Guard: unrecognised message on the alerts topic".to_owned()
        }
        Notice::Rollover(r) if r.note.is_some() => {
            let routes: Vec<&str> = r.actions.iter().map(RouteAction::route).collect();
            format!(
                "Budget Guard: routing flag corrected: {}",
                routes.join(", ")
            )
        }
        Notice::Rollover(r) => {
            let restored = r
                .actions
                .iter()
                .filter(|a| matches!(a, RouteAction::Restore { .. }))
                .count();
            format!(
                "Budget Guard: {} new {} period; {restored} route{} restored",
                r.budget_name,
                r.period,
                if restored == 1 { "" } else { "s" }
            )
        }
    };
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    truncate(&clean, MAX_SUBJECT_CHARS)
}

/// The email body: the same content as the Slack message, as plain text.
pub fn email_body(notice: &Notice) -> String {
    let mut lines = vec![summary(notice), String::new()];
    match notice {
        Notice::Alert(a) => {
            let period = a.period.map(|p| format!(" ({p})")).unwrap_or_default();
            lines.push(format!("Budget:    {}{}", a.budget_name, period));
            lines.push(format!(
                "Spend:     {} of {} ({}%), {}",
                usd(a.amount),
                usd(a.budgeted),
                a.share(),
                a.basis()
            ));
            lines.push(format!(
                "Threshold: {} ({}), {}",
                a.threshold_text(),
                usd(a.threshold),
                a.basis()
            ));
            lines.push(format!("Source:    {}", source_name(&a.source)));
            lines.push(String::new());
            if let Some(reason) = &a.unmatched {
                lines.push(format!("Unmatched: {reason}. No flag was changed."));
            } else if a.late {
                lines.push(format!("Late: {}", "This alert is about a period that is over (its data arrived late). No flag was changed."));
            } else {
                lines.push(match &a.action {
                    Some(action) => format!("Action: {}", action_sentence(action, false)),
                    None => "Action: none at this threshold (notification only).".to_owned(),
                });
            }
            lines.push(String::new());
            lines.push(format!(
                "AWS Budgets: {}",
                a.console_url.as_deref().unwrap_or(BUDGETS_CONSOLE_URL)
            ));
        }
        Notice::Unrecognised {
            subject,
            reason,
            excerpt,
        } => {
            if let Some(s) = subject {
                lines.push(format!("Subject: {s}"));
            }
            lines.push(format!("Why: {reason}"));
            lines.push("No flag was changed.".to_owned());
            lines.push(String::new());
            lines.push(excerpt.clone());
        }
        Notice::Rollover(r) if r.note.is_some() => {
            lines.push(r.note.clone().unwrap_or_default());
            for a in &r.actions {
                lines.push(format!("- {}", action_sentence(a, false)));
            }
        }
        Notice::Rollover(r) => {
            lines.push(format!(
                "The {} period of budget {} started on {}.",
                r.period, r.budget_name, r.period_start
            ));
            for a in &r.actions {
                lines.push(format!("- {}", action_sentence(a, false)));
            }
            lines.push(String::new());
            lines.push(format!("AWS Budgets: {BUDGETS_CONSOLE_URL}"));
        }
    }
    lines.push(String::new());
    lines.push("-- Budget Guard alert-handler".to_owned());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> AlertNotice {
        AlertNotice {
            budget_name: "bg-<chatbot>&co".into(),
            source: "budgets".into(),
            alert_type: SpendBasis::Actual,
            threshold: Decimal::new(45000, 2),
            budgeted: Decimal::new(500, 0),
            amount: Decimal::new(45512, 2),
            threshold_label: Some("90%".into()),
            period: Some(Period::Monthly),
            console_url: None,
            unmatched: None,
            action: Some(RouteAction::Downgrade {
                route: "support-chatbot".into(),
                from_step: 1,
                from_model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
                to_step: 2,
                to_model: "us.anthropic.claude-haiku-4-5-20251001-v1:0".into(),
                ladder_size: 3,
                monthly_saving: Some(Decimal::new(123456, 2)),
            }),
            late: false,
        }
    }

    #[test]
    fn slack_escapes_and_says_it_all() {
        let payload = slack_payload(&Notice::Alert(Box::new(notice())));
        let text = payload.to_string();
        // mrkdwn is escaped; plain_text (the header) is shown as is by Slack.
        let mrkdwn = [
            &payload["text"],
            &payload["blocks"][1],
            &payload["blocks"][2],
        ];
        assert!(
            mrkdwn.iter().all(|v| !v.to_string().contains("<chatbot>")),
            "{text}"
        );
        assert!(text.contains("bg-&lt;chatbot&gt;&amp;co"), "{text}");
        assert!(text.contains("$455.12 of $500.00 (91%)"), "{text}");
        assert!(text.contains("$1,234.56 per month"), "{text}");
        assert!(text.contains(BUDGETS_CONSOLE_URL));
        assert_eq!(payload["blocks"][0]["type"], "header");
    }

    #[test]
    fn subject_is_short_ascii_and_complete() {
        let mut n = notice();
        let subject = email_subject(&Notice::Alert(Box::new(n.clone())));
        assert!(subject.len() < 100 && subject.is_ascii(), "{subject}");
        assert!(
            subject.contains("91%") && subject.contains("90%"),
            "{subject}"
        );
        n.budget_name = "é".repeat(200);
        let subject = email_subject(&Notice::Alert(Box::new(n)));
        assert!(
            subject.chars().count() <= MAX_SUBJECT_CHARS
                && subject.is_ascii()
                && subject.ends_with("...")
        );
    }

    #[test]
    fn notices_round_trip_through_json() {
        let n = Notice::Alert(Box::new(notice()));
        let text = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<Notice>(&text).unwrap(), n);
    }
}
