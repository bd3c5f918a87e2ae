//! The HTTP/1.1 server under the kit's listeners and the local Lambda runtime API: on 127.0.0.1
//! on a free port, on a thread of its own with its own tokio runtime, so that it keeps answering
//! while the test blocks its own thread (on a child process, say). Stops on drop.

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

#[derive(Debug)]
pub(crate) struct LoopbackServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Serves every request with `answer`, on a thread named `thread_name`.
    pub(crate) fn start<A, F>(thread_name: &str, answer: A) -> Result<Self>
    where
        A: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("binding a listener on 127.0.0.1")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .with_context(|| format!("building the runtime of {thread_name}"))?;
        let (shutdown, shutdown_rx) = oneshot::channel();
        let answer = Arc::new(answer);
        let thread = std::thread::Builder::new()
            .name(thread_name.to_owned())
            .spawn(move || runtime.block_on(serve(listener, answer, shutdown_rx)))
            .with_context(|| format!("spawning the thread {thread_name}"))?;
        Ok(LoopbackServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve<A, F>(
    listener: std::net::TcpListener,
    answer: Arc<A>,
    mut shutdown: oneshot::Receiver<()>,
) where
    A: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    // Dropping the set at the end aborts connections still open.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let answer = Arc::clone(&answer);
                connections.spawn(async move {
                    let service = service_fn(move |request| answer(request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
