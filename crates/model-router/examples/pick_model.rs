//! Prints the Bedrock model id for a route, read from its Budget Guard routing flag.
//!
//! ```sh
//! AWS_PROFILE=dev AWS_REGION=us-east-1 \
//!   cargo run -p model-router --example pick_model -- support-chatbot
//! ```
//!
//! Arguments: `<route> [fallback-model-id]`. Reads the AWS settings from the environment (profile,
//! region, credentials, `AWS_ENDPOINT_URL`). `BUDGET_GUARD_FLAGS_PATH` overrides the flags path.
//! The model id goes to stdout; where it came from goes to stderr (`RUST_LOG=debug` for more).

use std::process::ExitCode;

use model_router::ModelRouter;

const DEFAULT_FALLBACK: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let mut args = std::env::args().skip(1);
    let Some(route) = args
        .next()
        .filter(|route| route != "-h" && route != "--help")
    else {
        eprintln!("usage: pick_model <route> [fallback-model-id]");
        return ExitCode::from(2);
    };
    let fallback = args.next().unwrap_or_else(|| DEFAULT_FALLBACK.to_owned());

    let config = aws_config::load_from_env().await;
    let mut builder = ModelRouter::builder(aws_sdk_ssm::Client::new(&config), fallback);
    if let Ok(path) = std::env::var("BUDGET_GUARD_FLAGS_PATH") {
        builder = builder.flags_path(path);
    }
    let router = match builder.build() {
        Ok(router) => router,
        Err(error) => {
            eprintln!("pick_model: {error}");
            return ExitCode::from(2);
        }
    };

    let resolution = router.resolve(&route).await;
    println!("{}", resolution.model_id);
    let parameter = router.parameter_name(&route).unwrap_or_default();
    match &resolution.error {
        Some(error) => eprintln!("source: {:?} ({parameter}: {error})", resolution.source),
        None => eprintln!("source: {:?} ({parameter})", resolution.source),
    }
    ExitCode::SUCCESS
}
