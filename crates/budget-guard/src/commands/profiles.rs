//! `budget-guard profiles`: the application inference profiles a policy names, the model each is
//! billed as (from `profiles:` or from `bedrock:GetInferenceProfile`), and the resolved ones
//! written as a `profiles:` file on request, so that offline commands and the stack price them.

use crate::output::{Format, emit, print_json, table};
use crate::policy_files::{read_sources, render, resolve_profiles};
use anyhow::Context;
use guard_core::diagnostic::Severity;
use guard_core::policy::SourceFile;
use guard_core::pricing::inference_profile::{named_profiles, parse_profiles_file, profiles_file};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or folders [default: policies]
    pub paths: Vec<PathBuf>,
    /// Write every profile's model as a policy file with a `profiles:` map (e.g.
    /// policies/profiles.yaml), keeping the entries a file written before holds; nothing is
    /// written unless the policy validates with it
    #[arg(long, value_name = "PATH")]
    pub write: Option<PathBuf>,
    /// Also ask Bedrock about the profiles `profiles:` maps, and exit 1 when one runs another
    /// model than the policy says
    #[arg(long)]
    pub check: bool,
    /// text: a table; json: [{arn, model, from, bedrock_model}]
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct Row {
    arn: String,
    /// The model the guard prices the profile as.
    model: String,
    /// `policy` (its `profiles:` map) or `bedrock` (resolved now).
    from: &'static str,
    /// What Bedrock says, when it was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    bedrock_model: Option<String>,
}

const HEADER: &str = "Written by `budget-guard profiles --write` from bedrock:GetInferenceProfile: each application\ninference profile the policy names, with the model it is billed as.";

/// The `profiles:` entries of a file this command wrote before.
fn written_before(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        Ok(text) => parse_profiles_file(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} exists and is not a profiles file (only `version` and `profiles`): {e}",
                path.display()
            )
        }),
    }
}

fn same_file(name: &str, path: &Path) -> bool {
    let a = Path::new(name);
    a == path
        || matches!(
            (a.canonicalize(), path.canonicalize()),
            (Ok(x), Ok(y)) if x == y
        )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sources = match read_sources(&args.paths) {
        Ok(sources) => sources,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let named = named_profiles(&sources);
    let asked: Vec<&str> = named
        .unmapped
        .iter()
        .map(String::as_str)
        .chain(
            named
                .mapped
                .keys()
                .map(String::as_str)
                .filter(|_| args.check),
        )
        .collect();
    let bedrock = match resolve_profiles(asked) {
        Ok(resolved) => resolved,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let mut rows: Vec<Row> = named
        .mapped
        .iter()
        .map(|(arn, model)| Row {
            arn: arn.clone(),
            model: model.clone(),
            from: "policy",
            bedrock_model: bedrock.get(arn).cloned(),
        })
        .collect();
    rows.extend(named.unmapped.iter().filter_map(|arn| {
        Some(Row {
            arn: arn.clone(),
            model: bedrock.get(arn)?.clone(),
            from: "bedrock",
            bedrock_model: None,
        })
    }));
    rows.sort_by(|a, b| a.arn.cmp(&b.arn));
    let differs: Vec<&Row> = rows
        .iter()
        .filter(|r| r.bedrock_model.as_ref().is_some_and(|b| *b != r.model))
        .collect();

    if let Some(path) = &args.write {
        // The file keeps what it held, gains the profiles resolved now, and takes Bedrock's word
        // for its own entries; entries of the policy's other files stay there.
        let mut profiles = written_before(path)?;
        for r in &rows {
            let model = match (r.from, &r.bedrock_model) {
                ("bedrock", _) => &r.model,
                (_, Some(bedrock)) if profiles.contains_key(&r.arn) => bedrock,
                _ => continue,
            };
            profiles.insert(r.arn.clone(), model.clone());
        }
        let text = profiles_file(&profiles, HEADER);
        // The policy must validate with the file before it is written.
        let mut with_file: Vec<SourceFile> = sources
            .iter()
            .filter(|s| !same_file(&s.name, path))
            .cloned()
            .collect();
        with_file.push(SourceFile::new(path.display().to_string(), text.clone()));
        let (_, diagnostics) = guard_core::policy::load(&with_file);
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            eprint!("{}", render(&with_file, &diagnostics));
            eprintln!("error: the policy does not validate with it: nothing written");
            return Ok(ExitCode::from(1));
        }
        let tmp = path.with_extension("yaml.tmp");
        std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {} ({} profiles)", path.display(), profiles.len());
    }

    match args.format {
        Format::Json => print_json(&rows)?,
        Format::Text if rows.is_empty() => {
            emit("The policy names no application inference profile.\n")
        }
        Format::Text => {
            let table_rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let from = match (&r.bedrock_model, r.from) {
                        (Some(b), _) if *b != r.model => format!("policy; Bedrock says {b}"),
                        (Some(_), _) => "policy; Bedrock agrees".to_owned(),
                        (None, from) => from.to_owned(),
                    };
                    vec![r.arn.clone(), r.model.clone(), from]
                })
                .collect();
            emit(&table(&["PROFILE", "PRICED AS", "FROM"], &table_rows, &[]));
        }
    }
    if !differs.is_empty() {
        eprintln!(
            "error: {} profile(s) run another model than `profiles:` says: correct the policy, or rewrite it with --write",
            differs.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
