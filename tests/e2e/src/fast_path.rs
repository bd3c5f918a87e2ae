//! The fast path on the stage: the usage-meter function with its DynamoDB table in the emulator,
//! fed Bedrock invocation log records as the `awslogs` events a Logs subscription sends Lambda
//! (base64 of gzip of JSON).

use crate::{INVOKE_TIMEOUT, Stage, function_binary};
use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use guard_core::usage::awslogs::{LogEvent, LogsBatch, encode_event};
use guard_testkit::LocalLambda;
use serde_json::{Value, json};

pub const USAGE_TABLE: &str = "budget-guard-usage";
/// Where Bedrock writes invocation logs when the stack turns logging on.
pub const LOG_GROUP: &str = "/aws/bedrock/modelinvocations";

/// The usage meter's table, as the stack makes it: partition key `pk`, TTL on `expires_at`.
pub async fn create_usage_table(config: &aws_config::SdkConfig) -> Result<()> {
    use guard_aws::dynamodb::usage_counters::{KEY, TTL_ATTRIBUTE};
    guard_testkit::create_ttl_table(config, USAGE_TABLE, KEY, TTL_ATTRIBUTE).await?;
    Ok(())
}

impl Stage {
    /// Makes the usage table and starts the usage-meter binary on the stage's clock.
    pub async fn start_usage_meter(&self) -> Result<LocalLambda> {
        create_usage_table(&self.config).await?;
        let mut env = self.function_env();
        env.push(("BUDGET_GUARD_USAGE_TABLE".into(), USAGE_TABLE.into()));
        let meter = LocalLambda::start(&function_binary("usage-meter")?, "usage-meter", &env)?;
        meter.use_clock(&self.clock);
        Ok(meter)
    }

    /// Hands `event` to the usage meter as the Logs subscription does, then delivers what it
    /// published to the alert handler: the meter's answer and the handler's.
    pub async fn meter_usage(
        &self,
        meter: &LocalLambda,
        event: &Value,
    ) -> Result<(Value, Vec<Result<Value, Value>>)> {
        let answer = meter
            .invoke(event, INVOKE_TIMEOUT)
            .await?
            .result
            .map_err(|e| anyhow::anyhow!("the usage meter failed: {e}"))?;
        Ok((answer, self.deliver_alerts().await?))
    }
}

/// One Bedrock model invocation log record, bodies and all, as Bedrock writes it.
pub fn invocation_record(
    request_id: &str,
    model_id: &str,
    at: DateTime<Utc>,
    input_tokens: u64,
    output_tokens: u64,
) -> String {
    json!({
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "accountId": guard_testkit::ACCOUNT_ID,
        "identity": {"arn": format!("arn:aws:sts::{}:assumed-role/support-chatbot/i-0abc", guard_testkit::ACCOUNT_ID)},
        "region": guard_testkit::REGION,
        "requestId": request_id,
        "operation": "Converse",
        "modelId": model_id,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "Where is my order?"}]}]},
            "inputTokenCount": input_tokens,
            "cacheReadInputTokenCount": 0,
            "cacheWriteInputTokenCount": 0
        },
        "output": {
            "outputContentType": "application/json",
            "outputBodyJson": {"output": {"message": {"role": "assistant", "content": [{"text": "On its way."}]}}},
            "outputTokenCount": output_tokens
        },
        "inferenceRegion": "us-east-2",
        "requestMetadata": {"app": "support-chatbot"}
    })
    .to_string()
}

/// The Lambda event a Logs subscription sends for these records, as Logs builds it.
pub fn awslogs_event(records: &[String], at: DateTime<Utc>) -> Value {
    encode_event(&LogsBatch {
        message_type: "DATA_MESSAGE".into(),
        owner: guard_testkit::ACCOUNT_ID.into(),
        log_group: LOG_GROUP.into(),
        log_stream: "aws/bedrock/modelinvocations".into(),
        subscription_filters: vec!["budget-guard-usage".into()],
        log_events: records
            .iter()
            .enumerate()
            .map(|(i, message)| LogEvent {
                id: format!("{}{i:04}", at.timestamp_millis()),
                timestamp: at.timestamp_millis(),
                message: message.clone(),
            })
            .collect(),
    })
}
