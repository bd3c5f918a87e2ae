//! Benchmarks of the functions as processes (`scripts/bench.sh` runs this on release builds):
//!
//! - cold start of each function binary: process start to its first answered invocation under the
//!   local Lambda runtime API;
//! - warm latency of one alert with every action (flag change, Slack, email) against the emulator
//!   and a Slack listener that answers after 50 ms;
//! - `budget-guard alert handle` on one alert as a whole process, against `python3 -c 'import boto3'`;
//! - each function's peak resident memory over the run.
//!
//! It prints figures; it asserts nothing about time.

use anyhow::{Context, Result, bail};
use guard_e2e::{INVOKE_TIMEOUT, Stage, StageOptions, event_of_notification, function_binary};
use guard_testkit::{Script, budgets_alert_text, workspace_root};
use serde_json::json;
use std::time::{Duration, Instant};

const RUNS: usize = 20;

fn stats(samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = samples[samples.len() / 2];
    let p90 = samples[(samples.len() * 9 / 10).min(samples.len() - 1)];
    format!(
        "median {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms (n={})",
        ms(median),
        ms(p90),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let profile = std::env::var("BUDGET_GUARD_PROFILE").unwrap_or_else(|_| "debug".into());
    println!("# Budget Guard function benchmarks ({profile} binaries)\n");

    // Cold starts: a fresh stage per function and run, the function invoked as soon as it is spawned,
    // so that nothing else's work is counted.
    let names = ["provisioner", "alert-handler", "spend-watcher"];
    let mut cold: Vec<(&str, Vec<Duration>, Vec<Duration>)> =
        names.iter().map(|n| (*n, vec![], vec![])).collect();
    for _ in 0..5 {
        for (name, answered, init) in &mut cold {
            let stage = Stage::start(StageOptions::default()).await?;
            warm_emulator(&stage).await;
            let fresh = guard_testkit::LocalLambda::start(
                &function_binary(name)?,
                name,
                &stage.function_env(),
            )?;
            let answer = fresh
                .invoke(
                    &guard_e2e::scheduled_event(tick_of(name), chrono::Utc::now()),
                    INVOKE_TIMEOUT,
                )
                .await?;
            if let Err(e) = answer.result {
                bail!("{name} failed its first invocation: {e}");
            }
            answered.push(fresh.cold_start().context("no cold start measured")?);
            init.push(fresh.init_duration().context("no init measured")?);
        }
    }
    println!(
        "## Cold start: process start to first answered invocation (first event: drift repair applying the example policy to an empty account / roll-over tick / spend tick)\n"
    );
    for (name, answered, init) in &mut cold {
        println!("- {name}: {}", stats(answered));
        println!(
            "  - of which init (process start to first poll for work): {}",
            stats(init)
        );
    }

    // Warm alerts with every action: the flag is removed before each alert, so each one downgrades.
    let stage = Stage::start(StageOptions {
        policy_dir: workspace_root().join("policies"),
        slack: Script::with_delay(Duration::from_millis(50)),
        ..StageOptions::default()
    })
    .await?;
    let apply = stage.cli(&["apply", "--yes"])?;
    if apply.code != 0 {
        bail!("apply failed: {}", apply.stderr);
    }
    let ssm = aws_sdk_ssm::Client::new(&stage.config);
    let parameter = stage.policy.routes["support-chatbot"].parameter.clone();
    // The handler tells of a threshold once per budget period, so every run is a month later,
    // with the stage's clock, to keep each alert a new one that takes every action.
    let month = |i: usize| {
        let at = guard_e2e::story_start() + chrono::Months::new(u32::try_from(i).unwrap_or(0));
        let text = budgets_alert_text(
            "bg-chatbot",
            "500.00",
            "450.00",
            "455.00",
            &at.format("%B %-d, %Y").to_string(),
        );
        (at, text)
    };
    let mut warm = Vec::new();
    for i in 0..=RUNS {
        let (at, text) = month(i);
        stage.set_clock(at)?;
        let _ = ssm.delete_parameter().name(&parameter).send().await;
        let event = event_of_notification(&json!({
            "TopicArn": stage.alerts_topic_arn,
            "MessageId": format!("bench-{i}"),
            "Subject": "AWS Budgets: bg-chatbot has exceeded your alert threshold",
            "Message": text,
            "Timestamp": "2026-11-20T06:41:09.512Z",
        }));
        let answer = stage.alert_handler.invoke(&event, INVOKE_TIMEOUT).await?;
        let report = answer
            .result
            .map_err(|e| anyhow::anyhow!("alert failed: {e}"))?;
        let done = report["jobs"][0]["done"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0);
        if done < 3 {
            bail!("the alert did not take every action: {report}");
        }
        if i > 0 {
            warm.push(answer.duration); // the first is the cold one
        }
    }
    println!("\n## Warm alert with every action (flag, Slack answering after 50 ms, email)\n");
    println!("- alert-handler: {}", stats(&mut warm));

    // The CLI as a whole process, beside the cost of just importing boto3 in Python.
    let event_file =
        std::env::temp_dir().join(format!("bg-bench-event-{}.json", std::process::id()));
    let mut cli = Vec::new();
    for i in 0..RUNS {
        let (at, text) = month(RUNS + 1 + i);
        stage.set_clock(at)?;
        let _ = ssm.delete_parameter().name(&parameter).send().await;
        let event = event_of_notification(&json!({
            "TopicArn": stage.alerts_topic_arn, "MessageId": format!("cli-{i}"), "Subject": "AWS Budgets",
            "Message": text, "Timestamp": "2026-11-20T06:41:09.512Z",
        }));
        std::fs::write(&event_file, event.to_string())?;
        let started = Instant::now();
        let run = stage.cli(&[
            "alert",
            "handle",
            "--event-file",
            event_file.to_str().unwrap_or_default(),
        ])?;
        cli.push(started.elapsed());
        if run.code != 0 {
            bail!("alert handle failed: {}{}", run.stdout, run.stderr);
        }
    }
    let _ = std::fs::remove_file(&event_file);
    let python = std::env::var("BUDGET_GUARD_PYTHON").unwrap_or_else(|_| {
        workspace_root()
            .join(".venv/bin/python")
            .display()
            .to_string()
    });
    let mut boto = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let status = std::process::Command::new(&python)
            .args(["-c", "import boto3"])
            .status()?;
        boto.push(started.elapsed());
        if !status.success() {
            bail!("{python} -c 'import boto3' failed");
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (cli_median, boto_median) = (median(&mut cli), median(&mut boto));
    println!(
        "\n## `budget-guard alert handle` on one alert (whole process, every action) vs `python3 -c 'import boto3'`\n"
    );
    println!("- budget-guard alert handle: {}", stats(&mut cli));
    println!("- python -c 'import boto3': {}", stats(&mut boto));
    println!(
        "- ratio (median): {:.2}x the time of importing boto3",
        cli_median.as_secs_f64() / boto_median.as_secs_f64()
    );

    println!("\n## Peak resident memory (VmHWM) of each function process after the runs above\n");
    for (name, lambda) in [
        ("provisioner", &stage.provisioner),
        ("alert-handler", &stage.alert_handler),
        ("spend-watcher", &stage.spend_watcher),
    ] {
        let _ = lambda
            .invoke(
                &guard_e2e::scheduled_event(tick_of(name), chrono::Utc::now()),
                INVOKE_TIMEOUT,
            )
            .await?;
        println!(
            "- {name}: {} KiB",
            lambda
                .peak_rss_kib()
                .map(|k| k.to_string())
                .unwrap_or_else(|| "n/a".into())
        );
    }
    for name in [
        "provisioner",
        "alert-handler",
        "spend-watcher",
        "budget-guard",
    ] {
        let size = std::fs::metadata(function_binary(name)?)?.len();
        println!(
            "- {name} binary ({profile}, this machine's architecture): {:.1} MiB",
            size as f64 / 1048576.0
        );
    }
    Ok(())
}

/// moto loads each service's code on its first request (SSM's takes most of a second); do that
/// before timing, so a cold start measures the function and not the emulator.
async fn warm_emulator(stage: &Stage) {
    let _ = aws_sdk_ssm::Client::new(&stage.config)
        .describe_parameters()
        .send()
        .await;
    let _ = aws_sdk_cloudwatch::Client::new(&stage.config)
        .list_metrics()
        .send()
        .await;
    let _ = aws_sdk_budgets::Client::new(&stage.config)
        .describe_budgets()
        .account_id(guard_testkit::ACCOUNT_ID)
        .send()
        .await;
    let _ = aws_sdk_secretsmanager::Client::new(&stage.config)
        .list_secrets()
        .send()
        .await;
}

fn tick_of(function: &str) -> &'static str {
    match function {
        "provisioner" => "drift-repair",
        "alert-handler" => "rollover-tick",
        _ => "spend-tick",
    }
}
