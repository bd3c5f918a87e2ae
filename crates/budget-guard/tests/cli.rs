//! The CLI on the example policy, as a user sees it: exit codes, the JSON shapes other tools read,
//! and snapshots of the text output.

mod common;

use common::{run, run_with_env, workspace};
use serde_json::{Value, json};

const EXAMPLE: &str = "policies/example.yaml";

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn json_of(args: &[&str]) -> Value {
    let out = run(args);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("JSON: {e}\n{}", out.stdout))
}

#[test]
fn validate_valid_policy() {
    let out = run(&["validate", EXAMPLE]);
    assert_eq!(out.code, Some(0));
    snapshot("cli-validate-valid", &out.transcript());
    // The default path is policies/.
    let default = run(&["validate"]);
    assert_eq!(default.code, Some(0), "{}", default.transcript());
    let json = run(&["validate", "--format", "json", EXAMPLE]);
    assert_eq!((json.code, json.stdout.as_str()), (Some(0), "[]\n"));
}

#[test]
fn missing_path_is_an_io_error() {
    for args in [
        &["validate", "does/not/exist.yaml"][..],
        &["validate", "--format", "json", "does/not/exist.yaml"],
        &["estimate", "does/not/exist.yaml"],
        &["plan", "--offline", "does/not/exist"],
        &["export", "does/not/exist"],
    ] {
        let out = run(args);
        assert_eq!(out.code, Some(2), "{}", out.transcript());
        assert!(
            out.stderr.contains("does/not/exist"),
            "names the path: {}",
            out.transcript()
        );
    }
    let empty_dir = tempfile::tempdir().unwrap();
    let out = run(&["validate", empty_dir.path().to_str().unwrap()]);
    assert_eq!(
        out.code,
        Some(2),
        "a folder without policies: {}",
        out.transcript()
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["validate", "--format", "xml"][..],
        &["no-such-command"],
        &["estimate", "--bogus"],
    ] {
        let out = run(args);
        assert_eq!(out.code, Some(2), "{}", out.transcript());
    }
}

#[test]
fn invalid_policy_exits_1_for_every_command_that_reads_it() {
    for command in [
        &["validate"][..],
        &["estimate"],
        &["plan", "--offline"],
        &["export"],
    ] {
        let mut args = command.to_vec();
        args.push("tests/fixtures/invalid/amount-zero.yaml");
        let out = run(&args);
        assert_eq!(out.code, Some(1), "{}", out.transcript());
        assert!(
            out.stderr.contains("amount-zero.yaml:4:13: error[BG506]:"),
            "{}",
            out.transcript()
        );
    }
}

#[test]
fn errors_of_several_files_are_all_reported_sorted() {
    let out = json_of_failing(&[
        "validate",
        "--format",
        "json",
        "tests/fixtures/invalid/many-mistakes",
    ]);
    let places: Vec<(String, u64, u64)> = out
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = places.clone();
    sorted.sort();
    assert_eq!(places, sorted, "sorted by file, line, column");
    let files: std::collections::BTreeSet<&str> = places
        .iter()
        .map(|(f, _, _)| f.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["budgets.yaml", "channels.yaml", "writer.yaml"]
    );
    assert_eq!(out.len(), 8, "every mistake: {out:#?}");
    // Several paths at once are one policy, reported together.
    let two = json_of_failing(&[
        "validate",
        "--format",
        "json",
        "tests/fixtures/invalid/amount-zero.yaml",
        "tests/fixtures/invalid/currency-eur.yaml",
    ]);
    assert_eq!(two.len(), 2, "{two:#?}");
}

fn json_of_failing(args: &[&str]) -> Vec<Value> {
    let out = run(args);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn estimate_text() {
    let out = run(&["estimate", EXAMPLE]);
    assert_eq!(out.code, Some(0));
    snapshot("cli-estimate", &out.transcript());
}

/// `--what-if`: 30% of requests as batch halves their cost (Sonnet 4.5 and Nova Pro batch at half
/// price): bg-chatbot $435.60 - 0.3 x 0.5 x $435.60 = $370.26; with 60% of input from the cache
/// as well, $352.44 (worked out in `guard_core::pricing::estimate::what_if`'s terms).
#[test]
fn estimate_what_if_batch_and_cache() {
    let out = run(&["estimate", EXAMPLE, "--what-if", "batch=30%,cache-hit=60%"]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    snapshot("cli-estimate-what-if", &out.transcript());
    let json = json_of(&[
        "estimate",
        EXAMPLE,
        "--what-if",
        "batch=30%",
        "--format",
        "json",
    ]);
    assert_eq!(json["what_if"]["shares"]["batch_percent"], json!(30.0));
    assert_eq!(json["what_if"]["budgets"][0]["what_if"], json!(370.26));
    assert_eq!(json["what_if"]["budgets"][0]["saving"], json!(65.34));
}

#[test]
fn estimate_what_if_refuses_a_model_without_batch_and_a_bad_share() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(
        &path,
        "version: 1\nbudgets:\n  b:\n    amount: 100\n    period: monthly\n    usage:\n      - {name: u, model: anthropic.claude-opus-4-1-20250805-v1:0, input_tokens: 100, output_tokens: 100, requests_per_day: 1}\nsettings: {alarms: [ops]}\nchannels:\n  ops:\n    email: [ops@example.com]\n",
    )
    .unwrap();
    let out = run(&["estimate", path.to_str().unwrap(), "--what-if", "batch=10%"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr
            .contains("no batch price for model `anthropic.claude-opus-4-1-20250805-v1:0`"),
        "{}",
        out.stderr
    );
    let usage = run(&["estimate", EXAMPLE, "--what-if", "batch=130%"]);
    assert_eq!(usage.code, Some(2), "{}", usage.transcript());
    assert!(usage.stderr.contains("0% to 100%"), "{}", usage.stderr);
}

/// Every kind of ladder step priced: a cheaper model, an output cap, a service tier, `stop`.
#[test]
fn estimate_text_with_every_rung() {
    let out = run(&["estimate", "policies/examples/ladder-rungs.yaml"]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    snapshot("cli-estimate-rungs", &out.transcript());
}

#[test]
fn estimate_json_shape() {
    let json = json_of(&["estimate", "--format", "json", EXAMPLE]);
    let budgets = json["budgets"].as_array().expect("budgets: [...]");
    assert_eq!(budgets.len(), 2);
    let chatbot = &budgets[0];
    assert_eq!(chatbot["name"], "bg-chatbot");
    assert_eq!(chatbot["amount"], json!(500.0));
    assert_eq!(chatbot["estimated"], json!(435.6));
    assert_eq!(chatbot["use_cases"][0]["name"], "support chatbot");
    assert_eq!(
        chatbot["use_cases"][0]["model"],
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert_eq!(chatbot["use_cases"][0]["cost"], json!(435.6));
    assert_eq!(chatbot["crosses"], json!(["50%", "80% forecasted"]));
    assert_eq!(chatbot["steps"][1]["model"], "us.amazon.nova-lite-v1:0");
    assert_eq!(chatbot["steps"][1]["saving"], json!(429.12));
    let writer = &budgets[1];
    assert_eq!(writer["name"], "bg-writing-assistant");
    assert_eq!(writer["estimated"], json!(31.2));
    assert_eq!(writer["use_cases"][0]["cost"], json!(31.2));
}

#[test]
fn prices_text_head_and_json() {
    let out = run(&["prices"]);
    assert_eq!(out.code, Some(0));
    let head: String = out
        .stdout
        .lines()
        .take(8)
        .map(|l| format!("{l}\n"))
        .collect();
    snapshot("cli-prices-head", &head);
    let json = json_of(&["prices", "--format", "json"]);
    let entries = json.as_array().expect("an array");
    let sonnet = entries
        .iter()
        .find(|e| e["model_id"] == "anthropic.claude-sonnet-4-5-20250929-v1:0")
        .unwrap();
    assert_eq!(sonnet["input_per_1k"], json!(0.003));
    assert_eq!(sonnet["output_per_1k"], json!(0.015));
    assert_eq!(sonnet["lifecycle"], "active");
    assert_eq!(sonnet["profiles"]["us-gov"]["premium_percent"], json!(20.0));
    let old = entries
        .iter()
        .find(|e| e["model_id"] == "anthropic.claude-3-5-sonnet-20240620-v1:0")
        .unwrap();
    assert_eq!(old["lifecycle"], "end_of_life");
    assert_eq!(old["successor"], "anthropic.claude-sonnet-4-6");
    for e in entries {
        assert!(
            e["input_per_1k"].is_number() && e["output_per_1k"].is_number(),
            "{e}"
        );
    }
}

/// A `prices.yaml` beside the policy replaces bundled entries for every command that prices, and
/// a mistake in it is an error at its place that stops the policy.
#[test]
fn a_price_file_beside_the_policy_replaces_bundled_prices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    std::fs::write(
        dir.path().join("policy.yaml"),
        "version: 1\nbudgets:\n  chat:\n    amount: 100\n    period: monthly\n    usage:\n      - {name: answers, model: eu.amazon.nova-lite-v1:0, input_tokens: 1000, output_tokens: 1000, requests_per_day: 1000}\n",
    )
    .unwrap();
    let estimated = |json: &Value| json["budgets"][0]["estimated"].as_f64().unwrap();
    // Bundled: eu. Nova Lite is 0.078 / 0.312 per 1M, 1,000 requests a day for 30 days.
    let bundled = json_of(&["estimate", path, "--format", "json"]);
    assert_eq!(estimated(&bundled), 11.7);

    let prices = "sources:\n  invoice: our AWS invoice, November 2026\nmodels:\n  - model_id: amazon.nova-lite-v1:0\n    service: Amazon Bedrock\n    input_per_1m: 0.06\n    output_per_1m: 0.24\n    profiles:\n      eu: {input_per_1m: 0.1, output_per_1m: 0.4}\n    source: invoice\n    checked: \"2026-12-01\"\n";
    std::fs::write(dir.path().join("prices.yaml"), prices).unwrap();
    let refreshed = json_of(&["estimate", path, "--format", "json"]);
    assert_eq!(estimated(&refreshed), 15.0);
    let listed = json_of(&["prices", path, "--format", "json"]);
    let lite = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["model_id"] == "amazon.nova-lite-v1:0")
        .unwrap();
    assert_eq!(lite["source"], "our AWS invoice, November 2026");
    assert_eq!(lite["profiles"]["eu"]["input_per_1k"], json!(0.0001));
    assert_eq!(run(&["validate", path]).code, Some(0));

    // A broken file: the error names it, line and column, and nothing is priced.
    std::fs::write(
        dir.path().join("prices.yaml"),
        prices.replace("input_per_1m: 0.1,", "input_per_1m: -0.1,"),
    )
    .unwrap();
    for command in [
        &["validate", path][..],
        &["estimate", path],
        &["prices", path],
    ] {
        let out = run(command);
        assert_eq!(out.code, Some(1), "{}", out.transcript());
        assert!(
            out.stderr.contains(
                "prices.yaml:4:5: error[BG809]: amazon.nova-lite-v1:0: a price is negative"
            ),
            "{}",
            out.transcript()
        );
    }
}

/// `prices refresh` on recorded Price List pages: the changes against the catalog in force, a
/// catalog file written beside the policy that every command then prices with, and a price of an
/// unknown model that stops it with nothing written.
#[test]
fn prices_refresh_shows_the_changes_and_writes_a_catalog_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    std::fs::copy(workspace().join(EXAMPLE), dir.path().join("example.yaml")).unwrap();
    let pages = workspace().join("tests/fixtures/price-list/us-east-1");
    let pages = pages.to_str().unwrap();
    let refresh = |extra: &[&str]| {
        let mut args = vec![
            "prices",
            "refresh",
            path,
            "--pages",
            pages,
            "--as-of",
            "2026-12-01",
        ];
        args.extend(extra);
        run(&args)
    };
    let first = refresh(&[]);
    assert_eq!(first.code, Some(0), "{}", first.transcript());
    assert_eq!(
        first.stdout,
        "Read 30 products for us-east-1: 6 models priced, 2 products skipped (no token price, or another region).\n\
         ~ amazon.nova-pro-v1:0 input: 0.0008 -> 0.00085 per 1K tokens (+6.25%)\n\
         ~ amazon.nova-pro-v1:0 batch input: 0.0004 -> 0.000425 per 1K tokens (+6.25%)\n\
         ~ amazon.nova-pro-v1:0 priority input: 0.0014 -> 0.0015 per 1K tokens (+7.14%)\n\
         1 of 6 models changed.\n"
    );
    assert!(
        !dir.path().join("prices.yaml").exists(),
        "nothing written unasked"
    );

    let file = dir.path().join("prices.yaml");
    let written = refresh(&["--write", file.to_str().unwrap()]);
    assert_eq!(written.code, Some(0), "{}", written.transcript());
    assert!(written.stdout.contains("(6 models)"), "{}", written.stdout);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("# Written by `budget-guard prices refresh` on 2026-12-01")
    );
    assert_eq!(run(&["validate", path]).code, Some(0));
    let listed = json_of(&["prices", path, "--format", "json"]);
    let pro = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["model_id"] == "amazon.nova-pro-v1:0")
        .unwrap()
        .clone();
    assert_eq!(pro["input_per_1k"], json!(0.00085));
    assert_eq!(pro["checked"], "2026-12-01");
    assert_eq!(pro["tiers"]["priority"]["input_per_1k"], json!(0.0015));
    assert_eq!(
        pro["tiers"]["flex"]["cache_read_per_1k"],
        json!(0.0001),
        "kept"
    );
    assert_eq!(
        pro["profiles"]["eu"]["input_per_1k"],
        json!(0.00105),
        "kept"
    );
    let again = json_of(&[
        "prices", "refresh", path, "--pages", pages, "--format", "json",
    ]);
    assert_eq!(again["changes"], json!([]), "the file is now in force");
    assert_eq!(again["models"], 6);

    let unmapped = workspace().join("tests/fixtures/price-list/unmapped");
    let other = dir.path().join("other.yaml");
    let out = run(&[
        "prices",
        "refresh",
        path,
        "--pages",
        unmapped.to_str().unwrap(),
        "--write",
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr
            .contains("prices tokens of `Nova Ultra` (model), which maps to no model id"),
        "{}",
        out.stderr
    );
    assert!(!other.exists());
}

#[test]
fn offline_plan_text() {
    let out = run(&["plan", "--offline", EXAMPLE]);
    assert_eq!(out.code, Some(0));
    snapshot("cli-plan-offline", &out.transcript());
    assert_eq!(
        run(&["plan", "--offline", "--detailed-exitcode", EXAMPLE]).code,
        Some(2),
        "changes to make"
    );
}

/// With `--detailed-exitcode`, 2 means "changes" and nothing else: every error exits 1.
#[test]
fn detailed_exitcode_reserves_2_for_changes() {
    let nothing_listens = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = nothing_listens.local_addr().unwrap().port();
    drop(nothing_listens);
    let endpoint = format!("http://127.0.0.1:{closed_port}");
    let aws = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
    let cases: [(&str, &[&str]); 4] = [
        (
            "unreadable path",
            &["plan", "--offline", "--detailed-exitcode", "does/not/exist"],
        ),
        (
            "invalid policy",
            &[
                "plan",
                "--offline",
                "--detailed-exitcode",
                "tests/fixtures/invalid/amount-zero.yaml",
            ],
        ),
        (
            "usage error",
            &["plan", "--detailed-exitcode", "--no-such-option"],
        ),
        (
            "AWS error",
            &[
                "plan",
                "--detailed-exitcode",
                "--alerts-topic-arn",
                topic,
                EXAMPLE,
            ],
        ),
    ];
    for (case, args) in cases {
        let out = run_with_env(args, &aws);
        assert_eq!(out.code, Some(1), "{case}: {}", out.transcript());
        assert!(!out.stderr.is_empty(), "{case}: says why");
    }
    // Without the flag, an unreadable path keeps the CLI's usual I/O exit code.
    assert_eq!(run(&["plan", "--offline", "does/not/exist"]).code, Some(2));
}

fn services(values: &[&str]) -> Value {
    json!({"Dimensions": {"Key": "SERVICE", "MatchOptions": ["EQUALS"], "Values": values}})
}

#[test]
fn offline_plan_json_has_the_budgets_api_fields() {
    let json = json_of(&["plan", "--offline", "--format", "json", EXAMPLE]);
    let changes = json["changes"].as_array().expect("changes: [...]");
    assert!(
        changes.iter().all(|c| c["action"] == "create"),
        "an empty account only gets creates"
    );
    let budgets: Vec<&Value> = changes.iter().filter(|c| c["kind"] == "budget").collect();
    let scope_services = [
        "Amazon Bedrock",
        "Claude Haiku 4.5 (Amazon Bedrock Edition)",
        "Claude Sonnet 4.5 (Amazon Bedrock Edition)",
    ];
    assert_eq!(
        budgets[0],
        &json!({
            "action": "create", "kind": "budget", "name": "bg-chatbot", "limit": 500.0, "unit": "USD",
            "time_unit": "MONTHLY", "budget_type": "COST",
            "filter_expression": services(&scope_services),
        })
    );
    // Its scope: the Nova models of its own ladder (all under `Amazon Bedrock`), and its tag.
    assert_eq!(
        budgets[1],
        &json!({
            "action": "create", "kind": "budget", "name": "bg-writing-assistant", "limit": 40.0, "unit": "USD",
            "time_unit": "MONTHLY", "budget_type": "COST",
            "filter_expression": {"And": [
                services(&["Amazon Bedrock"]),
                {"Tags": {"Key": "app", "MatchOptions": ["EQUALS"], "Values": ["writing-assistant"]}},
            ]},
        })
    );
    let notifications: Vec<(String, String, f64, String)> = changes
        .iter()
        .filter(|c| c["kind"] == "notification")
        .map(|c| {
            assert_eq!(c["name"], c["budget"]);
            assert_eq!(c["comparison_operator"], "GREATER_THAN");
            assert_eq!(
                c["subscribers"],
                json!([{"subscription_type": "SNS", "address": "arn:aws:sns:<region>:<account>:<alerts topic>"}])
            );
            (
                c["budget"].as_str().unwrap().to_owned(),
                c["notification_type"].as_str().unwrap().to_owned(),
                c["threshold"].as_f64().expect("threshold is a number"),
                c["threshold_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, f64, String)> = ["bg-chatbot", "bg-writing-assistant"]
        .iter()
        .flat_map(|b| {
            [
                ("ACTUAL", 50.0),
                ("ACTUAL", 90.0),
                ("ACTUAL", 100.0),
                ("FORECASTED", 80.0),
            ]
            .map(|(t, v)| ((*b).to_owned(), t.to_owned(), v, "PERCENTAGE".to_owned()))
        })
        .collect();
    assert_eq!(notifications, expected);
    let emails: Vec<(&str, &str)> = changes
        .iter()
        .filter(|c| c["kind"] == "email_subscription")
        .map(|c| {
            (
                c["channel"].as_str().unwrap(),
                c["address"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        emails,
        [
            ("finops", "finops@example.com"),
            ("finops", "platform-leads@example.com")
        ]
    );
    assert_eq!(
        json["summary"],
        json!({"create": 12, "update": 0, "delete": 0})
    );
    assert_eq!(json["pending_confirmation"], json!([]));
}

#[test]
fn offline_plan_uses_the_given_topic() {
    let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
    let json = json_of(&[
        "plan",
        "--offline",
        "--format",
        "json",
        "--alerts-topic-arn",
        topic,
        EXAMPLE,
    ]);
    let first = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "notification")
        .unwrap();
    assert_eq!(first["subscribers"][0]["address"], topic);
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = run(&["schema"]);
    assert_eq!(out.code, Some(0));
    let committed = std::fs::read_to_string(workspace().join("policies/schema.json")).unwrap();
    assert!(
        out.stdout == committed,
        "policies/schema.json is stale; regenerate it with\n    cargo run -q -p budget-guard -- schema > policies/schema.json"
    );
}

#[test]
fn a_900_kb_prefix_is_refused_in_a_few_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    let example = std::fs::read_to_string(workspace().join(EXAMPLE)).unwrap();
    let prefix = "p".repeat(900 * 1024);
    std::fs::write(
        &path,
        example.replace("budget_prefix: bg-", &format!("budget_prefix: {prefix}")),
    )
    .unwrap();
    let out = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", &out.transcript()[..2000]);
    // One error, at the prefix: not one per budget, and the prefix is not printed.
    assert!(
        out.stderr.contains("error: policy is invalid: 1 error"),
        "{}",
        &out.stderr[..out.stderr.len().min(4000)]
    );
    assert!(
        out.stderr
            .contains("`budget_prefix` is 921600 characters long"),
        "{}",
        &out.stderr[..out.stderr.len().min(4000)]
    );
    assert!(
        out.stderr.len() < 2000,
        "{} bytes:\n{}",
        out.stderr.len(),
        &out.stderr[..4000]
    );
    let json = run(&["validate", "--format", "json", path.to_str().unwrap()]);
    assert!(json.stdout.len() < 2000, "{} bytes", json.stdout.len());
}

#[test]
fn completions_and_the_man_page_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.code, Some(0), "{}", out.transcript());
        for command in ["validate", "estimate", "profiles", "flags"] {
            assert!(out.stdout.contains(command), "{shell}: {command}");
        }
    }
    let man = run(&["man"]);
    assert_eq!(man.code, Some(0), "{}", man.transcript());
    assert!(man.stdout.starts_with(".ie"), "roff: {}", &man.stdout[..40]);
    assert!(man.stdout.contains(".TH budget-guard 1"), "{}", man.stdout);
    assert!(man.stdout.contains("validate"), "{}", man.stdout);
    assert_eq!(run(&["completions", "tcsh"]).code, Some(2));
}

#[test]
fn export_names_every_role_a_deny_names_for_the_stack() {
    let out = run(&["export", "policies/examples/ladder-rungs.yaml"]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(value["deny_roles"], serde_json::json!(["chat-app"]));
    let plain = run(&["export", "policies/example.yaml"]);
    let value: serde_json::Value = serde_json::from_str(&plain.stdout).expect("json");
    assert_eq!(value["deny_roles"], serde_json::json!([]));
}

#[test]
fn the_policy_is_paths_everywhere_and_policy_is_kept_as_an_alias() {
    let simulate = |policy: &[&str]| {
        let args = [
            &["alert", "simulate"][..],
            policy,
            &[
                "--message-file",
                "policies/examples/ladder-rungs-alert-70pct.txt",
                "--at",
                "2026-11-12T06:41:09Z",
            ],
        ]
        .concat();
        run(&args)
    };
    let paths = simulate(&["policies/examples/ladder-rungs.yaml"]);
    assert_eq!(paths.code, Some(0), "{}", paths.transcript());
    assert!(
        paths.stdout.contains("max 500 output tokens"),
        "{}",
        paths.stdout
    );
    let alias = simulate(&["--policy", "policies/examples/ladder-rungs.yaml"]);
    assert_eq!(alias.stdout, paths.stdout, "{}", alias.transcript());

    let both = simulate(&[
        "policies/examples/ladder-rungs.yaml",
        "--policy",
        "policies/example.yaml",
    ]);
    assert_eq!(both.code, Some(2), "{}", both.transcript());
    assert!(both.stderr.contains("given twice"), "{}", both.transcript());

    // Restoring every route is asked for by name, never by leaving the route out.
    let bare = run(&["flags", "restore"]);
    assert_eq!(bare.code, Some(2), "{}", bare.transcript());
    assert!(bare.stderr.contains("<ROUTE>"), "{}", bare.transcript());
}

#[test]
fn codes_explains_a_code_or_name_and_lists_them_all() {
    let by_code = run(&["codes", "bg301"]);
    assert_eq!(by_code.code, Some(0), "{}", by_code.transcript());
    assert!(
        by_code.stdout.starts_with("BG301 unknown-channel: "),
        "{}",
        by_code.transcript()
    );
    let by_name = run(&["codes", "unknown-channel"]);
    assert_eq!(by_name.stdout, by_code.stdout);
    let unknown = run(&["codes", "BG999"]);
    assert_eq!(unknown.code, Some(2), "{}", unknown.transcript());
    let all = run(&["codes"]);
    assert_eq!(all.code, Some(0));
    assert!(
        all.stdout.contains("| BG301 | `unknown-channel` |"),
        "{}",
        all.stdout
    );
}
