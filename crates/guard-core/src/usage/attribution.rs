//! Which application a call comes from: a budget scope's `applications` against what an
//! invocation log record says of its caller (the identity ARN, the request metadata, the model id
//! as invoked, which is the application inference profile's ARN when the call went through one).

use crate::policy::ApplicationSpec;
use crate::usage::record::InvocationRecord;

/// Whether the record's call comes from the application.
pub fn made_by(application: &ApplicationSpec, record: &InvocationRecord) -> bool {
    match application {
        ApplicationSpec::Role(role) => record
            .identity_arn
            .as_deref()
            .is_some_and(|caller| role.made(caller)),
        ApplicationSpec::RequestMetadata(pairs) => pairs
            .iter()
            .all(|(k, v)| record.request_metadata.get(k) == Some(v)),
        ApplicationSpec::InferenceProfile(arn) => record.model_id == *arn,
    }
}

/// Whether a scope naming `applications` counts the record: any one of them made it; a scope
/// that names none counts every caller.
pub fn counts_caller(applications: &[ApplicationSpec], record: &InvocationRecord) -> bool {
    applications.is_empty() || applications.iter().any(|a| made_by(a, record))
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;
    use crate::usage::meter::budgets_for;
    use crate::usage::record::parse_record;
    use serde_json::{Value, json};

    const SONNET_US: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const PROFILE: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6";

    /// Four watched budgets on the same model, each naming its application another way, and one
    /// that names none.
    fn policy() -> Policy {
        let yaml = format!(
            r#"
version: 1
profiles:
  "{PROFILE}": {SONNET_US}
budgets:
  chatbot:
    amount: 100
    period: monthly
    watch: true
    scope:
      models: [{SONNET_US}]
      applications:
        - role: arn:aws:iam::123456789012:role/apps/chatbot
  search:
    amount: 100
    period: monthly
    watch: true
    scope:
      models: [{SONNET_US}]
      applications:
        - request_metadata: {{ app: search, tier: prod }}
  agents:
    amount: 100
    period: monthly
    watch: true
    scope:
      models: [{SONNET_US}, "{PROFILE}"]
      applications:
        - inference_profile: "{PROFILE}"
  tagged:
    amount: 100
    period: monthly
    watch: true
    scope:
      tags: {{ app: [reports] }}
      models: [{SONNET_US}]
      applications:
        - request_metadata: {{ app: reports }}
        - role: arn:aws:iam::123456789012:role/reports
  everyone:
    amount: 1000
    period: monthly
    watch: true
    scope:
      models: [{SONNET_US}, "{PROFILE}"]
"#
        );
        crate::testing::policy::checked(&yaml)
    }

    fn record(caller: Option<&str>, model_id: &str, metadata: Option<Value>) -> String {
        let mut r = json!({
            "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
            "timestamp": "2026-11-20T14:00:03Z", "accountId": "123456789012",
            "region": "us-east-1", "requestId": "r1", "modelId": model_id,
            "input": {"inputTokenCount": 100}, "output": {"outputTokenCount": 10}
        });
        if let Some(arn) = caller {
            r["identity"] = json!({ "arn": arn });
        }
        if let Some(m) = metadata {
            r["requestMetadata"] = m;
        }
        r.to_string()
    }

    fn counted_by(p: &Policy, message: &str) -> Vec<String> {
        let record = parse_record(message).unwrap();
        budgets_for(p, &record)
            .into_iter()
            .map(|b| b.key.clone())
            .collect()
    }

    #[test]
    fn a_session_of_the_named_role_counts_for_its_budget_whatever_the_role_path() {
        let p = policy();
        let session = "arn:aws:sts::123456789012:assumed-role/chatbot/i-0abc";
        assert_eq!(
            counted_by(&p, &record(Some(session), SONNET_US, None)),
            ["chatbot", "everyone"]
        );
        // Another role, the same role in another account, an IAM user: not the chatbot's.
        for other in [
            "arn:aws:sts::123456789012:assumed-role/chatbot-admin/i-0abc",
            "arn:aws:sts::210987654321:assumed-role/chatbot/i-0abc",
            "arn:aws:iam::123456789012:user/chatbot",
        ] {
            assert_eq!(
                counted_by(&p, &record(Some(other), SONNET_US, None)),
                ["everyone"],
                "{other}"
            );
        }
    }

    #[test]
    fn request_metadata_counts_when_every_named_pair_is_sent() {
        let p = policy();
        let both = json!({"app": "search", "tier": "prod", "user": "u-17"});
        assert_eq!(
            counted_by(&p, &record(None, SONNET_US, Some(both))),
            ["everyone", "search"]
        );
        for partial in [
            json!({"app": "search"}),
            json!({"app": "search", "tier": "dev"}),
            json!({"App": "search", "tier": "prod"}),
        ] {
            assert_eq!(
                counted_by(&p, &record(None, SONNET_US, Some(partial.clone()))),
                ["everyone"],
                "{partial}"
            );
        }
    }

    #[test]
    fn a_record_without_request_metadata_or_identity_counts_only_where_no_application_is_named() {
        let p = policy();
        assert_eq!(counted_by(&p, &record(None, SONNET_US, None)), ["everyone"]);
    }

    #[test]
    fn a_call_through_the_application_profile_counts_for_its_budget() {
        let p = policy();
        assert_eq!(
            counted_by(&p, &record(None, PROFILE, None)),
            ["agents", "everyone"]
        );
        // The same model called directly is not the profile's application.
        assert_eq!(counted_by(&p, &record(None, SONNET_US, None)), ["everyone"]);
    }

    #[test]
    fn a_budget_scoped_by_tag_counts_the_calls_of_any_of_its_applications() {
        let p = policy();
        let by_role = record(
            Some("arn:aws:sts::123456789012:assumed-role/reports/nightly"),
            SONNET_US,
            None,
        );
        let by_metadata = record(None, SONNET_US, Some(json!({"app": "reports"})));
        assert_eq!(counted_by(&p, &by_role), ["everyone", "tagged"]);
        assert_eq!(counted_by(&p, &by_metadata), ["everyone", "tagged"]);
        // Its application on a model outside its scope does not count.
        let other_model = record(
            None,
            "amazon.nova-lite-v1:0",
            Some(json!({"app": "reports"})),
        );
        assert!(counted_by(&p, &other_model).is_empty());
    }
}
