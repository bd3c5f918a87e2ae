//! A minimal Lambda function for the test of `LocalLambda`: answers `{"echo": <event>}`, and
//! fails when the event asks it to.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        if event.payload.get("fail").is_some() {
            return Err(Error::from("asked to fail"));
        }
        Ok::<_, Error>(json!({ "echo": event.payload, "request_id": event.context.request_id }))
    }))
    .await
}
