//! The `channels:` section (Slack, email, Chatbot) and `settings.alarms`, which names one.

use super::*;

pub(super) fn check_channels(
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
pub(super) fn check_chatbot(ctx: &mut Ctx<'_>, origin: &Origin, chatbot: &ChatbotChannel) {
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
pub(super) fn check_alarms(
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
            if listed_again(ctx, &mut seen, channel, &at) {
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

/// Whether a list of channels (a threshold's `notify`, `settings.alarms`) named `channel` before,
/// in `listed`; a repeat is reported here. It is one mistake: the caller checks it no further, so
/// it is never also reported as unknown.
pub(super) fn listed_again<'a>(
    ctx: &mut Ctx<'_>,
    listed: &mut BTreeSet<&'a str>,
    channel: &'a str,
    at: &Origin,
) -> bool {
    if listed.insert(channel) {
        return false;
    }
    ctx.error(
        codes::CHANNEL_LISTED_TWICE,
        at,
        format!("channel `{channel}` is listed twice"),
        "list each channel once",
    );
    true
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
