//! `budget-guard prices refresh`: the AWS Price List's Bedrock prices against the catalog in
//! force, as a diff, and written as a `prices.yaml` beside the policy on request.

use crate::output::{Format, emit, print_json};
use crate::policy_files::{read_sources, render};
use anyhow::Context;
use chrono::NaiveDate;
use guard_aws::pricing::{PRICE_LIST_ENDPOINT_REGION, PriceListReader};
use guard_core::pricing::catalog::{Catalog, file::catalog_file, file::parse_catalog};
use guard_core::pricing::price_list::{
    SERVICE_CODES, Unmapped, changes::diff, page_products, read_products,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders: the catalog compared is the one in force for them (the bundled
    /// one with their `prices.yaml`) [default: policies, when it exists]
    pub paths: Vec<PathBuf>,
    /// The region whose prices are read (the Price List's `regionCode`)
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Write the prices read as a catalog file here (e.g. policies/prices.yaml), after checking
    /// it reads back
    #[arg(long, value_name = "PATH")]
    pub write: Option<PathBuf>,
    /// Read saved GetProducts answers (*.json, as the API returns them) from this folder instead
    /// of calling AWS
    #[arg(long, value_name = "DIR")]
    pub pages: Option<PathBuf>,
    /// The date written as each entry's `checked` [default: today, UTC]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// text: the changes, one per line; json: {products, skipped, models, changes: [{model_id,
    /// field, before, after, percent}], written}
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The products of the saved pages in `dir`, in file name order.
fn saved_products(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{} holds no *.json GetProducts pages", dir.display());
    }
    let mut products = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        products.extend(page_products(&text).with_context(|| file.display().to_string())?);
    }
    Ok(products)
}

/// Every product of the Bedrock service codes for `region`, from AWS, with progress on stderr.
async fn live_products(region: &str) -> anyhow::Result<Vec<String>> {
    let config = guard_aws::sdk::load().await;
    let client = aws_sdk_pricing::Client::from_conf(
        aws_sdk_pricing::config::Builder::from(&config)
            .region(aws_sdk_pricing::config::Region::new(
                PRICE_LIST_ENDPOINT_REGION,
            ))
            .build(),
    );
    let reader = PriceListReader::new(client);
    let mut all = Vec::new();
    for code in SERVICE_CODES {
        let products = reader
            .products(code, region, |n| eprint!("\r{code}: {n} products"))
            .await?;
        eprintln!("\r{code}: {} products", products.len());
        all.extend(products);
    }
    Ok(all)
}

/// The catalog in force for `paths`, or the rendered errors of its price file.
fn catalog_in_force(paths: &[PathBuf]) -> anyhow::Result<Result<Catalog, String>> {
    if paths.is_empty() && !Path::new(guard_aws::policy_files::DEFAULT_POLICY_DIR).is_dir() {
        return Ok(Ok(Catalog::bundled()));
    }
    let sources = read_sources(paths)?;
    let (catalog, diagnostics) = guard_core::policy::catalog_of(&sources);
    Ok(if diagnostics.is_empty() {
        Ok(catalog)
    } else {
        Err(render(&sources, &diagnostics))
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = match catalog_in_force(&args.paths)? {
        Ok(catalog) => catalog,
        Err(report) => {
            eprint!("{report}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let products = match &args.pages {
        Some(dir) => saved_products(dir)?,
        None => crate::commands::apply::runtime()?.block_on(live_products(&args.region))?,
    };
    let read = match read_products(
        products.iter().map(String::as_str),
        &args.region,
        &catalog,
        Unmapped::Fail,
    ) {
        Ok(read) => read,
        Err(e) => {
            // Nothing is written: a guessed or partial catalog would price the wrong model.
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let refreshed = read.prices();
    let changes = diff(&catalog, &refreshed);

    let written = match &args.write {
        None => None,
        Some(path) => {
            let checked = args
                .as_of
                .unwrap_or_else(|| chrono::Utc::now().date_naive())
                .to_string();
            let source = format!(
                "AWS Price List API, pricing:GetProducts ({}), regionCode {}, read {checked}",
                SERVICE_CODES.join(", "),
                args.region
            );
            let entries: Vec<_> = refreshed
                .iter()
                .map(|r| r.into_model_price(catalog.get(&r.model_id), &source, &checked))
                .collect();
            let text = catalog_file(
                &entries,
                &format!(
                    "Written by `budget-guard prices refresh` on {checked} from the AWS Price List ({}).\nEach entry replaces the bundled catalog's entry of the same model id when the policy is read.",
                    args.region
                ),
            );
            // What is written must read back as it was meant.
            let back = parse_catalog(&text).map_err(|e| {
                anyhow::anyhow!(
                    "the catalog file made does not read back ({}:{}): {e}",
                    e.line,
                    e.column
                )
            })?;
            anyhow::ensure!(
                back.entries().count() == entries.len(),
                "the catalog file made does not read back whole"
            );
            let tmp = path.with_extension("yaml.tmp");
            std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
            Some(path.display().to_string())
        }
    };

    match args.format {
        Format::Json => print_json(&serde_json::json!({
            "products": read.products,
            "skipped": read.skipped,
            "models": refreshed.len(),
            "changes": changes,
            "written": written,
        }))?,
        Format::Text => {
            let mut out = format!(
                "Read {} products for {}: {} models priced, {} products skipped (no token price, or another region).\n",
                read.products,
                args.region,
                refreshed.len(),
                read.skipped
            );
            for c in &changes {
                let show = |d: Option<rust_decimal::Decimal>| {
                    d.map(|d| d.normalize().to_string())
                        .unwrap_or_else(|| "none".into())
                };
                let percent = c
                    .percent
                    .map(|p| format!(" ({}{}%)", if p.is_sign_positive() { "+" } else { "" }, p))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "~ {} {}: {} -> {} per 1K tokens{percent}\n",
                    c.model_id,
                    c.field,
                    show(c.before),
                    show(c.after)
                ));
            }
            let changed: std::collections::BTreeSet<&str> =
                changes.iter().map(|c| c.model_id.as_str()).collect();
            out.push_str(&format!(
                "{} of {} models changed.\n",
                changed.len(),
                refreshed.len()
            ));
            if let Some(path) = &written {
                out.push_str(&format!(
                    "Wrote {path} ({} models): beside the policy, it replaces their bundled prices.\n",
                    refreshed.len()
                ));
            }
            emit(&out);
        }
    }
    Ok(ExitCode::SUCCESS)
}
