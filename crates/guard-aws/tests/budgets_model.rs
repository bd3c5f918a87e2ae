//! AWS Budgets' published service model against validation. The model is botocore's
//! `budgets/2016-10-20/service-2.json.gz`, read through the repository's Python (the venv that
//! moto brings botocore into; `BUDGET_GUARD_PYTHON`, as for the emulator). This test proves that:
//!
//! - the constants of `guard_core::policy::limits` are the model's numbers and patterns;
//! - every constrained shape the guard writes from a policy (walked from the request shapes) is
//!   accounted for here, so that a constraint the model gains fails this test until validation
//!   covers it;
//! - validation accepts a policy at each bound, and everything that policy maps to, built with
//!   the provisioner's own request builders, conforms to the model;
//! - validation refuses a policy just past each bound, and agrees with the model's `BudgetName`
//!   pattern on names around it.
//!
//! Validation itself never reads the model: it is an input of this test only.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use guard_aws::budgets::{to_budget, to_notification};
use guard_core::diagnostic::Severity;
use guard_core::policy::{self, Policy, SourceFile, limits};
use guard_core::provision::account;
use serde_json::{Value, json};

const MODEL_PATH: &str = "budgets/2016-10-20/service-2.json.gz";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:budget-guard-alerts";

/// Prints the model's JSON, or exits with why it cannot.
const READ_MODEL: &str = r#"
import gzip, os, sys
try:
    import botocore
except ImportError as e:
    sys.exit(f"botocore is not installed for {sys.executable}: {e}")
path = os.path.join(os.path.dirname(botocore.__file__), "data", *sys.argv[1].split("/"))
if not os.path.exists(path):
    sys.exit(f"{path} does not exist (botocore {botocore.__version__})")
sys.stdout.buffer.write(gzip.open(path).read())
"#;

/// Reads `[[pattern, text], ...]` and prints whether each text matches its pattern as a whole.
const MATCH_PATTERNS: &str = r#"
import json, re, sys
print(json.dumps([re.fullmatch(p, s) is not None for p, s in json.load(sys.stdin)]))
"#;

fn python(script: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let python = guard_testkit::python().map_err(|e| e.to_string())?;
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())
            .map_err(|e| e.to_string())?;
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// The model's shapes.
fn shapes() -> &'static serde_json::Map<String, Value> {
    static MODEL: OnceLock<Value> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let text = python(READ_MODEL, &[MODEL_PATH], None).unwrap_or_else(|e| {
                panic!(
                    "this test reads the AWS Budgets service model ({MODEL_PATH}) from botocore, which \
                     moto installs into the repository's venv. Run `make venv` (or \
                     `scripts/emulator.sh setup`) at the workspace root, or set BUDGET_GUARD_PYTHON \
                     to a Python that has botocore.\n{e}"
                )
            });
            serde_json::from_str(&text).expect("the model is JSON")
        })
        .get("shapes")
        .and_then(Value::as_object)
        .expect("the model has shapes")
}

fn shape(name: &str) -> &'static Value {
    shapes()
        .get(name)
        .unwrap_or_else(|| panic!("the model has no shape {name}"))
}

/// The model's patterns are Java's, where `(?i)` applies from where it stands to the end of its
/// group. Python 3.11 takes inline flags only at the start of a pattern, so the one such pattern
/// is given to it with a scoped group instead, which means the same.
fn for_python(pattern: &str) -> String {
    let scoped = pattern.replace(
        "|(?i).*<script>.*</script>.*)",
        "|(?i:.*<script>.*</script>.*))",
    );
    assert!(
        !scoped.contains("(?i)"),
        "a pattern with an inline flag this test does not translate yet: {pattern}"
    );
    scoped
}

/// Whether each text matches its pattern as a whole, by Python's `re`. The texts checked here are
/// ASCII apart from plain letters, where Java's and Python's `.` and case-folding agree.
fn matches(pairs: &[(String, String)]) -> Vec<bool> {
    let input: Vec<(String, &String)> = pairs.iter().map(|(p, s)| (for_python(p), s)).collect();
    let out = python(
        MATCH_PATTERNS,
        &[],
        Some(&serde_json::to_string(&input).unwrap()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&out).expect("a list of booleans")
}

// --- Which shapes the policy maps onto --------------------------------------------------------

/// What the guard writes from a policy, as paths of members from a structure of the model (a list
/// element is `member`). Everything else of the requests is the guard's own or AWS's: ids, the
/// account, a `NextToken`.
const MAPPED: &[(&str, &str)] = &[
    ("Budget", "BudgetName"),
    ("Budget", "BudgetLimit.Amount"),
    ("Budget", "BudgetLimit.Unit"),
    ("Budget", "TimeUnit"),
    ("Budget", "BudgetType"),
    ("Budget", "FilterExpression.And.member"),
    ("Expression", "Dimensions.Key"),
    ("Expression", "Dimensions.Values.member"),
    ("Expression", "Dimensions.MatchOptions.member"),
    ("Expression", "Tags.Key"),
    ("Expression", "Tags.Values.member"),
    ("Expression", "Tags.MatchOptions.member"),
    ("CreateBudgetRequest", "NotificationsWithSubscribers.member"),
    (
        "NotificationWithSubscribers",
        "Notification.NotificationType",
    ),
    (
        "NotificationWithSubscribers",
        "Notification.ComparisonOperator",
    ),
    ("NotificationWithSubscribers", "Notification.Threshold"),
    ("NotificationWithSubscribers", "Notification.ThresholdType"),
    (
        "NotificationWithSubscribers",
        "Subscribers.member.SubscriptionType",
    ),
    ("NotificationWithSubscribers", "Subscribers.member.Address"),
    ("CreateNotificationRequest", "BudgetName"),
    ("CreateNotificationRequest", "Subscribers"),
    ("UpdateBudgetRequest", "NewBudget.BudgetName"),
    // Tags on the budgets themselves: none come from the policy yet (see `limits`).
    ("CreateBudgetRequest", "ResourceTags.member.Key"),
    ("CreateBudgetRequest", "ResourceTags.member.Value"),
    // A threshold's `deny.roles`.
    (
        "CreateBudgetActionRequest",
        "Definition.IamActionDefinition.Roles.member",
    ),
];

/// Every shape on the way along `path` from `structure`, the last one included.
fn shapes_along(structure: &str, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = structure.to_owned();
    for segment in path.split('.') {
        let s = shape(&current);
        let next = if segment == "member" {
            s["member"]["shape"].as_str()
        } else {
            s["members"][segment]["shape"].as_str()
        };
        current = next
            .unwrap_or_else(|| {
                panic!("the model's {current} has no {segment} (path {structure}.{path})")
            })
            .to_owned();
        found.push(current.clone());
    }
    found
}

/// A constraint of a shape: `min`, `max`, `pattern` or `enum`.
type Constraint = (String, &'static str);

/// The constraints on what the guard writes. A `min` of 0 and a `max` of 2^31-1 are no bounds.
fn mapped_constraints() -> BTreeMap<Constraint, Value> {
    let mut found = BTreeMap::new();
    for (structure, path) in MAPPED {
        for name in shapes_along(structure, path) {
            let s = shape(&name);
            for kind in ["min", "max", "pattern", "enum"] {
                let Some(value) = s.get(kind) else { continue };
                let unbounded = (kind == "min" && value == 0)
                    || (kind == "max" && value == i64::from(i32::MAX));
                if !unbounded {
                    found.insert((name.clone(), kind), value.clone());
                }
            }
        }
    }
    found
}

/// The constraints validation enforces with a constant of `limits`, and the constant.
fn constants() -> BTreeMap<Constraint, Value> {
    let c = |shape: &str, kind: &'static str| (shape.to_owned(), kind);
    BTreeMap::from([
        (c("BudgetName", "min"), json!(limits::BUDGET_NAME_MIN_CHARS)),
        (c("BudgetName", "max"), json!(limits::BUDGET_NAME_MAX_CHARS)),
        (
            c("BudgetName", "pattern"),
            json!(limits::BUDGET_NAME_PATTERN),
        ),
        (
            c("NumericValue", "pattern"),
            json!(limits::NUMERIC_VALUE_PATTERN),
        ),
        (
            c("NotificationWithSubscribersList", "max"),
            json!(limits::NOTIFICATIONS_PER_BUDGET_MAX),
        ),
        (
            c("Subscribers", "min"),
            json!(limits::SUBSCRIBERS_PER_NOTIFICATION_MIN),
        ),
        (
            c("Subscribers", "max"),
            json!(limits::SUBSCRIBERS_PER_NOTIFICATION_MAX),
        ),
        (
            c("NotificationThreshold", "max"),
            json!(limits::NOTIFICATION_THRESHOLD_MAX),
        ),
        (c("Values", "min"), json!(limits::FILTER_VALUES_MIN)),
        (c("Value", "max"), json!(limits::FILTER_VALUE_MAX_CHARS)),
        (c("TagKey", "max"), json!(limits::FILTER_TAG_KEY_MAX_CHARS)),
        (
            c("ResourceTagList", "max"),
            json!(limits::RESOURCE_TAGS_MAX),
        ),
        (
            c("ResourceTagKey", "min"),
            json!(limits::RESOURCE_TAG_KEY_MIN_CHARS),
        ),
        (
            c("ResourceTagKey", "max"),
            json!(limits::RESOURCE_TAG_KEY_MAX_CHARS),
        ),
        (
            c("ResourceTagValue", "max"),
            json!(limits::RESOURCE_TAG_VALUE_MAX_CHARS),
        ),
        (c("Roles", "min"), json!(limits::ROLES_PER_ACTION_MIN)),
        (c("Roles", "max"), json!(limits::ROLES_PER_ACTION_MAX)),
        (c("Role", "min"), json!(limits::ROLE_MIN_CHARS)),
        (c("Role", "max"), json!(limits::ROLE_MAX_CHARS)),
        (c("Role", "pattern"), json!(limits::ROLE_PATTERN)),
    ])
}

/// The constraints on values the guard sets itself (an enum member, the `USD` unit, the alerts
/// topic's ARN, an amount as text): `what_a_policy_at_the_bounds_maps_to_conforms_to_the_model`
/// checks each value written against the model.
fn conformed() -> BTreeSet<Constraint> {
    [
        ("NumericValue", "min"),
        ("UnitValue", "min"),
        ("UnitValue", "pattern"),
        ("TimeUnit", "enum"),
        ("BudgetType", "enum"),
        ("Dimension", "enum"),
        ("MatchOption", "enum"),
        ("Value", "pattern"),
        ("TagKey", "pattern"),
        ("NotificationType", "enum"),
        ("ComparisonOperator", "enum"),
        ("ThresholdType", "enum"),
        ("SubscriptionType", "enum"),
        ("SubscriberAddress", "min"),
        ("SubscriberAddress", "pattern"),
    ]
    .into_iter()
    .map(|(s, k)| (s.to_owned(), k))
    .collect()
}

#[test]
fn the_limits_are_the_models_and_no_constraint_is_missed() {
    let mapped = mapped_constraints();
    let constants = constants();
    let conformed = conformed();
    let mut problems = Vec::new();
    for ((shape, kind), value) in &mapped {
        let key = (shape.clone(), *kind);
        match constants.get(&key) {
            Some(ours) if ours == value => {}
            Some(ours) => problems.push(format!(
                "{shape}.{kind}: the model says {value}, guard_core::policy::limits says {ours}"
            )),
            None if conformed.contains(&key) => {}
            None => problems.push(format!(
                "{shape}.{kind} = {value} is a constraint on what the policy maps to that neither \
                 validation (a constant in limits.rs) nor this test's conformance check covers"
            )),
        }
    }
    // And nothing listed here that the model no longer has: a stale list proves nothing.
    for key in constants.keys().chain(conformed.iter()) {
        if !mapped.contains_key(key) {
            problems.push(format!(
                "{}.{} is listed here but the model no longer constrains it so",
                key.0, key.1
            ));
        }
    }
    // `NotificationThreshold`'s min of 0 is the one `min` of 0 that matters (a double can be
    // below it): the policy's thresholds are more than 0.
    assert_eq!(
        shape("NotificationThreshold")["min"],
        json!(limits::NOTIFICATION_THRESHOLD_MIN)
    );
    eprintln!("constraints checked against the model:");
    for ((shape, kind), value) in &mapped {
        eprintln!("  {shape}.{kind} = {value}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- Policies at and past the bounds ---------------------------------------------------------

fn load(text: &str) -> (Option<Policy>, Vec<String>) {
    let (policy, diagnostics) = policy::load(&[SourceFile::new("p.yaml", text)]);
    let errors = diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
        .collect();
    (policy, errors)
}

fn valid(text: &str) -> Policy {
    let (policy, errors) = load(text);
    policy.unwrap_or_else(|| panic!("valid:\n{text}\n{errors:#?}"))
}

fn refused(text: &str, what: &str) {
    let (policy, errors) = load(text);
    assert!(
        policy.is_none() && errors.iter().any(|e| e.contains(what)),
        "refused with `{what}`:\n{}\n{errors:#?}",
        &text[..text.len().min(3000)]
    );
}

/// A YAML string for any text: JSON's, which YAML reads the same.
fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// A policy with one budget `key` of `body` (indented four spaces), prefix `prefix`.
fn one_budget(prefix: &str, key: &str, body: &str) -> String {
    format!(
        "version: 1\nsettings:\n  budget_prefix: {}\nchannels:\n  ops:\n    slack: {{webhook_secret: ops}}\nbudgets:\n  {}:\n{body}",
        q(prefix),
        q(key)
    )
}

const PLAIN: &str = "    amount: 500\n    period: monthly\n";

fn thresholds(list: &[&str]) -> String {
    let mut out = String::from("    thresholds:\n");
    for at in list {
        out.push_str(&format!("      - {{at: {}, notify: [ops]}}\n", q(at)));
    }
    out
}

/// A value the guard writes, for the shape the model gives it.
#[derive(Debug)]
enum Written {
    Text(String),
    Number(f64),
    Count(usize),
}

/// Everything `policy` maps to, as the provisioner builds it, with the shape of each value.
fn written(policy: &Policy) -> Vec<(&'static str, Written)> {
    use Written::{Count, Number, Text};
    fn expression(e: &aws_sdk_budgets::types::Expression, out: &mut Vec<(&'static str, Written)>) {
        for part in e.and() {
            expression(part, out);
        }
        if let Some(d) = e.dimensions() {
            out.push(("Dimension", Text(d.key().as_str().to_owned())));
            out.push(("Values", Count(d.values().len())));
            out.extend(d.values().iter().map(|v| ("Value", Text(v.clone()))));
            out.extend(
                d.match_options()
                    .iter()
                    .map(|m| ("MatchOption", Text(m.as_str().to_owned()))),
            );
        }
        if let Some(t) = e.tags() {
            out.push(("TagKey", Text(t.key().unwrap_or_default().to_owned())));
            out.push(("Values", Count(t.values().len())));
            out.extend(t.values().iter().map(|v| ("Value", Text(v.clone()))));
            out.extend(
                t.match_options()
                    .iter()
                    .map(|m| ("MatchOption", Text(m.as_str().to_owned()))),
            );
        }
    }
    let state = account::desired(policy, TOPIC);
    let mut out = Vec::new();
    for budget in state.budgets.values() {
        let sdk = to_budget(budget).expect("the provisioner builds the budget");
        out.push(("BudgetName", Text(sdk.budget_name().to_owned())));
        let limit = sdk.budget_limit().expect("a limit");
        out.push(("NumericValue", Text(limit.amount().to_owned())));
        out.push(("UnitValue", Text(limit.unit().to_owned())));
        out.push(("TimeUnit", Text(sdk.time_unit().as_str().to_owned())));
        out.push(("BudgetType", Text(sdk.budget_type().as_str().to_owned())));
        if let Some(e) = sdk.filter_expression() {
            expression(e, &mut out);
        }
    }
    for (name, notifications) in &state.notifications {
        out.push(("BudgetName", Text(name.clone())));
        out.push((
            "NotificationWithSubscribersList",
            Count(notifications.len()),
        ));
        for (key, subscribers) in notifications {
            let n = to_notification(key).expect("the provisioner builds the notification");
            out.push((
                "NotificationType",
                Text(n.notification_type().as_str().to_owned()),
            ));
            out.push((
                "ComparisonOperator",
                Text(n.comparison_operator().as_str().to_owned()),
            ));
            out.push(("NotificationThreshold", Number(n.threshold())));
            let threshold_type = n.threshold_type().expect("always set");
            out.push(("ThresholdType", Text(threshold_type.as_str().to_owned())));
            out.push(("Subscribers", Count(subscribers.len())));
            for s in subscribers {
                let kind = serde_json::to_value(s.subscription_type).unwrap();
                out.push(("SubscriptionType", Text(kind.as_str().unwrap().to_owned())));
                out.push(("SubscriberAddress", Text(s.address.clone())));
            }
        }
    }
    out
}

/// What of `values` breaks the model's constraints on its shape.
fn nonconforming(values: &[(&'static str, Written)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut patterns = Vec::new();
    for (name, value) in values {
        let s = shape(name);
        let bound = |kind: &str| s.get(kind).and_then(Value::as_f64);
        let (measure, what) = match value {
            Written::Text(t) => (t.chars().count() as f64, format!("{t:?}")),
            Written::Number(n) => (*n, n.to_string()),
            Written::Count(n) => (*n as f64, format!("{n} items")),
        };
        if bound("min").is_some_and(|min| measure < min)
            || bound("max").is_some_and(|max| measure > max)
        {
            problems.push(format!(
                "{name}: {what} is out of [{:?}, {:?}]",
                s.get("min"),
                s.get("max")
            ));
        }
        if let Written::Text(t) = value {
            if let Some(members) = s.get("enum").and_then(Value::as_array)
                && !members.iter().any(|m| m == t.as_str())
            {
                problems.push(format!("{name}: {t} is not one of {members:?}"));
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                patterns.push((name, p.to_owned(), t.clone()));
            }
        }
    }
    let pairs: Vec<(String, String)> = patterns
        .iter()
        .map(|(_, p, t)| (p.clone(), t.clone()))
        .collect();
    for ((name, p, t), ok) in patterns.iter().zip(matches(&pairs)) {
        if !ok {
            problems.push(format!("{name}: {t:?} does not match {p}"));
        }
    }
    problems
}

#[test]
fn what_a_policy_at_the_bounds_maps_to_conforms_to_the_model() {
    let prefix = "p".repeat(limits::BUDGET_PREFIX_MAX_CHARS);
    let name = "n".repeat(limits::BUDGET_NAME_MAX_CHARS - limits::BUDGET_PREFIX_MAX_CHARS);
    let long_value = "v".repeat(limits::FILTER_VALUE_MAX_CHARS);
    let long_key = "k".repeat(limits::FILTER_TAG_KEY_MAX_CHARS);
    let service = "s".repeat(limits::FILTER_VALUE_MAX_CHARS);
    // Ten thresholds, the most a budget takes: the highest an amount threshold can be (ten times
    // the largest amount), the highest share, the smallest ones, forecasted and actual.
    let ten_times = format!("${}", u128::from(policy::MAX_AMOUNT) * 10);
    let at = [
        ten_times.as_str(),
        "999.99%",
        "$0.01",
        "0.0000000000000000000000000001%",
        "$0.0000000000000000000000000001",
        "33.3%",
        "50%",
        "80%",
        "90%",
        "100%",
    ];
    // A key of more than 1,024 characters must be an explicit one (`? key`) in YAML.
    let mut body = format!(
        "    amount: {}\n    period: annually\n    scope:\n      services: [{}, Amazon Bedrock]\n      tags:\n        ? {}\n        : [{}, \"\"]\n      accounts: [\"012345678901\"]\n      regions: [us-east-1]\n",
        policy::MAX_AMOUNT,
        q(&service),
        q(&long_key),
        q(&long_value),
    );
    body.push_str(&thresholds(&at));
    let mut text = one_budget(&prefix, &name, &body);
    // One budget of each other period: the smallest amount, forecasted thresholds, the highest
    // share.
    for (i, period) in ["daily", "monthly", "quarterly"].iter().enumerate() {
        let forecast = if *period == "daily" {
            ""
        } else {
            ", on: forecasted"
        };
        text.push_str(&format!(
            "  b{i}:\n    amount: 0.01\n    period: {period}\n    thresholds:\n      - {{at: 80%{forecast}, notify: [ops]}}\n      - {{at: 1000%, notify: [ops]}}\n"
        ));
    }
    let policy = valid(&text);
    assert_eq!(
        policy.budgets[&name].thresholds.len(),
        limits::NOTIFICATIONS_PER_BUDGET_MAX
    );
    let values = written(&policy);
    let problems = nonconforming(&values);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Each shape with a constraint was written at least once, so each was checked.
    let written_shapes: BTreeSet<&str> = values.iter().map(|(s, _)| *s).collect();
    for (shape, kind) in conformed() {
        assert!(
            written_shapes.contains(shape.as_str()),
            "{shape}.{kind}: nothing of that shape was written"
        );
    }
    // The largest amount the policy takes, as the API gets it, matches `NumericValue` too.
    let amounts: Vec<&Written> = values
        .iter()
        .filter(|(s, _)| *s == "NumericValue")
        .map(|(_, v)| v)
        .collect();
    assert!(
        amounts
            .iter()
            .any(|v| matches!(v, Written::Text(t) if t == &policy::MAX_AMOUNT.to_string())),
        "{amounts:?}"
    );
}

#[test]
fn validation_refuses_just_past_each_bound() {
    let prefix = "p".repeat(limits::BUDGET_PREFIX_MAX_CHARS);
    // `BudgetName`, max: the full name, prefix and policy name.
    let over = "n".repeat(limits::BUDGET_NAME_MAX_CHARS - limits::BUDGET_PREFIX_MAX_CHARS + 1);
    refused(&one_budget(&prefix, &over, PLAIN), "is 101 characters long");
    // `BudgetName`, min: the policy's name may not be empty.
    refused(&one_budget("bg-", "", PLAIN), "budget name is empty");
    // `NotificationWithSubscribersList`, max.
    let eleven: Vec<String> = (1..=limits::NOTIFICATIONS_PER_BUDGET_MAX + 1)
        .map(|i| format!("{i}%"))
        .collect();
    let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
    refused(
        &one_budget("bg-", "b", &format!("{PLAIN}{}", thresholds(&eleven))),
        "has 11 thresholds",
    );
    // `NotificationThreshold`, max: past it whatever the amount; and min: the policy asks for
    // more than 0, the model's 0 included.
    let past = format!("${}.01", limits::NOTIFICATION_THRESHOLD_MAX);
    let largest = format!("    amount: {}\n    period: monthly\n", policy::MAX_AMOUNT);
    refused(
        &one_budget("bg-", "b", &format!("{largest}{}", thresholds(&[&past]))),
        "more than ten times the budget",
    );
    refused(
        &one_budget(
            "bg-",
            "b",
            &format!(
                "    amount: 0\n    period: monthly\n{}",
                thresholds(&[&past])
            ),
        ),
        "threshold is more than AWS Budgets takes",
    );
    refused(
        &one_budget("bg-", "b", &format!("{PLAIN}{}", thresholds(&["$0"]))),
        "greater than zero",
    );
    // A double's precision.
    refused(
        &one_budget(
            "bg-",
            "b",
            &format!("{PLAIN}{}", thresholds(&["12.3456789012345678%"])),
        ),
        "more digits than AWS Budgets keeps",
    );
    // `Values`, min; `Value` and `TagKey`, max.
    let scope = |lines: &str| one_budget("bg-", "b", &format!("{PLAIN}    scope:\n{lines}"));
    refused(&scope("      tags: {app: []}\n"), "lists no values");
    let value = "v".repeat(limits::FILTER_VALUE_MAX_CHARS + 1);
    let key = "k".repeat(limits::FILTER_TAG_KEY_MAX_CHARS + 1);
    refused(
        &scope(&format!("      tags: {{app: [{}]}}\n", q(&value))),
        "is 1025 characters long",
    );
    refused(
        &scope(&format!(
            "      tags:\n        ? {}\n        : [a]\n",
            q(&key)
        )),
        "is 1025 characters long",
    );
    refused(
        &scope(&format!("      services: [{}]\n", q(&value))),
        "is 1025 characters long",
    );
    refused(
        &scope(&format!(
            "      regions: [{}]\n",
            q(&format!("us-east-{}", "1".repeat(1017)))
        )),
        "is 1025 characters long",
    );
    // `ResourceTagKey` and `ResourceTagValue`: no tag comes from the policy yet; the check any
    // tag must pass.
    let k = |n: usize| "k".repeat(n);
    let v = |n: usize| "v".repeat(n);
    assert_eq!(
        limits::resource_tag_problem(
            &k(limits::RESOURCE_TAG_KEY_MAX_CHARS),
            &v(limits::RESOURCE_TAG_VALUE_MAX_CHARS)
        ),
        None
    );
    assert_eq!(
        limits::resource_tag_problem(&k(limits::RESOURCE_TAG_KEY_MIN_CHARS), ""),
        None
    );
    assert!(
        limits::resource_tag_problem(&k(limits::RESOURCE_TAG_KEY_MAX_CHARS + 1), "v").is_some()
    );
    assert!(limits::resource_tag_problem("", "v").is_some());
    assert!(
        limits::resource_tag_problem("k", &v(limits::RESOURCE_TAG_VALUE_MAX_CHARS + 1)).is_some()
    );
}

#[test]
fn validation_reads_the_budget_name_pattern_as_aws_does() {
    // Names around each part of the pattern; the AWS name is the prefix and the policy's name.
    let names = [
        "a",
        "a/action/b",
        "/action/",
        "a/action",
        "action/b",
        "a/Action/b",
        "a/actions/b",
        "<script>x</script>",
        "<SCRIPT>x</Script>",
        "x<script></script>y",
        "</script><script>",
        "<script>",
        "</script>",
        "<scrip>x</script>",
        "a:b",
        "a\\b",
        "a b (prod) #1",
        "Ünïcødé",
        "a.b_c-d+e=f@g",
        "\"quoted\"",
        "50%",
    ];
    let pattern = &shape("BudgetName")["pattern"];
    let pattern = pattern.as_str().expect("a pattern").to_owned();
    let full: Vec<(String, String)> = names
        .iter()
        .map(|n| (pattern.clone(), format!("bg-{n}")))
        .collect();
    let aws = matches(&full);
    let mut disagreements = Vec::new();
    for ((name, aws_accepts), (_, full_name)) in names.iter().zip(aws).zip(&full) {
        let (policy, errors) = load(&one_budget("bg-", name, PLAIN));
        if policy.is_some() != aws_accepts {
            disagreements.push(format!(
                "{full_name:?}: AWS's pattern {} it, validation {} it {errors:?}",
                if aws_accepts { "accepts" } else { "refuses" },
                if policy.is_some() {
                    "accepts"
                } else {
                    "refuses"
                },
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // Where validation is stricter than the pattern, on purpose: control characters, which a
    // name shown in Slack, email and logs should not hold.
    let tab = (pattern.clone(), "bg-a\tb".to_owned());
    assert_eq!(matches(&[tab]), [true]);
    assert!(load(&one_budget("bg-", "a\tb", PLAIN)).0.is_none());
}
