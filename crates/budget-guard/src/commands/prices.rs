use crate::output::{Format, print_json, table};
use guard_core::prices::Catalog;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// text: a table; json: [{model_id, input_per_1k, output_per_1k, ...}] in USD
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::bundled();
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
                        p.service.clone(),
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
                    "COST EXPLORER SERVICE",
                    "CHECKED",
                ],
                &rows,
                &[1, 2, 3, 4, 5, 6],
            ));
            crate::output::emit(
                "\nUSD per 1,000 tokens, on demand, us-east-1. Inference profile ids (us., eu., apac., global.) resolve to these; Claude 4.5 and later cost 10% more under regional profiles than global.\n",
            );
            crate::output::emit(
                "Override or add models under `pricing:` in the policy. `--format json` shows each figure's source.\n",
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
