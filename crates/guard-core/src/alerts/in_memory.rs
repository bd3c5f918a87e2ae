//! In-memory alert-handler ports: real behaviour, and failures scripted by the tests.
//!
//! Production code, not test code: `budget-guard alert simulate` runs the handler against
//! these to show what it would do with an alert, with no side effects. The tests script
//! failures into them; a dry run never does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::alerts::flags::Flag;
use crate::alerts::handler::{Handler, Job};
use crate::alerts::ports::{Deadline, EmailPublisher, FlagStore, SlackPoster, StateStore};
use crate::alerts::routing::Trust;
use crate::policy::Policy;
use crate::ports::{ErrorKind, PortError};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The handler with every port in memory: a dry run's, and the tests'.
pub type InMemoryHandler = Handler<MemoryFlags, MemoryState, RecordingSlack, RecordingEmail>;

impl InMemoryHandler {
    /// The handler of `policy`, trusting what `trust` trusts, over empty in-memory ports.
    pub fn in_memory(policy: Policy, trust: Trust) -> Self {
        Handler::new(
            policy,
            trust,
            MemoryFlags::default(),
            MemoryState::default(),
            RecordingSlack::default(),
            RecordingEmail::default(),
        )
    }
}

/// Pops the next scripted failure, if any.
fn next_failure(script: &Mutex<Vec<ErrorKind>>, operation: &'static str) -> Result<(), PortError> {
    let mut s = lock(script);
    if s.is_empty() {
        Ok(())
    } else {
        Err(PortError::new(s.remove(0), operation, "scripted failure"))
    }
}

#[derive(Debug, Default)]
pub struct MemoryFlags {
    pub flags: Mutex<BTreeMap<String, Flag>>,
    /// Failures for the next `put_flag` calls, in order.
    pub put_failures: Mutex<Vec<ErrorKind>>,
    pub get_failures: Mutex<Vec<ErrorKind>>,
    pub puts: Mutex<Vec<(String, Flag)>>,
}

impl MemoryFlags {
    pub fn get(&self, parameter: &str) -> Option<Flag> {
        lock(&self.flags).get(parameter).cloned()
    }
    pub fn insert(&self, parameter: &str, flag: Flag) {
        lock(&self.flags).insert(parameter.to_owned(), flag);
    }
    pub fn fail_puts(&self, kinds: impl IntoIterator<Item = ErrorKind>) {
        lock(&self.put_failures).extend(kinds);
    }
    pub fn fail_gets(&self, kinds: impl IntoIterator<Item = ErrorKind>) {
        lock(&self.get_failures).extend(kinds);
    }
    pub fn put_count(&self) -> usize {
        lock(&self.puts).len()
    }
}

impl FlagStore for MemoryFlags {
    async fn get_flag(&self, parameter: &str) -> Result<Option<Flag>, PortError> {
        next_failure(&self.get_failures, "get flag")?;
        Ok(self.get(parameter))
    }
    async fn put_flag(&self, parameter: &str, flag: &Flag) -> Result<(), PortError> {
        next_failure(&self.put_failures, "put flag")?;
        lock(&self.puts).push((parameter.to_owned(), flag.clone()));
        self.insert(parameter, flag.clone());
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct MemoryState {
    pub records: Mutex<BTreeMap<String, String>>,
    pub get_failures: Mutex<Vec<ErrorKind>>,
}

impl MemoryState {
    pub fn job(&self, key: &str) -> Option<Job> {
        lock(&self.records)
            .get(key)
            .and_then(|t| serde_json::from_str(t).ok())
    }
    pub fn keys(&self) -> Vec<String> {
        lock(&self.records).keys().cloned().collect()
    }
}

impl StateStore for MemoryState {
    async fn get_state(&self, key: &str) -> Result<Option<String>, PortError> {
        next_failure(&self.get_failures, "get state")?;
        Ok(lock(&self.records).get(key).cloned())
    }
    async fn put_state(&self, key: &str, value: &str) -> Result<(), PortError> {
        lock(&self.records).insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    async fn list_state(&self, prefix: &str) -> Result<Vec<(String, String)>, PortError> {
        Ok(lock(&self.records)
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    async fn delete_state(&self, keys: &[String]) -> Result<(), PortError> {
        let mut records = lock(&self.records);
        for key in keys {
            records.remove(key);
        }
        Ok(())
    }
}

/// Records successful posts; scripted failures are not recorded.
#[derive(Debug, Default)]
pub struct RecordingSlack {
    pub posts: Mutex<Vec<(String, Value)>>,
    pub failures: Mutex<Vec<ErrorKind>>,
    pub attempts: Mutex<usize>,
}

impl RecordingSlack {
    pub fn posts(&self) -> Vec<(String, Value)> {
        lock(&self.posts).clone()
    }
    pub fn fail_next(&self, kinds: impl IntoIterator<Item = ErrorKind>) {
        lock(&self.failures).extend(kinds);
    }
}

impl SlackPoster for RecordingSlack {
    async fn post(
        &self,
        channel: &str,
        _webhook_secret: &str,
        payload: &Value,
        _deadline: Deadline,
    ) -> Result<(), PortError> {
        *lock(&self.attempts) += 1;
        next_failure(&self.failures, "post to Slack")?;
        lock(&self.posts).push((channel.to_owned(), payload.clone()));
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct RecordingEmail {
    /// `(channel, subject, body)`.
    pub published: Mutex<Vec<(String, String, String)>>,
    pub failures: Mutex<Vec<ErrorKind>>,
}

impl RecordingEmail {
    pub fn published(&self) -> Vec<(String, String, String)> {
        lock(&self.published).clone()
    }
    pub fn fail_next(&self, kinds: impl IntoIterator<Item = ErrorKind>) {
        lock(&self.failures).extend(kinds);
    }
}

impl EmailPublisher for RecordingEmail {
    async fn publish(&self, channel: &str, subject: &str, body: &str) -> Result<(), PortError> {
        next_failure(&self.failures, "publish email")?;
        lock(&self.published).push((channel.to_owned(), subject.to_owned(), body.to_owned()));
        Ok(())
    }
}
