//! The functions' way to the policy (`load_policy` of the layer's folder, as the alert handler
//! and the spend watcher call it; the provisioner reads the same `read_sources`): only regular
//! files, and nothing of a refused file in what is reported.

use guard_aws::policy_files::{PolicyError, load_policy, read_sources};
use std::path::Path;

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/example.yaml");
    std::fs::copy(example, dir.path().join("example.yaml")).expect("copied");
    dir
}

fn refused(dir: &Path) -> String {
    match load_policy(&[dir.to_path_buf()]) {
        Err(PolicyError::Invalid(text)) => text,
        other => panic!("refused as invalid: {other:?}"),
    }
}

#[test]
fn a_link_in_the_policy_folder_is_refused_and_never_followed() {
    let dir = folder();
    std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("environ.yaml")).unwrap();
    let text = refused(dir.path());
    assert!(
        text.contains("environ.yaml:1:1: error[BG002]: file is a symbolic link"),
        "{text}"
    );
    // The process's own environment (PATH at least) is nowhere in the report.
    let path = std::env::var("PATH").unwrap_or_default();
    assert!(path.is_empty() || !text.contains(&path), "{text}");
    assert!(!text.contains(" | "), "no line of any file: {text}");
    // What the loader was given for it: nothing read.
    let sources = read_sources(&[dir.path().to_path_buf()]).unwrap();
    let link = sources
        .iter()
        .find(|s| s.name.ends_with("environ.yaml"))
        .unwrap();
    assert!(link.bytes.is_empty() && link.refused.is_some(), "{link:?}");
}

#[test]
fn a_fifo_in_the_policy_folder_is_refused_without_blocking() {
    let dir = folder();
    let fifo = dir.path().join("pipe.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs")
            .success()
    );
    // Nobody writes to it: a plain open for reading would wait for a writer forever.
    let (done, wait) = std::sync::mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || done.send(refused(&path)).ok());
    let text = wait
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("loading the policy did not block on the FIFO");
    assert!(
        text.contains("pipe.yaml:1:1: error[BG003]: file is a named pipe (FIFO)"),
        "{text}"
    );
}
