// The construct in a team's own stack, beside a function of theirs: it synthesizes under cdk-nag
// with no acknowledgment outside the guard, the team's function reads exactly the routing flags,
// and the members a team builds on are there.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLING_STACKS } from '../lib/app';
import { BudgetGuard, type BudgetGuardProps } from '../lib/index';
import { cliContract, POLICY_DIR, tempDir } from './helpers';

const cli = cliContract();

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface TeamApp {
  readonly app: App;
  readonly stack: Stack;
  readonly guard: BudgetGuard;
  readonly api: lambda.Function;
  readonly resources: Record<string, Json>;
  readonly outputs: Record<string, Json>;
}

/** The newest Python runtime this CDK knows: cdk-nag's L1 wants the newest of a family. */
const NEWEST_PYTHON = lambda.Runtime.ALL.filter((r) => /^python\d/.test(r.name)).sort((x, y) =>
  x.name.localeCompare(y.name, undefined, { numeric: true }),
).pop()!;

/** A team's stack: their API function (nag-clean on its own), the guard beside it, and its flags granted. */
function teamApp(guardProps: Partial<BudgetGuardProps> = {}, extra?: (stack: Stack) => Partial<BudgetGuardProps>): TeamApp {
  const outdir = tempDir('team');
  const app = new App({ outdir, context: { [BUNDLING_STACKS]: [] } });
  const stack = new Stack(app, 'TeamChatStack');
  const role = new iam.Role(stack, 'ChatApiRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const logGroup = new logs.LogGroup(stack, 'ChatApiLogs', { retention: logs.RetentionDays.ONE_WEEK });
  logGroup.grantWrite(role);
  const api = new lambda.Function(stack, 'ChatApi', {
    runtime: NEWEST_PYTHON,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(event, context):\n    return {}\n'),
    role,
    logGroup,
  });
  const guard = new BudgetGuard(stack, 'BudgetGuard', { policyDir: POLICY_DIR, ...guardProps, ...(extra ? extra(stack) : {}) });
  guard.grantReadRoutingFlags(api);
  new CfnOutput(stack, 'GuardAlertsTopicArn', { value: guard.alertsTopic.topicArn });
  new CfnOutput(stack, 'GuardFlagsPath', { value: guard.flagsPath });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  const template = JSON.parse(readFileSync(path.join(outdir, stack.templateFile), 'utf8')) as Json;
  return { app, stack, guard, api, resources: template.Resources as Record<string, Json>, outputs: template.Outputs as Record<string, Json> };
}

function acknowledgedPaths(root: IConstruct): string[] {
  return root.node
    .findAll()
    .filter((c) => c.node.metadata.some((e) => e.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .map((c) => c.node.path);
}

describe.skipIf(!cli.ok)('BudgetGuard in a team\'s own stack (real CLI)', () => {
  let t: TeamApp;
  beforeAll(() => {
    t = teamApp();
  });

  it('passes cdk-nag, and every acknowledgment is the guard\'s own', () => {
    const report = new AwsSolutionsChecks().validateScope(t.stack);
    expect(report.violations).toEqual([]);
    const acked = acknowledgedPaths(t.app);
    expect(acked.length).toBeGreaterThan(0);
    for (const p of acked) expect(p.startsWith('TeamChatStack/BudgetGuard/'), p).toBe(true);
  });

  it("lets the team's function read each route's flag parameter, and no other parameter or key", () => {
    const roleId = t.stack.getLogicalId(t.api.role!.node.findChild('DefaultPolicy').node.defaultChild as never);
    const statements = t.resources[roleId]!.Properties.PolicyDocument.Statement as Json[];
    const ssm = statements.filter((st) => JSON.stringify(st.Action).includes('ssm:'));
    expect(ssm).toHaveLength(1);
    expect(ssm[0]!.Action).toEqual(['ssm:GetParameter', 'ssm:GetParameters']);
    const { routes, settings } = t.guard.policy.model;
    const names = Object.values(routes).map((r) => r.parameter).sort();
    expect(names.length).toBeGreaterThan(0);
    const arn = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter${name}`]],
    });
    expect(ssm[0]!.Resource).toEqual(names.map(arn));
    for (const name of names) expect(name.startsWith(settings.flags_path), name).toBe(true);
    // The flags are plain String parameters: no key to decrypt them with.
    expect(JSON.stringify(statements)).not.toContain('kms:');
  });

  it('exposes the topics, the flags path, the dashboard and the dead-letter queue', () => {
    expect(t.resources[t.stack.getLogicalId(t.guard.alertsTopic.node.defaultChild as never)]!.Type).toBe('AWS::SNS::Topic');
    expect(t.resources[t.stack.getLogicalId(t.guard.notifyTopic.node.defaultChild as never)]!.Type).toBe('AWS::SNS::Topic');
    expect(t.resources[t.stack.getLogicalId(t.guard.deadLetterQueue.node.defaultChild as never)]!.Type).toBe('AWS::SQS::Queue');
    expect(t.resources[t.stack.getLogicalId(t.guard.dashboard.node.defaultChild as never)]!.Properties.DashboardName).toBe('TeamChatStack');
    expect(t.guard.flagsPath).toBe(t.guard.policy.model.settings.flags_path);
    expect(t.outputs.GuardAlertsTopicArn!.Value).toEqual({ Ref: t.stack.getLogicalId(t.guard.alertsTopic.node.defaultChild as never) });
    expect(t.outputs.GuardFlagsPath!.Value).toBe(t.guard.flagsPath);
  });

  it('gives the metrics the functions publish, for the policy\'s budgets and routes only', () => {
    const { budgets, routes } = t.guard.policy.model;
    const [key, budget] = Object.entries(budgets).find(([, b]) => b.watch)!;
    for (const m of [t.guard.metricEstimatedSpend(key), t.guard.metricEstimatedSpend(budget.name)]) {
      expect(m.namespace).toBe('BudgetGuard');
      expect(m.metricName).toBe('EstimatedSpend');
      expect(m.dimensions).toEqual({ Budget: budget.name });
    }
    const route = Object.keys(routes)[0]!;
    const step = t.guard.metricRouteStep(route, { period: Duration.minutes(1) });
    expect([step.namespace, step.metricName, step.dimensions, step.period.toMinutes()]).toEqual(['BudgetGuard', 'RouteStep', { Route: route }, 1]);
    expect(() => t.guard.metricEstimatedSpend('no-such-budget')).toThrow(/no budget "no-such-budget"/);
    expect(() => t.guard.metricRouteStep('no-such-route')).toThrow(/no route "no-such-route"/);
    const unwatched = Object.keys(budgets).find((k) => !budgets[k]!.watch);
    if (unwatched !== undefined) expect(() => t.guard.metricEstimatedSpend(unwatched)).toThrow(/watch: false/);
    // What the dashboard graphs is the same metric.
    const dashboard = JSON.stringify(t.resources[t.stack.getLogicalId(t.guard.dashboard.node.defaultChild as never)]!.Properties.DashboardBody);
    expect(dashboard).toContain(`[\\"BudgetGuard\\",\\"RouteStep\\",\\"Route\\",\\"${route}\\"`);
    expect(dashboard).toContain(`[\\"BudgetGuard\\",\\"EstimatedSpend\\",\\"Budget\\",\\"${budget.name}\\"`);
  });
});

describe.skipIf(!cli.ok)('BudgetGuard props (real CLI)', () => {
  it("sends the alarms to a team's own topic, and makes no alarms topic of its own", () => {
    const t = teamApp({}, (stack) => ({
      alarmTopic: new sns.Topic(stack, 'TeamAlarms', {
        masterKey: new kms.Key(stack, 'TeamAlarmsKey', { enableKeyRotation: true }),
        enforceSSL: true,
      }),
    }));
    const teamTopic = t.stack.getLogicalId(t.stack.node.findChild('TeamAlarms').node.defaultChild as never);
    const alarms = Object.values(t.resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBe(Object.keys(t.guard.alarms.alarms).length);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: teamTopic }]);
    expect(Object.values(t.resources).filter((r) => r.Type === 'AWS::SNS::Topic')).toHaveLength(3);
    expect(t.guard.alarms.key).toBeUndefined();
    expect(Object.values(t.resources).filter((r) => r.Type === 'AWS::SNS::Subscription' && r.Properties.Protocol === 'email')).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(t.stack).violations).toEqual([]);
  });

  it('takes the schedules, the log retention and the removal policy', () => {
    const t = teamApp({
      spendWatcherSchedule: events.Schedule.rate(Duration.minutes(10)),
      driftRepairSchedule: events.Schedule.cron({ minute: '30', hour: '3' }),
      logRetention: logs.RetentionDays.THREE_MONTHS,
      createSlackSecrets: false,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const rules = Object.values(t.resources).filter((r) => r.Type === 'AWS::Events::Rule').map((r) => r.Properties.ScheduleExpression as string);
    expect(rules).toContain('rate(10 minutes)');
    expect(rules).toContain('cron(30 3 * * ? *)');
    expect(rules).not.toContain('cron(0 6,12,18 * * ? *)');
    const stopped = t.resources[t.stack.getLogicalId(t.guard.alarms.alarms.SpendWatcherStopped!.node.defaultChild as never)]!;
    // Three runs of a 10-minute schedule.
    expect(stopped.Properties.Period).toBe(30 * 60);
    const guardLogs = Object.entries(t.resources).filter(([id, r]) => r.Type === 'AWS::Logs::LogGroup' && !id.startsWith('ChatApi'));
    expect(guardLogs).toHaveLength(3);
    for (const [, g] of guardLogs) expect(g.Properties.RetentionInDays).toBe(90);
    expect(Object.values(t.resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret')).toEqual([]);
    expect(t.guard.slackSecrets).toEqual([]);
    const keys = Object.values(t.resources).filter((r) => r.Type === 'AWS::KMS::Key');
    expect(keys).toHaveLength(3);
    for (const k of keys) expect(k.DeletionPolicy).toBe('Retain');
    expect(t.resources[t.stack.getLogicalId(t.guard.deadLetterQueue.node.defaultChild as never)]!.DeletionPolicy).toBe('Retain');
  });

  it("gives an alarm a team builds on metricRouteStep the guard's namespace and metric", () => {
    const t = teamApp();
    const route = Object.keys(t.guard.policy.model.routes)[0]!;
    const alarm = new cloudwatch.Alarm(t.stack, 'RouteDowngraded', {
      metric: t.guard.metricRouteStep(route),
      threshold: 2,
      evaluationPeriods: 1,
    });
    const rendered = t.stack.resolve((alarm.node.defaultChild as cloudwatch.CfnAlarm).metricName);
    expect(rendered).toBe('RouteStep');
    expect(t.stack.resolve((alarm.node.defaultChild as cloudwatch.CfnAlarm).namespace)).toBe('BudgetGuard');
  });
});
