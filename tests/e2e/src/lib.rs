//! The whole guard on one machine, as it runs in AWS: the three function binaries under a local
//! Lambda runtime API, the AWS emulator (Budgets, SNS, SSM, Secrets Manager, CloudWatch) and a
//! local Slack listener. The alerts topic delivers to an HTTP endpoint here, which hands each
//! message to the alert handler as the Lambda event SNS would build.
//!
//! The demo (`make demo`) and the end-to-end tests tell the same story through this stage.
//!
//! The functions and the CLI run on the stage's [`FakeClock`]: a story happens on the dates it
//! names, whatever today's date is. Move it with [`Stage::set_clock`]; the ticks set it to their
//! own time, as the schedule would run them.

pub mod fast_path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeZone, Utc};
use guard_testkit::{
    Emulator, FakeClock, HttpRecorder, Invocation, LocalLambda, Script, SlackListener, sns_event,
    workspace_root,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

pub const FUNCTIONS: [&str; 3] = ["provisioner", "alert-handler", "spend-watcher"];
/// The stack the stage stands for: its name owns the budgets the guard makes here.
pub const STACK_NAME: &str = "BudgetGuard";
pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/BudgetGuard/00000000-0000-4000-8000-000000000001";
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// The model of the example chatbot route's top rung.
pub const SONNET_4_5: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
/// Where the stage's provisioner would record the models of application inference profiles.
pub const PROFILES_PARAMETER: &str = "/budget-guard/state/profiles";

/// A function binary of the workspace, built by `cargo build --workspace`.
pub fn function_binary(name: &str) -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let profile = std::env::var("BUDGET_GUARD_PROFILE").unwrap_or_else(|_| "debug".into());
    let path = target.join(profile).join(name);
    if !path.exists() {
        bail!(
            "{} is not built; run `cargo build --workspace` first",
            path.display()
        );
    }
    Ok(path)
}

#[derive(Debug)]
pub struct StageOptions {
    pub policy_dir: PathBuf,
    pub slack: Script,
    /// Where the stage's clock starts.
    pub clock_start: DateTime<Utc>,
    /// The models of the application inference profiles the policy names without a `profiles:`
    /// entry (ARN to model id), as the provisioner records them at deploy. When there are any,
    /// they are in [`PROFILES_PARAMETER`] before the functions start, and every function is told
    /// its name, as the stack does.
    pub recorded_profiles: BTreeMap<String, String>,
}

/// When the stories start: 20 November 2026, 09:00 UTC.
pub fn story_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

impl Default for StageOptions {
    fn default() -> Self {
        StageOptions {
            policy_dir: workspace_root().join("policies"),
            slack: Script::always(200),
            clock_start: story_start(),
            recorded_profiles: BTreeMap::new(),
        }
    }
}

/// Everything the guard talks to, and the guard itself.
#[derive(Debug)]
pub struct Stage {
    pub aws: Emulator,
    pub slack: SlackListener,
    pub config: aws_config::SdkConfig,
    pub alerts_topic_arn: String,
    pub notify_topic_arn: String,
    pub policy_dir: PathBuf,
    pub policy: guard_core::policy::Policy,
    /// The clock of the functions and the CLI.
    pub clock: FakeClock,
    sns_bridge: HttpRecorder,
    delivered: Mutex<usize>,
    last_event: Mutex<Option<Value>>,
    pub provisioner: LocalLambda,
    pub alert_handler: LocalLambda,
    pub spend_watcher: LocalLambda,
    function_env: Vec<(String, String)>,
}

impl Stage {
    pub async fn start(options: StageOptions) -> Result<Stage> {
        let aws = Emulator::start()?;
        let slack = SlackListener::start(options.slack)?;
        let config = aws.sdk_config().await;
        let sns = aws_sdk_sns::Client::new(&config);
        let alerts_topic_arn = create_topic(&sns, "budget-guard-alerts").await?;
        let notify_topic_arn = create_topic(&sns, "budget-guard-notify").await?;

        // The policy as the functions load it: with the recorded profiles, when it needs them.
        let profiles = (!options.recorded_profiles.is_empty()).then(|| {
            guard_aws::ssm::profile_mapping::ProfileMapping::from_config(
                &config,
                PROFILES_PARAMETER,
            )
        });
        if let Some(mapping) = &profiles {
            mapping
                .write(&options.recorded_profiles)
                .await
                .context("recording the application inference profiles")?;
        }
        let policy =
            guard_aws::wiring::env::load_deployed_policy(&options.policy_dir, profiles.as_ref())
                .await?;

        // The Slack webhook secrets hold the listener's URL, as an operator would put the real one.
        for channel in policy.channels.values() {
            if let guard_core::policy::ChannelSpec::Slack { webhook_secret, .. } = channel {
                aws.create_webhook_secret(webhook_secret, &slack.url())
                    .await?;
            }
        }

        let sns_bridge = HttpRecorder::start_at("/sns/alert-handler", Script::always(200))?;
        sns.subscribe()
            .topic_arn(&alerts_topic_arn)
            .protocol("http")
            .endpoint(sns_bridge.url())
            .send()
            .await
            .context("subscribing the alert handler to the alerts topic")?;

        let clock = FakeClock::start(options.clock_start)?;
        let mut env = aws.env_vars();
        env.extend(function_settings(
            &options.policy_dir,
            &alerts_topic_arn,
            &notify_topic_arn,
        ));
        env.extend(clock.env_vars());
        if profiles.is_some() {
            env.push((
                guard_aws::wiring::env::PROFILES_PARAMETER_ENV.to_owned(),
                PROFILES_PARAMETER.to_owned(),
            ));
        }
        let start = |name: &str| {
            let lambda = LocalLambda::start(&function_binary(name)?, name, &env)?;
            lambda.use_clock(&clock);
            anyhow::Ok(lambda)
        };
        Ok(Stage {
            provisioner: start("provisioner")?,
            alert_handler: start("alert-handler")?,
            spend_watcher: start("spend-watcher")?,
            clock,
            aws,
            slack,
            config,
            alerts_topic_arn,
            notify_topic_arn,
            policy_dir: options.policy_dir,
            policy,
            sns_bridge,
            delivered: Mutex::new(0),
            last_event: Mutex::new(None),
            function_env: env,
        })
    }

    /// The environment the functions run with here: the emulator's AWS settings, the stack's
    /// variables and the clock's.
    pub fn function_env(&self) -> Vec<(String, String)> {
        self.function_env.clone()
    }

    /// Moves the clock of the functions and the CLI to `at`.
    pub fn set_clock(&self, at: DateTime<Utc>) -> Result<()> {
        self.clock.set(at)
    }

    /// Hands every message the alerts topic delivered since the last call to the alert handler,
    /// one Lambda event per message as SNS does, and returns the handler's answers.
    pub async fn deliver_alerts(&self) -> Result<Vec<Result<Value, Value>>> {
        Ok(self
            .deliver_alert_invocations()
            .await?
            .into_iter()
            .map(|i| i.result)
            .collect())
    }

    /// [`Stage::deliver_alerts`], with how long each invocation took.
    pub async fn deliver_alert_invocations(&self) -> Result<Vec<Invocation>> {
        let requests = self.sns_bridge.requests();
        let start = {
            let mut delivered = self
                .delivered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let start = *delivered;
            *delivered = requests.len();
            start
        };
        let mut invocations = Vec::new();
        for request in &requests[start..] {
            let notification = request
                .json
                .clone()
                .context("SNS delivered a body that is not JSON")?;
            let event = event_of_notification(&notification);
            *self
                .last_event
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(event.clone());
            invocations.push(self.alert_handler.invoke(&event, INVOKE_TIMEOUT).await?);
        }
        Ok(invocations)
    }

    /// The Lambda event of the last message delivered to the alert handler, to deliver it again
    /// as SNS does when it retries.
    pub fn last_alert_event(&self) -> Option<Value> {
        self.last_event
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Publishes `message` on the alerts topic, as AWS Budgets does, and delivers it.
    pub async fn publish_alert(
        &self,
        subject: &str,
        message: &str,
    ) -> Result<Vec<Result<Value, Value>>> {
        aws_sdk_sns::Client::new(&self.config)
            .publish()
            .topic_arn(&self.alerts_topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .context("publishing on the alerts topic")?;
        self.deliver_alerts().await
    }

    /// The routing flag of `route`, if it has been written.
    pub async fn flag(&self, route: &str) -> Result<Option<Value>> {
        let parameter = &self
            .policy
            .routes
            .get(route)
            .context("no such route")?
            .parameter;
        let ssm = aws_sdk_ssm::Client::new(&self.config);
        match ssm.get_parameter().name(parameter).send().await {
            Ok(out) => {
                let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
                Ok(Some(
                    serde_json::from_str(value).context("a flag that is not JSON")?,
                ))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => Err(e).context("reading a flag"),
        }
    }

    /// The model a route runs on now: its flag's model, or the top of its ladder.
    pub async fn model_of(&self, route: &str) -> Result<String> {
        let top = self
            .policy
            .routes
            .get(route)
            .context("no such route")?
            .model_at(1)
            .to_owned();
        Ok(self
            .flag(route)
            .await?
            .and_then(|f| f.get("model_id").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(top))
    }

    /// Everything published on the notify topic (the email channel's messages).
    pub async fn emails(&self) -> Result<Vec<guard_testkit::SnsPublished>> {
        self.aws.sns_published(&self.notify_topic_arn).await
    }
}

/// The variables the stack gives the functions.
fn function_settings(
    policy_dir: &std::path::Path,
    alerts_topic_arn: &str,
    notify_topic_arn: &str,
) -> Vec<(String, String)> {
    [
        ("BUDGET_GUARD_POLICY_DIR", policy_dir.display().to_string()),
        ("BUDGET_GUARD_ALERTS_TOPIC_ARN", alerts_topic_arn.to_owned()),
        ("BUDGET_GUARD_NOTIFY_TOPIC_ARN", notify_topic_arn.to_owned()),
        ("BUDGET_GUARD_METRICS_NAMESPACE", "BudgetGuard".to_owned()),
        ("BUDGET_GUARD_STACK_NAME", STACK_NAME.to_owned()),
        ("BUDGET_GUARD_STACK_ID", STACK_ID.to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The Lambda event SNS builds from one HTTP notification body.
pub fn event_of_notification(notification: &Value) -> Value {
    let text = |key: &str| {
        notification
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let subject = notification.get("Subject").and_then(Value::as_str);
    sns_event(
        &text("TopicArn"),
        &text("MessageId"),
        subject,
        &text("Message"),
        &text("Timestamp"),
    )
}

/// An EventBridge scheduled event as the stack's rules send it, at `time`.
pub fn scheduled_event(detail_type: &str, time: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-4000-8000-00000000000a",
        "detail-type": detail_type,
        "source": "budget-guard.schedule",
        "account": guard_testkit::ACCOUNT_ID,
        "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": [],
        "detail": {}
    })
}

/// Creates an SNS topic in the stage's account (another deployment's topics, say); its ARN.
pub async fn create_topic(sns: &aws_sdk_sns::Client, name: &str) -> Result<String> {
    let out = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .with_context(|| format!("creating topic {name}"))?;
    out.topic_arn()
        .map(str::to_owned)
        .context("CreateTopic returned no ARN")
}

/// What a run of the `budget-guard` CLI printed.
#[derive(Debug)]
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Stage {
    /// Runs the `budget-guard` CLI against this stage's AWS, as an operator would.
    pub fn cli(&self, args: &[&str]) -> Result<CliRun> {
        let binary = function_binary("budget-guard")?;
        let output = std::process::Command::new(binary)
            .args(args)
            .current_dir(workspace_root())
            .envs(self.aws.env_vars())
            .env("BUDGET_GUARD_ALERTS_TOPIC_ARN", &self.alerts_topic_arn)
            .env("BUDGET_GUARD_NOTIFY_TOPIC_ARN", &self.notify_topic_arn)
            .env("BUDGET_GUARD_STACK_NAME", STACK_NAME)
            .envs(self.clock.env_vars())
            .env_remove("FAKETIME")
            // `flags` commands go to the alert handler, through the Invoke API its local runtime
            // API serves.
            .env(
                "AWS_ENDPOINT_URL_LAMBDA",
                self.alert_handler.invoke_endpoint(),
            )
            .env("BUDGET_GUARD_ALERT_HANDLER", "alert-handler")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(std::process::Stdio::null())
            .output()
            .context("running budget-guard")?;
        Ok(CliRun {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Puts Bedrock token counts for `model_id` into the emulator's CloudWatch, one data point per
    /// metric at `at`, as Bedrock publishes them in namespace `AWS/Bedrock`.
    pub async fn seed_tokens(
        &self,
        model_id: &str,
        input_tokens: f64,
        output_tokens: f64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.aws
            .put_bedrock_metrics(
                model_id,
                &[
                    ("InputTokenCount", input_tokens),
                    ("OutputTokenCount", output_tokens),
                    ("Invocations", 1.0),
                ],
                at,
            )
            .await
            .context("seeding Bedrock token metrics")
    }

    /// The example policy's chatbot budget at 92% of its $500: 10M input and 26M output tokens on
    /// Sonnet 4.5 ($3.30 and $16.50 a million, so $462), published three minutes before `now`.
    pub async fn seed_chatbot_at_92_percent(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.seed_tokens(
            SONNET_4_5,
            10_000_000.0,
            26_000_000.0,
            now - chrono::Duration::minutes(3),
        )
        .await
    }

    /// Runs the spend watcher once, as its schedule does, at `now`, then delivers what it published.
    pub async fn spend_tick(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Value, Vec<Result<Value, Value>>)> {
        self.set_clock(now)?;
        let answer = self
            .spend_watcher
            .invoke(&scheduled_event("spend-tick", now), INVOKE_TIMEOUT)
            .await?
            .result
            .map_err(|e| anyhow::anyhow!("the spend watcher failed: {e}"))?;
        Ok((answer, self.deliver_alerts().await?))
    }

    /// The alert handler's roll-over tick at `now`.
    pub async fn rollover_tick(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<Value, Value>> {
        self.set_clock(now)?;
        Ok(self
            .alert_handler
            .invoke(&scheduled_event("rollover-tick", now), INVOKE_TIMEOUT)
            .await?
            .result)
    }

    /// The provisioner's scheduled drift repair.
    pub async fn drift_repair(&self) -> Result<Result<Value, Value>> {
        let now = self.clock.now();
        Ok(self
            .provisioner
            .invoke(&scheduled_event("drift-repair", now), INVOKE_TIMEOUT)
            .await?
            .result)
    }
}
