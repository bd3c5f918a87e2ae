// The invocation-log fast path in the stack: nothing of it by default; turned on, the counters
// table, the usage meter with its IAM from iam-actions, the subscription filter, and Bedrock's
// invocation logging set metadata only; with an existing log group, no logging resources at all.
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { INVOCATION_LOGGING_HANDLER } from '../lib/invocation-logging-handler';
import { CFN_LINT, cliContract, expectCfnLintClean, resourcesOf, synth, type Json, type Synthesized } from './helpers';

const cli = cliContract();


const ofType = (r: Record<string, Json>, type: string): Array<[string, Json]> => Object.entries(r).filter(([, v]) => v.Type === type);

const idOf = (s: Synthesized, c: { node: { defaultChild?: unknown } }): string =>
  s.stack.getLogicalId((c.node.defaultChild ?? c) as never);

const EXISTING = '/aws/bedrock/team-invocations';

describe.skipIf(!cli.ok)('the fast path (real CLI)', () => {
  let off: Synthesized;
  let on: Synthesized;
  let existing: Synthesized;
  beforeAll(() => {
    off = synth();
    on = synth({ fastPath: true });
    existing = synth({ fastPath: 'true', fastPathLogGroup: EXISTING });
  });

  it('is off by default and then creates nothing', () => {
    const r = resourcesOf(off);
    expect(off.stack.guard.fastPath).toBeUndefined();
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Logs::SubscriptionFilter', 'Custom::BedrockInvocationLogging']) {
      expect(ofType(r, type), type).toEqual([]);
    }
    expect(JSON.stringify(r)).not.toContain('BUDGET_GUARD_USAGE_TABLE');
    expect(JSON.stringify(r)).not.toContain('bedrock.amazonaws.com');
  });

  it('makes an on-demand, encrypted counters table with TTL and point-in-time recovery', () => {
    const tables = ofType(resourcesOf(on), 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const p = tables[0]![1].Properties;
    expect(p.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(p.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expires_at', Enabled: true });
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('deploys the usage meter with its table and topic, and exactly the IAM iam-actions lists', () => {
    const r = resourcesOf(on);
    const fp = on.stack.guard.fastPath!;
    const fn = r[idOf(on, fp.function)]!;
    const env = fn.Properties.Environment.Variables as Json;
    expect(env.BUDGET_GUARD_USAGE_TABLE).toEqual({ Ref: idOf(on, fp.table) });
    expect(env.BUDGET_GUARD_ALERTS_TOPIC_ARN).toEqual({ Ref: idOf(on, on.stack.guard.alertsTopic) });
    expect(env.BUDGET_GUARD_POLICY_DIR).toBe('/opt/policy');
    expect(fn.Properties.Layers).toEqual([{ Ref: idOf(on, on.stack.guard.policyLayer) }]);

    const statements = r[idOf(on, fp.role.node.findChild('DefaultPolicy') as never)]!.Properties.PolicyDocument.Statement as Json[];
    const table = statements.find((s) => s.Sid === 'BudgetGuardUsageTable')!;
    expect(table.Action).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(table.Resource).toEqual({ 'Fn::GetAtt': [idOf(on, fp.table), 'Arn'] });
    const publish = statements.find((s) => s.Sid === 'BudgetGuardAlertsTopic')!;
    expect(publish.Action).toBe('sns:Publish');
    expect(publish.Resource).toEqual({ Ref: idOf(on, on.stack.guard.alertsTopic) });

    // The alerts topic lets the meter's role publish (every other principal is denied).
    const topicPolicy = ofType(r, 'AWS::SNS::TopicPolicy').find(([, v]) =>
      JSON.stringify(v.Properties.Topics).includes(idOf(on, on.stack.guard.alertsTopic)),
    )![1];
    const allow = (topicPolicy.Properties.PolicyDocument.Statement as Json[]).find((s) => s.Sid === 'AllowGuardPublishers')!;
    expect(JSON.stringify(allow.Principal)).toContain(idOf(on, fp.role));
  });

  it('lets the spend watcher read the counters it reconciles with, and shows the drift, only when on', () => {
    const watcherStatements = (s: Synthesized): Json[] => {
      const role = s.stack.guard.roles['spend-watcher'];
      return resourcesOf(s)[idOf(s, role.node.findChild('DefaultPolicy') as never)]!.Properties.PolicyDocument.Statement as Json[];
    };
    const watcherEnv = (s: Synthesized): Json =>
      resourcesOf(s)[idOf(s, s.stack.guard.functions['spend-watcher'])]!.Properties.Environment.Variables as Json;
    const fp = on.stack.guard.fastPath!;
    const read = watcherStatements(on).find((st) => st.Sid === 'BudgetGuardUsageTable')!;
    expect(read.Action).toBe('dynamodb:BatchGetItem');
    expect(read.Resource).toEqual({ 'Fn::GetAtt': [idOf(on, fp.table), 'Arn'] });
    expect(watcherEnv(on).BUDGET_GUARD_USAGE_TABLE).toEqual({ Ref: idOf(on, fp.table) });
    expect(JSON.stringify(resourcesOf(on)[idOf(on, on.stack.guard.dashboard)]!.Properties.DashboardBody)).toContain('FastPathDrift');

    expect(watcherStatements(off).find((st) => st.Sid === 'BudgetGuardUsageTable')).toBeUndefined();
    expect(watcherEnv(off).BUDGET_GUARD_USAGE_TABLE).toBeUndefined();
    expect(JSON.stringify(resourcesOf(off)[idOf(off, off.stack.guard.dashboard)]!.Properties.DashboardBody)).not.toContain('FastPathDrift');
  });

  it('subscribes the meter to the stack-made log group, with the permission Logs invokes it by', () => {
    const r = resourcesOf(on);
    const fp = on.stack.guard.fastPath!;
    const filters = ofType(r, 'AWS::Logs::SubscriptionFilter');
    expect(filters).toHaveLength(1);
    const filter = filters[0]![1].Properties;
    expect(filter.LogGroupName).toEqual({ Ref: idOf(on, fp.invocationLogging!.logGroup) });
    expect(filter.DestinationArn).toEqual({ 'Fn::GetAtt': [idOf(on, fp.function), 'Arn'] });
    const permission = ofType(r, 'AWS::Lambda::Permission').find(([, v]) => v.Properties.Principal === 'logs.amazonaws.com');
    expect(permission).toBeDefined();
    expect(permission![1].Properties.FunctionName).toEqual({ 'Fn::GetAtt': [idOf(on, fp.function), 'Arn'] });
    expect(JSON.stringify(permission![1].Properties.SourceArn)).toContain(idOf(on, fp.invocationLogging!.logGroup));
  });

  it('turns invocation logging on with every data delivery off, through a role only Bedrock of this account assumes', () => {
    const r = resourcesOf(on);
    const logging = on.stack.guard.fastPath!.invocationLogging!;
    const configs = ofType(r, 'Custom::BedrockInvocationLogging');
    expect(configs).toHaveLength(1);
    const p = configs[0]![1].Properties;
    expect(p.LogGroupName).toEqual({ Ref: idOf(on, logging.logGroup) });
    expect(p.RoleArn).toEqual({ 'Fn::GetAtt': [idOf(on, logging.deliveryRole), 'Arn'] });
    expect([p.TextDataDeliveryEnabled, p.ImageDataDeliveryEnabled, p.EmbeddingDataDeliveryEnabled, p.VideoDataDeliveryEnabled]).toEqual([
      false,
      false,
      false,
      false,
    ]);
    // The handler puts what the properties say, and sends every one of them.
    for (const prop of ['TextDataDeliveryEnabled', 'ImageDataDeliveryEnabled', 'EmbeddingDataDeliveryEnabled', 'VideoDataDeliveryEnabled']) {
      expect(INVOCATION_LOGGING_HANDLER).toContain(`p.${prop} === 'true'`);
    }
    expect(INVOCATION_LOGGING_HANDLER.length).toBeLessThan(4096); // an inline ZipFile's limit

    const role = r[idOf(on, logging.deliveryRole)]!.Properties;
    const trust = (role.AssumeRolePolicyDocument.Statement as Json[])[0]!;
    expect(trust.Principal).toEqual({ Service: 'bedrock.amazonaws.com' });
    expect(trust.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    const write = (r[idOf(on, logging.deliveryRole.node.findChild('DefaultPolicy') as never)]!.Properties.PolicyDocument.Statement as Json[])[0]!;
    expect(write.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(write.Resource).toEqual({ 'Fn::GetAtt': [idOf(on, logging.logGroup), 'Arn'] });
  });

  it('with an existing log group, subscribes to it and creates nothing for logging', () => {
    const r = resourcesOf(existing);
    const fp = existing.stack.guard.fastPath!;
    expect(fp.invocationLogging).toBeUndefined();
    expect(ofType(r, 'Custom::BedrockInvocationLogging')).toEqual([]);
    expect(JSON.stringify(r)).not.toContain('bedrock.amazonaws.com');
    expect(JSON.stringify(r)).not.toContain('ModelInvocationLoggingConfiguration');
    const filters = ofType(r, 'AWS::Logs::SubscriptionFilter');
    expect(filters).toHaveLength(1);
    expect(filters[0]![1].Properties.LogGroupName).toBe(EXISTING);
    expect(ofType(r, 'AWS::DynamoDB::Table')).toHaveLength(1);
    // The stack's log groups are the functions' own only.
    expect(ofType(r, 'AWS::Logs::LogGroup').length).toBe(ofType(resourcesOf(off), 'AWS::Logs::LogGroup').length + 1);
  });

  it('is clean under cdk-nag', () => {
    for (const s of [on, existing]) {
      const report = new AwsSolutionsChecks().validateScope(s.stack);
      expect(report.violations).toEqual([]);
    }
  });

  it.skipIf(CFN_LINT === '')('passes cfn-lint', () => {
    expectCfnLintClean(on, existing);
  });
});
