//! The emulators' fork server (`tests/emulator/fork_server.py`): one Python process per machine
//! and launcher version that has imported moto once and forks a fresh emulator per request, so
//! that a test does not pay a second or more of CPU for the imports.
//!
//! Any test process may find the server gone (it leaves after two idle minutes) and start it.
//! Two tests that start one at once are harmless: each server publishes its socket by renaming
//! it into place, so the later one takes the path and the other idles out. The server runs on the real clock, in a process group of
//! its own, with no handle on the test's output, so it outlives the test that started it
//! without nextest counting it as the test's leak.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection to the fork server for `python`, starting the server first when none answers.
pub(crate) fn connect(python: &Path, emulator_dir: &Path) -> Result<UnixStream> {
    let socket = socket_path(python, emulator_dir)?;
    if let Ok(stream) = UnixStream::connect(&socket) {
        return Ok(stream);
    }
    let log_path = socket.with_extension("log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .context("opening the fork server's log")?;
    let mut server = Command::new(python)
        .arg(emulator_dir.join("fork_server.py"))
        .arg(&socket)
        .current_dir(emulator_dir)
        .env("PYTHONUNBUFFERED", "1")
        // The emulator keeps the real clock when a test run shifts its own (libfaketime): its
        // time is not what is under test, and Python's sleep fails under a shifted clock.
        .env_remove("LD_PRELOAD")
        .env_remove("FAKETIME")
        .env_remove("MOTO_PORT")
        .env_remove("BUDGET_GUARD_CALL_LOG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("sharing the log")?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| {
            format!(
                "starting the emulators' fork server with {}",
                python.display()
            )
        })?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(stream) = UnixStream::connect(&socket) {
            return Ok(stream);
        }
        if let Some(status) = server.try_wait().context("waiting on the fork server")? {
            bail!(
                "the emulators' fork server exited while starting ({status}); its log:\n{}",
                fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "the emulators' fork server did not listen within {}s; its log:\n{}",
                START_TIMEOUT.as_secs(),
                fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One server per interpreter and version of the emulator's Python files: a test run after an
/// edit of the launcher never gets an emulator forked from the old one.
fn socket_path(python: &Path, emulator_dir: &Path) -> Result<PathBuf> {
    let mut hasher = DefaultHasher::new();
    python.hash(&mut hasher);
    for file in ["fork_server.py", "moto_launcher.py"] {
        let path = emulator_dir.join(file);
        fs::read(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .hash(&mut hasher);
    }
    Ok(std::env::temp_dir().join(format!("budget-guard-moto-{:016x}.sock", hasher.finish())))
}
