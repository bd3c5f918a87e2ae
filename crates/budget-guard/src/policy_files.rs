//! Reads the policy paths a command was given into source files for `guard_core::policy::load`.

use anyhow::{Context, Result, bail};
use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{self, Policy, SourceFile};
use std::path::{Path, PathBuf};

pub const DEFAULT_POLICY_DIR: &str = "policies";

/// The files of `paths`: a file is itself; a folder gives its `*.yaml` and `*.yml` files, sorted.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>> {
    let default = [PathBuf::from(DEFAULT_POLICY_DIR)];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_yaml(p))
                .collect();
            entries.sort();
            if entries.is_empty() {
                bail!("{} holds no .yaml or .yml files", path.display());
            }
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }
    files
        .into_iter()
        .map(|p| {
            // Read at most one byte past the limit: the loader reports the size, and a huge file
            // costs no memory.
            use std::io::Read;
            let mut bytes = Vec::new();
            std::fs::File::open(&p)
                .and_then(|f| f.take(policy::MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
                .with_context(|| format!("cannot read {}", p.display()))?;
            Ok(SourceFile::new(display(&p), bytes))
        })
        .collect()
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

fn display(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// Renders diagnostics as text, each with its source line.
pub fn render(sources: &[SourceFile], diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let text = sources.iter().find(|s| s.name == d.file).and_then(SourceFile::text);
        out.push_str(&d.render(text));
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 {
        out.push_str(&format!(
            "error: policy is invalid: {errors} error{}{}\n",
            if errors == 1 { "" } else { "s" },
            if warnings > 0 { format!(", {warnings} warning{}", if warnings == 1 { "" } else { "s" }) } else { String::new() }
        ));
    }
    out
}

/// The policy of `paths`, or an error that carries every diagnostic, rendered. Commands other than
/// `validate` use this: they refuse to act on an invalid policy. Warnings go to stderr.
pub fn load_policy(paths: &[PathBuf]) -> Result<Policy, PolicyError> {
    let sources = read_sources(paths).map_err(PolicyError::Io)?;
    let (policy, diagnostics) = policy::load(&sources);
    match policy {
        Some(policy) => {
            if !diagnostics.is_empty() {
                eprint!("{}", render(&sources, &diagnostics));
            }
            Ok(policy)
        }
        None => Err(PolicyError::Invalid(render(&sources, &diagnostics))),
    }
}

#[derive(Debug)]
pub enum PolicyError {
    /// The files could not be read (exit 2).
    Io(anyhow::Error),
    /// The policy is invalid; the rendered diagnostics (exit 1).
    Invalid(String),
}
