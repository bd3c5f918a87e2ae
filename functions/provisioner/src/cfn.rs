//! The CloudFormation custom resource protocol: the request Lambda receives and the answer PUT
//! to its pre-signed ResponseURL.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

/// The custom resource's properties (`ServiceToken` and the guard's own).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Properties {
    #[serde(default)]
    pub policy_sha256: Option<String>,
    #[serde(default)]
    pub alerts_topic_arn: Option<String>,
    #[serde(default)]
    pub notify_topic_arn: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CfnRequest {
    pub request_type: RequestType,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub resource_properties: Option<Properties>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Success,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CfnResponse {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub no_echo: bool,
    pub data: Value,
}

impl CfnResponse {
    pub fn success(request: &CfnRequest, physical_resource_id: String, data: Value) -> CfnResponse {
        CfnResponse::new(request, Status::Success, None, physical_resource_id, data)
    }

    pub fn failed(
        request: &CfnRequest,
        physical_resource_id: String,
        reason: String,
    ) -> CfnResponse {
        CfnResponse::new(
            request,
            Status::Failed,
            Some(reason),
            physical_resource_id,
            Value::Object(Default::default()),
        )
    }

    fn new(
        request: &CfnRequest,
        status: Status,
        reason: Option<String>,
        physical_resource_id: String,
        data: Value,
    ) -> CfnResponse {
        CfnResponse {
            status,
            reason,
            physical_resource_id,
            stack_id: request.stack_id.clone(),
            request_id: request.request_id.clone(),
            logical_resource_id: request.logical_resource_id.clone(),
            no_echo: false,
            data,
        }
    }
}

/// PUTs the answer. The pre-signed S3 URL is signed without a content type, so none is sent.
pub async fn respond(
    http: &reqwest::Client,
    url: &str,
    response: &CfnResponse,
) -> Result<(), reqwest::Error> {
    let body = serde_json::to_vec(response).unwrap_or_default();
    http.put(url)
        .header(reqwest::header::CONTENT_TYPE, "")
        .header(reqwest::header::CONTENT_LENGTH, body.len())
        .body(body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
