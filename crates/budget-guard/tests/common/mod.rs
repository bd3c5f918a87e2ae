//! Runs the built `budget-guard` binary from the workspace root, so that the paths in its output
//! are the short relative ones a user would type, and snapshots do not depend on the checkout.

#![allow(dead_code)] // each test file uses part of this

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn workspace() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The whole of a run as one text: the command, the exit code, and both streams.
    pub fn transcript(&self) -> String {
        let mut out = format!(
            "$ budget-guard {}\nexit: {}\n",
            self.args.join(" "),
            code_text(self.code)
        );
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if !text.is_empty() {
                out.push_str(&format!("--- {name}\n{text}"));
                if !text.ends_with('\n') {
                    out.push_str("\n(no newline at end)\n");
                }
            }
        }
        out
    }
}

fn code_text(code: Option<i32>) -> String {
    code.map(|c| c.to_string())
        .unwrap_or_else(|| "killed by a signal".into())
}

pub fn run(args: &[&str]) -> Run {
    run_with_env(args, &[])
}

/// As [`run`], with more variables in the child's environment.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    run_in_with_env(&workspace(), args, env)
}

/// As [`run_with_env`], from another folder.
pub fn run_in_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_budget-guard"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        // Keep the environment from changing what the plan shows.
        .env_remove("BUDGET_GUARD_ALERTS_TOPIC_ARN")
        .envs(env.iter().copied())
        .output()
        .expect("the budget-guard binary runs");
    finished(args, &output)
}

/// As [`run_with_env`], against the emulator `aws`: its endpoint and credentials, none of the
/// developer's own profile or session.
pub fn run_on_emulator(aws: &guard_testkit::Emulator, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_budget-guard"))
        .args(args)
        .current_dir(workspace())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(aws.env_vars())
        .envs(env.iter().copied())
        .output()
        .expect("the budget-guard binary runs");
    finished(args, &output)
}

fn finished(args: &[&str], output: &std::process::Output) -> Run {
    Run {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
