// Budget Guard's own stack (what `cdk deploy` in cdk/ deploys): one BudgetGuard and its outputs.

import * as path from 'node:path';
import { Aws, CfnOutput, Stack, type CfnElement, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BudgetGuard, type BudgetGuardProps } from './budget-guard';
import { LegacyLogicalIds, stackLayout } from './legacy-ids';

export interface BudgetGuardStackProps extends StackProps, Omit<BudgetGuardProps, 'policyDir'> {
  /** The policy directory (absolute, or relative to the `cdk/` directory). */
  readonly policyDir: string;
}

/** The guard's construct id in its own stack (its resources keep their pre-construct ids, see legacy-ids.ts). */
export const GUARD_ID = 'Guard';

export class BudgetGuardStack extends Stack {
  readonly guard: BudgetGuard;
  private readonly legacyIds: LegacyLogicalIds;

  constructor(scope: Construct, id: string, props: BudgetGuardStackProps) {
    super(scope, id, props);
    this.guard = new BudgetGuard(this, GUARD_ID, { ...props, policyDir: path.resolve(__dirname, '..', props.policyDir) });
    this.legacyIds = new LegacyLogicalIds(this.guard, stackLayout);
    const guard = this.guard;

    new CfnOutput(this, 'AlertsTopicArn', {
      description: 'The topic AWS Budgets and the spend watcher publish alerts to',
      value: guard.alertsTopic.topicArn,
    });
    new CfnOutput(this, 'NotifyTopicArn', {
      description: 'The topic for email channels',
      value: guard.notifyTopic.topicArn,
    });
    new CfnOutput(this, 'AlarmsTopicArn', {
      description: "The topic of the guard's own alarms (settings.alarms subscribes to it)",
      value: guard.alarms.topic.topicArn,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Events the functions failed to handle: budget-guard dlq list|replay --queue-url',
      value: guard.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'The Budget Guard CloudWatch dashboard',
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${guard.dashboardName}`,
    });
    new CfnOutput(this, 'AlertHandlerName', {
      description: 'The alert handler, the one writer of flags: `budget-guard flags` sends it set, pin, unpin and restore (needs lambda:InvokeFunction)',
      value: guard.functions['alert-handler'].functionName,
    });
    new CfnOutput(this, 'Owner', {
      description:
        'The budget-guard:owner tag of the budgets this deployment manages (settings.owner, else the stack name); `budget-guard plan|apply` find it from --stack-name',
      value: guard.owner,
    });
    new CfnOutput(this, 'FlagsPath', {
      description: 'SSM parameter path of the routing flags (one parameter per route)',
      value: guard.flagsPath,
    });
    // Only for a policy whose thresholds deny roles: `budget-guard plan|apply` need both for it.
    if (guard.budgetAction) {
      new CfnOutput(this, 'DenyPolicyArn', {
        description: "The hard-stop policy AWS Budgets attaches to the roles a threshold denies (budget-guard apply --deny-policy-arn)",
        value: guard.budgetAction.denyPolicy.managedPolicyArn,
      });
      new CfnOutput(this, 'BudgetActionRoleArn', {
        description: 'The role AWS Budgets runs the deny actions as (budget-guard apply --budget-action-role-arn)',
        value: guard.budgetAction.role.roleArn,
      });
    }
  }

  /** The guard's resources keep the logical ids they had when the stack held them itself. */
  protected override allocateLogicalId(element: CfnElement): string {
    return this.legacyIds?.logicalId(element) ?? super.allocateLogicalId(element);
  }
}
