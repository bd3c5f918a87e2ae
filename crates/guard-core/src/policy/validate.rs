//! The semantic layer: names that must exist, numbers that must make sense, the limits of AWS
//! Budgets. It turns the raw files into the checked `Policy`, reporting every problem at the place
//! in the file that causes it.

mod ladder;

use super::codes;
use super::limits::{self, budget_name_problem};
use super::load::{LoadOptions, ParsedFile, UnmappedProfiles};
use super::model::{
    BudgetSpec, ChannelSpec, DowngradeSpec, Policy, RouteSpec, ScopeSpec, ThresholdSpec,
    ThresholdType, UseCaseSpec,
};
use super::raw::{Basis, Budget, Channel, ChatbotChannel, Route, Settings, Threshold, UseCase};
use super::schema_check::did_you_mean;
use super::yaml_tree::{Node, Seg};
use crate::diagnostic::{Code, Diagnostic, Severity, Span};
use crate::period::Period;
use crate::prices::{
    Catalog, Lifecycle, ModelPrice, PROFILE_PREFIXES, PriceOverride, split_profile,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

/// AWS Budgets: at most 10 notifications per budget, budget names up to 100 characters (see
/// `limits` for the service model these come from).
pub const MAX_THRESHOLDS: usize = limits::NOTIFICATIONS_PER_BUDGET_MAX;
pub const MAX_BUDGET_NAME: usize = limits::BUDGET_NAME_MAX_CHARS;
/// Distinct email addresses one threshold reaches. Emails go out through the notify topic, not as
/// Budgets subscribers, but AWS Budgets' own limit (10 email subscribers per notification) is the
/// one people expect; a larger list belongs on a mailing list.
pub const MAX_EMAILS_PER_NOTIFICATION: usize = 10;

pub const AMAZON_BEDROCK_SERVICE: &str = "Amazon Bedrock";

/// Bounds on usage and prices, far above any real figure, that keep every estimate well inside
/// `Decimal` (a year of the largest use case at the dearest price is about 1e19 USD, against a
/// limit near 8e28), so that arithmetic on a checked policy cannot overflow.
pub const MAX_TOKENS_PER_REQUEST: u64 = 10_000_000;
pub const MAX_REQUESTS_PER_DAY: u64 = 1_000_000_000;
pub const MAX_PRICE_PER_1K: u64 = 1_000;
/// A budget amount in USD per period.
pub const MAX_AMOUNT: u64 = 1_000_000_000_000;

/// Diagnostics kept per file; the loader shows fewer still (`MAX_SHOWN_PER_FILE`).
const MAX_COLLECTED_PER_FILE: usize = 1_000;

fn key(s: &str) -> Seg {
    Seg::Key(s.to_owned())
}

/// Where something was written: which file, and the path to it in that file.
#[derive(Clone)]
struct Origin {
    file: usize,
    path: Vec<Seg>,
}

impl Origin {
    fn join(&self, segs: impl IntoIterator<Item = Seg>) -> Origin {
        let mut path = self.path.clone();
        path.extend(segs);
        Origin {
            file: self.file,
            path,
        }
    }
}

struct Ctx<'a> {
    files: &'a [ParsedFile<'a>],
    /// Per file, the entries of each top-level section by name: sections can hold thousands of
    /// names, and looking each one up by a walk of its section made validation quadratic.
    index: Vec<SectionIndex<'a>>,
    /// Errors pushed so far, so that checks can tell whether they added any without a count.
    errors: usize,
    /// Per file, the diagnostics kept and those only counted past `MAX_COLLECTED_PER_FILE`.
    collected: Vec<usize>,
    dropped: Vec<usize>,
    /// False when some file of the policy could not be read: names it defines are then unknown,
    /// and reporting references to them would only be noise beside that file's own errors.
    complete: bool,
    /// Whether an application inference profile ARN without a `profiles:` entry waits for the
    /// stack to resolve it (a warning) or is an unknown model (an error).
    unmapped_profiles: UnmappedProfiles,
    out: &'a mut Vec<Diagnostic>,
}

type SectionIndex<'a> = HashMap<&'a str, HashMap<&'a str, (&'a Node, &'a Node)>>;

fn index_sections<'a>(tree: &'a Node) -> SectionIndex<'a> {
    let mut index: SectionIndex<'a> = HashMap::new();
    for (section, entries) in tree.entries() {
        let Some(section) = section.scalar() else {
            continue;
        };
        let names = index.entry(section).or_default();
        for (key, value) in entries.entries() {
            if let Some(name) = key.scalar() {
                // The first wins, as in the tree's own lookup; duplicates are reported elsewhere.
                names.entry(name).or_insert((key, value));
            }
        }
    }
    index
}

impl<'a> Ctx<'a> {
    /// The key and value nodes at `path`, through the section index for the first two steps.
    fn lookup(&self, file: usize, path: &[Seg]) -> Option<(Option<&'a Node>, &'a Node)> {
        let tree: &'a Node = &self.files[file].tree;
        match path {
            [] => Some((None, tree)),
            [Seg::Key(section), Seg::Key(name), rest @ ..] => {
                let (key, value) = *self.index[file].get(section.as_str())?.get(name.as_str())?;
                if rest.is_empty() {
                    return Some((Some(key), value));
                }
                let (last, middle) = rest.split_last()?;
                let parent = value.at(middle)?;
                match last {
                    Seg::Key(k) => parent.entry(k).map(|(k, v)| (Some(k), v)),
                    Seg::Index(i) => parent.items().get(*i).map(|v| (None, v)),
                }
            }
            _ => {
                let (last, parent) = path.split_last()?;
                let parent = tree.at(parent)?;
                match last {
                    Seg::Key(k) => parent.entry(k).map(|(k, v)| (Some(k), v)),
                    Seg::Index(i) => parent.items().get(*i).map(|v| (None, v)),
                }
            }
        }
    }

    /// The span of the value at `origin`, or of its key, or of the nearest parent that exists.
    fn span(&self, origin: &Origin) -> Span {
        let mut path = origin.path.as_slice();
        loop {
            if let Some((_, node)) = self.lookup(origin.file, path) {
                return node.span;
            }
            match path.split_last() {
                Some((_, parent)) => path = parent,
                None => return Span::start(),
            }
        }
    }

    /// The span of the key that introduces `origin` (the item itself for a list item).
    fn key_span(&self, origin: &Origin) -> Span {
        match self.lookup(origin.file, &origin.path) {
            Some((Some(key), _)) => key.span,
            Some((None, node)) => node.span,
            None => self.span(origin),
        }
    }

    fn text(&self, origin: &Origin) -> Option<&'a str> {
        self.lookup(origin.file, &origin.path)
            .and_then(|(_, n)| n.scalar())
    }

    fn error(
        &mut self,
        code: Code,
        origin: &Origin,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let span = self.span(origin);
        self.push(
            code,
            origin,
            span,
            message.into(),
            help.into(),
            Severity::Error,
        );
    }

    /// A reference to a name no file defines; only an error when every file could be read.
    fn unresolved(
        &mut self,
        code: Code,
        origin: &Origin,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        if self.complete {
            self.error(code, origin, message, help);
        }
    }

    fn error_at_key(
        &mut self,
        code: Code,
        origin: &Origin,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let span = self.key_span(origin);
        self.push(
            code,
            origin,
            span,
            message.into(),
            help.into(),
            Severity::Error,
        );
    }

    fn warning(
        &mut self,
        code: Code,
        origin: &Origin,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let span = self.key_span(origin);
        self.push(
            code,
            origin,
            span,
            message.into(),
            help.into(),
            Severity::Warning,
        );
    }

    fn push(
        &mut self,
        code: Code,
        origin: &Origin,
        span: Span,
        message: String,
        help: String,
        severity: Severity,
    ) {
        let mut d = Diagnostic::error(code, self.files[origin.file].name, span, message);
        d.severity = severity;
        if !help.is_empty() {
            d.help = Some(help);
        }
        if severity == Severity::Error {
            self.errors += 1;
        }
        // Past a bound per file, findings are only counted: a file with thousands of the same
        // mistake (a list anchored once and aliased everywhere) must not cost seconds to report.
        let collected = &mut self.collected[origin.file];
        if *collected >= MAX_COLLECTED_PER_FILE {
            self.dropped[origin.file] += 1;
            return;
        }
        *collected += 1;
        self.out.push(d);
    }

    fn location(&self, origin: &Origin) -> String {
        let span = self.key_span(origin);
        format!(
            "{}:{}:{}",
            self.files[origin.file].name, span.line, span.column
        )
    }
}

/// Names merged across files, each with where it was written.
struct Merged<'a, T> {
    items: BTreeMap<&'a str, (Origin, &'a T)>,
}

fn merge<'a, T>(
    ctx: &mut Ctx<'_>,
    section: &str,
    what: &str,
    pick: impl Fn(&'a ParsedFile<'a>) -> &'a BTreeMap<String, T>,
    files: &'a [ParsedFile<'a>],
) -> Merged<'a, T> {
    let mut items: BTreeMap<&'a str, (Origin, &'a T)> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        for (name, item) in pick(file) {
            let origin = Origin {
                file: i,
                path: vec![key(section), key(name)],
            };
            if let Some((first, _)) = items.get(name.as_str()) {
                let first_at = ctx.location(first);
                ctx.error_at_key(
                    codes::DUPLICATE_NAME,
                    &origin,
                    format!("{what} `{name}` is defined twice"),
                    format!("the first `{name}` is at {first_at}; names are unique across all files of a policy"),
                );
            } else {
                items.insert(name, (origin, item));
            }
        }
    }
    Merged { items }
}

/// Checks the files together. Returns the policy when there is no error, and per file the count
/// of diagnostics that were found but not kept.
pub(crate) fn validate(
    files: &[ParsedFile<'_>],
    complete: bool,
    catalog_prices: &BTreeMap<String, ModelPrice>,
    options: LoadOptions,
    out: &mut Vec<Diagnostic>,
) -> (Option<Policy>, Vec<usize>) {
    let index = files.iter().map(|f| index_sections(&f.tree)).collect();
    let mut ctx = Ctx {
        files,
        index,
        errors: 0,
        collected: vec![0; files.len()],
        dropped: vec![0; files.len()],
        complete,
        unmapped_profiles: options.unmapped_profiles,
        out,
    };

    for (i, file) in files.iter().enumerate() {
        if file.file.version != 1 {
            ctx.error(
                codes::UNSUPPORTED_VERSION,
                &Origin {
                    file: i,
                    path: vec![key("version")],
                },
                format!("unsupported policy version {}", file.file.version),
                "this Budget Guard reads `version: 1`",
            );
        }
    }

    let (settings, prefix_ok) = check_settings(&mut ctx, files);
    let pricing = merge(
        &mut ctx,
        "pricing",
        "price of model",
        |f| &f.file.pricing,
        files,
    );
    for (model, (origin, _)) in &pricing.items {
        check_model_id_length(&mut ctx, origin, model, true);
    }
    // Prices exactly as written: serde reads a YAML number through an f64, which keeps about 16
    // significant digits; the text keeps them all.
    let mut exact_prices: BTreeMap<&str, PriceOverride> = BTreeMap::new();
    for (model, (origin, price)) in &pricing.items {
        let mut exact = (*price).clone();
        let text = |field: &str| {
            ctx.text(&origin.join([key(field)]))
                .and_then(|t| parse_amount(t).ok())
        };
        if let Some(v) = text("input_per_1k") {
            exact.input_per_1k = v;
        }
        if let Some(v) = text("output_per_1k") {
            exact.output_per_1k = v;
        }
        for (field, slot) in [
            ("cache_read_per_1k", &mut exact.cache_read_per_1k),
            ("cache_write_per_1k", &mut exact.cache_write_per_1k),
            ("batch_input_per_1k", &mut exact.batch_input_per_1k),
            ("batch_output_per_1k", &mut exact.batch_output_per_1k),
        ] {
            if slot.is_some() {
                if let Some(v) = text(field) {
                    *slot = Some(v);
                }
            }
        }
        exact_prices.insert(model, exact);
    }
    for (model, (origin, _)) in &pricing.items {
        let price = &exact_prices[model];
        let terms = [
            ("input_per_1k", Some(price.input_per_1k)),
            ("output_per_1k", Some(price.output_per_1k)),
            ("cache_read_per_1k", price.cache_read_per_1k),
            ("cache_write_per_1k", price.cache_write_per_1k),
            ("batch_input_per_1k", price.batch_input_per_1k),
            ("batch_output_per_1k", price.batch_output_per_1k),
        ];
        for (field, value) in terms {
            if value.is_some_and(|v| v.is_sign_negative()) {
                ctx.error(
                    codes::NEGATIVE_PRICE,
                    &origin.join([key(field)]),
                    format!("price `{field}` of `{model}` is negative"),
                    "prices are USD per 1,000 tokens, zero or more",
                );
            } else if value.is_some_and(|v| v > Decimal::from(MAX_PRICE_PER_1K)) {
                ctx.error(
                    codes::PRICE_TOO_HIGH,
                    &origin.join([key(field)]),
                    format!("price `{field}` of `{model}` is more than ${MAX_PRICE_PER_1K} per 1,000 tokens"),
                    "prices are USD per 1,000 tokens; Bedrock's dearest model costs well under $1",
                );
            }
        }
    }
    let catalog = Catalog::bundled()
        .with_overrides(catalog_prices.values().cloned())
        .with_policy_overrides(
            exact_prices
                .iter()
                .map(|(model, price)| (*model, price.clone())),
        );
    let mut prices: BTreeMap<String, ModelPrice> = pricing
        .items
        .keys()
        .filter_map(|model| catalog.get(model).map(|p| ((*model).to_owned(), p.clone())))
        .collect();
    // Application inference profiles: each ARN is priced as the model it runs.
    let profiles = merge(
        &mut ctx,
        "profiles",
        "inference profile",
        |f| &f.file.profiles,
        files,
    );
    for (arn, (origin, model)) in &profiles.items {
        if let Some(problem) = application_profile_arn_problem(arn) {
            ctx.error_at_key(
                codes::INVALID_PROFILE_ARN,
                origin,
                format!("`{arn}` is not an application inference profile ARN: {problem}"),
                "write the profile's ARN, `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`, as `aws bedrock list-inference-profiles --type-equals APPLICATION` shows it",
            );
            continue;
        }
        match catalog.resolve(model) {
            Some(resolved) if !model.starts_with("arn:") => {
                check_lifecycle(&mut ctx, origin, model, &resolved.price);
                let price = ModelPrice {
                    model_id: (*arn).to_owned(),
                    note: Some(format!("application inference profile of {model}")),
                    profiles: BTreeMap::new(),
                    ..resolved.price
                };
                prices.insert((*arn).to_owned(), price);
            }
            _ => unknown_model(&mut ctx, origin, model, &catalog),
        }
    }
    let catalog = catalog.with_overrides(
        profiles
            .items
            .keys()
            .filter_map(|arn| prices.get(*arn).cloned()),
    );

    let channels = merge(&mut ctx, "channels", "channel", |f| &f.file.channels, files);
    let channel_specs = check_channels(&mut ctx, &channels);
    let routes = merge(&mut ctx, "routes", "route", |f| &f.file.routes, files);
    let route_specs = check_routes(&mut ctx, &routes, &settings, &catalog);
    let budgets = merge(&mut ctx, "budgets", "budget", |f| &f.file.budgets, files);

    let all_models: BTreeSet<String> = route_specs
        .values()
        .flat_map(|r| r.ladder.iter().cloned())
        .chain(
            budgets
                .items
                .values()
                .flat_map(|(_, b)| b.usage.iter().filter_map(|u| u.model.clone())),
        )
        .collect();

    if budgets.items.len() > limits::BUDGETS_PER_ACCOUNT_MAX {
        // At the first budget past the quota, in name order.
        if let Some((name, (origin, _))) = budgets.items.iter().nth(limits::BUDGETS_PER_ACCOUNT_MAX)
        {
            ctx.error_at_key(
                codes::TOO_MANY_BUDGETS,
                origin,
                format!(
                    "the policy defines {} budgets; `{name}` is past the first {}",
                    budgets.items.len(),
                    limits::BUDGETS_PER_ACCOUNT_MAX
                ),
                format!(
                    "AWS allows at most {} budgets per account, the account's other budgets included",
                    limits::BUDGETS_PER_ACCOUNT_MAX
                ),
            );
        }
    }
    let mut budget_specs = BTreeMap::new();
    for (name, (origin, budget)) in &budgets.items {
        if let Some(spec) = check_budget(
            &mut ctx,
            name,
            origin,
            budget,
            &settings,
            prefix_ok,
            &channel_specs,
            &route_specs,
            &catalog,
            &all_models,
        ) {
            budget_specs.insert((*name).to_owned(), spec);
        }
    }

    if let Some(file) = files.iter().position(|f| f.file.settings.is_some()) {
        let distinct: BTreeSet<&String> = settings.unmatched_notify.iter().collect();
        if distinct.len() > limits::CHANNELS_PER_JOB_MAX {
            ctx.error_at_key(
                codes::TOO_MANY_CHANNELS,
                &Origin {
                    file,
                    path: vec![key("settings"), key("unmatched_notify")],
                },
                format!("`unmatched_notify` names {} channels", distinct.len()),
                format!(
                    "at most {} channels: the alert handler's record of an alert lists them, and it must fit one SSM parameter",
                    limits::CHANNELS_PER_JOB_MAX
                ),
            );
        }
        for (i, channel) in settings.unmatched_notify.iter().enumerate() {
            if !channel_specs.contains_key(channel) {
                let at = Origin {
                    file,
                    path: vec![key("settings"), key("unmatched_notify"), Seg::Index(i)],
                };
                ctx.error(
                    codes::UNKNOWN_CHANNEL,
                    &at,
                    format!("channel `{channel}` is not defined"),
                    format!(
                        "define `{channel}` under `channels:`, or use one of: {}",
                        list(channel_specs.keys())
                    ),
                );
            }
        }
    }
    let route_origins: BTreeMap<&str, &Origin> = routes
        .items
        .iter()
        .map(|(name, (origin, _))| (*name, origin))
        .collect();
    let budget_origins: BTreeMap<&str, &Origin> = budgets
        .items
        .iter()
        .map(|(name, (origin, _))| (*name, origin))
        .collect();
    ladder::check_costs(
        &mut ctx,
        &route_origins,
        &route_specs,
        &budget_specs,
        &catalog,
    );
    ladder::check_scopes_follow(&mut ctx, &budget_origins, &route_specs, &budget_specs);
    check_alarms(&mut ctx, files, &settings, &channel_specs);
    for (route, (origin, _)) in &routes.items {
        let downgrades = budget_specs
            .values()
            .flat_map(|b: &BudgetSpec| b.thresholds.iter())
            .filter(|t| t.downgrade.as_ref().is_some_and(|d| d.route == *route))
            .count();
        if downgrades > crate::ledger::MAX_DOWNGRADES_PER_ROUTE {
            ctx.error_at_key(
                codes::TOO_MANY_DOWNGRADES,
                origin,
                format!("{downgrades} thresholds step route `{route}` down"),
                format!(
                    "a route may be stepped down by at most {} thresholds of all budgets, so that the alert handler's record of it fits one SSM parameter",
                    crate::ledger::MAX_DOWNGRADES_PER_ROUTE
                ),
            );
        }
        // A roll-over of the route tells every channel of those thresholds in one job.
        let told: BTreeSet<&String> = budget_specs
            .values()
            .flat_map(|b: &BudgetSpec| b.thresholds.iter())
            .filter(|t| t.downgrade.as_ref().is_some_and(|d| d.route == *route))
            .flat_map(|t| t.notify.iter())
            .collect();
        if told.len() > limits::CHANNELS_PER_JOB_MAX {
            ctx.error_at_key(
                codes::TOO_MANY_CHANNELS,
                origin,
                format!(
                    "the thresholds that step route `{route}` down notify {} channels",
                    told.len()
                ),
                format!(
                    "at most {} channels together: the alert handler tells them all when the route moves back, in one record that must fit an SSM parameter",
                    limits::CHANNELS_PER_JOB_MAX
                ),
            );
        }
    }

    let errors_after = ctx.errors;
    let errors_before = 0;
    let dropped = std::mem::take(&mut ctx.dropped);
    let policy = (errors_after == errors_before).then_some(Policy {
        settings,
        channels: channel_specs,
        routes: route_specs,
        budgets: budget_specs,
        pricing: prices,
        catalog_prices: catalog_prices.clone(),
    });
    (policy, dropped)
}

/// The settings in force, and whether `budget_prefix` is usable (when it is not, the budgets' full
/// names are not checked: every one would repeat the prefix's error).
fn check_settings(ctx: &mut Ctx<'_>, files: &[ParsedFile<'_>]) -> (Settings, bool) {
    let mut chosen: Option<(usize, &Settings)> = None;
    for (i, file) in files.iter().enumerate() {
        if let Some(settings) = &file.file.settings {
            match chosen {
                Some((first, _)) => {
                    let first_at = ctx.location(&Origin {
                        file: first,
                        path: vec![key("settings")],
                    });
                    ctx.error_at_key(
                        codes::SETTINGS_REPEATED,
                        &Origin {
                            file: i,
                            path: vec![key("settings")],
                        },
                        "`settings` appear in more than one file",
                        format!("keep one `settings` section (the first is at {first_at})"),
                    );
                }
                None => chosen = Some((i, settings)),
            }
        }
    }
    let Some((file, settings)) = chosen else {
        return (Settings::default(), true);
    };
    let at = |field: &str| Origin {
        file,
        path: vec![key("settings"), key(field)],
    };
    let prefix = &settings.budget_prefix;
    let errors_before = ctx.errors;
    let prefix_chars = prefix.chars().count();
    if prefix.is_empty() {
        ctx.error(codes::EMPTY_BUDGET_PREFIX, &at("budget_prefix"), "`budget_prefix` is empty", "the prefix marks the budgets the guard owns; without one it would own every budget of the account");
    } else if prefix_chars > limits::BUDGET_PREFIX_MAX_CHARS {
        ctx.error(
            codes::BUDGET_PREFIX_TOO_LONG,
            &at("budget_prefix"),
            format!("`budget_prefix` is {prefix_chars} characters long"),
            format!(
                "at most {} characters, so that budget names keep room within AWS's {} (the prefix is part of every budget's name)",
                limits::BUDGET_PREFIX_MAX_CHARS,
                limits::BUDGET_NAME_MAX_CHARS
            ),
        );
    } else if crate::text::json_len(prefix) > limits::BUDGET_PREFIX_MAX_STORED_BYTES {
        ctx.error(
            codes::BUDGET_PREFIX_TOO_MANY_BYTES,
            &at("budget_prefix"),
            format!(
                "`budget_prefix` takes {} bytes as stored",
                crate::text::json_len(prefix)
            ),
            format!(
                "at most {} bytes (a letter of the English alphabet takes 1, `é` 2, most emoji 4): the alert handler keeps budget names in records of one SSM parameter",
                limits::BUDGET_PREFIX_MAX_STORED_BYTES
            ),
        );
    } else if let Some(problem) = budget_name_problem(prefix) {
        ctx.error(
            codes::INVALID_BUDGET_PREFIX,
            &at("budget_prefix"),
            format!("`budget_prefix` {problem}"),
            "the prefix starts every AWS budget name, and AWS budget names cannot contain `:`, `\\`, `/action/`, or `<script>` with `</script>`",
        );
    }
    let prefix_ok = ctx.errors == errors_before;
    if let Some(owner) = &settings.owner
        && let Err(problem) = check_owner(owner)
    {
        ctx.error(
            codes::INVALID_OWNER,
            &at("owner"),
            format!("`owner` {problem}"),
            "write the deployment's name, e.g. its stack name: up to 256 letters, digits, spaces and `_.:/=+-@` (an AWS tag value)",
        );
    }
    if settings.currency != "USD" {
        ctx.error(
            codes::UNSUPPORTED_CURRENCY,
            &at("currency"),
            format!("currency `{}` is not supported", settings.currency),
            "AWS Budgets for Bedrock spend are in USD; write `currency: USD`",
        );
    }
    for (field, value, below) in [
        ("flags_path", &settings.flags_path, 1),
        ("state_path", &settings.state_path, limits::STATE_KEY_LEVELS),
    ] {
        if !is_ssm_path(value) {
            ctx.error(codes::INVALID_SSM_PATH, &at(field), format!("`{field}` `{value}` is not an SSM parameter path"), "write a path that starts and ends with `/`, e.g. `/budget-guard/routes/`, of letters, digits and `_.-/`");
        } else if value.len() > limits::SSM_PATH_MAX_CHARS {
            ctx.error(
                codes::SSM_PATH_TOO_LONG,
                &at(field),
                format!("`{field}` is {} characters long", value.len()),
                format!(
                    "at most {} characters, so that the parameters under it stay within SSM's limit on names",
                    limits::SSM_PATH_MAX_CHARS
                ),
            );
        } else if levels(value) + below > limits::SSM_PARAMETER_MAX_LEVELS {
            ctx.error(
                codes::SSM_PATH_TOO_DEEP,
                &at(field),
                format!("`{field}` is {} levels deep", levels(value)),
                format!(
                    "SSM parameter names are at most {} levels deep, and the guard's parameters go {below} below `{field}`",
                    limits::SSM_PARAMETER_MAX_LEVELS
                ),
            );
        }
    }
    let (flags, state) = (&settings.flags_path, &settings.state_path);
    if flags == state {
        ctx.error(
            codes::OVERLAPPING_PATHS,
            &at("state_path"),
            "`state_path` is the same as `flags_path`",
            "keep the guard's own state apart from the routing flags that applications read",
        );
    } else if state.starts_with(flags.as_str()) {
        ctx.error(
            codes::OVERLAPPING_PATHS,
            &at("state_path"),
            format!("`state_path` `{state}` is inside `flags_path` `{flags}`"),
            NESTED_PATHS_HELP,
        );
    } else if flags.starts_with(state.as_str()) {
        ctx.error(
            codes::OVERLAPPING_PATHS,
            &at("flags_path"),
            format!("`flags_path` `{flags}` is inside `state_path` `{state}`"),
            NESTED_PATHS_HELP,
        );
    }
    (settings.clone(), prefix_ok)
}

const NESTED_PATHS_HELP: &str = "neither path may contain the other: applications are granted read access to everything under `flags_path`, and the guard's own records live under `state_path`. Use sibling paths such as `/budget-guard/routes/` and `/budget-guard/state/`";

/// The levels of an SSM name or path: `/a/b/` and `/a/b` are two.
fn levels(path: &str) -> usize {
    path.split('/').filter(|s| !s.is_empty()).count()
}

/// An owner name must be a valid AWS tag value, and not empty.
pub fn check_owner(owner: &str) -> Result<(), String> {
    if owner.trim().is_empty() {
        return Err("is empty".into());
    }
    if owner.chars().count() > 256 {
        return Err(format!(
            "is {} characters long; a tag value has at most 256",
            owner.chars().count()
        ));
    }
    match owner
        .chars()
        .find(|c| !(c.is_alphanumeric() || " _.:/=+-@".contains(*c)))
    {
        Some(bad) => Err(format!("contains `{}`", bad.escape_default())),
        None => Ok(()),
    }
}

fn is_ssm_path(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && path.ends_with('/')
        && !path.contains("//")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
}

fn check_channels(
    ctx: &mut Ctx<'_>,
    channels: &Merged<'_, Channel>,
) -> BTreeMap<String, ChannelSpec> {
    let mut specs = BTreeMap::new();
    // SNS keeps one subscription per topic, protocol and address, so an address can belong to one
    // email channel only: a second subscription with another filter policy is refused.
    let mut owner_of: BTreeMap<String, String> = BTreeMap::new();
    for (name, (origin, channel)) in &channels.items {
        check_name(ctx, origin, "channel", name);
        match (&channel.slack, &channel.email) {
            (Some(slack), None) => {
                let secret = slack.webhook_secret.trim();
                let at = origin.join([key("slack"), key("webhook_secret")]);
                if secret.starts_with("https://")
                    || secret.starts_with("http://")
                    || secret.contains("hooks.slack.com")
                {
                    ctx.error(codes::WEBHOOK_SECRET_IS_URL, &at, "`webhook_secret` holds a URL", "put the webhook URL into a Secrets Manager secret and write the secret's name here; a URL in git is a leaked credential");
                } else if secret.is_empty()
                    || secret.len() > limits::SECRET_NAME_MAX_CHARS
                    || !secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
                {
                    ctx.error(
                        codes::INVALID_SECRET_NAME,
                        &at,
                        format!("`{secret}` is not a Secrets Manager secret name"),
                        format!(
                            "secret names use letters, digits and `/_+=.@-`, up to {} characters",
                            limits::SECRET_NAME_MAX_CHARS
                        ),
                    );
                }
                if let Some(chatbot) = &slack.chatbot {
                    check_chatbot(ctx, &origin.join([key("slack"), key("chatbot")]), chatbot);
                }
                specs.insert(
                    (*name).to_owned(),
                    ChannelSpec::Slack {
                        webhook_secret: secret.to_owned(),
                        chatbot: slack.chatbot.clone(),
                    },
                );
            }
            (None, Some(emails)) => {
                if emails.is_empty() {
                    ctx.error(
                        codes::EMPTY_EMAIL_CHANNEL,
                        &origin.join([key("email")]),
                        format!("email channel `{name}` has no addresses"),
                        "list at least one address",
                    );
                }
                if emails.len() > MAX_EMAILS_PER_NOTIFICATION {
                    ctx.error_at_key(codes::TOO_MANY_EMAIL_ADDRESSES, &origin.join([key("email")]), format!("email channel `{name}` has {} addresses", emails.len()), format!("AWS Budgets allows at most {MAX_EMAILS_PER_NOTIFICATION} email subscribers per notification; use a mailing list address"));
                }
                let mut seen = BTreeSet::new();
                for (i, email) in emails.iter().enumerate() {
                    let at = origin.join([key("email"), Seg::Index(i)]);
                    if !is_email(email) {
                        ctx.error(
                            codes::INVALID_EMAIL,
                            &at,
                            format!("`{email}` is not a valid email address"),
                            "write an address like `finops@example.com`",
                        );
                    } else if !seen.insert(email.to_lowercase()) {
                        ctx.error(
                            codes::EMAIL_LISTED_TWICE,
                            &at,
                            format!("`{email}` is listed twice"),
                            "list each address once",
                        );
                    } else if let Some(other) =
                        owner_of.insert(email.to_lowercase(), (*name).to_owned())
                    {
                        ctx.error(
                            codes::EMAIL_IN_TWO_CHANNELS,
                            &at,
                            format!("`{email}` is in email channels `{other}` and `{name}`"),
                            "an address can be in one email channel: SNS keeps one subscription per address on the notify topic. Notify both channels' thresholds through one channel",
                        );
                    }
                }
                specs.insert(
                    (*name).to_owned(),
                    ChannelSpec::Email {
                        addresses: emails.clone(),
                    },
                );
            }
            (Some(_), Some(_)) => ctx.error_at_key(
                codes::CHANNEL_BOTH_KINDS,
                origin,
                format!("channel `{name}` is both Slack and email"),
                "a channel is either `slack:` or `email:`; make two channels",
            ),
            (None, None) => ctx.error_at_key(
                codes::CHANNEL_NO_KIND,
                origin,
                format!("channel `{name}` says neither `slack` nor `email`"),
                "add `slack: {webhook_secret: <secret name>}` or `email: [address, ...]`",
            ),
        }
    }
    specs
}

/// The ids of a Slack channel in AWS Chatbot, as CloudFormation's
/// `AWS::Chatbot::SlackChannelConfiguration` takes them (`SlackWorkspaceId` `^[0-9A-Z]{1,255}$`,
/// `SlackChannelId` `^[A-Za-z0-9]+$` up to 255 characters): a mistake here would otherwise only
/// show in the middle of a deploy.
fn check_chatbot(ctx: &mut Ctx<'_>, origin: &Origin, chatbot: &ChatbotChannel) {
    let workspace = &chatbot.workspace_id;
    if workspace.is_empty()
        || workspace.len() > 255
        || !workspace
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        ctx.error(
            codes::INVALID_SLACK_WORKSPACE_ID,
            &origin.join([key("workspace_id")]),
            format!("`{workspace}` is not a Slack workspace id"),
            "copy the workspace id (capital letters and digits, like `T0123ABCDE`) from the AWS Chatbot console after authorising the workspace",
        );
    }
    let channel = &chatbot.channel_id;
    if channel.is_empty()
        || channel.len() > 255
        || !channel.chars().all(|c| c.is_ascii_alphanumeric())
    {
        ctx.error(
            codes::INVALID_SLACK_CHANNEL_ID,
            &origin.join([key("channel_id")]),
            format!("`{channel}` is not a Slack channel id"),
            "the channel id is the last part of the channel's link (Copy link in Slack), like `C0123ABCDE`",
        );
    }
}

/// `settings.alarms`: every name a channel, each once, a Slack channel with its Chatbot ids (the
/// guard's alarms reach Slack through AWS Chatbot, never through the alert handler that may be
/// the thing failing). With no alarm channel at all, a warning: the alarms would reach nobody.
fn check_alarms(
    ctx: &mut Ctx<'_>,
    files: &[ParsedFile<'_>],
    settings: &Settings,
    channels: &BTreeMap<String, ChannelSpec>,
) {
    let settings_file = files.iter().position(|f| f.file.settings.is_some());
    if let Some(file) = settings_file {
        let mut seen = BTreeSet::new();
        for (i, channel) in settings.alarms.iter().enumerate() {
            let at = Origin {
                file,
                path: vec![key("settings"), key("alarms"), Seg::Index(i)],
            };
            if !seen.insert(channel.as_str()) {
                ctx.error(
                    codes::CHANNEL_LISTED_TWICE,
                    &at,
                    format!("channel `{channel}` is listed twice"),
                    "list each channel once",
                );
                continue;
            }
            match channels.get(channel) {
                None => ctx.unresolved(
                    codes::UNKNOWN_CHANNEL,
                    &at,
                    format!("channel `{channel}` is not defined"),
                    format!(
                        "define `{channel}` under `channels:`, or use one of: {}",
                        list(channels.keys())
                    ),
                ),
                Some(ChannelSpec::Slack { chatbot: None, .. }) => ctx.error(
                    codes::ALARM_SLACK_WITHOUT_CHATBOT,
                    &at,
                    format!("Slack channel `{channel}` has no `chatbot:` ids for the guard's alarms"),
                    format!("alarms reach Slack through AWS Chatbot, which works when the guard's own functions do not: authorise the workspace once in the AWS Chatbot console, then add `chatbot: {{workspace_id: T..., channel_id: C...}}` under `channels.{channel}.slack`"),
                ),
                Some(_) => {}
            }
        }
    }
    // Only about a policy read whole and valid: `settings` may sit in a file that could not be
    // read, and a policy with errors has more pressing news.
    if settings.alarms.is_empty() && ctx.errors == 0 && ctx.complete && !files.is_empty() {
        let at = match settings_file {
            Some(file) => Origin {
                file,
                path: vec![key("settings")],
            },
            None => Origin {
                file: 0,
                path: vec![key("version")],
            },
        };
        ctx.warning(
            codes::NO_ALARM_CHANNEL,
            &at,
            "no channel is named in `settings.alarms`: the guard's own alarms reach nobody",
            "a failing function, a stopped spend watcher or events left in the dead-letter queue raise CloudWatch alarms; name an email or Slack channel to receive them, e.g. `settings: {alarms: [finops]}`",
        );
    }
}

pub fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn check_name(ctx: &mut Ctx<'_>, origin: &Origin, what: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= limits::NAME_MAX_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        ctx.error_at_key(
            codes::INVALID_NAME,
            origin,
            format!("{what} name `{name}` is not allowed"),
            format!(
                "names use letters, digits, `-` and `_`, up to {} characters",
                limits::NAME_MAX_CHARS
            ),
        );
    }
}

/// A model id longer than any Bedrock id or ARN: an error, and true, so that the caller does not
/// look it up as well. `key` when the id is a map key (pricing) rather than a value.
fn check_model_id_length(ctx: &mut Ctx<'_>, at: &Origin, model: &str, key: bool) -> bool {
    let chars = model.chars().count();
    if chars <= limits::MODEL_ID_MAX_CHARS {
        return false;
    }
    let message = format!("model id `{model}` is {chars} characters long");
    let help = format!(
        "Bedrock model ids and inference profile ARNs are at most {} characters here",
        limits::MODEL_ID_MAX_CHARS
    );
    if key {
        ctx.error_at_key(codes::MODEL_ID_TOO_LONG, at, message, help);
    } else {
        ctx.error(codes::MODEL_ID_TOO_LONG, at, message, help);
    }
    true
}

fn check_routes(
    ctx: &mut Ctx<'_>,
    routes: &Merged<'_, Route>,
    settings: &Settings,
    catalog: &Catalog,
) -> BTreeMap<String, RouteSpec> {
    let mut specs = BTreeMap::new();
    let mut parameters: BTreeMap<String, String> = BTreeMap::new();
    for (name, (origin, route)) in &routes.items {
        check_name(ctx, origin, "route", name);
        if route.ladder.is_empty() {
            ctx.error(
                codes::EMPTY_LADDER,
                &origin.join([key("ladder")]),
                format!("route `{name}` has an empty ladder"),
                "list model ids from the most capable to the cheapest",
            );
        }
        let (ladder, steps) = ladder::check_steps(ctx, origin, name, &route.ladder, catalog);
        let parameter = route
            .parameter
            .clone()
            .unwrap_or_else(|| format!("{}{name}", settings.flags_path));
        let parameter_at = origin.join([key("parameter")]);
        let full_name = parameter.starts_with('/')
            && !parameter.ends_with('/')
            && is_ssm_path(&format!("{parameter}/"));
        // A default flag, `flags_path` and the route's name, is within SSM's limits when the
        // settings are; one the policy names is checked here.
        if route.parameter.is_some() {
            if !full_name {
                ctx.error(
                    codes::INVALID_FLAG_PARAMETER,
                    &parameter_at,
                    format!("`{parameter}` is not an SSM parameter name"),
                    "write a full name such as `/budget-guard/routes/chatbot`, of letters, digits and `_.-/`",
                );
            } else if !parameter.starts_with(&settings.flags_path) {
                ctx.error(
                    codes::FLAG_OUTSIDE_FLAGS_PATH,
                    &parameter_at,
                    format!(
                        "the flag `{parameter}` of route `{name}` is not under `flags_path` `{}`",
                        settings.flags_path
                    ),
                    format!(
                        "applications are granted read access to the flags under `flags_path`, and the guard's permissions cover no other parameter; write e.g. `{}{name}`",
                        settings.flags_path
                    ),
                );
            } else if parameter.len() > limits::SSM_PARAMETER_NAME_MAX_CHARS {
                ctx.error(
                    codes::FLAG_PARAMETER_TOO_LONG,
                    &parameter_at,
                    format!(
                        "the flag of route `{name}` is {} characters long",
                        parameter.len()
                    ),
                    format!(
                        "SSM parameter names are at most {} characters here (1,011 with the ARN before them)",
                        limits::SSM_PARAMETER_NAME_MAX_CHARS
                    ),
                );
            } else if levels(&parameter) > limits::SSM_PARAMETER_MAX_LEVELS {
                ctx.error(
                    codes::FLAG_PARAMETER_TOO_DEEP,
                    &parameter_at,
                    format!(
                        "the flag of route `{name}` is {} levels deep",
                        levels(&parameter)
                    ),
                    format!(
                        "SSM parameter names are at most {} levels deep",
                        limits::SSM_PARAMETER_MAX_LEVELS
                    ),
                );
            }
        }
        if let Some(other) = parameters.insert(parameter.clone(), (*name).to_owned()) {
            ctx.error_at_key(
                codes::SHARED_FLAG,
                origin,
                format!("routes `{other}` and `{name}` share the flag `{parameter}`"),
                "each route needs its own flag parameter",
            );
        }
        specs.insert(
            (*name).to_owned(),
            RouteSpec {
                name: (*name).to_owned(),
                ladder,
                steps,
                parameter,
            },
        );
    }
    specs
}

/// Why `arn` is not an application inference profile ARN
/// (`arn:PARTITION:bedrock:REGION:ACCOUNT:application-inference-profile/ID`), if it is not.
fn application_profile_arn_problem(arn: &str) -> Option<&'static str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts[..] else {
        return Some("it has fewer than six `:`-separated parts");
    };
    if scheme != "arn" || !partition.starts_with("aws") {
        return Some("it does not start with `arn:aws`");
    }
    if service != "bedrock" {
        return Some("its service is not `bedrock`");
    }
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("its region is not a region name");
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Some("its account is not 12 digits");
    }
    match resource.strip_prefix("application-inference-profile/") {
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) => None,
        _ => Some("its resource is not `application-inference-profile/ID`"),
    }
}

/// An end-of-life model is an error (Bedrock refuses it), a legacy one a warning; both name the
/// model to move to, keeping the asked id's inference profile prefix.
fn check_lifecycle(ctx: &mut Ctx<'_>, at: &Origin, model: &str, price: &ModelPrice) {
    let prefix = &model[..model.len() - split_profile(model).1.len()];
    let instead = match &price.successor {
        Some(next) => format!("move to `{prefix}{next}`"),
        None => "move to another model (`budget-guard prices` lists them)".to_owned(),
    };
    match price.lifecycle {
        Lifecycle::Active => {}
        Lifecycle::EndOfLife => {
            let when = price
                .end_of_life
                .as_deref()
                .map(|d| format!(" on {d}"))
                .unwrap_or_default();
            ctx.error(
                codes::MODEL_END_OF_LIFE,
                at,
                format!("model `{model}` reached its end of life on Bedrock{when}"),
                format!("Bedrock no longer serves it: {instead}"),
            );
        }
        Lifecycle::Legacy => {
            let when = price
                .end_of_life
                .as_deref()
                .map(|d| format!(" (end of life {d})"))
                .unwrap_or_default();
            ctx.warning(
                codes::MODEL_LEGACY,
                at,
                format!("model `{model}` is legacy on Bedrock{when}"),
                format!("{instead} before it reaches its end of life"),
            );
        }
    }
}

/// A model named where the policy uses one (a scope, a ladder step, a use case) that has no
/// price. An application inference profile ARN may wait for the stack to resolve it.
fn unpriced_model(ctx: &mut Ctx<'_>, at: &Origin, model: &str, catalog: &Catalog) {
    if ctx.unmapped_profiles == UnmappedProfiles::ResolvedAtDeploy
        && crate::inference_profile::is_application_profile_arn(model)
        && application_profile_arn_problem(model).is_none()
    {
        ctx.warning(
            codes::UNKNOWN_MODEL,
            at,
            format!("application inference profile `{model}` is not mapped: no price for it offline"),
            "the deployed stack resolves it with bedrock:GetInferenceProfile and records the model; offline commands cannot price it until `budget-guard profiles --write policies/profiles.yaml` records it, or `profiles:` names its model",
        );
    } else {
        unknown_model(ctx, at, model, catalog);
    }
}

fn unknown_model(ctx: &mut Ctx<'_>, at: &Origin, model: &str, catalog: &Catalog) {
    let ids: Vec<&str> = catalog.entries().map(|p| p.model_id.as_str()).collect();
    // Compare without an inference profile prefix (`us.`), and suggest with it, so that the
    // suggestion can be pasted in place.
    let prefix = PROFILE_PREFIXES
        .iter()
        .find(|p| model.starts_with(**p))
        .copied()
        .unwrap_or("");
    let bare = &model[prefix.len()..];
    let help = if model.contains(":application-inference-profile/") {
        "an application inference profile is priced as the model it runs: `budget-guard profiles --write policies/profiles.yaml` asks Bedrock and records it, or name it under `profiles:` with that model id (live `plan` and `apply` ask Bedrock themselves)".to_owned()
    } else {
        match did_you_mean(bare, ids.iter().copied()) {
            Some(s) => format!(
                "did you mean `{prefix}{s}`? `budget-guard prices` lists known models; add others under `pricing:`"
            ),
            None => "`budget-guard prices` lists known models; add others under `pricing:` with their prices".into(),
        }
    };
    ctx.error(
        codes::UNKNOWN_MODEL,
        at,
        format!("unknown model `{model}`: no price for it"),
        help,
    );
}

#[allow(clippy::too_many_arguments)]
fn check_budget(
    ctx: &mut Ctx<'_>,
    name: &str,
    origin: &Origin,
    budget: &Budget,
    settings: &Settings,
    prefix_ok: bool,
    channels: &BTreeMap<String, ChannelSpec>,
    routes: &BTreeMap<String, RouteSpec>,
    catalog: &Catalog,
    all_models: &BTreeSet<String>,
) -> Option<BudgetSpec> {
    let errors_before = ctx.errors;
    let full_name = format!("{}{name}", settings.budget_prefix);
    if name.trim().is_empty() {
        ctx.error_at_key(
            codes::EMPTY_BUDGET_NAME,
            origin,
            "budget name is empty",
            "name the budget, e.g. `chatbot-monthly`",
        );
    } else if let Some(problem) = budget_name_problem(name) {
        // The name alone: a mistake of its own, whatever the prefix.
        ctx.error_at_key(
            codes::INVALID_BUDGET_NAME,
            origin,
            format!("budget name `{name}` {problem}"),
            BUDGET_NAME_HELP,
        );
    } else if prefix_ok && let Some(problem) = budget_name_problem(&full_name) {
        // The AWS name, prefix and name together: its length, or a pattern across the two.
        ctx.error_at_key(
            codes::INVALID_BUDGET_NAME,
            origin,
            format!("budget name `{full_name}` {problem}"),
            format!(
                "the AWS budget name is `budget_prefix` followed by the policy's name; {BUDGET_NAME_HELP}"
            ),
        );
    } else if prefix_ok && crate::text::json_len(&full_name) > limits::BUDGET_NAME_MAX_STORED_BYTES
    {
        ctx.error_at_key(
            codes::BUDGET_NAME_TOO_MANY_BYTES,
            origin,
            format!(
                "budget name `{full_name}` takes {} bytes as stored",
                crate::text::json_len(&full_name)
            ),
            format!(
                "at most {} bytes, prefix included (a letter of the English alphabet takes 1, `é` 2, most emoji 4, `\"` 2): the alert handler's record of a route names up to ten budgets and must fit one SSM parameter",
                limits::BUDGET_NAME_MAX_STORED_BYTES
            ),
        );
    }

    let amount_at = origin.join([key("amount")]);
    // None when the amount is wrong: checks that compare with it would only repeat that error.
    let amount_checked = match ctx.text(&amount_at).map(parse_amount) {
        Some(Ok(amount)) if amount > Decimal::from(MAX_AMOUNT) => {
            ctx.error(
                codes::AMOUNT_TOO_LARGE,
                &amount_at,
                format!("budget `{name}` has an amount over ${MAX_AMOUNT}"),
                "a budget amount is USD per period; is a digit too many?",
            );
            None
        }
        Some(Ok(amount)) if amount > Decimal::ZERO => Some(amount),
        Some(Ok(_)) => {
            ctx.error(
                codes::AMOUNT_NOT_POSITIVE,
                &amount_at,
                format!("budget `{name}` has an amount of zero or less"),
                "a budget amount is greater than 0 USD",
            );
            None
        }
        _ => {
            ctx.error(
                codes::AMOUNT_NOT_A_NUMBER,
                &amount_at,
                format!("amount of budget `{name}` is not a number of USD"),
                "write a number such as `500` or `1200.50`",
            );
            None
        }
    };
    let amount = amount_checked.unwrap_or(Decimal::ONE);

    let scope = check_scope(ctx, origin, budget, catalog, all_models);

    let thresholds_at = origin.join([key("thresholds")]);
    if budget.thresholds.len() > MAX_THRESHOLDS {
        ctx.error_at_key(
            codes::TOO_MANY_THRESHOLDS,
            &thresholds_at,
            format!("budget `{name}` has {} thresholds", budget.thresholds.len()),
            format!("AWS Budgets allows at most {MAX_THRESHOLDS} notifications per budget"),
        );
    }
    let mut thresholds = Vec::new();
    let mut seen: BTreeMap<(Basis, Option<ThresholdType>, Decimal), usize> = BTreeMap::new();
    for (i, threshold) in budget.thresholds.iter().enumerate() {
        let at = thresholds_at.join([Seg::Index(i)]);
        if let Some(spec) = check_threshold(
            ctx,
            name,
            &at,
            threshold,
            amount_checked,
            budget.period,
            channels,
            routes,
        ) {
            // With a known amount, `80%` of 500 and `$400` are the same notification; without
            // one, only the same written threshold is.
            let same = match amount_checked {
                Some(amount) => (spec.basis, None, spec.dollars(amount)),
                None => (spec.basis, Some(spec.threshold_type), spec.value),
            };
            if let Some(first) = seen.insert(same, i) {
                ctx.error(
                    codes::DUPLICATE_THRESHOLD,
                    &at.join([key("at")]),
                    format!(
                        "threshold {} repeats threshold {} of budget `{name}` ({} of {} spend)",
                        i + 1,
                        first + 1,
                        spec.label(),
                        basis_word(spec.basis)
                    ),
                    "each threshold of a budget is unique for actual and for forecasted spend",
                );
            }
            thresholds.push(spec);
        }
    }

    let mut usage = Vec::new();
    for (i, use_case) in budget.usage.iter().enumerate() {
        let at = origin.join([key("usage"), Seg::Index(i)]);
        if let Some(spec) = check_use_case(ctx, &at, use_case, routes, catalog) {
            usage.push(spec);
        }
    }

    let errors_after = ctx.errors;
    (errors_after == errors_before).then(|| BudgetSpec {
        key: name.to_owned(),
        name: full_name,
        amount,
        period: budget.period,
        scope,
        watch: budget.watch,
        thresholds,
        usage,
    })
}

const BUDGET_NAME_HELP: &str = "AWS budget names, prefix included, are at most 100 characters, and cannot contain `:`, `\\`, `/action/`, or `<script>` with `</script>`";

fn basis_word(basis: Basis) -> &'static str {
    match basis {
        Basis::Actual => "actual",
        Basis::Forecasted => "forecasted",
    }
}

/// An exact decimal from the text of a YAML number (`500`, `1200.50`, `1_000`).
fn parse_amount(text: &str) -> Result<Decimal, ()> {
    let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || cleaned.contains(['e', 'E']) {
        return Err(());
    }
    Decimal::from_str_exact(&cleaned).map_err(|_| ())
}

fn check_scope(
    ctx: &mut Ctx<'_>,
    origin: &Origin,
    budget: &Budget,
    catalog: &Catalog,
    all_models: &BTreeSet<String>,
) -> ScopeSpec {
    let scope = &budget.scope;
    let at = origin.join([key("scope")]);
    if budget.watch
        && scope.models.is_empty()
        && (!scope.tags.is_empty() || !scope.services.is_empty())
    {
        // Token metrics carry a model id and nothing else: the spend watcher can narrow a budget
        // by model, never by tag or service.
        ctx.warning(
            codes::WATCH_IGNORES_TAGS,
            &origin.join([key("watch")]),
            "the spend watcher cannot see tags or services: it will count every model of the policy against this budget",
            "list the models (or application inference profile ARNs) this budget covers under `scope.models`",
        );
    }
    if !scope.services.is_empty() && !scope.models.is_empty() {
        ctx.error_at_key(codes::SERVICES_AND_MODELS, &at.join([key("services")]), "a scope lists both `services` and `models`", "`models` narrows all Bedrock spend to some models; `services` names Cost Explorer services instead. Keep one");
    }
    for (i, model) in scope.models.iter().enumerate() {
        let model_at = at.join([key("models"), Seg::Index(i)]);
        if !check_model_id_length(ctx, &model_at, model, false) && catalog.resolve(model).is_none()
        {
            unpriced_model(ctx, &model_at, model, catalog);
        }
    }
    for (i, service) in scope.services.iter().enumerate() {
        if service.trim().is_empty() {
            ctx.error(
                codes::EMPTY_SERVICE_NAME,
                &at.join([key("services"), Seg::Index(i)]),
                "empty service name",
                "write a Cost Explorer service name such as `Amazon Bedrock`",
            );
        } else {
            filter_value_length(
                ctx,
                &at.join([key("services"), Seg::Index(i)]),
                "service name",
                service,
            );
        }
    }
    for (i, account) in scope.accounts.iter().enumerate() {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            ctx.error(codes::INVALID_ACCOUNT_ID, &at.join([key("accounts"), Seg::Index(i)]), format!("`{account}` is not an AWS account id"), "account ids are 12 digits; quote them so YAML keeps leading zeros: `\"012345678901\"`");
        }
    }
    for (i, region) in scope.regions.iter().enumerate() {
        if filter_value_length(
            ctx,
            &at.join([key("regions"), Seg::Index(i)]),
            "region",
            region,
        ) {
            continue;
        }
        if !is_region(region) {
            ctx.error(
                codes::INVALID_REGION,
                &at.join([key("regions"), Seg::Index(i)]),
                format!("`{region}` is not an AWS region"),
                "write a region code such as `us-east-1`",
            );
        }
    }
    for (tag, values) in &scope.tags {
        let tag_at = at.join([key("tags"), key(tag)]);
        let tag_chars = tag.chars().count();
        if tag.is_empty() {
            ctx.error_at_key(
                codes::EMPTY_TAG_KEY,
                &tag_at,
                "empty tag key",
                "write the cost allocation tag's key, e.g. `app`",
            );
        } else if tag_chars > limits::FILTER_TAG_KEY_MAX_CHARS {
            ctx.error_at_key(
                codes::TAG_KEY_TOO_LONG,
                &tag_at,
                format!("tag key `{tag}` is {tag_chars} characters long"),
                format!(
                    "AWS Budgets filters on tag keys of at most {} characters",
                    limits::FILTER_TAG_KEY_MAX_CHARS
                ),
            );
        }
        if values.len() < limits::FILTER_VALUES_MIN {
            ctx.error(
                codes::TAG_WITHOUT_VALUES,
                &tag_at,
                format!("tag `{tag}` lists no values"),
                "list the tag values whose spend counts",
            );
        }
        for (i, value) in values.iter().enumerate() {
            filter_value_length(ctx, &tag_at.join([Seg::Index(i)]), "tag value", value);
        }
    }
    let models: Vec<String> = if scope.models.is_empty() {
        all_models.iter().cloned().collect()
    } else {
        scope.models.clone()
    };
    let services: Vec<String> = if scope.services.is_empty() {
        let mut services = catalog.services_for(models.iter().map(String::as_str));
        services.insert(AMAZON_BEDROCK_SERVICE.to_owned());
        services.into_iter().collect()
    } else {
        let set: BTreeSet<String> = scope.services.iter().cloned().collect();
        set.into_iter().collect()
    };
    ScopeSpec {
        services,
        models,
        tags: scope.tags.clone(),
        accounts: scope.accounts.clone(),
        regions: scope.regions.clone(),
    }
}

/// A value of a budget's filter longer than AWS Budgets takes: an error, and true.
fn filter_value_length(ctx: &mut Ctx<'_>, at: &Origin, what: &str, value: &str) -> bool {
    let chars = value.chars().count();
    if chars <= limits::FILTER_VALUE_MAX_CHARS {
        return false;
    }
    ctx.error(
        codes::FILTER_VALUE_TOO_LONG,
        at,
        format!("{what} `{value}` is {chars} characters long"),
        format!(
            "AWS Budgets filters on values of at most {} characters",
            limits::FILTER_VALUE_MAX_CHARS
        ),
    );
    true
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

#[allow(clippy::too_many_arguments)]
fn check_threshold(
    ctx: &mut Ctx<'_>,
    budget: &str,
    at: &Origin,
    threshold: &Threshold,
    amount: Option<Decimal>,
    period: Period,
    channels: &BTreeMap<String, ChannelSpec>,
    routes: &BTreeMap<String, RouteSpec>,
) -> Option<ThresholdSpec> {
    let errors_before = ctx.errors;
    let at_at = at.join([key("at")]);
    let parsed = ctx.text(&at_at).and_then(parse_threshold);
    let (value, threshold_type) = match parsed {
        Some(v) => v,
        None => {
            let found = ctx.text(&at_at).unwrap_or("this").to_owned();
            let help = if found.parse::<f64>().is_ok() {
                format!("is `{found}` a share or an amount? write `{found}%` or `${found}`")
            } else {
                "write a share of the amount such as `90%`, or an amount in USD such as `$450`"
                    .into()
            };
            ctx.error(
                codes::INVALID_THRESHOLD,
                &at_at,
                format!("threshold `{found}` is neither a percentage nor an amount"),
                help,
            );
            (Decimal::ONE, ThresholdType::Percentage)
        }
    };
    if value <= Decimal::ZERO {
        ctx.error(
            codes::THRESHOLD_NOT_POSITIVE,
            &at_at,
            "a threshold is greater than zero",
            "write e.g. `50%` or `$250`",
        );
    }
    if threshold_type == ThresholdType::AbsoluteValue
        && amount.is_some_and(|amount| value > amount * Decimal::TEN)
    {
        ctx.error(
            codes::THRESHOLD_OVER_TEN_TIMES,
            &at_at,
            format!(
                "threshold ${} is more than ten times the budget",
                value.normalize()
            ),
            "an amount threshold is in USD of the same period as the budget, e.g. `$450` of `500`",
        );
    }
    if threshold_type == ThresholdType::Percentage && value > Decimal::from(1000) {
        ctx.error(
            codes::THRESHOLD_OVER_TEN_TIMES,
            &at_at,
            format!(
                "threshold {}% is more than ten times the budget",
                value.normalize()
            ),
            "percentages are of the budgeted amount, e.g. `90%` or `100%`",
        );
    }
    if value > Decimal::from(limits::NOTIFICATION_THRESHOLD_MAX) {
        // Past the ten-times rules above whenever the amount is right; said on its own when the
        // amount is wrong and an amount threshold could not be compared with it.
        if threshold_type == ThresholdType::AbsoluteValue && amount.is_none() {
            ctx.error(
                codes::THRESHOLD_OVER_AWS_MAX,
                &at_at,
                "threshold is more than AWS Budgets takes",
                format!(
                    "AWS Budgets thresholds are at most {}",
                    limits::NOTIFICATION_THRESHOLD_MAX
                ),
            );
        }
    } else if value > Decimal::ZERO && !survives_a_double(value) {
        ctx.error(
            codes::THRESHOLD_TOO_PRECISE,
            &at_at,
            format!("threshold `{}` has more digits than AWS Budgets keeps", value.normalize()),
            "AWS Budgets keeps a threshold as a double, about 15 significant digits; write fewer decimals",
        );
    }
    let distinct: BTreeSet<&String> = threshold.notify.iter().collect();
    if distinct.len() > limits::CHANNELS_PER_JOB_MAX {
        ctx.error_at_key(
            codes::TOO_MANY_CHANNELS,
            &at.join([key("notify")]),
            format!("this threshold notifies {} channels", distinct.len()),
            format!(
                "at most {} channels: the alert handler's record of an alert lists them, and it must fit one SSM parameter",
                limits::CHANNELS_PER_JOB_MAX
            ),
        );
    }
    if threshold.on == Basis::Forecasted && period == Period::Daily {
        ctx.error(codes::FORECAST_ON_DAILY, &at.join([key("on")]), format!("budget `{budget}` is daily and cannot alert on forecasted spend"), "AWS Budgets rejects forecasted notifications on daily budgets; use `on: actual` or a monthly budget");
    }
    let mut notified = HashSet::new();
    // Distinct addresses: a channel listed twice, or two lists sharing an address, send one mail.
    let mut addresses_notified: HashSet<String> = HashSet::new();
    for (i, channel) in threshold.notify.iter().enumerate() {
        let at = at.join([key("notify"), Seg::Index(i)]);
        // A repeat is one mistake: reported once, not looked up (and maybe "unknown") again.
        if !notified.insert(channel) {
            ctx.error(
                codes::CHANNEL_LISTED_TWICE,
                &at,
                format!("channel `{channel}` is listed twice"),
                "list each channel once",
            );
            continue;
        }
        match channels.get(channel) {
            Some(ChannelSpec::Email { addresses }) => {
                addresses_notified.extend(addresses.iter().map(|a| a.to_lowercase()));
            }
            Some(ChannelSpec::Slack { .. }) => {}
            None => {
                let help = match did_you_mean(channel, channels.keys().map(String::as_str)) {
                    Some(s) => {
                        format!("did you mean `{s}`? channels are defined under `channels:`")
                    }
                    None => format!(
                        "define `{channel}` under `channels:`, or use one of: {}",
                        list(channels.keys())
                    ),
                };
                ctx.unresolved(
                    codes::UNKNOWN_CHANNEL,
                    &at,
                    format!("unknown channel `{channel}`"),
                    help,
                );
            }
        }
    }
    let emails = addresses_notified.len();
    if emails > MAX_EMAILS_PER_NOTIFICATION {
        ctx.error_at_key(codes::TOO_MANY_EMAIL_ADDRESSES, &at.join([key("notify")]), format!("this threshold emails {emails} addresses"), format!("AWS Budgets allows at most {MAX_EMAILS_PER_NOTIFICATION} email subscribers per notification; notify fewer email channels"));
    }
    let downgrade = threshold.downgrade.as_ref().and_then(|d| {
        let d_at = at.join([key("downgrade")]);
        let Some(route) = routes.get(&d.route) else {
            let help = match did_you_mean(&d.route, routes.keys().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`? routes are defined under `routes:`"),
                None => format!("define `{}` under `routes:`, or use one of: {}", d.route, list(routes.keys())),
            };
            ctx.unresolved(codes::UNKNOWN_ROUTE, &d_at.join([key("route")]), format!("unknown route `{}`", d.route), help);
            return None;
        };
        let to_at = d_at.join([key("to")]);
        let text = ctx.text(&to_at).unwrap_or_default().trim().to_owned();
        let step = if text == "cheapest" {
            Some(route.cheapest_step())
        } else if text == super::raw::STOP_STEP {
            if route.step_at(route.last_step()).blocked {
                Some(route.last_step())
            } else {
                ctx.error(
                    codes::DOWNGRADE_WITHOUT_STOP,
                    &to_at,
                    format!("the ladder of `{}` has no `stop` step", route.name),
                    "to block the route at this threshold, end its ladder with `stop`",
                );
                None
            }
        } else if let Ok(step) = text.parse::<usize>() {
            if step < 2 || step > route.ladder.len() {
                // Step 1 by number is the same mistake as the top model by name.
                let code = if step == 1 {
                    codes::DOWNGRADE_TO_TOP
                } else {
                    codes::DOWNGRADE_STEP_OUT_OF_RANGE
                };
                ctx.error(
                    code,
                    &to_at,
                    format!("step {step} is not a lower step of the ladder of `{}`", route.name),
                    format!("the ladder has steps 1 (the top) to {}; a downgrade goes to step 2 or lower, or `cheapest`", route.ladder.len()),
                );
                None
            } else {
                Some(step)
            }
        } else if let Some(step) = route.step_of(&text) {
            if step == 1 {
                ctx.error(codes::DOWNGRADE_TO_TOP, &to_at, format!("`{text}` is the top of the ladder of `{}`", route.name), "a downgrade goes to a lower step");
                None
            } else {
                Some(step)
            }
        } else {
            let help = match did_you_mean(&text, route.ladder.iter().map(String::as_str).chain(["cheapest"])) {
                Some(s) => format!("did you mean `{s}`? give a step number, `cheapest`, or a model of the ladder"),
                None => format!("give a step number ({}), `cheapest`, or one of: {}", lower_steps(route.ladder.len()), route.ladder.join(", ")),
            };
            ctx.error(codes::DOWNGRADE_NOT_ON_LADDER, &to_at, format!("`{text}` is not on the ladder of `{}`", route.name), help);
            None
        };
        step.map(|to_step| DowngradeSpec { route: route.name.clone(), to_step })
    });
    let deny_roles = threshold
        .deny
        .as_ref()
        .map(|deny| deny_roles(ctx, &at.join([key("deny")]), &deny.roles))
        .unwrap_or_default();
    if threshold.notify.is_empty() && threshold.downgrade.is_none() && threshold.deny.is_none() {
        ctx.warning(
            codes::THRESHOLD_DOES_NOTHING,
            at,
            "this threshold notifies no one and downgrades nothing",
            "add `notify:` channels or a `downgrade:`",
        );
    }
    let errors_after = ctx.errors;
    (errors_after == errors_before).then(|| ThresholdSpec {
        value,
        threshold_type,
        basis: threshold.on,
        notify: threshold.notify.clone(),
        downgrade,
        deny_roles,
    })
}

/// The role names of a threshold's `deny:`, sorted: plain IAM role names, each once, as many as
/// a Budgets action takes.
fn deny_roles(ctx: &mut Ctx, at: &Origin, roles: &[String]) -> Vec<String> {
    let roles_at = at.join([key("roles")]);
    if roles.len() < limits::ROLES_PER_ACTION_MIN {
        ctx.error(
            codes::DENY_WITHOUT_ROLES,
            &roles_at,
            "`deny` lists no roles",
            "name the IAM roles whose Bedrock calls to refuse: `roles: [my-app-role]`",
        );
    }
    if roles.len() > limits::ROLES_PER_ACTION_MAX {
        ctx.error_at_key(
            codes::DENY_TOO_MANY_ROLES,
            &roles_at,
            format!("`deny` lists {} roles", roles.len()),
            format!(
                "an AWS Budgets action takes at most {} roles",
                limits::ROLES_PER_ACTION_MAX
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, role) in roles.iter().enumerate() {
        let role_at = roles_at.join([Seg::Index(i)]);
        if let Some(name) = role
            .strip_prefix("arn:")
            .and_then(|rest| rest.rsplit_once(":role/"))
            .map(|(_, path)| path.rsplit('/').next().unwrap_or(path))
        {
            ctx.error(
                codes::DENY_ROLE_ARN,
                &role_at,
                format!("`{role}` is a role ARN"),
                format!("AWS Budgets actions take role names: write `{name}`"),
            );
        } else if let Some(problem) = limits::iam_role_name_problem(role) {
            ctx.error(
                codes::INVALID_ROLE_NAME,
                &role_at,
                format!("`{role}` is not an IAM role name"),
                problem,
            );
        } else if !seen.insert(role.clone()) {
            ctx.error(
                codes::ROLE_LISTED_TWICE,
                &role_at,
                format!("role `{role}` is listed twice"),
                "list each role once",
            );
        }
    }
    seen.into_iter().collect()
}

/// The steps a downgrade may go to, in words: `2`, `2 to 4`.
fn lower_steps(len: usize) -> String {
    if len <= 2 {
        "2".into()
    } else {
        format!("2 to {len}")
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "(none defined)".into()
    } else {
        names.join(", ")
    }
}

/// Whether `value` reads back the same after a trip through an `f64`, as AWS Budgets keeps a
/// threshold (and as the provisioner writes it and reads it back).
fn survives_a_double(value: Decimal) -> bool {
    let text = value.normalize().to_string();
    text.parse::<f64>()
        .ok()
        .and_then(|f| Decimal::from_str(&f.to_string()).ok())
        .is_some_and(|back| back.normalize() == value.normalize())
}

/// `90%`, `12.5 %`, `$450`, `$1,200.00`.
pub fn parse_threshold(text: &str) -> Option<(Decimal, ThresholdType)> {
    let text = text.trim();
    if let Some(number) = text.strip_suffix('%') {
        return Decimal::from_str(number.trim())
            .ok()
            .map(|v| (v, ThresholdType::Percentage));
    }
    if let Some(number) = text.strip_prefix('$') {
        let cleaned: String = number.trim().chars().filter(|c| *c != ',').collect();
        return Decimal::from_str(&cleaned)
            .ok()
            .map(|v| (v, ThresholdType::AbsoluteValue));
    }
    None
}

fn check_use_case(
    ctx: &mut Ctx<'_>,
    at: &Origin,
    use_case: &UseCase,
    routes: &BTreeMap<String, RouteSpec>,
    catalog: &Catalog,
) -> Option<UseCaseSpec> {
    let errors_before = ctx.errors;
    let name_chars = use_case.name.chars().count();
    if use_case.name.trim().is_empty() {
        ctx.error(
            codes::EMPTY_USE_CASE_NAME,
            &at.join([key("name")]),
            "a use case's name is empty",
            "say what the use case is, e.g. `support chatbot`",
        );
    } else if name_chars > limits::USE_CASE_NAME_MAX_CHARS {
        ctx.error(
            codes::USE_CASE_NAME_TOO_LONG,
            &at.join([key("name")]),
            format!("a use case's name is {name_chars} characters long"),
            format!(
                "at most {} characters; put the rest in the budget's `description`",
                limits::USE_CASE_NAME_MAX_CHARS
            ),
        );
    }
    let model = match (&use_case.route, &use_case.model) {
        (Some(route), None) => match routes.get(route) {
            Some(r) => r.ladder.first().cloned(),
            None => {
                let help = match did_you_mean(route, routes.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "define `{route}` under `routes:`, or use one of: {}",
                        list(routes.keys())
                    ),
                };
                ctx.unresolved(
                    codes::UNKNOWN_ROUTE,
                    &at.join([key("route")]),
                    format!("unknown route `{route}`"),
                    help,
                );
                None
            }
        },
        (None, Some(model)) => {
            let model_at = at.join([key("model")]);
            if !check_model_id_length(ctx, &model_at, model, false) {
                match catalog.resolve(model) {
                    None => unpriced_model(ctx, &model_at, model, catalog),
                    Some(resolved) => check_lifecycle(ctx, &model_at, model, &resolved.price),
                }
            }
            Some(model.clone())
        }
        (Some(_), Some(_)) => {
            ctx.error_at_key(
                codes::ROUTE_AND_MODEL,
                &at.join([key("model")]),
                format!(
                    "use case `{}` gives both a route and a model",
                    use_case.name
                ),
                "a route's use case is priced on its ladder; keep one of `route` and `model`",
            );
            None
        }
        (None, None) => {
            ctx.error(
                codes::NO_ROUTE_OR_MODEL,
                at,
                format!(
                    "use case `{}` gives neither a route nor a model",
                    use_case.name
                ),
                "add `route: <route>` or `model: <model id>`",
            );
            None
        }
    };
    if use_case.requests_per_day == 0 {
        ctx.error(
            codes::ZERO_REQUESTS,
            &at.join([key("requests_per_day")]),
            "`requests_per_day` is 0",
            "a use case serves at least one request a day; remove it otherwise",
        );
    }
    let tokens = [
        ("input_tokens", use_case.input_tokens),
        ("output_tokens", use_case.output_tokens),
        ("cache_read_tokens", use_case.cache_read_tokens),
        ("cache_write_tokens", use_case.cache_write_tokens),
    ];
    for (field, value) in tokens {
        if value > MAX_TOKENS_PER_REQUEST {
            ctx.error(
                codes::TOO_MANY_TOKENS,
                &at.join([key(field)]),
                format!("`{field}` is {value} tokens per request"),
                format!("no Bedrock model takes more than {MAX_TOKENS_PER_REQUEST} tokens in one request"),
            );
        }
    }
    if use_case.requests_per_day > MAX_REQUESTS_PER_DAY {
        ctx.error(
            codes::TOO_MANY_REQUESTS,
            &at.join([key("requests_per_day")]),
            format!("`requests_per_day` is {}", use_case.requests_per_day),
            format!("at most {MAX_REQUESTS_PER_DAY} requests a day (over 10,000 a second)"),
        );
    }
    if use_case.input_tokens == 0 && use_case.output_tokens == 0 {
        ctx.error_at_key(
            codes::ZERO_TOKEN_REQUEST,
            &at.join([key("input_tokens")]),
            "a request of zero tokens costs nothing",
            "give the input and output tokens of a typical request",
        );
    }
    let errors_after = ctx.errors;
    let model = model?;
    (errors_after == errors_before).then(|| UseCaseSpec {
        name: use_case.name.clone(),
        route: use_case.route.clone(),
        model,
        input_tokens: use_case.input_tokens,
        output_tokens: use_case.output_tokens,
        cache_read_tokens: use_case.cache_read_tokens,
        cache_write_tokens: use_case.cache_write_tokens,
        requests_per_day: use_case.requests_per_day,
    })
}
