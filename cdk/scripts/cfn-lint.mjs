#!/usr/bin/env node
// Runs cfn-lint (PyPI, pinned in cdk/requirements.txt) on synthesized templates.
//   node scripts/cfn-lint.mjs [template.json ...]   (default: cdk.out/*.template.json)
// cfn-lint is looked for at ../.venv/bin/cfn-lint (the repository's virtualenv), then on PATH.
// Exit: 0 clean, 1 findings, 3 cfn-lint not installed, 4 no template (run `npm run synth` first).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const cdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// W3005 (DependsOn already enforced by a Ref/GetAtt): aws-lambda's Function always adds an explicit
// DependsOn on its role next to the GetAtt; that is CDK's doing and harmless.
export const IGNORED_CHECKS = ['W3005'];

export function findCfnLint() {
  const venv = path.resolve(cdkDir, '..', '.venv', 'bin', 'cfn-lint');
  try {
    accessSync(venv, constants.X_OK);
    return venv;
  } catch {
    // fall through to PATH
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'cfn-lint');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

function main() {
  let templates = process.argv.slice(2);
  if (templates.length === 0) {
    const out = path.join(cdkDir, 'cdk.out');
    let entries = [];
    try {
      entries = readdirSync(out);
    } catch {
      // no cdk.out
    }
    templates = entries.filter((f) => f.endsWith('.template.json')).map((f) => path.join(out, f));
  }
  if (templates.length === 0) {
    process.stderr.write('cfn-lint: no template in cdk.out/; run `npm run synth` first\n');
    process.exit(4);
  }
  const bin = findCfnLint();
  if (!bin) {
    process.stderr.write(
      'cfn-lint not found (looked at ../.venv/bin/cfn-lint and PATH); install it with\n' +
        '  python3 -m venv .venv && .venv/bin/pip install -r cdk/requirements.txt   (in the repository root)\n',
    );
    process.exit(3);
  }
  const proc = spawnSync(bin, ['--ignore-checks', ...IGNORED_CHECKS, '--', ...templates], { stdio: 'inherit' });
  if (proc.error) {
    process.stderr.write(`cfn-lint: ${proc.error.message}\n`);
    process.exit(1);
  }
  if (proc.status === 0) {
    process.stdout.write(`cfn-lint: ${templates.length} template(s) clean\n`);
    process.exit(0);
  }
  process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
