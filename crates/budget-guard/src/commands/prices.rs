use crate::output::{Format, print_json, table};
use crate::policy_files::{read_sources, render};
use guard_core::pricing::catalog::{Catalog, GLOBAL_PROFILE, Lifecycle, ModelPrice};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<PricesCommand>,
    /// Policy files or folders whose price catalog file (`prices.yaml`) replaces bundled entries
    /// [default: policies, when it exists]
    pub paths: Vec<PathBuf>,
    /// text: a table; json: [{model_id, input_per_1k, output_per_1k, ..., cache_write_1h_per_1k,
    /// long_context, tiers, lifecycle, successor, profiles}] in USD
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Subcommand)]
pub enum PricesCommand {
    /// Read Bedrock's prices from the AWS Price List (pricing:GetProducts), show what differs from
    /// the catalog in force, and with --write save them as a catalog file beside the policy.
    Refresh(crate::commands::prices_refresh::Args),
}

/// The catalog in force: the bundled one, with the price file of `paths` (or of `policies/`
/// when it exists) applied.
fn catalog(paths: &[PathBuf]) -> anyhow::Result<Result<Catalog, String>> {
    if paths.is_empty() && !Path::new(guard_aws::policy_files::DEFAULT_POLICY_DIR).is_dir() {
        return Ok(Ok(Catalog::bundled()));
    }
    let sources = read_sources(paths)?;
    let (catalog, diagnostics) = guard_core::policy::catalog_of(&sources);
    if diagnostics.is_empty() {
        Ok(Ok(catalog))
    } else {
        Ok(Err(render(&sources, &diagnostics)))
    }
}

/// Where a price differs by inference profile: `regional +10%`, `us-gov +20%`, `eu own`.
fn profiles(p: &ModelPrice) -> String {
    let mut parts = Vec::new();
    if let Some(percent) = p.regional_premium_percent {
        parts.push(format!("regional +{}%", percent.normalize()));
    }
    for (name, profile) in &p.profiles {
        match profile.premium_percent {
            Some(percent) => parts.push(format!("{name} +{}%", percent.normalize())),
            None => parts.push(format!("{name} own")),
        }
    }
    if parts.is_empty() {
        "same".into()
    } else {
        parts.join(", ")
    }
}

/// The terms beside the standard figures: `1h cache`, `long >200K`, `flex`, `priority`.
fn terms(p: &ModelPrice) -> String {
    let mut parts = Vec::new();
    if p.cache_write_1h_per_1k.is_some() {
        parts.push("1h cache".to_owned());
    }
    if let Some(long) = &p.long_context {
        let above = long.above_input_tokens;
        parts.push(if above % 1000 == 0 {
            format!("long >{}K", above / 1000)
        } else {
            format!("long >{above}")
        });
    }
    parts.extend(p.tiers.keys().map(|t| t.as_str().to_owned()));
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn lifecycle(p: &ModelPrice) -> String {
    match (p.lifecycle, &p.end_of_life) {
        (Lifecycle::Active, _) => "active".into(),
        (state, Some(date)) => format!("{} {date}", state.as_str()),
        (state, None) => state.as_str().into(),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(PricesCommand::Refresh(refresh)) = args.command {
        return crate::commands::prices_refresh::run(refresh);
    }
    let catalog = match catalog(&args.paths)? {
        Ok(catalog) => catalog,
        Err(report) => {
            eprint!("{report}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let entries: Vec<_> = catalog.entries().collect();
    match args.format {
        Format::Json => print_json(&entries)?,
        Format::Text => {
            let opt = |v: Option<rust_decimal::Decimal>| {
                v.map(|v| v.normalize().to_string())
                    .unwrap_or_else(|| "-".into())
            };
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|p| {
                    vec![
                        p.model_id.clone(),
                        p.input_per_1k.normalize().to_string(),
                        p.output_per_1k.normalize().to_string(),
                        opt(p.cache_write_per_1k),
                        opt(p.cache_read_per_1k),
                        opt(p.batch_input_per_1k),
                        opt(p.batch_output_per_1k),
                        profiles(p),
                        terms(p),
                        lifecycle(p),
                        p.successor.clone().unwrap_or_else(|| "-".into()),
                        p.checked.clone(),
                    ]
                })
                .collect();
            crate::output::emit(&table(
                &[
                    "MODEL",
                    "IN/1K",
                    "OUT/1K",
                    "CACHE W",
                    "CACHE R",
                    "BATCH IN",
                    "BATCH OUT",
                    "PROFILES",
                    "ALSO",
                    "LIFECYCLE",
                    "MOVE TO",
                    "CHECKED",
                ],
                &rows,
                &[1, 2, 3, 4, 5, 6],
            ));
            crate::output::emit(&format!(
                "\nUSD per 1,000 tokens, on demand: the base model id and `{GLOBAL_PROFILE}.`. PROFILES says where an \
                 inference profile costs otherwise: `regional +10%` under us., eu., apac., jp., au. and ca.; \
                 `us-gov +20%` a premium of its own; `eu own` figures of their own (`--format json` shows them). \
                 `same`: every prefix costs the base price. ALSO names the prices beside these: `1h cache` \
                 (1-hour cache writes), `long >200K` (every token of a request whose prompt is above 200K tokens), \
                 and the `flex` and `priority` service tiers; `--format json` gives their figures.\n"
            ));
            crate::output::emit(
                "A `prices.yaml` beside the policy replaces entries; `pricing:` in the policy overrides or adds models. `--format json` shows each figure's source.\n",
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
