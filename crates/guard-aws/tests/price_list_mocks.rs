//! The Price List reader on the real SDK client with `aws-smithy-mocks`: the request it makes
//! (service code, region filter, format, page size), pages followed by `NextToken`, and a refused
//! call as a typed error. The pages are the recorded ones in `tests/fixtures/price-list`.
#![cfg(feature = "price-list")]

#[macro_use]
mod mocks;

use aws_sdk_pricing::Client;
use aws_sdk_pricing::operation::get_products::GetProductsOutput;
use aws_sdk_pricing::types::FilterType;
use aws_smithy_mocks::{Rule, RuleMode, mock};
use guard_aws::pricing::{PriceListReadError, PriceListReader};
use guard_core::pricing::price_list::page_products;

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_pricing, RuleMode::MatchAny, rules)
}

fn page(file: &str) -> Vec<String> {
    let path = format!(
        "{}/../../tests/fixtures/price-list/us-east-1/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    page_products(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn every_page_is_read_with_the_region_filter() {
    let asked_right = |r: &aws_sdk_pricing::operation::get_products::GetProductsInput| {
        let filter = &r.filters()[0];
        r.service_code() == Some("AmazonBedrock")
            && r.format_version() == Some("aws_v1")
            && r.max_results() == Some(100)
            && filter.r#type() == &FilterType::TermMatch
            && filter.field() == "regionCode"
            && filter.value() == "us-east-1"
    };
    let first = mock!(Client::get_products)
        .match_requests(move |r| asked_right(r) && r.next_token().is_none())
        .then_output(|| {
            GetProductsOutput::builder()
                .set_price_list(Some(page("AmazonBedrock-1.json")))
                .next_token("t2")
                .build()
        });
    let second = mock!(Client::get_products)
        .match_requests(move |r| asked_right(r) && r.next_token() == Some("t2"))
        .then_output(|| {
            GetProductsOutput::builder()
                .set_price_list(Some(page("AmazonBedrock-2.json")))
                .build()
        });
    let reader = PriceListReader::new(client(&[&first, &second]));
    let mut seen = Vec::new();
    let products = reader
        .products("AmazonBedrock", "us-east-1", |n| seen.push(n))
        .await
        .unwrap();
    assert_eq!(products.len(), 17);
    assert_eq!(seen, [9, 17], "progress after each page");
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_refused_call_is_a_typed_error() {
    let refused = mock!(Client::get_products).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"InvalidParameterException","Message":"Input validation error: ServiceCode"}"#,
            ),
        )
    });
    let reader = PriceListReader::new(client(&[&refused]));
    let error = reader
        .products("AmazonBedrock", "us-east-1", |_| {})
        .await
        .unwrap_err();
    let PriceListReadError::GetProducts {
        service_code,
        source,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(service_code, "AmazonBedrock");
    assert!(
        source
            .as_service_error()
            .is_some_and(|e| e.is_invalid_parameter_exception()),
        "{source:?}"
    );
}
