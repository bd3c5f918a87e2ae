// Budget Guard as a construct: everything the guard deploys, for a Stack of its own (see
// budget-guard-stack.ts) or beside a team's own resources in theirs. It is put together from one
// construct per job: the topics, the policy layer, the three functions, the alarms, the schedules
// and the dashboard, and the invocation-log fast path when it is turned on.

import * as path from 'node:path';
import { Aws, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { GuardAlarms } from './alarms';
import { BudgetActionResources } from './budget-action';
import { REPO_ROOT } from './cli';
import { GuardDashboard } from './dashboard';
import { FastPath, type FastPathOptions, USAGE_TABLE_ENV } from './fast-path';
import { FUNCTION_SPECS, GuardFunction } from './guard-function';
import { FUNCTION_NAMES, statementsFor, topicPublishers, USAGE_METER, type FunctionName, type ResourceContext } from './iam';
import { estimatedSpendMetric, METRICS_NAMESPACE, routeStepMetric } from './metrics';
import { loadPolicy, slackSecretNames, type LoadedPolicy } from './policy';
import { POLICY_MOUNT, PolicyLayer } from './policy-layer';
import {
  DEFAULT_DRIFT_REPAIR_SCHEDULE,
  DEFAULT_FULL_DRIFT_REPAIR_SCHEDULE,
  DEFAULT_SPEND_WATCHER_SCHEDULE,
  GuardSchedules,
} from './schedules';
import { SlackSecrets } from './slack-secrets';
import { restrictPublishers } from './topic-policy';
import { GuardTopics } from './topics';

export interface BudgetGuardProps {
  /**
   * The policy directory (its `*.yaml` files), absolute or relative to the working directory.
   * Synth checks it with the `budget-guard` CLI (env `BUDGET_GUARD_BIN`, else the workspace's
   * target/) and stops on an invalid policy.
   */
  readonly policyDir: string;
  /**
   * Where the guard's own alarms go. By default a topic of the guard's, with the channels the
   * policy's `settings.alarms` names subscribed (email, and Slack through AWS Chatbot). Given a
   * topic of the team's own, the alarms go there and `settings.alarms` is not subscribed; the topic's
   * policy (and key policy, if encrypted) must let `cloudwatch.amazonaws.com` publish.
   */
  readonly alarmTopic?: sns.ITopic;
  /** How often the spend watcher runs. @default every minute */
  readonly spendWatcherSchedule?: events.Schedule;
  /** The provisioner's quick drift repair (budgets and notifications). @default 06:00, 12:00 and 18:00 UTC */
  readonly driftRepairSchedule?: events.Schedule;
  /** The provisioner's full drift repair (subscribers too, a call per notification). @default 00:00 UTC */
  readonly fullDriftRepairSchedule?: events.Schedule;
  /** How long the functions' logs are kept. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Create the Slack webhook secrets the policy names (empty; the URL is put by hand), or only
   * reference them by name when they exist already. @default true
   */
  readonly createSlackSecrets?: boolean;
  /**
   * What happens to the keys, queue, log groups and secrets when the guard is removed.
   * @default RETAIN when the policy's `settings.retain_on_delete` is true, else DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /** The Cargo profile cargo-lambda builds the functions with. @default 'release' */
  readonly cargoProfile?: string;
  /** The Budget Guard Cargo workspace the functions are built from. @default the repository holding this package */
  readonly manifestPath?: string;
  /**
   * Names the dashboard and prefixes the Chatbot configurations; unique in the account and region.
   * @default the stack's name
   */
  readonly namePrefix?: string;
  /**
   * The invocation-log fast path: Bedrock model invocation log records counted against the
   * budgets in DynamoDB within seconds, alerting through the alerts topic (README, "The fast
   * path"). Off when absent. With `{}` the stack turns invocation logging on (metadata only) into
   * a log group of its own; with `existingLogGroupName` it subscribes to the group the account's
   * logging configuration writes to and leaves that configuration alone.
   * @default off
   */
  readonly fastPath?: FastPathOptions;
}

export class BudgetGuard extends Construct {
  /** The policy as the CLI checked and exported it, with its files and hash. */
  readonly policy: LoadedPolicy;
  /** AWS Budgets and the spend watcher publish budget alerts here; the alert handler takes them. */
  readonly alertsTopic: sns.Topic;
  /** The guard's messages to the email channels (each subscription filtered on its channel). */
  readonly notifyTopic: sns.Topic;
  /** The SSM path under which the alert handler keeps one routing flag per route. */
  readonly flagsPath: string;
  readonly dashboard: cloudwatch.Dashboard;
  /** Events the functions failed to handle (`budget-guard dlq list|replay`). */
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: GuardAlarms;
  readonly functions: Readonly<Record<FunctionName, lambda.Function>>;
  readonly roles: Readonly<Record<FunctionName, iam.Role>>;
  readonly policyLayer: lambda.LayerVersion;
  readonly slackSecrets: readonly secretsmanager.CfnSecret[];
  /** The `budget-guard:owner` tag of the budgets this guard manages. */
  readonly owner: string;
  /** The dashboard's name (known at synth time, so a console URL needs no token). */
  readonly dashboardName: string;
  /** The deny policy and the role AWS Budgets applies it with; only when a threshold of the policy denies. */
  readonly budgetAction: BudgetActionResources | undefined;
  /** The fast path's table, function and subscription; only when `fastPath` is given. */
  readonly fastPath: FastPath | undefined;

  constructor(scope: Construct, id: string, props: BudgetGuardProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // The policy, through the real CLI: validate (synth stops here on a bad policy), export, IAM.
    this.policy = loadPolicy(path.resolve(props.policyDir));
    const { model, iam: iamActions } = this.policy;
    const settings = model.settings;
    const removalPolicy = props.removalPolicy ?? (settings.retain_on_delete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    const namePrefix = props.namePrefix ?? stack.stackName;
    if (Token.isUnresolved(namePrefix)) {
      throw new Error('the name prefix (by default the stack name) must be known at synth time: it names the dashboard');
    }
    this.dashboardName = namePrefix;
    this.flagsPath = settings.flags_path;
    this.owner = settings.owner ?? stack.stackName;

    const topics = new GuardTopics(this, 'Topics', { budgetPrefix: settings.budget_prefix, removalPolicy });
    this.alertsTopic = topics.alertsTopic;
    this.notifyTopic = topics.notifyTopic;

    // Where failed invocations end up (see the choice explained at the alert handler's subscription).
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue (Lambda on-failure destination, SNS subscription DLQ, EventBridge target DLQ); a DLQ of a DLQ adds nothing.',
    });

    const secretNames = slackSecretNames(model);
    this.slackSecrets =
      (props.createSlackSecrets ?? true) && secretNames.length > 0
        ? new SlackSecrets(this, 'SlackSecrets', { names: secretNames, removalPolicy }).secrets
        : [];

    this.policyLayer = new PolicyLayer(this, 'PolicyLayer', this.policy);

    this.budgetAction =
      model.deny_roles.length > 0 ? new BudgetActionResources(this, 'BudgetAction', { roleNames: model.deny_roles }) : undefined;

    const resourceContext: ResourceContext = {
      partition: Aws.PARTITION,
      region: stack.region,
      account: stack.account,
      budgetPrefix: settings.budget_prefix,
      flagsPath: settings.flags_path,
      statePath: settings.state_path,
      alertsTopicArn: this.alertsTopic.topicArn,
      notifyTopicArn: this.notifyTopic.topicArn,
      slackSecretNames: secretNames,
      metricsNamespace: METRICS_NAMESPACE,
      ...(this.budgetAction ? { budgetActionRoleArn: this.budgetAction.role.roleArn } : {}),
      unresolvedProfiles: model.unresolved_profiles,
      profilesParameter: model.profiles_parameter,
    };
    const environment: Record<string, string> = {
      BUDGET_GUARD_POLICY_DIR: POLICY_MOUNT,
      BUDGET_GUARD_POLICY_SHA256: this.policy.sha256,
      BUDGET_GUARD_ALERTS_TOPIC_ARN: this.alertsTopic.topicArn,
      BUDGET_GUARD_NOTIFY_TOPIC_ARN: this.notifyTopic.topicArn,
      BUDGET_GUARD_METRICS_NAMESPACE: METRICS_NAMESPACE,
      // Application inference profiles without a `profiles:` entry: the provisioner resolves them
      // at deploy and records their models here, where the other two read them at start.
      ...(model.unresolved_profiles.length > 0 ? { BUDGET_GUARD_PROFILES_PARAMETER: model.profiles_parameter } : {}),
    };
    // The provisioner tags the budgets it creates with their owner (the policy's settings.owner,
    // else the stack's name) and answers only its own stack's Delete.
    const provisionerEnvironment: Record<string, string> = {
      BUDGET_GUARD_STACK_NAME: stack.stackName,
      BUDGET_GUARD_STACK_ID: stack.stackId,
      // What the provisioner's Budgets actions attach, and the role they run as.
      ...(this.budgetAction
        ? {
            BUDGET_GUARD_DENY_POLICY_ARN: this.budgetAction.denyPolicy.managedPolicyArn,
            BUDGET_GUARD_BUDGET_ACTION_ROLE_ARN: this.budgetAction.role.roleArn,
          }
        : {}),
    };
    const guardFunctions = {} as Record<FunctionName, GuardFunction>;
    for (const name of FUNCTION_NAMES) {
      guardFunctions[name] = new GuardFunction(this, FUNCTION_SPECS[name].id, {
        name,
        manifestPath: props.manifestPath ?? path.join(REPO_ROOT, 'Cargo.toml'),
        cargoProfile: props.cargoProfile ?? 'release',
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy,
        policyLayer: this.policyLayer,
        environment: name === 'provisioner' ? { ...environment, ...provisionerEnvironment } : environment,
        deadLetterQueue: this.deadLetterQueue,
        grants: iamActions[name],
        resourceContext,
        topicKeys: { 'alerts-topic': topics.alertsKey, 'notify-topic': topics.notifyKey },
      });
    }
    const fnOf = (name: FunctionName) => guardFunctions[name].function;
    this.functions = { provisioner: fnOf('provisioner'), 'alert-handler': fnOf('alert-handler'), 'spend-watcher': fnOf('spend-watcher') };
    const roleOf = (name: FunctionName) => guardFunctions[name].role;
    this.roles = { provisioner: roleOf('provisioner'), 'alert-handler': roleOf('alert-handler'), 'spend-watcher': roleOf('spend-watcher') };

    const meterGrants = iamActions[USAGE_METER];
    if (props.fastPath && meterGrants === undefined) {
      throw new Error(`fastPath is on, but budget-guard iam-actions lists nothing for ${USAGE_METER}: the CLI is older than the fast path`);
    }
    this.fastPath =
      props.fastPath && meterGrants
        ? new FastPath(this, 'FastPath', {
            ...props.fastPath,
            manifestPath: props.manifestPath ?? path.join(REPO_ROOT, 'Cargo.toml'),
            cargoProfile: props.cargoProfile ?? 'release',
            logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
            removalPolicy,
            policyLayer: this.policyLayer,
            environment,
            deadLetterQueue: this.deadLetterQueue,
            grants: meterGrants,
            resourceContext,
            alertsKey: topics.alertsKey,
          })
        : undefined;
    if (this.fastPath) {
      // The spend watcher reconciles with the fast path's counters: it is told the table, and may
      // make the reads budget-guard iam-actions lists for it on that table (which exists only now).
      const watcher = guardFunctions['spend-watcher'];
      watcher.function.addEnvironment(USAGE_TABLE_ENV, this.fastPath.table.tableName);
      const tableGrants = iamActions['spend-watcher'].filter((g) => g.resource === 'usage-table');
      for (const st of statementsFor(tableGrants, { ...resourceContext, usageTableArn: this.fastPath.table.tableArn })) {
        watcher.role.addToPolicy(new iam.PolicyStatement({ sid: st.sid, actions: [...st.actions], resources: [...st.resources] }));
      }
    }
    const meterPublishes = (topic: 'alerts-topic' | 'notify-topic') =>
      this.fastPath && meterGrants?.some((g) => g.resource === topic && g.actions.includes('sns:Publish')) ? [this.fastPath.role] : [];

    // Who may publish to the topics. The alerts topic: AWS Budgets for this account's budgets with
    // the policy's prefix, and the roles that budget-guard iam-actions says publish there (the spend
    // watcher). The notify topic: the roles that publish there (the alert handler). Everyone else
    // is denied.
    restrictPublishers(this.alertsTopic, {
      service: { principal: 'budgets.amazonaws.com', sourceArns: [topics.ownedBudgetsArn] },
      roles: [...topicPublishers(iamActions, 'alerts-topic').map((fn) => this.roles[fn]), ...meterPublishes('alerts-topic')],
    });
    restrictPublishers(this.notifyTopic, {
      roles: [...topicPublishers(iamActions, 'notify-topic').map((fn) => this.roles[fn]), ...meterPublishes('notify-topic')],
    });

    // The alert handler subscribes to the alerts topic. SNS invokes Lambda asynchronously, so there
    // are two places a message can be lost, and both go to the same encrypted queue:
    // - the function's async `onFailure` destination: the function ran and failed on every retry,
    //   or the event waited longer than maxEventAge (with reserved concurrency 1, a burst is
    //   throttled and queued by Lambda, not dropped). The record holds the SNS event and the error,
    //   which is what a person needs to replay it;
    // - the subscription's dead-letter queue: SNS could not hand the message to Lambda at all
    //   (permission removed, function deleted, Lambda's async queue refusing). Lambda's onFailure
    //   never sees those.
    // The subscription DLQ alone would miss every function error, and onFailure alone would miss
    // delivery failures, so both.
    this.alertsTopic.addSubscription(
      new subscriptions.LambdaSubscription(this.functions['alert-handler'], { deadLetterQueue: this.deadLetterQueue }),
    );

    const spendWatcherSchedule = props.spendWatcherSchedule ?? DEFAULT_SPEND_WATCHER_SCHEDULE;
    this.alarms = new GuardAlarms(this, 'Alarms', {
      policy: model,
      functions: this.functions,
      deadLetterQueue: this.deadLetterQueue,
      spendWatcherSchedule,
      removalPolicy,
      namePrefix,
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
    });

    // The provisioner as a custom resource: a policy change changes PolicySha256, so CloudFormation
    // sends an Update and the budgets reconcile inside the deploy. The Rust function answers the
    // ResponseURL itself, so there is no Provider framework in between.
    const provisioning = new CustomResource(this, 'Provisioning', {
      serviceToken: this.functions.provisioner.functionArn,
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

    new GuardSchedules(this, 'Schedules', {
      provisioner: this.functions.provisioner,
      alertHandler: this.functions['alert-handler'],
      spendWatcher: this.functions['spend-watcher'],
      deadLetterQueue: this.deadLetterQueue,
      spendWatcherSchedule,
      driftRepairSchedule: props.driftRepairSchedule ?? DEFAULT_DRIFT_REPAIR_SCHEDULE,
      fullDriftRepairSchedule: props.fullDriftRepairSchedule ?? DEFAULT_FULL_DRIFT_REPAIR_SCHEDULE,
    });

    this.dashboard = new GuardDashboard(this, 'Dashboard', {
      dashboardName: this.dashboardName,
      policy: model,
      functions: this.functions,
      deadLetterQueue: this.deadLetterQueue,
      fastPath: this.fastPath !== undefined,
    });
  }

  /**
   * Lets `grantee` read the routing flags: `ssm:GetParameter` and `ssm:GetParameters` on each
   * route's parameter, named one by one (the policy's routes are known at synth, and a new route is
   * a new deploy), so the grant carries no wildcard. No `kms:Decrypt`: the alert handler writes the
   * flags as plain String parameters, which no key encrypts.
   */
  grantReadRoutingFlags(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const resourceArns = [...new Set(Object.values(this.policy.model.routes).map((r) => r.parameter))]
      .sort()
      .map((name) => stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\/+/, '') }));
    if (resourceArns.length === 0) return iam.Grant.drop(grantee, 'the policy has no routes, so no routing flags');
    return iam.Grant.addToPrincipal({ grantee, actions: ['ssm:GetParameter', 'ssm:GetParameters'], resourceArns });
  }

  /**
   * The spend watcher's estimate of a watched budget's spend this period, in the policy's currency.
   * `budget` is the budget's key in the policy (`team-a`) or its AWS name (`bg-team-a`).
   */
  metricEstimatedSpend(budget: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    const budgets = this.policy.model.budgets;
    const found = budgets[budget] ?? Object.values(budgets).find((b) => b.name === budget);
    if (!found) throw new Error(`metricEstimatedSpend: the policy has no budget "${budget}" (${Object.keys(budgets).sort().join(', ')})`);
    if (!found.watch) {
      throw new Error(`metricEstimatedSpend: budget "${budget}" has watch: false, so the spend watcher publishes no estimate for it`);
    }
    return estimatedSpendMetric(found.name, props);
  }

  /** The ladder step a route is on (1 = its first choice), as the alert handler publishes it. */
  metricRouteStep(route: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    const routes = this.policy.model.routes;
    if (routes[route] === undefined) {
      throw new Error(`metricRouteStep: the policy has no route "${route}" (${Object.keys(routes).sort().join(', ')})`);
    }
    return routeStepMetric(route, props);
  }
}
