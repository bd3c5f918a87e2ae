//! The account the alert handler finds when the example policy is deployed: the emulator, a Slack
//! listener behind the example's webhook secret, and the notify topic that email goes through.

use crate::{EXAMPLE_WEBHOOK_SECRET, Emulator, Script, SlackListener};
use anyhow::Result;

/// What the alert handler of the example policy needs in an account, set up.
#[derive(Debug)]
pub struct ExampleAlertAccount {
    pub aws: Emulator,
    /// The example policy's `platform-alerts` channel, answering by the script it started with.
    pub slack: SlackListener,
    /// The ARN of the notify topic, `budget-guard-notify`.
    pub notify_topic: String,
}

impl ExampleAlertAccount {
    /// A fresh emulator with the webhook secret and the notify topic, and a Slack listener that
    /// answers by `slack_script`.
    pub async fn start(slack_script: Script) -> Result<Self> {
        let aws = Emulator::start()?;
        let slack = SlackListener::start(slack_script)?;
        aws.create_webhook_secret(EXAMPLE_WEBHOOK_SECRET, &slack.url())
            .await?;
        let notify_topic = aws.create_topic("budget-guard-notify").await?;
        Ok(ExampleAlertAccount {
            aws,
            slack,
            notify_topic,
        })
    }
}
