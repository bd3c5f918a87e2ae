//! The `settings:` section: prefix, owner tag, the SSM paths, and the guard's own options.

use super::*;

/// The settings in force, and whether `budget_prefix` is usable (when it is not, the budgets' full
/// names are not checked: every one would repeat the prefix's error).
pub(super) fn check_settings(ctx: &mut Ctx<'_>, files: &[ParsedFile<'_>]) -> (Settings, bool) {
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

pub(super) const NESTED_PATHS_HELP: &str = "neither path may contain the other: applications are granted read access to everything under `flags_path`, and the guard's own records live under `state_path`. Use sibling paths such as `/budget-guard/routes/` and `/budget-guard/state/`";

/// The levels of an SSM name or path: `/a/b/` and `/a/b` are two.
pub(super) fn levels(path: &str) -> usize {
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

pub(super) fn is_ssm_path(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && path.ends_with('/')
        && !path.contains("//")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
}
