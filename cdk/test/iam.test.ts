// Unit tests of the pure mapping from `budget-guard iam-actions` to IAM statements, on a sample of
// the CLI's JSON (test input only: the stack runs the real CLI).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  topicPublishers,
  FUNCTION_NAMES,
  IamContractError,
  normalizeParameterPath,
  parameterArns,
  parseIamActions,
  RESOURCE_KINDS,
  resourcesFor,
  statementsFor,
  WILDCARD_REASONS,
  type ResourceContext,
} from '../lib/iam';
import { ladderModels, parseExportedPolicy, slackSecretNames } from '../lib/policy';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(path.join(__dirname, 'fixtures', name), 'utf8')) as unknown;

const ctx: ResourceContext = {
  partition: 'aws',
  region: 'eu-west-1',
  account: '123456789012',
  budgetPrefix: 'bg-',
  flagsPath: '/budget-guard/routes/',
  statePath: '/budget-guard/state/',
  alertsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
  notifyTopicArn: 'arn:aws:sns:eu-west-1:123456789012:notify',
  slackSecretNames: ['budget-guard/slack/ops'],
  metricsNamespace: 'BudgetGuard',
};

describe('parseIamActions', () => {
  it('reads the sample of budget-guard iam-actions --format json', () => {
    const iam = parseIamActions(fixture('iam-actions.sample.json'));
    expect(Object.keys(iam).sort()).toEqual([...FUNCTION_NAMES].sort());
    expect(iam['spend-watcher']).toContainEqual({ actions: ['cloudwatch:GetMetricData', 'cloudwatch:ListMetrics'], resource: 'any' });
    // Reconciliation reads the fast path's counters, granted only where the usage table exists.
    expect(iam['spend-watcher']).toContainEqual({ actions: ['dynamodb:BatchGetItem'], resource: 'usage-table' });
    expect(iam['alert-handler']).toContainEqual(expect.objectContaining({ resource: 'alert-handler-state', stateDir: 'alert-handler/' }));
  });

  it('rejects an unknown resource kind, so a new kind in Rust cannot silently grant nothing', () => {
    const raw = { provisioner: [{ actions: ['s3:GetObject'], resource: 'buckets' }], 'alert-handler': [], 'spend-watcher': [] };
    expect(() => parseIamActions(raw)).toThrow(IamContractError);
    expect(() => parseIamActions(raw)).toThrow(/buckets/);
  });

  it('rejects an unknown function and a missing one', () => {
    expect(() => parseIamActions({ provisioner: [], 'alert-handler': [], 'spend-watcher': [], extra: [] })).toThrow(/extra/);
    expect(() => parseIamActions({ provisioner: [], 'alert-handler': [] })).toThrow(/spend-watcher/);
  });

  it("reads the usage meter's grants when the CLI lists them, on the usage table only", () => {
    const raw = {
      provisioner: [],
      'alert-handler': [],
      'spend-watcher': [],
      'usage-meter': [{ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resource: 'usage-table' }],
    };
    const iam = parseIamActions(raw);
    expect(iam['usage-meter']).toEqual([{ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resource: 'usage-table' }]);
    expect(resourcesFor('usage-table', ctx)).toBeUndefined();
    const table = 'arn:aws:dynamodb:eu-west-1:123456789012:table/usage';
    expect(resourcesFor('usage-table', { ...ctx, usageTableArn: table })).toEqual({ resources: [table] });
    expect(() => parseIamActions({ ...raw, 'usage-meter': {} })).toThrow(/usage-meter/);
  });

  it('rejects malformed actions', () => {
    const bad = { provisioner: [{ actions: ['not an action'], resource: 'any' }], 'alert-handler': [], 'spend-watcher': [] };
    expect(() => parseIamActions(bad)).toThrow(/provisioner\[0\]\.actions/);
    const empty = { provisioner: [{ actions: [], resource: 'any' }], 'alert-handler': [], 'spend-watcher': [] };
    expect(() => parseIamActions(empty)).toThrow(IamContractError);
  });
});

describe('resourcesFor', () => {
  it('narrows owned budgets to the prefix, with no region in the ARN', () => {
    expect(resourcesFor('owned-budgets', ctx)).toEqual({ resources: ['arn:aws:budgets::123456789012:budget/bg-*'] });
  });

  it('maps flags and state to the parameters under their path and the path itself', () => {
    expect(resourcesFor('flags', ctx)?.resources).toEqual([
      'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/routes',
      'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/routes/*',
    ]);
  });

  it("maps each function's state to its own subtree of the state path, and nothing above it", () => {
    expect(resourcesFor('alert-handler-state', ctx, 'alert-handler/')?.resources).toEqual([
      'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/state/alert-handler',
      'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/state/alert-handler/*',
    ]);
    expect(resourcesFor('spend-watcher-state', { ...ctx, statePath: 'budget-guard/state' }, 'spend/')?.resources).toEqual([
      'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/state/spend',
      'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/state/spend/*',
    ]);
    expect(() => resourcesFor('spend-watcher-state', ctx)).toThrow(IamContractError);
  });

  it('requires a state kind to name its subtree, and no other kind to', () => {
    const others = { 'alert-handler': [], 'spend-watcher': [] };
    const missing = { provisioner: [{ actions: ['ssm:GetParameter'], resource: 'spend-watcher-state' }], ...others };
    expect(() => parseIamActions(missing)).toThrow(/state_dir/);
    const climbing = {
      provisioner: [{ actions: ['ssm:GetParameter'], resource: 'spend-watcher-state', state_dir: '../' }],
      ...others,
    };
    expect(() => parseIamActions(climbing)).toThrow(/state_dir/);
    const stray = { provisioner: [{ actions: ['ssm:GetParameter'], resource: 'flags', state_dir: 'x/' }], ...others };
    expect(() => parseIamActions(stray)).toThrow(/state_dir/);
  });

  it('maps the topics to their ARNs', () => {
    expect(resourcesFor('alerts-topic', ctx)?.resources).toEqual([ctx.alertsTopicArn]);
    expect(resourcesFor('notify-topic', ctx)?.resources).toEqual([ctx.notifyTopicArn]);
  });

  it('maps slack secrets to each named secret with the 6-character suffix, and to nothing without any', () => {
    expect(resourcesFor('slack-secrets', { ...ctx, slackSecretNames: ['b/two', 'a/one'] })?.resources).toEqual([
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:a/one-??????',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:b/two-??????',
    ]);
    expect(resourcesFor('slack-secrets', { ...ctx, slackSecretNames: [] })).toBeUndefined();
  });

  it('limits PutMetricData to the BudgetGuard namespace', () => {
    expect(resourcesFor('metrics-namespace', ctx)).toEqual({
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': 'BudgetGuard' } },
    });
  });

  it('maps the budget action role to its ARN, passed to AWS Budgets only, and to nothing when no threshold denies', () => {
    const roleArn = 'arn:aws:iam::123456789012:role/BudgetActionRole';
    expect(resourcesFor('budget-action-role', { ...ctx, budgetActionRoleArn: roleArn })).toEqual({
      resources: [roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'budgets.amazonaws.com' } },
    });
    expect(resourcesFor('budget-action-role', ctx)).toBeUndefined();
  });

  it('drops the PassRole grant when there is no action role, and keeps the rest of the list', () => {
    const raw = {
      provisioner: [
        { actions: ['iam:PassRole'], resource: 'budget-action-role' },
        { actions: ['budgets:CreateBudgetAction', 'budgets:ViewBudget'], resource: 'owned-budgets' },
        { actions: ['budgets:DescribeBudgetActionsForAccount'], resource: 'any' },
      ],
      'alert-handler': [],
      'spend-watcher': [],
    };
    const grants = parseIamActions(raw).provisioner;
    expect(statementsFor(grants, ctx).map((st) => st.kind)).toEqual(['owned-budgets', 'any']);
    const withRole = statementsFor(grants, { ...ctx, budgetActionRoleArn: 'arn:aws:iam::123456789012:role/R' });
    expect(withRole.find((st) => st.kind === 'budget-action-role')).toEqual({
      sid: 'BudgetGuardBudgetActionRole',
      kind: 'budget-action-role',
      actions: ['iam:PassRole'],
      resources: ['arn:aws:iam::123456789012:role/R'],
      conditions: { StringEquals: { 'iam:PassedToService': 'budgets.amazonaws.com' } },
    });
  });

  it('maps unresolved application inference profiles to their ARNs and their record to its one parameter, and both to nothing without them', () => {
    const arns = [
      'arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/b2',
      'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1',
    ];
    const withProfiles = { ...ctx, unresolvedProfiles: arns, profilesParameter: '/budget-guard/state/profiles' };
    expect(resourcesFor('unresolved-profiles', withProfiles)).toEqual({ resources: [...arns].sort() });
    expect(resourcesFor('profile-mapping', withProfiles)).toEqual({
      resources: ['arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/state/profiles'],
    });
    const none = { ...ctx, unresolvedProfiles: [], profilesParameter: '/budget-guard/state/profiles' };
    expect(resourcesFor('unresolved-profiles', none)).toBeUndefined();
    expect(resourcesFor('profile-mapping', none)).toBeUndefined();
    expect(resourcesFor('profile-mapping', ctx)).toBeUndefined();
  });

  it('gives "any" the wildcard resource', () => {
    expect(resourcesFor('any', ctx)).toEqual({ resources: ['*'] });
  });

  it('has a reason for every kind', () => {
    for (const k of RESOURCE_KINDS) expect(WILDCARD_REASONS[k].length).toBeGreaterThan(20);
  });
});

describe('normalizeParameterPath / parameterArns', () => {
  it.each([
    ['/budget-guard/routes/', '/budget-guard/routes/'],
    ['budget-guard/routes', '/budget-guard/routes/'],
    ['//a//', '/a/'],
    ['/', '/'],
  ])('%s -> %s', (input, want) => expect(normalizeParameterPath(input)).toBe(want));

  it('gives the whole parameter space for the root path', () => {
    expect(parameterArns(ctx, '/')).toEqual(['arn:aws:ssm:eu-west-1:123456789012:parameter/*']);
  });
});

describe('statementsFor', () => {
  const iam = parseIamActions(fixture('iam-actions.sample.json'));

  it('gives one statement per kind with the union of its actions, sorted', () => {
    const grants = [
      { actions: ['ssm:PutParameter'], resource: 'spend-watcher-state' as const, stateDir: 'spend/' },
      { actions: ['ssm:GetParameter', 'ssm:PutParameter'], resource: 'spend-watcher-state' as const, stateDir: 'spend/' },
    ];
    expect(statementsFor(grants, ctx)).toEqual([
      {
        sid: 'BudgetGuardSpendWatcherState',
        kind: 'spend-watcher-state',
        actions: ['ssm:GetParameter', 'ssm:PutParameter'],
        resources: [
          'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/state/spend',
          'arn:aws:ssm:eu-west-1:123456789012:parameter/budget-guard/state/spend/*',
        ],
      },
    ]);
  });

  it('covers every action of every function in the sample, each on its narrowed resource', () => {
    // A deployment with everything a kind may stand for: a deny, and unmapped profiles.
    const full: ResourceContext = {
      ...ctx,
      budgetActionRoleArn: 'arn:aws:iam::123456789012:role/BudgetActionRole',
      unresolvedProfiles: ['arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1'],
      profilesParameter: '/budget-guard/state/profiles',
      usageTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/budget-guard-usage',
    };
    for (const fn of FUNCTION_NAMES) {
      const statements = statementsFor(iam[fn], full);
      for (const grant of iam[fn]) {
        const st = statements.find((s) => s.kind === grant.resource);
        expect(st, `${fn} ${grant.resource}`).toBeDefined();
        for (const a of grant.actions) expect(st!.actions).toContain(a);
        expect(st!.resources).toEqual(resourcesFor(grant.resource, full, grant.stateDir)!.resources);
      }
    }
  });

  it('grants nothing that is not in the list', () => {
    for (const fn of FUNCTION_NAMES) {
      const listed = new Set(iam[fn].flatMap((g) => g.actions));
      for (const st of statementsFor(iam[fn], ctx)) for (const a of st.actions) expect(listed.has(a)).toBe(true);
    }
  });

  it('puts the namespace condition on PutMetricData', () => {
    const st = statementsFor(iam['spend-watcher'], ctx).find((s) => s.kind === 'metrics-namespace');
    expect(st?.conditions).toEqual({ StringEquals: { 'cloudwatch:namespace': 'BudgetGuard' } });
    expect(st?.actions).toEqual(['cloudwatch:PutMetricData']);
  });

  it('drops slack-secrets when the policy names no secret', () => {
    const st = statementsFor(iam['alert-handler'], { ...ctx, slackSecretNames: [] });
    expect(st.find((s) => s.kind === 'slack-secrets')).toBeUndefined();
  });

  it('names the alerts topic publishers from the list (the spend watcher)', () => {
    expect(topicPublishers(iam, 'alerts-topic')).toEqual(['spend-watcher']);
    expect(topicPublishers(iam, 'notify-topic')).toEqual(['alert-handler']);
  });
});

describe('parseExportedPolicy', () => {
  const policy = parseExportedPolicy(fixture('export.sample.json'));

  it('reads settings, channels, routes and budgets', () => {
    expect(policy.settings).toEqual({
      budget_prefix: 'bg-',
      currency: 'USD',
      flags_path: '/budget-guard/routes/',
      state_path: '/budget-guard/state/',
      retain_on_delete: false,
      alarms: ['finance', 'ops-slack'],
    });
    expect(policy.channels['ops-slack']).toEqual({
      slack: { webhook_secret: 'budget-guard/slack/ops', chatbot: { workspace_id: 'T0123ABCDE', channel_id: 'C0123ABCDE' } },
    });
    expect(slackSecretNames(policy)).toEqual(['budget-guard/slack/ops']);
    expect(ladderModels(policy)).toContain('anthropic.claude-haiku-4-5');
    expect(policy.budgets['team-a']).toMatchObject({ name: 'bg-team-a', amount: 500, period: 'monthly', watch: true });
    expect(policy.budgets['team-b']?.watch).toBe(false);
  });

  it('accepts a decimal amount printed as a string', () => {
    const raw = JSON.parse(JSON.stringify(fixture('export.sample.json'))) as { budgets: Record<string, { amount: unknown }> };
    raw.budgets['team-a']!.amount = '500.50';
    expect(parseExportedPolicy(raw).budgets['team-a']?.amount).toBe(500.5);
  });

  it('fails loudly on a contract change', () => {
    expect(() => parseExportedPolicy({ settings: {} })).toThrow(/settings\.budget_prefix/);
    expect(() =>
      parseExportedPolicy({ ...(fixture('export.sample.json') as object), channels: { x: { pager: {} } } }),
    ).toThrow(/channels\.x/);
    const raw = JSON.parse(JSON.stringify(fixture('export.sample.json'))) as { settings: Record<string, unknown> };
    delete raw.settings.alarms;
    expect(() => parseExportedPolicy(raw)).toThrow(/settings\.alarms/);
  });

  it('reads deny_roles, and requires them sorted, unique IAM role names', () => {
    expect(policy.deny_roles).toEqual([]);
    const withRoles = (roles: unknown) => ({ ...(fixture('export.sample.json') as object), deny_roles: roles });
    expect(parseExportedPolicy(withRoles(['batch-jobs', 'chatbot-app'])).deny_roles).toEqual(['batch-jobs', 'chatbot-app']);
    expect(() => parseExportedPolicy(withRoles(undefined))).toThrow(/deny_roles is not a list/);
    expect(() => parseExportedPolicy(withRoles('chatbot-app'))).toThrow(/deny_roles is not a list/);
    expect(() => parseExportedPolicy(withRoles(['chatbot-app', 'batch-jobs']))).toThrow(/sorted and unique/);
    expect(() => parseExportedPolicy(withRoles(['a', 'a']))).toThrow(/sorted and unique/);
    expect(() => parseExportedPolicy(withRoles(['role/with-path']))).toThrow(/not an IAM role name/);
  });

  it('reads unresolved_profiles, sorted, unique application inference profile ARNs, and the parameter that records them', () => {
    expect(policy.unresolved_profiles).toEqual([]);
    expect(policy.profiles_parameter).toBe('/budget-guard/state/profiles');
    const a = 'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1';
    const b = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/b2';
    const withProfiles = (arns: unknown) => ({ ...(fixture('export.sample.json') as object), unresolved_profiles: arns });
    expect(parseExportedPolicy(withProfiles([a, b])).unresolved_profiles).toEqual([a, b]);
    expect(() => parseExportedPolicy(withProfiles(undefined))).toThrow(/unresolved_profiles is not a list/);
    expect(() => parseExportedPolicy(withProfiles([b, a]))).toThrow(/sorted and unique/);
    expect(() => parseExportedPolicy(withProfiles(['arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x']))).toThrow(
      /not an application inference profile ARN/,
    );
    expect(() => parseExportedPolicy(withProfiles(['*']))).toThrow(/not an application inference profile ARN/);
    const badParameter = { ...(fixture('export.sample.json') as object), profiles_parameter: 'profiles*' };
    expect(() => parseExportedPolicy(badParameter)).toThrow(/not an SSM parameter name/);
  });
});
