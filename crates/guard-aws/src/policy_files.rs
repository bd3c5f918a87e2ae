//! Reads a policy from disk: the CLI from the paths it is given, the functions from the Lambda
//! layer (`BUDGET_GUARD_POLICY_DIR`). One code path, so both see the same errors.

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::{self, Policy, Refusal, SourceFile};
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

/// The files of `paths`: a file is itself; a folder gives its `*.yaml` and `*.yml` entries, sorted.
/// No paths means `policies/`.
///
/// Only regular files are read, each at most [`policy::MAX_FILE_BYTES`]. An entry of a folder that
/// is a symbolic link, a FIFO, a socket or a device is not opened: it comes back refused
/// ([`SourceFile::refused`]), and the loader reports it at the file like any other invalid input.
/// Sub-folders are not read (a policy folder is one level deep), whatever their name.
///
/// A path given here (named on the command line, or the functions' policy folder) is followed
/// when it is a symbolic link: it is the operator's own choice, as with any command's argument, and
/// `policies -> ../shared/policies` is a common layout. What it leads to must still be a folder
/// or a regular file, and the entries of a linked folder are held to the same rule as any other.
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
            let mut entries = Vec::new();
            for entry in std::fs::read_dir(path).map_err(io(path))? {
                let entry = entry.map_err(io(path))?;
                let entry_path = entry.path();
                if !is_yaml(&entry_path) {
                    continue;
                }
                // The entry itself, never what a link points at.
                let kind = entry.file_type().map_err(io(&entry_path))?;
                if kind.is_dir() {
                    continue;
                }
                entries.push((entry_path, Follow::No));
            }
            entries.sort();
            if entries.is_empty() {
                return Err(PolicyError::NoFiles(path.clone()));
            }
            files.extend(entries);
        } else {
            files.push((path.clone(), Follow::Yes));
        }
    }
    files
        .into_iter()
        .map(|(path, follow)| read_file(&path, follow))
        .collect()
}

/// Whether a symbolic link at the path itself is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Follow {
    /// A path the operator named.
    Yes,
    /// An entry of a policy folder.
    No,
}

/// One file: read when it is a regular file, else refused without being opened.
fn read_file(path: &Path, follow: Follow) -> Result<SourceFile, PolicyError> {
    let name = display(path);
    let meta = match follow {
        Follow::Yes => std::fs::metadata(path),
        Follow::No => std::fs::symlink_metadata(path),
    }
    .map_err(io(path))?;
    if let Some(refusal) = refusal(&meta) {
        return Ok(SourceFile::refused(name, refusal));
    }
    // The file may be swapped for a link or a FIFO between the look and the open: the open neither
    // follows a link at the entry nor waits for a FIFO's writer, and what was opened is looked at
    // again before a byte is read.
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow == Follow::No {
            libc::O_NOFOLLOW
        } else {
            0
        };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        #[cfg(unix)]
        Err(e) if follow == Follow::No && e.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(SourceFile::refused(name, Refusal::SymbolicLink));
        }
        Err(e) => return Err(io(path)(e)),
    };
    let meta = file.metadata().map_err(io(path))?;
    if let Some(refusal) = refusal(&meta) {
        return Ok(SourceFile::refused(name, refusal));
    }
    // At most one byte past the limit: the loader reports the size, and a file whose size the
    // system does not know (`/proc`) costs no more memory than that.
    let mut bytes = Vec::new();
    file.take(policy::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    Ok(SourceFile::new(name, bytes))
}

/// Why a file of this kind and size is not read, if it is not.
fn refusal(meta: &std::fs::Metadata) -> Option<Refusal> {
    let kind = meta.file_type();
    if kind.is_file() {
        return (meta.len() > policy::MAX_FILE_BYTES as u64)
            .then_some(Refusal::TooLarge(meta.len()));
    }
    if kind.is_symlink() {
        return Some(Refusal::SymbolicLink);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some(Refusal::Fifo);
        }
        if kind.is_socket() {
            return Some(Refusal::Socket);
        }
        if kind.is_block_device() {
            return Some(Refusal::BlockDevice);
        }
        if kind.is_char_device() {
            return Some(Refusal::CharacterDevice);
        }
    }
    Some(Refusal::NotRegular)
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
        // Lines of policy text only: a file that is not UTF-8 or holds a NUL byte (a binary, an
        // environment) is named with the place of its first bad byte, and none of it is shown.
        let text = sources
            .iter()
            .find(|s| s.name == d.file)
            .and_then(SourceFile::quotable_text);
        out.push_str(&d.render(text));
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
    check_sources(&read_sources(paths)?)
}

/// The checked policy of `sources`, with its warnings rendered, or every error rendered.
pub fn check_sources(sources: &[SourceFile]) -> Result<(Policy, String), PolicyError> {
    let (policy, diagnostics) = policy::load(sources);
    let rendered = render(sources, &diagnostics);
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
