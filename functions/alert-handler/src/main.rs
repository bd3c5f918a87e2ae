//! The alert-handler Lambda binary: build once, then serve events (see the library).

// The handler's ports return unboxed futures (see `guard_core::ports`), so the future of one event
// nests every SDK call it makes; the compiler needs more than its default depth to lay it out.
#![recursion_limit = "512"]

use std::time::{Duration, Instant};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = alert_handler::init().await?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The edge: the one place that reads the clock. Everything below acts at `now`.
        let now = chrono::Utc::now();
        let deadline = (event.context.deadline > 0).then(|| {
            let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
            Instant::now() + Duration::from_millis(event.context.deadline.saturating_sub(now_ms))
        });
        handler.handle(event.payload, now, deadline).await
    }))
    .await
}
