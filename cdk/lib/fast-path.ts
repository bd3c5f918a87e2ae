// The invocation-log fast path (opt-in): the usage meter's counters table, the usage-meter
// function, and a subscription filter that hands it the Bedrock model invocation log records,
// from a log group the stack sets up (see invocation-logging.ts) or one the account writes to
// already.

import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as logsDestinations from 'aws-cdk-lib/aws-logs-destinations';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { GuardFunction } from './guard-function';
import { USAGE_METER, type ActionGrant, type ResourceContext } from './iam';
import { InvocationLogging } from './invocation-logging';

/** The construct's `fastPath` prop. */
export interface FastPathOptions {
  /**
   * The log group the account's Bedrock model invocation logging writes to already. Given, the
   * stack subscribes to it and changes nothing about logging; absent, the stack creates a group
   * and turns logging on into it, metadata only.
   */
  readonly existingLogGroupName?: string;
  /** How long the stack's own invocation log group keeps records. @default one week */
  readonly recordRetention?: logs.RetentionDays;
}

/** The table's partition key and TTL attribute, as `guard_aws::usage_counters` names them. */
export const USAGE_TABLE_KEY = 'pk';
export const USAGE_TABLE_TTL = 'expires_at';
/** The usage meter reads its table's name here (`functions/usage-meter`). */
export const USAGE_TABLE_ENV = 'BUDGET_GUARD_USAGE_TABLE';

export interface FastPathProps extends FastPathOptions {
  readonly manifestPath: string;
  readonly cargoProfile: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly policyLayer: lambda.ILayerVersion;
  /** The environment the guard's functions share (policy mount, alerts topic). */
  readonly environment: Readonly<Record<string, string>>;
  readonly deadLetterQueue: sqs.IQueue;
  /** `budget-guard iam-actions`' list for the usage meter. */
  readonly grants: readonly ActionGrant[];
  readonly resourceContext: ResourceContext;
  readonly alertsKey: kms.IKey;
}

export class FastPath extends Construct {
  readonly table: dynamodb.Table;
  readonly function: lambda.Function;
  readonly role: iam.Role;
  /** The group the records come from. */
  readonly logGroup: logs.ILogGroup;
  /** Present only when the stack turns invocation logging on itself. */
  readonly invocationLogging: InvocationLogging | undefined;

  constructor(scope: Construct, id: string, props: FastPathProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Counters', {
      partitionKey: { name: USAGE_TABLE_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: USAGE_TABLE_TTL,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
    });

    const meter = new GuardFunction(this, 'UsageMeter', {
      name: USAGE_METER,
      manifestPath: props.manifestPath,
      cargoProfile: props.cargoProfile,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      policyLayer: props.policyLayer,
      environment: { ...props.environment, [USAGE_TABLE_ENV]: this.table.tableName },
      deadLetterQueue: props.deadLetterQueue,
      grants: props.grants,
      resourceContext: { ...props.resourceContext, usageTableArn: this.table.tableArn },
      topicKeys: { 'alerts-topic': props.alertsKey },
    });
    this.function = meter.function;
    this.role = meter.role;

    if (props.existingLogGroupName !== undefined) {
      this.invocationLogging = undefined;
      this.logGroup = logs.LogGroup.fromLogGroupName(this, 'Records', props.existingLogGroupName);
    } else {
      this.invocationLogging = new InvocationLogging(this, 'InvocationLogging', {
        retention: props.recordRetention ?? logs.RetentionDays.ONE_WEEK,
        functionLogRetention: props.logRetention,
        removalPolicy: props.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      this.logGroup = this.invocationLogging.logGroup;
    }

    // Every record of the group: the meter reads what it can and reports the rest. The Lambda
    // destination also grants logs.amazonaws.com the invoke permission, scoped to the group.
    const subscription = new logs.SubscriptionFilter(this, 'Subscription', {
      logGroup: this.logGroup,
      destination: new logsDestinations.LambdaDestination(this.function),
      filterPattern: logs.FilterPattern.allEvents(),
    });
    if (this.invocationLogging) subscription.node.addDependency(this.invocationLogging.configuration);
  }
}
