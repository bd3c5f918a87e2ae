use crate::output::{Format, print_json};
use crate::policy_files::{read_sources, render};
use guard_core::diagnostic::Severity;
use guard_core::policy::UnmappedProfiles;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
    /// text: errors with the offending line; json: [{file, line, column, severity, code, message, help}]
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Application inference profile ARNs without a `profiles:` entry are warnings (BG801), not
    /// errors: the deployed stack resolves them (what the CDK construct checks at synth)
    #[arg(long)]
    pub resolve_profiles_at_deploy: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sources = match read_sources(&args.paths) {
        Ok(sources) => sources,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let options = guard_core::policy::LoadOptions {
        unmapped_profiles: if args.resolve_profiles_at_deploy {
            UnmappedProfiles::ResolvedAtDeploy
        } else {
            UnmappedProfiles::Error
        },
    };
    let (policy, diagnostics) = guard_core::policy::load_with(&sources, options);
    match args.format {
        Format::Json => print_json(&diagnostics)?,
        Format::Text => {
            let text = render(&sources, &diagnostics);
            if let Some(policy) = &policy {
                crate::output::emit(&text);
                let files = sources.len();
                crate::output::emit(&format!(
                    "ok: {} valid ({} file{}, {} budget{}, {} route{}, {} channel{})\n",
                    if files == 1 {
                        sources[0].name.clone()
                    } else {
                        "policy".to_owned()
                    },
                    files,
                    plural(files),
                    policy.budgets.len(),
                    plural(policy.budgets.len()),
                    policy.routes.len(),
                    plural(policy.routes.len()),
                    policy.channels.len(),
                    plural(policy.channels.len()),
                ));
            } else {
                eprint!("{text}");
            }
        }
    }
    let valid = policy.is_some() && !diagnostics.iter().any(|d| d.severity == Severity::Error);
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
