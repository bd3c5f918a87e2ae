//! `settings.alarms`: the channels the guard's own alarms reach. A policy that names none is
//! valid but warned about; a Slack channel there needs its AWS Chatbot ids.

use guard_core::diagnostic::{Diagnostic, Severity};
use guard_core::policy::raw::ChatbotChannel;
use guard_core::policy::{ChannelSpec, Policy, SourceFile, load};

fn check(text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
    load(&[SourceFile::new("p.yaml", text)])
}

fn of(diagnostics: &[Diagnostic], severity: Severity) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .collect()
}

const CHANNELS: &str = "channels:
  ops:
    email: [ops@example.com]
  chat:
    slack:
      webhook_secret: budget-guard/slack/chat
      chatbot: {workspace_id: T0123ABCDE, channel_id: C0123ABCDE}
";

#[test]
fn no_alarm_channel_is_valid_with_one_warning_at_the_settings() {
    let (policy, diagnostics) = check(&format!(
        "version: 1\nsettings:\n  currency: USD\n{CHANNELS}"
    ));
    assert!(policy.is_some(), "{diagnostics:#?}");
    let warnings = of(&diagnostics, Severity::Warning);
    assert_eq!(warnings.len(), 1, "{diagnostics:#?}");
    assert!(
        warnings[0].message.contains("reach nobody"),
        "{warnings:#?}"
    );
    assert_eq!((warnings[0].line, warnings[0].column), (2, 1));
}

#[test]
fn without_settings_the_warning_points_at_the_version() {
    let (policy, diagnostics) = check(&format!("version: 1\n{CHANNELS}"));
    assert!(policy.is_some());
    let warnings = of(&diagnostics, Severity::Warning);
    assert_eq!(warnings.len(), 1, "{diagnostics:#?}");
    assert_eq!(warnings[0].line, 1);
}

#[test]
fn an_invalid_policy_shows_its_errors_without_the_alarms_warning() {
    let (policy, diagnostics) = check(&format!(
        "version: 1\nsettings:\n  currency: EUR\n{CHANNELS}"
    ));
    assert!(policy.is_none());
    assert_eq!(
        of(&diagnostics, Severity::Error).len(),
        1,
        "{diagnostics:#?}"
    );
    assert!(
        of(&diagnostics, Severity::Warning).is_empty(),
        "{diagnostics:#?}"
    );
}

#[test]
fn email_and_chatbot_channels_are_taken_and_kept_in_the_model() {
    let (policy, diagnostics) = check(&format!(
        "version: 1\nsettings:\n  alarms: [ops, chat]\n{CHANNELS}"
    ));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let policy = policy.unwrap();
    assert_eq!(policy.settings.alarms, ["ops", "chat"]);
    assert_eq!(
        policy.channels["chat"],
        ChannelSpec::Slack {
            webhook_secret: "budget-guard/slack/chat".into(),
            chatbot: Some(ChatbotChannel {
                workspace_id: "T0123ABCDE".into(),
                channel_id: "C0123ABCDE".into(),
            }),
        }
    );
    // What `export` gives the CDK app.
    let exported = serde_json::to_value(&policy).unwrap();
    assert_eq!(
        exported["settings"]["alarms"],
        serde_json::json!(["ops", "chat"])
    );
    assert_eq!(
        exported["channels"]["chat"]["slack"]["chatbot"]["workspace_id"],
        "T0123ABCDE"
    );
}

#[test]
fn a_slack_channel_without_chatbot_ids_cannot_receive_alarms() {
    let text = "version: 1
settings:
  alarms: [chat]
channels:
  chat:
    slack:
      webhook_secret: budget-guard/slack/chat
";
    let (policy, diagnostics) = check(text);
    assert!(policy.is_none());
    let errors = of(&diagnostics, Severity::Error);
    assert_eq!(errors.len(), 1, "{diagnostics:#?}");
    assert!(
        errors[0].message.contains("no `chatbot:` ids"),
        "{errors:#?}"
    );
    assert_eq!((errors[0].line, errors[0].column), (3, 12));
}
