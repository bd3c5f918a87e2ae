//! `budget-guard flags list|show|set|pin|unpin|restore`: the live routing flags in SSM.
//!
//! Flags are derived from the alert handler's ledger (see `guard_core::alerts::ledger`): `set` adds an
//! operator's requirement that lasts until the roll-over of the route's budget period, `pin` holds
//! a route whatever alerts and periods do, `unpin` lets the ledger decide again, and `restore`
//! drops a route's requirements. The alert handler is the one writer of flags: these four are sent
//! to the deployed function (a synchronous Lambda invoke of a command), so a pin and an alert are
//! handled one after the other. Who may send them is IAM's decision (`lambda:InvokeFunction`).
//!
//! `list` and `show` read SSM and print the model the flag really names; a flag off its route's
//! ladder is marked, and the alert handler rewrites it at its next event or tick.

use super::export::policy_failure;
use crate::output::{Format, emit, print_json, table};
use crate::policy_files::{load_policy, policy_paths};
use anyhow::{Context, bail};
use guard_aws::lambda::commands as handler_commands;
use guard_aws::ssm::SsmFlagStore;
use guard_aws::wiring::env::ALERT_HANDLER_ENV;
use guard_core::alerts::flags::{Flag, RouteState};
use guard_core::alerts::handler::{Command, RouteReport};
use guard_core::alerts::ledger::off_ladder;
use guard_core::alerts::ports::FlagStore;
use guard_core::policy::{Policy, RouteSpec};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: FlagsCommand,
    /// The policy, as the other commands take it after their arguments; kept for scripts written
    /// before PATHS
    #[arg(long = "policy", value_name = "PATHS", num_args = 1.., global = true)]
    pub policy: Vec<PathBuf>,
    /// Who makes the change (recorded in the flag) [default: $USER]
    #[arg(long, global = true)]
    pub who: Option<String>,
    /// Why (recorded in the flag)
    #[arg(long, global = true)]
    pub reason: Option<String>,
    /// json: list gives [{route, model, off_ladder, step, pinned, ...}]
    #[arg(long, value_enum, default_value_t, global = true)]
    pub format: Format,
    /// The alert handler's function name or ARN (stack output AlertHandlerName), to which set,
    /// pin, unpin and restore are sent
    #[arg(long, env = ALERT_HANDLER_ENV, global = true)]
    pub alert_handler: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum FlagsCommand {
    /// Every route: its model, step, pin and last change.
    List {
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
    },
    /// One route's flag in full.
    Show {
        route: String,
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
    },
    /// Put a route on a model of its ladder (a model id, a step number, `top` or `cheapest`).
    Set {
        route: String,
        model: String,
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
    },
    /// Pin a route where it is: no alert and no roll-over moves it.
    Pin {
        route: String,
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
    },
    /// Unpin a route.
    Unpin {
        route: String,
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
    },
    /// Put a route, or with --all every route, back on the top of its ladder.
    Restore {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        route: Option<String>,
        /// Every route of the policy.
        #[arg(long)]
        all: bool,
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
    },
}

impl FlagsCommand {
    fn paths(&self) -> &[PathBuf] {
        match self {
            FlagsCommand::List { paths }
            | FlagsCommand::Show { paths, .. }
            | FlagsCommand::Set { paths, .. }
            | FlagsCommand::Pin { paths, .. }
            | FlagsCommand::Unpin { paths, .. }
            | FlagsCommand::Restore { paths, .. } => paths,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = policy_paths(args.command.paths(), &args.policy)?;
    let policy = match load_policy(&paths) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let runtime = super::apply::runtime()?;
    runtime.block_on(async {
        let config = guard_aws::sdk::load().await;
        let clients = Clients {
            flags: SsmFlagStore::new(aws_sdk_ssm::Client::new(&config)),
            lambda: aws_sdk_lambda::Client::new(&config),
        };
        run_with(&policy, &clients, &args).await
    })
}

#[derive(Debug)]
struct Clients {
    flags: SsmFlagStore,
    lambda: aws_sdk_lambda::Client,
}

fn route<'a>(policy: &'a Policy, name: &str) -> anyhow::Result<&'a RouteSpec> {
    policy.routes.get(name).with_context(|| {
        format!(
            "no route {name} in the policy; routes: {}",
            policy.routes.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

/// One route's row: `{route, parameter, model, off_ladder, step, ladder_size, pinned, ..., flag}`.
/// `model` is what the flag names, even off the ladder.
fn row(route: &RouteSpec, flag: Option<&Flag>) -> Value {
    let state = RouteState::of(route, flag);
    json!({
        "route": route.name,
        "parameter": route.parameter,
        "model": flag.map_or(state.model_id.as_str(), |f| f.model_id.as_str()),
        "off_ladder": off_ladder(route, flag),
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

/// Sends `command` to the alert handler. Without its name, or without permission to invoke it,
/// says so and changes nothing.
async fn command(
    clients: &Clients,
    args: &Args,
    command: Command,
) -> anyhow::Result<Vec<RouteReport>> {
    let verb = command_name(&args.command);
    let function = args.alert_handler.as_deref().with_context(|| {
        format!(
            "`flags {verb}` is carried out by the alert handler, the one writer of flags: pass --alert-handler NAME or set {ALERT_HANDLER_ENV} (stack output AlertHandlerName); nothing was changed"
        )
    })?;
    Ok(handler_commands::send(&clients.lambda, function, &command).await?)
}

fn command_name(command: &FlagsCommand) -> &'static str {
    match command {
        FlagsCommand::List { .. } => "list",
        FlagsCommand::Show { .. } => "show",
        FlagsCommand::Set { .. } => "set",
        FlagsCommand::Pin { .. } => "pin",
        FlagsCommand::Unpin { .. } => "unpin",
        FlagsCommand::Restore { .. } => "restore",
    }
}

async fn run_with(policy: &Policy, clients: &Clients, args: &Args) -> anyhow::Result<ExitCode> {
    let store = &clients.flags;
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
        FlagsCommand::List { .. } => {
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
                                if r["off_ladder"] == true {
                                    format!(
                                        "{} (OFF LADDER)",
                                        r["model"].as_str().unwrap_or_default()
                                    )
                                } else {
                                    r["model"].as_str().unwrap_or_default().to_owned()
                                },
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
        FlagsCommand::Show { route: name, .. } => {
            let route = route(policy, name)?;
            let flag = get(route).await?;
            match args.format {
                Format::Json => print_json(&row(route, flag.as_ref()))?,
                Format::Text => {
                    let state = RouteState::of(route, flag.as_ref());
                    let mut out = if off_ladder(route, flag.as_ref()) {
                        format!(
                            "route:     {}\nparameter: {}\nmodel:     {} (OFF LADDER: not a model of this route; the alert handler rewrites it at its next event or tick)\n",
                            route.name,
                            route.parameter,
                            flag.as_ref().map_or("", |f| f.model_id.as_str()),
                        )
                    } else {
                        format!(
                            "route:     {}\nparameter: {}\nmodel:     {} (step {} of {}){}\n",
                            route.name,
                            route.parameter,
                            state.model_id,
                            state.step,
                            route.ladder.len(),
                            if state.pinned { ", pinned" } else { "" }
                        )
                    };
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
        FlagsCommand::Set {
            route: name, model, ..
        } => {
            let step = step_of(route(policy, name)?, model)?;
            let reports = command(
                clients,
                args,
                Command::Set {
                    route: name.clone(),
                    step,
                    by: who.clone(),
                    reason: reason("set"),
                },
            )
            .await?;
            report(args, &reports, "set", Some(step));
        }
        FlagsCommand::Pin { route: name, .. } => {
            let reports = command(
                clients,
                args,
                Command::Pin {
                    route: name.clone(),
                    step: None,
                    by: who.clone(),
                    reason: reason("pin"),
                },
            )
            .await?;
            report(args, &reports, "pinned", None);
        }
        FlagsCommand::Unpin { route: name, .. } => {
            let reports = command(
                clients,
                args,
                Command::Unpin {
                    route: name.clone(),
                    by: who.clone(),
                    reason: reason("unpin"),
                },
            )
            .await?;
            report(args, &reports, "unpinned", None);
        }
        FlagsCommand::Restore { route: name, .. } => {
            if let Some(name) = name {
                route(policy, name)?;
            }
            let reports = command(
                clients,
                args,
                Command::Restore {
                    route: name.clone(),
                    by: who.clone(),
                    reason: reason("restore"),
                },
            )
            .await?;
            report(args, &reports, "restored", None);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report(args: &Args, reports: &[RouteReport], verb: &str, asked: Option<usize>) {
    if args.format == Format::Json {
        let _ = print_json(&reports);
        return;
    }
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "{verb} {}: {} (step {}){}{}\n",
            r.route,
            r.model_id,
            r.step,
            if r.pinned { ", pinned" } else { "" },
            if r.written { "" } else { " (flag unchanged)" }
        ));
        if let Some(step) = asked
            && r.step != step
            && let Some(because) = &r.because
        {
            out.push_str(&format!(
                "  the route stays at step {} because {because}; `flags pin` holds it elsewhere\n",
                r.step
            ));
        }
    }
    emit(&out);
}
