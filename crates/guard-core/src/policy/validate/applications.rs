//! A budget scope's `applications:`: role ARNs, request metadata and application inference
//! profile ARNs, each well formed, none named twice.

use super::budgets::is_region;
use super::*;
use crate::policy::model::ApplicationSpec;
use crate::policy::raw::Application;
use crate::policy::role_arn::RoleArn;

/// The application inference profile ARN form Bedrock writes in a record's `modelId`.
const PROFILE_ARN_HELP: &str = "write the profile's ARN as `aws bedrock list-inference-profiles --type-equals APPLICATION` shows it: `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`";

pub(super) fn check_applications(
    ctx: &mut Ctx<'_>,
    scope_at: &Origin,
    applications: &[Application],
) -> Vec<ApplicationSpec> {
    let mut specs = Vec::new();
    // What makes two selectors the same, to the first one's index.
    let mut seen: BTreeMap<ApplicationSpec, usize> = BTreeMap::new();
    for (i, application) in applications.iter().enumerate() {
        let at = scope_at.join([key("applications"), Seg::Index(i)]);
        let Some(spec) = check_application(ctx, &at, application) else {
            continue;
        };
        let same = match &spec {
            // IAM role names are unique in an account whatever their path, and a session's ARN
            // names the role without it: two ARNs of one name are one role.
            ApplicationSpec::Role(role) => ApplicationSpec::Role(RoleArn {
                arn: String::new(),
                ..role.clone()
            }),
            other => other.clone(),
        };
        if let Some(first) = seen.insert(same, i) {
            ctx.error(
                codes::DUPLICATE_APPLICATION,
                &at,
                format!(
                    "application {} repeats application {} of this scope",
                    i + 1,
                    first + 1
                ),
                "a call counts once whichever applications it matches; remove the repeat",
            );
            continue;
        }
        specs.push(spec);
    }
    specs
}

fn check_application(
    ctx: &mut Ctx<'_>,
    at: &Origin,
    application: &Application,
) -> Option<ApplicationSpec> {
    let given = [
        application.role.is_some(),
        application.request_metadata.is_some(),
        application.inference_profile.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        ctx.error(
            codes::APPLICATION_NOT_ONE_SELECTOR,
            at,
            "an application gives none, or more than one, of `role`, `request_metadata` and `inference_profile`",
            "give one per list item; a call counts when it matches any item, so list two items for either of two ways",
        );
        return None;
    }
    if let Some(arn) = &application.role {
        let role = RoleArn::parse(arn);
        if role.is_none() {
            ctx.error(
                codes::INVALID_ROLE_ARN,
                &at.join([key("role")]),
                format!("`{arn}` is not an IAM role ARN"),
                "write the role's ARN, e.g. `arn:aws:iam::123456789012:role/chatbot`: calls by any session of the role count (not an `assumed-role` session ARN, not a user)",
            );
        }
        return role.map(ApplicationSpec::Role);
    }
    if let Some(pairs) = &application.request_metadata {
        let pairs_at = at.join([key("request_metadata")]);
        if pairs.is_empty() {
            ctx.error(
                codes::EMPTY_REQUEST_METADATA_KEY,
                &pairs_at,
                "`request_metadata` lists no key",
                "give the key and value the application sends in `requestMetadata`, e.g. `{ app: chatbot }`",
            );
            return None;
        }
        let mut ok = true;
        for name in pairs.keys().filter(|k| k.trim().is_empty()) {
            ok = false;
            ctx.error_at_key(
                codes::EMPTY_REQUEST_METADATA_KEY,
                &pairs_at.join([key(name)]),
                "a `request_metadata` key is empty",
                "name the key the application sends in `requestMetadata`, e.g. `app`",
            );
        }
        return ok.then(|| ApplicationSpec::RequestMetadata(pairs.clone()));
    }
    let arn = application.inference_profile.as_deref().unwrap_or_default();
    if is_application_profile_arn(arn) {
        Some(ApplicationSpec::InferenceProfile(arn.to_owned()))
    } else {
        ctx.error(
            codes::INVALID_INFERENCE_PROFILE_ARN,
            &at.join([key("inference_profile")]),
            format!("`{arn}` is not an application inference profile ARN"),
            PROFILE_ARN_HELP,
        );
        None
    }
}

/// `arn:PARTITION:bedrock:REGION:ACCOUNT:application-inference-profile/ID`.
fn is_application_profile_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_word, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    arn_word == "arn"
        && partition.starts_with("aws")
        && service == "bedrock"
        && is_region(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource
            .strip_prefix("application-inference-profile/")
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::is_application_profile_arn;

    #[test]
    fn only_an_application_profile_arn_is_one() {
        assert!(is_application_profile_arn(
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
        ));
        for bad in [
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/",
            "arn:aws:bedrock:us-east-1::application-inference-profile/a1b2",
            "arn:aws:bedrock:useast1:123456789012:application-inference-profile/a1b2",
            "arn:aws:iam::123456789012:role/chatbot",
            "a1b2c3d4e5f6",
        ] {
            assert!(!is_application_profile_arn(bad), "{bad}");
        }
    }
}
