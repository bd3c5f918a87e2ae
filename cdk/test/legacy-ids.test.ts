// BudgetGuardStack keeps the logical ids the stack had before the guard became a construct: a
// changed id is a replaced resource (new keys, a deleted subscription, a Delete sent to the
// provisioner's custom resource).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Names, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeUniqueId, stackLayout } from '../lib/legacy-ids';
import { cliContract, CDK_DIR, POLICY_DIR, resourcesOf, synth, type Synthesized } from './helpers';

const cli = cliContract();

describe('makeUniqueId', () => {
  it("agrees with CDK's own unique ids", () => {
    const app = new App();
    const stack = new Stack(app, 'BudgetGuard');
    const paths = [
      ['Alerts'],
      ['Guard', 'Topics', 'AlertsTopic'],
      ['Guard', 'Default', 'Resource'],
      ['Guard', 'Provisioner', 'Function', 'AllowInvoke:BudgetGuardAlertsTopic90CA0EB4'],
      ['Guard', 'GuardGuard', 'Guard'],
      ['x'.repeat(300)],
      ['SlackWebhook-budget_guard_slack_platform_alerts'],
    ];
    for (const p of paths) {
      let scope: Construct = stack;
      for (const id of p) scope = (scope.node.tryFindChild(id) as Construct | undefined) ?? new Construct(scope, id);
      expect(makeUniqueId(['BudgetGuard', ...p]), p.join('/')).toBe(Names.uniqueId(scope));
    }
  });
});

describe('stackLayout', () => {
  it('puts the grouped resources back on the stack, and the functions\' parts beside them', () => {
    expect(stackLayout(['Topics', 'AlertsTopic', 'Resource'])).toEqual(['AlertsTopic', 'Resource']);
    expect(stackLayout(['Schedules', 'RolloverTick', 'Resource'])).toEqual(['RolloverTick', 'Resource']);
    expect(stackLayout(['Provisioner', 'Role', 'DefaultPolicy', 'Resource'])).toEqual(['ProvisionerRole', 'DefaultPolicy', 'Resource']);
    expect(stackLayout(['SpendWatcher', 'Logs', 'Resource'])).toEqual(['SpendWatcherLogs', 'Resource']);
    expect(stackLayout(['AlertHandler', 'Function', 'EventInvokeConfig', 'Resource'])).toEqual(['AlertHandler', 'EventInvokeConfig', 'Resource']);
    expect(stackLayout(['Alarms', 'Topic', 'Resource'])).toEqual(['Alarms', 'Topic', 'Resource']);
    expect(stackLayout(['Provisioning', 'Default'])).toEqual(['Provisioning', 'Default']);
  });
});

const defaultPolicy = path.resolve(POLICY_DIR) === path.resolve(CDK_DIR, '../policies');

describe.skipIf(!cli.ok || !defaultPolicy)('BudgetGuardStack logical ids (real CLI, ../policies)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth();
  });

  it('has every resource of the stack before the construct, under the same logical id and type', () => {
    const before = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'logical-ids.before-construct.json'), 'utf8')) as Record<string, string>;
    const now = resourcesOf(s);
    expect(Object.keys(before).length).toBeGreaterThan(50);
    const missing = Object.entries(before).filter(([id, type]) => now[id]?.Type !== type);
    expect(missing).toEqual([]);
  });
});
