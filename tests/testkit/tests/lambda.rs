//! The local Lambda runtime API hands events to a real lambda_runtime binary and returns its
//! answers and errors.

use guard_testkit::LocalLambda;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

fn echo_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_echo-lambda"))
}

#[tokio::test]
async fn invokes_a_real_runtime_binary_and_times_its_cold_start() {
    let lambda = LocalLambda::start(&echo_binary(), "echo", &[]).expect("start");
    let first = lambda
        .invoke(&json!({"n": 1}), Duration::from_secs(20))
        .await
        .expect("invoke");
    let answer = first.result.expect("a response");
    assert_eq!(answer["echo"], json!({"n": 1}));
    assert!(
        answer["request_id"]
            .as_str()
            .is_some_and(|id| id.ends_with("000000000001"))
    );
    assert!(lambda.cold_start().is_some());
    assert!(lambda.init_duration().is_some());

    let second = lambda
        .invoke(&json!({"n": 2}), Duration::from_secs(20))
        .await
        .expect("invoke");
    assert_eq!(second.result.expect("a response")["echo"]["n"], 2);

    let failed = lambda
        .invoke(&json!({"fail": true}), Duration::from_secs(20))
        .await
        .expect("invoke");
    let error = failed.result.expect_err("an error document");
    assert_eq!(error["errorMessage"], "asked to fail");
}

#[test]
fn a_missing_binary_is_a_clear_error() {
    let err =
        LocalLambda::start(std::path::Path::new("/nonexistent/bootstrap"), "x", &[]).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}
