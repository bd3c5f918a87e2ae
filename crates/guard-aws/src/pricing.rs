//! The AWS Price List Query API (`pricing:GetProducts`): every product of a Bedrock service code
//! in one region, page by page, as the JSON documents `guard_core::pricing::price_list` reads. The API
//! answers in us-east-1 (and a few other regions) whatever region its products are for.

#[cfg(feature = "price-list")]
pub use reader::{PriceListReadError, PriceListReader};

use crate::iam::{Call, Calls, ResourceKind};

/// Reading the Price List: GetProducts has no resource-level permissions.
pub const CALLS: Calls = &[Call::new(
    "GetProducts",
    "pricing:GetProducts",
    ResourceKind::Any,
)];

/// The region whose Price List endpoint the guard asks.
pub const PRICE_LIST_ENDPOINT_REGION: &str = "us-east-1";

#[cfg(feature = "price-list")]
mod reader {
    use aws_sdk_pricing::config::http::HttpResponse;
    use aws_sdk_pricing::error::SdkError;
    use aws_sdk_pricing::operation::get_products::GetProductsError;
    use aws_sdk_pricing::types::{Filter, FilterType};

    /// Products a page asks for (the API's maximum).
    const PAGE_SIZE: i32 = 100;

    #[derive(Debug, thiserror::Error)]
    pub enum PriceListReadError {
        #[error("pricing:GetProducts of {service_code} failed")]
        GetProducts {
            service_code: String,
            source: Box<SdkError<GetProductsError, HttpResponse>>,
        },
        #[error("pricing:GetProducts of {service_code}: a filter could not be built: {message}")]
        Filter {
            service_code: String,
            message: String,
        },
    }

    /// Reads Price List pages.
    #[derive(Debug, Clone)]
    pub struct PriceListReader {
        client: aws_sdk_pricing::Client,
    }

    impl PriceListReader {
        pub fn new(client: aws_sdk_pricing::Client) -> Self {
            PriceListReader { client }
        }

        /// Every product of `service_code` with `regionCode` = `region`, following `NextToken`.
        /// `page` is told the count of products read so far after each page.
        pub async fn products(
            &self,
            service_code: &str,
            region: &str,
            mut page: impl FnMut(usize),
        ) -> Result<Vec<String>, PriceListReadError> {
            let filter = Filter::builder()
                .r#type(FilterType::TermMatch)
                .field("regionCode")
                .value(region)
                .build()
                .map_err(|e| PriceListReadError::Filter {
                    service_code: service_code.to_owned(),
                    message: e.to_string(),
                })?;
            let mut pages = self
                .client
                .get_products()
                .service_code(service_code)
                .format_version("aws_v1")
                .filters(filter)
                .max_results(PAGE_SIZE)
                .into_paginator()
                .send();
            let mut products = Vec::new();
            while let Some(output) = pages.next().await {
                let output = output.map_err(|source| PriceListReadError::GetProducts {
                    service_code: service_code.to_owned(),
                    source: Box::new(source),
                })?;
                products.extend(output.price_list.unwrap_or_default());
                page(products.len());
            }
            Ok(products)
        }
    }
}
