use super::apply::{Target, runtime};
use super::export::policy_failure;
use crate::output::{Format, print_json};
use crate::policy_files::load_policy;
use guard_core::account::{AccountState, desired};
use guard_core::plan::{Plan, plan};
use guard_core::policy::Policy;
use std::path::PathBuf;
use std::process::ExitCode;

/// Stands for the alerts topic in an offline plan, where no stack exists yet.
pub const OFFLINE_ALERTS_TOPIC: &str = "arn:aws:sns:<region>:<account>:<alerts topic>";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
    /// Plan against an empty account without calling AWS: what the first apply would create.
    #[arg(long)]
    pub offline: bool,
    /// text: one line per change (+ create, ~ update, - delete); json: {changes: [{action, kind, name, ...}]}
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub target: Target,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(&args.paths) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let plan = if args.offline {
        let topic = args
            .target
            .alerts_topic_arn
            .as_deref()
            .unwrap_or(OFFLINE_ALERTS_TOPIC);
        plan(&desired(&policy, topic), &AccountState::default())
    } else {
        match live_plan(&policy, &args.target) {
            Ok(plan) => plan,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(ExitCode::from(1));
            }
        }
    };
    match args.format {
        Format::Json => print_json(&plan.to_json())?,
        Format::Text => crate::output::emit(&plan.render()),
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The plan against the live account (standard AWS environment).
fn live_plan(policy: &Policy, target: &Target) -> anyhow::Result<Plan> {
    runtime()?.block_on(async {
        let live = target.connect().await?;
        Ok(live.plan(policy).await?.1)
    })
}
