import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { GuardDashboard } from '../lib/dashboard';
import { FUNCTION_NAMES, type FunctionName } from '../lib/iam';
import { parseExportedPolicy } from '../lib/policy';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const policy = parseExportedPolicy(
  JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'export.sample.json'), 'utf8')) as unknown,
);

/** The widgets of a dashboard over the sample policy, with or without the fast path. */
function widgets(fastPath: boolean | undefined): Json[] {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const functions = Object.fromEntries(
    FUNCTION_NAMES.map((n) => [n, lambda.Function.fromFunctionName(stack, n, n)]),
  ) as Record<FunctionName, lambda.IFunction>;
  const dashboard = new GuardDashboard(stack, 'Dashboard', {
    dashboardName: 'test',
    policy,
    functions,
    deadLetterQueue: new sqs.Queue(stack, 'Dlq'),
    fastPath,
  });
  const body = stack.resolve((dashboard.node.defaultChild as unknown as { dashboardBody: unknown }).dashboardBody) as unknown;
  const text = typeof body === 'string' ? body : ((body as Json)['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'REF')).join('');
  return (JSON.parse(text) as Json).widgets as Json[];
}

const driftRows = (ws: Json[]): unknown[][] =>
  ws.flatMap((w) => (w.properties.metrics ?? []) as unknown[][]).filter((row) => row[1] === 'FastPathDrift');

describe('the fast path drift widget', () => {
  it('shows each watched budget\'s drift with the 5% tolerance either side when the fast path is on', () => {
    const ws = widgets(true);
    expect(driftRows(ws).map((r) => r.slice(0, 4))).toEqual([['BudgetGuard', 'FastPathDrift', 'Budget', 'bg-team-a']]);
    const [w] = ws.filter((x) => /drift/.test(x.properties.title as string));
    expect((w!.properties.annotations.horizontal as Json[]).map((a) => a.value)).toEqual([5, -5]);
  });

  it('is absent while the fast path is off', () => {
    expect(driftRows(widgets(undefined))).toEqual([]);
    expect(driftRows(widgets(false))).toEqual([]);
  });
});
