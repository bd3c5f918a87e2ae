// A threshold's `deny: {roles: [...]}`: the hard-stop policy, the role AWS Budgets applies it with,
// and what the provisioner is told and allowed; and none of it for a policy that denies nothing.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { CFN_LINT, cliContract, copyPolicyDir, expectCfnLintClean, resourcesOf, synth, type Json, type Synthesized } from './helpers';

const cli = cliContract();


/** A copy of the policy whose last threshold of the first budget also denies `roles`. */
function policyDenying(roles: readonly string[]): string {
  const dir = copyPolicyDir();
  const file = readdirSync(dir).find((f) => /\.ya?ml$/.test(f) && readFileSync(path.join(dir, f), 'utf8').includes('thresholds:'));
  if (!file) throw new Error(`no policy file with thresholds in ${dir}`);
  const text = readFileSync(path.join(dir, file), 'utf8');
  // The first threshold item after `thresholds:` gets the deny, at the item's own indentation.
  const changed = text.replace(/(thresholds:\n)(\s+)- at: ([^\n]+)\n/, (_m, head: string, indent: string, at: string) =>
    `${head}${indent}- at: ${at}\n${indent}  deny: {roles: [${roles.join(', ')}]}\n`,
  );
  if (changed === text) throw new Error(`could not add a deny to ${file}`);
  writeFileSync(path.join(dir, file), changed);
  return dir;
}

const idOf = (s: Synthesized, c: { node: { defaultChild?: unknown } }): string =>
  s.stack.getLogicalId((c.node.defaultChild ?? c) as never);

const statementsOfRole = (s: Synthesized, r: Record<string, Json>, role: { node: { findChild(id: string): { node: { defaultChild?: unknown } } } }): Json[] =>
  r[idOf(s, role.node.findChild('DefaultPolicy'))]!.Properties.PolicyDocument.Statement as Json[];

describe.skipIf(!cli.ok)('budget action resources (real CLI)', () => {
  let denying: Synthesized;
  let plain: Synthesized;
  let r: Record<string, Json>;
  beforeAll(() => {
    denying = synth({ policyDir: policyDenying(['chatbot-app', 'batch-jobs']) });
    plain = synth();
    r = resourcesOf(denying);
  });

  it('reads the denied roles from the export, sorted', () => {
    expect(denying.stack.guard.policy.model.deny_roles).toEqual(['batch-jobs', 'chatbot-app']);
    expect(plain.stack.guard.policy.model.deny_roles).toEqual([]);
  });

  it('makes a managed policy that denies invoking Bedrock models, and nothing else', () => {
    const action = denying.stack.guard.budgetAction!;
    const policy = r[idOf(denying, action.denyPolicy)]!;
    expect(policy.Type).toBe('AWS::IAM::ManagedPolicy');
    expect(policy.Properties.Description).toMatch(/hard stop/);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'BudgetGuardHardStop',
        Effect: 'Deny',
        Action: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        Resource: '*',
      },
    ]);
  });

  it('makes a role only AWS Budgets of this account assumes, that attaches only that policy, only to the denied roles', () => {
    const action = denying.stack.guard.budgetAction!;
    const role = r[idOf(denying, action.role)]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'budgets.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const inline = role.Properties.Policies as Json[];
    expect(inline).toHaveLength(1);
    const roleArn = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, `:role/${name}`]],
    });
    expect(inline[0]!.PolicyDocument.Statement).toEqual([
      {
        Sid: 'AttachTheHardStopToTheDeniedRoles',
        Effect: 'Allow',
        Action: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
        Resource: [roleArn('batch-jobs'), roleArn('chatbot-app')],
        Condition: { ArnEquals: { 'iam:PolicyARN': { Ref: idOf(denying, action.denyPolicy) } } },
      },
    ]);
  });

  it('tells the provisioner the policy and the role, and lets it pass the role to AWS Budgets only', () => {
    const action = denying.stack.guard.budgetAction!;
    const provisioner = r[idOf(denying, denying.stack.guard.functions.provisioner)]!;
    expect(provisioner.Properties.Environment.Variables).toMatchObject({
      BUDGET_GUARD_DENY_POLICY_ARN: { Ref: idOf(denying, action.denyPolicy) },
      BUDGET_GUARD_BUDGET_ACTION_ROLE_ARN: { 'Fn::GetAtt': [idOf(denying, action.role), 'Arn'] },
    });
    const passRole = statementsOfRole(denying, r, denying.stack.guard.roles.provisioner).filter((st) =>
      ([] as string[]).concat(st.Action as string | string[]).includes('iam:PassRole'),
    );
    expect(passRole).toEqual([
      {
        Sid: 'BudgetGuardBudgetActionRole',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [idOf(denying, action.role), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'budgets.amazonaws.com' } },
      },
    ]);
    // Nobody else may pass it.
    for (const name of ['alert-handler', 'spend-watcher'] as const) {
      expect(JSON.stringify(statementsOfRole(denying, r, denying.stack.guard.roles[name]))).not.toContain('iam:PassRole');
    }
  });

  it('gives the stack outputs plan and apply read the policy and the role from, only when some threshold denies', () => {
    const action = denying.stack.guard.budgetAction!;
    const outputs = denying.template.toJSON().Outputs as Json;
    expect(outputs.DenyPolicyArn.Value).toEqual({ Ref: idOf(denying, action.denyPolicy) });
    expect(outputs.BudgetActionRoleArn.Value).toEqual({ 'Fn::GetAtt': [idOf(denying, action.role), 'Arn'] });
    const plainOutputs = plain.template.toJSON().Outputs as Json;
    expect(plainOutputs.DenyPolicyArn).toBeUndefined();
    expect(plainOutputs.BudgetActionRoleArn).toBeUndefined();
  });

  it('passes cdk-nag with no acknowledgment of its own', () => {
    const report = new AwsSolutionsChecks().validateScope(denying.stack);
    expect(report.violations).toEqual([]);
  });

  it.skipIf(CFN_LINT === '')('passes cfn-lint', () => {
    expectCfnLintClean(denying);
  });

  it('makes none of it, and sets no variable, when no threshold denies', () => {
    const p = resourcesOf(plain);
    expect(plain.stack.guard.budgetAction).toBeUndefined();
    expect(JSON.stringify(p)).not.toContain('bedrock:InvokeModel');
    const roles = Object.values(p).filter((x) => x.Type === 'AWS::IAM::Role');
    for (const role of roles) expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).not.toContain('budgets.amazonaws.com');
    const env = p[idOf(plain, plain.stack.guard.functions.provisioner)]!.Properties.Environment.Variables as Json;
    expect(Object.keys(env)).not.toContain('BUDGET_GUARD_DENY_POLICY_ARN');
    expect(Object.keys(env)).not.toContain('BUDGET_GUARD_BUDGET_ACTION_ROLE_ARN');
    expect(JSON.stringify(p)).not.toContain('iam:PassRole');
  });
});
