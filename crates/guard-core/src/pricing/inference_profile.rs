//! Application inference profiles: which priced model id a profile's ARN stands for.
//!
//! `bedrock:GetInferenceProfile` answers with the foundation-model ARNs the profile routes to, one
//! per region. A profile copied from a model in one region is billed as that model in-region (the
//! base id); one copied from a cross-region profile routes to several regions, and is billed as
//! that profile (`us.`, `eu.`, `apac.`, `jp.`, `au.`, `ca.`, `us-gov.`, or `global.` when the
//! regions span geographies).

use std::collections::{BTreeMap, BTreeSet};

use crate::policy::SourceFile;

/// The source name under which resolved profiles join a policy's files, so that a diagnostic about
/// one says where the mapping came from.
pub const RESOLVED_PROFILES_SOURCE: &str = "<bedrock:GetInferenceProfile>";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileModelError {
    #[error("the profile routes to no model")]
    NoModel,
    #[error("`{0}` is not a foundation-model ARN (`arn:aws:bedrock:REGION::foundation-model/ID`)")]
    NotAModelArn(String),
    #[error("the profile routes to more than one model: {0:?}")]
    SeveralModels(Vec<String>),
}

/// The region and model id of `arn:PARTITION:bedrock:REGION::foundation-model/MODEL_ID`.
fn region_and_model(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("bedrock"), Some(region), Some(_account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let model = parts.next()?.strip_prefix("foundation-model/")?;
    (!region.is_empty() && !model.is_empty()).then_some((region, model))
}

/// The cross-region profile whose regions are all of `regions` (two or more).
fn geography(regions: &BTreeSet<&str>) -> &'static str {
    let all = |test: &dyn Fn(&str) -> bool| regions.iter().all(|r| test(r));
    if all(&|r| r.starts_with("us-gov-")) {
        "us-gov"
    } else if all(&|r| r.starts_with("us-") && !r.starts_with("us-gov-")) {
        "us"
    } else if all(&|r| r.starts_with("eu-")) {
        "eu"
    } else if all(&|r| r.starts_with("ca-")) {
        "ca"
    } else if all(&|r| matches!(r, "ap-northeast-1" | "ap-northeast-3")) {
        "jp"
    } else if all(&|r| matches!(r, "ap-southeast-2" | "ap-southeast-4")) {
        "au"
    } else if all(&|r| r.starts_with("ap-")) {
        "apac"
    } else {
        "global"
    }
}

/// The model id a profile is priced as, from the foundation-model ARNs GetInferenceProfile gives.
pub fn priced_model_id<S: AsRef<str>>(model_arns: &[S]) -> Result<String, ProfileModelError> {
    let mut regions = BTreeSet::new();
    let mut models = BTreeSet::new();
    for arn in model_arns {
        let arn = arn.as_ref();
        let (region, model) =
            region_and_model(arn).ok_or_else(|| ProfileModelError::NotAModelArn(arn.to_owned()))?;
        regions.insert(region);
        models.insert(model);
    }
    let model = match models.len() {
        0 => return Err(ProfileModelError::NoModel),
        1 => models.pop_first().unwrap_or_default(),
        _ => {
            return Err(ProfileModelError::SeveralModels(
                models.into_iter().map(str::to_owned).collect(),
            ));
        }
    };
    Ok(if regions.len() == 1 {
        model.to_owned()
    } else {
        format!("{}.{model}", geography(&regions))
    })
}

/// The application inference profiles of a policy's files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedProfiles {
    /// `profiles:` entries: ARN to the model the policy says it runs.
    pub mapped: BTreeMap<String, String>,
    /// ARNs named in scopes, ladders and use cases that no `profiles:` entry maps: what a live
    /// command resolves.
    pub unmapped: BTreeSet<String>,
}

/// The application inference profiles `sources` name. Files that do not parse name none (the
/// loader reports them).
pub fn named_profiles(sources: &[SourceFile]) -> NamedProfiles {
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut mapped = BTreeMap::new();
    for source in sources {
        if crate::policy::is_price_file(&source.name) {
            continue;
        }
        let Ok(file) = serde_yaml::from_slice::<crate::policy::raw::PolicyFile>(&source.bytes)
        else {
            continue;
        };
        mapped.extend(file.profiles);
        for route in file.routes.into_values() {
            named.extend(
                route
                    .ladder
                    .iter()
                    .filter_map(|s| s.model().map(str::to_owned)),
            );
        }
        for budget in file.budgets.into_values() {
            named.extend(budget.scope.models);
            named.extend(budget.usage.into_iter().filter_map(|u| u.model));
        }
    }
    let unmapped = named
        .into_iter()
        .filter(|m| is_application_profile_arn(m) && !mapped.contains_key(m))
        .collect();
    NamedProfiles { mapped, unmapped }
}

/// Whether a model id is an application inference profile's ARN.
pub fn is_application_profile_arn(model_id: &str) -> bool {
    model_id.starts_with("arn:") && model_id.contains(":application-inference-profile/")
}

/// A policy file holding only a `profiles:` map, under `header` (comment lines): what
/// `budget-guard profiles --write` writes.
pub fn profiles_file(profiles: &BTreeMap<String, String>, header: &str) -> String {
    #[derive(serde::Serialize)]
    struct File<'a> {
        version: u32,
        profiles: &'a BTreeMap<String, String>,
    }
    let body = serde_yaml::to_string(&File {
        version: 1,
        profiles,
    })
    .unwrap_or_default();
    let comments: String = header.lines().map(|l| format!("# {l}\n")).collect();
    format!("{comments}{body}")
}

/// The `profiles:` map of a file that holds nothing else (but `version`), or why it is not one.
pub fn parse_profiles_file(text: &str) -> Result<BTreeMap<String, String>, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(rename = "version")]
        _version: u32,
        #[serde(default)]
        profiles: BTreeMap<String, String>,
    }
    serde_yaml::from_str::<File>(text)
        .map(|f| f.profiles)
        .map_err(|e| e.to_string())
}

/// A policy source holding resolved profiles as a `profiles:` map, to load with the policy's own
/// files: validation then prices and checks them as if the policy had written them.
pub fn resolved_profiles_source(resolved: &BTreeMap<String, String>) -> SourceFile {
    SourceFile::new(RESOLVED_PROFILES_SOURCE, profiles_file(resolved, ""))
}

/// Why the mapping the provisioner recorded cannot price the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordedProfilesError {
    #[error(
        "no models are recorded in {parameter} for the application inference profiles the policy names without a `profiles:` entry ({}): the provisioner records them when the stack deploys; deploy again, or record them in the policy with `budget-guard profiles --write`",
        arns.join(", ")
    )]
    Missing {
        parameter: String,
        arns: Vec<String>,
    },
    #[error(
        "the models recorded in {parameter} are older than the policy: they miss {}; the provisioner records them when the stack deploys and on each drift repair",
        arns.join(", ")
    )]
    Stale {
        parameter: String,
        arns: Vec<String>,
    },
    #[error("{parameter} does not hold JSON of profile ARN to model id: {reason}")]
    Unreadable { parameter: String, reason: String },
}

/// The recorded mapping as the provisioner writes it: JSON of ARN to priced model id.
pub fn mapping_json(mapping: &BTreeMap<String, String>) -> String {
    serde_json::to_string(mapping).unwrap_or_default()
}

/// The name under which a mapping recorded in a parameter joins the policy's files.
pub fn recorded_profiles_source_name(parameter: &str) -> String {
    format!("<ssm:{parameter}>")
}

/// The models recorded in `parameter` (its value, `None` when it does not exist) for the ARNs
/// the policy names without a `profiles:` entry, as a `profiles:` source to load with the
/// policy's files. Entries for ARNs the policy no longer names are left out.
pub fn recorded_profiles_source(
    parameter: &str,
    recorded: Option<&str>,
    unmapped: &BTreeSet<String>,
) -> Result<SourceFile, RecordedProfilesError> {
    let Some(text) = recorded else {
        return Err(RecordedProfilesError::Missing {
            parameter: parameter.to_owned(),
            arns: unmapped.iter().cloned().collect(),
        });
    };
    let mut recorded: BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| RecordedProfilesError::Unreadable {
            parameter: parameter.to_owned(),
            reason: e.to_string(),
        })?;
    recorded.retain(|arn, _| unmapped.contains(arn));
    let missing: Vec<String> = unmapped
        .iter()
        .filter(|arn| !recorded.contains_key(*arn))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(RecordedProfilesError::Stale {
            parameter: parameter.to_owned(),
            arns: missing,
        });
    }
    Ok(SourceFile::new(
        recorded_profiles_source_name(parameter),
        profiles_file(&recorded, ""),
    ))
}

/// How a fresh resolution differs from the recorded mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingChanges {
    /// ARNs resolved for the first time, with their model.
    pub added: Vec<(String, String)>,
    /// ARNs whose profile now runs another model: (ARN, recorded, now).
    pub changed: Vec<(String, String, String)>,
    /// ARNs recorded that the policy no longer names.
    pub dropped: Vec<String>,
}

impl MappingChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.dropped.is_empty()
    }
}

/// What recording `resolved` in place of `recorded` changes.
pub fn mapping_changes(
    recorded: &BTreeMap<String, String>,
    resolved: &BTreeMap<String, String>,
) -> MappingChanges {
    let mut changes = MappingChanges::default();
    for (arn, model) in resolved {
        match recorded.get(arn) {
            None => changes.added.push((arn.clone(), model.clone())),
            Some(before) if before != model => {
                changes
                    .changed
                    .push((arn.clone(), before.clone(), model.clone()))
            }
            Some(_) => {}
        }
    }
    changes.dropped = recorded
        .keys()
        .filter(|arn| !resolved.contains_key(*arn))
        .cloned()
        .collect();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";

    fn arn(region: &str) -> String {
        format!("arn:aws:bedrock:{region}::foundation-model/{SONNET}")
    }

    #[test]
    fn one_region_is_the_base_model_and_several_are_their_geography() {
        let priced = |regions: &[&str]| {
            priced_model_id(&regions.iter().map(|r| arn(r)).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(priced(&["us-east-1"]), SONNET);
        assert_eq!(
            priced(&["us-east-1", "us-east-2", "us-west-2"]),
            format!("us.{SONNET}")
        );
        assert_eq!(
            priced(&["eu-central-1", "eu-west-1", "eu-west-3"]),
            format!("eu.{SONNET}")
        );
        assert_eq!(
            priced(&["ap-northeast-1", "ap-northeast-3"]),
            format!("jp.{SONNET}")
        );
        assert_eq!(
            priced(&["ap-southeast-2", "ap-southeast-4"]),
            format!("au.{SONNET}")
        );
        assert_eq!(
            priced(&["ap-northeast-1", "ap-south-1", "ap-southeast-2"]),
            format!("apac.{SONNET}")
        );
        assert_eq!(
            priced(&["us-gov-east-1", "us-gov-west-1"]),
            format!("us-gov.{SONNET}")
        );
        assert_eq!(
            priced(&["ca-central-1", "ca-west-1"]),
            format!("ca.{SONNET}")
        );
        assert_eq!(
            priced(&["us-east-1", "eu-west-1", "ap-northeast-1"]),
            format!("global.{SONNET}")
        );
    }

    #[test]
    fn what_cannot_be_priced_says_why() {
        assert_eq!(
            priced_model_id::<&str>(&[]),
            Err(ProfileModelError::NoModel)
        );
        let other = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0".to_owned();
        assert!(matches!(
            priced_model_id(&[arn("us-east-1"), other]),
            Err(ProfileModelError::SeveralModels(m)) if m.len() == 2
        ));
        let profile =
            "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-pro-v1:0";
        assert_eq!(
            priced_model_id(&[profile]),
            Err(ProfileModelError::NotAModelArn(profile.to_owned()))
        );
    }

    #[test]
    fn the_unmapped_arns_of_a_policy_and_their_source() {
        let mapped = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/mapped";
        let ladder = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/ladder";
        let scope = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/scope";
        let text = format!(
            "version: 1\nprofiles:\n  {mapped}: {SONNET}\nroutes:\n  chat:\n    ladder: [{ladder}, {mapped}]\nbudgets:\n  b:\n    amount: 10\n    period: monthly\n    scope:\n      models: [{scope}, {SONNET}]\n"
        );
        let sources = [SourceFile::new("p.yaml", text)];
        let named = named_profiles(&sources);
        assert_eq!(
            named.mapped,
            BTreeMap::from([(mapped.to_owned(), SONNET.to_owned())])
        );
        let unmapped = named.unmapped;
        assert_eq!(
            unmapped.iter().map(String::as_str).collect::<Vec<_>>(),
            [ladder, scope]
        );

        let (_, unresolved) = crate::policy::load(&sources);
        assert!(
            unresolved
                .iter()
                .any(|d| d.severity == crate::diagnostic::Severity::Error
                    && d.message.contains(ladder)),
            "without the resolved profiles the ARN is unknown: {unresolved:?}"
        );
        let resolved: BTreeMap<String, String> = unmapped
            .into_iter()
            .map(|a| (a, format!("us.{SONNET}")))
            .collect();
        let written = profiles_file(&resolved, "a header");
        assert!(
            written.starts_with("# a header\nversion: 1\nprofiles:\n"),
            "{written}"
        );
        assert_eq!(parse_profiles_file(&written), Ok(resolved.clone()));
        assert!(parse_profiles_file("version: 1\nbudgets: {}\n").is_err());
        let mut all = sources.to_vec();
        all.push(resolved_profiles_source(&resolved));
        let (policy, diagnostics) = crate::policy::load(&all);
        assert!(
            diagnostics
                .iter()
                .all(|d| d.severity != crate::diagnostic::Severity::Error),
            "{diagnostics:?}"
        );
        let policy = policy.expect("loads");
        assert!(policy.catalog().resolve(ladder).is_some());
        assert!(policy.catalog().resolve(scope).is_some());
    }

    #[test]
    fn resolved_at_deploy_an_unmapped_arn_is_a_warning_with_the_same_code() {
        use crate::diagnostic::Severity;
        use crate::policy::{LoadOptions, UnmappedProfiles, codes};
        let scope = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/scope";
        let text = format!(
            "version: 1\nbudgets:\n  b:\n    amount: 10\n    period: monthly\n    scope:\n      models: [{scope}]\n"
        );
        let sources = [SourceFile::new("p.yaml", text)];
        let deferred = LoadOptions {
            unmapped_profiles: UnmappedProfiles::ResolvedAtDeploy,
        };
        let (policy, diagnostics) = crate::policy::load_with(&sources, deferred);
        let found: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.code == codes::UNKNOWN_MODEL)
            .map(|d| (d.severity, d.message.contains(scope)))
            .collect();
        assert_eq!(found, [(Severity::Warning, true)], "{diagnostics:?}");
        assert!(policy.is_some(), "{diagnostics:?}");

        // A model that is no profile ARN stays an error, whatever the option.
        let unknown = "version: 1\nbudgets:\n  b:\n    amount: 10\n    period: monthly\n    scope:\n      models: [acme.no-such-model-v1:0]\n";
        let (policy, diagnostics) =
            crate::policy::load_with(&[SourceFile::new("p.yaml", unknown)], deferred);
        assert!(policy.is_none(), "{diagnostics:?}");
        // So is a `profiles:` entry whose model is unknown.
        let bad_entry = format!(
            "version: 1\nprofiles:\n  {scope}: {scope}\nbudgets:\n  b:\n    amount: 10\n    period: monthly\n    scope:\n      models: [{scope}]\n"
        );
        let (policy, _) =
            crate::policy::load_with(&[SourceFile::new("p.yaml", bad_entry)], deferred);
        assert!(policy.is_none());
    }

    #[test]
    fn a_recorded_mapping_prices_the_policys_arns_or_says_what_it_misses() {
        let a = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a";
        let b = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/b";
        let old = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/old";
        let parameter = "/budget-guard/state/profiles";
        let unmapped: BTreeSet<String> = [a, b].map(str::to_owned).into();
        let recorded = mapping_json(&BTreeMap::from([
            (a.to_owned(), format!("us.{SONNET}")),
            (b.to_owned(), SONNET.to_owned()),
            (old.to_owned(), SONNET.to_owned()),
        ]));
        let source = recorded_profiles_source(parameter, Some(&recorded), &unmapped).unwrap();
        assert_eq!(source.name, "<ssm:/budget-guard/state/profiles>");
        let text = String::from_utf8(source.bytes.clone()).unwrap();
        assert_eq!(
            parse_profiles_file(&text).unwrap(),
            BTreeMap::from([
                (a.to_owned(), format!("us.{SONNET}")),
                (b.to_owned(), SONNET.to_owned())
            ]),
            "the policy's ARNs only"
        );

        let missing = recorded_profiles_source(parameter, None, &unmapped).unwrap_err();
        assert!(matches!(&missing, RecordedProfilesError::Missing { arns, .. } if arns.len() == 2));
        assert!(missing.to_string().contains(parameter), "{missing}");
        let only_a = mapping_json(&BTreeMap::from([(a.to_owned(), SONNET.to_owned())]));
        assert_eq!(
            recorded_profiles_source(parameter, Some(&only_a), &unmapped).unwrap_err(),
            RecordedProfilesError::Stale {
                parameter: parameter.to_owned(),
                arns: vec![b.to_owned()]
            }
        );
        assert!(matches!(
            recorded_profiles_source(parameter, Some("[1]"), &unmapped),
            Err(RecordedProfilesError::Unreadable { .. })
        ));
    }

    #[test]
    fn changes_between_the_recorded_and_the_resolved_mapping() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(a, m)| ((*a).to_owned(), (*m).to_owned()))
                .collect()
        };
        let recorded = map(&[("a", "m1"), ("b", "m2"), ("gone", "m3")]);
        let resolved = map(&[("a", "m1"), ("b", "m4"), ("new", "m5")]);
        let changes = mapping_changes(&recorded, &resolved);
        assert_eq!(changes.added, [("new".to_owned(), "m5".to_owned())]);
        assert_eq!(
            changes.changed,
            [("b".to_owned(), "m2".to_owned(), "m4".to_owned())]
        );
        assert_eq!(changes.dropped, ["gone".to_owned()]);
        assert!(mapping_changes(&resolved, &resolved).is_empty());
    }
}
