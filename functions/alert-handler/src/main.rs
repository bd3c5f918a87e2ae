//! The alert-handler Lambda binary: build once, then serve events (see the library).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = alert_handler::init_with_metrics().await?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now =
            guard_aws::schedule::scheduled_time(&event.payload).unwrap_or_else(chrono::Utc::now);
        handler.handle(event.payload, now).await
    }))
    .await
}
