//! Amazon Bedrock's application inference profiles (`bedrock:GetInferenceProfile`): the
//! foundation-model ARNs a profile routes to, from which `guard_core::pricing::inference_profile` tells the
//! model it is billed as.

#[cfg(feature = "inference-profiles")]
pub use reader::{InferenceProfileError, InferenceProfileReader};

/// The SDK operations this module calls, as `service:Action`.
pub const OPERATIONS: &[&str] = &["bedrock:GetInferenceProfile"];

/// What resolving calls, on the policy's unmapped profiles only (the provisioner at deploy).
pub const NEEDS: crate::iam::Needs = &[(
    &["bedrock:GetInferenceProfile"],
    crate::iam::ResourceKind::UnresolvedProfiles,
)];

#[cfg(feature = "inference-profiles")]
mod reader {
    use std::collections::BTreeMap;

    use aws_sdk_bedrock::config::http::HttpResponse;
    use aws_sdk_bedrock::error::SdkError;
    use aws_sdk_bedrock::operation::get_inference_profile::GetInferenceProfileError;
    use guard_core::pricing::inference_profile::{ProfileModelError, priced_model_id};

    #[derive(Debug, thiserror::Error)]
    pub enum InferenceProfileError {
        #[error("bedrock:GetInferenceProfile of {arn} failed")]
        Get {
            arn: String,
            source: Box<SdkError<GetInferenceProfileError, HttpResponse>>,
        },
        #[error("application inference profile {arn} cannot be priced: {source}")]
        Model {
            arn: String,
            source: ProfileModelError,
        },
    }

    impl InferenceProfileError {
        /// Whether asking again later may succeed: throttling, a server error, a timeout or a
        /// connection that failed. A profile that does not exist, access denied, or a profile
        /// that cannot be priced stay as they are.
        pub fn is_retryable(&self) -> bool {
            match self {
                InferenceProfileError::Get { source, .. } => match source.as_ref() {
                    SdkError::ServiceError(context) => {
                        matches!(
                            context.err(),
                            GetInferenceProfileError::ThrottlingException(_)
                                | GetInferenceProfileError::InternalServerException(_)
                        ) || context.raw().status().is_server_error()
                    }
                    SdkError::TimeoutError(_)
                    | SdkError::DispatchFailure(_)
                    | SdkError::ResponseError(_) => true,
                    _ => false,
                },
                InferenceProfileError::Model { .. } => false,
            }
        }
    }

    /// Reads application inference profiles, each in the region its ARN names.
    #[derive(Debug, Clone)]
    pub struct InferenceProfileReader {
        config: aws_config::SdkConfig,
    }

    impl InferenceProfileReader {
        pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
            InferenceProfileReader {
                config: config.clone(),
            }
        }

        /// A client for the profile's region (`arn:PARTITION:bedrock:REGION:...`), else for the
        /// configured one.
        fn client(&self, arn: &str) -> aws_sdk_bedrock::Client {
            let mut builder = aws_sdk_bedrock::config::Builder::from(&self.config);
            if let Some(region) = arn.split(':').nth(3).filter(|r| !r.is_empty()) {
                builder = builder.region(aws_sdk_bedrock::config::Region::new(region.to_owned()));
            }
            aws_sdk_bedrock::Client::from_conf(builder.build())
        }

        /// The model id the profile is billed as (`us.anthropic...` for a copy of a
        /// cross-region profile, the base id for a copy of one region's model).
        pub async fn priced_model(&self, arn: &str) -> Result<String, InferenceProfileError> {
            let output = self
                .client(arn)
                .get_inference_profile()
                .inference_profile_identifier(arn)
                .send()
                .await
                .map_err(|source| InferenceProfileError::Get {
                    arn: arn.to_owned(),
                    source: Box::new(source),
                })?;
            let model_arns: Vec<&str> = output
                .models()
                .iter()
                .filter_map(|m| m.model_arn())
                .collect();
            priced_model_id(&model_arns).map_err(|source| InferenceProfileError::Model {
                arn: arn.to_owned(),
                source,
            })
        }

        /// Each ARN's priced model, asked one at a time (GetInferenceProfile takes one), in
        /// order; stops at the first that fails.
        pub async fn priced_models(
            &self,
            arns: impl IntoIterator<Item = &str>,
        ) -> Result<BTreeMap<String, String>, InferenceProfileError> {
            let mut resolved = BTreeMap::new();
            for arn in arns {
                resolved.insert(arn.to_owned(), self.priced_model(arn).await?);
            }
            Ok(resolved)
        }
    }
}
