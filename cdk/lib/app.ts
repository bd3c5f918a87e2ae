import { Validations, type App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BudgetGuardStack } from './budget-guard-stack';
import { parseSchedule } from './schedules';

/** Context values arrive as JSON from cdk.json and as strings from `-c key=value`. */
function boolContext(app: App, key: string, fallback: boolean): boolean {
  const v: unknown = app.node.tryGetContext(key);
  if (v === undefined || v === null || v === '') return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new Error(`context ${key}: expected true or false, got ${JSON.stringify(v)}`);
}

function stringContext(app: App, key: string, fallback: string): string {
  const v: unknown = app.node.tryGetContext(key);
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v !== 'string') throw new Error(`context ${key}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function numberContext(app: App, key: string, fallback: number): number {
  const v: unknown = app.node.tryGetContext(key);
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new Error(`context ${key}: expected an integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** A number of days CloudWatch Logs allows as a retention. */
export function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days)) {
    throw new Error(`logRetentionDays ${days}: CloudWatch Logs allows ${allowed.sort((a, b) => a - b).join(', ')}`);
  }
  return days as logs.RetentionDays;
}

/** Context key that tells CDK which stacks to bundle; `[]` means none. */
export const BUNDLING_STACKS = 'aws:cdk:bundling-stacks';

/**
 * With `-c bundle=false`, sets `aws:cdk:bundling-stacks` to `[]` so no Rust function is built (the CDK
 * CLI refuses `-c aws:...` keys). Must run before any construct is added to the app.
 */
export function skipBundlingUnlessAsked(app: App): boolean {
  const skip = !boolContext(app, 'bundle', true);
  if (skip) app.node.setContext(BUNDLING_STACKS, []);
  return skip;
}

/**
 * Builds the Budget Guard app from context:
 * - `policyDir` (default `../policies`, relative to cdk/)
 * - `createSecrets` (default true)
 * - `spendWatcherRate` (default `1 minute`)
 * - `logRetentionDays` (default 30)
 * - `cargoProfile` (default `release`)
 * - `stackName` (default `BudgetGuard`)
 * - `fastPath` (default false): the invocation-log fast path, with `fastPathLogGroup` naming the
 *   log group the account's invocation logging writes to already (default: the stack turns
 *   logging on into a group of its own)
 * and registers cdk-nag's AWS Solutions checks.
 */
export function buildApp(app: App): BudgetGuardStack {
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const existingLogGroupName = stringContext(app, 'fastPathLogGroup', '');
  const stack = new BudgetGuardStack(app, stringContext(app, 'stackName', 'BudgetGuard'), {
    description: 'Budget Guard: Amazon Bedrock spend guard (budgets, alerts, routing flags)',
    ...(account !== undefined && region !== undefined ? { env: { account, region } } : {}),
    policyDir: stringContext(app, 'policyDir', '../policies'),
    createSlackSecrets: boolContext(app, 'createSecrets', true),
    spendWatcherSchedule: parseSchedule(stringContext(app, 'spendWatcherRate', '1 minute')),
    logRetention: retentionDays(numberContext(app, 'logRetentionDays', 30)),
    cargoProfile: stringContext(app, 'cargoProfile', 'release'),
    ...(boolContext(app, 'fastPath', false)
      ? { fastPath: existingLogGroupName === '' ? {} : { existingLogGroupName } }
      : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
