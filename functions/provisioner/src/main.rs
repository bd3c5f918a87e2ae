//! The provisioner Lambda: SDK config and clients built once, then every event through
//! `Provisioner::handle` (CloudFormation custom resource or scheduled drift repair).

// The runtime's service stack around the handler's future is deeper than the default limit.
#![recursion_limit = "256"]

use guard_aws::wiring::env::Env;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use provisioner::{Provisioner, Settings};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = guard_aws::sdk::load().await;
    let provisioner = Provisioner::new(&config, Settings::from_env(&Env::from_process()));
    let provisioner = &provisioner;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        provisioner
            .handle(event.payload)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
