//! No input, however broken, makes the loader panic or hang: each case must end in errors (or a
//! valid policy) at a place in the file. Timing is measured by the `validate_timing` example, not
//! here, so that a slow machine cannot fail the suite.

use guard_core::diagnostic::Severity;
use guard_core::policy::{MAX_FILE_BYTES, Policy, SourceFile, limits, load};
use guard_testkit::{alias_bomb, aliased_notify_lists};

fn run(bytes: impl Into<Vec<u8>>) -> (Option<Policy>, Vec<guard_core::diagnostic::Diagnostic>) {
    load(&[SourceFile::new("p.yaml", bytes)])
}

/// Loads `bytes` and expects errors only, each inside the file.
fn refused(bytes: impl Into<Vec<u8>>) -> Vec<String> {
    let bytes = bytes.into();
    let lines = bytes.split(|&b| b == b'\n').count().max(1);
    let (policy, diagnostics) = run(bytes);
    assert!(policy.is_none(), "refused");
    assert!(
        diagnostics.iter().any(|d| d.severity == Severity::Error),
        "at least one error"
    );
    for d in &diagnostics {
        assert!(
            d.line >= 1 && d.line <= lines + 1 && d.column >= 1,
            "inside the file: {d:?}"
        );
    }
    diagnostics.iter().map(|d| d.message.clone()).collect()
}

const BUDGET: &str = "version: 1\nbudgets:\n  chatbot:\n    amount: 500\n    period: monthly\n";

#[test]
fn empty_and_blank_files_are_refused() {
    for text in [
        "",
        "\n",
        "   \n\n",
        "# only a comment\n",
        "---\n",
        "~\n",
        "null\n",
    ] {
        let messages = refused(text);
        assert!(
            messages.iter().any(|m| m.contains("empty")),
            "{text:?}: {messages:?}"
        );
    }
}

#[test]
fn binary_invalid_utf8_and_nul_are_refused() {
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    assert!(refused(binary).iter().any(|m| m.contains("UTF-8")));
    assert!(
        refused(b"version: 1\n\xff\xfe\n".to_vec())
            .iter()
            .any(|m| m.contains("UTF-8"))
    );
    assert!(refused("version: 1\0\n").iter().any(|m| m.contains("NUL")));
}

#[test]
fn tabs_are_refused_with_a_hint() {
    let (_, diagnostics) = run("version: 1\nbudgets:\n\tchatbot:\n\t\tamount: 500\n");
    assert!(
        diagnostics
            .iter()
            .any(|d| d.help.as_deref().is_some_and(|h| h.contains("tabs"))),
        "{diagnostics:#?}"
    );
}

#[test]
fn alias_bomb_is_refused_without_expanding() {
    refused(alias_bomb());
}

#[test]
fn alias_bomb_inside_a_known_field_is_refused() {
    let mut text = String::from("version: 1\nx: &a [1,1,1,1,1,1,1,1,1,1]\n");
    for (name, previous) in [
        ('b', 'a'),
        ('c', 'b'),
        ('d', 'c'),
        ('e', 'd'),
        ('f', 'e'),
        ('g', 'f'),
    ] {
        text.push_str(&format!(
            "x{name}: &{name} [{}]\n",
            vec![format!("*{previous}"); 10].join(",")
        ));
    }
    // The same bomb where a list of strings is expected: the structure layer must not expand it.
    let policy = "version: 1\nchannels:\n  ops:\n    email: &a [a@example.com, a@example.com]\n  ops2:\n    email: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n  ops3:\n    email: [*b, *b, *b, *b, *b, *b, *b, *b]\n";
    refused(text);
    refused(policy);
}

#[test]
fn well_typed_alias_bomb_is_refused_before_it_is_expanded() {
    // 20,000 names x 3,000 references: sixty million strings if serde expanded them.
    let messages = refused(aliased_notify_lists(20_000, 3_000));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("aliases expand"), "{messages:?}");
}

#[test]
fn aliases_within_the_bound_are_read() {
    // 900 names x 1,000 references: under a million nodes, so read; then refused for its
    // thresholds (more than 10, and repeated), not for its size.
    let messages = refused(aliased_notify_lists(900, 1_000));
    assert!(
        !messages.iter().any(|m| m.contains("aliases expand")),
        "{:?}",
        &messages[..3]
    );
    assert!(
        messages.iter().any(|m| m.contains("1001 thresholds")),
        "{:?}",
        &messages[..3]
    );
}

#[test]
fn deep_nesting_is_refused() {
    refused("[".repeat(100_000));
    refused("{a: ".repeat(10_000));
    let mut block = String::from("version: 1\n");
    for depth in 0..2_000 {
        block.push_str(&" ".repeat(depth));
        block.push_str("a:\n");
    }
    refused(block);
    let mut seq = String::from("version: 1\nx:\n");
    for depth in 0..2_000 {
        seq.push_str(&" ".repeat(depth));
        seq.push_str("-\n");
    }
    refused(seq);
}

#[test]
fn ten_megabytes_are_refused_by_size() {
    let text = "# padding\n".repeat(1024 * 1024);
    let messages = refused(text);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("at most 1048576 bytes"),
        "{messages:?}"
    );
}

#[test]
fn a_file_just_under_the_limit_is_read() {
    // As many budgets as AWS allows in an account, padded with a comment to exactly one byte
    // under the limit.
    let mut text = String::from("version: 1\nbudgets:\n");
    let mut i = 0;
    while text.len() < MAX_FILE_BYTES - 200 && i < limits::BUDGETS_PER_ACCOUNT_MAX {
        text.push_str(&format!(
            "  b{i}:\n    amount: {}\n    period: monthly\n",
            100 + i
        ));
        i += 1;
    }
    text.push('#');
    text.push_str(&"x".repeat(MAX_FILE_BYTES - 1 - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), MAX_FILE_BYTES - 1);
    let (policy, diagnostics) = run(text);
    let policy = policy.unwrap_or_else(|| panic!("valid: {:?}", diagnostics.first()));
    assert_eq!(policy.budgets.len(), limits::BUDGETS_PER_ACCOUNT_MAX);
    assert!(
        run(format!("{}\n", "#".repeat(MAX_FILE_BYTES))).1[0]
            .message
            .contains("at most")
    );
}

#[test]
fn huge_numbers_are_errors_not_panics() {
    for amount in [
        "1e400",
        "99999999999999999999999999999999999999",
        "-1e400",
        ".inf",
        ".nan",
        "0x10",
        "1_000_000_000_000_000_000_000_000_000_000",
    ] {
        let text = BUDGET.replace("amount: 500", &format!("amount: {amount}"));
        let messages = refused(text);
        assert!(
            messages.iter().any(|m| m.contains("amount")),
            "{amount}: {messages:?}"
        );
    }
    let usage = |field: &str, value: &str| {
        let mut text = format!(
            "{BUDGET}    usage:\n      - name: chat\n        model: us.amazon.nova-pro-v1:0\n        input_tokens: 1000\n        output_tokens: 1000\n        requests_per_day: 100\n"
        );
        text = text.replace(&format!("{field}: "), &format!("{field}: {value} #"));
        text
    };
    for field in ["input_tokens", "output_tokens", "requests_per_day"] {
        refused(usage(field, "18446744073709551616"));
        refused(usage(field, "-1"));
    }
    for threshold in [
        "1e400%",
        "$99999999999999999999999999999999999",
        "99999999999999999999999999999999%",
    ] {
        let text = format!("{BUDGET}    thresholds:\n      - at: \"{threshold}\"\n");
        refused(text);
    }
}

fn usage_policy(tokens: u64, requests: u64, amount: &str, price: &str) -> String {
    format!(
        "version: 1\npricing:\n  my-model:\n    input_per_1k: {price}\n    output_per_1k: {price}\n    cache_read_per_1k: {price}\n    cache_write_per_1k: {price}\nbudgets:\n  chatbot:\n    amount: {amount}\n    period: annually\n    thresholds:\n      - at: 1000%\n      - at: ${amount}\n    usage:\n      - name: chat\n        model: my-model\n        input_tokens: {tokens}\n        output_tokens: {tokens}\n        cache_read_tokens: {tokens}\n        cache_write_tokens: {tokens}\n        requests_per_day: {requests}\n"
    )
}

#[test]
fn the_largest_accepted_figures_estimate_without_overflow() {
    use guard_core::policy::{
        MAX_AMOUNT, MAX_PRICE_PER_1K, MAX_REQUESTS_PER_DAY, MAX_TOKENS_PER_REQUEST,
    };
    let text = usage_policy(
        MAX_TOKENS_PER_REQUEST,
        MAX_REQUESTS_PER_DAY,
        &MAX_AMOUNT.to_string(),
        &MAX_PRICE_PER_1K.to_string(),
    );
    let (policy, diagnostics) = run(text);
    let policy =
        policy.unwrap_or_else(|| panic!("the bounds themselves are accepted: {diagnostics:#?}"));
    let estimate = guard_core::pricing::estimate::estimate(&policy).expect("fits in a Decimal");
    assert!(estimate[0].estimated > rust_decimal::Decimal::from(MAX_AMOUNT));
}

#[test]
fn figures_past_the_bounds_are_refused_at_their_place() {
    use guard_core::policy::{
        MAX_AMOUNT, MAX_PRICE_PER_1K, MAX_REQUESTS_PER_DAY, MAX_TOKENS_PER_REQUEST,
    };
    let cases = [
        (
            usage_policy(MAX_TOKENS_PER_REQUEST + 1, 1, "500", "0.001"),
            "input_tokens",
        ),
        (usage_policy(u64::MAX, 1, "500", "0.001"), "input_tokens"),
        (
            usage_policy(1000, MAX_REQUESTS_PER_DAY + 1, "500", "0.001"),
            "requests_per_day",
        ),
        (
            usage_policy(1000, 1, &(MAX_AMOUNT + 1).to_string(), "0.001"),
            "amount",
        ),
        (
            usage_policy(1000, 1, "9999999999999999999999999", "0.001"),
            "amount",
        ),
        (
            usage_policy(1000, 1, "500", &(MAX_PRICE_PER_1K + 1).to_string()),
            "input_per_1k",
        ),
        (usage_policy(1000, 1, "500", "1e300"), "input_per_1k"),
    ];
    for (text, field) in cases {
        let (policy, diagnostics) = run(text.clone());
        assert!(policy.is_none(), "{field}: refused");
        let line = diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .map(|d| d.line)
            .unwrap_or_default();
        let shown = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
        assert!(
            shown.contains(field),
            "{field}: the first error points at its line, not `{shown}`: {diagnostics:#?}"
        );
    }
    let text = format!("{BUDGET}    thresholds:\n      - at: $99999999999999999999999\n");
    assert!(refused(text).iter().any(|m| m.contains("ten times")));
}

#[test]
fn unicode_names_are_handled() {
    let text = "version: 1\nchannels:\n  équipe:\n    email: [finops@example.com]\nbudgets:\n  預算-チャット:\n    amount: 500\n    period: monthly\n    thresholds:\n      - at: 90%\n        notify: [équipe]\n";
    let (_, diagnostics) = run(text);
    for d in &diagnostics {
        assert!(d.column >= 1 && d.line >= 1, "{d:?}");
    }
    let emoji = "version: 1\nbudgets:\n  \"🙂\":\n    amount: 500\n    period: monthly\n";
    let _ = run(emoji);
    let rtl = "version: 1\nbudgets:\n  \u{202e}evil:\n    amount: 500\n    period: monthly\n";
    let _ = run(rtl);
}

#[test]
fn odd_yaml_shapes_are_errors() {
    for text in [
        "version: 1\n? [a, b]\n: c\n",
        "version: 1\nbudgets: !!binary aGVsbG8=\n",
        "version: 1\nbudgets:\n  ? {a: 1}\n  : {amount: 1, period: monthly}\n",
        "version: 1\n&a budgets: *a\n",
        "version: !!str 1\n",
        "version: 1\nbudgets: *undefined\n",
        "%YAML 1.2\n---\nversion: 1\n...\n",
        "version: 1\nbudgets:\n  chatbot:\n    amount: 500\n    period: monthly\n    <<: {watch: true}\n",
        "[1, 2, 3]\n",
        "just text\n",
        "version: 1\nbudgets: [1, 2]\n",
        "\u{feff}version: 1\n",
    ] {
        let (_, diagnostics) = run(text);
        // A few of these are valid; the point is that none panics and every error is placed.
        for d in &diagnostics {
            assert!(d.line >= 1 && d.column >= 1, "{text:?}: {d:?}");
        }
    }
}
