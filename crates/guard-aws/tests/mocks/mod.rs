//! The SDK clients of the `*_mocks` suites: real clients whose calls `aws-smithy-mocks` rules
//! answer. (These SDK versions predate `with_test_defaults_v2`, which `mock_client!` of
//! aws-smithy-mocks needs.)

/// A client of the SDK crate `$krate` whose calls `$rules` answer in `$mode`, with the retry
/// configuration `$retry` (the client's default when left out).
macro_rules! mock_client {
    ($krate:ident, $mode:expr, $rules:expr $(, $retry:expr)?) => {{
        let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $krate::Config::builder()
                .behavior_version($krate::config::BehaviorVersion::latest())
                .region($krate::config::Region::new("us-east-1"))
                .credentials_provider($krate::config::Credentials::new(
                    "test", "test", None, None, "mocks",
                ))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                $(.retry_config($retry))?
                .build(),
        )
    }};
}
