//! AWS Budgets behind [`BudgetReader`] and [`BudgetWriter`]: the guard's budgets, their
//! notifications and subscribers. Budgets are updated in place (UpdateBudget), never deleted and
//! recreated, so their history stays.
//!
//! A read lists the budgets (DescribeBudgets) and every budget's notifications
//! (DescribeBudgetNotificationsForAccount), up to 1,000 budgets a call each; a
//! [`ReadDepth::Full`] read then asks each notification for its subscribers
//! (DescribeSubscribersForNotification), the one call per notification. Budgets actions (the hard
//! stops) are read with them, for every budget in one listing (see [`actions`]).

pub mod actions;

use crate::iam::{Call, Calls, ResourceKind::OwnedBudgets};
use crate::sdk::{build_error, classify, port_error};
use aws_sdk_budgets::Client;
use aws_sdk_budgets::operation::create_budget::CreateBudgetError;
use aws_sdk_budgets::operation::create_notification::CreateNotificationError;
use aws_sdk_budgets::operation::create_subscriber::CreateSubscriberError;
use aws_sdk_budgets::operation::delete_budget::DeleteBudgetError;
use aws_sdk_budgets::operation::delete_notification::DeleteNotificationError;
use aws_sdk_budgets::operation::delete_subscriber::DeleteSubscriberError;
use aws_sdk_budgets::operation::describe_budget_notifications_for_account::DescribeBudgetNotificationsForAccountError;
use aws_sdk_budgets::operation::describe_budgets::DescribeBudgetsError;
use aws_sdk_budgets::operation::describe_subscribers_for_notification::DescribeSubscribersForNotificationError;
use aws_sdk_budgets::operation::list_tags_for_resource::ListTagsForResourceError;
use aws_sdk_budgets::operation::tag_resource::TagResourceError;
use aws_sdk_budgets::operation::update_budget::UpdateBudgetError;
use aws_sdk_budgets::operation::update_subscriber::UpdateSubscriberError;
use aws_sdk_budgets::types as sdk;
use futures::stream::{self, StreamExt, TryStreamExt};
use guard_core::period::Period;
use guard_core::policy::ThresholdType;
use guard_core::ports::{ErrorKind, PortError};
use guard_core::provision::account::{
    BudgetState, Expression, KeyValues, NotificationKey, OWNER_TAG, Subscriber, SubscriberType,
};
use guard_core::provision::budget_action::BudgetAction;
use guard_core::provision::ports::BudgetOwners;
use guard_core::provision::ports::{BudgetReader, BudgetWriter, LiveBudget, ReadDepth};
use guard_core::spend_basis::SpendBasis;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// Every Budgets operation this adapter calls, with the IAM action that allows it, on the
/// budgets the guard owns.
pub const CALLS: Calls = &[
    Call::new("DescribeBudgets", "budgets:ViewBudget", OwnedBudgets),
    Call::new(
        "DescribeBudgetNotificationsForAccount",
        "budgets:ViewBudget",
        OwnedBudgets,
    ),
    Call::new(
        "DescribeSubscribersForNotification",
        "budgets:ViewBudget",
        OwnedBudgets,
    ),
    Call::new("CreateBudget", "budgets:ModifyBudget", OwnedBudgets),
    // CreateBudget with ResourceTags needs both.
    Call::new("CreateBudget", "budgets:TagResource", OwnedBudgets),
    Call::new("UpdateBudget", "budgets:ModifyBudget", OwnedBudgets),
    Call::new("DeleteBudget", "budgets:ModifyBudget", OwnedBudgets),
    Call::new("CreateNotification", "budgets:ModifyBudget", OwnedBudgets),
    Call::new("DeleteNotification", "budgets:ModifyBudget", OwnedBudgets),
    Call::new("CreateSubscriber", "budgets:ModifyBudget", OwnedBudgets),
    Call::new("DeleteSubscriber", "budgets:ModifyBudget", OwnedBudgets),
    Call::new("UpdateSubscriber", "budgets:ModifyBudget", OwnedBudgets),
    Call::new(
        "ListTagsForResource",
        "budgets:ListTagsForResource",
        OwnedBudgets,
    ),
    Call::new("TagResource", "budgets:TagResource", OwnedBudgets),
];

/// Budgets per page of DescribeBudgets and DescribeBudgetNotificationsForAccount: the API's
/// maximum for both, so that a read of up to 1,000 budgets is one call of each.
pub const LIST_PAGE_SIZE: i32 = 1000;
/// Subscribers per page of DescribeSubscribersForNotification (the API's maximum).
const SUBSCRIBERS_PAGE_SIZE: i32 = 100;
/// Reads in flight at once when fetching notifications and subscribers.
pub const DEFAULT_READ_CONCURRENCY: usize = 8;
/// The Budgets filter field that a marker expression carries when a live filter uses what the
/// guard never writes (Or, Not, cost categories, the deprecated CostFilters): it then differs
/// from every desired filter, and the next apply replaces it.
pub const UNSUPPORTED_FILTER: &str = "(filter the guard does not write)";

classify!(DescribeBudgetsError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
    InvalidNextTokenException => Invalid, ExpiredNextTokenException => Invalid,
});
classify!(DescribeBudgetNotificationsForAccountError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
    InvalidNextTokenException => Invalid, ExpiredNextTokenException => Invalid,
});
classify!(DescribeSubscribersForNotificationError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
    InvalidNextTokenException => Invalid, ExpiredNextTokenException => Invalid,
});
classify!(CreateBudgetError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, DuplicateRecordException => Duplicate,
    CreationLimitExceededException => LimitExceeded, ServiceQuotaExceededException => LimitExceeded,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(UpdateBudgetError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(DeleteBudgetError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(CreateNotificationError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    DuplicateRecordException => Duplicate, CreationLimitExceededException => LimitExceeded,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(DeleteNotificationError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(CreateSubscriberError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    DuplicateRecordException => Duplicate, CreationLimitExceededException => LimitExceeded,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(UpdateSubscriberError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    DuplicateRecordException => Duplicate, InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(DeleteSubscriberError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(ListTagsForResourceError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    InternalErrorException => Transient, InvalidParameterException => Invalid,
});
classify!(TagResourceError {
    AccessDeniedException => AccessDenied, ThrottlingException => Throttled, NotFoundException => NotFound,
    ServiceQuotaExceededException => LimitExceeded, InternalErrorException => Transient,
    InvalidParameterException => Invalid,
});

/// The Budgets adapter for one account.
#[derive(Debug, Clone)]
pub struct BudgetsAdapter {
    client: Client,
    account_id: String,
    /// The ARN partition of the account (`aws`, `aws-cn`, `aws-us-gov`): budget ARNs name it.
    partition: String,
    read_concurrency: usize,
    list_page_size: i32,
}

impl BudgetsAdapter {
    pub fn new(client: Client, account_id: impl Into<String>) -> BudgetsAdapter {
        BudgetsAdapter {
            client,
            account_id: account_id.into(),
            partition: "aws".into(),
            read_concurrency: DEFAULT_READ_CONCURRENCY,
            list_page_size: LIST_PAGE_SIZE,
        }
    }

    /// The ARN partition, e.g. of the alerts topic ARN (default `aws`).
    pub fn with_partition(mut self, partition: impl Into<String>) -> BudgetsAdapter {
        self.partition = partition.into();
        self
    }

    /// The ARN of a budget of this account: `arn:<partition>:budgets::<account>:budget/<name>`
    /// (the pattern the Budgets API reference gives for a budget).
    pub fn budget_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:budgets::{}:budget/{name}",
            self.partition, self.account_id
        )
    }

    /// A client from `config` (see [`crate::sdk::load`]).
    pub fn from_sdk_config(
        config: &aws_config::SdkConfig,
        account_id: impl Into<String>,
    ) -> BudgetsAdapter {
        BudgetsAdapter::new(Client::new(config), account_id)
    }

    pub fn with_read_concurrency(mut self, n: usize) -> BudgetsAdapter {
        self.read_concurrency = n.max(1);
        self
    }

    /// Budgets per page of the list calls (1 to [`LIST_PAGE_SIZE`]); smaller pages are for tests
    /// of paging.
    pub fn with_list_page_size(mut self, n: i32) -> BudgetsAdapter {
        self.list_page_size = n.clamp(1, LIST_PAGE_SIZE);
        self
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Every budget of the account whose name starts with `prefix` (DescribeBudgets, following
    /// NextToken). The account having no budgets at all is `NotFoundException`: an empty list.
    async fn budgets_with_prefix(&self, prefix: &str) -> Result<Vec<BudgetState>, PortError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let result = self
                .client
                .describe_budgets()
                .account_id(&self.account_id)
                .max_results(self.list_page_size)
                .show_filter_expression(true)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match result {
                Ok(page) => page,
                Err(e) => match port_error("DescribeBudgets", e) {
                    e if e.kind == ErrorKind::NotFound => break,
                    e => return Err(e),
                },
            };
            for budget in page.budgets() {
                if !budget.budget_name().starts_with(prefix) {
                    continue;
                }
                match budget_state(budget) {
                    Some(state) => out.push(state),
                    None => tracing::warn!(
                        budget = budget.budget_name(),
                        time_unit = budget.time_unit().as_str(),
                        "owned budget with a time unit the guard does not write; left alone"
                    ),
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The notifications of every budget whose name starts with `prefix`, without their
    /// subscribers (DescribeBudgetNotificationsForAccount, through the SDK's paginator). A budget
    /// this does not list has no notifications.
    async fn notifications_by_budget(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, Vec<sdk::Notification>>, PortError> {
        const OP: &str = "DescribeBudgetNotificationsForAccount";
        let mut entries = self
            .client
            .describe_budget_notifications_for_account()
            .account_id(&self.account_id)
            .max_results(self.list_page_size)
            .into_paginator()
            .items()
            .send();
        let mut out: BTreeMap<String, Vec<sdk::Notification>> = BTreeMap::new();
        let mut first = true;
        while let Some(entry) = entries.next().await {
            let entry = match entry {
                Ok(entry) => entry,
                // An account without budgets; later in the listing it would mean a partial read.
                Err(e) => match port_error(OP, e) {
                    e if e.kind == ErrorKind::NotFound && first => break,
                    e => return Err(e),
                },
            };
            first = false;
            let Some(name) = entry.budget_name().filter(|name| name.starts_with(prefix)) else {
                continue;
            };
            out.entry(name.to_owned())
                .or_default()
                .extend(entry.notifications().iter().cloned());
        }
        Ok(out)
    }

    /// A budget's notifications as listed, with their subscribers when `depth` is full.
    /// Notifications that do not alert on going over (`LESS_THAN`, `EQUAL_TO`) are not the
    /// guard's and are left alone.
    async fn notifications(
        &self,
        budget: &str,
        listed: Vec<sdk::Notification>,
        depth: ReadDepth,
    ) -> Result<BTreeMap<NotificationKey, Vec<Subscriber>>, PortError> {
        let mut out = BTreeMap::new();
        for notification in listed {
            let Some(key) = notification_key(&notification) else {
                tracing::warn!(
                    budget,
                    comparison = notification.comparison_operator().as_str(),
                    threshold = notification.threshold(),
                    "notification the guard does not write; left alone"
                );
                continue;
            };
            let subscribers = match depth {
                ReadDepth::Full => self.subscribers(budget, notification).await?,
                ReadDepth::Quick => Vec::new(),
            };
            out.insert(key, subscribers);
        }
        Ok(out)
    }

    async fn subscribers(
        &self,
        budget: &str,
        notification: sdk::Notification,
    ) -> Result<Vec<Subscriber>, PortError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let result = self
                .client
                .describe_subscribers_for_notification()
                .account_id(&self.account_id)
                .budget_name(budget)
                .notification(notification.clone())
                .max_results(SUBSCRIBERS_PAGE_SIZE)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match result {
                Ok(page) => page,
                Err(e) => match port_error("DescribeSubscribersForNotification", e) {
                    e if e.kind == ErrorKind::NotFound => break,
                    e => return Err(e),
                },
            };
            out.extend(page.subscribers().iter().filter_map(subscriber));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }
}

impl BudgetReader for BudgetsAdapter {
    #[tracing::instrument(skip(self), fields(account = %self.account_id))]
    async fn owned_budgets(
        &self,
        prefix: &str,
        depth: ReadDepth,
    ) -> Result<Vec<LiveBudget>, PortError> {
        let (budgets, mut listed, mut actions) = futures::try_join!(
            self.budgets_with_prefix(prefix),
            self.notifications_by_budget(prefix),
            self.actions_by_budget(prefix)
        )?;
        let live: Vec<LiveBudget> = stream::iter(budgets)
            .map(|budget| {
                let notifications = listed.remove(&budget.name).unwrap_or_default();
                let actions = actions.remove(&budget.name).unwrap_or_default();
                async move {
                    let notifications = self
                        .notifications(&budget.name, notifications, depth)
                        .await?;
                    Ok::<_, PortError>(LiveBudget {
                        budget,
                        notifications,
                        actions,
                    })
                }
            })
            .buffered(self.read_concurrency)
            .try_collect()
            .await?;
        tracing::debug!(budgets = live.len(), ?depth, "read owned budgets");
        Ok(live)
    }
}

impl BudgetOwners for BudgetsAdapter {
    async fn owner_tag(&self, budget: &str) -> Result<Option<String>, PortError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(self.budget_arn(budget))
            .send()
            .await
            .map_err(|e| port_error("ListTagsForResource", e))?;
        Ok(out
            .resource_tags()
            .iter()
            .find(|t| t.key() == OWNER_TAG)
            .map(|t| t.value().to_owned()))
    }
}

fn owner_tag(owner: &str) -> Built<sdk::ResourceTag> {
    sdk::ResourceTag::builder()
        .key(OWNER_TAG)
        .value(owner)
        .build()
}

impl BudgetWriter for BudgetsAdapter {
    async fn create_budget(
        &self,
        budget: &BudgetState,
        notifications: &[(NotificationKey, Vec<Subscriber>)],
        owner: &str,
    ) -> Result<(), PortError> {
        const OP: &str = "CreateBudget";
        let with_subscribers = notifications
            .iter()
            .map(|(key, subscribers)| {
                sdk::NotificationWithSubscribers::builder()
                    .notification(to_notification(key).map_err(|e| build_error(OP, e))?)
                    .set_subscribers(Some(
                        to_subscribers(subscribers).map_err(|e| build_error(OP, e))?,
                    ))
                    .build()
                    .map_err(|e| build_error(OP, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .create_budget()
            .account_id(&self.account_id)
            .budget(to_budget(budget).map_err(|e| build_error(OP, e))?)
            .set_notifications_with_subscribers(Some(with_subscribers))
            .resource_tags(owner_tag(owner).map_err(|e| build_error(OP, e))?)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget = %budget.name, notifications = notifications.len(), owner, "created budget");
        Ok(())
    }

    async fn tag_owner(&self, budget: &str, owner: &str) -> Result<(), PortError> {
        const OP: &str = "TagResource";
        self.client
            .tag_resource()
            .resource_arn(self.budget_arn(budget))
            .resource_tags(owner_tag(owner).map_err(|e| build_error(OP, e))?)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, owner, "tagged budget as ours");
        Ok(())
    }

    /// UpdateBudget replaces the definition with the one sent; the history and the spend AWS
    /// has calculated stay.
    async fn update_budget(&self, budget: &BudgetState) -> Result<(), PortError> {
        const OP: &str = "UpdateBudget";
        self.client
            .update_budget()
            .account_id(&self.account_id)
            .new_budget(to_budget(budget).map_err(|e| build_error(OP, e))?)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget = %budget.name, "updated budget");
        Ok(())
    }

    async fn delete_budget(&self, name: &str) -> Result<(), PortError> {
        const OP: &str = "DeleteBudget";
        self.client
            .delete_budget()
            .account_id(&self.account_id)
            .budget_name(name)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget = name, "deleted budget");
        Ok(())
    }

    async fn create_notification(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscribers: &[Subscriber],
    ) -> Result<(), PortError> {
        const OP: &str = "CreateNotification";
        self.client
            .create_notification()
            .account_id(&self.account_id)
            .budget_name(budget)
            .notification(to_notification(key).map_err(|e| build_error(OP, e))?)
            .set_subscribers(Some(
                to_subscribers(subscribers).map_err(|e| build_error(OP, e))?,
            ))
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, notification = %key.label(), "created notification");
        Ok(())
    }

    async fn delete_notification(
        &self,
        budget: &str,
        key: &NotificationKey,
    ) -> Result<(), PortError> {
        const OP: &str = "DeleteNotification";
        self.client
            .delete_notification()
            .account_id(&self.account_id)
            .budget_name(budget)
            .notification(to_notification(key).map_err(|e| build_error(OP, e))?)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, notification = %key.label(), "deleted notification");
        Ok(())
    }

    async fn create_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscriber: &Subscriber,
    ) -> Result<(), PortError> {
        const OP: &str = "CreateSubscriber";
        self.client
            .create_subscriber()
            .account_id(&self.account_id)
            .budget_name(budget)
            .notification(to_notification(key).map_err(|e| build_error(OP, e))?)
            .subscriber(to_subscriber(subscriber).map_err(|e| build_error(OP, e))?)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, notification = %key.label(), subscriber = %subscriber.address, "created subscriber");
        Ok(())
    }

    async fn delete_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        subscriber: &Subscriber,
    ) -> Result<(), PortError> {
        const OP: &str = "DeleteSubscriber";
        self.client
            .delete_subscriber()
            .account_id(&self.account_id)
            .budget_name(budget)
            .notification(to_notification(key).map_err(|e| build_error(OP, e))?)
            .subscriber(to_subscriber(subscriber).map_err(|e| build_error(OP, e))?)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, notification = %key.label(), subscriber = %subscriber.address, "deleted subscriber");
        Ok(())
    }

    async fn update_subscriber(
        &self,
        budget: &str,
        key: &NotificationKey,
        old: &Subscriber,
        new: &Subscriber,
    ) -> Result<(), PortError> {
        const OP: &str = "UpdateSubscriber";
        self.client
            .update_subscriber()
            .account_id(&self.account_id)
            .budget_name(budget)
            .notification(to_notification(key).map_err(|e| build_error(OP, e))?)
            .old_subscriber(to_subscriber(old).map_err(|e| build_error(OP, e))?)
            .new_subscriber(to_subscriber(new).map_err(|e| build_error(OP, e))?)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        tracing::info!(budget, notification = %key.label(), old = %old.address, new = %new.address, "updated subscriber");
        Ok(())
    }

    async fn create_action(&self, budget: &str, action: &BudgetAction) -> Result<(), PortError> {
        self.create_budget_action(budget, action).await
    }

    async fn update_action(&self, budget: &str, action: &BudgetAction) -> Result<(), PortError> {
        self.update_budget_action(budget, action).await
    }

    async fn delete_action(&self, budget: &str, action_id: &str) -> Result<(), PortError> {
        self.delete_budget_action(budget, action_id).await
    }
}

pub(crate) type Built<T> = Result<T, aws_smithy_types::error::operation::BuildError>;

/// The budget as the API takes it: a COST budget in USD with its filter.
pub fn to_budget(budget: &BudgetState) -> Built<sdk::Budget> {
    sdk::Budget::builder()
        .budget_name(&budget.name)
        .budget_limit(
            sdk::Spend::builder()
                .amount(budget.limit.normalize().to_string())
                .unit("USD")
                .build()?,
        )
        .time_unit(sdk::TimeUnit::from(budget.time_unit.time_unit()))
        .budget_type(sdk::BudgetType::Cost)
        .set_filter_expression(budget.filter.as_ref().map(to_expression).transpose()?)
        .build()
}

pub fn to_expression(expression: &Expression) -> Built<sdk::Expression> {
    let and = expression
        .and
        .as_ref()
        .map(|list| list.iter().map(to_expression).collect::<Built<Vec<_>>>())
        .transpose()?;
    let dimensions = expression
        .dimensions
        .as_ref()
        .map(|kv| {
            sdk::ExpressionDimensionValues::builder()
                .key(sdk::Dimension::from(kv.key.as_str()))
                .set_values(Some(kv.values.clone()))
                .set_match_options(Some(
                    kv.match_options
                        .iter()
                        .map(|m| sdk::MatchOption::from(m.as_str()))
                        .collect(),
                ))
                .build()
        })
        .transpose()?;
    let tags = expression.tags.as_ref().map(|kv| {
        sdk::TagValues::builder()
            .key(&kv.key)
            .set_values(Some(kv.values.clone()))
            .set_match_options(Some(
                kv.match_options
                    .iter()
                    .map(|m| sdk::MatchOption::from(m.as_str()))
                    .collect(),
            ))
            .build()
    });
    Ok(sdk::Expression::builder()
        .set_and(and)
        .set_dimensions(dimensions)
        .set_tags(tags)
        .build())
}

/// The guard's view of a filter as read. Parts the guard never writes become a marker, so the
/// filter differs from any desired one.
pub fn from_expression(expression: &sdk::Expression) -> Expression {
    if !expression.or().is_empty()
        || expression.not().is_some()
        || expression.cost_categories().is_some()
    {
        return unsupported_filter();
    }
    let and = (!expression.and().is_empty())
        .then(|| expression.and().iter().map(from_expression).collect());
    let match_options =
        |options: &[sdk::MatchOption]| options.iter().map(|m| m.as_str().to_owned()).collect();
    Expression {
        and,
        dimensions: expression.dimensions().map(|d| KeyValues {
            key: d.key().as_str().to_owned(),
            values: d.values().to_vec(),
            match_options: match_options(d.match_options()),
        }),
        tags: expression.tags().map(|t| KeyValues {
            key: t.key().unwrap_or_default().to_owned(),
            values: t.values().to_vec(),
            match_options: match_options(t.match_options()),
        }),
    }
}

fn unsupported_filter() -> Expression {
    Expression {
        dimensions: Some(KeyValues {
            key: UNSUPPORTED_FILTER.into(),
            values: vec![],
            match_options: vec![],
        }),
        ..Default::default()
    }
}

/// The guard's view of a budget as read; `None` for a time unit it never writes (CUSTOM).
// Reads the deprecated CostFilters only to notice them: the guard writes FilterExpression.
#[allow(deprecated)]
pub fn budget_state(budget: &sdk::Budget) -> Option<BudgetState> {
    let time_unit = Period::from_time_unit(budget.time_unit().as_str())?;
    let limit = budget
        .budget_limit()
        .and_then(|s| Decimal::from_str(s.amount()).ok())
        .unwrap_or(Decimal::ZERO);
    let filter = match (budget.filter_expression(), budget.cost_filters()) {
        (_, Some(filters)) if !filters.is_empty() => Some(unsupported_filter()),
        (Some(expression), _) => Some(from_expression(expression)),
        (None, _) => None,
    };
    Some(BudgetState {
        name: budget.budget_name().to_owned(),
        limit,
        time_unit,
        filter,
    })
}

/// The key of a notification that alerts on going over; `None` for any other.
pub fn notification_key(notification: &sdk::Notification) -> Option<NotificationKey> {
    if notification.comparison_operator() != &sdk::ComparisonOperator::GreaterThan {
        return None;
    }
    let notification_type = SpendBasis::from_api(notification.notification_type().as_str())?;
    // AWS's default threshold type is PERCENTAGE.
    let threshold_type = match notification.threshold_type() {
        None | Some(sdk::ThresholdType::Percentage) => ThresholdType::Percentage,
        Some(sdk::ThresholdType::AbsoluteValue) => ThresholdType::AbsoluteValue,
        Some(_) => return None,
    };
    // Display gives the shortest text that reads back as the same f64: 33.3, not 33.29999.
    let threshold = Decimal::from_str(&notification.threshold().to_string()).ok()?;
    Some(NotificationKey {
        notification_type,
        threshold_type,
        threshold,
    })
}

/// A threshold as the API's double: the shortest decimal text parsed, so it reads back the same.
pub(crate) fn threshold_value(threshold: Decimal) -> f64 {
    threshold
        .normalize()
        .to_string()
        .parse()
        .unwrap_or_default()
}

pub fn to_notification(key: &NotificationKey) -> Built<sdk::Notification> {
    let threshold = threshold_value(key.threshold);
    sdk::Notification::builder()
        .notification_type(sdk::NotificationType::from(key.notification_type.as_api()))
        .comparison_operator(sdk::ComparisonOperator::GreaterThan)
        .threshold(threshold)
        .threshold_type(match key.threshold_type {
            ThresholdType::Percentage => sdk::ThresholdType::Percentage,
            ThresholdType::AbsoluteValue => sdk::ThresholdType::AbsoluteValue,
        })
        .build()
}

fn subscriber(s: &sdk::Subscriber) -> Option<Subscriber> {
    let subscription_type = match s.subscription_type() {
        sdk::SubscriptionType::Sns => SubscriberType::Sns,
        sdk::SubscriptionType::Email => SubscriberType::Email,
        _ => return None,
    };
    Some(Subscriber {
        subscription_type,
        address: s.address().to_owned(),
    })
}

fn to_subscriber(s: &Subscriber) -> Built<sdk::Subscriber> {
    sdk::Subscriber::builder()
        .subscription_type(match s.subscription_type {
            SubscriberType::Sns => sdk::SubscriptionType::Sns,
            SubscriberType::Email => sdk::SubscriptionType::Email,
        })
        .address(&s.address)
        .build()
}

pub(crate) fn to_subscribers(list: &[Subscriber]) -> Built<Vec<sdk::Subscriber>> {
    list.iter().map(to_subscriber).collect()
}

/// The subscribers the guard can read, sorted.
pub(crate) fn from_subscribers(list: &[sdk::Subscriber]) -> Vec<Subscriber> {
    let mut out: Vec<Subscriber> = list.iter().filter_map(subscriber).collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use guard_core::provision::account::Expression;

    #[test]
    fn filters_round_trip() {
        let filter = Expression {
            and: Some(vec![
                Expression::dimension("SERVICE", &["Amazon Bedrock".into()]),
                Expression::tag("app", &["writing-assistant".into()]),
            ]),
            ..Default::default()
        };
        assert_eq!(from_expression(&to_expression(&filter).unwrap()), filter);
    }

    #[test]
    fn or_not_and_cost_filters_never_match_a_desired_filter() {
        let or = sdk::Expression::builder()
            .or(to_expression(&Expression::dimension("SERVICE", &["a".into()])).unwrap())
            .build();
        assert_eq!(from_expression(&or), unsupported_filter());
    }

    #[test]
    fn thresholds_read_back_exactly() {
        let key = NotificationKey {
            notification_type: SpendBasis::Forecasted,
            threshold_type: ThresholdType::Percentage,
            threshold: Decimal::from_str("33.3").unwrap(),
        };
        assert_eq!(notification_key(&to_notification(&key).unwrap()), Some(key));
    }
}
