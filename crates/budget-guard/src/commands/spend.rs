//! `budget-guard spend`: each budget's period-to-date spend estimated from Bedrock's token metrics
//! in CloudWatch, the forecast to the period's end, and the thresholds crossed: what the spend
//! watcher sees, on demand. Also the measured usage behind `estimate --from-metrics`.

use super::export::policy_failure;
use crate::output::{Format, print_json, table};
use crate::policy_files::load_policy;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use guard_aws::cloudwatch::CloudWatchTokenMetrics;
use guard_core::policy::{BudgetSpec, Policy};
use guard_core::pricing::estimate::usd;
use guard_core::spend::{
    WatchConfig, measured::MeasuredEstimate, measured::measured_estimate, measured::sample_window,
    price::BudgetSpend, price::budget_spend, query::QueryCall, query::TokenData, query::plan_calls,
    query::plan_queries, query::series_for,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
    /// text: a table per budget; json: {budgets: [{name, amount, spent, forecast, by_model: [{model_id, input_tokens, output_tokens, cost}], crossed, ...}]}
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The time to compute at, RFC 3339 (default: now). For tests and replays.
    #[arg(long, hide = true)]
    pub at: Option<DateTime<Utc>>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(&args.paths) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let now = args.at.unwrap_or_else(Utc::now);
    let spends = runtime()?.block_on(read_spend(&policy, now))?;
    match args.format {
        Format::Json => print_json(&serde_json::json!({ "at": now, "budgets": spends }))?,
        Format::Text => crate::output::emit(&render(&spends)),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn read(metrics: &CloudWatchTokenMetrics, calls: &[QueryCall]) -> anyhow::Result<TokenData> {
    let mut data = TokenData::default();
    for call in calls {
        let points = metrics
            .read(call)
            .await
            .context("reading Bedrock token metrics from CloudWatch")?;
        data.add(call.window, points);
    }
    Ok(data)
}

async fn discover(
    metrics: &CloudWatchTokenMetrics,
) -> Option<std::collections::BTreeSet<guard_core::spend::query::SeriesKey>> {
    match metrics.list_series().await {
        Ok(found) => Some(found),
        Err(e) => {
            eprintln!(
                "warning: cannot list the Bedrock token metrics ({e}); reading every scope model's four metrics"
            );
            None
        }
    }
}

/// Every budget's spend at `now` (watched or not).
pub async fn read_spend(policy: &Policy, now: DateTime<Utc>) -> anyhow::Result<Vec<BudgetSpend>> {
    let config = guard_aws::sdk::load().await;
    let metrics = CloudWatchTokenMetrics::new(aws_sdk_cloudwatch::Client::new(&config));
    let budgets: Vec<&BudgetSpec> = policy.budgets.values().collect();
    let discovered = discover(&metrics).await;
    let watch = WatchConfig::default();
    let calls = plan_queries(&budgets, discovered.as_ref(), now, &watch);
    let data = read(&metrics, &calls).await?;
    let catalog = policy.catalog();
    Ok(budgets
        .iter()
        .map(|b| budget_spend(b, &catalog, &data, now, &watch))
        .collect())
}

/// The usage measured over `length` back from `now`, projected over each budget's period.
pub async fn read_measured(
    policy: &Policy,
    length: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<MeasuredEstimate>> {
    let config = guard_aws::sdk::load().await;
    let metrics = CloudWatchTokenMetrics::new(aws_sdk_cloudwatch::Client::new(&config));
    let budgets: Vec<&BudgetSpec> = policy.budgets.values().collect();
    let discovered = discover(&metrics).await;
    let window = sample_window(now, length);
    let calls = plan_calls(window, &series_for(&budgets, discovered.as_ref()));
    let data = read(&metrics, &calls).await?;
    let catalog = policy.catalog();
    Ok(budgets
        .iter()
        .map(|b| measured_estimate(b, &catalog, &data, window))
        .collect())
}

/// `7d`, `24h`, `90m`, `2w`.
pub fn parse_window(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a window like 7d, 24h or 90m"))?;
    let d = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => return Err(format!("`{text}`: the unit is m, h, d or w (7d, 24h, 90m)")),
    };
    if n <= 0 || d > Duration::days(63) {
        return Err(format!(
            "`{text}`: the window is between 1m and 63d (CloudWatch keeps 5-minute data 63 days)"
        ));
    }
    Ok(d)
}

pub fn render(spends: &[BudgetSpend]) -> String {
    let mut out = String::new();
    for s in spends {
        out.push_str(&format!(
            "{}: {} of {} {} so far ({} to {}), forecast {}\n",
            s.name,
            usd(s.spent),
            usd(s.amount),
            s.period,
            s.period_start,
            s.period_end,
            usd(s.forecast)
        ));
        if s.by_model.is_empty() {
            out.push_str("  no token metrics for its models this period\n");
        } else {
            let rows: Vec<Vec<String>> = s
                .by_model
                .iter()
                .map(|m| {
                    vec![
                        m.model_id.clone(),
                        m.input_tokens.to_string(),
                        m.output_tokens.to_string(),
                        (m.cache_read_tokens + m.cache_write_tokens).to_string(),
                        if m.priced {
                            usd(m.cost)
                        } else {
                            "no price".into()
                        },
                    ]
                })
                .collect();
            for line in table(
                &["MODEL", "INPUT", "OUTPUT", "CACHE", "COST"],
                &rows,
                &[1, 2, 3, 4],
            )
            .lines()
            {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if s.crossed.is_empty() {
            out.push_str("  crosses no threshold\n");
        } else {
            out.push_str(&format!("  crossed: {}\n", s.crossed.join(", ")));
        }
        if !s.unpriced.is_empty() {
            out.push_str(&format!(
                "  not counted (no price): {}\n",
                s.unpriced.join(", ")
            ));
        }
        out.push('\n');
    }
    out
}

/// The measured figures beside the policy's own (`estimate --from-metrics`).
pub fn render_measured(
    measured: &[MeasuredEstimate],
    policy_estimates: &[guard_core::pricing::estimate::BudgetEstimate],
) -> String {
    let mut out = String::new();
    let Some(first) = measured.first() else {
        return out;
    };
    out.push_str(&format!(
        "Measured usage over the last {} days, projected over each period:\n",
        first.window_days.normalize()
    ));
    let rows: Vec<Vec<String>> = measured
        .iter()
        .map(|m| {
            let from_policy = policy_estimates
                .iter()
                .find(|e| e.name == m.name)
                .map(|e| usd(e.estimated))
                .unwrap_or_default();
            vec![
                m.name.clone(),
                usd(m.measured),
                usd(m.projected),
                format!("{}%", m.share_percent.normalize()),
                from_policy,
                if m.crosses.is_empty() {
                    "-".into()
                } else {
                    m.crosses.join(", ")
                },
            ]
        })
        .collect();
    for line in table(
        &[
            "BUDGET",
            "MEASURED",
            "PROJECTED",
            "SHARE",
            "POLICY ESTIMATE",
            "CROSSES",
        ],
        &rows,
        &[1, 2, 3, 4],
    )
    .lines()
    {
        out.push_str(&format!("  {line}\n"));
    }
    let unpriced: Vec<&str> = measured
        .iter()
        .flat_map(|m| m.unpriced.iter().map(String::as_str))
        .collect();
    if !unpriced.is_empty() {
        out.push_str(&format!(
            "  not counted (no price): {}\n",
            unpriced.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_window("90m"), Ok(Duration::minutes(90)));
        assert!(parse_window("7").is_err());
        assert!(parse_window("0d").is_err());
        assert!(parse_window("1y").is_err());
    }
}
