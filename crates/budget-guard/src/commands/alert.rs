//! `budget-guard alert parse|simulate|handle`: what an alert says, what the alert-handler would do
//! with it (no side effects), and the handler itself, once, against the live services.

use super::export::policy_failure;
use crate::output::{Format, emit, print_json};
use crate::policy_files::load_policy;
use anyhow::Context;
use chrono::{DateTime, Utc};
use guard_aws::wiring::env::{ALERTS_TOPIC_ENV, NOTIFY_TOPIC_ENV};
use guard_core::alerts::flags::Flag;
use guard_core::alerts::handler::{Handler, ledger_key};
use guard_core::alerts::ledger::{Ledger, Pin, Requirement};
use guard_core::alerts::notice::Notice;
use guard_core::alerts::parse::{Alert, sns::parse_input};
use guard_core::alerts::ports::StateStore;
use guard_core::alerts::routing::{RouteAction, Trust};
use guard_core::policy::Policy;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AlertCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AlertCommand {
    /// Show what an alert says. FILE is a bare message (AWS Budgets text or a spend alert) or a
    /// whole Lambda SNS event. Exits 1 when it holds no alert.
    Parse {
        file: PathBuf,
        /// json: {"kind","budget_name","alert_type","threshold","budgeted","amount","period"}
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show what the alert-handler would do with an alert, without doing it.
    Simulate {
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
        /// The policy as PATHS gives it; kept for scripts written before PATHS
        #[arg(long = "policy", value_name = "PATHS", num_args = 1..)]
        policy: Vec<PathBuf>,
        /// A bare alert message (AWS Budgets text or a spend alert JSON)
        #[arg(
            long,
            conflicts_with = "event_file",
            required_unless_present = "event_file"
        )]
        message_file: Option<PathBuf>,
        /// A Lambda SNS event
        #[arg(long)]
        event_file: Option<PathBuf>,
        /// The current flags: `budget-guard flags list --format json` output, a JSON array of flags,
        /// or an object of flags by route. Without it every route is at the top of its ladder.
        #[arg(long)]
        flags_file: Option<PathBuf>,
        /// The time to decide at (RFC 3339) [default: now]
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        /// json: {"budget","threshold","actions":[{"type":"downgrade","route","from","to"},{"type":"slack","channel"},{"type":"email","channel"}]}
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Run the alert-handler once on an event (an SNS event or a roll-over tick), against the real
    /// services of the environment, as of --at: to replay a missed alert or tick. Flags, Slack and
    /// email are real. SNS records of any topic but the alerts topic are ignored, as in the function.
    Handle {
        /// The Lambda event, as JSON
        #[arg(long)]
        event_file: PathBuf,
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
        /// Handle the event as of this time (RFC 3339, e.g. 2026-12-01T00:05:00Z) [default: now].
        /// A tick's own time must be within 15 minutes of it.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        /// The alerts topic (stack output AlertsTopicArn): the only topic whose records are handled,
        /// and whose account AWS Budgets alerts must name
        #[arg(long, env = ALERTS_TOPIC_ENV)]
        alerts_topic_arn: Option<String>,
        /// The notify topic of the email channels (stack output NotifyTopicArn)
        #[arg(long, env = NOTIFY_TOPIC_ENV)]
        notify_topic_arn: Option<String>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        AlertCommand::Parse { file, format } => parse(&file, format),
        AlertCommand::Simulate {
            paths,
            policy,
            message_file,
            event_file,
            flags_file,
            at,
            format,
        } => {
            let file = message_file
                .or(event_file)
                .context("give --message-file or --event-file")?;
            simulate(
                &crate::policy_files::policy_paths(&paths, &policy)?,
                &file,
                flags_file.as_deref(),
                at.unwrap_or_else(Utc::now),
                format,
            )
        }
        AlertCommand::Handle {
            event_file,
            paths,
            at,
            alerts_topic_arn,
            notify_topic_arn,
        } => handle(
            &event_file,
            &paths,
            at.unwrap_or_else(Utc::now),
            alerts_topic_arn,
            notify_topic_arn,
        ),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn alerts_of(path: &Path) -> anyhow::Result<Result<Vec<Alert>, String>> {
    let text = read(path)?;
    Ok(parse_input(&text)
        .map(|records| records.into_iter().map(|r| r.alert).collect())
        .map_err(|e| format!("{} holds no alert: {e}", path.display())))
}

fn parse(file: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let alerts = match alerts_of(file)? {
        Ok(alerts) => alerts,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(1));
        }
    };
    match format {
        Format::Json => {
            let mut values: Vec<Value> = alerts.iter().map(Alert::to_summary_json).collect();
            if values.len() == 1 {
                print_json(&values.remove(0))?;
            } else {
                print_json(&values)?;
            }
        }
        Format::Text => {
            let mut out = String::new();
            for a in &alerts {
                let period = a.period().map_or("unknown", |p| p.as_str());
                out.push_str(&format!(
                    "{} alert for budget {}: {} {} of {} (threshold {}, {}%), period {}\n",
                    if a.kind() == "budgets" {
                        "AWS Budgets"
                    } else {
                        "Spend watcher"
                    },
                    a.budget_name(),
                    a.alert_type(),
                    guard_core::pricing::estimate::usd(a.amount()),
                    guard_core::pricing::estimate::usd(a.budgeted()),
                    guard_core::pricing::estimate::usd(a.threshold()),
                    a.threshold_percent(),
                    period
                ));
            }
            emit(&out);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a flags file: `flags list --format json` output (`[{route, flag, ...}]`), an array of
/// flags, or an object of flags by route.
pub fn read_flags_file(path: &Path) -> anyhow::Result<BTreeMap<String, Flag>> {
    let value: Value = serde_json::from_str(&read(path)?)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let parse = |v: &Value| -> anyhow::Result<Option<Flag>> {
        let v = v.get("flag").unwrap_or(v);
        if v.is_null() {
            return Ok(None);
        }
        Flag::parse(&v.to_string())
            .map(Some)
            .with_context(|| format!("a flag of {}", path.display()))
    };
    let mut flags = BTreeMap::new();
    match &value {
        Value::Array(items) => {
            for item in items {
                if let Some(flag) = parse(item)? {
                    flags.insert(flag.route.clone(), flag);
                }
            }
        }
        Value::Object(map) => {
            for (route, item) in map {
                if let Some(flag) = parse(item)? {
                    flags.insert(route.clone(), flag);
                }
            }
        }
        _ => anyhow::bail!(
            "{}: expected a JSON array or object of flags",
            path.display()
        ),
    }
    Ok(flags)
}

/// The ledger that the current flags imply: each flag's step required by its budget for its
/// period, and its pin. What the handler really keeps is in AWS; a simulation starts from the flags.
fn ledgers_of(policy: &Policy, flags: &BTreeMap<String, Flag>) -> Vec<Ledger> {
    let mut ledgers = Vec::new();
    for (route, flag) in flags {
        let mut ledger = Ledger::new(route);
        if flag.pinned {
            ledger.pin = Some(Pin {
                step: flag.step,
                by: flag.changed_by.clone(),
                reason: flag.reason.clone(),
                at: flag.changed_at,
            });
        }
        if let (Some(budget), Some(start)) = (
            flag.budget
                .as_deref()
                .and_then(|b| policy.budget_by_name(b)),
            flag.period_start,
        ) {
            ledger.add(Requirement {
                budget: Some(budget.name.clone()),
                period: budget.period,
                period_start: start,
                threshold: "(the current flag)".to_owned(),
                step: flag.step,
                alert_ids: vec![],
            });
        }
        ledgers.push(ledger);
    }
    ledgers
}

/// What the handler does with `alert` at `now`, run on in-memory ports seeded with `flags`, as
/// `alert simulate --format json` prints it.
pub async fn decision_json(
    policy: &Policy,
    alert: &Alert,
    flags: &BTreeMap<String, Flag>,
    now: DateTime<Utc>,
) -> Value {
    let handler = Handler::in_memory(policy.clone(), Trust::default());
    for (route, flag) in flags {
        if let Some(spec) = policy.routes.get(route) {
            handler.flags.insert(&spec.parameter, flag.clone());
        }
    }
    for ledger in ledgers_of(policy, flags) {
        let _ = handler
            .state
            .put_state(&ledger_key(&ledger.route), &ledger.to_json())
            .await;
    }
    let outcome = handler.handle_alert("simulation", alert, now, None).await;
    let job = outcome
        .as_ref()
        .ok()
        .and_then(|o| handler.state.job(&o.job));
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    let (mut budget, mut threshold, mut matched) = (None, None, false);
    if let Some(Notice::Alert(notice)) = job.as_ref().map(|j| &j.notice) {
        matched = notice.unmatched.is_none();
        threshold.clone_from(&notice.threshold_label);
        budget = policy
            .budget_by_name(&notice.budget_name)
            .filter(|_| matched)
            .map(|b| b.key.clone());
        if let Some(reason) = &notice.unmatched {
            notes.push(format!("unmatched: {reason}; no flag changes"));
        }
        if notice.late {
            notes
                .push("late: the alert is about a period that is over; no flag changes".to_owned());
        }
        match &notice.action {
            Some(RouteAction::Downgrade {
                route,
                from_model,
                to_model,
                from_step,
                to_step,
                ..
            }) => actions.push(
                json!({"type": "downgrade", "route": route, "from": from_model, "to": to_model,
                                        "from_step": from_step, "to_step": to_step}),
            ),
            Some(RouteAction::Pinned { route, model, .. }) => {
                notes.push(format!("route {route} is pinned on {model}: left alone"));
            }
            Some(RouteAction::AlreadyThere { route, model, .. }) => notes.push(format!(
                "route {route} is already on {model}, at or below the target"
            )),
            Some(RouteAction::UnknownRoute { route }) => {
                notes.push(format!("route {route} is not in the policy"));
            }
            _ => {}
        }
    }
    if let Some(job) = &job {
        for channel in &job.slack {
            actions.push(json!({"type": "slack", "channel": channel}));
        }
        for channel in &job.email {
            actions.push(json!({"type": "email", "channel": channel}));
        }
    }
    json!({
        "budget": budget,
        "budget_name": alert.budget_name(),
        "matched": matched,
        "threshold": threshold,
        "actions": actions,
        "notes": notes,
    })
}

fn simulate(
    paths: &[PathBuf],
    file: &Path,
    flags_file: Option<&Path>,
    now: DateTime<Utc>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(paths) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let alerts = match alerts_of(file)? {
        Ok(alerts) => alerts,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(1));
        }
    };
    let flags = match flags_file {
        Some(path) => read_flags_file(path)?,
        None => BTreeMap::new(),
    };
    let runtime = super::apply::runtime()?;
    let mut decisions: Vec<Value> = alerts
        .iter()
        .map(|a| runtime.block_on(decision_json(&policy, a, &flags, now)))
        .collect();
    match format {
        Format::Json if decisions.len() == 1 => print_json(&decisions.remove(0))?,
        Format::Json => print_json(&decisions)?,
        Format::Text => {
            let mut out = String::new();
            for d in &decisions {
                let budget = d["budget"].as_str().unwrap_or("(no budget of the policy)");
                let threshold = d["threshold"]
                    .as_str()
                    .unwrap_or("(no threshold of the policy)");
                out.push_str(&format!(
                    "alert for {}: budget {budget}, threshold {threshold}\n",
                    d["budget_name"].as_str().unwrap_or("")
                ));
                for a in d["actions"].as_array().into_iter().flatten() {
                    let line = match a["type"].as_str() {
                        Some("downgrade") => format!(
                            "  downgrade {}: {} -> {}",
                            a["route"].as_str().unwrap_or(""),
                            a["from"].as_str().unwrap_or(""),
                            a["to"].as_str().unwrap_or("")
                        ),
                        Some(kind) => format!("  {kind} {}", a["channel"].as_str().unwrap_or("")),
                        None => continue,
                    };
                    out.push_str(&line);
                    out.push('\n');
                }
                for n in d["notes"].as_array().into_iter().flatten() {
                    out.push_str(&format!("  note: {}\n", n.as_str().unwrap_or("")));
                }
            }
            out.push_str("(simulation: nothing was changed or sent)\n");
            emit(&out);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The alerts and notify topics the alert handler's code needs, from the flags or the environment.
pub(crate) fn topics(
    alerts_topic_arn: Option<String>,
    notify_topic_arn: Option<String>,
) -> anyhow::Result<(String, String)> {
    let notify = notify_topic_arn.with_context(|| {
        format!("the notify topic is needed: pass --notify-topic-arn or set {NOTIFY_TOPIC_ENV} (stack output NotifyTopicArn)")
    })?;
    let alerts = alerts_topic_arn.with_context(|| {
        format!("the alerts topic is needed: pass --alerts-topic-arn or set {ALERTS_TOPIC_ENV} (stack output AlertsTopicArn)")
    })?;
    Ok((alerts, notify))
}

fn handle(
    event_file: &Path,
    paths: &[PathBuf],
    at: DateTime<Utc>,
    alerts_topic_arn: Option<String>,
    notify_topic_arn: Option<String>,
) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(paths) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let event: Value = serde_json::from_str(&read(event_file)?)
        .with_context(|| format!("{} is not JSON", event_file.display()))?;
    let (alerts, topic) = topics(alerts_topic_arn, notify_topic_arn)?;
    let runtime = super::apply::runtime()?;
    runtime.block_on(async {
        let config = guard_aws::sdk::load().await;
        let handler =
            guard_aws::wiring::alert_handler::live_handler(&config, policy, &alerts, &topic)?;
        match guard_aws::wiring::alert_handler::handle_event(&handler, &event, at, None).await {
            Ok(report) => {
                print_json(&report)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(guard_aws::wiring::alert_handler::EventError::Failed {
                report, summary, ..
            }) => {
                print_json(&report)?;
                eprintln!("error: {summary}");
                eprintln!(
                    "run the same command again to retry what failed; what succeeded is not redone"
                );
                Ok(ExitCode::from(1))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(1))
            }
        }
    })
}
