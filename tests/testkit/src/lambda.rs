//! A local Lambda: the real function binary in its own process, fed events through a Lambda
//! Runtime API that this module serves on 127.0.0.1, the way the Lambda service hands events to a
//! `provided.al2023` function. No Docker, no cargo-lambda: the tests and the demo run the very
//! binaries that are deployed, and can time a cold start from process start to first answer.

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};

use crate::FakeClock;
use crate::loopback::LoopbackServer;

const API_PREFIX: &str = "/2018-06-01/runtime";
/// Lambda's Invoke API, which the runtime API's port also serves.
const INVOKE_PREFIX: &str = "/2015-03-31/functions/";

/// The function timeout given to invocations unless a test sets another.
pub const DEFAULT_FUNCTION_TIMEOUT: Duration = Duration::from_secs(300);

/// What one invocation gave back.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The function's response, or its error document (`errorType`, `errorMessage`).
    pub result: Result<Value, Value>,
    /// From handing the event over to the answer.
    pub duration: Duration,
}

struct Pending {
    request_id: String,
    event: String,
}

struct Shared {
    function_arn: String,
    /// Seconds from the real clock to the function's (a [`crate::FakeClock`]'s offset): Lambda's
    /// deadline is a wall-clock time, so it is given in the function's own frame.
    clock_offset: Mutex<Option<FakeClock>>,
    /// How long an invocation may run (Lambda's function timeout).
    timeout: Mutex<Duration>,
    /// For invocations through the Invoke API that this runtime API also serves.
    sender: mpsc::UnboundedSender<Pending>,
    name: String,
    invoked: std::sync::atomic::AtomicU64,
    queue: AsyncMutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Result<Value, Value>>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
}

/// One function process behind a local Runtime API. Stops the process and the API on drop.
#[derive(Debug)]
pub struct LocalLambda {
    name: String,
    sender: mpsc::UnboundedSender<Pending>,
    shared: Arc<SharedHandle>,
    child: Child,
    started_at: Instant,
    first_answer: Mutex<Option<Instant>>,
    next_id: Mutex<u64>,
    /// The runtime API, which the process polls; dropped after the process is stopped.
    server: LoopbackServer,
}

/// `Shared` without Debug noise.
struct SharedHandle(Arc<Shared>);

impl std::fmt::Debug for SharedHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LambdaRuntimeState")
    }
}

impl LocalLambda {
    /// Starts `binary` as the function `name`, with `env` (e.g. the emulator's `env_vars()` and
    /// the function's own settings) on top of the variables the Lambda service sets.
    pub fn start(binary: &Path, name: &str, env: &[(String, String)]) -> Result<LocalLambda> {
        if !binary.exists() {
            bail!(
                "function binary {} does not exist; build it first (cargo build -p {name})",
                binary.display()
            );
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            clock_offset: Mutex::new(None),
            timeout: Mutex::new(DEFAULT_FUNCTION_TIMEOUT),
            sender: sender.clone(),
            name: name.to_owned(),
            invoked: std::sync::atomic::AtomicU64::new(0),
            queue: AsyncMutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            init_error: Mutex::new(None),
        });
        let serving = Arc::clone(&shared);
        let server = LoopbackServer::start(&format!("lambda-runtime-{name}"), move |request| {
            answer(Arc::clone(&serving), request)
        })?;
        let addr = server.addr();

        let started_at = Instant::now();
        let mut command = Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", "us-east-1")
            // A function's clock is the real one, or a [`FakeClock`]'s through `env`; never a
            // shift the test process itself runs under.
            .env_remove("FAKETIME")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null());
        if std::env::var_os("BUDGET_GUARD_LAMBDA_LOGS").is_none() {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(LocalLambda {
            name: name.to_owned(),
            sender,
            shared: Arc::new(SharedHandle(shared)),
            child,
            started_at,
            first_answer: Mutex::new(None),
            next_id: Mutex::new(0),
            server,
        })
    }

    /// Puts the function's deadlines on `clock` (start the process with its `env_vars` too).
    pub fn use_clock(&self, clock: &FakeClock) {
        *self
            .shared
            .0
            .clock_offset
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(clock.clone());
    }

    /// Lambda's function timeout: each invocation's deadline is this far from its start.
    pub fn set_function_timeout(&self, timeout: Duration) {
        *self
            .shared
            .0
            .timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = timeout;
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: &Value, timeout: Duration) -> Result<Invocation> {
        let request_id = {
            let mut next = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
            *next += 1;
            format!("00000000-0000-4000-8000-{:012}", *next)
        };
        let (tx, rx) = oneshot::channel();
        self.shared
            .0
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id.clone(), tx);
        let handed_at = Instant::now();
        self.sender
            .send(Pending {
                request_id,
                event: event.to_string(),
            })
            .map_err(|_| anyhow::anyhow!("the runtime API of {} has stopped", self.name))?;
        let result = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => bail!("the runtime API of {} dropped the invocation", self.name),
            Err(_) => {
                let init = self
                    .shared
                    .0
                    .init_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                bail!(
                    "{} did not answer within {timeout:?}{}",
                    self.name,
                    init.map(|e| format!(" (init error: {e})"))
                        .unwrap_or_default()
                )
            }
        };
        let now = Instant::now();
        self.first_answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(now);
        Ok(Invocation {
            result,
            duration: now - handed_at,
        })
    }

    /// From process start to the first answered invocation: the cold start as Lambda's callers
    /// feel it (without the download of the code).
    pub fn cold_start(&self) -> Option<Duration> {
        self.first_answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|t| t - self.started_at)
    }

    /// From process start to the function's first call for work (its init phase).
    pub fn init_duration(&self) -> Option<Duration> {
        self.shared
            .0
            .first_poll
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|t| t - self.started_at)
    }

    /// The function's process id, to read its memory from /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The peak resident memory of the function's process so far, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// `127.0.0.1:PORT` of the runtime API.
    pub fn runtime_api(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The endpoint of Lambda's Invoke API for this function (`AWS_ENDPOINT_URL_LAMBDA`).
    pub fn invoke_endpoint(&self) -> String {
        format!("http://{}", self.server.addr())
    }
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lambda's `Invoke` (RequestResponse), as the AWS SDK calls it with `AWS_ENDPOINT_URL_LAMBDA`
/// set to this runtime API: the event goes to the function like any other, and its answer comes
/// back as Lambda gives it, with `X-Amz-Function-Error` when the function failed.
async fn invoke_api(
    shared: &Shared,
    method: &Method,
    function: &str,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let error = |status: StatusCode, kind: &str, message: String| {
        let mut response = reply(status, serde_json::json!({"message": message}).to_string());
        if let Ok(value) = kind.parse() {
            response.headers_mut().insert("x-amzn-errortype", value);
        }
        response
    };
    let wanted = function.rsplit(':').next().unwrap_or(function);
    if *method != Method::POST || wanted != shared.name {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {function}"),
        );
    }
    let n = shared
        .invoked
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let request_id = format!("00000000-0000-4000-9000-{n:012}");
    let (tx, rx) = oneshot::channel();
    shared
        .waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(request_id.clone(), tx);
    let event = String::from_utf8_lossy(&body).into_owned();
    if shared.sender.send(Pending { request_id, event }).is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceException",
            "the function has stopped".into(),
        );
    }
    let timeout = *shared
        .timeout
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(Ok(document))) => reply(StatusCode::OK, document.to_string()),
        Ok(Ok(Err(document))) => {
            let mut response = reply(StatusCode::OK, document.to_string());
            response.headers_mut().insert(
                "x-amz-function-error",
                hyper::header::HeaderValue::from_static("Unhandled"),
            );
            response
        }
        _ => error(
            StatusCode::OK,
            "ServiceException",
            "the function did not answer in time".into(),
        ),
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if let Some(function) = path
        .strip_prefix(INVOKE_PREFIX)
        .and_then(|p| p.strip_suffix("/invocations"))
    {
        return Ok(invoke_api(&shared, &method, function, body).await);
    }
    let Some(rest) = path.strip_prefix(API_PREFIX) else {
        return Ok(reply(StatusCode::NOT_FOUND, "unknown path".into()));
    };
    match (method, rest) {
        (Method::GET, "/invocation/next") => {
            shared
                .first_poll
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(Instant::now);
            // Long poll, as the real API does: the function waits here until there is work.
            let next = shared.queue.lock().await.recv().await;
            let Some(pending) = next else {
                return Ok(reply(StatusCode::GONE, "shutting down".into()));
            };
            let offset_ms = shared
                .clock_offset
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map_or(0, |c| i128::from(c.offset_seconds()) * 1000);
            let timeout = *shared
                .timeout
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            let deadline =
                i128::try_from(now_ms).unwrap_or(0) + offset_ms + timeout.as_millis() as i128;
            let response = Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("lambda-runtime-aws-request-id", &pending.request_id)
                .header("lambda-runtime-deadline-ms", deadline.to_string())
                .header("lambda-runtime-invoked-function-arn", &shared.function_arn)
                .header(
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000;Sampled=0",
                )
                .body(Full::new(Bytes::from(pending.event)))
                .unwrap_or_else(|_| {
                    reply(StatusCode::INTERNAL_SERVER_ERROR, "bad response".into())
                });
            Ok(response)
        }
        (Method::POST, "/init/error") => {
            *shared
                .init_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(String::from_utf8_lossy(&body).into_owned());
            Ok(reply(StatusCode::ACCEPTED, "{}".into()))
        }
        (Method::POST, rest) => {
            let Some(rest) = rest.strip_prefix("/invocation/") else {
                return Ok(reply(StatusCode::NOT_FOUND, "unknown path".into()));
            };
            let (id, outcome) = match rest.rsplit_once('/') {
                Some((id, "response")) => (id, true),
                Some((id, "error")) => (id, false),
                _ => return Ok(reply(StatusCode::NOT_FOUND, "unknown path".into())),
            };
            let document: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let waiting = shared
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id);
            match waiting {
                Some(tx) => {
                    let _ = tx.send(if outcome { Ok(document) } else { Err(document) });
                    Ok(reply(StatusCode::ACCEPTED, "{}".into()))
                }
                None => Ok(reply(StatusCode::BAD_REQUEST, "unknown request id".into())),
            }
        }
        _ => Ok(reply(StatusCode::NOT_FOUND, "unknown path".into())),
    }
}

/// The Lambda event that SNS hands a subscribed function for one message, as AWS builds it.
pub fn sns_event(
    topic_arn: &str,
    message_id: &str,
    subject: Option<&str>,
    message: &str,
    timestamp: &str,
) -> Value {
    serde_json::json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("{topic_arn}:00000000-0000-4000-8000-000000000001"),
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": topic_arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": timestamp,
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {}
            }
        }]
    })
}
