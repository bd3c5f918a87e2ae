// One of the guard's functions (provisioner, alert handler, spend watcher, and the fast path's
// usage meter when it is on): a Rust binary of
// the Cargo workspace built by cargo-lambda, its role with exactly the permissions `budget-guard
// iam-actions` lists for it, its log group, and its failed async invocations sent to the guard's
// dead-letter queue.

import { Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import {
  statementsFor,
  WILDCARD_REASONS,
  type ActionGrant,
  type FunctionName,
  type ResourceContext,
  type USAGE_METER,
} from './iam';

interface FunctionSpec {
  /** The construct id, also the start of the function's logical id. */
  readonly id: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly reservedConcurrentExecutions?: number;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

export const FUNCTION_SPECS: Readonly<Record<FunctionName | typeof USAGE_METER, FunctionSpec>> = {
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
  'usage-meter': {
    id: 'UsageMeter',
    description: 'Budget Guard: counts Bedrock invocation log records against budgets and raises alerts within seconds',
    timeout: Duration.minutes(1),
    memorySize: 256,
    // No reserved concurrency: batches run side by side, and the counters' writes are atomic
    // (two that contend are cancelled by DynamoDB and sent again). Logs invokes asynchronously;
    // a failed batch is retried (a retry counts nothing twice), then kept in the dead-letter queue.
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
  },
};

export interface GuardFunctionProps {
  readonly name: FunctionName | typeof USAGE_METER;
  /** The Cargo workspace's Cargo.toml (the binary is `name` in it). */
  readonly manifestPath: string;
  readonly cargoProfile: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly policyLayer: lambda.ILayerVersion;
  readonly environment: Readonly<Record<string, string>>;
  readonly deadLetterQueue: sqs.IQueue;
  /** This function's list from `budget-guard iam-actions`. */
  readonly grants: readonly ActionGrant[];
  readonly resourceContext: ResourceContext;
  /** The keys of the encrypted topics, by the resource kind that stands for the topic. */
  readonly topicKeys: Readonly<Partial<Record<'alerts-topic' | 'notify-topic', kms.IKey>>>;
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

export class GuardFunction extends Construct {
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: GuardFunctionProps) {
    super(scope, id);
    const { name } = props;
    const spec = FUNCTION_SPECS[name];
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Budget Guard ${name}: permissions from budget-guard iam-actions`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.logGroup.grantWrite(this.role);

    this.function = new RustFunction(this, 'Function', {
      manifestPath: props.manifestPath,
      binaryName: name,
      architecture: lambda.Architecture.ARM_64,
      runtime: 'provided.al2023',
      bundling: { profile: props.cargoProfile },
      description: spec.description,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      timeout: spec.timeout,
      memorySize: spec.memorySize,
      ...(spec.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: spec.reservedConcurrentExecutions }
        : {}),
      layers: [props.policyLayer],
      environment: { ...props.environment },
      // SNS, EventBridge and CloudFormation all invoke these functions asynchronously. Lambda
      // retries a failed async invocation, then hands the event, with the error, to this
      // destination.
      onFailure: new destinations.SqsDestination(props.deadLetterQueue),
      retryAttempts: spec.retryAttempts,
      maxEventAge: spec.maxEventAge,
    });
    this.grantListedActions(props);
  }

  /**
   * The guard's own permissions: exactly what `budget-guard iam-actions` lists, narrowed. cdk-nag's
   * IAM5 flags every `*`; each one is acknowledged with the reason its kind needs it.
   */
  private grantListedActions(props: GuardFunctionProps): void {
    const stack = Stack.of(this);
    const acks = new Map<string, Set<string>>();
    const ack = (id: string, reason: string) => acks.set(id, (acks.get(id) ?? new Set<string>()).add(reason));
    for (const st of statementsFor(props.grants, props.resourceContext)) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: st.sid,
          actions: [...st.actions],
          resources: [...st.resources],
          ...(st.conditions ? { conditions: st.conditions } : {}),
        }),
      );
      for (const resource of st.resources) {
        if (resource.includes('*')) ack(`AwsSolutions-IAM5[Resource::${nagRender(stack, resource)}]`, WILDCARD_REASONS[st.kind]);
      }
      for (const action of st.actions) {
        if (action.includes('*')) ack(`AwsSolutions-IAM5[Action::${action}]`, `Listed by budget-guard iam-actions for ${props.name} (${st.kind}).`);
      }
      // Publishing to an encrypted topic needs the topic's key.
      const key = st.kind === 'alerts-topic' || st.kind === 'notify-topic' ? props.topicKeys[st.kind] : undefined;
      if (key && st.actions.includes('sns:Publish')) {
        key.grant(this.role, 'kms:GenerateDataKey*', 'kms:Decrypt');
        ack(
          'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          'Publishing to an encrypted SNS topic needs kms:GenerateDataKey* (GenerateDataKey, GenerateDataKeyWithoutPlaintext) on the topic key; the resource is that one key.',
        );
      }
    }
    for (const [id, reasons] of acks) Validations.of(this.role).acknowledge({ id, reason: [...reasons].join(' ') });
  }
}
