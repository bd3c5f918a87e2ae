//! `make demo`: a day in the life of Budget Guard on this machine, with no AWS account.
//!
//! The AWS emulator and a local Slack listener start on 127.0.0.1; the real function binaries run
//! under a local Lambda runtime API. The example policy is applied, the spend watcher sees Bedrock
//! tokens cross 90% of the chatbot budget, an AWS Budgets alert arrives through SNS, and the budget
//! period rolls over. Everything started is stopped at the end.

use anyhow::{Context, Result, bail};
use chrono::{Datelike, TimeZone, Utc};
use guard_e2e::{Stage, StageOptions};
use guard_testkit::budgets_alert_text;
use serde_json::Value;
use std::time::Instant;

const CHATBOT_BUDGET: &str = "bg-chatbot";

struct Timeline {
    started: Instant,
    events: Vec<(f64, String)>,
}

impl Timeline {
    fn note(&mut self, what: impl Into<String>) {
        let what = what.into();
        let at = self.started.elapsed().as_secs_f64();
        println!("  [{at:6.2}s] {what}");
        self.events.push((at, what));
    }
}

fn heading(text: &str) {
    println!("\n\x1b[1m== {text}\x1b[0m");
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("      {l}\n")).collect()
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("demo failed: {e:#}");
        std::process::exit(1);
    }
}

async fn routes(stage: &Stage, timeline: &mut Timeline) -> Result<()> {
    for route in stage.policy.routes.values() {
        let model = stage.model_of(&route.name).await?;
        let step = route.step_of(&model).unwrap_or(1);
        timeline.note(format!(
            "route {:<18} runs {model} (step {step} of {})",
            route.name,
            route.ladder.len()
        ));
    }
    Ok(())
}

fn slack_summary(stage: &Stage, since: usize, timeline: &mut Timeline) -> usize {
    let posts = stage.slack.posted_json();
    for post in posts.iter().skip(since) {
        let text = post
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("(blocks only)");
        timeline.note(format!(
            "Slack <- {}",
            text.lines().next().unwrap_or_default()
        ));
    }
    posts.len()
}

async fn email_summary(stage: &Stage, since: usize, timeline: &mut Timeline) -> Result<usize> {
    let emails = stage.emails().await?;
    for email in emails.iter().skip(since) {
        timeline.note(format!(
            "email <- {}",
            email.subject.clone().unwrap_or_default()
        ));
    }
    Ok(emails.len())
}

async fn run() -> Result<()> {
    let wall = Instant::now();
    heading("Starting the AWS emulator, a Slack listener and the three functions");
    let stage = Stage::start(StageOptions::default()).await?;
    let mut timeline = Timeline {
        started: wall,
        events: Vec::new(),
    };
    timeline.note(format!("AWS emulator at {}", stage.aws.endpoint()));
    timeline.note(format!("Slack webhook listener at {}", stage.slack.url()));
    timeline.note(
        "provisioner, alert-handler and spend-watcher running under a local Lambda runtime API",
    );

    heading("1. Apply policies/example.yaml");
    let plan = stage.cli(&["plan", "policies"])?;
    if plan.code != 0 {
        bail!("plan failed: {}{}", plan.stdout, plan.stderr);
    }
    print!("{}", indent(&plan.stdout));
    let apply = stage.cli(&["apply", "policies", "--yes"])?;
    if apply.code != 0 {
        bail!("apply failed: {}{}", apply.stdout, apply.stderr);
    }
    timeline.note(format!(
        "budget-guard apply: {}",
        apply.stdout.lines().last().unwrap_or_default()
    ));
    let again = stage.cli(&["plan", "policies", "--detailed-exitcode"])?;
    timeline.note(format!(
        "second plan: {} (exit {})",
        again.stdout.lines().last().unwrap_or_default(),
        again.code
    ));
    if again.code != 0 {
        bail!("the second plan is not empty:\n{}", again.stdout);
    }
    let repair = stage.drift_repair().await?;
    timeline.note(format!("provisioner drift repair: {}", compact(&repair)));
    routes(&stage, &mut timeline).await?;

    heading("2. The spend watcher sees Bedrock tokens cross 90% of the chatbot budget");
    // The story's own date, whatever today's is: the functions run on the stage's clock.
    let now = guard_e2e::story_start() + chrono::Duration::hours(5);
    // $3.30 per 1M input and $16.50 per 1M output tokens: 10M in + 26M out = $462, 92% of $500.
    stage.seed_chatbot_at_92_percent(now).await?;
    timeline.note(format!(
        "Bedrock published 10M input and 26M output tokens on {}",
        guard_e2e::SONNET_4_5
    ));
    let (answer, handled) = stage.spend_tick(now).await?;
    timeline.note(format!("spend watcher: {}", compact(&Ok(answer))));
    timeline.note(format!(
        "alert handler got {} alert(s) from the spend watcher",
        handled.len()
    ));
    let mut slack_seen = slack_summary(&stage, 0, &mut timeline);
    let mut emails_seen = email_summary(&stage, 0, &mut timeline).await?;
    routes(&stage, &mut timeline).await?;

    heading("3. An AWS Budgets alert arrives through SNS: 100% of the chatbot budget");
    let date = format!(
        "{} {:02}, {}",
        month_name(now.month()),
        now.day(),
        now.year()
    );
    let text = budgets_alert_text(CHATBOT_BUDGET, "500.00", "500.00", "503.12", &date);
    let subject = format!("AWS Budgets: {CHATBOT_BUDGET} has exceeded your alert threshold");
    let answers = stage.publish_alert(&subject, &text).await?;
    timeline.note(format!(
        "alert handler: {}",
        answers.iter().map(compact).collect::<Vec<_>>().join("; ")
    ));
    slack_seen = slack_summary(&stage, slack_seen, &mut timeline);
    emails_seen = email_summary(&stage, emails_seen, &mut timeline).await?;
    routes(&stage, &mut timeline).await?;

    heading("4. SNS delivers the same alert again");
    let again = stage
        .last_alert_event()
        .context("no alert was delivered yet")?;
    let redelivered = stage
        .alert_handler
        .invoke(&again, guard_e2e::INVOKE_TIMEOUT)
        .await?;
    timeline.note(format!("alert handler: {}", compact(&redelivered.result)));
    let before = slack_seen;
    slack_seen = slack_summary(&stage, slack_seen, &mut timeline);
    timeline.note(format!("new Slack posts: {}", slack_seen - before));

    heading("5. The budget period rolls over");
    let next_month = Utc
        .with_ymd_and_hms(
            if now.month() == 12 {
                now.year() + 1
            } else {
                now.year()
            },
            if now.month() == 12 {
                1
            } else {
                now.month() + 1
            },
            1,
            0,
            5,
            0,
        )
        .single()
        .context("the first of next month")?;
    let tick = stage.rollover_tick(next_month).await?;
    timeline.note(format!(
        "roll-over tick at {next_month}: {}",
        compact(&tick)
    ));
    slack_summary(&stage, slack_seen, &mut timeline);
    email_summary(&stage, emails_seen, &mut timeline).await?;
    routes(&stage, &mut timeline).await?;

    heading("Stopping everything this demo started");
    drop(stage);
    println!(
        "  done in {:.1}s; next: `make test` runs every test, README.md shows how to deploy for real",
        wall.elapsed().as_secs_f64()
    );
    Ok(())
}

fn compact(result: &Result<Value, Value>) -> String {
    match result {
        Ok(v) => short(v),
        Err(e) => format!("ERROR {}", short(e)),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 160 {
        format!(
            "{}...",
            &text[..text.char_indices().nth(157).map_or(text.len(), |(i, _)| i)]
        )
    } else {
        text
    }
}

fn month_name(month: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][(month as usize).saturating_sub(1).min(11)]
}
