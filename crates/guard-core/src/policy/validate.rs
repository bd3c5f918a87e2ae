//! The semantic layer: names that must exist, numbers that must make sense, the limits of AWS
//! Budgets. It turns the raw files into the checked `Policy`, reporting every problem at the place
//! in the file that causes it.

mod applications;
mod budgets;
pub(super) mod channels;
mod ladder;
mod pricing;
mod routes;
mod settings;
pub(super) mod thresholds;

use super::codes;
use super::limits::{self, budget_name_problem};
use super::load::{LoadOptions, ParsedFile, UnmappedProfiles};
use super::model::{
    BudgetSpec, ChannelSpec, DowngradeSpec, Policy, RouteSpec, ScopeSpec, ThresholdSpec,
    ThresholdType, UseCaseSpec,
};
use super::raw::{Budget, Channel, ChatbotChannel, Route, Settings, Threshold, UseCase};
use super::schema_check::did_you_mean;
use super::yaml_tree::{Node, Seg};
use crate::diagnostic::{Code, Diagnostic, Severity, Span};
use crate::period::Period;
use crate::pricing::catalog::{
    Catalog, Lifecycle, ModelPrice, PROFILE_PREFIXES, overrides::PriceOverride, split_profile,
};
use crate::spend_basis::SpendBasis;
use budgets::{check_budget, parse_amount};
use channels::{check_alarms, check_channels, listed_again};
use routes::{check_lifecycle, check_model_id_length, check_routes, unknown_model, unpriced_model};
use rust_decimal::Decimal;
use settings::check_settings;
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
    let (catalog, prices) = pricing::check_pricing(&mut ctx, files, catalog_prices);

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
        if downgrades > crate::alerts::ledger::MAX_DOWNGRADES_PER_ROUTE {
            ctx.error_at_key(
                codes::TOO_MANY_DOWNGRADES,
                origin,
                format!("{downgrades} thresholds step route `{route}` down"),
                format!(
                    "a route may be stepped down by at most {} thresholds of all budgets, so that the alert handler's record of it fits one SSM parameter",
                    crate::alerts::ledger::MAX_DOWNGRADES_PER_ROUTE
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

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "(none defined)".into()
    } else {
        names.join(", ")
    }
}
