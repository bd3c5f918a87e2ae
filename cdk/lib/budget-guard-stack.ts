import * as path from 'node:path';
import {
  Aws,
  CfnOutput,
  CustomResource,
  Duration,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import type { Construct } from 'constructs';
import { GuardAlarms } from './alarms';
import { REPO_ROOT } from './cli';
import { buildDashboard } from './dashboard';
import {
  topicPublishers,
  FUNCTION_NAMES,
  statementsFor,
  WILDCARD_REASONS,
  type FunctionName,
  type ResourceContext,
} from './iam';
import { restrictPublishers } from './topic-policy';
import { loadPolicy, slackSecretNames, stagePolicyLayer, type LoadedPolicy } from './policy';

export const METRICS_NAMESPACE = 'BudgetGuard';
export const POLICY_MOUNT = '/opt/policy';
/** `source` of the scheduled events the guard sends itself. */
export const SCHEDULE_SOURCE = 'budget-guard.schedule';

export interface BudgetGuardStackProps extends StackProps {
  /** The policy directory (absolute, or relative to the `cdk/` directory). */
  readonly policyDir: string;
  /** Create the Slack webhook secrets the policy names (empty), or only reference them by name. */
  readonly createSecrets?: boolean;
  /** How often the spend watcher runs: `1 minute`, `5 minutes`, `rate(...)` or `cron(...)`. */
  readonly spendWatcherRate?: string;
  /** Days to keep the functions' logs; one of CloudWatch Logs' allowed values. */
  readonly logRetentionDays?: number;
  /** Cargo profile cargo-lambda builds the functions with. */
  readonly cargoProfile?: string;
}

interface FunctionSpec {
  readonly id: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly reservedConcurrentExecutions?: number;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

const FUNCTIONS: Readonly<Record<FunctionName, FunctionSpec>> = {
  provisioner: {
    id: 'Provisioner',
    description: 'Budget Guard: reconciles AWS Budgets and email subscriptions with the policy (deploy and drift repair)',
    timeout: Duration.minutes(5),
    memorySize: 256,
    // A deploy's reconcile and the scheduled drift repair never run at once: two applies racing
    // would both create what is missing, and the second would fail on duplicates.
    reservedConcurrentExecutions: 1,
    retryAttempts: 2,
    maxEventAge: Duration.hours(1),
  },
  'alert-handler': {
    id: 'AlertHandler',
    description: 'Budget Guard: the one writer of routing flags; takes budget alerts and the period roll-over tick',
    timeout: Duration.minutes(1),
    memorySize: 256,
    // One writer: two alerts that land together are handled one after the other, so a flag can never
    // end up less downgraded than the highest threshold crossed.
    reservedConcurrentExecutions: 1,
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
  },
  'spend-watcher': {
    id: 'SpendWatcher',
    description: 'Budget Guard: estimates spend from Bedrock token metrics and raises early alerts',
    timeout: Duration.seconds(50),
    memorySize: 256,
    // Ticks never overlap, so one crossing is never published twice by two runs at once.
    reservedConcurrentExecutions: 1,
    // A tick that failed is not worth replaying: the next one (a minute later) sees newer metrics.
    retryAttempts: 0,
    maxEventAge: Duration.minutes(5),
  },
};

/** Parses `1 minute`, `5 minutes`, `2 hours`, `1 day`, `rate(...)` or `cron(...)`. */
export function parseSchedule(spec: string): events.Schedule {
  const s = spec.trim();
  if (/^(rate|cron)\(.+\)$/.test(s)) return events.Schedule.expression(s);
  const m = /^(\d+)\s*(minute|minutes|min|m|hour|hours|h|day|days|d)$/i.exec(s);
  if (!m) {
    throw new Error(`spendWatcherRate "${spec}": expected e.g. "1 minute", "5 minutes", "rate(...)" or "cron(...)"`);
  }
  const n = Number(m[1]);
  if (n < 1) throw new Error(`spendWatcherRate "${spec}": must be at least 1 minute`);
  const unit = m[2]!.toLowerCase();
  if (unit.startsWith('m')) return events.Schedule.rate(Duration.minutes(n));
  if (unit.startsWith('h')) return events.Schedule.rate(Duration.hours(n));
  return events.Schedule.rate(Duration.days(n));
}

function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days)) {
    throw new Error(`logRetentionDays ${days}: CloudWatch Logs allows ${allowed.sort((a, b) => a - b).join(', ')}`);
  }
  return days as logs.RetentionDays;
}

/**
 * The event a schedule sends: shaped like an EventBridge Scheduled Event (so the functions read it
 * with `aws_lambda_events::cloudwatch_events::CloudWatchEvent`), with the guard's own `source` and a
 * `detail-type` naming the job. `id`, `time`, `account`, `region` and `resources` are the real event's.
 */
export function scheduledEvent(detailType: string): events.RuleTargetInput {
  return events.RuleTargetInput.fromObject({
    version: '0',
    id: events.EventField.eventId,
    'detail-type': detailType,
    source: SCHEDULE_SOURCE,
    account: events.EventField.account,
    time: events.EventField.time,
    region: events.EventField.region,
    resources: events.EventField.fromPath('$.resources'),
    detail: {},
  });
}

/** Renders a (possibly tokenized) string the way cdk-nag names a finding, e.g. `arn:<AWS::Partition>:...`. */
function nagRender(stack: Stack, value: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (typeof node === 'object' && node !== null) {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o['Fn::Join'])) {
        const [delim, items] = o['Fn::Join'] as [string, unknown[]];
        return items.map(visit).join(delim);
      }
      if (o['Fn::Sub'] !== undefined) return visit(o['Fn::Sub']);
      if (Array.isArray(o['Fn::GetAtt'])) {
        const [res, attr] = o['Fn::GetAtt'] as [unknown, unknown];
        return `<${visit(res)}.${visit(attr)}>`;
      }
      if (o.Ref !== undefined) return `<${visit(o.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return visit(stack.resolve(value));
}

export class BudgetGuardStack extends Stack {
  readonly policy: LoadedPolicy;
  readonly alertsTopic: sns.Topic;
  readonly notifyTopic: sns.Topic;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: GuardAlarms;
  readonly functions: Readonly<Record<FunctionName, lambda.Function>>;
  readonly roles: Readonly<Record<FunctionName, iam.Role>>;
  readonly policyLayer: lambda.LayerVersion;
  readonly dashboard: cloudwatch.Dashboard;
  readonly slackSecrets: readonly secretsmanager.CfnSecret[];

  constructor(scope: Construct, id: string, props: BudgetGuardStackProps) {
    super(scope, id, props);

    // 1. The policy, through the real CLI: validate (synth stops here on a bad policy), export, IAM.
    this.policy = loadPolicy(path.resolve(__dirname, '..', props.policyDir));
    const { model, iam: iamActions } = this.policy;
    const settings = model.settings;
    const removalPolicy = settings.retain_on_delete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // 2. Topics. Budgets publishes to the alerts topic; a customer managed key is required for an
    //    encrypted topic that Budgets publishes to, and its key policy must let Budgets use it.
    // Budgets' source ARN is the budget's: only this account's budgets with the policy's prefix.
    const ownedBudgetsArn = `arn:${Aws.PARTITION}:budgets::${Aws.ACCOUNT_ID}:budget/${settings.budget_prefix}*`;
    const alertsKey = new kms.Key(this, 'AlertsTopicKey', {
      description: 'Budget Guard: encrypts the alerts topic that AWS Budgets publishes to',
      enableKeyRotation: true,
      removalPolicy,
      pendingWindow: Duration.days(7),
    });
    alertsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBudgetsToUseTheKey',
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': ownedBudgetsArn },
        },
      }),
    );
    this.alertsTopic = new sns.Topic(this, 'AlertsTopic', {
      displayName: 'Budget Guard alerts',
      masterKey: alertsKey,
      enforceSSL: true,
    });

    // The notify topic carries the guard's messages to the email channels (each subscription with a
    // `channel` filter policy). The guard's own alarms have a topic of their own (see alarms.ts).
    const notifyKey = new kms.Key(this, 'NotifyTopicKey', {
      description: 'Budget Guard: encrypts the notify topic (email channels)',
      enableKeyRotation: true,
      removalPolicy,
      pendingWindow: Duration.days(7),
    });
    this.notifyTopic = new sns.Topic(this, 'NotifyTopic', {
      displayName: 'Budget Guard',
      masterKey: notifyKey,
      enforceSSL: true,
    });

    // 3. Where failed invocations end up (see the choice explained at the alert handler below).
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });

    // 4. Slack webhook secrets: the policy names them, never the URL. Created empty (no
    //    GenerateSecretString, no SecretString), so no value is ever in the template; the URL is put
    //    with `aws secretsmanager put-secret-value`.
    const secretNames = slackSecretNames(model);
    const createSecrets = props.createSecrets ?? true;
    const createdSecrets: secretsmanager.CfnSecret[] = [];
    if (createSecrets) {
      for (const name of secretNames) {
        // The L1 resource on purpose: the L2 `Secret` always asks for a generated value.
        const secret = new secretsmanager.CfnSecret(this, `SlackWebhook-${name.replace(/[^A-Za-z0-9]/g, '_')}`, {
          name,
          description: `Budget Guard: Slack incoming webhook URL (set it with aws secretsmanager put-secret-value --secret-id ${name})`,
        });
        secret.applyRemovalPolicy(removalPolicy);
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'A Slack incoming webhook URL is issued by Slack and cannot be rotated by a Lambda; it is replaced by hand when Slack reissues it.',
        });
        createdSecrets.push(secret);
      }
    }
    this.slackSecrets = createdSecrets;

    // 5. The policy layer: the YAML files exactly as committed, at /opt/policy/. Its content hash is
    //    the policy hash, so a policy change is a new layer version and the scheduled runs read the
    //    policy of the last deploy.
    this.policyLayer = new lambda.LayerVersion(this, 'PolicyLayer', {
      code: lambda.Code.fromAsset(stagePolicyLayer(this.policy.dir, this.policy.files), {
        assetHash: this.policy.sha256,
      }),
      description: `Budget Guard policy, sha256 ${this.policy.sha256}`,
      // The same Runtime value RustFunction uses (`new Runtime('provided.al2023')`); CDK compares them.
      compatibleRuntimes: [new lambda.Runtime('provided.al2023')],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
    });

    // 6. The functions.
    const ctx: ResourceContext = {
      partition: Aws.PARTITION,
      region: this.region,
      account: this.account,
      budgetPrefix: settings.budget_prefix,
      flagsPath: settings.flags_path,
      statePath: settings.state_path,
      alertsTopicArn: this.alertsTopic.topicArn,
      notifyTopicArn: this.notifyTopic.topicArn,
      slackSecretNames: secretNames,
      metricsNamespace: METRICS_NAMESPACE,
    };
    const manifestPath = path.join(REPO_ROOT, 'Cargo.toml');
    const retention = retentionDays(props.logRetentionDays ?? 30);
    const fns: Partial<Record<FunctionName, lambda.Function>> = {};
    const roles: Partial<Record<FunctionName, iam.Role>> = {};
    for (const name of FUNCTION_NAMES) {
      const spec = FUNCTIONS[name];
      const role = new iam.Role(this, `${spec.id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Budget Guard ${name}: permissions from budget-guard iam-actions`,
      });
      const logGroup = new logs.LogGroup(this, `${spec.id}Logs`, { retention, removalPolicy });
      logGroup.grantWrite(role);

      const fn = new RustFunction(this, spec.id, {
        manifestPath,
        binaryName: name,
        architecture: lambda.Architecture.ARM_64,
        runtime: 'provided.al2023',
        bundling: { profile: props.cargoProfile ?? 'release' },
        description: spec.description,
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        ...(spec.reservedConcurrentExecutions !== undefined
          ? { reservedConcurrentExecutions: spec.reservedConcurrentExecutions }
          : {}),
        layers: [this.policyLayer],
        environment: {
          BUDGET_GUARD_POLICY_DIR: POLICY_MOUNT,
          BUDGET_GUARD_POLICY_SHA256: this.policy.sha256,
          BUDGET_GUARD_ALERTS_TOPIC_ARN: this.alertsTopic.topicArn,
          BUDGET_GUARD_NOTIFY_TOPIC_ARN: this.notifyTopic.topicArn,
          BUDGET_GUARD_METRICS_NAMESPACE: METRICS_NAMESPACE,
          // The provisioner tags the budgets it creates with their owner (the policy's
          // settings.owner, else this stack's name) and answers only its own stack's Delete.
          ...(name === 'provisioner' ? { BUDGET_GUARD_STACK_NAME: this.stackName, BUDGET_GUARD_STACK_ID: this.stackId } : {}),
        },
        // SNS, EventBridge and CloudFormation all invoke these functions asynchronously. Lambda
        // retries a failed async invocation, then hands the event, with the error, to this
        // destination.
        onFailure: new destinations.SqsDestination(this.deadLetterQueue),
        retryAttempts: spec.retryAttempts,
        maxEventAge: spec.maxEventAge,
      });

      // The guard's own permissions: exactly what `budget-guard iam-actions` lists, narrowed.
      // cdk-nag's IAM5 flags every `*`; each one is acknowledged with the reason its kind needs it.
      const acks = new Map<string, Set<string>>();
      const ack = (id: string, reason: string) => acks.set(id, (acks.get(id) ?? new Set<string>()).add(reason));
      for (const st of statementsFor(iamActions[name], ctx)) {
        role.addToPolicy(
          new iam.PolicyStatement({
            sid: st.sid,
            actions: [...st.actions],
            resources: [...st.resources],
            ...(st.conditions ? { conditions: st.conditions } : {}),
          }),
        );
        for (const resource of st.resources) {
          if (resource.includes('*')) ack(`AwsSolutions-IAM5[Resource::${nagRender(this, resource)}]`, WILDCARD_REASONS[st.kind]);
        }
        for (const action of st.actions) {
          if (action.includes('*')) ack(`AwsSolutions-IAM5[Action::${action}]`, `Listed by budget-guard iam-actions for ${name} (${st.kind}).`);
        }
        // Publishing to an encrypted topic needs the topic's key.
        const key = st.kind === 'alerts-topic' ? alertsKey : st.kind === 'notify-topic' ? notifyKey : undefined;
        if (key && st.actions.includes('sns:Publish')) {
          key.grant(role, 'kms:GenerateDataKey*', 'kms:Decrypt');
          ack(
            'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
            'Publishing to an encrypted SNS topic needs kms:GenerateDataKey* (GenerateDataKey, GenerateDataKeyWithoutPlaintext) on the topic key; the resource is that one key.',
          );
        }
      }
      for (const [id, reasons] of acks) Validations.of(role).acknowledge({ id, reason: [...reasons].join(' ') });
      fns[name] = fn;
      roles[name] = role;
    }
    this.functions = fns as Record<FunctionName, lambda.Function>;
    this.roles = roles as Record<FunctionName, iam.Role>;
    const { provisioner, 'alert-handler': alertHandler, 'spend-watcher': spendWatcher } = this.functions;

    // 7. Who may publish to the topics. The alerts topic: AWS Budgets for this account's budgets
    //    with the policy's prefix, and the roles that budget-guard iam-actions says publish there
    //    (the spend watcher). The notify topic: CloudWatch alarms of this account and region, and
    //    the alert handler. Everyone else is denied.
    restrictPublishers(this.alertsTopic, {
      service: { principal: 'budgets.amazonaws.com', sourceArns: [ownedBudgetsArn] },
      roles: topicPublishers(iamActions, 'alerts-topic').map((fn) => this.roles[fn]),
    });
    restrictPublishers(this.notifyTopic, {
      roles: topicPublishers(iamActions, 'notify-topic').map((fn) => this.roles[fn]),
    });

    // 8. The alert handler subscribes to the alerts topic.
    //    SNS invokes Lambda asynchronously, so there are two places a message can be lost, and both
    //    go to the same encrypted queue:
    //    - the function's async `onFailure` destination (set above): the function ran and failed on
    //      every retry, or the event waited longer than maxEventAge (with reserved concurrency 1, a
    //      burst is throttled and queued by Lambda, not dropped). The record holds the SNS event and
    //      the error, which is what a person needs to replay it;
    //    - the subscription's dead-letter queue: SNS could not hand the message to Lambda at all
    //      (permission removed, function deleted, Lambda's async queue refusing). Lambda's onFailure
    //      never sees those.
    //    The subscription DLQ alone would miss every function error, and onFailure alone would miss
    //    delivery failures, so both.
    this.alertsTopic.addSubscription(
      new subscriptions.LambdaSubscription(alertHandler, { deadLetterQueue: this.deadLetterQueue }),
    );

    // 9. The guard's own alarms, on a topic of their own with the people `settings.alarms` names.
    this.alarms = new GuardAlarms(this, 'Alarms', {
      policy: model,
      functions: this.functions,
      functionIds: { provisioner: FUNCTIONS.provisioner.id, 'alert-handler': FUNCTIONS['alert-handler'].id, 'spend-watcher': FUNCTIONS['spend-watcher'].id },
      deadLetterQueue: this.deadLetterQueue,
      spendWatcherRate: props.spendWatcherRate ?? '1 minute',
      removalPolicy,
      namePrefix: this.stackName,
      metricsNamespace: METRICS_NAMESPACE,
    });

    // 10. The provisioner as a custom resource: a policy change changes PolicySha256, so CloudFormation
    //     sends an Update and the budgets reconcile inside the deploy. The Rust function answers the
    //     ResponseURL itself, so there is no Provider framework in between.
    const provisioning = new CustomResource(this, 'Provisioning', {
      serviceToken: provisioner.functionArn,
      resourceType: 'Custom::BudgetGuardPolicy',
      serviceTimeout: Duration.minutes(15),
      properties: {
        PolicySha256: this.policy.sha256,
        AlertsTopicArn: this.alertsTopic.topicArn,
        NotifyTopicArn: this.notifyTopic.topicArn,
      },
    });
    // The topic policies must be in place before the provisioner points budgets at the topic (the
    // topics themselves are already dependencies through the ARNs above).
    for (const topic of [this.alertsTopic, this.notifyTopic]) {
      const topicPolicy = topic.node.tryFindChild('Policy');
      if (topicPolicy) provisioning.node.addDependency(topicPolicy);
    }

    // 11. Schedules.
    const scheduleTarget = (fn: lambda.IFunction, detailType: string, maxEventAge: Duration) =>
      new targets.LambdaFunction(fn, {
        event: scheduledEvent(detailType),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge,
      });
    new events.Rule(this, 'RolloverTick', {
      description: 'Budget Guard: hourly period roll-over tick for the alert handler (restores flags)',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [scheduleTarget(alertHandler, 'rollover-tick', Duration.hours(1))],
    });
    // Drift repair four times a day: three quick runs that list budgets and notifications (a few
    // calls whatever the policy's size), and at 00:00 UTC a full run that also reads every
    // notification's subscribers (a call each), so a subscriber changed by hand is back within a day.
    new events.Rule(this, 'DriftRepair', {
      description: 'Budget Guard: provisioner drift repair at 06, 12 and 18 UTC (budgets and notifications)',
      schedule: events.Schedule.cron({ minute: '0', hour: '6,12,18' }),
      targets: [scheduleTarget(provisioner, 'drift-repair', Duration.hours(1))],
    });
    new events.Rule(this, 'DriftRepairFull', {
      description: 'Budget Guard: provisioner drift repair at 00 UTC, subscribers included',
      schedule: events.Schedule.cron({ minute: '0', hour: '0' }),
      targets: [scheduleTarget(provisioner, 'drift-repair-full', Duration.hours(1))],
    });
    // The AWS Price List against the catalog in force, for the policy's models (PricesChanged).
    new events.Rule(this, 'PriceCheck', {
      description: 'Budget Guard: weekly provisioner price check against the AWS Price List (Mondays 07 UTC)',
      schedule: events.Schedule.cron({ minute: '0', hour: '7', weekDay: 'MON' }),
      targets: [scheduleTarget(provisioner, 'price-check', Duration.hours(1))],
    });
    new events.Rule(this, 'SpendWatcherTick', {
      description: 'Budget Guard: spend watcher run',
      schedule: parseSchedule(props.spendWatcherRate ?? '1 minute'),
      targets: [scheduleTarget(spendWatcher, 'spend-tick', Duration.minutes(5))],
    });

    // 12. Dashboard, named after the stack (known at synth time, so the URL below needs no token).
    const dashboardName = this.stackName;
    this.dashboard = buildDashboard(this, 'Dashboard', {
      dashboardName,
      policy: model,
      functions: this.functions,
      deadLetterQueue: this.deadLetterQueue,
      metricsNamespace: METRICS_NAMESPACE,
    });

    // 13. Outputs.
    new CfnOutput(this, 'AlertsTopicArn', {
      description: 'The topic AWS Budgets and the spend watcher publish alerts to',
      value: this.alertsTopic.topicArn,
    });
    new CfnOutput(this, 'NotifyTopicArn', {
      description: 'The topic for email channels',
      value: this.notifyTopic.topicArn,
    });
    new CfnOutput(this, 'AlarmsTopicArn', {
      description: "The topic of the guard's own alarms (settings.alarms subscribes to it)",
      value: this.alarms.topic.topicArn,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Events the functions failed to handle: budget-guard dlq list|replay --queue-url',
      value: this.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'The Budget Guard CloudWatch dashboard',
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboardName}`,
    });
    new CfnOutput(this, 'AlertHandlerName', {
      description: 'The alert handler, the one writer of flags: `budget-guard flags` sends it set, pin, unpin and restore (needs lambda:InvokeFunction)',
      value: alertHandler.functionName,
    });
    new CfnOutput(this, 'Owner', {
      description:
        'The budget-guard:owner tag of the budgets this deployment manages (settings.owner, else the stack name); `budget-guard plan|apply` find it from --stack-name',
      value: settings.owner ?? this.stackName,
    });
    new CfnOutput(this, 'FlagsPath', {
      description: 'SSM parameter path of the routing flags (one parameter per route)',
      value: settings.flags_path,
    });

    // 14. cdk-nag acknowledgments that are not about the derived IAM (see above for those).
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue (Lambda on-failure destination, SNS subscription DLQ, EventBridge target DLQ); a DLQ of a DLQ adds nothing.',
    });
    if (Token.isUnresolved(this.stackName)) {
      throw new Error('the stack name must be known at synth time (it names the dashboard)');
    }
  }
}
