//! Local HTTP/1.1 listeners that record every request and answer per a script: a Slack
//! incoming webhook, a CloudFormation custom resource ResponseURL, or anything else.
//!
//! Each listener is a [`LoopbackServer`]: it keeps answering while the test blocks its thread.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use tokio::sync::watch;

use crate::loopback::LoopbackServer;

/// One answer: status, extra headers, body, and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    /// A reply with this status and the body Slack would send with it (`ok` for 2xx).
    pub fn status(status: u16) -> Self {
        let body = match status {
            200..=299 => "ok",
            400 => "invalid_payload",
            403 => "invalid_token",
            404 => "no_service",
            410 => "channel_is_archived",
            429 => "rate_limited",
            _ => "internal_error",
        };
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// 200 `ok`.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// 429 with `Retry-After: <seconds>`, as Slack rate-limits.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::status(429).header("Retry-After", &retry_after_secs.to_string())
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What a listener answers: the n-th request gets the n-th reply, and once the replies
/// run out the last one repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    replies: Vec<Reply>,
}

impl Script {
    /// Every request gets `status` (with Slack's body for it).
    pub fn always(status: u16) -> Self {
        Self::replies([Reply::status(status)])
    }

    /// `sequence([500, 200])`: the first request gets 500, every later one 200.
    pub fn sequence(statuses: impl IntoIterator<Item = u16>) -> Self {
        Self::replies(statuses.into_iter().map(Reply::status))
    }

    /// Full control; an empty list means always 200.
    pub fn replies(replies: impl IntoIterator<Item = Reply>) -> Self {
        let mut replies: Vec<Reply> = replies.into_iter().collect();
        if replies.is_empty() {
            replies.push(Reply::ok());
        }
        Script { replies }
    }

    /// Every request gets 200 `ok`, after `delay` (to test client timeouts).
    pub fn with_delay(delay: Duration) -> Self {
        Self::replies([Reply::ok().delay(delay)])
    }

    /// First a 429 with `Retry-After: <seconds>`, then 200 `ok`.
    pub fn rate_limited_once(retry_after_secs: u64) -> Self {
        Self::replies([Reply::too_many_requests(retry_after_secs), Reply::ok()])
    }

    fn reply_for(&self, index: usize) -> &Reply {
        &self.replies[index.min(self.replies.len() - 1)]
    }
}

/// A request a listener received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/services/T000/B000/XXXX`.
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body parsed as JSON, if it is JSON.
    pub json: Option<Value>,
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Shared {
    script: Script,
    requests: Mutex<Vec<RecordedRequest>>,
    count: watch::Sender<usize>,
}

/// A local HTTP/1.1 listener on 127.0.0.1 that records every request and answers per its
/// [`Script`]. Stops on drop.
#[derive(Debug)]
pub struct HttpRecorder {
    server: LoopbackServer,
    path: String,
    shared: Arc<Shared>,
}

impl HttpRecorder {
    /// Listens on 127.0.0.1:0; [`HttpRecorder::url`] is the root URL.
    pub fn start(script: Script) -> Result<Self> {
        Self::start_at("/", script)
    }

    /// Listens on 127.0.0.1:0; [`HttpRecorder::url`] has `path_and_query` (it answers on
    /// every path all the same).
    pub fn start_at(path_and_query: &str, script: Script) -> Result<Self> {
        let shared = Arc::new(Shared {
            script,
            requests: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        });
        let serving = Arc::clone(&shared);
        let server = LoopbackServer::start("http-recorder", move |request| {
            answer(Arc::clone(&serving), request)
        })?;
        Ok(HttpRecorder {
            server,
            path: path_and_query.to_owned(),
            shared,
        })
    }

    /// `http://127.0.0.1:PORT` + the path given at start.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.server.addr(), self.path)
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` requests have arrived, then returns all of them; an error
    /// naming what did arrive if they do not within `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Result<Vec<RecordedRequest>> {
        let mut count = self.shared.count.subscribe();
        let arrived = tokio::time::timeout(timeout, count.wait_for(|c| *c >= n)).await;
        if matches!(arrived, Ok(Ok(_))) {
            return Ok(self.requests());
        }
        let got = self.requests();
        bail!(
            "expected {n} request(s) at {} within {timeout:?}, got {}: {:#?}",
            self.url(),
            got.len(),
            got.iter()
                .map(|r| format!("{} {} {}", r.method, r.path, r.body))
                .collect::<Vec<_>>()
        )
    }
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let received_at = Instant::now();
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), ToString::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), value)
            })
            .collect(),
        json: serde_json::from_str(&body).ok(),
        body,
        received_at,
    };
    let index = {
        let mut requests = shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        requests.push(recorded);
        requests.len() - 1
    };
    shared.count.send_replace(index + 1);
    let reply = shared.script.reply_for(index).clone();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::builder()
        .status(reply.status)
        .header("content-type", "text/plain; charset=utf-8");
    for (name, value) in &reply.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    Ok(response
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| {
            let mut broken = Response::new(Full::new(Bytes::from("bad scripted reply")));
            *broken.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            broken
        }))
}

/// A stand-in for a Slack incoming webhook: its [`url`](HttpRecorder::url) looks like one
/// (`http://127.0.0.1:PORT/services/T000/B000/XXXX`), never a real hooks.slack.com URL.
#[derive(Debug)]
pub struct SlackListener(HttpRecorder);

impl SlackListener {
    pub const PATH: &'static str = "/services/T000/B000/XXXX";

    pub fn start(script: Script) -> Result<Self> {
        HttpRecorder::start_at(Self::PATH, script).map(SlackListener)
    }

    /// The JSON bodies of the POSTs received so far.
    pub fn posted_json(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .filter_map(|r| r.json)
            .collect()
    }
}

impl Deref for SlackListener {
    type Target = HttpRecorder;
    fn deref(&self) -> &HttpRecorder {
        &self.0
    }
}

/// A stand-in for a CloudFormation custom resource ResponseURL (a presigned S3 URL that
/// takes one PUT of the JSON response). Answers 200 with an empty body, as S3 does.
#[derive(Debug)]
pub struct CfnResponseListener(HttpRecorder);

impl CfnResponseListener {
    pub const PATH: &'static str = "/cloudformation-custom-resource-response-useast1/\
        arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/guard/1%7CPolicy%7Creq-1\
        ?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=test";

    pub fn start() -> Result<Self> {
        Self::start_with(Script::replies([Reply::ok().body("")]))
    }

    pub fn start_with(script: Script) -> Result<Self> {
        HttpRecorder::start_at(Self::PATH, script).map(CfnResponseListener)
    }

    /// The JSON bodies of the PUTs received so far.
    pub fn responses(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .filter_map(|r| r.json)
            .collect()
    }
}

impl Deref for CfnResponseListener {
    type Target = HttpRecorder;
    fn deref(&self) -> &HttpRecorder {
        &self.0
    }
}
