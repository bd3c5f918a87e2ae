// The guard's two working topics and their keys: the alerts topic (AWS Budgets and the spend
// watcher publish there, the alert handler subscribes) and the notify topic (the guard's messages
// to email channels). Who may publish is set once the publishing roles exist (see topic-policy.ts).

import { Aws, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface GuardTopicsProps {
  /** The policy's budget prefix: Budgets may use the alerts key only for the budgets it names. */
  readonly budgetPrefix: string;
  readonly removalPolicy: RemovalPolicy;
}

export class GuardTopics extends Construct {
  readonly alertsTopic: sns.Topic;
  readonly alertsKey: kms.Key;
  readonly notifyTopic: sns.Topic;
  readonly notifyKey: kms.Key;
  /** ArnLike pattern of this account's budgets with the policy's prefix: Budgets' source ARN. */
  readonly ownedBudgetsArn: string;

  constructor(scope: Construct, id: string, props: GuardTopicsProps) {
    super(scope, id);
    // A customer managed key is required for an encrypted topic that Budgets publishes to, and its
    // key policy must let Budgets use it; only this account's budgets with the policy's prefix.
    this.ownedBudgetsArn = `arn:${Aws.PARTITION}:budgets::${Aws.ACCOUNT_ID}:budget/${props.budgetPrefix}*`;
    this.alertsKey = new kms.Key(this, 'AlertsTopicKey', {
      description: 'Budget Guard: encrypts the alerts topic that AWS Budgets publishes to',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      pendingWindow: Duration.days(7),
    });
    this.alertsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBudgetsToUseTheKey',
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': this.ownedBudgetsArn },
        },
      }),
    );
    this.alertsTopic = new sns.Topic(this, 'AlertsTopic', {
      displayName: 'Budget Guard alerts',
      masterKey: this.alertsKey,
      enforceSSL: true,
    });

    // Each email subscription of the notify topic carries a `channel` filter policy; the guard's
    // own alarms have a topic of their own (see alarms.ts), which no such filter would let through.
    this.notifyKey = new kms.Key(this, 'NotifyTopicKey', {
      description: 'Budget Guard: encrypts the notify topic (email channels)',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      pendingWindow: Duration.days(7),
    });
    this.notifyTopic = new sns.Topic(this, 'NotifyTopic', {
      displayName: 'Budget Guard',
      masterKey: this.notifyKey,
      enforceSSL: true,
    });
  }
}
