//! The fast path's delay on the emulator: from an invocation log record's arrival at the usage
//! meter (the `awslogs` event handed to the function) to the routing flag written by the alert
//! handler, through DynamoDB, the alerts topic and the handler, all real binaries. AWS's own log
//! delivery (Bedrock to Logs to the subscription) comes before this and is not counted.
//!
//! Each sample is a new monthly period (the clock moves a month), so every sample crosses the
//! chatbot's 50% and 90% thresholds again and the handler writes the flag again.
//!
//! `BUDGET_GUARD_PROFILE=release target/release/guard-fast-path-bench [SAMPLES]`

use anyhow::{Context, Result, ensure};
use chrono::{Datelike, Duration, TimeZone, Utc};
use guard_e2e::fast_path::{awslogs_event, invocation_record};
use guard_e2e::{Stage, StageOptions};
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
    let mut delays = Vec::with_capacity(samples);
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
        let (_, handled) = stage.meter_usage(&meter, &event).await?;
        let elapsed = start.elapsed();
        ensure!(
            handled.iter().all(Result::is_ok) && !handled.is_empty(),
            "the handler failed: {handled:?}"
        );
        ensure!(
            stage.model_of(ROUTE).await? == HAIKU,
            "the flag did not move"
        );
        // The first run warms the processes and the emulator's tables; it is not a sample.
        if i > 0 {
            delays.push(elapsed);
        }
    }
    delays.sort();
    let pick =
        |q: f64| delays[((delays.len() as f64 * q).ceil() as usize).clamp(1, delays.len()) - 1];
    println!(
        "- record to flag written, on the emulator: p50 {} ms, p95 {} ms, max {} ms (n = {}, 10 records a batch, two alerts each: 50% and 90%)",
        pick(0.50).as_millis(),
        pick(0.95).as_millis(),
        delays.last().map_or(0, |d| d.as_millis()),
        delays.len()
    );
    Ok(())
}
