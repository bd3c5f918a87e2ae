//! `budget-guard flags list|show|set|pin|unpin|restore`: the live routing flags in SSM.
//!
//! In production the alert-handler is the single writer of flags (reserved concurrency 1): it
//! steps routes down when budgets are crossed and restores them when periods roll over. These
//! commands are for operators: look, pin a route so nothing moves it, or set it by hand. They go
//! through the same flag store and write the same JSON, each change recorded with who (`--who`,
//! default `$USER`) and why (`--reason`). A flag set by hand belongs to the current period of the
//! route's budget, so the next roll-over restores it unless it is pinned.

use super::export::policy_failure;
use crate::output::{Format, emit, print_json, table};
use crate::policy_files::load_policy;
use anyhow::{Context, bail};
use chrono::Utc;
use guard_aws::flag_store::SsmFlagStore;
use guard_core::flags::{Change, Flag, RouteState};
use guard_core::handling::FlagStore;
use guard_core::policy::{Policy, RouteSpec};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: FlagsCommand,
    /// Policy files or folders
    #[arg(long = "policy", value_name = "PATHS", num_args = 1.., default_value = "policies", global = true)]
    pub policy: Vec<PathBuf>,
    /// Who makes the change (recorded in the flag) [default: $USER]
    #[arg(long, global = true)]
    pub who: Option<String>,
    /// Why (recorded in the flag)
    #[arg(long, global = true)]
    pub reason: Option<String>,
    /// json: list gives [{route, model, step, pinned, ...}]
    #[arg(long, value_enum, default_value_t, global = true)]
    pub format: Format,
}

#[derive(Debug, clap::Subcommand)]
pub enum FlagsCommand {
    /// Every route: its model, step, pin and last change.
    List,
    /// One route's flag in full.
    Show { route: String },
    /// Put a route on a model of its ladder (a model id, a step number, `top` or `cheapest`).
    Set { route: String, model: String },
    /// Pin a route where it is: no alert and no roll-over moves it.
    Pin { route: String },
    /// Unpin a route.
    Unpin { route: String },
    /// Put a route (or every route) back on the top of its ladder.
    Restore { route: Option<String> },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(&args.policy) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let runtime = super::apply::runtime()?;
    runtime.block_on(async {
        let config = guard_aws::sdk::load().await;
        let store = SsmFlagStore::new(aws_sdk_ssm_client(&config));
        run_with(&policy, &store, &args).await
    })
}

fn aws_sdk_ssm_client(config: &aws_config::SdkConfig) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(config)
}

fn route<'a>(policy: &'a Policy, name: &str) -> anyhow::Result<&'a RouteSpec> {
    policy.routes.get(name).with_context(|| {
        format!(
            "no route {name} in the policy; routes: {}",
            policy.routes.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

/// One route's row: `{route, parameter, model, step, ladder_size, pinned, ..., flag}`.
fn row(route: &RouteSpec, flag: Option<&Flag>) -> Value {
    let state = RouteState::of(route, flag);
    json!({
        "route": route.name,
        "parameter": route.parameter,
        "model": state.model_id,
        "step": state.step,
        "ladder_size": route.ladder.len(),
        "pinned": state.pinned,
        "budget": flag.and_then(|f| f.budget.clone()),
        "period_start": flag.and_then(|f| f.period_start),
        "changed_at": flag.map(|f| f.changed_at),
        "changed_by": flag.map(|f| f.changed_by.clone()),
        "reason": flag.map(|f| f.reason.clone()),
        "flag": flag,
    })
}

fn who(args: &Args) -> String {
    args.who
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|w| !w.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The step a `flags set` MODEL names.
fn step_of(route: &RouteSpec, model: &str) -> anyhow::Result<usize> {
    if let Some(step) = route.step_of(model) {
        return Ok(step);
    }
    match model {
        "top" => Ok(1),
        "cheapest" => Ok(route.cheapest_step()),
        _ => match model.parse::<usize>() {
            Ok(step) if (1..=route.ladder.len()).contains(&step) => Ok(step),
            _ => bail!(
                "{model} is not on the ladder of route {}: give one of {}, a step 1 to {}, `top` or `cheapest`",
                route.name,
                route.ladder.join(", "),
                route.ladder.len()
            ),
        },
    }
}

#[allow(clippy::too_many_arguments)] // one call site per verb; a struct would only rename them
/// Writes `route` at `step` with `pinned`, keeping the flag's budget or taking the route's first.
async fn write(
    policy: &Policy,
    store: &SsmFlagStore,
    route: &RouteSpec,
    current: Option<&Flag>,
    step: usize,
    pinned: bool,
    who: &str,
    reason: &str,
) -> anyhow::Result<Flag> {
    let now = Utc::now();
    let budget = current
        .and_then(|f| f.budget.as_deref())
        .and_then(|b| policy.budget_by_name(b))
        .or_else(|| policy.budgets_for_route(&route.name).next());
    let change = Change {
        budget: budget.map(|b| b.name.as_str()),
        period_start: budget.map(|b| b.period.start_of(now.date_naive())),
        reason,
        at: now,
        by: who,
        pinned,
    };
    let flag = Flag::at_step(route, step, change);
    store
        .put_flag(&route.parameter, &flag)
        .await
        .with_context(|| format!("writing the flag of route {}", route.name))?;
    Ok(flag)
}

async fn run_with(policy: &Policy, store: &SsmFlagStore, args: &Args) -> anyhow::Result<ExitCode> {
    let who = who(args);
    let reason = |verb: &str| {
        args.reason
            .clone()
            .unwrap_or_else(|| format!("budget-guard flags {verb} by {who}"))
    };
    let get = |route: &RouteSpec| {
        let parameter = route.parameter.clone();
        async move {
            store
                .get_flag(&parameter)
                .await
                .with_context(|| format!("reading {parameter}"))
        }
    };
    match &args.command {
        FlagsCommand::List => {
            let mut rows = Vec::new();
            for route in policy.routes.values() {
                rows.push(row(route, get(route).await?.as_ref()));
            }
            match args.format {
                Format::Json => print_json(&rows)?,
                Format::Text => {
                    let cells: Vec<Vec<String>> = rows
                        .iter()
                        .map(|r| {
                            vec![
                                r["route"].as_str().unwrap_or_default().to_owned(),
                                r["model"].as_str().unwrap_or_default().to_owned(),
                                format!("{}/{}", r["step"], r["ladder_size"]),
                                if r["pinned"] == true {
                                    "pinned".into()
                                } else {
                                    String::new()
                                },
                                r["changed_at"].as_str().unwrap_or("-").to_owned(),
                                r["changed_by"].as_str().unwrap_or("-").to_owned(),
                            ]
                        })
                        .collect();
                    emit(&table(
                        &["ROUTE", "MODEL", "STEP", "PIN", "CHANGED", "BY"],
                        &cells,
                        &[2],
                    ));
                }
            }
        }
        FlagsCommand::Show { route: name } => {
            let route = route(policy, name)?;
            let flag = get(route).await?;
            match args.format {
                Format::Json => print_json(&row(route, flag.as_ref()))?,
                Format::Text => {
                    let state = RouteState::of(route, flag.as_ref());
                    let mut out = format!(
                        "route:     {}\nparameter: {}\nmodel:     {} (step {} of {}){}\n",
                        route.name,
                        route.parameter,
                        state.model_id,
                        state.step,
                        route.ladder.len(),
                        if state.pinned { ", pinned" } else { "" }
                    );
                    match &flag {
                        None => out.push_str(
                            "flag:      none yet (the route is at the top of its ladder)\n",
                        ),
                        Some(f) => out.push_str(&format!(
                            "budget:    {} (period from {})\nchanged:   {} by {}\nreason:    {}\n",
                            f.budget.as_deref().unwrap_or("-"),
                            f.period_start.map_or("-".into(), |d| d.to_string()),
                            f.changed_at,
                            f.changed_by,
                            f.reason
                        )),
                    }
                    for (i, model) in route.ladder.iter().enumerate() {
                        let mark = if i + 1 == state.step { "->" } else { "  " };
                        out.push_str(&format!("  {mark} {}. {model}\n", i + 1));
                    }
                    emit(&out);
                }
            }
        }
        FlagsCommand::Set { route: name, model } => {
            let route = route(policy, name)?;
            let step = step_of(route, model)?;
            let current = get(route).await?;
            let pinned = current.as_ref().is_some_and(|f| f.pinned);
            let flag = write(
                policy,
                store,
                route,
                current.as_ref(),
                step,
                pinned,
                &who,
                &reason("set"),
            )
            .await?;
            report(args, &flag, "set");
        }
        FlagsCommand::Pin { route: name } | FlagsCommand::Unpin { route: name } => {
            let pin = matches!(args.command, FlagsCommand::Pin { .. });
            let route = route(policy, name)?;
            let current = get(route).await?;
            let step = RouteState::of(route, current.as_ref()).step;
            let verb = if pin { "pin" } else { "unpin" };
            let flag = write(
                policy,
                store,
                route,
                current.as_ref(),
                step,
                pin,
                &who,
                &reason(verb),
            )
            .await?;
            report(args, &flag, if pin { "pinned" } else { "unpinned" });
        }
        FlagsCommand::Restore { route: name } => {
            let routes: Vec<&RouteSpec> = match name {
                Some(name) => vec![route(policy, name)?],
                None => policy.routes.values().collect(),
            };
            let mut restored = Vec::new();
            for route in routes {
                let current = get(route).await?;
                let state = RouteState::of(route, current.as_ref());
                if state.step == 1 {
                    continue;
                }
                let flag = write(
                    policy,
                    store,
                    route,
                    current.as_ref(),
                    1,
                    state.pinned,
                    &who,
                    &reason("restore"),
                )
                .await?;
                restored.push(flag);
            }
            match args.format {
                Format::Json => print_json(&restored)?,
                Format::Text if restored.is_empty() => {
                    emit("every route is already at the top of its ladder\n")
                }
                Format::Text => {
                    for f in &restored {
                        emit(&format!("restored {}: {} (step 1)\n", f.route, f.model_id));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report(args: &Args, flag: &Flag, verb: &str) {
    match args.format {
        Format::Json => {
            let _ = print_json(flag);
        }
        Format::Text => emit(&format!(
            "{verb} {}: {} (step {} of {}){} by {}\n",
            flag.route,
            flag.model_id,
            flag.step,
            flag.ladder_size,
            if flag.pinned { ", pinned" } else { "" },
            flag.changed_by
        )),
    }
}
