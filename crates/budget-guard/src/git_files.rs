//! A policy's files as they were at a git ref (`estimate --against REF`), read with git itself.
//!
//! The same paths as the working tree's, and the same rule as the loader's
//! ([`crate::policy_files::read_sources`]): a file is itself, a folder gives its `*.yaml` and
//! `*.yml` entries one level deep, sorted, and a `prices.yaml` among them is the policy's price
//! catalog. An entry that was a symbolic link at the ref is refused, as on disk, and so is one
//! above [`MAX_FILE_BYTES`]. Each file is named `REF:repo/relative/path`, git's own notation, so
//! that diagnostics say which side they are about.

use guard_core::policy::{MAX_FILE_BYTES, Refusal, SourceFile};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git could not be started at all.
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    /// A path is not inside a git repository.
    #[error("{path} is not in a git repository: {stderr}")]
    NotARepository { path: PathBuf, stderr: String },
    /// The ref names no commit of the repository.
    #[error(
        "unknown git ref `{reference}`: no commit of {repo} has that name (a branch of a remote needs a fetch first)"
    )]
    UnknownRef { reference: String, repo: PathBuf },
    /// Any other git command that failed.
    #[error("`git {command}` failed in {repo}: {stderr}")]
    Failed {
        command: String,
        repo: PathBuf,
        stderr: String,
    },
}

/// The files of `paths` (as given on the command line, existing in the working tree) as they were
/// at `reference`. A path that did not exist at the ref gives no files: everything in it is new.
pub fn read_sources_at(reference: &str, paths: &[PathBuf]) -> Result<Vec<SourceFile>, GitError> {
    let mut files = Vec::new();
    for path in paths {
        let (repo, relative) = locate(path)?;
        let commit = resolve(&repo, reference)?;
        for entry in entries(&repo, &commit, &relative)? {
            files.push(read_entry(&repo, reference, entry)?);
        }
    }
    Ok(files)
}

/// The repository that holds `path` and the path relative to its top, `/`-separated (empty for
/// the top itself).
fn locate(path: &Path) -> Result<(PathBuf, String), GitError> {
    let folder = if path.is_dir() {
        path.to_owned()
    } else {
        match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        }
    };
    let out = git(&folder, &["rev-parse", "--show-toplevel"])?;
    if !out.status.success() {
        return Err(GitError::NotARepository {
            path: path.to_owned(),
            stderr: stderr_of(&out),
        });
    }
    let top = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r']));
    let failed = |what: &str| GitError::Failed {
        command: "rev-parse --show-toplevel".into(),
        repo: top.clone(),
        stderr: what.to_owned(),
    };
    let top_real = top
        .canonicalize()
        .map_err(|e| failed(&format!("cannot resolve {}: {e}", top.display())))?;
    let path_real = path
        .canonicalize()
        .map_err(|e| failed(&format!("cannot resolve {}: {e}", path.display())))?;
    let relative = path_real
        .strip_prefix(&top_real)
        .map_err(|_| failed(&format!("{} is outside {}", path.display(), top.display())))?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok((top_real, parts.join("/")))
}

/// The commit `reference` names, so that every read sees the same tree.
fn resolve(repo: &Path, reference: &str) -> Result<String, GitError> {
    let unknown = || GitError::UnknownRef {
        reference: reference.to_owned(),
        repo: repo.to_owned(),
    };
    // Never an option of git's.
    if reference.is_empty() || reference.starts_with('-') {
        return Err(unknown());
    }
    let spec = format!("{reference}^{{commit}}");
    let out = git(repo, &["rev-parse", "--verify", "--quiet", &spec])?;
    if !out.status.success() {
        return Err(unknown());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// One entry of `git ls-tree`.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    mode: String,
    kind: String,
    object: String,
    size: Option<u64>,
    path: String,
}

/// The policy files under `relative` at `commit`: the path itself when it was a file, else its
/// direct `*.yaml` and `*.yml` entries, sorted.
fn entries(repo: &Path, commit: &str, relative: &str) -> Result<Vec<Entry>, GitError> {
    let pathspec = if relative.is_empty() { "." } else { relative };
    let args = [
        "--literal-pathspecs",
        "ls-tree",
        "-r",
        "-z",
        "--long",
        commit,
        "--",
        pathspec,
    ];
    let out = git(repo, &args)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            command: format!("ls-tree -r {commit} -- {pathspec}"),
            repo: repo.to_owned(),
            stderr: stderr_of(&out),
        });
    }
    let listed = parse_ls_tree(&String::from_utf8_lossy(&out.stdout));
    Ok(select(listed, relative))
}

/// The entries the loader would read for `relative`.
fn select(listed: Vec<Entry>, relative: &str) -> Vec<Entry> {
    // A file named on the command line is read whatever its name.
    if let Some(file) = listed.iter().position(|e| e.path == relative) {
        let mut listed = listed;
        return vec![listed.swap_remove(file)];
    }
    let mut selected: Vec<Entry> = listed
        .into_iter()
        .filter(|e| {
            let (parent, name) = e.path.rsplit_once('/').unwrap_or(("", &e.path));
            parent == relative
                && e.kind == "blob"
                && (name.ends_with(".yaml") || name.ends_with(".yml"))
        })
        .collect();
    selected.sort_by(|a, b| a.path.cmp(&b.path));
    selected
}

/// `<mode> SP <type> SP <object> SP+ <size> TAB <path>` records, NUL-terminated.
fn parse_ls_tree(text: &str) -> Vec<Entry> {
    text.split('\0')
        .filter(|record| !record.is_empty())
        .filter_map(|record| {
            let (meta, path) = record.split_once('\t')?;
            let mut fields = meta.split_whitespace();
            Some(Entry {
                mode: fields.next()?.to_owned(),
                kind: fields.next()?.to_owned(),
                object: fields.next()?.to_owned(),
                size: fields.next().and_then(|s| s.parse().ok()),
                path: path.to_owned(),
            })
        })
        .collect()
}

fn read_entry(repo: &Path, reference: &str, entry: Entry) -> Result<SourceFile, GitError> {
    // A file at the top of the repository is `REF:./name`: `REF:name` would hide the name
    // (`prices.yaml`) behind the ref, and git reads both the same from the top.
    let name = if entry.path.contains('/') {
        format!("{reference}:{}", entry.path)
    } else {
        format!("{reference}:./{}", entry.path)
    };
    if entry.mode == "120000" {
        return Ok(SourceFile::refused(name, Refusal::SymbolicLink));
    }
    if entry.kind != "blob" {
        return Ok(SourceFile::refused(name, Refusal::NotRegular));
    }
    if let Some(size) = entry.size.filter(|&s| s > MAX_FILE_BYTES as u64) {
        return Ok(SourceFile::refused(name, Refusal::TooLarge(size)));
    }
    let out = git(repo, &["cat-file", "blob", &entry.object])?;
    if !out.status.success() {
        return Err(GitError::Failed {
            command: format!("cat-file blob {}", entry.object),
            repo: repo.to_owned(),
            stderr: stderr_of(&out),
        });
    }
    Ok(SourceFile::new(name, out.stdout))
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Plain output whatever the user's configuration, and no pager or prompt.
        .env("GIT_PAGER", "cat")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .map_err(GitError::Spawn)
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mode: &str, kind: &str, path: &str) -> Entry {
        Entry {
            mode: mode.into(),
            kind: kind.into(),
            object: "0".repeat(40),
            size: Some(10),
            path: path.into(),
        }
    }

    #[test]
    fn parses_long_nul_separated_records() {
        let text = format!(
            "100644 blob {o}     120\tpolicies/a b.yaml\0120000 blob {o}       7\tpolicies/link.yaml\0160000 commit {o}       -\tpolicies/sub\0",
            o = "a".repeat(40)
        );
        let entries = parse_ls_tree(&text);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].path, "policies/a b.yaml");
        assert_eq!(entries[0].size, Some(120));
        assert_eq!(entries[1].mode, "120000");
        assert_eq!(entries[2].kind, "commit");
        assert_eq!(entries[2].size, None);
    }

    #[test]
    fn a_folder_gives_its_direct_yaml_files_sorted() {
        let listed = vec![
            entry("100644", "blob", "policies/z.yml"),
            entry("100644", "blob", "policies/a.yaml"),
            entry("100644", "blob", "policies/schema.json"),
            entry("100644", "blob", "policies/old/x.yaml"),
            entry("100644", "blob", "policies-old/x.yaml"),
            entry("160000", "commit", "policies/sub.yaml"),
        ];
        let paths: Vec<String> = select(listed, "policies")
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["policies/a.yaml", "policies/z.yml"]);
    }

    #[test]
    fn a_file_is_itself_and_the_top_folder_has_no_prefix() {
        let listed = vec![entry("100644", "blob", "policies/custom.txt")];
        assert_eq!(select(listed, "policies/custom.txt").len(), 1);
        let listed = vec![
            entry("100644", "blob", "budget.yaml"),
            entry("100644", "blob", "policies/a.yaml"),
        ];
        let top = select(listed, "");
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].path, "budget.yaml");
    }
}
