//! A clock for the function processes, so that end-to-end stories run on fixed dates whatever
//! today's date is. The processes run under libfaketime (Debian's `faketime` package), whose
//! offset from the real clock is read from a file at every clock read; [`FakeClock::set`] rewrites
//! it. Monotonic clocks are left alone, so timers and timeouts behave as usual.
//!
//! The functions themselves read the clock as in production: nothing in them knows.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where Debian puts libfaketime; `BUDGET_GUARD_LIBFAKETIME` names another.
const LIBFAKETIME: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
];

/// The path of libfaketime, or an error that says how to install it.
pub fn libfaketime() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("BUDGET_GUARD_LIBFAKETIME") {
        return Ok(PathBuf::from(path));
    }
    LIBFAKETIME
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context("libfaketime is not installed: `apt-get install faketime` (make deps does it)")
}

/// The shift of this process's own clock, when the whole test run is put on a shifted clock
/// (`FAKETIME=+400d`, as `make shifted-clock-test` does): libfaketime reads the offsets we write
/// against the real clock, not against ours.
fn own_shift_seconds() -> i64 {
    let Ok(spec) = std::env::var("FAKETIME") else {
        return 0;
    };
    let spec = spec.trim();
    let (number, unit) =
        spec.split_at(spec.len() - spec.ends_with(['s', 'm', 'h', 'd', 'y']) as usize);
    let Ok(number) = number.trim_start_matches('+').parse::<f64>() else {
        return 0;
    };
    let seconds = match unit {
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "y" => 365.0 * 86_400.0,
        _ => 1.0,
    };
    (number * seconds).round() as i64
}

/// The clock the function processes see: the real clock plus an offset.
#[derive(Debug, Clone)]
pub struct FakeClock {
    dir: Arc<tempfile::TempDir>,
    lib: PathBuf,
    /// Seconds from this process's clock to the fake one.
    offset: Arc<AtomicI64>,
}

impl FakeClock {
    /// A clock that reads `at` now, and runs on from there.
    pub fn start(at: DateTime<Utc>) -> Result<FakeClock> {
        let lib = libfaketime()?;
        if !lib.exists() {
            bail!("{} does not exist", lib.display());
        }
        let clock = FakeClock {
            dir: Arc::new(tempfile::tempdir().context("a folder for the fake clock")?),
            lib,
            offset: Arc::new(AtomicI64::new(0)),
        };
        clock.set(at)?;
        Ok(clock)
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("faketime")
    }

    /// From now on the processes' clock reads `at` (and runs on from there).
    pub fn set(&self, at: DateTime<Utc>) -> Result<()> {
        // Whole seconds, rounded up, so the processes never read a time before `at`.
        let offset = (at - Utc::now()).num_milliseconds().div_euclid(1000) + 1;
        self.offset.store(offset, Ordering::SeqCst);
        let from_real = offset + own_shift_seconds();
        std::fs::write(self.file(), format!("{from_real:+}s\n"))
            .context("writing the fake clock's offset")
    }

    /// What the processes' clock reads now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds())
    }

    /// Seconds from this process's clock to the processes' clock.
    pub fn offset_seconds(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// The variables that put a process on this clock.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let path = |p: &Path| p.display().to_string();
        vec![
            ("LD_PRELOAD".into(), path(&self.lib)),
            ("FAKETIME_TIMESTAMP_FILE".into(), path(&self.file())),
            ("FAKETIME_NO_CACHE".into(), "1".into()),
            ("DONT_FAKE_MONOTONIC".into(), "1".into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_process_on_the_clock_reads_the_time_it_was_set_to() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 14, 0, 0).unwrap();
        let clock = FakeClock::start(at).expect("libfaketime (apt-get install faketime)");
        let read = |clock: &FakeClock| {
            let out = std::process::Command::new("date")
                .args(["-u", "+%Y-%m-%dT%H:%M"])
                .env_remove("FAKETIME")
                .envs(clock.env_vars())
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        assert_eq!(read(&clock), "2026-11-20T14:00");
        clock
            .set(Utc.with_ymd_and_hms(2031, 2, 28, 23, 59, 0).unwrap())
            .unwrap();
        assert_eq!(read(&clock), "2031-02-28T23:59");
        assert_eq!(clock.now().date_naive().to_string(), "2031-02-28");
    }
}
