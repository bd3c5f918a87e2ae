//! DynamoDB tables made on the emulator the way the stack makes them: a string partition key,
//! on-demand billing, and TTL on one attribute. The caller names the key and the attribute, so the
//! kit stays independent of the adapter that reads them.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};

/// Makes the table `name`, keyed by the string `key`, with TTL on `ttl_attribute`; answers a client.
pub async fn create_ttl_table(
    config: &SdkConfig,
    name: &str,
    key: &str,
    ttl_attribute: &str,
) -> Result<aws_sdk_dynamodb::Client> {
    let ddb = aws_sdk_dynamodb::Client::new(config);
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .with_context(|| format!("CreateTable {name}"))?;
    ddb.update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(ttl_attribute)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("UpdateTimeToLive {name}"))?;
    Ok(ddb)
}
