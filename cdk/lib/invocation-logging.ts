// Bedrock model invocation logging turned on by the stack: a log group of its own, the role
// Bedrock writes to it with, and a custom resource that puts the account's logging configuration
// (metadata only: no prompt, completion, image, embedding or video is ever delivered) and removes
// it on Delete while it is still this stack's. Used when the fast path is on and no existing log
// group is named.

import { Aws, CustomResource, Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { INVOCATION_LOGGING_HANDLER } from './invocation-logging-handler';

export interface InvocationLoggingProps {
  /** How long the invocation records are kept in the group. */
  readonly retention: logs.RetentionDays;
  /** How long the custom resource function's own logs are kept. */
  readonly functionLogRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class InvocationLogging extends Construct {
  /** Where Bedrock writes the records. */
  readonly logGroup: logs.LogGroup;
  /** The role Bedrock assumes to write them. */
  readonly deliveryRole: iam.Role;
  /** The account's logging configuration, as a resource of the stack. */
  readonly configuration: CustomResource;

  constructor(scope: Construct, id: string, props: InvocationLoggingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.logGroup = new logs.LogGroup(this, 'Records', {
      retention: props.retention,
      removalPolicy: props.removalPolicy,
    });

    // Bedrock writes as this role, only for this account's invocations.
    this.deliveryRole = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:bedrock:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
        },
      }),
      description: 'Budget Guard: Bedrock writes model invocation log records (metadata only) to the fast path log group',
    });
    this.deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteInvocationRecords',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${this.logGroup.logGroupArn}`],
      }),
    );
    Validations.of(this.deliveryRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.logGroup.node.defaultChild as logs.CfnLogGroup)}.Arn>]`,
      reason:
        'A log group ARN as CloudFormation returns it ends in :* (its streams); Bedrock creates its own stream in this one group and nowhere else.',
    });

    const handlerLogs = new logs.LogGroup(this, 'HandlerLogs', {
      retention: props.functionLogRetention,
      removalPolicy: props.removalPolicy,
    });
    const handlerRole = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Budget Guard: sets and removes the Bedrock model invocation logging configuration',
    });
    handlerLogs.grantWrite(handlerRole);
    handlerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'InvocationLoggingConfiguration',
        actions: [
          'bedrock:GetModelInvocationLoggingConfiguration',
          'bedrock:PutModelInvocationLoggingConfiguration',
          'bedrock:DeleteModelInvocationLoggingConfiguration',
        ],
        resources: ['*'],
      }),
    );
    handlerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassDeliveryRole',
        actions: ['iam:PassRole'],
        resources: [this.deliveryRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'bedrock.amazonaws.com' } },
      }),
    );
    Validations.of(handlerRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "The account's model invocation logging configuration is not a resource: bedrock:Get/Put/DeleteModelInvocationLoggingConfiguration support no resource-level permissions.",
    });
    Validations.of(handlerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(handlerLogs.node.defaultChild as logs.CfnLogGroup)}.Arn>:*]`,
      reason: "The function writes its own log streams in its own log group; the stream names are Lambda's.",
    });

    const handler = new lambda.Function(this, 'Handler', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(INVOCATION_LOGGING_HANDLER),
      description: 'Budget Guard: Bedrock model invocation logging for the fast path (metadata only)',
      role: handlerRole,
      logGroup: handlerLogs,
      timeout: Duration.minutes(1),
      memorySize: 256,
    });

    this.configuration = new CustomResource(this, 'Configuration', {
      serviceToken: handler.functionArn,
      resourceType: 'Custom::BedrockInvocationLogging',
      serviceTimeout: Duration.minutes(5),
      properties: {
        LogGroupName: this.logGroup.logGroupName,
        RoleArn: this.deliveryRole.roleArn,
        // The handler puts exactly these: no prompt, completion, image, embedding or video.
        TextDataDeliveryEnabled: false,
        ImageDataDeliveryEnabled: false,
        EmbeddingDataDeliveryEnabled: false,
        VideoDataDeliveryEnabled: false,
      },
    });
    // Bedrock checks that the role can write to the group when the configuration is put.
    this.configuration.node.addDependency(this.deliveryRole);
  }
}
