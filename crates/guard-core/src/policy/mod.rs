//! The policy: the YAML format (`raw`), loading in layers (`load`), the semantic checks
//! (`validate`) and the checked model everything else reads (`model`).

pub mod codes;
pub mod limits;
mod load;
pub mod model;
pub mod raw;
pub mod role_arn;
mod schema_check;
mod validate;
pub mod yaml_tree;

pub use load::{
    LoadOptions, MAX_FILE_BYTES, MAX_SHOWN_PER_FILE, PRICE_FILE_NAMES, Refusal, SourceFile,
    UnmappedProfiles, catalog_of, is_price_file, load, load_with, schema, schema_json,
};
pub use model::*;
pub use raw::{ALERT_HANDLER_STATE_DIR, PROFILES_PARAMETER, SPEND_WATCHER_STATE_DIR};
pub use validate::channels::is_email;
pub use validate::thresholds::parse_threshold;
pub use validate::{
    AMAZON_BEDROCK_SERVICE, MAX_AMOUNT, MAX_BUDGET_NAME, MAX_EMAILS_PER_NOTIFICATION,
    MAX_PRICE_PER_1K, MAX_REQUESTS_PER_DAY, MAX_THRESHOLDS, MAX_TOKENS_PER_REQUEST,
};
