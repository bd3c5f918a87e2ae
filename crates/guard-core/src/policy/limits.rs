//! What AWS accepts for what a policy maps onto, so that validation refuses, at the line that
//! causes it, a policy that AWS would refuse halfway through a deployment.
//!
//! The AWS Budgets constants are those of the API's published service model (botocore's
//! `budgets/2016-10-20/service-2.json`, the model the SDKs are generated from); each names its
//! shape. `crates/guard-core/tests/budgets_model.rs` reads that model and fails when a constant
//! differs from it, or when a shape the policy maps onto has a constraint this file does not
//! cover. Validation never reads the model: it is an input of that test only.
//!
//! Lengths count characters (Unicode scalar values), as the model's `min` and `max` do.

// --- AWS Budgets, service model 2016-10-20 ----------------------------------------------------

/// Shape `BudgetName`, min and max: the full name, `budget_prefix` followed by the policy's name.
pub const BUDGET_NAME_MIN_CHARS: usize = 1;
pub const BUDGET_NAME_MAX_CHARS: usize = 100;
/// Shape `BudgetName`, pattern: no `:` or `\`, no `/action/`, and no `<script>` followed by
/// `</script>` (either in any case). [`budget_name_problem`] checks it without a regex engine.
pub const BUDGET_NAME_PATTERN: &str = r"^(?![^:\\]*/action/|(?i).*<script>.*</script>.*)[^:\\]+$";

/// Shape `NotificationWithSubscribersList`, max: a budget's notifications, one per threshold.
pub const NOTIFICATIONS_PER_BUDGET_MAX: usize = 10;

/// Shape `Subscribers`, min and max: a notification's subscribers. The guard gives every
/// notification exactly one, the alerts topic; the alert handler fans out to Slack and email.
pub const SUBSCRIBERS_PER_NOTIFICATION_MIN: usize = 1;
pub const SUBSCRIBERS_PER_NOTIFICATION_MAX: usize = 11;

/// Shape `NotificationThreshold` (a double), min and max: a threshold's number, a percentage or
/// USD. Being a double, it keeps about 15 significant digits: validation also refuses a threshold
/// that would not read back from AWS as written.
pub const NOTIFICATION_THRESHOLD_MIN: u64 = 0;
pub const NOTIFICATION_THRESHOLD_MAX: u64 = 15_000_000_000_000;

/// Shape `NumericValue`, pattern: the budget limit's amount as the API takes it (text).
pub const NUMERIC_VALUE_PATTERN: &str = r"([0-9]*\.)?[0-9]+";

/// Shape `Values`, min: every filter of a budget (services, a tag's values, accounts, regions)
/// lists at least one value.
pub const FILTER_VALUES_MIN: usize = 1;
/// Shape `Value`, max: one value of a filter (a service, a tag value, an account, a region).
pub const FILTER_VALUE_MAX_CHARS: usize = 1024;
/// Shape `TagKey`, max: the cost allocation tag key of a tag filter.
pub const FILTER_TAG_KEY_MAX_CHARS: usize = 1024;

/// Shapes `ResourceTagList` (max), `ResourceTagKey` (min, max) and `ResourceTagValue` (max): tags
/// on a budget itself. The policy sets none of its own today; whatever tags the guard puts on its
/// budgets must pass [`resource_tag_problem`] and number at most [`RESOURCE_TAGS_MAX`].
pub const RESOURCE_TAGS_MAX: usize = 200;
pub const RESOURCE_TAG_KEY_MIN_CHARS: usize = 1;
pub const RESOURCE_TAG_KEY_MAX_CHARS: usize = 128;
pub const RESOURCE_TAG_VALUE_MAX_CHARS: usize = 256;

/// Shapes `Roles` (min, max) and `Role` (min, max, pattern): the IAM roles of a Budgets action
/// (a threshold's `deny.roles`). The model lets a role carry a path; the guard takes plain IAM
/// role names ([`IAM_ROLE_NAME_MAX_CHARS`], [`iam_role_name_problem`]), which the pattern accepts.
pub const ROLES_PER_ACTION_MIN: usize = 1;
pub const ROLES_PER_ACTION_MAX: usize = 100;
pub const ROLE_MIN_CHARS: usize = 1;
pub const ROLE_MAX_CHARS: usize = 576;
pub const ROLE_PATTERN: &str = r"^([\u0021-\u007F]+\u002F)?[\w+=,.@-]+$";

// --- AWS quotas and limits the service model does not carry --------------------------------

/// AWS Budgets quota: at most 20,000 budgets per account ("Quotas and restrictions", AWS Billing
/// and Cost Management user guide). A policy cannot ask for more; the account's other budgets
/// count against the same quota.
pub const BUDGETS_PER_ACCOUNT_MAX: usize = 20_000;

/// SSM Parameter Store (`PutParameter` `Name`, service model documentation): a name is at most
/// 1,011 characters counting the ARN before it (`arn:aws:ssm:us-east-2:111122223333:parameter`,
/// about 45 to 60 characters by partition and region), so the guard allows 900 for the name.
pub const SSM_PARAMETER_NAME_MAX_CHARS: usize = 900;
/// SSM Parameter Store: a hierarchy is at most fifteen levels deep.
pub const SSM_PARAMETER_MAX_LEVELS: usize = 15;
/// Levels the alert handler adds below `state_path` (`notices/<budget>/<period>/<threshold>`).
pub const STATE_KEY_LEVELS: usize = 4;

/// IAM (`CreateRole` `RoleName`): a role name is 1 to 64 of `A-Za-z0-9+=,.@_-`.
pub const IAM_ROLE_NAME_MAX_CHARS: usize = 64;

/// Secrets Manager (`CreateSecret` `Name`, service model `NameType`): a secret name is at most
/// 512 characters.
pub const SECRET_NAME_MAX_CHARS: usize = 512;

// --- The guard's own bounds ------------------------------------------------------------------

/// `budget_prefix`: at most 50 characters, so that a budget name keeps at least 50 of AWS's 100.
pub const BUDGET_PREFIX_MAX_CHARS: usize = 50;
/// A budget's full name, and `budget_prefix`, as the alert handler stores them (UTF-8 inside JSON:
/// an ASCII letter takes 1 byte, `é` 2, most emoji 4, `"` and `\` 2): a route's ledger names up
/// to ten budgets and must fit one SSM parameter (4 KB). 100 ASCII characters fit, as AWS allows.
pub const BUDGET_NAME_MAX_STORED_BYTES: usize = 100;
pub const BUDGET_PREFIX_MAX_STORED_BYTES: usize = 50;
/// `flags_path` and `state_path`: far within SSM's names, with room for what goes under them.
pub const SSM_PATH_MAX_CHARS: usize = 200;
/// Route and channel names.
pub const NAME_MAX_CHARS: usize = 64;
/// Model ids (ladders, scopes, use cases, prices): Bedrock's ids and inference profile ARNs are
/// about 100 characters. The bound keeps a routing flag and the alert handler's records, which
/// quote them, within an SSM parameter.
pub const MODEL_ID_MAX_CHARS: usize = 200;
/// A use case's name, shown by `budget-guard estimate`.
pub const USE_CASE_NAME_MAX_CHARS: usize = 100;
/// Channels one threshold notifies, `settings.unmatched_notify` names, or all the thresholds that
/// step one route down notify together: the alert handler's record of a job lists them, and it
/// must fit one SSM parameter (4 KB).
pub const CHANNELS_PER_JOB_MAX: usize = 10;

/// Why AWS Budgets would refuse `name` as a budget name (`BudgetName`: length and pattern), if it
/// would. The pattern's `(?i)` covers only the `<script>` part: `/action/` is matched as written.
pub fn budget_name_problem(name: &str) -> Option<String> {
    let chars = name.chars().count();
    if chars < BUDGET_NAME_MIN_CHARS {
        return Some("is empty".into());
    }
    if chars > BUDGET_NAME_MAX_CHARS {
        return Some(format!(
            "is {chars} characters long; AWS allows at most {BUDGET_NAME_MAX_CHARS}"
        ));
    }
    if let Some(bad) = name.chars().find(|c| matches!(c, ':' | '\\')) {
        return Some(format!("contains `{bad}`"));
    }
    if let Some(bad) = name.chars().find(|c| c.is_control()) {
        // Not in AWS's pattern, but a name is shown in Slack, email and logs.
        return Some(format!(
            "contains the control character `{}`",
            bad.escape_default()
        ));
    }
    if name.contains("/action/") {
        return Some("contains `/action/`".into());
    }
    let lower = name.to_ascii_lowercase();
    if let Some(open) = lower.find("<script>")
        && lower[open..].contains("</script>")
    {
        return Some("contains `<script>` and `</script>`".into());
    }
    None
}

/// Why AWS Budgets would refuse a tag on a budget (`ResourceTagKey`, `ResourceTagValue`), if it
/// would.
pub fn resource_tag_problem(key: &str, value: &str) -> Option<String> {
    let key_chars = key.chars().count();
    if key_chars < RESOURCE_TAG_KEY_MIN_CHARS {
        return Some("a tag key is empty".into());
    }
    if key_chars > RESOURCE_TAG_KEY_MAX_CHARS {
        return Some(format!(
            "tag key is {key_chars} characters long; AWS allows at most {RESOURCE_TAG_KEY_MAX_CHARS}"
        ));
    }
    let value_chars = value.chars().count();
    if value_chars > RESOURCE_TAG_VALUE_MAX_CHARS {
        return Some(format!(
            "tag value is {value_chars} characters long; AWS allows at most {RESOURCE_TAG_VALUE_MAX_CHARS}"
        ));
    }
    None
}

/// Why `name` is not an IAM role name, if it is not one.
pub fn iam_role_name_problem(name: &str) -> Option<String> {
    let chars = name.chars().count();
    if chars == 0 {
        return Some("a role name is empty".into());
    }
    if chars > IAM_ROLE_NAME_MAX_CHARS {
        return Some(format!(
            "a role name is at most {IAM_ROLE_NAME_MAX_CHARS} characters; this one has {chars}"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    name.chars()
        .find(|&c| !allowed(c))
        .map(|c| format!("`{c}` cannot be in a role name (letters, digits and `+=,.@_-` only)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_names_as_aws_reads_its_pattern() {
        for ok in [
            "bg-a",
            "bg-a/Action/b",
            "bg-action",
            "bg-/action",
            "bg-</script><script>",
            "bg-<script>",
            "bg-Ünïcødé budget (prod)",
        ] {
            assert_eq!(budget_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "bg-a/action/b",
            "bg-<script>x</script>",
            "bg-<SCRIPT></Script>",
            "bg-a:b",
            "bg-a\\b",
            "bg-a\nb",
        ] {
            assert!(budget_name_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(
            budget_name_problem(&"x".repeat(BUDGET_NAME_MAX_CHARS)),
            None
        );
        assert!(budget_name_problem(&"x".repeat(BUDGET_NAME_MAX_CHARS + 1)).is_some());
    }
}
