// Who may publish to one of the guard's topics. Each topic admits a named AWS service, scoped to
// this account and to the source ARNs that stand for the guard's own resources, plus the function
// roles that `budget-guard iam-actions` says publish there. Every other IAM principal is denied,
// even one of this account whose own IAM policies would allow it: a forged alert or alarm is the
// attack these topics must not carry.

import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';

export interface ServicePublisher {
  /** The AWS service, e.g. `budgets.amazonaws.com`. */
  readonly principal: string;
  /** ArnLike patterns of the service's resources allowed as `aws:SourceArn`. */
  readonly sourceArns: readonly string[];
}

export interface TopicPublishers {
  /** The one AWS service that publishes here, if any. */
  readonly service?: ServicePublisher;
  /** The guard roles that publish here. */
  readonly roles: readonly iam.IRole[];
}

export function restrictPublishers(topic: sns.Topic, publishers: TopicPublishers): void {
  const { service } = publishers;
  if (service) {
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowServiceToPublish',
        principals: [new iam.ServicePrincipal(service.principal)],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': service.sourceArns.length === 1 ? service.sourceArns[0]! : [...service.sourceArns] },
        },
      }),
    );
  }
  const roleArns = publishers.roles.map((r) => r.roleArn);
  if (roleArns.length > 0) {
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowGuardPublishers',
        principals: publishers.roles.map((r) => new iam.ArnPrincipal(r.roleArn)),
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
      }),
    );
  }
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyOtherPublishers',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        // Service principals carry aws:PrincipalIsAWSService=true and are let through to the allow
        // statement above, which admits the one service (if any) for this account's source ARNs
        // alone; other services have no allow and are refused. IAM
        // principals must be one of the publisher roles (with none, no IAM principal may publish).
        BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
        ...(roleArns.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': roleArns } } : {}),
      },
    }),
  );
}
