//! How long `guard_core::policy::load` takes on hostile and large inputs. The tests prove that no
//! input panics; this prints the figures behind "no input takes more than a second", without
//! making the test suite depend on the speed of the machine.
//!
//! `cargo run --release -p guard-core --example validate_timing`

use guard_core::policy::{MAX_FILE_BYTES, SourceFile, load};
use guard_testkit::{alias_bomb, aliased_notify_lists};
use std::time::{Duration, Instant};

/// Valid budgets up to one byte under the size limit.
fn largest_valid() -> String {
    let mut text = String::from("version: 1\nbudgets:\n");
    let mut i = 0;
    while text.len() < MAX_FILE_BYTES - 200 {
        text.push_str(&format!(
            "  b{i}:\n    amount: {}\n    period: monthly\n",
            100 + i
        ));
        i += 1;
    }
    text.push('#');
    text.push_str(&"x".repeat(MAX_FILE_BYTES - 2 - text.len()));
    text.push('\n');
    text
}

/// Just under the size limit, with an error in every budget: the cost of reporting thousands.
fn largest_invalid() -> String {
    let mut text = String::from("version: 1\nbudgets:\n");
    let mut i = 0;
    while text.len() < MAX_FILE_BYTES - 200 {
        text.push_str(&format!(
            "  b{i}:\n    amount: 0\n    period: montly\n    thresholds:\n      - at: 90\n"
        ));
        i += 1;
    }
    text
}

fn deep_block() -> String {
    let mut text = String::from("version: 1\n");
    for depth in 0..1_400 {
        text.push_str(&" ".repeat(depth));
        text.push_str("a:\n");
    }
    text
}

/// `head`, then `item` repeated up to the size limit.
fn long_list(head: &str, item: &str) -> String {
    let mut text = format!("version: 1\n{head}");
    let count = (MAX_FILE_BYTES - text.len()) / item.len();
    text.push_str(&item.repeat(count.min(30_000)));
    text
}

/// `head`, then numbered items up to the size limit: every name distinct.
fn numbered(head: &str, before: &str, after: &str) -> String {
    let mut text = format!("version: 1\n{head}");
    let mut i = 0;
    while text.len() < MAX_FILE_BYTES - 100 && i < 30_000 {
        text.push_str(&format!("{before}{i}{after}"));
        i += 1;
    }
    text
}

fn time(name: &str, bytes: Vec<u8>) {
    let size = bytes.len();
    let source = [SourceFile::new("p.yaml", bytes)];
    let mut runs = Vec::new();
    let mut diagnostics = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let (_, found) = load(&source);
        runs.push(start.elapsed());
        diagnostics = found.len();
    }
    runs.sort();
    let median = runs[runs.len() / 2];
    let worst = runs.last().copied().unwrap_or(Duration::ZERO);
    println!(
        "{name:<34} {size:>10} bytes  {diagnostics:>6} diagnostics  median {:>9.3} ms  worst {:>9.3} ms",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    );
}

fn main() {
    let example = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policies/example.yaml"
    ))
    .expect("example policy");
    time("policies/example.yaml", example);
    time("empty file", Vec::new());
    time(
        "binary (64 KiB of all bytes)",
        (0..=255u8).cycle().take(64 * 1024).collect(),
    );
    time(
        "tabs",
        b"version: 1\nbudgets:\n\tchatbot:\n\t\tamount: 500\n".to_vec(),
    );
    time("alias bomb (9^9 if expanded)", alias_bomb().into_bytes());
    time(
        "aliases: 20,000 names x 3,000 refs",
        aliased_notify_lists(20_000, 3_000).into_bytes(),
    );
    time(
        "aliases: 900 names x 1,000 refs",
        aliased_notify_lists(900, 1_000).into_bytes(),
    );
    time("100,000 open brackets", "[".repeat(100_000).into_bytes());
    time("1,400 nested block mappings", deep_block().into_bytes());
    time(
        "a ladder of 30,000 distinct models",
        numbered("routes:\n  r:\n    ladder:\n", "      - model-", "\n").into_bytes(),
    );
    time("notify 30,000 distinct channels", numbered("budgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n      - at: 9%\n        notify:\n", "          - c", "\n").into_bytes());
    time(
        "a ladder of 30,000 models",
        long_list(
            "routes:\n  r:\n    ladder:\n",
            "      - us.amazon.nova-pro-v1:0\n",
        )
        .into_bytes(),
    );
    time(
        "30,000 thresholds",
        long_list(
            "budgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n",
            "      - at: 9%\n",
        )
        .into_bytes(),
    );
    time("notify 30,000 channels", long_list("channels:\n  c:\n    email: [a@example.com]\nbudgets:\n  b:\n    amount: 5\n    period: monthly\n    thresholds:\n      - at: 9%\n        notify:\n", "          - c\n").into_bytes());
    time(
        "30,000 email addresses",
        long_list("channels:\n  c:\n    email:\n", "      - a@example.com\n").into_bytes(),
    );
    time(
        "30,000 use cases",
        long_list(
            "budgets:\n  b:\n    amount: 5\n    period: monthly\n    usage:\n",
            "      - {name: u, route: r, input_tokens: 1, output_tokens: 1, requests_per_day: 1}\n",
        )
        .into_bytes(),
    );
    time(
        "10 MB of text (refused by size)",
        "# padding\n".repeat(1024 * 1024).into_bytes(),
    );
    time("1 MiB - 1, valid budgets", largest_valid().into_bytes());
    time(
        "1 MiB, an error in every budget",
        largest_invalid().into_bytes(),
    );
}
