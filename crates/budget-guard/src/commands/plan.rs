use super::apply::{Target, read_depth, runtime};
use super::export::policy_failure;
use crate::output::{Format, print_json};
use crate::policy_files::{LiveLoadError, load_policy, load_policy_live};
use guard_core::policy::Policy;
use guard_core::provision::account::{AccountState, desired};
use guard_core::provision::plan::{Plan, plan};
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
    /// Also read every notification's subscribers (one call per notification), to show
    /// subscribers changed by hand or still on an old alerts topic. Without it, budgets and
    /// notifications are read in a few list calls, which is enough for any policy edit.
    #[arg(long, conflicts_with = "offline")]
    pub full: bool,
    /// text: one line per change (+ create, ~ update, - delete); json: {changes: [{action, kind, name, ...}]}
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit 0 when there is nothing to do, 2 when there are changes (or budgets the policy wants
    /// that are not this deployment's, which only `apply --adopt` or a rename resolves), 1 on every
    /// error (unreadable path, invalid policy, AWS error), so that 2 always means "changes".
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub target: Target,
}

/// How a plan run ended, before it becomes an exit code.
enum Ended {
    NoChanges,
    Changes,
    /// The policy was invalid (1) or a path unreadable (2), already reported.
    PolicyFailed(ExitCode),
    /// A runtime or AWS error, already reported.
    Failed,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ended = run_plan(&args)?;
    Ok(match (ended, args.detailed_exitcode) {
        (Ended::NoChanges, _) => ExitCode::SUCCESS,
        (Ended::Changes, true) => ExitCode::from(2),
        (Ended::Changes, false) => ExitCode::SUCCESS,
        (Ended::PolicyFailed(code), false) => code,
        // With the flag, 2 means "changes" and nothing else: a script gating a deploy on it must
        // never read an unreadable path or an AWS error as a plan.
        (Ended::PolicyFailed(_) | Ended::Failed, true) | (Ended::Failed, false) => {
            ExitCode::from(1)
        }
    })
}

fn run_plan(args: &Args) -> anyhow::Result<Ended> {
    // Offline, application inference profiles are what `profiles:` says; live, the others are
    // asked of Bedrock.
    let loaded = if args.offline {
        load_policy(&args.paths).map_err(LiveLoadError::Policy)
    } else {
        load_policy_live(&args.paths)
    };
    let policy = match loaded {
        Ok(policy) => policy,
        Err(LiveLoadError::Policy(e)) => return Ok(Ended::PolicyFailed(policy_failure(e))),
        Err(LiveLoadError::Resolve(e)) => {
            eprintln!("error: {e:#}");
            return Ok(Ended::Failed);
        }
    };
    let plan = if args.offline {
        let topic = args
            .target
            .alerts_topic_arn
            .as_deref()
            .unwrap_or(OFFLINE_ALERTS_TOPIC);
        // Offline, the deny policy and Budgets role show as unset unless given.
        let want = desired(&policy, topic);
        let want = match args.target.hard_stop() {
            Ok(hard_stop) => want
                .clone()
                .with_hard_stop(hard_stop.as_ref())
                .unwrap_or(want),
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(Ended::Failed);
            }
        };
        plan(&want, &AccountState::default())
    } else {
        match live_plan(&policy, &args.target, args.full) {
            Ok(plan) => plan,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(Ended::Failed);
            }
        }
    };
    let printed = match args.format {
        Format::Json => print_json(&plan.to_json()),
        Format::Text => {
            crate::output::emit(&plan.render());
            Ok(())
        }
    };
    if let Err(e) = printed {
        eprintln!("error: {e:#}");
        return Ok(Ended::Failed);
    }
    Ok(if plan.is_empty() && plan.blocked().next().is_none() {
        Ended::NoChanges
    } else {
        Ended::Changes
    })
}

/// The plan against the live account (standard AWS environment).
fn live_plan(policy: &Policy, target: &Target, full: bool) -> anyhow::Result<Plan> {
    runtime()?.block_on(async {
        let live = target.connect().await?;
        Ok(live.plan(policy, read_depth(full)).await?.1)
    })
}
