// The guard's own alarms: each alarm and its action, the alarms topic's policy and key, and the
// people `settings.alarms` subscribes, never mixed with the notify topic's filtered subscriptions.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { heartbeatMinutes, scheduleMinutes } from '../lib/alarms';
import { cliContract, copyPolicyDir, expectServiceMayUseKey, resourcesOf, synth, type Json, type Synthesized } from './helpers';

const cli = cliContract();


const idOf = (s: Synthesized, c: { node: { defaultChild?: unknown } }): string =>
  s.stack.getLogicalId((c.node.defaultChild ?? c) as never);

/** A copy of the policy whose settings say `alarms: <list>`, with platform-alerts given Chatbot ids. */
function policyWithAlarms(alarms: string, chatbot = true): string {
  const dir = copyPolicyDir();
  for (const name of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const file = path.join(dir, name);
    let text = readFileSync(file, 'utf8');
    text = text.replace(/^  alarms: .*$/m, alarms === '' ? '' : `  alarms: ${alarms}`);
    if (chatbot) {
      text = text.replace(
        /^(\s+)webhook_secret: budget-guard\/slack\/platform-alerts.*$/m,
        (line, indent: string) => `${line}\n${indent}chatbot: {workspace_id: T0123ABCDE, channel_id: C0123ABCDE}`,
      );
    }
    writeFileSync(file, text);
  }
  return dir;
}

describe('heartbeat window', () => {
  it('is 15 minutes, or three runs of a slower schedule, or a day for cron', () => {
    expect(scheduleMinutes('1 minute')).toBe(1);
    expect(scheduleMinutes('rate(5 minutes)')).toBe(5);
    expect(scheduleMinutes('2 hours')).toBe(120);
    expect(scheduleMinutes('cron(0/5 * * * ? *)')).toBeUndefined();
    expect(heartbeatMinutes('1 minute')).toBe(15);
    expect(heartbeatMinutes('5 minutes')).toBe(15);
    expect(heartbeatMinutes('10 minutes')).toBe(30);
    expect(heartbeatMinutes('1 day')).toBe(1440);
    expect(heartbeatMinutes('cron(0/5 * * * ? *)')).toBe(1440);
  });
});

describe.skipIf(!cli.ok)('alarms (real CLI)', () => {
  let s: Synthesized;
  let resources: Record<string, Json>;
  const ofType = (type: string): Array<[string, Json]> => Object.entries(resources).filter(([, r]) => r.Type === type);
  const alarmsTopic = () => ({ Ref: idOf(s, s.stack.guard.alarms.topic) });
  const fnRef = (name: 'provisioner' | 'alert-handler' | 'spend-watcher') => ({ Ref: idOf(s, s.stack.guard.functions[name]) });

  beforeAll(() => {
    s = synth();
    resources = resourcesOf(s);
  });

  it('every alarm goes to the alarms topic, and only there', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Json);
    expect(alarms).toHaveLength(8);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([alarmsTopic()]);
      expect(JSON.stringify(a)).not.toContain(idOf(s, s.stack.guard.notifyTopic));
    }
  });

  it('tell of Bedrock price changes the weekly price check counted', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Json);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'BudgetGuard',
        MetricName: 'PriceChanges',
        Statistic: 'Maximum',
        Period: 86400,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
  });

  it("watch each function's errors", () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Json);
    for (const name of ['provisioner', 'alert-handler', 'spend-watcher'] as const) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: fnRef(name) }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        }),
      );
    }
  });

  it('fire when the spend watcher has not run for 15 minutes, missing data breaching', () => {
    const a = resources[idOf(s, s.stack.guard.alarms.alarms.SpendWatcherStopped!)]!.Properties as Json;
    expect(a).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: fnRef('spend-watcher') }],
      Statistic: 'Sum',
      Period: 900,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [alarmsTopic()],
    });
  });

  it('follow a slower spend-watcher schedule', () => {
    const slow = synth({ spendWatcherRate: '10 minutes' });
    const a = resourcesOf(slow)[idOf(slow, slow.stack.guard.alarms.alarms.SpendWatcherStopped!)]!.Properties as Json;
    expect(a.Period).toBe(1800);
  });

  it('fire on sustained alert-handler throttles and on old events', () => {
    const throttles = resources[idOf(s, s.stack.guard.alarms.alarms.AlertHandlerThrottled!)]!.Properties as Json;
    expect(throttles).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: fnRef('alert-handler') }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [alarmsTopic()],
    });
    const age = resources[idOf(s, s.stack.guard.alarms.alarms.AlertHandlerEventAge!)]!.Properties as Json;
    expect(age).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'AsyncEventAge',
      Dimensions: [{ Name: 'FunctionName', Value: fnRef('alert-handler') }],
      Statistic: 'Maximum',
      Threshold: 15 * 60 * 1000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [alarmsTopic()],
    });
  });

  it('fire when the dead-letter queue holds a message', () => {
    const a = resources[idOf(s, s.stack.guard.alarms.alarms.DeadLetterQueueDepth!)]!.Properties as Json;
    expect(a).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(s, s.stack.guard.deadLetterQueue), 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [alarmsTopic()],
    });
  });

  it('the alarms topic is encrypted with a key CloudWatch may use, and only this account’s alarms publish', () => {
    const topic = resources[idOf(s, s.stack.guard.alarms.topic)]!;
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [idOf(s, s.stack.guard.alarms.key!), 'Arn'] });
    expectServiceMayUseKey(resources[idOf(s, s.stack.guard.alarms.key!)]!, 'cloudwatch.amazonaws.com');
    const [, policy] = ofType('AWS::SNS::TopicPolicy').find(([, p]) => p.Properties.Topics[0].Ref === idOf(s, s.stack.guard.alarms.topic))!;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    const allow = statements.find((st) => st.Sid === 'AllowServiceToPublish')!;
    expect(allow).toMatchObject({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: alarmsTopic() });
    expect(allow.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(allow.Condition.ArnLike['aws:SourceArn'])).toContain(':alarm:*');
    expect(statements).toContainEqual(
      expect.objectContaining({ Sid: 'DenyOtherPublishers', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sns:Publish' }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('the notify topic no longer lets CloudWatch publish', () => {
    const [, policy] = ofType('AWS::SNS::TopicPolicy').find(([, p]) => p.Properties.Topics[0].Ref === idOf(s, s.stack.guard.notifyTopic))!;
    expect(JSON.stringify(policy.Properties.PolicyDocument)).not.toContain('cloudwatch.amazonaws.com');
  });

  it("subscribes the alarm channels' addresses, unfiltered, to the alarms topic alone", () => {
    const subs = ofType('AWS::SNS::Subscription').map(([, r]) => r.Properties as Json);
    const onAlarms = subs.filter((p) => p.TopicArn.Ref === idOf(s, s.stack.guard.alarms.topic));
    const model = s.stack.guard.policy.model;
    const expected = model.settings.alarms.flatMap((c) => {
      const ch = model.channels[c]!;
      return 'email' in ch ? [...ch.email.addresses] : [];
    });
    expect(expected.length).toBeGreaterThan(0);
    expect(onAlarms.map((p) => p.Endpoint).sort()).toEqual([...expected].sort());
    for (const p of onAlarms) {
      expect(p.Protocol).toBe('email');
      expect(p.FilterPolicy).toBeUndefined();
      expect(p.FilterPolicyScope).toBeUndefined();
    }
    // The notify topic's email subscriptions are the provisioner's, with filters; CDK makes none.
    expect(subs.filter((p) => p.TopicArn.Ref === idOf(s, s.stack.guard.notifyTopic))).toEqual([]);
  });

  it('names the alarms topic and the dead-letter queue in the outputs', () => {
    const outputs = s.template.toJSON().Outputs as Json;
    expect(outputs.AlarmsTopicArn.Value).toEqual(alarmsTopic());
    expect(outputs.DeadLetterQueueUrl.Value).toEqual({ Ref: idOf(s, s.stack.guard.deadLetterQueue) });
  });

  it('reach a Slack channel through AWS Chatbot, subscribed to the alarms topic, with no power in AWS', () => {
    const withSlack = synth({ policyDir: policyWithAlarms('[platform-alerts, finops]') });
    const r = resourcesOf(withSlack);
    const configs = Object.values(r).filter((x) => x.Type === 'AWS::Chatbot::SlackChannelConfiguration');
    expect(configs).toHaveLength(1);
    const cfg = configs[0]!.Properties as Json;
    expect(cfg).toMatchObject({
      SlackWorkspaceId: 'T0123ABCDE',
      SlackChannelId: 'C0123ABCDE',
      SnsTopicArns: [{ Ref: idOf(withSlack, withSlack.stack.guard.alarms.topic) }],
    });
    expect(cfg.ConfigurationName).toBe(`${withSlack.stack.stackName}-alarms-platform-alerts`);
    // The guardrail denies everything: the channel only receives.
    const guardrail = r[cfg.GuardrailPolicies[0].Ref as string]!;
    expect(guardrail.Type).toBe('AWS::IAM::ManagedPolicy');
    expect(guardrail.Properties.PolicyDocument.Statement).toEqual([{ Effect: 'Deny', Action: '*', Resource: '*' }]);
    // Its role has no permissions of its own.
    const role = r[cfg.IamRoleArn['Fn::GetAtt'][0] as string]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(Object.values(r).filter((x) => x.Type === 'AWS::IAM::Policy' && JSON.stringify(x.Properties.Roles).includes(cfg.IamRoleArn['Fn::GetAtt'][0]))).toEqual([]);
  });

  it('with no alarm channel: no subscription, and validate warns at synth', () => {
    const none = synth({ policyDir: policyWithAlarms('', false) });
    const r = resourcesOf(none);
    const subs = Object.values(r).filter((x) => x.Type === 'AWS::SNS::Subscription' && x.Properties.TopicArn.Ref === idOf(none, none.stack.guard.alarms.topic));
    expect(subs).toEqual([]);
    expect(none.stack.guard.policy.validateOutput).toMatch(/warning\[BG213\]: .*settings\.alarms.*reach nobody/);
  });
});
