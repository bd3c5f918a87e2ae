//! What `budget-guard validate` reads of a policy folder: regular files only, text only, never a
//! line of anything else. Each case runs the real binary on a folder made for it.

mod common;

use common::{Run, run, run_with_env, workspace};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A folder holding a copy of the example policy as `a.yaml`.
fn policy_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::copy(
        workspace().join("policies/example.yaml"),
        dir.path().join("a.yaml"),
    )
    .expect("the example policy copies");
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// `validate` in text and JSON; both must refuse the policy (exit 1, like any invalid input).
fn validate_refused(path: &Path, env: &[(&str, &str)]) -> (Run, Vec<Value>) {
    let text = run_with_env(&["validate", path_str(path)], env);
    assert_eq!(text.code, Some(1), "{}", text.transcript());
    let json = run_with_env(&["validate", "--format", "json", path_str(path)], env);
    assert_eq!(json.code, Some(1), "{}", json.transcript());
    let diagnostics: Vec<Value> = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("JSON: {e}\n{}", json.transcript()));
    assert!(
        text.stderr.contains(&format!(
            "error: policy is invalid: {} error",
            diagnostics.len()
        )),
        "{}",
        text.transcript()
    );
    (text, diagnostics)
}

/// The one diagnostic at `file`, which must be at 1:1 with `message` in it.
fn refusal_of<'a>(diagnostics: &'a [Value], file: &Path, message: &str) -> &'a Value {
    let found: Vec<&Value> = diagnostics
        .iter()
        .filter(|d| d["file"] == path_str(file))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one diagnostic at {file:?}: {diagnostics:#?}"
    );
    let d = found[0];
    assert!(
        d["message"].as_str().is_some_and(|m| m.contains(message)),
        "`{message}` in {d}"
    );
    assert!(d["help"].is_string(), "{d}");
    d
}

/// A value no file of the test holds, to look for in what the CLI prints: unique per process
/// and per call, without the clock.
fn canary(what: &str) -> String {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{what}-{}-{call}", std::process::id())
}

#[test]
fn a_link_to_the_process_environment_is_refused_and_none_of_it_is_shown() {
    let dir = policy_folder();
    let link = dir.path().join("environ.yaml");
    std::os::unix::fs::symlink("/proc/self/environ", &link).expect("a symlink");
    let secret = canary("canary-secret");
    let env = [("BUDGET_GUARD_TEST_CANARY", secret.as_str())];
    let (text, diagnostics) = validate_refused(dir.path(), &env);
    refusal_of(&diagnostics, &link, "symbolic link");
    assert!(
        text.stderr.contains(&format!(
            "{}:1:1: error[BG002]: file is a symbolic link",
            link.display()
        )),
        "{}",
        text.transcript()
    );
    let json = run_with_env(
        &["validate", "--format", "json", path_str(dir.path())],
        &env,
    );
    for out in [&text, &json] {
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains(&secret), "the environment leaked:\n{all}");
        assert!(!all.contains("BUDGET_GUARD_TEST_CANARY"), "{all}");
        assert!(!all.contains("PATH="), "{all}");
    }
    // A link to a good policy file is refused all the same: the rule is about what a folder
    // holds, not about what a link happens to point at.
    let good = policy_folder();
    std::os::unix::fs::symlink(dir.path().join("a.yaml"), good.path().join("b.yaml")).unwrap();
    let (_, diagnostics) = validate_refused(good.path(), &[]);
    refusal_of(&diagnostics, &good.path().join("b.yaml"), "symbolic link");
}

#[test]
fn the_environment_named_on_the_command_line_is_refused_as_binary_without_a_line_of_it() {
    // A path named on the command line is followed (the operator chose it), so this reads
    // `/proc/self/environ` itself: NUL-separated, so refused, and not one line is echoed.
    let secret = canary("canary-secret");
    let env = [("BUDGET_GUARD_TEST_CANARY", secret.as_str())];
    let (text, diagnostics) = validate_refused(Path::new("/proc/self/environ"), &env);
    refusal_of(&diagnostics, Path::new("/proc/self/environ"), "NUL byte");
    let all = format!("{}{}", text.stdout, text.stderr);
    assert!(!all.contains(&secret), "the environment leaked:\n{all}");
    assert!(!all.contains(" | "), "no source line is shown:\n{all}");
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = policy_folder();
    let fifo = dir.path().join("pipe.yaml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {fifo:?}");
    for path in [dir.path().to_path_buf(), fifo.clone()] {
        // Nobody ever writes to the FIFO: opening it for reading the usual way would block.
        let mut child = Command::new(env!("CARGO_BIN_EXE_budget-guard"))
            .args(["validate", "--format", "json", path_str(&path)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`validate {path:?}` blocked on the FIFO");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let output = child.wait_with_output().expect("output");
        assert_eq!(status.code(), Some(1), "{output:?}");
        let diagnostics: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
        refusal_of(&diagnostics, &fifo, "named pipe (FIFO)");
    }
}

#[test]
fn sockets_and_devices_are_refused() {
    let dir = policy_folder();
    let socket = dir.path().join("socket.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("a socket");
    let (_, diagnostics) = validate_refused(dir.path(), &[]);
    refusal_of(&diagnostics, &socket, "a socket");
    let (_, diagnostics) = validate_refused(Path::new("/dev/null"), &[]);
    refusal_of(&diagnostics, Path::new("/dev/null"), "a character device");
}

#[test]
fn binary_files_are_refused_and_not_one_of_their_lines_is_echoed() {
    let secret = canary("token");
    let dir = policy_folder();
    let nul = dir.path().join("nul.yaml");
    std::fs::write(&nul, format!("version: 1\n# {secret}\0\n")).unwrap();
    let latin1 = dir.path().join("latin1.yaml");
    let mut bytes = format!("version: 1\n# {secret} caf").into_bytes();
    bytes.extend([0xE9, b'\n']);
    std::fs::write(&latin1, bytes).unwrap();
    let (text, diagnostics) = validate_refused(dir.path(), &[]);
    let d = refusal_of(&diagnostics, &nul, "file holds a NUL byte");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(3 + secret.chars().count() as u64))
    );
    let d = refusal_of(&diagnostics, &latin1, "file is not UTF-8 text");
    assert_eq!(d["line"].as_u64(), Some(2));
    assert!(!text.stderr.contains(&secret), "{}", text.transcript());
    assert!(!text.stdout.contains(&secret), "{}", text.transcript());
    // The good file of the folder is still checked: its own mistakes would be listed too.
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
}

#[test]
fn a_file_over_the_size_limit_is_refused_without_being_read() {
    let dir = policy_folder();
    let big = dir.path().join("big.yaml");
    let file = std::fs::File::create(&big).unwrap();
    // Sparse: the size is what counts, and the reader never gets to the bytes.
    file.set_len(guard_core::policy::MAX_FILE_BYTES as u64 + 1)
        .unwrap();
    let (_, diagnostics) = validate_refused(dir.path(), &[]);
    refusal_of(
        &diagnostics,
        &big,
        "file is 1048577 bytes; a policy file may be at most 1048576 bytes",
    );
}

#[test]
fn a_linked_policy_folder_named_on_the_command_line_is_read() {
    // The decision: a path the operator names is followed, like any command's argument; the
    // entries of the folder it leads to are held to the same rules as any folder's.
    let dir = policy_folder();
    let parent = tempfile::tempdir().unwrap();
    let link: PathBuf = parent.path().join("policies");
    std::os::unix::fs::symlink(dir.path(), &link).unwrap();
    let out = run(&["validate", path_str(&link)]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    let file_link = parent.path().join("policy.yaml");
    std::os::unix::fs::symlink(dir.path().join("a.yaml"), &file_link).unwrap();
    let out = run(&["validate", path_str(&file_link)]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
    // Sub-folders are not read, whatever their name.
    std::fs::create_dir(dir.path().join("nested.yaml")).unwrap();
    let out = run(&["validate", path_str(&link)]);
    assert_eq!(out.code, Some(0), "{}", out.transcript());
}

#[test]
fn every_command_that_reads_a_policy_refuses_the_same_way() {
    let dir = policy_folder();
    std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("environ.yaml")).unwrap();
    let secret = canary("canary-secret");
    let env = [("BUDGET_GUARD_TEST_CANARY", secret.as_str())];
    let path = path_str(dir.path());
    for args in [
        &["estimate", path][..],
        &["plan", "--offline", path],
        &["export", path],
    ] {
        let out = run_with_env(args, &env);
        assert_eq!(out.code, Some(1), "{}", out.transcript());
        assert!(
            out.stderr.contains("file is a symbolic link"),
            "{}",
            out.transcript()
        );
        assert!(!out.stderr.contains(&secret) && !out.stdout.contains(&secret));
    }
}
