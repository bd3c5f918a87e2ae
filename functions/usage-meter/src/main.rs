//! The usage-meter Lambda binary: build once, then meter each batch of invocation log records that
//! the Logs subscription sends.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let meter = usage_meter::init().await.map_err(|e| format!("{e:#}"))?;
    let meter = &meter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        meter
            .handle(&event.payload, chrono::Utc::now())
            .await
            .map_err(lambda_runtime::Diagnostic::from)
    }))
    .await
}
