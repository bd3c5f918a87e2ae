import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { buildApp, skipBundlingUnlessAsked } from '../lib/app';
import type { BudgetGuardStack } from '../lib/budget-guard-stack';
import { resolveCli, runCli } from '../lib/cli';

export const CDK_DIR = path.resolve(__dirname, '..');

/** The policy the template tests synthesize: the repository's example policies unless told otherwise. */
export const POLICY_DIR = path.resolve(CDK_DIR, process.env.BUDGET_GUARD_TEST_POLICY_DIR ?? '../policies');

const created: string[] = [];

/** A fresh temporary directory, removed after the test file (see test/setup.ts). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bg-cdk-${prefix}-`));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A scratch copy of a policy directory, to change without touching the committed one. */
export function copyPolicyDir(src: string = POLICY_DIR): string {
  const dest = tempDir('policy');
  cpSync(src, dest, { recursive: true });
  return dest;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: BudgetGuardStack;
  readonly template: Template;
  readonly outdir: string;
}

/** A template's JSON, as the tests read it. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The resources of the template `s` wrote to its output directory, by logical id. */
export function resourcesOf(s: Synthesized): Record<string, Json> {
  return (JSON.parse(readFileSync(path.join(s.outdir, s.stack.templateFile), 'utf8')) as Json).Resources as Record<string, Json>;
}

/**
 * Expects `key` (a template's AWS::KMS::Key) to rotate and to let `service` encrypt and decrypt
 * with it, on `condition` when one is given.
 */
export function expectServiceMayUseKey(key: Json, service: string, condition?: Json): void {
  expect(key.Properties.EnableKeyRotation).toBe(true);
  expect(key.Properties.KeyPolicy.Statement).toContainEqual(
    expect.objectContaining({
      Effect: 'Allow',
      Principal: { Service: service },
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      ...(condition === undefined ? {} : { Condition: expect.objectContaining(condition) }),
    }),
  );
}

/** Synthesizes the app as `npm run synth` does (bundling skipped), into a fresh output directory. */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const outdir = tempDir('cdkout');
  const app = new App({
    outdir,
    context: {
      // What the CDK CLI sets for an app: asset and path metadata in the template.
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:enable-path-metadata': true,
      bundle: false,
      policyDir: POLICY_DIR,
      ...context,
    },
  });
  skipBundlingUnlessAsked(app);
  const stack = buildApp(app);
  app.synth();
  return { app, stack, template: Template.fromStack(stack), outdir };
}

/**
 * Where cfn-lint is, as `scripts/cfn-lint.mjs` finds it (the repository's .venv, then PATH), or ''
 * when it is not installed: the template suites then skip their cfn-lint case.
 */
export const CFN_LINT: string = spawnSync(
  process.execPath,
  ['-e', "import('./scripts/cfn-lint.mjs').then(m => console.log(m.findCfnLint() ?? ''))"],
  { cwd: CDK_DIR, encoding: 'utf8' },
).stdout.trim();

/** Expects `scripts/cfn-lint.mjs` to find nothing in the template of each of `synthesized`. */
export function expectCfnLintClean(...synthesized: Synthesized[]): void {
  for (const s of synthesized) {
    const template = path.join(s.outdir, s.stack.templateFile);
    const proc = spawnSync(process.execPath, ['scripts/cfn-lint.mjs', template], { cwd: CDK_DIR, encoding: 'utf8' });
    expect(proc.stdout + proc.stderr, template).toContain('clean');
    expect(proc.status, template).toBe(0);
  }
}

let cliCheck: { ok: boolean; why: string } | undefined;

/**
 * Whether the real `budget-guard` CLI has the commands the stack needs (`validate`, `export`,
 * `iam-actions`). The stack always runs the real CLI; when it lacks them, the tests that synthesize
 * are skipped with this reason rather than faked. BUDGET_GUARD_REQUIRE_CLI=1 turns the skip into a
 * failure (for CI once the CLI has them).
 */
export function cliContract(): { ok: boolean; why: string } {
  if (cliCheck) return cliCheck;
  try {
    const bin = resolveCli();
    const help = runCli(bin, ['--help']);
    const text = help.stdout + help.stderr;
    const missing = ['validate', 'export', 'iam-actions'].filter((c) => !new RegExp(`^\\s+${c}\\b`, 'm').test(text));
    cliCheck =
      missing.length === 0
        ? { ok: true, why: '' }
        : { ok: false, why: `${bin} has no ${missing.join(', ')} command yet (budget-guard --help)` };
  } catch (e) {
    cliCheck = { ok: false, why: (e as Error).message };
  }
  if (!cliCheck.ok) {
    const msg = `budget-guard CLI contract not available: ${cliCheck.why}`;
    if (process.env.BUDGET_GUARD_REQUIRE_CLI === '1') throw new Error(msg);
    process.stderr.write(`SKIPPING synth tests: ${msg}\n`);
  }
  return cliCheck;
}
