//! `estimate --against REF`: each budget's estimate at a git ref and in the working tree, in a
//! temporary repository made for each test.
//!
//! Figures, by hand: us.amazon.nova-pro-v1:0 costs $0.0008 per 1,000 input tokens and $0.0032 per
//! 1,000 output tokens, so a request of 500 in and 1,500 out costs $0.0004 + $0.0048 = $0.0052,
//! and a monthly budget counts 30 days.

mod common;

use common::{Run, run_in_with_env};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Two monthly budgets on nova-pro, 500 tokens in and 1,500 out per request; `{writer}` and
/// `{search}` requests a day. `bg-writer`'s amount is $40, `bg-search`'s $10.
fn policy(writer: u32, search: u32) -> String {
    format!(
        "version: 1
settings:
  budget_prefix: bg-
  alarms: [finops]
channels:
  finops:
    email: [finops@example.com]
budgets:
  writer:
    amount: 40
    period: monthly
    usage:
      - name: writer
        model: us.amazon.nova-pro-v1:0
        input_tokens: 500
        output_tokens: 1500
        requests_per_day: {writer}
  search:
    amount: 10
    period: monthly
    usage:
      - name: search
        model: us.amazon.nova-pro-v1:0
        input_tokens: 500
        output_tokens: 1500
        requests_per_day: {search}
"
    )
}

/// A monthly budget of $50 for 100 requests a day: $0.52 a day, $15.60 a month.
const EXTRA: &str = "version: 1
budgets:
  extra:
    amount: 50
    period: monthly
    usage:
      - name: extra
        model: us.amazon.nova-pro-v1:0
        input_tokens: 500
        output_tokens: 1500
        requests_per_day: 100
";

/// Git of the tests: no user or system configuration, a fixed identity and date.
const GIT_ENV: [(&str, &str); 8] = [
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Test"),
    ("GIT_AUTHOR_EMAIL", "test@example.com"),
    ("GIT_COMMITTER_NAME", "Test"),
    ("GIT_COMMITTER_EMAIL", "test@example.com"),
    ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
    ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"),
];

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["-c", "init.defaultBranch=main", "init", "-q"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .envs(GIT_ENV)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn run(&self, args: &[&str]) -> Run {
        // git must not look above the repository (the temporary folder's parents).
        let ceiling = self.path().parent().unwrap().to_str().unwrap().to_owned();
        let mut env = GIT_ENV.to_vec();
        env.push(("GIT_CEILING_DIRECTORIES", &ceiling));
        run_in_with_env(self.path(), args, &env)
    }
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// At HEAD: bg-writer at 200 requests a day ($31.20), bg-search at 50 ($7.80). In the working
/// tree: bg-writer at 250 ($39.00), bg-search removed, bg-extra new in a second file ($15.60).
fn changed_repo() -> Repo {
    let repo = Repo::new();
    repo.write("policies/team.yaml", &policy(200, 50));
    repo.commit("policy");
    let after = policy(250, 50);
    let after = &after[..after.find("  search:").unwrap()];
    repo.write("policies/team.yaml", after);
    repo.write("policies/extra.yaml", EXTRA);
    repo
}

#[test]
fn against_head_text() {
    let repo = changed_repo();
    let out = repo.run(&["estimate", "policies", "--against", "HEAD"]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    snapshot("cli-estimate-against", &out.transcript());
}

#[test]
fn against_head_json() {
    let repo = changed_repo();
    let out = repo.run(&["estimate", "--against", "HEAD", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        json,
        json!({
            "against": "HEAD",
            "budgets": [
                {"name": "bg-extra", "amount": 50.0, "before": null, "after": 15.6,
                 "change": 15.6, "change_percent": null, "over": false},
                {"name": "bg-search", "amount": 10.0, "before": 7.8, "after": null,
                 "change": -7.8, "change_percent": -100.0, "over": false},
                // $0.0052 x 250 x 30 = $39.00 against $0.0052 x 200 x 30 = $31.20: +$7.80, +25%.
                {"name": "bg-writer", "amount": 40.0, "before": 31.2, "after": 39.0,
                 "change": 7.8, "change_percent": 25.0, "over": false},
            ]
        })
    );
}

#[test]
fn an_estimate_past_its_amount_exits_1() {
    let repo = Repo::new();
    repo.write("policies/team.yaml", &policy(200, 50));
    repo.commit("policy");
    // 300 requests a day: $0.0052 x 300 x 30 = $46.80, past $40.
    repo.write("policies/team.yaml", &policy(300, 50));
    let out = repo.run(&["estimate", "--against", "HEAD"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    let writer = out
        .stdout
        .lines()
        .find(|l| l.starts_with("bg-writer"))
        .unwrap();
    assert!(writer.ends_with("OVER"), "{}", out.transcript());
    assert!(
        writer.contains("$46.80") && writer.contains("+50%"),
        "{writer}"
    );
    assert!(
        out.stderr
            .contains("bg-writer: the estimate $46.80 passes the amount $40.00"),
        "{}",
        out.transcript()
    );
    assert!(!out.stderr.contains("bg-search"), "{}", out.transcript());

    let json = repo.run(&["estimate", "--against", "HEAD", "--format", "json"]);
    assert_eq!(json.code, Some(1), "{}", json.transcript());
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["budgets"][1]["name"], "bg-writer");
    assert_eq!(json["budgets"][1]["over"], json!(true));
    assert_eq!(json["budgets"][1]["after"], json!(46.8));

    // Lowering the amount is as much a change: $31.20 at HEAD, now past an amount of $30.
    repo.write(
        "policies/team.yaml",
        &policy(200, 50).replace("amount: 40", "amount: 30"),
    );
    let out = repo.run(&["estimate", "--against", "HEAD"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(out.stderr.contains("bg-writer"), "{}", out.transcript());
}

#[test]
fn an_unknown_ref_is_named() {
    let repo = Repo::new();
    repo.write("policies/team.yaml", &policy(200, 50));
    repo.commit("policy");
    let out = repo.run(&["estimate", "--against", "origin/no-such-branch"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr
            .contains("unknown git ref `origin/no-such-branch`"),
        "{}",
        out.transcript()
    );
    assert!(out.stdout.is_empty(), "{}", out.transcript());
    // Not a ref at all, and not an option of git's either.
    let out = repo.run(&["estimate", "--against=--all"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr.contains("unknown git ref `--all`"),
        "{}",
        out.transcript()
    );
}

#[test]
fn outside_a_repository_is_an_error() {
    let repo = Repo::new();
    std::fs::remove_dir_all(repo.path().join(".git")).unwrap();
    repo.write("policies/team.yaml", &policy(200, 50));
    let out = repo.run(&["estimate", "--against", "HEAD"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr.contains("policies is not in a git repository"),
        "{}",
        out.transcript()
    );
}

#[test]
fn a_policy_invalid_at_the_ref_is_reported_there() {
    let repo = Repo::new();
    repo.write(
        "policies/team.yaml",
        &policy(200, 50).replace("amount: 40", "amount: 0"),
    );
    repo.commit("a mistake");
    repo.write("policies/team.yaml", &policy(200, 50));
    let out = repo.run(&["estimate", "--against", "HEAD"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr
            .contains("HEAD:policies/team.yaml:10:13: error[BG506]:"),
        "{}",
        out.transcript()
    );
    assert!(
        out.stderr.contains("as it was at HEAD"),
        "{}",
        out.transcript()
    );
    assert!(out.stdout.is_empty(), "{}", out.transcript());

    // And the working tree's own mistakes, by their paths.
    repo.write(
        "policies/team.yaml",
        &policy(200, 50).replace("amount: 10", "amount: -1"),
    );
    let out = repo.run(&["estimate", "--against", "HEAD"]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(
        out.stderr
            .contains("\npolicies/team.yaml:19:13: error[BG506]:")
            || out
                .stderr
                .starts_with("policies/team.yaml:19:13: error[BG506]:"),
        "{}",
        out.transcript()
    );
}

#[test]
fn a_path_new_since_the_ref_makes_every_budget_new() {
    let repo = Repo::new();
    repo.write("README.md", "no policy yet\n");
    repo.commit("start");
    repo.write("policies/team.yaml", &policy(200, 50));
    let out = repo.run(&["estimate", "--against", "HEAD", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let budgets = json["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 2);
    for b in budgets {
        assert_eq!(b["before"], Value::Null, "{b}");
        assert_eq!(b["change"], b["after"], "{b}");
    }
    let text = repo.run(&["estimate", "policies/team.yaml", "--against", "HEAD"]);
    assert_eq!(text.code, Some(0), "{}", text.transcript());
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with("bg-writer") && l.contains("$31.20") && l.ends_with("new")),
        "{}",
        text.transcript()
    );
}

#[test]
fn a_price_catalog_at_the_ref_prices_the_before_side() {
    let repo = Repo::new();
    repo.write("policies/team.yaml", &policy(200, 50));
    repo.write(
        "policies/prices.yaml",
        "sources:\n  quote: a quote\nmodels:\n  - model_id: amazon.nova-pro-v1:0\n    service: Amazon Bedrock\n    input_per_1m: 1.60\n    output_per_1m: 6.40\n    source: quote\n    checked: \"2026-12-01\"\n",
    );
    repo.commit("policy at twice the price");
    std::fs::remove_file(repo.path().join("policies/prices.yaml")).unwrap();
    let out = repo.run(&["estimate", "--against", "HEAD", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    // $0.0104 x 200 x 30 = $62.40 before, $31.20 after.
    assert_eq!(json["budgets"][1]["before"], json!(62.4), "{json}");
    assert_eq!(json["budgets"][1]["after"], json!(31.2), "{json}");
    assert_eq!(json["budgets"][1]["change_percent"], json!(-50.0), "{json}");
}

#[test]
fn against_conflicts_with_from_metrics() {
    let repo = Repo::new();
    repo.write("policies/team.yaml", &policy(200, 50));
    let out = repo.run(&["estimate", "--against", "HEAD", "--from-metrics", "7d"]);
    assert_eq!(out.code, Some(2), "{}", out.transcript());
}
