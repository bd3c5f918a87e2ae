//! One local AWS emulator process per test, forked by the fork server.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::Value;
use tempfile::TempDir;

use crate::fork_server;

/// The account moto answers as (STS GetCallerIdentity, ARNs it makes).
pub const ACCOUNT_ID: &str = "123456789012";
/// The region every test uses.
pub const REGION: &str = "us-east-1";
/// Static test credentials; moto accepts any.
pub const ACCESS_KEY_ID: &str = "testing";
/// Static test credentials; moto accepts any.
pub const SECRET_ACCESS_KEY: &str = "testing";

const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Retries for the rare cases where the fork server left as we asked, or another process took
/// the picked port first.
const START_ATTEMPTS: usize = 3;
const WRITE_PREFIXES: &[&str] = &[
    "Create",
    "Update",
    "Delete",
    "Put",
    "Publish",
    "Subscribe",
    "Unsubscribe",
    "Set",
    "Tag",
    "Untag",
];

/// Whether an API action changes state (Create*, Update*, Delete*, Put*, Publish*,
/// Subscribe, Unsubscribe, Set*, Tag*, Untag*).
pub fn is_write_action(action: &str) -> bool {
    WRITE_PREFIXES.iter().any(|p| action.starts_with(p))
}

/// The workspace root (where `.venv`, `scripts/` and `tests/emulator/` are).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.join("..").join("..");
    root.canonicalize().unwrap_or(root)
}

/// The repository's Python (the venv with moto, and so botocore): `BUDGET_GUARD_PYTHON`, else
/// `<root>/.venv/bin/python`; an error that says how to make it when neither exists.
pub fn python() -> Result<PathBuf> {
    resolve_python(std::env::var_os("BUDGET_GUARD_PYTHON"), &workspace_root())
}

/// The Python to run the launcher with: `BUDGET_GUARD_PYTHON`, else `<root>/.venv/bin/python`.
fn resolve_python(from_env: Option<OsString>, root: &Path) -> Result<PathBuf> {
    if let Some(python) = from_env.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(python));
    }
    let venv = root.join(".venv").join("bin").join("python");
    if venv.exists() {
        Ok(venv)
    } else {
        bail!(
            "the local AWS emulator needs its Python venv, and {} does not exist: \
             run `scripts/emulator.sh setup` (or `make test`) at the workspace root, \
             or set BUDGET_GUARD_PYTHON to a Python that has tests/emulator/requirements.txt",
            venv.display()
        )
    }
}

/// A message that was published to an SNS topic in the emulator.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsPublished {
    pub message_id: String,
    pub message: String,
    pub subject: Option<String>,
    /// Message attributes: name to string value.
    pub attributes: BTreeMap<String, String>,
}

/// A moto server of its own, on 127.0.0.1 on a free port, forked for this test by the fork
/// server (`fork_server.rs`); stopped on drop.
#[derive(Debug)]
pub struct Emulator {
    /// The server process lives as long as this connection: closing it stops the process.
    connection: UnixStream,
    port: u16,
    dir: TempDir,
    /// Byte offset into the call log where [`Emulator::calls`] starts reading.
    calls_from: AtomicUsize,
}

impl Emulator {
    /// Starts a fresh emulator and waits (up to 20 s) until it answers.
    pub fn start() -> Result<Emulator> {
        Self::start_with_python(&python()?)
    }

    /// As [`Emulator::start`], with the given Python interpreter.
    pub fn start_with_python(python: &Path) -> Result<Emulator> {
        let emulator_dir = workspace_root().join("tests/emulator");
        let mut attempt = 1;
        loop {
            match Self::try_start(python, &emulator_dir) {
                Ok(emulator) => return Ok(emulator),
                Err(StartError::Retry(_)) if attempt < START_ATTEMPTS => attempt += 1,
                Err(StartError::Retry(e) | StartError::Other(e)) => return Err(e),
            }
        }
    }

    fn try_start(python: &Path, emulator_dir: &Path) -> Result<Emulator, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("budget-guard-emulator-")
            .tempdir()
            .context("making a temp dir for the emulator")?;
        let call_log = dir.path().join("calls.log");
        fs::File::create(&call_log).context("creating the call log")?;
        let log = dir.path().join("server.log");
        fs::File::create(&log).context("creating the log")?;
        let mut connection = fork_server::connect(python, emulator_dir)?;
        let request = serde_json::json!({ "log": log, "call_log": call_log });
        // The server may have gone idle between our connect and its accept: then the exchange
        // fails, and the next attempt starts a new server.
        let port = Self::ask_for_port(&mut connection, &request).map_err(StartError::Retry)?;
        let emulator = Emulator {
            connection,
            port,
            dir,
            calls_from: AtomicUsize::new(0),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if answers(emulator.port) {
                return Ok(emulator);
            }
            if emulator.has_exited() {
                let log = emulator.log_tail();
                let error = anyhow!(
                    "the local AWS emulator exited while starting; last lines of its log:\n{log}"
                );
                // Another process may have taken the port it picked before it bound it.
                return Err(if log.contains("Address already in use") {
                    StartError::Retry(error)
                } else {
                    StartError::Other(error)
                });
            }
            if Instant::now() > deadline {
                return Err(StartError::Other(anyhow!(
                    "the local AWS emulator did not answer within {}s; last lines of its log:\n{}",
                    START_TIMEOUT.as_secs(),
                    emulator.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends the request line and reads the answer `{"port": N}`.
    fn ask_for_port(connection: &mut UnixStream, request: &Value) -> Result<u16> {
        connection
            .set_read_timeout(Some(START_TIMEOUT))
            .context("setting a timeout")?;
        writeln!(connection, "{request}").context("asking the fork server for an emulator")?;
        let mut line = String::new();
        BufReader::new(&*connection)
            .read_line(&mut line)
            .context("reading the fork server's answer")?;
        let answer: Value = serde_json::from_str(&line)
            .with_context(|| format!("the fork server answered {line:?}"))?;
        answer["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .with_context(|| format!("the fork server answered no port: {line:?}"))
    }

    /// Whether the server process is gone: its end of the connection is closed.
    fn has_exited(&self) -> bool {
        let _ = self.connection.set_nonblocking(true);
        let mut byte = [0u8; 1];
        let exited = matches!((&self.connection).read(&mut byte), Ok(0));
        let _ = self.connection.set_nonblocking(false);
        exited
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the emulator listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Makes an SNS topic and answers its ARN (the guard's alerts and notify topics, in tests).
    pub async fn create_topic(&self, name: &str) -> Result<String> {
        let sns = aws_sdk_sns::Client::new(&self.sdk_config().await);
        let out = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .with_context(|| format!("CreateTopic {name}"))?;
        out.topic_arn
            .with_context(|| format!("CreateTopic {name} answered no TopicArn"))
    }

    /// Stores `url` as the Slack webhook secret `name`, as an operator stores the real webhook
    /// (the URL of a [`crate::SlackListener`], in tests).
    pub async fn create_webhook_secret(&self, name: &str, url: &str) -> Result<()> {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config().await)
            .create_secret()
            .name(name)
            .secret_string(url)
            .send()
            .await
            .with_context(|| format!("CreateSecret {name}"))?;
        Ok(())
    }

    /// Puts Bedrock's runtime metrics for `model_id` at `at`, as Bedrock publishes them: each
    /// (metric name, value) pair of `metrics` (`InputTokenCount`, `OutputTokenCount`, ...) in
    /// `AWS/Bedrock` by `ModelId`. Real CloudWatch refuses `AWS/` namespaces to callers; the
    /// emulator takes them.
    pub async fn put_bedrock_metrics(
        &self,
        model_id: &str,
        metrics: &[(&str, f64)],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
        let timestamp = aws_smithy_types::DateTime::from_secs(at.timestamp());
        let data = metrics
            .iter()
            .map(|(name, value)| {
                MetricDatum::builder()
                    .metric_name(*name)
                    .dimensions(Dimension::builder().name("ModelId").value(model_id).build())
                    .timestamp(timestamp)
                    .value(*value)
                    .unit(StandardUnit::Count)
                    .build()
            })
            .collect();
        aws_sdk_cloudwatch::Client::new(&self.sdk_config().await)
            .put_metric_data()
            .namespace("AWS/Bedrock")
            .set_metric_data(Some(data))
            .send()
            .await
            .with_context(|| format!("PutMetricData AWS/Bedrock for {model_id}"))?;
        Ok(())
    }

    /// SDK config for this emulator: us-east-1, static test credentials, its endpoint URL,
    /// and nothing read from the ambient environment or profile files.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .empty_test_environment()
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "guard-testkit",
            ))
            .endpoint_url(self.endpoint())
            .load()
            .await
    }

    /// Environment for a child process (the CLI, a Lambda binary) to reach this emulator.
    /// Callers running a child should also remove AWS_PROFILE and AWS_SESSION_TOKEN.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn call_log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    /// The complete lines of the call log (the launcher writes whole lines).
    fn call_log_text(&self) -> String {
        let bytes = fs::read(self.call_log()).unwrap_or_default();
        let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }

    /// Every API call the emulator handled since start (or [`Emulator::reset_calls`]), in
    /// order, as `(service, Action)`: `("budgets", "CreateBudget")`, `("sns", "Publish")`,
    /// `("ssm", "PutParameter")`, `("monitoring", "GetMetricData")`. A call is logged
    /// before it runs, so failed calls count too.
    pub fn calls(&self) -> Vec<(String, String)> {
        let text = self.call_log_text();
        let from = self.calls_from.load(Ordering::SeqCst).min(text.len());
        text[from..]
            .lines()
            .filter_map(|line| {
                let (service, action) = line.split_once(' ')?;
                Some((service.to_owned(), action.to_owned()))
            })
            .collect()
    }

    /// The calls that change state (see [`is_write_action`]).
    pub fn write_calls(&self) -> Vec<(String, String)> {
        self.calls()
            .into_iter()
            .filter(|(_, action)| is_write_action(action))
            .collect()
    }

    /// How many times `service Action` was called.
    pub fn call_count(&self, service: &str, action: &str) -> usize {
        self.calls()
            .iter()
            .filter(|(s, a)| s == service && a == action)
            .count()
    }

    /// Forget the calls so far: later [`Emulator::calls`] see only newer ones.
    pub fn reset_calls(&self) {
        self.calls_from
            .store(self.call_log_text().len(), Ordering::SeqCst);
    }

    /// moto's whole state, from its `/moto-api/data.json` (not logged as a call).
    pub async fn state(&self) -> Result<Value> {
        let url = format!("{}/moto-api/data.json", self.endpoint());
        let response = reqwest::get(&url)
            .await
            .with_context(|| format!("GET {url}"))?
            .error_for_status()?;
        Ok(response.json().await?)
    }

    /// The messages published to an SNS topic, oldest first. moto delivers nothing to
    /// email subscribers, so this is how a test sees what an email would have said.
    pub async fn sns_published(&self, topic_arn: &str) -> Result<Vec<SnsPublished>> {
        let state = self.state().await?;
        let topics = state["sns"]["Topic"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(topic) = topics.iter().find(|t| t["arn"] == topic_arn) else {
            bail!("no SNS topic {topic_arn} in the emulator");
        };
        let sent = topic["sent_notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(sent
            .iter()
            .map(|entry| SnsPublished {
                message_id: entry[0].as_str().unwrap_or_default().to_owned(),
                message: entry[1].as_str().unwrap_or_default().to_owned(),
                subject: entry[2].as_str().map(str::to_owned),
                attributes: entry[3]
                    .as_object()
                    .map(|attrs| {
                        attrs
                            .iter()
                            .map(|(name, v)| {
                                let value = v["Value"]
                                    .as_str()
                                    .map_or_else(|| v["Value"].to_string(), str::to_owned);
                                (name.clone(), value)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// The last lines of the emulator's own log (requests, tracebacks), for failure messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Emulator {
    /// Closes our side of the connection, then waits (up to 5 s) for the server process to
    /// close its side, which it does only by exiting: the port is free when drop returns.
    fn drop(&mut self) {
        let _ = self.connection.shutdown(Shutdown::Write);
        let _ = self
            .connection
            .set_read_timeout(Some(Duration::from_secs(5)));
        let mut rest = Vec::new();
        let _ = (&self.connection).read_to_end(&mut rest);
    }
}

#[derive(Debug)]
enum StartError {
    /// Worth another attempt: the fork server went away, or the port was taken.
    Retry(anyhow::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Other(e)
    }
}

/// Whether an HTTP server answers on 127.0.0.1:port (moto's `/moto-api/` is cheap).
fn answers(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 7];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/1."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_from_env_wins() {
        let p = resolve_python(Some("/opt/py".into()), Path::new("/nowhere")).unwrap();
        assert_eq!(p, PathBuf::from("/opt/py"));
    }

    #[test]
    fn missing_venv_says_how_to_make_it() {
        let err = resolve_python(None, Path::new("/nowhere"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("scripts/emulator.sh setup"), "{err}");
        assert!(err.contains("make test"), "{err}");
    }

    #[test]
    fn write_actions() {
        for a in [
            "CreateBudget",
            "UpdateSubscriber",
            "Publish",
            "PutParameter",
            "Subscribe",
        ] {
            assert!(is_write_action(a), "{a}");
        }
        for a in [
            "DescribeBudgets",
            "GetParameter",
            "ListSubscriptionsByTopic",
            "GetMetricData",
        ] {
            assert!(!is_write_action(a), "{a}");
        }
    }
}
