// A policy that names an application inference profile ARN without a `profiles:` entry: synth
// stays offline and accepts it, the provisioner may ask Bedrock about exactly that ARN and record
// the answer in one parameter, the other functions (the fast path's usage meter among them) may read
// that parameter, and all are told its name. A policy that maps its profiles (the example) gets none
// of it.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, type FunctionName } from '../lib/iam';
import { CFN_LINT, cliContract, expectCfnLintClean, resourcesOf, synth, tempDir, type Json, type Synthesized } from './helpers';

const cli = cliContract();


const PROFILE = 'arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/chatbot01';
const PARAMETER = '/budget-guard/state/profiles';

function policyWithProfile(): string {
  const dir = tempDir('profiles-policy');
  writeFileSync(
    path.join(dir, 'policy.yaml'),
    `version: 1
routes:
  chat:
    ladder: [${PROFILE}, us.anthropic.claude-haiku-4-5-20251001-v1:0]
budgets:
  chatbot:
    amount: 500
    period: monthly
    scope:
      models: [${PROFILE}, us.anthropic.claude-haiku-4-5-20251001-v1:0]
    thresholds:
      - at: 80%
        notify: [ops]
        downgrade: {route: chat, to: 2}
channels:
  ops:
    email: [ops@example.com]
settings:
  alarms: [ops]
`,
  );
  return dir;
}

const idOf = (s: Synthesized, c: { node: { defaultChild?: unknown } }): string =>
  s.stack.getLogicalId((c.node.defaultChild ?? c) as never);

function statements(s: Synthesized, fn: FunctionName): Json[] {
  const role = s.stack.guard.roles[fn];
  return resourcesOf(s)[idOf(s, role.node.findChild('DefaultPolicy') as never)]!.Properties.PolicyDocument.Statement as Json[];
}

const environment = (s: Synthesized, fn: FunctionName): Record<string, unknown> =>
  resourcesOf(s)[idOf(s, s.stack.guard.functions[fn])]!.Properties.Environment.Variables as Record<string, unknown>;

const parameterArn = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter${PARAMETER}`]],
};

describe.skipIf(!cli.ok)('application inference profiles resolved at deploy (real CLI)', () => {
  let s: Synthesized;
  let plain: Synthesized;
  let fast: Synthesized;
  beforeAll(() => {
    const dir = policyWithProfile();
    s = synth({ policyDir: dir });
    plain = synth();
    fast = synth({ policyDir: dir, fastPath: true });
  });

  it('synthesizes offline, with the unmapped ARN a warning of validate', () => {
    expect(s.stack.guard.policy.model.unresolved_profiles).toEqual([PROFILE]);
    expect(s.stack.guard.policy.model.profiles_parameter).toBe(PARAMETER);
    expect(s.stack.guard.policy.validateOutput).toMatch(/warning\[BG801\]/);
    expect(plain.stack.guard.policy.model.unresolved_profiles).toEqual([]);
  });

  it('lets the provisioner ask Bedrock about exactly the unmapped ARNs, and record the answers', () => {
    const st = statements(s, 'provisioner');
    expect(st.find((x) => x.Sid === 'BudgetGuardUnresolvedProfiles')).toEqual({
      Sid: 'BudgetGuardUnresolvedProfiles',
      Effect: 'Allow',
      Action: 'bedrock:GetInferenceProfile',
      Resource: PROFILE,
    });
    expect(st.find((x) => x.Sid === 'BudgetGuardProfileMapping')).toEqual({
      Sid: 'BudgetGuardProfileMapping',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:PutParameter'],
      Resource: parameterArn,
    });
  });

  it('lets the alert handler and the spend watcher read the record, and write nothing to it', () => {
    for (const fn of ['alert-handler', 'spend-watcher'] as const) {
      const st = statements(s, fn);
      expect(st.find((x) => x.Sid === 'BudgetGuardProfileMapping'), fn).toEqual({
        Sid: 'BudgetGuardProfileMapping',
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: parameterArn,
      });
      expect(JSON.stringify(st), fn).not.toContain('bedrock:');
    }
  });

  it('lets the usage meter read the record and names the parameter to it, when the fast path is on', () => {
    const meter = fast.stack.guard.fastPath!;
    const r = resourcesOf(fast);
    const st = r[idOf(fast, meter.role.node.findChild('DefaultPolicy') as never)]!.Properties.PolicyDocument.Statement as Json[];
    expect(st.find((x) => x.Sid === 'BudgetGuardProfileMapping')).toEqual({
      Sid: 'BudgetGuardProfileMapping',
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: parameterArn,
    });
    expect(JSON.stringify(st)).not.toContain('bedrock:');
    expect(r[idOf(fast, meter.function)]!.Properties.Environment.Variables.BUDGET_GUARD_PROFILES_PARAMETER).toBe(PARAMETER);
  });

  it('names the parameter to every function', () => {
    for (const fn of FUNCTION_NAMES) {
      expect(environment(s, fn).BUDGET_GUARD_PROFILES_PARAMETER, fn).toBe(PARAMETER);
      expect(environment(plain, fn).BUDGET_GUARD_PROFILES_PARAMETER, fn).toBeUndefined();
    }
  });

  it('grants nothing of it to a policy without unmapped profiles', () => {
    for (const fn of FUNCTION_NAMES) {
      const text = JSON.stringify(statements(plain, fn));
      expect(text, fn).not.toContain('bedrock:GetInferenceProfile');
      expect(text, fn).not.toContain(':parameter/budget-guard/state/profiles');
    }
  });

  it('passes cdk-nag', () => {
    const report = new AwsSolutionsChecks().validateScope(s.stack);
    expect(report.violations).toEqual([]);
  });

  it.skipIf(CFN_LINT === '')('passes cfn-lint', () => {
    expectCfnLintClean(s);
  });
});
