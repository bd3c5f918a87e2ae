// The hard stop a policy can ask for: a threshold's `deny: {roles: [...]}` becomes an AWS Budgets
// action that attaches a deny-Bedrock policy to those IAM roles when the threshold is crossed. The
// provisioner creates the actions (it knows the thresholds); this construct makes the two things
// they need: the policy to attach, and the role AWS Budgets assumes to attach it.

import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * Invoking a model: InvokeModel and InvokeModelWithResponseStream are also the actions IAM checks
 * for Converse and ConverseStream, so these two stop every way of calling a model.
 */
export const DENIED_BEDROCK_ACTIONS = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'] as const;

export interface BudgetActionResourcesProps {
  /** The IAM role names the policy's thresholds deny (`deny_roles` of `budget-guard export`). */
  readonly roleNames: readonly string[];
}

export class BudgetActionResources extends Construct {
  /** What Budgets attaches to the denied roles. */
  readonly denyPolicy: iam.ManagedPolicy;
  /** What Budgets assumes to attach and detach it. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BudgetActionResourcesProps) {
    super(scope, id);
    if (props.roleNames.length === 0) throw new Error('BudgetActionResources: no role to deny');
    this.denyPolicy = new iam.ManagedPolicy(this, 'DenyPolicy', {
      description:
        "Budget Guard's hard stop: AWS Budgets attaches this to the roles a threshold denies, and they can no longer invoke Bedrock models",
      statements: [
        new iam.PolicyStatement({
          sid: 'BudgetGuardHardStop',
          effect: iam.Effect.DENY,
          actions: [...DENIED_BEDROCK_ACTIONS],
          resources: ['*'],
        }),
      ],
    });
    this.role = new iam.Role(this, 'Role', {
      description: 'Budget Guard: AWS Budgets assumes this to attach the hard-stop policy to the roles the policy denies',
      // Only Budgets acting for this account: another account's budget cannot use the role.
      assumedBy: new iam.ServicePrincipal('budgets.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      inlinePolicies: {
        AttachHardStop: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'AttachTheHardStopToTheDeniedRoles',
              actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
              // The named roles only, and only this one policy: the role cannot grant anything.
              resources: props.roleNames.map((name) => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${name}`),
              conditions: { ArnEquals: { 'iam:PolicyARN': this.denyPolicy.managedPolicyArn } },
            }),
          ],
        }),
      },
    });
  }
}
