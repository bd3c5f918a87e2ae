//! `budget-guard dlq list|replay`: the events the functions failed to handle, read from the
//! dead-letter queue without consuming them, and handed again to the alert handler's code (the
//! same path as `alert handle`), each deleted from the queue only once it was handled.

use super::export::policy_failure;
use crate::dead_letter::{self, DeadLetter};
use crate::output::{Format, emit, print_json, table};
use crate::policy_files::load_policy;
use anyhow::Context;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName};
use chrono::{DateTime, TimeZone, Utc};
use guard_aws::wiring::env::{ALERTS_TOPIC_ENV, NOTIFY_TOPIC_ENV};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

pub const QUEUE_URL_ENV: &str = "BUDGET_GUARD_DLQ_URL";

/// Messages one command reads at most: a bound on a queue that keeps filling while it is read.
const DEFAULT_MAX: usize = 1_000;
/// While listing, each message read is hidden this long so that the next receive returns the
/// others; all are made visible again right after.
const LIST_VISIBILITY_SECONDS: i32 = 30;
/// While replaying, long enough for every message to be handled before any reappears.
const REPLAY_VISIBILITY_SECONDS: i32 = 900;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// The dead-letter queue (stack output DeadLetterQueueUrl)
    #[arg(long, env = QUEUE_URL_ENV)]
    queue_url: Option<String>,
    /// Read at most this many messages
    #[arg(long, default_value_t = DEFAULT_MAX)]
    max: usize,
}

#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// Show what is waiting in the dead-letter queue: each message's source (Lambda destination
    /// record, SNS subscription, EventBridge target), function, error, event, and whether
    /// `dlq replay` can replay it. Nothing is removed; every message stays visible.
    List {
        #[command(flatten)]
        queue: QueueArgs,
        /// json: [{"message_id","sent_at","receive_count","source","function","condition","attempts","failed_at","error","event_summary","replayable","not_replayable","event"}]
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Hand each alert-handler event of the queue to the alert handler's code (as `alert handle`
    /// does) as of --at, and delete it from the queue once handled. A message that fails stays,
    /// and the command exits 1; events of the other functions stay, with what to do instead.
    Replay {
        #[command(flatten)]
        queue: QueueArgs,
        /// Policy files or folders [default: policies]
        paths: Vec<PathBuf>,
        /// Show what would be replayed; handle and delete nothing
        #[arg(long)]
        dry_run: bool,
        /// Handle the events as of this time (RFC 3339) [default: now]
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        /// The alerts topic (stack output AlertsTopicArn)
        #[arg(long, env = ALERTS_TOPIC_ENV)]
        alerts_topic_arn: Option<String>,
        /// The notify topic of the email channels (stack output NotifyTopicArn)
        #[arg(long, env = NOTIFY_TOPIC_ENV)]
        notify_topic_arn: Option<String>,
        /// json: [{"message_id","outcome":"replayed|failed|left|would-replay","detail"}]
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        DlqCommand::List { queue, format } => list(queue, format),
        DlqCommand::Replay {
            queue,
            paths,
            dry_run,
            at,
            alerts_topic_arn,
            notify_topic_arn,
            format,
        } => replay(
            queue,
            &paths,
            dry_run,
            at.unwrap_or_else(Utc::now),
            alerts_topic_arn,
            notify_topic_arn,
            format,
        ),
    }
}

fn queue_url(queue: &QueueArgs) -> anyhow::Result<String> {
    queue.queue_url.clone().with_context(|| {
        format!("the dead-letter queue is needed: pass --queue-url or set {QUEUE_URL_ENV} (stack output DeadLetterQueueUrl)")
    })
}

/// One message as read, with what it holds.
#[derive(Debug, Serialize)]
struct Received {
    message_id: String,
    #[serde(skip)]
    receipt_handle: String,
    sent_at: Option<DateTime<Utc>>,
    receive_count: Option<u64>,
    #[serde(flatten)]
    letter: DeadLetter,
    replayable: bool,
}

/// Reads up to `max` messages, each hidden for `visibility` seconds once read. Long polling of a
/// second asks every SQS server, so an empty answer means the queue has nothing visible left.
async fn receive_all(
    client: &aws_sdk_sqs::Client,
    url: &str,
    visibility: i32,
    max: usize,
) -> anyhow::Result<Vec<Received>> {
    let mut out: Vec<Received> = Vec::new();
    let mut seen = BTreeSet::new();
    while out.len() < max {
        let wanted = (max - out.len()).min(10) as i32;
        let page = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(wanted)
            .visibility_timeout(visibility)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let service = e.into_service_error();
                if let aws_sdk_sqs::operation::receive_message::ReceiveMessageError::QueueDoesNotExist(_) = service {
                    anyhow::bail!("the queue {url} does not exist (stack output DeadLetterQueueUrl)");
                }
                return Err(anyhow::Error::new(service).context("sqs:ReceiveMessage failed"));
            }
        };
        let messages = page.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let (Some(id), Some(handle)) = (m.message_id.clone(), m.receipt_handle.clone()) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                continue;
            }
            let system = m.attributes.as_ref();
            let system_attr = |name: MessageSystemAttributeName| {
                system.and_then(|a| a.get(&name)).map(String::as_str)
            };
            let sent_at = system_attr(MessageSystemAttributeName::SentTimestamp)
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
            let receive_count = system_attr(MessageSystemAttributeName::ApproximateReceiveCount)
                .and_then(|n| n.parse().ok());
            let attributes: Vec<(String, String)> = m
                .message_attributes
                .iter()
                .flatten()
                .filter_map(|(k, v)| v.string_value.clone().map(|s| (k.clone(), s)))
                .collect();
            let letter = dead_letter::unwrap(m.body.as_deref().unwrap_or_default(), &attributes);
            out.push(Received {
                message_id: id,
                receipt_handle: handle,
                sent_at,
                receive_count,
                replayable: letter.replayable(),
                letter,
            });
        }
    }
    Ok(out)
}

/// Makes messages visible again at once (visibility timeout 0), ten per call.
async fn release(
    client: &aws_sdk_sqs::Client,
    url: &str,
    messages: &[&Received],
) -> anyhow::Result<()> {
    for chunk in messages.chunks(10) {
        let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&m.receipt_handle)
                    .visibility_timeout(0)
                    .build()
            })
            .collect::<Result<_, _>>()
            .context("building sqs:ChangeMessageVisibilityBatch")?;
        let out = client
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                anyhow::Error::new(e.into_service_error())
                    .context("sqs:ChangeMessageVisibilityBatch failed")
            })?;
        if let Some(failed) = out.failed.first() {
            anyhow::bail!(
                "sqs:ChangeMessageVisibilityBatch: {} of {} messages stay hidden until their visibility timeout ({}: {})",
                out.failed.len(),
                chunk.len(),
                failed.code,
                failed.message.as_deref().unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn list(queue: QueueArgs, format: Format) -> anyhow::Result<ExitCode> {
    let url = queue_url(&queue)?;
    let runtime = super::apply::runtime()?;
    let messages = runtime.block_on(async {
        let config = guard_aws::sdk::load().await;
        let client = aws_sdk_sqs::Client::new(&config);
        let messages = receive_all(&client, &url, LIST_VISIBILITY_SECONDS, queue.max).await?;
        release(&client, &url, &messages.iter().collect::<Vec<_>>()).await?;
        anyhow::Ok(messages)
    })?;
    match format {
        Format::Json => print_json(&messages)?,
        Format::Text => {
            if messages.is_empty() {
                emit("the dead-letter queue is empty\n");
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = messages
                .iter()
                .map(|m| {
                    let l = &m.letter;
                    vec![
                        m.message_id.clone(),
                        m.sent_at
                            .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
                            .unwrap_or_default(),
                        l.source.as_str().to_owned(),
                        l.function.clone().unwrap_or_default(),
                        l.condition.clone().unwrap_or_default(),
                        l.event_summary.clone(),
                        l.error.clone().unwrap_or_default(),
                        if m.replayable { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            let mut out = table(
                &[
                    "MESSAGE",
                    "SENT",
                    "SOURCE",
                    "FUNCTION",
                    "CONDITION",
                    "EVENT",
                    "ERROR",
                    "REPLAY",
                ],
                &rows,
                &[],
            );
            for m in messages.iter().filter(|m| !m.replayable) {
                if let Some(why) = &m.letter.not_replayable {
                    out.push_str(&format!("{}: not replayed: {why}\n", m.message_id));
                }
            }
            let replayable = messages.iter().filter(|m| m.replayable).count();
            out.push_str(&format!(
                "{} message(s), {replayable} replayable with `budget-guard dlq replay`\n",
                messages.len()
            ));
            emit(&out);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct ReplayLine {
    message_id: String,
    outcome: &'static str,
    detail: String,
}

fn replay(
    queue: QueueArgs,
    paths: &[PathBuf],
    dry_run: bool,
    at: DateTime<Utc>,
    alerts_topic_arn: Option<String>,
    notify_topic_arn: Option<String>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let url = queue_url(&queue)?;
    let policy = match load_policy(paths) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let (alerts, notify) = super::alert::topics(alerts_topic_arn, notify_topic_arn)?;
    let runtime = super::apply::runtime()?;
    let lines = runtime.block_on(async {
        let config = guard_aws::sdk::load().await;
        let handler = guard_aws::wiring::alert_handler::live_handler(&config, policy, &alerts, &notify)?;
        let client = aws_sdk_sqs::Client::new(&config);
        let visibility = if dry_run {
            LIST_VISIBILITY_SECONDS
        } else {
            REPLAY_VISIBILITY_SECONDS
        };
        let messages = receive_all(&client, &url, visibility, queue.max).await?;
        let mut lines = Vec::new();
        let mut keep: Vec<&Received> = Vec::new();
        for m in &messages {
            let line = |outcome, detail: String| ReplayLine {
                message_id: m.message_id.clone(),
                outcome,
                detail,
            };
            let (Some(event), true) = (&m.letter.event, m.replayable) else {
                let why = m.letter.not_replayable.clone().unwrap_or_default();
                lines.push(line("left", why));
                keep.push(m);
                continue;
            };
            if dry_run {
                lines.push(line("would-replay", m.letter.event_summary.clone()));
                keep.push(m);
                continue;
            }
            match guard_aws::wiring::alert_handler::handle_event(&handler, event, at, None).await {
                Ok(report) => {
                    delete(&client, &url, m).await?;
                    let jobs = report.outcomes.len();
                    lines.push(line(
                        "replayed",
                        format!("{} ({jobs} job(s))", m.letter.event_summary),
                    ));
                }
                Err(e) => {
                    tracing::warn!(message_id = %m.message_id, error = %e, "replay failed; the message stays on the queue");
                    lines.push(line("failed", e.to_string()));
                    keep.push(m);
                }
            }
        }
        release(&client, &url, &keep).await?;
        anyhow::Ok(lines)
    })?;
    let failed = lines.iter().filter(|l| l.outcome == "failed").count();
    match format {
        Format::Json => print_json(&lines)?,
        Format::Text => {
            let mut out = String::new();
            for l in &lines {
                out.push_str(&format!("{} {}: {}\n", l.outcome, l.message_id, l.detail));
            }
            let count = |o: &str| lines.iter().filter(|l| l.outcome == o).count();
            out.push_str(&if dry_run {
                format!(
                    "dry run: {} would be replayed, {} left; nothing was handled or deleted\n",
                    count("would-replay"),
                    count("left")
                )
            } else {
                format!(
                    "{} replayed and deleted, {failed} failed (kept on the queue), {} left\n",
                    count("replayed"),
                    count("left")
                )
            });
            emit(&out);
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn delete(client: &aws_sdk_sqs::Client, url: &str, m: &Received) -> anyhow::Result<()> {
    client
        .delete_message()
        .queue_url(url)
        .receipt_handle(&m.receipt_handle)
        .send()
        .await
        .map_err(|e| {
            anyhow::Error::new(e.into_service_error()).context(format!(
                "sqs:DeleteMessage of {} failed after it was replayed: it will show again; replaying it again is harmless (already handled)",
                m.message_id
            ))
        })?;
    Ok(())
}
