//! The spend-watcher Lambda binary: build once, then run on each scheduled event.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let watcher = spend_watcher::init().await.map_err(|e| format!("{e:#}"))?;
    let watcher = &watcher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = guard_aws::wiring::schedule::scheduled_time(&event.payload)
            .unwrap_or_else(chrono::Utc::now);
        watcher
            .tick(now)
            .await
            .map_err(|e| spend_watcher::diagnostic(&e))
    }))
    .await
}
