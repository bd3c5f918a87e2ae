//! `budget-guard apply`: make the account match the policy. Shows the plan, asks (or takes
//! `--yes`), applies with bounded concurrency, prints a line per change as it lands, and ends
//! with a report of what was applied, what failed (with AWS's error) and what was skipped because
//! a change it needs failed. A failure stops nothing else; the exit code is 1 when anything failed.

use super::export::policy_failure;
use crate::output::{Format, emit, print_json};
use crate::policy_files::{LiveLoadError, load_policy_live};
use anyhow::{Context, bail};
use guard_aws::budgets::BudgetsAdapter;
use guard_aws::sdk::{account_id_from_arn, partition_from_arn};
use guard_aws::sns::SnsSubscriptions;
use guard_aws::wiring::env::{
    ACCOUNT_ID_ENV, ALERTS_TOPIC_ENV, BUDGET_ACTION_ROLE_ENV, DENY_POLICY_ENV, NOTIFY_TOPIC_ENV,
    STACK_NAME_ENV,
};
use guard_core::policy::Policy;
use guard_core::provision::account::{AccountState, desired};
use guard_core::provision::apply::{ApplyOptions, ChangeOutcome, DEFAULT_CONCURRENCY, apply};
use guard_core::provision::budget_action::HardStop;
use guard_core::provision::live::read_live;
use guard_core::provision::ownership::{Ownership, claim};
use guard_core::provision::plan::{Plan, plan};
use guard_core::provision::ports::ReadDepth;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the guard's resources are: the stack's topics and the account.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The SNS topic that budget notifications publish to (stack output AlertsTopicArn).
    #[arg(long, env = ALERTS_TOPIC_ENV)]
    pub alerts_topic_arn: Option<String>,
    /// The SNS topic of the email channels' subscriptions (stack output NotifyTopicArn).
    #[arg(long, env = NOTIFY_TOPIC_ENV)]
    pub notify_topic_arn: Option<String>,
    /// The account whose budgets to manage [default: the account of the alerts topic ARN]
    #[arg(long, env = ACCOUNT_ID_ENV)]
    pub account_id: Option<String>,
    /// The deployment's stack name (as `cdk deploy` named it). The guard changes and deletes only
    /// budgets whose `budget-guard:owner` tag names its deployment: the policy's `settings.owner`
    /// if set, else this.
    #[arg(long, env = STACK_NAME_ENV, default_value = DEFAULT_STACK_NAME)]
    pub stack_name: String,
    /// The IAM policy that a threshold's `deny` attaches to its roles (stack output
    /// DenyPolicyArn). Needed when the policy has `deny`.
    #[arg(long, env = DENY_POLICY_ENV)]
    pub deny_policy_arn: Option<String>,
    /// The role AWS Budgets runs a `deny` as (stack output BudgetActionRoleArn). Needed when the
    /// policy has `deny`.
    #[arg(long, env = BUDGET_ACTION_ROLE_ENV)]
    pub budget_action_role_arn: Option<String>,
    /// Take over a budget with the prefix that is not this deployment's (made by hand, by a guard
    /// from before ownership tags, or by another deployment): tag it as ours, then reconcile it
    /// with the policy (a budget the policy does not have is then deleted). Repeatable.
    #[arg(long = "adopt", value_name = "BUDGET")]
    pub adopt: Vec<String>,
}

/// The stack name of the CDK app's default deployment.
pub const DEFAULT_STACK_NAME: &str = "BudgetGuard";

/// The adapters for one account, built once.
#[derive(Debug)]
pub struct Live {
    pub alerts_topic_arn: String,
    pub budgets: BudgetsAdapter,
    pub subscriptions: SnsSubscriptions,
    /// Without a notify topic, email subscriptions are neither read nor planned.
    pub with_subscriptions: bool,
    pub stack_name: String,
    pub adopt: Vec<String>,
    pub hard_stop: Option<HardStop>,
}

impl Target {
    /// The deny policy and Budgets role, when both are given; one without the other is an error.
    pub fn hard_stop(&self) -> anyhow::Result<Option<HardStop>> {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        match (
            given(&self.deny_policy_arn),
            given(&self.budget_action_role_arn),
        ) {
            (Some(deny_policy_arn), Some(execution_role_arn)) => Ok(Some(HardStop {
                deny_policy_arn,
                execution_role_arn,
            })),
            (None, None) => Ok(None),
            (Some(_), None) => bail!(
                "--deny-policy-arn needs --budget-action-role-arn ({BUDGET_ACTION_ROLE_ENV}, stack output BudgetActionRoleArn)"
            ),
            (None, Some(_)) => bail!(
                "--budget-action-role-arn needs --deny-policy-arn ({DENY_POLICY_ENV}, stack output DenyPolicyArn)"
            ),
        }
    }

    /// The adapters, from the standard AWS environment.
    pub async fn connect(&self) -> anyhow::Result<Live> {
        let Some(alerts) = self.alerts_topic_arn.clone() else {
            bail!(
                "the alerts topic is needed: pass --alerts-topic-arn or set {ALERTS_TOPIC_ENV} (stack output AlertsTopicArn)"
            );
        };
        let hard_stop = self.hard_stop()?;
        let notify = self.notify_topic_arn.clone().filter(|arn| !arn.is_empty());
        if notify.is_none() {
            eprintln!(
                "note: no notify topic (--notify-topic-arn or {NOTIFY_TOPIC_ENV}, stack output NotifyTopicArn): \
                 email subscriptions are left out"
            );
        }
        let account = match &self.account_id {
            Some(account) => account.clone(),
            None => account_id_from_arn(&alerts)
                .with_context(|| {
                    format!("no account id in {alerts}: pass --account-id or set {ACCOUNT_ID_ENV}")
                })?
                .to_owned(),
        };
        let partition = partition_from_arn(&alerts).unwrap_or("aws").to_owned();
        let config = guard_aws::sdk::load().await;
        Ok(Live {
            budgets: BudgetsAdapter::from_sdk_config(&config, account).with_partition(partition),
            with_subscriptions: notify.is_some(),
            subscriptions: SnsSubscriptions::from_sdk_config(&config, notify.unwrap_or_default()),
            alerts_topic_arn: alerts,
            stack_name: self.stack_name.clone(),
            adopt: self.adopt.clone(),
            hard_stop,
        })
    }
}

/// How deep `plan` and `apply` read: `--full` reads every notification's subscribers.
pub fn read_depth(full: bool) -> ReadDepth {
    if full {
        ReadDepth::Full
    } else {
        ReadDepth::Quick
    }
}

impl Live {
    /// Whom this deployment is: the policy's `settings.owner`, else the stack name.
    pub fn ownership(&self, policy: &Policy) -> Ownership {
        Ownership {
            owner: policy
                .owner(Some(&self.stack_name))
                .unwrap_or_else(|| DEFAULT_STACK_NAME.to_owned()),
            adopt: self.adopt.clone(),
        }
    }

    /// The desired state and the plan that makes the account match it, with only this
    /// deployment's budgets in it.
    pub async fn plan(
        &self,
        policy: &Policy,
        depth: ReadDepth,
    ) -> anyhow::Result<(AccountState, Plan)> {
        let mut want =
            desired(policy, &self.alerts_topic_arn).with_hard_stop(self.hard_stop.as_ref())?;
        if !self.with_subscriptions {
            want.email_subscriptions.clear();
        }
        let live = read_live(
            &self.budgets,
            self.with_subscriptions.then_some(&self.subscriptions),
            &policy.settings.budget_prefix,
            &want,
            depth,
        )
        .await
        .context("reading the account")?;
        if depth == ReadDepth::Quick {
            eprintln!(
                "note: subscribers of notifications were not read; --full reads them (a call per \
                 notification) and shows subscribers changed by hand"
            );
        }
        let prefix = &policy.settings.budget_prefix;
        let ownership = self.ownership(policy);
        let plan = claim(
            plan(&want, &live),
            &want,
            &live,
            &self.budgets,
            &ownership,
            prefix,
        )
        .await?;
        Ok((want, plan))
    }
}

/// A runtime for the AWS calls of one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub target: Target,
    /// Writes in flight at once.
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY as u16, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// Also read every notification's subscribers (one call per notification), to repair
    /// subscribers changed by hand or still on an old alerts topic. Without it, budgets and
    /// notifications are read in a few list calls, which is enough for any policy edit.
    #[arg(long)]
    pub full: bool,
    /// text: the plan, a line per change as applied, a report; json: the report as one JSON document.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let policy = match load_policy_live(&args.paths) {
        Ok(policy) => policy,
        Err(LiveLoadError::Policy(e)) => return Ok(policy_failure(e)),
        Err(LiveLoadError::Resolve(e)) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        eprintln!(
            "error: apply changes the account: pass --yes, or run it on a terminal to be asked"
        );
        return Ok(ExitCode::from(2));
    }
    let runtime = runtime()?;
    match runtime.block_on(apply_policy(&policy, &args, interactive)) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(1))
        }
    }
}

async fn apply_policy(policy: &Policy, args: &Args, interactive: bool) -> anyhow::Result<ExitCode> {
    let live = args.target.connect().await?;
    let (_, plan) = live.plan(policy, read_depth(args.full)).await?;
    let text = args.format == Format::Text;
    if plan.is_empty() {
        if text {
            emit(&plan.render());
        } else {
            print_json(&guard_core::provision::apply::ApplyReport::default().to_json())?;
        }
        return Ok(blocked_exit(&plan, ExitCode::SUCCESS));
    }
    if text || !args.yes {
        // The plan goes to stdout for text, to stderr when stdout carries JSON.
        if text {
            emit(&plan.render());
        } else {
            eprint!("{}", plan.render());
        }
    }
    if !args.yes && interactive && !confirm(plan.changes.len())? {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(ExitCode::from(1));
    }
    let total = plan.changes.len();
    let mut done = 0;
    let options = ApplyOptions {
        concurrency: usize::from(args.concurrency),
        ..ApplyOptions::new(
            policy.settings.budget_prefix.clone(),
            live.ownership(policy).owner,
        )
    };
    let report = apply(
        &plan,
        &live.budgets,
        &live.subscriptions,
        &options,
        |outcome| {
            done += 1;
            let width = total.to_string().len();
            let line = match outcome {
                ChangeOutcome::Applied(change) => format!(
                    "[{done:>width$}/{total}] {}\n",
                    first_line(&change.render())
                ),
                ChangeOutcome::Failed(change, error) => {
                    format!(
                        "[{done:>width$}/{total}] failed: {}\n    {error}\n",
                        first_line(&change.render())
                    )
                }
                ChangeOutcome::Skipped(skipped) => {
                    format!("[{done:>width$}/{total}] {}\n", skipped.render())
                }
            };
            if text {
                emit(&line);
            } else {
                eprint!("{line}");
            }
        },
    )
    .await;
    if text {
        emit(&format!("\n{}", report.render()));
    } else {
        print_json(&report.to_json())?;
    }
    let code = if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    Ok(blocked_exit(&plan, code))
}

/// 1 when budgets the policy wants are not this deployment's: the account cannot match the
/// policy until they are adopted or renamed.
fn blocked_exit(plan: &Plan, code: ExitCode) -> ExitCode {
    let blocked: Vec<&str> = plan.blocked().map(|n| n.name.as_str()).collect();
    if blocked.is_empty() {
        return code;
    }
    let (s, is) = if blocked.len() == 1 {
        ("", "is")
    } else {
        ("s", "are")
    };
    eprintln!(
        "error: budget{s} {} of the policy {is} not this deployment's: take over with \
         `--adopt NAME`, or rename in the policy",
        blocked.join(", ")
    );
    ExitCode::from(1)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Asks on the terminal; only `yes` applies.
fn confirm(changes: usize) -> anyhow::Result<bool> {
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "\nApply these {changes} changes? Only 'yes' is accepted: "
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
