use super::export::policy_failure;
use crate::cost_diff;
use crate::git_files::{self, GitError};
use crate::output::{Format, print_json, table};
use crate::policy_files::{load_policy, read_sources, render as render_diagnostics};
use guard_aws::policy_files::DEFAULT_POLICY_DIR;
use guard_core::policy::{Policy, SourceFile, is_price_file};
use guard_core::pricing::estimate::usd;
use guard_core::pricing::estimate::{BudgetEstimate, WhatIf, WhatIfEstimate, estimate, what_if};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
    /// text: a table per budget; json: {budgets: [{name, amount, estimated, use_cases, steps, ...}]}
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also measure the token usage of the last WINDOW (e.g. 7d, 24h) in CloudWatch and project it
    /// over each budget's period, beside the policy's figures (JSON: a `measured` list)
    #[arg(long, value_name = "WINDOW", value_parser = super::spend::parse_window)]
    pub from_metrics: Option<chrono::Duration>,
    /// Compare with the same paths at git ref REF: each budget's estimate before and after, and
    /// exit 1 when one passes its budget's amount (JSON: {against, budgets: [{name, amount,
    /// before, after, change, change_percent, over}]})
    #[arg(long, value_name = "REF", conflicts_with = "from_metrics")]
    pub against: Option<String>,
    /// Also estimate each budget with a share of requests sent as batch inference and/or a share
    /// of input read from the prompt cache, at catalog prices: `batch=30%,cache-hit=60%` (JSON:
    /// a `what_if` object). Exit 1 when a model has no batch price.
    #[arg(long, value_name = "SHARES", conflicts_with = "against")]
    pub what_if: Option<WhatIf>,
    /// The time to measure back from, RFC 3339 (default: now). For tests and replays.
    #[arg(long, hide = true)]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(reference) = &args.against {
        return run_against(reference, &args.paths, args.format);
    }
    let policy = match load_policy(&args.paths) {
        Ok(policy) => policy,
        Err(e) => return Ok(policy_failure(e)),
    };
    let budgets = estimate(&policy)?;
    let what_if = match &args.what_if {
        None => None,
        Some(shares) => match what_if(&policy, shares) {
            Ok(estimates) => Some((shares, estimates)),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        },
    };
    let measured = match args.from_metrics {
        Some(window) => {
            let now = args.at.unwrap_or_else(chrono::Utc::now);
            Some(
                super::spend::runtime()?
                    .block_on(super::spend::read_measured(&policy, window, now))?,
            )
        }
        None => None,
    };
    match args.format {
        Format::Json => {
            let mut json = serde_json::json!({ "budgets": budgets });
            if let Some(m) = measured {
                json["measured"] = serde_json::to_value(m)?;
            }
            if let Some((shares, estimates)) = &what_if {
                json["what_if"] = serde_json::json!({ "shares": shares, "budgets": estimates });
            }
            print_json(&json)?
        }
        Format::Text => {
            crate::output::emit(&render(&budgets));
            if let Some(m) = measured {
                crate::output::emit(&super::spend::render_measured(&m, &budgets));
            }
            if let Some((shares, estimates)) = &what_if {
                crate::output::emit(&render_what_if(shares, estimates));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The what-if table: each budget as it stands, with the shares moved, and the saving.
fn render_what_if(shares: &WhatIf, estimates: &[WhatIfEstimate]) -> String {
    let mut moved = Vec::new();
    if let Some(p) = shares.batch_percent {
        moved.push(format!("{p}% of requests as batch"));
    }
    if let Some(p) = shares.cache_hit_percent {
        moved.push(format!("{p}% of input read from the cache"));
    }
    let rows: Vec<Vec<String>> = estimates
        .iter()
        .map(|e| {
            vec![
                e.budget.clone(),
                usd(e.estimated),
                usd(e.what_if),
                usd(e.saving),
            ]
        })
        .collect();
    let mut out = format!("What if {}:\n", moved.join(" and "));
    for line in table(
        &["BUDGET", "ESTIMATED", "WHAT IF", "SAVING"],
        &rows,
        &[1, 2, 3],
    )
    .lines()
    {
        out.push_str(&format!("  {line}\n"));
    }
    out
}

/// A ladder step as the estimate shows it: `stop`, or the model with its tier and output cap.
fn step_text(model: &str, rung: &guard_core::policy::StepSpec) -> String {
    if rung.blocked {
        return "stop (no calls)".to_owned();
    }
    let mut text = model.to_owned();
    if let Some(tier) = rung.service_tier {
        text.push_str(&format!(" on {}", tier.as_str()));
    }
    if let Some(cap) = rung.max_output_tokens {
        text.push_str(&format!(", max {cap} output tokens"));
    }
    text
}

/// `--against REF`: the working tree's policy is "after", the same paths at REF "before". Exit 1
/// when an "after" estimate passes its amount, when either side is invalid, or when git cannot
/// read REF.
fn run_against(reference: &str, paths: &[PathBuf], format: Format) -> anyhow::Result<ExitCode> {
    let default = [PathBuf::from(DEFAULT_POLICY_DIR)];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let after_sources = match read_sources(paths) {
        Ok(sources) => sources,
        Err(e) => return Ok(policy_failure(e)),
    };
    let before_sources = match git_files::read_sources_at(reference, paths) {
        Ok(sources) => sources,
        Err(e @ GitError::Spawn(_)) => anyhow::bail!(e),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let after = check(&after_sources);
    // Paths that did not exist at REF (or held only a price catalog): every budget is new.
    let before = if before_sources.iter().all(|s| is_price_file(&s.name)) {
        Ok(None)
    } else {
        check(&before_sources).map(|(policy, _warnings)| Some(policy))
    };
    match &after {
        Ok((_, warnings)) => eprint!("{warnings}"),
        Err(errors) => eprint!("{errors}"),
    }
    if let Err(errors) = &before {
        eprint!("{errors}");
        eprintln!(
            "note: the files named `{reference}:...` are the policy as it was at {reference}"
        );
    }
    let (Ok((after, _)), Ok(before)) = (after, before) else {
        return Ok(ExitCode::from(1));
    };
    let before = match before {
        Some(policy) => estimate(&policy)?,
        None => Vec::new(),
    };
    let rows = cost_diff::diff(&before, &estimate(&after)?);
    match format {
        Format::Json => print_json(&serde_json::json!({ "against": reference, "budgets": rows }))?,
        Format::Text => crate::output::emit(&cost_diff::render(reference, &rows)),
    }
    let over: Vec<&cost_diff::Row> = rows.iter().filter(|r| r.over).collect();
    for r in &over {
        eprintln!(
            "error: {}: the estimate {} passes the amount {}",
            r.name,
            usd(r.after.unwrap_or_default()),
            usd(r.amount)
        );
    }
    Ok(if over.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The checked policy of `sources` and its rendered warnings, or its rendered errors.
fn check(sources: &[SourceFile]) -> Result<(Policy, String), String> {
    let (policy, diagnostics) = guard_core::policy::load(sources);
    let rendered = render_diagnostics(sources, &diagnostics);
    match policy {
        Some(policy) => Ok((policy, rendered)),
        None => Err(rendered),
    }
}

pub fn render(budgets: &[BudgetEstimate]) -> String {
    let mut out = String::new();
    for b in budgets {
        out.push_str(&format!(
            "{}: {} of {} {} ({}%, {} days)\n",
            b.name,
            usd(b.estimated),
            usd(b.amount),
            b.period,
            b.share_percent.normalize(),
            b.days
        ));
        let rows: Vec<Vec<String>> = b
            .use_cases
            .iter()
            .map(|u| {
                vec![
                    u.name.clone(),
                    u.model.clone(),
                    format!("${}", u.cost_per_request.round_dp(6).normalize()),
                    usd(u.cost_per_day),
                    usd(u.cost),
                ]
            })
            .collect();
        for line in table(
            &["USE CASE", "MODEL", "PER REQUEST", "PER DAY", "PER PERIOD"],
            &rows,
            &[2, 3, 4],
        )
        .lines()
        {
            out.push_str(&format!("  {line}\n"));
        }
        if b.crosses.is_empty() {
            out.push_str("  crosses no threshold\n");
        } else {
            out.push_str(&format!("  crosses: {}\n", b.crosses.join(", ")));
        }
        if !b.steps.is_empty() {
            let rows: Vec<Vec<String>> = b
                .steps
                .iter()
                .map(|s| {
                    vec![
                        s.route.clone(),
                        s.step.to_string(),
                        step_text(&s.model, &s.rung),
                        usd(s.estimated),
                        format!("{}%", s.share_percent.normalize()),
                        usd(s.saving),
                    ]
                })
                .collect();
            out.push_str("  on lower ladder steps:\n");
            for line in table(
                &["ROUTE", "STEP", "MODEL", "ESTIMATED", "SHARE", "SAVING"],
                &rows,
                &[1, 3, 4, 5],
            )
            .lines()
            {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out.push('\n');
    }
    out
}
