// Runs the `budget-guard` CLI, the one place where the policy is parsed and validated. The CDK app
// never reads the YAML itself: it asks the CLI, so the template and the Rust code cannot disagree.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';

/** The repository root: the Cargo workspace that holds `cdk/`. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Thrown when `budget-guard validate` rejects the policy. The message is the CLI's own output. */
export class PolicyValidationError extends Error {
  constructor(
    readonly output: string,
    readonly exitCode: number,
  ) {
    super(output);
    this.name = 'PolicyValidationError';
  }
}

/** Thrown when the CLI cannot be found or built, or answers something that breaks the contract. */
export class CliError extends Error {
  override name = 'CliError';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the CLI is: env `BUDGET_GUARD_BIN`, else `target/release/budget-guard`, else
 * `target/debug/budget-guard`, else build it with `cargo build -q -p budget-guard` in the repository
 * root and use the debug binary.
 */
export function resolveCli(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): string {
  const fromEnv = env.BUDGET_GUARD_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    const bin = path.resolve(fromEnv);
    if (!isExecutable(bin)) {
      throw new CliError(`BUDGET_GUARD_BIN=${fromEnv} is not an executable file`);
    }
    return bin;
  }
  const release = path.join(repoRoot, 'target', 'release', 'budget-guard');
  if (isExecutable(release)) return release;
  const debug = path.join(repoRoot, 'target', 'debug', 'budget-guard');
  if (isExecutable(debug)) return debug;

  process.stderr.write('budget-guard CLI not found: running `cargo build -q -p budget-guard`\n');
  const build = spawnSync('cargo', ['build', '-q', '-p', 'budget-guard'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (build.error) {
    throw new CliError(`could not run cargo to build the budget-guard CLI: ${build.error.message}`);
  }
  if (build.status !== 0 || !isExecutable(debug)) {
    throw new CliError(`cargo build -q -p budget-guard failed (exit ${build.status ?? 'signal'})`);
  }
  return debug;
}

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(bin: string, args: readonly string[]): CliResult {
  const proc = spawnSync(bin, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // The CLI's diagnostics are read by people: keep them free of colour codes when captured.
    env: { ...process.env, NO_COLOR: '1', CLICOLOR: '0' },
  });
  if (proc.error) {
    throw new CliError(`could not run ${bin}: ${proc.error.message}`);
  }
  return { status: proc.status ?? -1, stdout: proc.stdout ?? '', stderr: proc.stderr ?? '' };
}

/**
 * `budget-guard validate --resolve-profiles-at-deploy <dir>`: exit 0 is valid, anything else stops
 * synth with the CLI's output. An application inference profile ARN without a `profiles:` entry is
 * a warning there: the provisioner resolves it at deploy, and synth stays offline.
 */
export function validatePolicy(bin: string, policyDir: string): string {
  const res = runCli(bin, ['validate', '--resolve-profiles-at-deploy', policyDir]);
  const output = res.stdout + res.stderr;
  if (res.status !== 0) {
    throw new PolicyValidationError(output, res.status);
  }
  return output;
}

function runJson(bin: string, args: readonly string[]): unknown {
  const res = runCli(bin, args);
  if (res.status !== 0) {
    throw new CliError(`budget-guard ${args.join(' ')} exited ${res.status}:\n${res.stdout}${res.stderr}`);
  }
  try {
    return JSON.parse(res.stdout) as unknown;
  } catch (e) {
    throw new CliError(`budget-guard ${args.join(' ')} did not print JSON: ${(e as Error).message}`);
  }
}

/** `budget-guard export <dir>`: the merged policy as JSON. */
export function exportPolicyJson(bin: string, policyDir: string): unknown {
  return runJson(bin, ['export', policyDir]);
}

/** `budget-guard iam-actions --format json`: the IAM actions each function needs, by resource kind. */
export function iamActionsJson(bin: string): unknown {
  return runJson(bin, ['iam-actions', '--format', 'json']);
}
