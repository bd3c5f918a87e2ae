//! One mistake, one error: checks that build on a value already reported as wrong stay quiet.

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{SourceFile, load};

fn errors(text: &str) -> Vec<Diagnostic> {
    let (_, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

const THRESHOLDS: &str = "version: 1
channels:
  ops:
    email: [ops@example.com]
budgets:
  b:
    amount: AMOUNT
    period: monthly
    thresholds:
      - at: $400
        notify: [ops]
      - at: 80%
        notify: [ops]
";

#[test]
fn a_wrong_amount_is_one_error_not_one_per_threshold() {
    for amount in ["0", "-5", "1e13", "5000000000000"] {
        let found = errors(&THRESHOLDS.replace("AMOUNT", amount));
        assert_eq!(found.len(), 1, "{amount}: {found:#?}");
        assert_eq!(found[0].line, 7, "{amount}: at the amount");
    }
}

#[test]
fn with_a_good_amount_the_same_threshold_written_two_ways_is_caught() {
    // 80% of 500 is $400.
    let found = errors(&THRESHOLDS.replace("AMOUNT", "500"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("repeats threshold 1"),
        "{found:#?}"
    );
    assert_eq!((found[0].line, found[0].column), (12, 13));
}

#[test]
fn a_misspelt_required_field_is_one_error() {
    let found = errors("version: 1\nbudgets:\n  b:\n    amount: 5\n    perod: monthly\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].line, found[0].column), (5, 5));
    assert!(
        found[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("did you mean `period`"))
    );
}

#[test]
fn a_broken_file_does_not_hide_the_mistakes_of_the_others() {
    let (policy, diagnostics) = load(&[
        SourceFile::new(
            "a.yaml",
            "version: 1\nbudgets:\n  b:\n    amount: 0\n    period: monthly\n",
        ),
        SourceFile::new("b.yaml", "version: 1\nbudgets: [\n"),
    ]);
    assert!(policy.is_none());
    let files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, ["a.yaml", "b.yaml"], "{diagnostics:#?}");
}

#[test]
fn references_into_a_broken_file_are_not_reported_as_unknown() {
    // `ops` may well be defined in the file that cannot be read.
    let (_, diagnostics) = load(&[
        SourceFile::new(
            "a.yaml",
            "version: 1\nbudgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n      - at: 90%\n        notify: [ops]\n",
        ),
        SourceFile::new(
            "b.yaml",
            "version: 1\nchannels: {ops: {email: [ops@example.com]}\n",
        ),
    ]);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].file, "b.yaml");
}

#[test]
fn a_flood_of_errors_is_cut_short_with_a_count_at_the_first_not_shown() {
    use guard_core::policy::MAX_SHOWN_PER_FILE;
    let mut text = String::from("version: 1\nbudgets:\n");
    for i in 0..150 {
        text.push_str(&format!("  b{i}:\n    amount: 0\n    period: monthly\n"));
    }
    let (_, diagnostics) = load(&[
        SourceFile::new("p.yaml", text),
        SourceFile::new("q.yaml", "version: 2\n"),
    ]);
    let p: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.file == "p.yaml").collect();
    assert_eq!(p.len(), MAX_SHOWN_PER_FILE + 1);
    let last = p.last().unwrap();
    assert_eq!(
        last.message,
        "50 more errors and warnings in this file are not shown"
    );
    // Budget 101's amount, on line 2 + 100 x 3 + 2.
    assert_eq!((last.line, last.column), (304, 13));
    assert_eq!(
        diagnostics.iter().filter(|d| d.file == "q.yaml").count(),
        1,
        "other files keep theirs"
    );
}

#[test]
fn thousands_of_the_same_mistake_are_counted() {
    // One anchored list of 900 names referred to by 1,000 thresholds: 900,000 repeated channels.
    let mut text = String::from(
        "version: 1\nchannels:\n  c:\n    email: [a@example.com]\nbudgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n",
    );
    text.push_str(&format!(
        "      - {{at: 1%, notify: &n [{}]}}\n",
        vec!["c"; 900].join(",")
    ));
    text.push_str(&"      - {at: 2%, notify: *n}\n".repeat(1_000));
    let (_, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    assert_eq!(
        diagnostics.len(),
        guard_core::policy::MAX_SHOWN_PER_FILE + 1
    );
    let count: usize = diagnostics
        .last()
        .unwrap()
        .message
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Every repeat (899 in each of the 1,001 thresholds) and the count of thresholds, less the
    // 100 shown. Thresholds with errors are not compared with each other, so the repeated `2%`
    // adds nothing; a repeated channel is not counted again against the email limit.
    assert_eq!(count, 899 * 1001 + 1 - 100);
}

#[test]
fn settings_owner_must_be_a_tag_value() {
    let policy = |owner: &str| format!("version: 1\nsettings:\n  owner: {owner}\n");
    assert!(errors(&policy("team-ml/guard@prod")).is_empty());
    let (loaded, _) = load(&[SourceFile::new("p.yaml", policy("'Team ML'"))]);
    assert_eq!(
        loaded.unwrap().owner(Some("BudgetGuard")).as_deref(),
        Some("Team ML"),
        "settings.owner wins over the stack name"
    );
    let (loaded, _) = load(&[SourceFile::new("p.yaml", "version: 1\n")]);
    assert_eq!(
        loaded.unwrap().owner(Some("BudgetGuard")).as_deref(),
        Some("BudgetGuard")
    );
    for (owner, message) in [
        ("''", "`owner` is empty"),
        ("'a;b'", "`owner` contains `;`"),
        (
            &"x".repeat(257),
            "`owner` is 257 characters long; a tag value has at most 256",
        ),
    ] {
        let found = errors(&policy(owner));
        assert_eq!(found.len(), 1, "{owner}: {found:#?}");
        assert_eq!(found[0].message, message);
        assert_eq!((found[0].line, found[0].column), (3, 10), "at the value");
    }
}

// --- Paths, names and the limits of AWS -------------------------------------------------------

use guard_core::policy::limits;

/// A valid policy, with `SETTINGS` for more settings lines and `EXTRA` for more route lines.
const BASE: &str = "version: 1
settings:
  currency: USD
SETTINGS
channels:
  ops:
    email: [ops@example.com]
routes:
  chat:
    ladder: [us.amazon.nova-pro-v1:0, us.amazon.nova-lite-v1:0]
EXTRA
budgets:
  b:
    amount: 500
    period: monthly
    thresholds:
      - at: 90%
        notify: [ops]
        downgrade: {route: chat, to: 2}
";

fn base(settings: &str, extra: &str) -> String {
    BASE.replace("SETTINGS", settings).replace("EXTRA", extra)
}

/// The messages of the errors of `text`, which must be `count`.
fn messages(text: &str, count: usize) -> Vec<String> {
    let found = errors(text);
    assert_eq!(found.len(), count, "{text}\n{found:#?}");
    found.into_iter().map(|d| d.message).collect()
}

#[test]
fn the_base_policy_is_valid() {
    messages(&base("", ""), 0);
}

#[test]
fn state_path_and_flags_path_do_not_nest() {
    for (flags, state, wrong) in [
        (
            "/bg/",
            "/bg/state/",
            "`state_path` `/bg/state/` is inside `flags_path` `/bg/`",
        ),
        (
            "/bg/state/flags/",
            "/bg/state/",
            "`flags_path` `/bg/state/flags/` is inside `state_path` `/bg/state/`",
        ),
        ("/bg/", "/bg/", "`state_path` is the same as `flags_path`"),
    ] {
        let text = base(&format!("  flags_path: {flags}\n  state_path: {state}"), "");
        assert_eq!(messages(&text, 1), [wrong]);
    }
    // Siblings, and one that merely starts with the same letters, are apart.
    for (flags, state) in [
        ("/bg/routes/", "/bg/state/"),
        ("/bg/", "/bg2/"),
        ("/bg-state/", "/bg/"),
    ] {
        messages(
            &base(&format!("  flags_path: {flags}\n  state_path: {state}"), ""),
            0,
        );
    }
}

#[test]
fn a_route_parameter_sits_under_flags_path() {
    let route = |parameter: &str| {
        base(
            "  flags_path: /bg/routes/",
            &format!("  mail:\n    ladder: [us.amazon.nova-lite-v1:0]\n    parameter: {parameter}"),
        )
    };
    messages(&route("/bg/routes/mail"), 0);
    messages(&route("/bg/routes/team/mail"), 0);
    for outside in [
        "/bg/other/mail",
        "/bg/routesmail",
        "/budget-guard/state/mail",
    ] {
        let found = messages(&route(outside), 1);
        assert!(
            found[0].contains("is not under `flags_path` `/bg/routes/`"),
            "{found:?}"
        );
    }
    let found = messages(&route("/bg/routes/m ail"), 1);
    assert!(
        found[0].contains("is not an SSM parameter name"),
        "{found:?}"
    );
}

#[test]
fn ssm_names_stay_within_ssm_limits() {
    let deep = |levels: usize| format!("/{}", "l/".repeat(levels));
    // A route's flag goes one level below `flags_path`, the deepest state record four below
    // `state_path`; SSM allows fifteen.
    messages(&base(&format!("  flags_path: {}", deep(14)), ""), 0);
    messages(&base(&format!("  flags_path: {}", deep(15)), ""), 1);
    messages(&base(&format!("  state_path: {}", deep(11)), ""), 0);
    messages(&base(&format!("  state_path: {}", deep(12)), ""), 1);
    let long = |chars: usize| format!("/{}/", "p".repeat(chars - 2));
    messages(
        &base(
            &format!("  flags_path: {}", long(limits::SSM_PATH_MAX_CHARS)),
            "",
        ),
        0,
    );
    messages(
        &base(
            &format!("  flags_path: {}", long(limits::SSM_PATH_MAX_CHARS + 1)),
            "",
        ),
        1,
    );
    let parameter = |chars: usize| {
        let name = format!("/budget-guard/routes/{}", "m".repeat(chars - 21));
        assert_eq!(name.len(), chars);
        base(
            "",
            &format!("  mail:\n    ladder: [us.amazon.nova-lite-v1:0]\n    parameter: {name}"),
        )
    };
    messages(&parameter(limits::SSM_PARAMETER_NAME_MAX_CHARS), 0);
    messages(&parameter(limits::SSM_PARAMETER_NAME_MAX_CHARS + 1), 1);
}

#[test]
fn every_name_has_a_length_limit() {
    let prefix = |chars: usize| base(&format!("  budget_prefix: {}", "p".repeat(chars)), "");
    messages(&prefix(limits::BUDGET_PREFIX_MAX_CHARS), 0);
    assert_eq!(
        messages(&prefix(limits::BUDGET_PREFIX_MAX_CHARS + 1), 1),
        ["`budget_prefix` is 51 characters long"]
    );
    // Route and channel names.
    let route = |chars: usize| {
        base(
            "",
            &format!(
                "  {}:\n    ladder: [us.amazon.nova-lite-v1:0]",
                "r".repeat(chars)
            ),
        )
    };
    messages(&route(limits::NAME_MAX_CHARS), 0);
    messages(&route(limits::NAME_MAX_CHARS + 1), 1);
    let channel = |chars: usize| {
        base("", "").replace(
            "channels:\n",
            &format!(
                "channels:\n  {}:\n    email: [x@example.com]\n",
                "c".repeat(chars)
            ),
        )
    };
    messages(&channel(limits::NAME_MAX_CHARS), 0);
    messages(&channel(limits::NAME_MAX_CHARS + 1), 1);
    // A model id, where the policy adds one with its price.
    let priced = |chars: usize| {
        let model = format!("m{}", "x".repeat(chars - 1));
        format!(
            "{}pricing:\n  {model}:\n    input_per_1k: 0.001\n    output_per_1k: 0.002\n",
            base("", &format!("  mail:\n    ladder: [{model}]"))
        )
    };
    messages(&priced(limits::MODEL_ID_MAX_CHARS), 0);
    // Once at the price and once on the ladder, which then names no known model.
    assert!(messages(&priced(limits::MODEL_ID_MAX_CHARS + 1), 2)[0].contains("characters long"));
    // A use case's name, a Slack secret's name.
    let use_case = |chars: usize| {
        base("", "").replace(
            "        downgrade: {route: chat, to: 2}\n",
            &format!(
                "        downgrade: {{route: chat, to: 2}}\n    usage:\n      - {{name: {}, route: chat, input_tokens: 1, output_tokens: 1, requests_per_day: 1}}\n",
                "u".repeat(chars)
            ),
        )
    };
    messages(&use_case(limits::USE_CASE_NAME_MAX_CHARS), 0);
    messages(&use_case(limits::USE_CASE_NAME_MAX_CHARS + 1), 1);
    let slack = |chars: usize| {
        base("", "").replace(
            "channels:\n",
            &format!(
                "channels:\n  s:\n    slack: {{webhook_secret: {}}}\n",
                "s".repeat(chars)
            ),
        )
    };
    messages(&slack(limits::SECRET_NAME_MAX_CHARS), 0);
    messages(&slack(limits::SECRET_NAME_MAX_CHARS + 1), 1);
}

#[test]
fn budget_names_that_aws_refuses_are_refused() {
    for (name, problem) in [
        ("\"a/action/b\"", "contains `/action/`"),
        (
            "\"<script>x</script>\"",
            "contains `<script>` and `</script>`",
        ),
        (
            "\"<Script>alert(1)</SCRIPT>\"",
            "contains `<script>` and `</script>`",
        ),
        ("\"a:b\"", "contains `:`"),
    ] {
        let text = base("", "").replace("  b:\n    amount", &format!("  {name}:\n    amount"));
        let found = messages(&text, 1);
        assert!(found[0].ends_with(problem), "{name}: {found:?}");
    }
    // Across the prefix and the name: the AWS name is the two together.
    let text =
        base("  budget_prefix: bg/action", "").replace("  b:\n    amount", "  /b:\n    amount");
    assert_eq!(
        messages(&text, 1),
        ["budget name `bg/action/b` contains `/action/`"]
    );
    // And allowed: the pattern's `/action/` is case-sensitive, a lone tag is no script.
    for name in [
        "\"a/Action/b\"",
        "\"<script>\"",
        "\"a/action\"",
        "\"prod budget (eu)\"",
    ] {
        let text = base("", "").replace("  b:\n    amount", &format!("  {name}:\n    amount"));
        messages(&text, 0);
    }
}

#[test]
fn a_policy_cannot_ask_for_more_budgets_than_aws_allows() {
    let mut text = String::from("version: 1\nbudgets:\n");
    for i in 0..=limits::BUDGETS_PER_ACCOUNT_MAX {
        text.push_str(&format!("  b{i:05}: {{amount: 1, period: monthly}}\n"));
    }
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{:#?}", &found[..found.len().min(3)]);
    assert_eq!(
        found[0].message,
        "the policy defines 20001 budgets; `b20000` is past the first 20000"
    );
    assert_eq!(found[0].line, 3 + limits::BUDGETS_PER_ACCOUNT_MAX);
    // The 20,000 of them alone are valid: `robustness.rs` loads that many.
}

#[test]
fn a_threshold_keeps_to_what_aws_budgets_stores() {
    let at = |threshold: &str| base("", "").replace("at: 90%", &format!("at: \"{threshold}\""));
    messages(&at("33.3%"), 0);
    messages(&at("$0.01"), 0);
    // A double keeps about 15 significant digits: this would not read back as written.
    assert_eq!(
        messages(&at("33.33333333333333333%"), 1),
        ["threshold `33.33333333333333333` has more digits than AWS Budgets keeps"]
    );
}

#[test]
fn the_channels_of_one_job_are_bounded() {
    let channels: String = (0..=limits::CHANNELS_PER_JOB_MAX)
        .map(|i| format!("  c{i}:\n    slack: {{webhook_secret: c{i}}}\n"))
        .collect();
    let names = |from: usize, to: usize| {
        (from..to)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let policy = |notify: &str, unmatched: &str| {
        base(&format!("  unmatched_notify: [{unmatched}]"), "")
            .replace("channels:\n", &format!("channels:\n{channels}"))
            .replace("notify: [ops]", &format!("notify: [{notify}]"))
    };
    let max = limits::CHANNELS_PER_JOB_MAX;
    messages(&policy(&names(0, max), &names(0, max)), 0);
    assert_eq!(
        messages(&policy(&names(0, max + 1), &names(0, max)), 1),
        ["this threshold notifies 11 channels"]
    );
    assert_eq!(
        messages(&policy(&names(0, max), &names(0, max + 1)), 1),
        ["`unmatched_notify` names 11 channels"]
    );
    // Two thresholds that step the same route down, each within the bound, together past it.
    let two = |second: &str| {
        policy(&names(0, 6), "ops").replace(
            "        downgrade: {route: chat, to: 2}\n",
            &format!(
                "        downgrade: {{route: chat, to: 2}}\n      - at: 95%\n        notify: [{second}]\n        downgrade: {{route: chat, to: 2}}\n"
            ),
        )
    };
    messages(&two(&names(4, max)), 0);
    assert_eq!(
        messages(&two(&names(5, max + 1)), 1),
        ["the thresholds that step route `chat` down notify 11 channels"]
    );
}

#[test]
fn budget_names_are_bounded_in_the_bytes_the_handler_stores() {
    // `é` takes two bytes: 25 of them are a 50-byte prefix, 26 too many.
    let prefix = |n: usize| base(&format!("  budget_prefix: {}", "é".repeat(n)), "");
    messages(&prefix(limits::BUDGET_PREFIX_MAX_STORED_BYTES / 2), 0);
    assert_eq!(
        messages(&prefix(limits::BUDGET_PREFIX_MAX_STORED_BYTES / 2 + 1), 1),
        ["`budget_prefix` takes 52 bytes as stored"]
    );
    // `bg-` and a name of 97 bytes as stored, in two-byte characters and one more letter.
    let named =
        |name: &str| base("", "").replace("  b:\n    amount", &format!("  {name}:\n    amount"));
    messages(&named(&format!("{}x", "é".repeat(48))), 0);
    let found = messages(&named(&format!("{}xy", "é".repeat(48))), 1);
    assert!(found[0].ends_with("takes 101 bytes as stored"), "{found:?}");
}

const TAGGED_AND_WATCHED: &str = "version: 1
budgets:
  reports:
    amount: 100
    period: monthly
    watch: true
    scope:
      tags:
        app: [reports]
APPLICATIONS";

fn warning_codes(text: &str) -> Vec<&'static str> {
    let (policy, diagnostics) = load(&[SourceFile::new("p.yaml", text)]);
    assert!(policy.is_some(), "{diagnostics:#?}");
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.code.code.starts_with("BG5"))
        .map(|d| d.code.code)
        .collect()
}

#[test]
fn a_watched_budget_scoped_by_tag_is_watchable_once_it_names_its_applications() {
    let unnamed = warning_codes(&TAGGED_AND_WATCHED.replace("APPLICATIONS", ""));
    assert_eq!(unnamed, ["BG509"]);
    let (_, d) = load(&[SourceFile::new(
        "p.yaml",
        TAGGED_AND_WATCHED.replace("APPLICATIONS", ""),
    )]);
    let watch = d.iter().find(|d| d.code.code == "BG509").unwrap();
    assert!(
        watch
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`scope.applications`") && h.contains("fast path")),
        "{d:#?}"
    );
    let named = warning_codes(&TAGGED_AND_WATCHED.replace(
        "APPLICATIONS",
        "      applications:\n        - request_metadata: { app: reports }\n",
    ));
    assert!(named.is_empty(), "{named:?}");
}
