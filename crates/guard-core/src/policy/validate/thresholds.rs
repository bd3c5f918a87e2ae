//! A budget's thresholds: amounts, what they notify, the routes they step down, the deny they apply.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn check_threshold(
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
    if threshold.on == SpendBasis::Forecasted && period == Period::Daily {
        ctx.error(codes::FORECAST_ON_DAILY, &at.join([key("on")]), format!("budget `{budget}` is daily and cannot alert on forecasted spend"), "AWS Budgets rejects forecasted notifications on daily budgets; use `on: actual` or a monthly budget");
    }
    let mut notified = BTreeSet::new();
    // Distinct addresses: a channel listed twice, or two lists sharing an address, send one mail.
    let mut addresses_notified: HashSet<String> = HashSet::new();
    for (i, channel) in threshold.notify.iter().enumerate() {
        let at = at.join([key("notify"), Seg::Index(i)]);
        if listed_again(ctx, &mut notified, channel, &at) {
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
        } else if text == crate::policy::raw::STOP_STEP {
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
pub(super) fn deny_roles(ctx: &mut Ctx, at: &Origin, roles: &[String]) -> Vec<String> {
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
pub(super) fn lower_steps(len: usize) -> String {
    if len <= 2 {
        "2".into()
    } else {
        format!("2 to {len}")
    }
}

/// Whether `value` reads back the same after a trip through an `f64`, as AWS Budgets keeps a
/// threshold (and as the provisioner writes it and reads it back).
pub(super) fn survives_a_double(value: Decimal) -> bool {
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
