//! The recording listeners answer per their script and record what they got.

use std::time::{Duration, Instant};

use guard_testkit::{CfnResponseListener, HttpRecorder, Reply, Script, SlackListener};
use serde_json::json;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::test]
async fn slack_sequence_500_then_200() -> Result {
    let slack = SlackListener::start(Script::sequence([500, 200]))?;
    assert!(slack.url().starts_with("http://127.0.0.1:"));
    assert!(slack.url().ends_with("/services/T000/B000/XXXX"));

    let client = reqwest::Client::new();
    let first = client
        .post(slack.url())
        .json(&json!({"text": "one"}))
        .send()
        .await?;
    assert_eq!(first.status().as_u16(), 500);
    let second = client
        .post(slack.url())
        .json(&json!({"text": "two"}))
        .send()
        .await?;
    assert_eq!(second.status().as_u16(), 200);
    assert_eq!(second.text().await?, "ok");
    let third = client.post(slack.url()).body("plain").send().await?;
    assert_eq!(third.status().as_u16(), 200, "the last reply repeats");

    let requests = slack.wait_for(3, Duration::from_secs(5)).await?;
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, SlackListener::PATH);
    assert_eq!(requests[0].json, Some(json!({"text": "one"})));
    assert_eq!(requests[1].body, r#"{"text":"two"}"#);
    assert_eq!(requests[1].header("Content-Type"), Some("application/json"));
    assert_eq!(requests[2].json, None);
    assert_eq!(
        slack.posted_json(),
        [json!({"text": "one"}), json!({"text": "two"})]
    );
    Ok(())
}

#[tokio::test]
async fn rate_limited_with_retry_after() -> Result {
    let slack = SlackListener::start(Script::rate_limited_once(1))?;
    let client = reqwest::Client::new();
    let limited = client.post(slack.url()).body("{}").send().await?;
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(
        limited
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    let ok = client.post(slack.url()).body("{}").send().await?;
    assert_eq!(ok.status().as_u16(), 200);
    Ok(())
}

#[tokio::test]
async fn delayed_replies_trip_client_timeouts() -> Result {
    let slack = SlackListener::start(Script::with_delay(Duration::from_millis(500)))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()?;
    let err = client
        .post(slack.url())
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The request was recorded on arrival all the same.
    assert_eq!(slack.wait_for(1, Duration::from_secs(2)).await?.len(), 1);

    let patient = reqwest::Client::new();
    let started = Instant::now();
    let ok = patient.post(slack.url()).body("{}").send().await?;
    assert_eq!(ok.status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(500));
    Ok(())
}

#[tokio::test]
async fn wait_for_reports_what_did_arrive() -> Result {
    let recorder = HttpRecorder::start(Script::replies([Reply::status(202).body("queued")]))?;
    let response = reqwest::get(format!("{}/anything?x=1", recorder.base_url())).await?;
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(response.text().await?, "queued");
    let err = recorder
        .wait_for(2, Duration::from_millis(200))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("got 1"), "{err}");
    assert!(err.contains("GET /anything?x=1"), "{err}");
    Ok(())
}

#[tokio::test]
async fn cfn_response_listener_records_put_bodies() -> Result {
    let cfn = CfnResponseListener::start()?;
    assert!(cfn.url().contains("X-Amz-Signature="));
    let body = json!({
        "Status": "SUCCESS",
        "PhysicalResourceId": "budget-guard/team",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/guard/1",
        "RequestId": "req-1",
        "LogicalResourceId": "Policy",
    });
    // CloudFormation's presigned S3 URL takes a PUT with an empty Content-Type.
    let response = reqwest::Client::new()
        .put(cfn.url())
        .header("content-type", "")
        .body(body.to_string())
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await?, "");
    assert_eq!(cfn.responses(), [body]);
    assert_eq!(cfn.requests()[0].path, CfnResponseListener::PATH);
    Ok(())
}

/// The listener has its own thread: it answers while the test's thread is blocked.
#[test]
fn answers_while_the_test_thread_blocks() -> Result {
    let slack = SlackListener::start(Script::always(200))?;
    let url = slack.url();
    let answered = std::thread::spawn(move || -> std::io::Result<String> {
        use std::io::{Read, Write};
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.write_all(
            b"POST /services/T000/B000/XXXX HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        )?;
        let mut out = String::new();
        stream.read_to_string(&mut out)?;
        Ok(out)
    })
    .join()
    .map_err(|_| "client thread panicked")??;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(answered.ends_with("ok"), "{answered}");
    assert_eq!(slack.requests()[0].json, Some(json!({})));
    Ok(())
}
