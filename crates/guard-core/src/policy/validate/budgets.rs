//! The `budgets:` section: names, amounts, periods, the scope of spend, and the use cases of the estimate.

use super::applications::check_applications;
use super::thresholds::check_threshold;
use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn check_budget(
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
    let mut seen: BTreeMap<(SpendBasis, Option<ThresholdType>, Decimal), usize> = BTreeMap::new();
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
                        spec.basis.as_word()
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

pub(super) const BUDGET_NAME_HELP: &str = "AWS budget names, prefix included, are at most 100 characters, and cannot contain `:`, `\\`, `/action/`, or `<script>` with `</script>`";

/// An exact decimal from the text of a YAML number (`500`, `1200.50`, `1_000`).
pub(super) fn parse_amount(text: &str) -> Result<Decimal, ()> {
    let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || cleaned.contains(['e', 'E']) {
        return Err(());
    }
    Decimal::from_str_exact(&cleaned).map_err(|_| ())
}

pub(super) fn check_scope(
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
        && scope.applications.is_empty()
        && (!scope.tags.is_empty() || !scope.services.is_empty())
    {
        // Token metrics carry a model id and nothing else: the spend watcher can narrow a budget
        // by model, never by tag or service. Invocation logs name the caller, so the fast path
        // can narrow it by application when the scope names them.
        ctx.warning(
            codes::WATCH_IGNORES_TAGS,
            &origin.join([key("watch")]),
            "the spend watcher cannot see tags or services: it will count every model of the policy against this budget",
            "list the models (or application inference profile ARNs) this budget covers under `scope.models`; or name its applications under `scope.applications` (a role, request metadata, or an application inference profile) and deploy the fast path, which alone tells applications apart (it needs Bedrock model invocation logging on)",
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
    let applications = check_applications(ctx, &at, &scope.applications);
    if !budget.watch && !scope.applications.is_empty() {
        // AWS Budgets filters by tag, never by caller: the applications narrow only the fast
        // path's counters, which exist for watched budgets alone.
        ctx.warning(
            codes::APPLICATIONS_NOT_WATCHED,
            &at.join([key("applications")]),
            "this budget is not watched, so its `applications` change nothing: only the fast path reads them, and it counts watched budgets only",
            "add `watch: true` to the budget and deploy the fast path (`-c fastPath=true`); or remove `applications` and scope the AWS budget by `tags`",
        );
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
        applications,
    }
}

/// A value of a budget's filter longer than AWS Budgets takes: an error, and true.
pub(super) fn filter_value_length(ctx: &mut Ctx<'_>, at: &Origin, what: &str, value: &str) -> bool {
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

pub(super) fn is_region(region: &str) -> bool {
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

pub(super) fn check_use_case(
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
