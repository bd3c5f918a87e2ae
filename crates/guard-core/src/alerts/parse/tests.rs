use super::budgets_text::BudgetsAlert;
use super::budgets_text::{
    ACTUAL_AMOUNT, ALERT_THRESHOLD, ALERT_TYPE, BUDGET_NAME, BUDGET_TYPE, BUDGETED_AMOUNT,
};
use super::budgets_text::{parse_dollars, strip_comparison};
use super::sns::ParsedRecord;
use super::sns::{parse_input, sns_records};
use super::spend_alert::*;
use super::*;
use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal_macros::dec;
use serde_json::json;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../../tests/fixtures/alerts/", $name))
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
        alert_type: SpendBasis::Actual,
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
            alert_type: SpendBasis::Forecasted,
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
            alert_type: SpendBasis::Actual,
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
            alert_type: SpendBasis::Actual,
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
            alert_type: SpendBasis::Forecasted,
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
            alert_type: SpendBasis::Actual,
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
            alert_type: SpendBasis::Actual,
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
        alert_type: SpendBasis::Forecasted,
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
    let a = budgets(&MONTHLY_80.replace("AWS Account 111122223333", "AWS Account 1111-2222-3333"));
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
    let a = budgets(&MONTHLY_80.replace(COSTMGMT, "http://console.aws.amazon.com/billing/home"));
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
