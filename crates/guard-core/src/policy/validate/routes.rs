//! The `routes:` section, and the model ids every section names: known, priced, not retired.

use super::pricing::application_profile_arn_problem;
use super::settings::{is_ssm_path, levels};
use super::*;

/// A model id longer than any Bedrock id or ARN: an error, and true, so that the caller does not
/// look it up as well. `key` when the id is a map key (pricing) rather than a value.
pub(super) fn check_model_id_length(
    ctx: &mut Ctx<'_>,
    at: &Origin,
    model: &str,
    key: bool,
) -> bool {
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

pub(super) fn check_routes(
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

/// An end-of-life model is an error (Bedrock refuses it), a legacy one a warning; both name the
/// model to move to, keeping the asked id's inference profile prefix.
pub(super) fn check_lifecycle(ctx: &mut Ctx<'_>, at: &Origin, model: &str, price: &ModelPrice) {
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
pub(super) fn unpriced_model(ctx: &mut Ctx<'_>, at: &Origin, model: &str, catalog: &Catalog) {
    if ctx.unmapped_profiles == UnmappedProfiles::ResolvedAtDeploy
        && crate::pricing::inference_profile::is_application_profile_arn(model)
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

pub(super) fn unknown_model(ctx: &mut Ctx<'_>, at: &Origin, model: &str, catalog: &Catalog) {
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
