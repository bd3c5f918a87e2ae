//! `budget-guard`: the command line of Budget Guard.
//!
//! Exit codes: 0 success, 1 the policy is invalid or the command failed, 2 usage or I/O error.
//! `plan --detailed-exitcode` exits 2 when there are changes and 1 on every error, a usage error
//! included.

mod commands;
mod cost_diff;
mod dead_letter;
mod git_files;
mod output;
mod policy_files;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "budget-guard",
    version,
    about = "Guard rails for Amazon Bedrock spend, kept as code",
    long_about = "Budget Guard turns a YAML budget policy into AWS Budgets, Slack and email alerts, and \
                  routing flags that step applications down to cheaper models when a budget is hit.\n\n\
                  PATHS are policy files or folders (all *.yaml files of a folder are merged); the \
                  default is ./policies. AWS commands use the standard AWS environment (region, \
                  profile, credentials, AWS_ENDPOINT_URL).",
    after_help = "Exit codes: 0 success, 1 invalid policy or failed command, 2 usage or I/O error."
)]
struct Cli {
    /// Log what the command does to stderr: -v info, -vv debug, -vvv trace (RUST_LOG, when set,
    /// says it instead, e.g. RUST_LOG=guard_aws=debug)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a policy: YAML, structure, names, prices and AWS limits, every error at file:line:col.
    Validate(commands::validate::Args),
    /// List the Bedrock price catalog in force (USD per 1,000 tokens); `prices refresh` reads the AWS Price List.
    Prices(commands::prices::Args),
    /// Estimate each budget's cost per period from the policy's usage, on every ladder step.
    Estimate(commands::estimate::Args),
    /// List the application inference profiles the policy names and the model each is priced as;
    /// resolve the unmapped ones with bedrock:GetInferenceProfile and record them with --write.
    Profiles(commands::profiles::Args),
    /// Show the changes that applying the policy would make to AWS Budgets.
    Plan(commands::plan::Args),
    /// Make AWS Budgets and the email subscriptions match the policy (asks unless --yes).
    Apply(commands::apply::Args),
    /// Period-to-date spend per budget from Bedrock's token metrics, forecast and thresholds crossed.
    Spend(commands::spend::Args),
    /// Print the checked policy as JSON (what the CDK app and the functions read).
    Export(commands::export::Args),
    /// Parse, simulate or handle budget alerts (`alert parse|simulate|handle`).
    Alert(commands::alert::Args),
    /// List or replay the events the functions failed to handle (`dlq list|replay`).
    Dlq(commands::dlq::Args),
    /// Read and change the live routing flags (`flags list|show|set|pin|unpin|restore`).
    ///
    /// In production the alert-handler is the single writer of flags: it steps routes down when
    /// budgets are crossed and restores them when periods roll over. These commands are for
    /// operators. They write through the same flag store and record who (--who, default $USER)
    /// and why (--reason). A flag set by hand belongs to the current period of the route's
    /// budget: the next roll-over restores it unless it is pinned.
    Flags(commands::flags::Args),
    /// Print the JSON Schema of policy files (what policies/schema.json holds).
    Schema,
    /// Explain a diagnostic code (`codes BG301` or `codes unknown-channel`), or list them all as
    /// Markdown (what docs/diagnostics.md holds).
    Codes {
        /// A code such as BG301, or its name such as unknown-channel
        code: Option<String>,
    },
    /// Print the IAM actions each function needs, per kind of resource (the CDK app's source).
    IamActions(commands::iam_actions::Args),
    /// Print a shell completion script: `budget-guard completions bash > ~/.local/share/bash-completion/completions/budget-guard`.
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `budget-guard man > ~/.local/share/man/man1/budget-guard.1`.
    Man,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Prices(args) => commands::prices::run(args),
        Command::Estimate(args) => commands::estimate::run(args),
        Command::Profiles(args) => commands::profiles::run(args),
        Command::Plan(args) => commands::plan::run(args),
        Command::Apply(args) => commands::apply::run(args),
        Command::Spend(args) => commands::spend::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::IamActions(args) => commands::iam_actions::run(args),
        Command::Alert(args) => commands::alert::run(args),
        Command::Flags(args) => commands::flags::run(args),
        Command::Dlq(args) => commands::dlq::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "budget-guard",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => {
                    use std::io::Write;
                    let _ = std::io::stdout().write_all(&page);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(anyhow::Error::new(e).context("rendering the man page")),
            }
        }
        Command::Schema => {
            print!("{}", guard_core::policy::schema_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Codes { code: None } => {
            print!("{}", guard_core::policy::codes::markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Codes { code: Some(code) } => match guard_core::policy::codes::find(&code) {
            Some(c) => {
                println!("{} {}: {}", c.code, c.name, c.explanation);
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("error: no diagnostic code `{code}`; `budget-guard codes` lists them");
                Ok(ExitCode::from(2))
            }
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs to stderr, at the level `-v` asks for, or as RUST_LOG says when it is set; without
/// either, only errors the adapters log.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}

/// clap's own exit (help, version, usage error), except that a usage error of a command line that
/// asked for `--detailed-exitcode` exits 1: there, 2 means "changes".
fn usage_error(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if !error.use_stderr() {
        return ExitCode::SUCCESS;
    }
    if std::env::args_os().any(|arg| arg == "--detailed-exitcode") {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    }
}
