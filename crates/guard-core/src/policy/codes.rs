//! The stable code of every diagnostic the policy loader and validator report, in one table.
//!
//! A code names one problem, wherever it is found: `unknown-channel` is the same mistake in a
//! threshold's `notify` and in `settings.alarms`, so it has one code; two problems never share
//! one. Codes are grouped by where the problem is, in ranges of a hundred, so that a filter on
//! `BG5` keeps the budgets' findings. Users filter on codes and look them up, so a code, once
//! released, keeps its meaning: a new problem gets the next free number of its range, and the
//! number of a problem no longer reported is not given to another.
//!
//! `docs/diagnostics.md` is generated from this table (`budget-guard codes > docs/diagnostics.md`)
//! and a test fails when the two differ.

use crate::diagnostic::Code;

macro_rules! codes {
    ($(
        $(#[$attr:meta])*
        $konst:ident = $code:literal, $name:literal, $explanation:literal;
    )*) => {
        $(
            $(#[$attr])*
            pub const $konst: Code = Code { code: $code, name: $name, explanation: $explanation };
        )*
        /// Every code, in the order of the table.
        pub const ALL: &[Code] = &[$($konst),*];
        /// Every code with the name of its constant, for the test that each one is reported
        /// somewhere.
        pub const CONSTANTS: &[(&str, Code)] = &[$((stringify!($konst), $konst)),*];
    };
}

/// The ranges, by their first digit, and what they cover; the headings of the generated doc.
pub const RANGES: &[(&str, &str)] = &[
    (
        "BG0",
        "Files and YAML: bytes, size, encoding, syntax, duplicate keys",
    ),
    (
        "BG1",
        "Structure and names: fields, kinds of values, the version, names of entries",
    ),
    ("BG2", "Settings"),
    ("BG3", "Channels, and the lists of channels that name them"),
    ("BG4", "Routes and their ladders"),
    ("BG5", "Budgets and their scope"),
    ("BG6", "Thresholds, their downgrades and denies"),
    ("BG7", "Usage: the use cases an estimate is made from"),
    ("BG8", "Prices, inference profiles and model lifecycle"),
];

codes! {
    NO_POLICY_FILES = "BG001", "no-policy-files", "No `.yaml` file was given, or the folder holds none.";
    SYMBOLIC_LINK = "BG002", "symbolic-link", "A file of the policy is a symbolic link; only regular files are read.";
    NOT_REGULAR_FILE = "BG003", "not-regular-file", "A file of the policy is a pipe, socket, device or other non-regular file.";
    FILE_TOO_LARGE = "BG004", "file-too-large", "A policy file is larger than 1 MiB.";
    NOT_UTF8 = "BG005", "not-utf8", "A policy file is not UTF-8 text.";
    NUL_BYTE = "BG006", "nul-byte", "A policy file holds a NUL byte, so it is not text.";
    EMPTY_FILE = "BG007", "empty-file", "A policy file is empty, or holds only comments or `null`.";
    INVALID_YAML = "BG008", "invalid-yaml", "A policy file is not valid YAML (indentation, tabs, brackets, quotes).";
    DUPLICATE_KEY = "BG009", "duplicate-key", "A key appears twice in the same mapping.";
    MORE_NOT_SHOWN = "BG010", "more-not-shown", "A file has more diagnostics than are shown; this one counts the rest.";

    WRONG_TYPE = "BG101", "wrong-type", "A value is of the wrong kind: text where a number, list or mapping belongs, or the like.";
    UNKNOWN_VALUE = "BG102", "unknown-value", "A value is not one of the words the field allows.";
    KEY_NOT_PLAIN = "BG103", "key-not-plain", "A mapping key is a list, mapping or alias instead of a plain name.";
    UNKNOWN_FIELD = "BG104", "unknown-field", "A field the policy format does not have, often a misspelling.";
    MISSING_FIELD = "BG105", "missing-field", "A required field is missing.";
    NUMBER_TOO_SMALL = "BG106", "number-too-small", "A whole number is below the least the field takes.";
    NUMBER_OUT_OF_RANGE = "BG107", "number-out-of-range", "A whole number is past what the field can hold.";
    INVALID_STRUCTURE = "BG108", "invalid-structure", "A value the structure check let through but the reader refused.";
    UNSUPPORTED_VERSION = "BG109", "unsupported-version", "The file's `version` is not 1.";
    DUPLICATE_NAME = "BG110", "duplicate-name", "A channel, route, budget, price or profile is defined twice across the policy's files.";
    INVALID_NAME = "BG111", "invalid-name", "A channel or route name has characters other than letters, digits, `-` and `_`, or is too long.";

    SETTINGS_REPEATED = "BG201", "settings-repeated", "More than one file has a `settings` section.";
    EMPTY_BUDGET_PREFIX = "BG202", "empty-budget-prefix", "`budget_prefix` is empty, which would make the guard own every budget.";
    BUDGET_PREFIX_TOO_LONG = "BG203", "budget-prefix-too-long", "`budget_prefix` has too many characters to leave room for budget names.";
    BUDGET_PREFIX_TOO_MANY_BYTES = "BG204", "budget-prefix-too-many-bytes", "`budget_prefix` takes too many bytes as stored in the alert handler's records.";
    INVALID_BUDGET_PREFIX = "BG205", "invalid-budget-prefix", "`budget_prefix` holds what AWS budget names cannot.";
    INVALID_OWNER = "BG206", "invalid-owner", "`owner` is empty, too long, or not a valid AWS tag value.";
    UNSUPPORTED_CURRENCY = "BG207", "unsupported-currency", "`currency` is not USD.";
    INVALID_SSM_PATH = "BG208", "invalid-ssm-path", "`flags_path` or `state_path` is not an SSM parameter path (`/a/b/`).";
    SSM_PATH_TOO_LONG = "BG209", "ssm-path-too-long", "`flags_path` or `state_path` is too long for the parameters under it.";
    SSM_PATH_TOO_DEEP = "BG210", "ssm-path-too-deep", "`flags_path` or `state_path` has too many levels for the parameters under it.";
    OVERLAPPING_PATHS = "BG211", "overlapping-paths", "`flags_path` and `state_path` are the same, or one is inside the other.";
    ALARM_SLACK_WITHOUT_CHATBOT = "BG212", "alarm-slack-without-chatbot", "A Slack channel in `settings.alarms` has no AWS Chatbot ids.";
    NO_ALARM_CHANNEL = "BG213", "no-alarm-channel", "No channel is named in `settings.alarms`, so the guard's own alarms reach nobody.";

    UNKNOWN_CHANNEL = "BG301", "unknown-channel", "A channel is named that no file defines.";
    CHANNEL_LISTED_TWICE = "BG302", "channel-listed-twice", "A list of channels names the same channel twice.";
    TOO_MANY_CHANNELS = "BG303", "too-many-channels", "More channels are told of one alert than one record of the alert handler holds.";
    CHANNEL_BOTH_KINDS = "BG304", "channel-both-kinds", "A channel is both `slack` and `email`.";
    CHANNEL_NO_KIND = "BG305", "channel-no-kind", "A channel is neither `slack` nor `email`.";
    WEBHOOK_SECRET_IS_URL = "BG306", "webhook-secret-is-url", "`webhook_secret` holds the webhook URL itself instead of a secret's name.";
    INVALID_SECRET_NAME = "BG307", "invalid-secret-name", "`webhook_secret` is not a Secrets Manager secret name.";
    INVALID_SLACK_WORKSPACE_ID = "BG308", "invalid-slack-workspace-id", "A Chatbot `workspace_id` is not a Slack workspace id.";
    INVALID_SLACK_CHANNEL_ID = "BG309", "invalid-slack-channel-id", "A Chatbot `channel_id` is not a Slack channel id.";
    EMPTY_EMAIL_CHANNEL = "BG310", "empty-email-channel", "An email channel lists no addresses.";
    TOO_MANY_EMAIL_ADDRESSES = "BG311", "too-many-email-addresses", "An email channel, or the channels of one threshold, reach more than 10 addresses.";
    INVALID_EMAIL = "BG312", "invalid-email", "An address of an email channel is not an email address.";
    EMAIL_LISTED_TWICE = "BG313", "email-listed-twice", "An email channel lists the same address twice.";
    EMAIL_IN_TWO_CHANNELS = "BG314", "email-in-two-channels", "An address is in two email channels; SNS keeps one subscription per address.";

    EMPTY_LADDER = "BG401", "empty-ladder", "A route's ladder lists no step.";
    UNKNOWN_ROUTE = "BG402", "unknown-route", "A route is named that no file defines.";
    LADDER_STARTS_WITH_STOP = "BG403", "ladder-starts-with-stop", "The first step of a ladder is `stop`.";
    STOP_NOT_LAST = "BG404", "stop-not-last", "`stop` is a step of a ladder other than the last.";
    ZERO_OUTPUT_CAP = "BG405", "zero-output-cap", "A step caps output at 0 tokens.";
    REPEATED_STEP = "BG406", "repeated-step", "A step repeats a step above it: same model, tier and cap.";
    NO_TIER_PRICE = "BG407", "no-tier-price", "A step's model has no price on the step's service tier.";
    STEP_NOT_CHEAPER = "BG408", "step-not-cheaper", "A step does not cost less than the step above it at the route's usage.";
    INVALID_FLAG_PARAMETER = "BG409", "invalid-flag-parameter", "A route's `parameter` is not a full SSM parameter name.";
    FLAG_OUTSIDE_FLAGS_PATH = "BG410", "flag-outside-flags-path", "A route's `parameter` is not under `flags_path`.";
    FLAG_PARAMETER_TOO_LONG = "BG411", "flag-parameter-too-long", "A route's `parameter` is longer than SSM takes.";
    FLAG_PARAMETER_TOO_DEEP = "BG412", "flag-parameter-too-deep", "A route's `parameter` has more levels than SSM takes.";
    SHARED_FLAG = "BG413", "shared-flag", "Two routes use the same flag parameter.";
    TOO_MANY_DOWNGRADES = "BG414", "too-many-downgrades", "More thresholds step one route down than the alert handler's record of it holds.";

    TOO_MANY_BUDGETS = "BG501", "too-many-budgets", "The policy defines more budgets than AWS allows per account.";
    EMPTY_BUDGET_NAME = "BG502", "empty-budget-name", "A budget's name is empty or blank.";
    INVALID_BUDGET_NAME = "BG503", "invalid-budget-name", "A budget's AWS name, prefix included, is too long or holds what AWS budget names cannot.";
    BUDGET_NAME_TOO_MANY_BYTES = "BG504", "budget-name-too-many-bytes", "A budget's AWS name takes too many bytes as stored in the alert handler's records.";
    AMOUNT_TOO_LARGE = "BG505", "amount-too-large", "A budget's amount is over $1,000,000,000,000.";
    AMOUNT_NOT_POSITIVE = "BG506", "amount-not-positive", "A budget's amount is zero or less.";
    AMOUNT_NOT_A_NUMBER = "BG507", "amount-not-a-number", "A budget's amount is not a plain number of USD.";
    TOO_MANY_THRESHOLDS = "BG508", "too-many-thresholds", "A budget has more thresholds than AWS Budgets takes notifications.";
    WATCH_IGNORES_TAGS = "BG509", "watch-ignores-tags", "A watched budget is scoped by tags or services only, which the spend watcher cannot see, and names no applications for the fast path.";
    SERVICES_AND_MODELS = "BG510", "services-and-models", "A scope lists both `services` and `models`.";
    EMPTY_SERVICE_NAME = "BG511", "empty-service-name", "A scope lists an empty service name.";
    FILTER_VALUE_TOO_LONG = "BG512", "filter-value-too-long", "A service, region or tag value of a scope is longer than AWS Budgets filters on.";
    INVALID_ACCOUNT_ID = "BG513", "invalid-account-id", "A scope's account is not 12 digits.";
    INVALID_REGION = "BG514", "invalid-region", "A scope's region is not an AWS region code.";
    EMPTY_TAG_KEY = "BG515", "empty-tag-key", "A scope filters on an empty tag key.";
    TAG_KEY_TOO_LONG = "BG516", "tag-key-too-long", "A scope's tag key is longer than AWS Budgets filters on.";
    TAG_WITHOUT_VALUES = "BG517", "tag-without-values", "A scope's tag lists no values.";
    SCOPE_MISSES_DOWNGRADE = "BG518", "scope-misses-downgrade", "A budget steps a route down to a model its scope does not cover, so it stops counting the spend.";
    INVALID_ROLE_ARN = "BG519", "invalid-role-arn", "A scope's application `role` is not an IAM role ARN.";
    EMPTY_REQUEST_METADATA_KEY = "BG520", "empty-request-metadata-key", "A scope's application `request_metadata` lists no key, or an empty one.";
    INVALID_INFERENCE_PROFILE_ARN = "BG521", "invalid-inference-profile-arn", "A scope's application `inference_profile` is not an application inference profile ARN.";
    DUPLICATE_APPLICATION = "BG522", "duplicate-application", "A scope names the same application twice.";
    APPLICATION_NOT_ONE_SELECTOR = "BG523", "application-not-one-selector", "A scope's application gives none, or more than one, of `role`, `request_metadata` and `inference_profile`.";
    APPLICATIONS_NOT_WATCHED = "BG524", "applications-not-watched", "A budget names applications but is not watched: only the fast path reads them, and it counts watched budgets only.";

    INVALID_THRESHOLD = "BG601", "invalid-threshold", "A threshold's `at` is neither a percentage (`90%`) nor an amount (`$450`).";
    THRESHOLD_NOT_POSITIVE = "BG602", "threshold-not-positive", "A threshold is zero or less.";
    THRESHOLD_OVER_TEN_TIMES = "BG603", "threshold-over-ten-times", "A threshold is more than ten times the budget.";
    THRESHOLD_OVER_AWS_MAX = "BG604", "threshold-over-aws-max", "A threshold is more than AWS Budgets takes.";
    THRESHOLD_TOO_PRECISE = "BG605", "threshold-too-precise", "A threshold has more digits than AWS Budgets keeps.";
    DUPLICATE_THRESHOLD = "BG606", "duplicate-threshold", "Two thresholds of a budget are the same notification.";
    FORECAST_ON_DAILY = "BG607", "forecast-on-daily", "A daily budget's threshold is on forecasted spend, which AWS Budgets refuses.";
    THRESHOLD_DOES_NOTHING = "BG608", "threshold-does-nothing", "A threshold notifies no channel, downgrades no route and denies no role.";
    DOWNGRADE_WITHOUT_STOP = "BG609", "downgrade-without-stop", "A downgrade goes `to: stop` on a route whose ladder does not end with `stop`.";
    DOWNGRADE_STEP_OUT_OF_RANGE = "BG610", "downgrade-step-out-of-range", "A downgrade's step number is past the ladder's last step, or 0.";
    DOWNGRADE_TO_TOP = "BG611", "downgrade-to-top", "A downgrade goes to step 1, the top of the ladder, by number or by model.";
    DOWNGRADE_NOT_ON_LADDER = "BG612", "downgrade-not-on-ladder", "A downgrade's `to` is no step number, `cheapest`, `stop` or model of the ladder.";
    DENY_WITHOUT_ROLES = "BG613", "deny-without-roles", "A `deny` lists no roles.";
    DENY_TOO_MANY_ROLES = "BG614", "deny-too-many-roles", "A `deny` lists more roles than an AWS Budgets action takes.";
    DENY_ROLE_ARN = "BG615", "deny-role-arn", "A `deny` lists a role ARN where a role name belongs.";
    INVALID_ROLE_NAME = "BG616", "invalid-role-name", "A `deny` lists something that is not an IAM role name.";
    ROLE_LISTED_TWICE = "BG617", "role-listed-twice", "A `deny` lists the same role twice.";

    EMPTY_USE_CASE_NAME = "BG701", "empty-use-case-name", "A use case's name is empty or blank.";
    USE_CASE_NAME_TOO_LONG = "BG702", "use-case-name-too-long", "A use case's name is too long.";
    ROUTE_AND_MODEL = "BG703", "route-and-model", "A use case gives both a route and a model.";
    NO_ROUTE_OR_MODEL = "BG704", "no-route-or-model", "A use case gives neither a route nor a model.";
    ZERO_REQUESTS = "BG705", "zero-requests", "A use case serves 0 requests a day.";
    TOO_MANY_TOKENS = "BG706", "too-many-tokens", "A use case's request has more tokens than any model takes.";
    TOO_MANY_REQUESTS = "BG707", "too-many-requests", "A use case serves more than 1,000,000,000 requests a day.";
    ZERO_TOKEN_REQUEST = "BG708", "zero-token-request", "A use case's request has no input and no output tokens.";

    UNKNOWN_MODEL = "BG801", "unknown-model", "A model id has no price: not in the catalog, nor under `pricing` or `profiles`.";
    MODEL_ID_TOO_LONG = "BG802", "model-id-too-long", "A model id is longer than any Bedrock id or ARN.";
    MODEL_END_OF_LIFE = "BG803", "model-end-of-life", "A model has reached its end of life on Bedrock.";
    MODEL_LEGACY = "BG804", "model-legacy", "A model is legacy on Bedrock and will reach its end of life.";
    NEGATIVE_PRICE = "BG805", "negative-price", "A price under `pricing` is negative.";
    PRICE_TOO_HIGH = "BG806", "price-too-high", "A price under `pricing` is more than $1,000 per 1,000 tokens.";
    INVALID_PROFILE_ARN = "BG807", "invalid-profile-arn", "A key under `profiles` is not an application inference profile ARN.";
    SECOND_PRICE_CATALOG = "BG808", "second-price-catalog", "The policy has more than one price catalog file.";
    INVALID_PRICE_CATALOG = "BG809", "invalid-price-catalog", "The price catalog file beside the policy is not a valid catalog.";
}

/// The code of `code` (`BG301`) or name (`unknown-channel`), in any case.
pub fn find(code_or_name: &str) -> Option<Code> {
    ALL.iter().copied().find(|c| {
        c.code.eq_ignore_ascii_case(code_or_name) || c.name.eq_ignore_ascii_case(code_or_name)
    })
}

/// `docs/diagnostics.md`, byte for byte.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\n\
         <!-- Generated by `budget-guard codes > docs/diagnostics.md` from \
         crates/guard-core/src/policy/codes.rs; edit the table there. -->\n\n\
         Every error and warning of `budget-guard validate` carries a stable code, shown as \
         `file:line:col: error[BG301]: ...` in text and as `\"code\": \"BG301\"` in \
         `--format json`. A code names one problem and is never reused. \
         `budget-guard codes BG301` (or `codes unknown-channel`) explains one.\n",
    );
    for (prefix, title) in RANGES {
        out.push_str(&format!(
            "\n## {prefix}xx: {title}\n\n| Code | Name | Meaning |\n|---|---|---|\n"
        ));
        for c in ALL.iter().filter(|c| c.code.starts_with(prefix)) {
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                c.code, c.name, c.explanation
            ));
        }
    }
    out
}
