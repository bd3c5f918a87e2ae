// The guard's own alarms and the people they reach: a topic of its own with unfiltered
// subscriptions for the channels `settings.alarms` names, kept apart from the notify topic, whose
// email subscriptions carry a `channel` filter policy that no alarm message would ever match. A team
// that already routes alarms somewhere brings its own topic instead.

import { createHash } from 'node:crypto';
import { Annotations, Aws, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTION_SPECS } from './guard-function';
import { FUNCTION_NAMES, type FunctionName } from './iam';
import { METRICS_NAMESPACE } from './metrics';
import type { ChatbotChannel, ExportedPolicy } from './policy';
import { restrictPublishers } from './topic-policy';

/** The spend watcher counts as stopped after this long without an invocation, at the least. */
export const HEARTBEAT_MINUTES = 15;
/** An event that waited this long before the alert handler took it means flags change late. */
export const EVENT_AGE_ALARM_MINUTES = 15;
/** Throttles in this many consecutive 5-minute periods: the one-writer queue is not draining. */
export const THROTTLE_PERIODS = 3;

/**
 * Minutes between two runs of a schedule as `parseSchedule` takes it (`5 minutes`, `rate(1 hour)`),
 * or undefined for a cron expression, whose gaps vary.
 */
export function scheduleMinutes(spec: string): number | undefined {
  const s = spec.trim();
  const m = /^(?:rate\()?\s*(\d+)\s*(minute|minutes|min|m|hour|hours|h|day|days|d)\s*\)?$/i.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  if (unit.startsWith('m')) return n;
  if (unit.startsWith('h')) return n * 60;
  return n * 1440;
}

/**
 * How long without a spend-watcher invocation means it stopped: 15 minutes, or three runs when it
 * runs less often than every 5 minutes; a day for a cron schedule. CloudWatch evaluates one
 * period of at most a day.
 */
export function heartbeatMinutes(spendWatcherRate: string): number {
  const every = scheduleMinutes(spendWatcherRate);
  if (every === undefined) return 1440;
  return Math.min(1440, Math.max(HEARTBEAT_MINUTES, 3 * every));
}

/** The email addresses and the Chatbot channels that `settings.alarms` names, in policy order. */
export function alarmRecipients(policy: ExportedPolicy): {
  emails: string[];
  slack: Array<{ channel: string; chatbot: ChatbotChannel }>;
} {
  const emails: string[] = [];
  const seen = new Set<string>();
  const slack: Array<{ channel: string; chatbot: ChatbotChannel }> = [];
  for (const name of policy.settings.alarms) {
    const c = policy.channels[name];
    if (c === undefined) throw new Error(`settings.alarms names channel ${name}, which the exported policy lacks`);
    if ('email' in c) {
      for (const a of c.email.addresses) {
        if (seen.has(a.toLowerCase())) continue;
        seen.add(a.toLowerCase());
        emails.push(a);
      }
    } else if (c.slack.chatbot) {
      slack.push({ channel: name, chatbot: c.slack.chatbot });
    } else {
      // `validate` refuses this; the stack says so too rather than drop a channel silently.
      throw new Error(`settings.alarms names Slack channel ${name}, which has no chatbot ids`);
    }
  }
  return { emails, slack };
}

export interface GuardAlarmsProps {
  readonly policy: ExportedPolicy;
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  readonly deadLetterQueue: sqs.IQueue;
  /** The spend watcher's schedule: its heartbeat window follows it. */
  readonly spendWatcherSchedule: events.Schedule;
  readonly removalPolicy: RemovalPolicy;
  /** Prefix of the Chatbot configuration names, unique per account (the stack name). */
  readonly namePrefix: string;
  /**
   * A topic of the team's own for the alarms. Then the guard makes no alarms topic, and the
   * channels of `settings.alarms` are not subscribed: the team's topic already reaches its people.
   */
  readonly alarmTopic?: sns.ITopic;
}

export class GuardAlarms extends Construct {
  /** Where every alarm goes: the guard's alarms topic, or the team's `alarmTopic`. */
  readonly topic: sns.ITopic;
  /** The alarms topic's key; undefined with a team's `alarmTopic`. */
  readonly key: kms.Key | undefined;
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly emailSubscriptions: readonly sns.Subscription[];
  readonly slackChannels: readonly chatbot.SlackChannelConfiguration[];

  constructor(scope: Construct, id: string, props: GuardAlarmsProps) {
    super(scope, id);
    if (props.alarmTopic) {
      this.topic = props.alarmTopic;
      this.key = undefined;
      this.emailSubscriptions = [];
      this.slackChannels = [];
      if (props.policy.settings.alarms.length > 0) {
        Annotations.of(this).addInfo(
          `settings.alarms (${props.policy.settings.alarms.join(', ')}) is not subscribed: the alarms go to the alarmTopic given`,
        );
      }
    } else {
      const own = this.ownTopic(props);
      this.topic = own.topic;
      this.key = own.key;
      this.emailSubscriptions = own.emailSubscriptions;
      this.slackChannels = own.slackChannels;
    }
    this.alarms = this.addAlarms(props);
  }

  private ownTopic(props: GuardAlarmsProps): {
    topic: sns.Topic;
    key: kms.Key;
    emailSubscriptions: sns.Subscription[];
    slackChannels: chatbot.SlackChannelConfiguration[];
  } {
    // CloudWatch alarms cannot publish to a topic encrypted with the AWS managed aws/sns key, so it
    // gets a key of its own. The key statement is the one AWS documents for alarms, without source
    // conditions: AWS does not document that CloudWatch sends them to KMS, and a condition it does
    // not send would drop every alarm without a trace. Who may publish is the topic policy's job.
    const key = new kms.Key(this, 'TopicKey', {
      description: "Budget Guard: encrypts the alarms topic (the guard's own alarms)",
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'Topic', {
      displayName: 'Budget Guard alarms',
      masterKey: key,
      enforceSSL: true,
    });
    const thisAccountsAlarms = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`;
    // Nothing but this account's CloudWatch alarms publishes here: a false alarm from anyone else
    // is noise that teaches people to ignore the real ones.
    restrictPublishers(topic, {
      service: { principal: 'cloudwatch.amazonaws.com', sourceArns: [thisAccountsAlarms] },
      roles: [],
    });

    // People. Email subscriptions are made here, by CloudFormation, not by the provisioner: the
    // alarms must reach someone when the provisioner is the function failing, and before its first
    // run ever succeeded. CloudFormation subscribes an address once (one confirmation email) and
    // never re-sends on later deploys. No filter policy: every alarm goes to every subscriber.
    const { emails, slack } = alarmRecipients(props.policy);
    const emailSubscriptions = emails.map(
      (address) =>
        new sns.Subscription(this, `Email${createHash('sha256').update(address.toLowerCase()).digest('hex').slice(0, 12)}`, {
          topic,
          protocol: sns.SubscriptionProtocol.EMAIL,
          endpoint: address,
        }),
    );
    // Slack through AWS Chatbot: AWS delivers from the topic to the channel, with no code of the
    // guard's on the way, so a failing alert handler, a broken build or a revoked webhook does not
    // silence the alarm that reports it.
    const guardrail =
      slack.length > 0
        ? new iam.ManagedPolicy(this, 'ChatbotGuardrail', {
            description: 'Budget Guard: the alarm channels only receive notifications; no AWS action from Slack',
            statements: [new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['*'], resources: ['*'] })],
          })
        : undefined;
    const slackChannels = slack.map(({ channel, chatbot: ids }) => {
      const config = new chatbot.SlackChannelConfiguration(this, `Slack-${channel}`, {
        slackChannelConfigurationName: `${props.namePrefix}-alarms-${channel}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 128),
        slackWorkspaceId: ids.workspace_id,
        slackChannelId: ids.channel_id,
        notificationTopics: [topic],
        loggingLevel: chatbot.LoggingLevel.ERROR,
        guardrailPolicies: [guardrail!],
      });
      return config;
    });
    return { topic, key, emailSubscriptions, slackChannels };
  }

  private addAlarms(props: GuardAlarmsProps): Record<string, cloudwatch.Alarm> {
    const action = new cwActions.SnsAction(this.topic);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, alarmProps);
      alarm.addAlarmAction(action);
      alarms[alarmId] = alarm;
    };
    for (const name of FUNCTION_NAMES) {
      add(`${FUNCTION_SPECS[name].id}Errors`, {
        alarmDescription: `Budget Guard ${name} failed (Lambda Errors >= 1 in 5 minutes)`,
        metric: props.functions[name].metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    // The spend watcher's heartbeat is its Lambda Invocations: published for every run whatever
    // the budgets are (its EstimatedSpend is per watched budget, published only when a budget is
    // due, and absent altogether when no budget is watched), free, and with no code of the watcher
    // to trust. No datapoint at all is the stopped case, so missing data breaches. A watcher that
    // runs but fails is the Errors alarm's.
    const heartbeat = heartbeatMinutes(props.spendWatcherSchedule.expressionString);
    add('SpendWatcherStopped', {
      alarmDescription: `Budget Guard spend-watcher has not run for ${heartbeat} minutes (no Lambda Invocations): spend is not being watched`,
      metric: props.functions['spend-watcher'].metricInvocations({ period: Duration.minutes(heartbeat), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // The alert handler runs one at a time (reserved concurrency 1): a burst is throttled and
    // queued by Lambda, which is normal. Throttles for 15 minutes running, or an event that waited
    // 15 minutes, mean flags and alerts are late.
    const handler = props.functions['alert-handler'];
    add('AlertHandlerThrottled', {
      alarmDescription: `Budget Guard alert-handler throttled in ${THROTTLE_PERIODS} consecutive 5-minute periods: alerts queue up behind it`,
      metric: handler.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: THROTTLE_PERIODS,
      datapointsToAlarm: THROTTLE_PERIODS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('AlertHandlerEventAge', {
      alarmDescription: `Budget Guard alert-handler took an event that had waited ${EVENT_AGE_ALARM_MINUTES} minutes or more (AsyncEventAge): flags change late`,
      metric: handler.metric('AsyncEventAge', { period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: EVENT_AGE_ALARM_MINUTES * 60 * 1000,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    add('DeadLetterQueueDepth', {
      alarmDescription:
        'Budget Guard: events the guard failed to handle are waiting in the dead-letter queue (budget-guard dlq list, then dlq replay)',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // The provisioner's weekly price check counts the figures of the policy's models that the AWS
    // Price List gives more than 1% otherwise; the details are in its log and in `budget-guard
    // prices refresh`. One datapoint a week: no data in between is not a breach.
    add('PricesChanged', {
      alarmDescription:
        'Budget Guard: Bedrock prices of models the policy uses changed by more than 1% in the AWS Price List; estimates and the spend watcher price with the old figures (run budget-guard prices refresh --write policies/prices.yaml, review, deploy)',
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'PriceChanges',
        period: Duration.days(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return alarms;
  }
}
