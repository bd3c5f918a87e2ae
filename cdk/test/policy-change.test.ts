// What a policy change and a bad policy do to synth, through the real CLI.
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyValidationError, resolveCli, runCli } from '../lib/cli';
import { CDK_DIR, cliContract, copyPolicyDir, synth, tempDir } from './helpers';

const cli = cliContract();

/** Changes the first `amount:` in the copy by +1; returns the file changed. */
function bumpFirstAmount(dir: string): string {
  for (const name of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const file = path.join(dir, name);
    const text = readFileSync(file, 'utf8');
    const changed = text.replace(/^(\s*amount:\s*)(\d+(?:\.\d+)?)/m, (_m, lead: string, n: string) => `${lead}${Number(n) + 1}`);
    if (changed !== text) {
      writeFileSync(file, changed);
      return name;
    }
  }
  throw new Error(`no "amount:" line in the policy files of ${dir}; the test needs one to change`);
}

/** A file that no YAML parser accepts (an unclosed flow sequence) with an unknown key in it. */
const BROKEN_YAML = 'budgets:\n  BROKEN: [500\n';

const customResourceProps = (s: ReturnType<typeof synth>) =>
  Object.values(s.template.findResources('Custom::BudgetGuardPolicy'))[0]!.Properties as Record<string, unknown>;

describe.skipIf(!cli.ok)('policy changes (real CLI)', () => {
  it('a changed amount changes PolicySha256, the layer and the exported budget', () => {
    const before = synth();
    const dir = copyPolicyDir();
    bumpFirstAmount(dir);
    const after = synth({ policyDir: dir });

    const a = customResourceProps(before);
    const b = customResourceProps(after);
    expect(a.PolicySha256).toBe(before.stack.guard.policy.sha256);
    expect(b.PolicySha256).toBe(after.stack.guard.policy.sha256);
    expect(b.PolicySha256).not.toBe(a.PolicySha256);

    const layerKey = (s: ReturnType<typeof synth>) =>
      JSON.stringify(Object.values(s.template.findResources('AWS::Lambda::LayerVersion'))[0]!.Properties.Content);
    expect(layerKey(after)).not.toBe(layerKey(before));
  });

  it('settings.owner names the owner in the Owner output; the stack name does otherwise', () => {
    const before = synth();
    const outputs = (x: ReturnType<typeof synth>) => x.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs(before).Owner!.Value).toBe(before.stack.stackName);
    const dir = copyPolicyDir();
    const file = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f)).find((f) => /^settings:/m.test(readFileSync(f, 'utf8')));
    expect(file, 'a policy file with a settings section').toBeDefined();
    writeFileSync(file!, readFileSync(file!, 'utf8').replace(/^settings:\n/m, 'settings:\n  owner: team-ml-guard\n'));
    const after = synth({ policyDir: dir });
    expect(outputs(after).Owner!.Value).toBe('team-ml-guard');
    expect(after.stack.guard.policy.model.settings.owner).toBe('team-ml-guard');
  });

  it('the same policy in another directory gives the same PolicySha256 (the hash is of the files, not the path)', () => {
    const before = synth();
    const again = synth({ policyDir: copyPolicyDir() });
    expect(customResourceProps(again).PolicySha256).toBe(customResourceProps(before).PolicySha256);
  });

  it('a bad policy makes synth throw with the CLI\'s file:line:col diagnostics', () => {
    const dir = copyPolicyDir();
    writeFileSync(path.join(dir, 'zz-broken.yaml'), BROKEN_YAML);
    const direct = runCli(resolveCli(), ['validate', dir]);
    expect(direct.status).toBe(1);

    let caught: unknown;
    try {
      synth({ policyDir: dir });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PolicyValidationError);
    const err = caught as PolicyValidationError;
    expect(err.message).toMatch(/zz-broken\.yaml:\d+:\d+: error/);
    // Unchanged: exactly what `budget-guard validate` prints.
    expect(err.output).toBe(direct.stdout + direct.stderr);
  });

  it('`cdk synth` (the app) stops with exit 1 and prints the CLI\'s output unchanged', () => {
    const dir = copyPolicyDir();
    appendFileSync(path.join(dir, 'zz-broken.yaml'), BROKEN_YAML);
    const direct = runCli(resolveCli(), ['validate', dir]);
    const outdir = tempDir('app-out');
    const proc = spawnSync(process.execPath, [path.join(CDK_DIR, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bin/budget-guard.ts'], {
      cwd: CDK_DIR,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ policyDir: dir, bundle: false }),
      },
    });
    expect(proc.status).toBe(1);
    expect(proc.stderr).toBe(direct.stdout + direct.stderr);
    expect(proc.stdout).toBe('');
    expect(readdirSync(outdir)).not.toContain('BudgetGuard.template.json');
  });
});
