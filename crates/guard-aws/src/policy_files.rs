//! Reads a policy from disk: the CLI from the paths it is given, the functions from the Lambda
//! layer (`BUDGET_GUARD_POLICY_DIR`). One code path, so both see the same errors.

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{self, Policy, SourceFile};
use std::io::Read;
use std::path::{Path, PathBuf};

pub const DEFAULT_POLICY_DIR: &str = "policies";
/// Where the deployed functions find the policy: the policy layer mounts at /opt.
pub const POLICY_DIR_ENV: &str = "BUDGET_GUARD_POLICY_DIR";
pub const LAMBDA_POLICY_DIR: &str = "/opt/policy";

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} holds no .yaml or .yml files")]
    NoFiles(PathBuf),
    /// The policy is invalid; the diagnostics, rendered with their source lines.
    #[error("{0}")]
    Invalid(String),
}

impl PolicyError {
    /// The diagnostics or the I/O error, as text for people and CloudFormation.
    pub fn report(&self) -> String {
        self.to_string()
    }
}

/// The files of `paths`: a file is itself; a folder gives its `*.yaml` and `*.yml` files, sorted.
/// No paths means `policies/`.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, PolicyError> {
    let default = [PathBuf::from(DEFAULT_POLICY_DIR)];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(io(path))?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io(path))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_yaml(p))
                .collect();
            entries.sort();
            if entries.is_empty() {
                return Err(PolicyError::NoFiles(path.clone()));
            }
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }
    files
        .into_iter()
        .map(|p| {
            // At most one byte past the limit: the loader reports the size, a huge file costs
            // no memory.
            let mut bytes = Vec::new();
            std::fs::File::open(&p)
                .and_then(|f| {
                    f.take(policy::MAX_FILE_BYTES as u64 + 1)
                        .read_to_end(&mut bytes)
                })
                .map_err(io(&p))?;
            Ok(SourceFile::new(display(&p), bytes))
        })
        .collect()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PolicyError + '_ {
    move |source| PolicyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn display(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// Renders diagnostics as text, each with its source line, and a closing count of errors.
pub fn render(sources: &[SourceFile], diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        // Lossy, so that a file that is not UTF-8 still shows the line with the bad byte (as `�`).
        let text = sources
            .iter()
            .find(|s| s.name == d.file)
            .map(|s| String::from_utf8_lossy(&s.bytes));
        out.push_str(&d.render(text.as_deref()));
        out.push('\n');
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        out.push_str(&format!(
            "error: policy is invalid: {errors} error{}",
            s(errors)
        ));
        if warnings > 0 {
            out.push_str(&format!(", {warnings} warning{}", s(warnings)));
        }
        out.push('\n');
    }
    out
}

/// The checked policy of `paths`, with its warnings rendered, or every error rendered.
pub fn load_policy(paths: &[PathBuf]) -> Result<(Policy, String), PolicyError> {
    let sources = read_sources(paths)?;
    let (policy, diagnostics) = policy::load(&sources);
    let rendered = render(&sources, &diagnostics);
    policy
        .map(|p| (p, rendered.clone()))
        .ok_or(PolicyError::Invalid(rendered))
}

/// The policy a deployed function runs with: the folder named by `BUDGET_GUARD_POLICY_DIR`, else
/// the Lambda layer's `/opt/policy`.
pub fn policy_dir_from_env() -> PathBuf {
    std::env::var_os(POLICY_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(LAMBDA_POLICY_DIR))
}
