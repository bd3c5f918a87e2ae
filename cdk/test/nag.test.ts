// cdk-nag (AWS Solutions pack, cdk-nag 3 through CDK's Validations) and cfn-lint on the template.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CFN_LINT, cliContract, expectCfnLintClean, synth, type Synthesized } from './helpers';

const cli = cliContract();

function acknowledgments(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  const out: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

describe.skipIf(!cli.ok)('cdk-nag (real CLI)', () => {
  let s: Synthesized;
  beforeAll(() => {
    // Synth runs the AwsSolutionsChecks plugin the app registers; an unacknowledged error throws here.
    s = synth();
  });

  it('registers the AWS Solutions pack on the app', () => {
    const plugins = (s.app as unknown as { _validationPlugins: Array<{ name: string }> })._validationPlugins;
    expect(plugins.map((p) => p.name)).toContain('AwsSolutions');
  });

  it('finds no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(s.stack);
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('reports no violation in the synth validation report', () => {
    const report = JSON.parse(readFileSync(path.join(s.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ violations?: unknown[]; conclusion?: string }>;
    };
    for (const r of report.pluginReports) expect(r.violations ?? []).toEqual([]);
  });

  it('gives every acknowledgment a specific reason', () => {
    const acks = acknowledgments(s.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(40);
    }
    // No blanket IAM5: each wildcard finding is acknowledged on its own.
    expect(acks.filter((a) => a.id === 'AwsSolutions-IAM5')).toEqual([]);
    // Acknowledged on the resources that need them, never on the whole stack or app.
    for (const a of acks) expect(a.path.split('/').length, a.path).toBeGreaterThan(1);
  });
});

describe.skipIf(!cli.ok)('cfn-lint (real CLI)', () => {
  if (CFN_LINT === '') {
    process.stderr.write('SKIPPING cfn-lint test: cfn-lint not found at ../.venv/bin/cfn-lint or on PATH (pip install -r cdk/requirements.txt)\n');
  }

  it.skipIf(CFN_LINT === '')('finds no error or warning in the synthesized template', () => {
    expectCfnLintClean(synth());
  });
});
