use crate::output::{Format, emit, print_json};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// text: per function, its actions; json: `{"<function>": [{actions, resource}]}`
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let statements = guard_aws::wiring::iam_statements();
    match args.format {
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = statements
                .iter()
                .map(|(f, s)| Ok(((*f).to_owned(), serde_json::to_value(s)?)))
                .collect::<anyhow::Result<_>>()?;
            print_json(&map)?;
        }
        Format::Text => {
            let mut out = String::new();
            for (function, statements) in &statements {
                out.push_str(&format!("{function}:\n"));
                for s in statements {
                    let kind = serde_json::to_value(s.resource)?;
                    out.push_str(&format!(
                        "  {}: {}\n",
                        kind.as_str().unwrap_or_default(),
                        s.actions.join(", ")
                    ));
                }
            }
            emit(&out);
        }
    }
    Ok(ExitCode::SUCCESS)
}
