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

/// Where answers to CloudFormation may go: a scheme and the domains whose hosts may receive them.
/// The Lambda binary always uses [`ResponseUrlPolicy::cloudformation`]; nothing in the
/// environment can loosen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseUrlPolicy {
    scheme: &'static str,
    /// A host must be one of these or a subdomain of one.
    domains: &'static [&'static str],
}

impl ResponseUrlPolicy {
    /// CloudFormation's ResponseURL is a pre-signed S3 URL: https, to an AWS host.
    pub const fn cloudformation() -> ResponseUrlPolicy {
        ResponseUrlPolicy {
            scheme: "https",
            domains: &["amazonaws.com", "amazonaws.com.cn"],
        }
    }

    /// Plain http to 127.0.0.1 only: for tests that answer a local listener in place of S3.
    pub const fn loopback_http() -> ResponseUrlPolicy {
        ResponseUrlPolicy {
            scheme: "http",
            domains: &["127.0.0.1"],
        }
    }

    /// The URL, if this policy allows it; else why not.
    pub fn check(&self, url: &str) -> Result<ResponseUrl, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
        if parsed.scheme() != self.scheme {
            return Err(format!(
                "its scheme is {}, not {}",
                parsed.scheme(),
                self.scheme
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("it carries user information".into());
        }
        let host = parsed.host_str().unwrap_or_default();
        let allowed = self
            .domains
            .iter()
            .any(|d| host == *d || host.strip_suffix(d).is_some_and(|sub| sub.ends_with('.')));
        if !allowed {
            return Err(format!(
                "its host {host:?} is not under {}",
                self.domains.join(" or ")
            ));
        }
        Ok(ResponseUrl(parsed))
    }
}

/// A ResponseURL that a [`ResponseUrlPolicy`] allowed: the only kind [`respond`] sends to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseUrl(reqwest::Url);

/// PUTs the answer. The pre-signed S3 URL is signed without a content type, so none is sent.
pub async fn respond(
    http: &reqwest::Client,
    url: &ResponseUrl,
    response: &CfnResponse,
) -> Result<(), reqwest::Error> {
    let body = serde_json::to_vec(response).unwrap_or_default();
    http.put(url.0.clone())
        .header(reqwest::header::CONTENT_TYPE, "")
        .header(reqwest::header::CONTENT_LENGTH, body.len())
        .body(body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_to_an_aws_host_is_answered() {
        let strict = ResponseUrlPolicy::cloudformation();
        for ok in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation/x?X-Amz-Signature=abc",
            "https://cloudformation-custom-resource-response-apsoutheast3.s3.ap-southeast-3.amazonaws.com/x",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x",
        ] {
            assert!(strict.check(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            (
                "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
                "its scheme is http, not https",
            ),
            ("http://127.0.0.1:8080/cfn", "its scheme is http"),
            (
                "http://169.254.169.254/latest/meta-data/",
                "its scheme is http",
            ),
            (
                "https://127.0.0.1/cfn",
                "its host \"127.0.0.1\" is not under amazonaws.com or amazonaws.com.cn",
            ),
            ("https://evil.example.com/x", "is not under"),
            ("https://amazonaws.com.evil.example/x", "is not under"),
            ("https://evilamazonaws.com/x", "is not under"),
            (
                "https://x.s3.amazonaws.com@evil.example/x",
                "user information",
            ),
            ("file:///etc/passwd", "its scheme is file"),
            ("not a url", "not a URL"),
        ] {
            let error = strict.check(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn the_loopback_policy_allows_only_plain_http_to_127_0_0_1() {
        let local = ResponseUrlPolicy::loopback_http();
        assert!(local.check("http://127.0.0.1:4567/cfn-response").is_ok());
        assert!(local.check("http://localhost:4567/").is_err());
        assert!(local.check("https://127.0.0.1:4567/").is_err());
        assert!(local.check("http://10.0.0.1/").is_err());
    }
}
