//! The fast path's delay on the emulator: from an invocation log record's arrival at the usage
//! meter (the `awslogs` event handed to the function) to the routing flag written by the alert
//! handler, through DynamoDB, the alerts topic and the handler, all real binaries. AWS's own log
//! delivery (Bedrock to Logs to the subscription) comes before this and is not counted.
//!
//! Each sample is a new monthly period (the clock moves a month), so every sample crosses the
//! chatbot's 50% and 90% thresholds again and the handler writes the flag again.
//!
//! Where the time goes: the meter's invocation (decode, price, count in DynamoDB, publish the two
//! alerts, which the emulator delivers to the stage's HTTP endpoint within the Publish call), then
//! the handler's two invocations, one after the other here. In AWS, SNS hands each alert to a
//! Lambda invocation of its own and they run at once, so the flag is written when the meter and
//! the downgrading alert's handler are done: that figure is printed too, as the meter plus the
//! slower of the two handlers.
//!
//! `BUDGET_GUARD_PROFILE=release target/release/guard-fast-path-bench [SAMPLES]`

use anyhow::{Context, Result, ensure};
use chrono::{Datelike, Duration, TimeZone, Utc};
use guard_e2e::fast_path::{awslogs_event, invocation_record};
use guard_e2e::{INVOKE_TIMEOUT, Stage, StageOptions};
use std::time::Instant;

const ROUTE: &str = "support-chatbot";
const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

#[tokio::main]
async fn main() -> Result<()> {
    let samples: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("SAMPLES is a number")?
        .unwrap_or(20);
    ensure!(samples > 0, "SAMPLES is at least 1");
    let stage = Stage::start(StageOptions::default()).await?;
    let apply = stage.cli(&["apply", "--yes"])?;
    ensure!(
        apply.code == 0,
        "apply failed: {}{}",
        apply.stdout,
        apply.stderr
    );
    let meter = stage.start_usage_meter().await?;
    let first = guard_e2e::story_start();
    let mut samples_of = Samples::default();
    for i in 0..=samples {
        let month = first.month0() as i32 + i as i32;
        let now = Utc
            .with_ymd_and_hms(
                first.year() + month / 12,
                (month % 12) as u32 + 1,
                10,
                12,
                0,
                0,
            )
            .single()
            .context("a valid date")?;
        stage.set_clock(now)?;
        let records: Vec<String> = (0..10)
            .map(|r| {
                invocation_record(
                    &format!("bench-{i}-{r}"),
                    SONNET,
                    now - Duration::seconds(5),
                    1_000,
                    2_800_000,
                )
            })
            .collect();
        let event = awslogs_event(&records, now);
        let start = Instant::now();
        let metered = meter.invoke(&event, INVOKE_TIMEOUT).await?;
        ensure!(
            metered.result.is_ok(),
            "the usage meter failed: {:?}",
            metered.result
        );
        let handled = stage.deliver_alert_invocations().await?;
        let elapsed = start.elapsed();
        ensure!(
            handled.iter().all(|h| h.result.is_ok()) && handled.len() == 2,
            "the handler failed, or did not get the two alerts: {:?}",
            handled.iter().map(|h| &h.result).collect::<Vec<_>>()
        );
        ensure!(
            stage.model_of(ROUTE).await? == HAIKU,
            "the flag did not move"
        );
        // The first run warms the processes and the emulator's tables; it is not a sample.
        if i > 0 {
            let slower = handled.iter().map(|h| h.duration).max().unwrap_or_default();
            samples_of.total.push(elapsed);
            samples_of.meter.push(metered.duration);
            samples_of
                .handler
                .extend(handled.iter().map(|h| h.duration));
            samples_of.at_once.push(metered.duration + slower);
        }
    }
    let n = samples_of.total.len();
    println!(
        "- record to flag written, on the emulator: {} (n = {n}, 10 records a batch, two alerts each: 50% and 90%, handled one after the other)",
        quantiles(&mut samples_of.total)
    );
    println!(
        "  - the usage meter's invocation (count, publish): {}",
        quantiles(&mut samples_of.meter)
    );
    println!(
        "  - one alert handler invocation: {} (n = {})",
        quantiles(&mut samples_of.handler),
        samples_of.handler.len()
    );
    println!(
        "  - with the two alerts handled at once, as SNS and Lambda do (meter + slower handler): {}",
        quantiles(&mut samples_of.at_once)
    );
    Ok(())
}

/// The durations of each part of the path, one per sample.
#[derive(Default)]
struct Samples {
    total: Vec<std::time::Duration>,
    meter: Vec<std::time::Duration>,
    handler: Vec<std::time::Duration>,
    at_once: Vec<std::time::Duration>,
}

/// `p50 …, p95 …, max …` of `delays`, in milliseconds (nearest-rank).
fn quantiles(delays: &mut [std::time::Duration]) -> String {
    delays.sort();
    let pick = |q: f64| {
        delays[((delays.len() as f64 * q).ceil() as usize).clamp(1, delays.len()) - 1].as_millis()
    };
    format!(
        "p50 {} ms, p95 {} ms, max {} ms",
        pick(0.50),
        pick(0.95),
        delays.last().map_or(0, |d| d.as_millis())
    )
}
