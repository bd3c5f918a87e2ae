//! The emulator answers the Budgets API as the real SDK calls it, including the actions
//! moto lacks (added by tests/emulator/moto_launcher.py), and logs its calls.

use aws_sdk_budgets::Client;
use aws_sdk_budgets::types::{
    Budget, BudgetType, CalculatedSpend, ComparisonOperator, Notification, NotificationType,
    NotificationWithSubscribers, Spend, Subscriber, SubscriptionType, ThresholdType, TimeUnit,
};
use guard_testkit::{ACCOUNT_ID, Emulator};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn budget(name: &str, amount: &str) -> Budget {
    Budget::builder()
        .budget_name(name)
        .budget_type(BudgetType::Cost)
        .time_unit(TimeUnit::Monthly)
        .budget_limit(spend(amount))
        .build()
        .unwrap()
}

fn spend(amount: &str) -> Spend {
    Spend::builder().amount(amount).unit("USD").build().unwrap()
}

fn notification(threshold: f64) -> Notification {
    Notification::builder()
        .notification_type(NotificationType::Actual)
        .comparison_operator(ComparisonOperator::GreaterThan)
        .threshold(threshold)
        .threshold_type(ThresholdType::Percentage)
        .build()
        .unwrap()
}

fn email(address: &str) -> Subscriber {
    Subscriber::builder()
        .subscription_type(SubscriptionType::Email)
        .address(address)
        .build()
        .unwrap()
}

async fn budgets_client(emulator: &Emulator) -> Client {
    Client::new(&emulator.sdk_config().await)
}

#[tokio::test]
async fn create_then_describe_budgets() -> Result {
    let aws = Emulator::start()?;
    let client = budgets_client(&aws).await;
    client
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(budget("bg-team", "400"))
        .send()
        .await?;
    let out = client
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .send()
        .await?;
    let names: Vec<&str> = out.budgets().iter().map(Budget::budget_name).collect();
    assert_eq!(names, ["bg-team"]);
    assert_eq!(out.next_token(), None);
    let limit = out.budgets()[0].budget_limit().unwrap();
    assert_eq!(limit.amount(), "400");

    let one = client
        .describe_budget()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .send()
        .await?;
    assert_eq!(one.budget().unwrap().budget_name(), "bg-team");

    let missing = client
        .describe_budget()
        .account_id(ACCOUNT_ID)
        .budget_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_not_found_exception(), "{missing:?}");

    let duplicate = client
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(budget("bg-team", "1"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(duplicate.is_duplicate_record_exception(), "{duplicate:?}");
    Ok(())
}

#[tokio::test]
async fn update_budget_replaces_the_definition_and_keeps_the_spend() -> Result {
    let aws = Emulator::start()?;
    let client = budgets_client(&aws).await;
    let spent = CalculatedSpend::builder()
        .actual_spend(spend("123.45"))
        .build();
    let mut first = budget("bg-team", "400");
    first.calculated_spend = Some(spent);
    client
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(first)
        .send()
        .await?;

    let mut new = budget("bg-team", "500");
    new.time_unit = TimeUnit::Daily;
    client
        .update_budget()
        .account_id(ACCOUNT_ID)
        .new_budget(new)
        .send()
        .await?;

    let out = client
        .describe_budget()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .send()
        .await?;
    let b = out.budget().unwrap();
    assert_eq!(b.budget_limit().unwrap().amount(), "500");
    assert_eq!(b.time_unit(), &TimeUnit::Daily);
    let actual = b.calculated_spend().unwrap().actual_spend().unwrap();
    assert_eq!(actual.amount(), "123.45");

    let missing = client
        .update_budget()
        .account_id(ACCOUNT_ID)
        .new_budget(budget("nope", "1"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_not_found_exception(), "{missing:?}");
    Ok(())
}

#[tokio::test]
async fn describe_budgets_pages_with_next_token() -> Result {
    let aws = Emulator::start()?;
    let client = budgets_client(&aws).await;
    for name in ["bg-a", "bg-b", "bg-c"] {
        client
            .create_budget()
            .account_id(ACCOUNT_ID)
            .budget(budget(name, "10"))
            .send()
            .await?;
    }

    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .describe_budgets()
            .account_id(ACCOUNT_ID)
            .max_results(1)
            .set_next_token(token.clone())
            .send()
            .await?;
        pages.push(
            out.budgets()
                .iter()
                .map(|b| b.budget_name().to_owned())
                .collect::<Vec<_>>(),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(pages, [["bg-a"], ["bg-b"], ["bg-c"]]);

    // The SDK's own paginator sees the same.
    let all: Vec<Budget> = client
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .into_paginator()
        .page_size(2)
        .items()
        .send()
        .collect::<std::result::Result<_, _>>()
        .await?;
    assert_eq!(all.len(), 3);
    assert_eq!(aws.call_count("budgets", "DescribeBudgets"), 3 + 2);

    let bad = client
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad.is_invalid_next_token_exception(), "{bad:?}");
    Ok(())
}

#[tokio::test]
async fn notifications_and_subscribers() -> Result {
    let aws = Emulator::start()?;
    let client = budgets_client(&aws).await;
    client
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(budget("bg-team", "400"))
        .notifications_with_subscribers(
            NotificationWithSubscribers::builder()
                .notification(notification(80.0))
                .subscribers(email("ops@example.com"))
                .build()
                .unwrap(),
        )
        .send()
        .await?;

    client
        .create_subscriber()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .notification(notification(80.0))
        .subscriber(email("finance@example.com"))
        .send()
        .await?;
    let subscribers = client
        .describe_subscribers_for_notification()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .notification(notification(80.0))
        .send()
        .await?;
    let addresses: Vec<&str> = subscribers
        .subscribers()
        .iter()
        .map(Subscriber::address)
        .collect();
    assert_eq!(addresses, ["ops@example.com", "finance@example.com"]);

    let again = client
        .create_subscriber()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .notification(notification(80.0))
        .subscriber(email("finance@example.com"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_duplicate_record_exception(), "{again:?}");

    client
        .update_subscriber()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .notification(notification(80.0))
        .old_subscriber(email("finance@example.com"))
        .new_subscriber(email("cfo@example.com"))
        .send()
        .await?;
    client
        .delete_subscriber()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .notification(notification(80.0))
        .subscriber(email("ops@example.com"))
        .send()
        .await?;

    // The threshold moves; the subscribers stay with the notification.
    client
        .update_notification()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .old_notification(notification(80.0))
        .new_notification(notification(90.0))
        .send()
        .await?;
    let notifications = client
        .describe_notifications_for_budget()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .send()
        .await?;
    let thresholds: Vec<f64> = notifications
        .notifications()
        .iter()
        .map(Notification::threshold)
        .collect();
    assert_eq!(thresholds, [90.0]);
    let subscribers = client
        .describe_subscribers_for_notification()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .notification(notification(90.0))
        .send()
        .await?;
    let addresses: Vec<&str> = subscribers
        .subscribers()
        .iter()
        .map(Subscriber::address)
        .collect();
    assert_eq!(addresses, ["cfo@example.com"]);

    let gone = client
        .describe_subscribers_for_notification()
        .account_id(ACCOUNT_ID)
        .budget_name("bg-team")
        .notification(notification(80.0))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_not_found_exception(), "{gone:?}");
    Ok(())
}

#[tokio::test]
async fn call_log_counts_writes() -> Result {
    let aws = Emulator::start()?;
    let client = budgets_client(&aws).await;
    assert!(aws.calls().is_empty());
    client
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(budget("bg-team", "400"))
        .send()
        .await?;
    client
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .send()
        .await?;
    assert_eq!(
        aws.calls(),
        [
            ("budgets".to_owned(), "CreateBudget".to_owned()),
            ("budgets".to_owned(), "DescribeBudgets".to_owned()),
        ]
    );
    assert_eq!(aws.write_calls().len(), 1);

    aws.reset_calls();
    client
        .describe_budgets()
        .account_id(ACCOUNT_ID)
        .send()
        .await?;
    assert!(aws.write_calls().is_empty(), "{:?}", aws.write_calls());
    client
        .update_budget()
        .account_id(ACCOUNT_ID)
        .new_budget(budget("bg-team", "450"))
        .send()
        .await?;
    assert_eq!(
        aws.write_calls(),
        [("budgets".to_owned(), "UpdateBudget".to_owned())]
    );

    // Other services log under their signing names.
    let config = aws.sdk_config().await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    ssm.put_parameter()
        .name("/budget-guard/routes/chat")
        .value("{}")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await?;
    assert_eq!(aws.call_count("ssm", "PutParameter"), 1);
    Ok(())
}

#[tokio::test]
async fn sns_publishes_are_visible() -> Result {
    let aws = Emulator::start()?;
    let sns = aws_sdk_sns::Client::new(&aws.sdk_config().await);
    let topic = sns.create_topic().name("notify").send().await?;
    let topic_arn = topic.topic_arn().unwrap().to_owned();
    assert_eq!(
        topic_arn,
        format!("arn:aws:sns:us-east-1:{ACCOUNT_ID}:notify")
    );
    sns.publish()
        .topic_arn(&topic_arn)
        .subject("Budget Guard")
        .message("hello")
        .message_attributes(
            "channel",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("ops")
                .build()?,
        )
        .send()
        .await?;
    let published = aws.sns_published(&topic_arn).await?;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].message, "hello");
    assert_eq!(published[0].subject.as_deref(), Some("Budget Guard"));
    assert_eq!(published[0].attributes["channel"], "ops");
    assert_eq!(aws.call_count("sns", "Publish"), 1);
    Ok(())
}

#[test]
fn env_vars_point_children_at_the_emulator() -> Result {
    let aws = Emulator::start()?;
    let env = aws.env_vars();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("AWS_ENDPOINT_URL"), Some(aws.endpoint().as_str()));
    assert_eq!(get("AWS_REGION"), Some("us-east-1"));
    assert_eq!(get("AWS_EC2_METADATA_DISABLED"), Some("true"));
    assert!(get("AWS_ACCESS_KEY_ID").is_some() && get("AWS_SECRET_ACCESS_KEY").is_some());
    assert!(aws.endpoint().starts_with("http://127.0.0.1:"));
    Ok(())
}

#[test]
fn drop_stops_the_process() -> Result {
    let aws = Emulator::start()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], aws.port()));
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(aws);
    assert!(std::net::TcpStream::connect(addr).is_err());
    Ok(())
}

/// Token metrics can be seeded with PutMetricData into `AWS/Bedrock` (real CloudWatch
/// refuses `AWS/` namespaces; moto does not), and read back with GetMetricData by `ModelId`.
#[tokio::test]
async fn cloudwatch_bedrock_metrics_can_be_seeded() -> Result {
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    use aws_smithy_types::DateTime;

    let aws = Emulator::start()?;
    let cw = aws_sdk_cloudwatch::Client::new(&aws.sdk_config().await);
    let model = Dimension::builder()
        .name("ModelId")
        .value("anthropic.claude-sonnet-4-5")
        .build();
    // A fixed instant (20 November 2026, 12:00 UTC): the emulator keeps any timestamp, and the
    // query window is around it, so nothing here depends on today's date.
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_176_000);
    aws.put_bedrock_metrics(
        "anthropic.claude-sonnet-4-5",
        &[("InputTokenCount", 1_000.0)],
        chrono::DateTime::from(now),
    )
    .await?;
    let out = cw
        .get_metric_data()
        .start_time(DateTime::from(now - std::time::Duration::from_secs(3600)))
        .end_time(DateTime::from(now + std::time::Duration::from_secs(300)))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("input")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/Bedrock")
                                .metric_name("InputTokenCount")
                                .dimensions(model)
                                .build(),
                        )
                        .period(300)
                        .stat("Sum")
                        .build(),
                )
                .build(),
        )
        .send()
        .await?;
    let values: Vec<f64> = out.metric_data_results()[0].values().to_vec();
    assert_eq!(values, [1_000.0]);
    assert_eq!(aws.call_count("monitoring", "GetMetricData"), 1);
    assert_eq!(
        aws.write_calls(),
        [("monitoring".to_owned(), "PutMetricData".to_owned())]
    );
    Ok(())
}

/// What later tests must know about SNS email subscriptions in moto: they are confirmed at
/// once (real SNS lists them as `PendingConfirmation` until someone clicks), and the
/// filter policy is stored and read back as given.
#[tokio::test]
async fn sns_email_subscriptions_are_confirmed_at_once() -> Result {
    let aws = Emulator::start()?;
    let sns = aws_sdk_sns::Client::new(&aws.sdk_config().await);
    let topic_arn = sns
        .create_topic()
        .name("notify")
        .send()
        .await?
        .topic_arn()
        .unwrap()
        .to_owned();
    let policy = r#"{"channel": ["ops"]}"#;
    let subscribed = sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("email")
        .endpoint("ops@example.com")
        .attributes("FilterPolicy", policy)
        .send()
        .await?;
    let arn = subscribed.subscription_arn().unwrap();
    assert!(arn.starts_with(&format!("{topic_arn}:")), "{arn}");

    let listed = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await?;
    let sub = &listed.subscriptions()[0];
    assert_eq!(sub.subscription_arn(), Some(arn));
    assert_eq!(sub.endpoint(), Some("ops@example.com"));

    let attributes = sns
        .get_subscription_attributes()
        .subscription_arn(arn)
        .send()
        .await?;
    let attributes = attributes.attributes().unwrap();
    assert_eq!(attributes["PendingConfirmation"], "false");
    assert_eq!(attributes["FilterPolicy"], policy);
    assert_eq!(attributes["FilterPolicyScope"], "MessageAttributes");
    Ok(())
}

#[tokio::test]
async fn budget_tags_are_kept_from_create_and_by_tag_untag_and_list() -> Result {
    use aws_sdk_budgets::types::ResourceTag;
    let aws = Emulator::start()?;
    let client = budgets_client(&aws).await;
    let tag = |k: &str, v: &str| ResourceTag::builder().key(k).value(v).build().unwrap();
    let arn = |name: &str| format!("arn:aws:budgets::{ACCOUNT_ID}:budget/{name}");
    let tags =
        |out: aws_sdk_budgets::operation::list_tags_for_resource::ListTagsForResourceOutput| {
            out.resource_tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect::<Vec<_>>()
        };
    client
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(budget("bg-tagged", "10"))
        .resource_tags(tag("budget-guard:owner", "BudgetGuard"))
        .send()
        .await?;
    client
        .create_budget()
        .account_id(ACCOUNT_ID)
        .budget(budget("bg-plain", "10"))
        .send()
        .await?;

    let listed = client
        .list_tags_for_resource()
        .resource_arn(arn("bg-tagged"))
        .send()
        .await?;
    assert_eq!(
        tags(listed),
        [("budget-guard:owner".to_owned(), "BudgetGuard".to_owned())]
    );
    let plain = client
        .list_tags_for_resource()
        .resource_arn(arn("bg-plain"))
        .send()
        .await?;
    assert!(tags(plain).is_empty());

    // TagResource replaces a key's value and adds new keys; UntagResource removes keys.
    client
        .tag_resource()
        .resource_arn(arn("bg-plain"))
        .resource_tags(tag("budget-guard:owner", "Other"))
        .resource_tags(tag("team", "ml"))
        .send()
        .await?;
    client
        .tag_resource()
        .resource_arn(arn("bg-plain"))
        .resource_tags(tag("budget-guard:owner", "BudgetGuard"))
        .send()
        .await?;
    client
        .untag_resource()
        .resource_arn(arn("bg-plain"))
        .resource_tag_keys("team")
        .send()
        .await?;
    let retagged = client
        .list_tags_for_resource()
        .resource_arn(arn("bg-plain"))
        .send()
        .await?;
    assert_eq!(
        tags(retagged),
        [("budget-guard:owner".to_owned(), "BudgetGuard".to_owned())]
    );

    let missing = client
        .list_tags_for_resource()
        .resource_arn(arn("bg-nope"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_not_found_exception(), "{missing:?}");
    let bad = client
        .list_tags_for_resource()
        .resource_arn("arn:aws:budgets::123")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad.is_invalid_parameter_exception(), "{bad:?}");
    Ok(())
}
