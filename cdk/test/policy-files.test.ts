// The policy files, their hash and the layer staging; plus where the CLI is looked for.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../lib/schedules';
import { CliError, PolicyValidationError, resolveCli, validatePolicy } from '../lib/cli';
import { policyFiles, policySha256, stagePolicyLayer } from '../lib/policy';
import { tempDir } from './helpers';

function policyDir(files: Record<string, string>): string {
  const dir = tempDir('files');
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('policyFiles', () => {
  it('lists the top-level .yaml and .yml files in byte order and nothing else', () => {
    const dir = policyDir({ 'b.yaml': 'b', 'a.yml': 'a', 'B.yaml': 'B', 'schema.json': '{}', 'notes.md': '' });
    mkdirSync(path.join(dir, 'nested.yaml'));
    expect(policyFiles(dir)).toEqual(['B.yaml', 'a.yml', 'b.yaml']);
  });

  it('refuses a link or a FIFO named like a policy file, without reading it', () => {
    const linked = policyDir({ 'a.yaml': 'a' });
    symlinkSync('/proc/self/environ', path.join(linked, 'environ.yaml'));
    expect(() => policyFiles(linked)).toThrow(/environ\.yaml is not a regular file \(a symbolic link\)/);
    const piped = policyDir({ 'a.yaml': 'a' });
    execFileSync('mkfifo', [path.join(piped, 'pipe.yaml')]);
    expect(() => policyFiles(piped)).toThrow(/pipe\.yaml is not a regular file/);
    // Other names are not policy files, whatever they are.
    const other = policyDir({ 'a.yaml': 'a' });
    symlinkSync('/proc/self/environ', path.join(other, 'environ.txt'));
    expect(policyFiles(other)).toEqual(['a.yaml']);
  });

  it('reports an unreadable directory', () => {
    expect(() => policyFiles('/nonexistent/budget-guard')).toThrow(CliError);
  });
});

describe('policySha256', () => {
  const base = { 'a.yaml': 'budgets: {}\n', 'b.yaml': 'routes: {}\n' };

  it('is stable and ignores files that are not policy', () => {
    expect(policySha256(policyDir(base))).toBe(policySha256(policyDir({ ...base, 'schema.json': '{"x":1}' })));
    expect(policySha256(policyDir(base))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with a byte of any file', () => {
    expect(policySha256(policyDir(base))).not.toBe(policySha256(policyDir({ ...base, 'b.yaml': 'routes: {} \n' })));
  });

  it('changes when text moves between files or a file is renamed', () => {
    const moved = { 'a.yaml': 'budgets: {}\nroutes: {}\n', 'b.yaml': '' };
    expect(policySha256(policyDir(base))).not.toBe(policySha256(policyDir(moved)));
    const renamed = { 'a.yaml': 'budgets: {}\n', 'c.yaml': 'routes: {}\n' };
    expect(policySha256(policyDir(base))).not.toBe(policySha256(policyDir(renamed)));
  });
});

describe('stagePolicyLayer', () => {
  it('copies the files byte for byte under policy/ (mounted at /opt/policy/)', () => {
    const text = '# comment kept\r\nbudgets:\n  x: {amount: 1}   \n';
    const dir = policyDir({ 'a.yaml': text, 'schema.json': '{}' });
    const staged = stagePolicyLayer(dir, policyFiles(dir));
    expect(readdirSync(staged)).toEqual(['policy']);
    expect(readdirSync(path.join(staged, 'policy'))).toEqual(['a.yaml']);
    expect(readFileSync(path.join(staged, 'policy', 'a.yaml'), 'utf8')).toBe(text);
  });
});

describe('resolveCli', () => {
  function fakeRepo(which: Array<'release' | 'debug'>): string {
    const repo = tempDir('repo');
    for (const profile of which) {
      mkdirSync(path.join(repo, 'target', profile), { recursive: true });
      const bin = path.join(repo, 'target', profile, 'budget-guard');
      writeFileSync(bin, '#!/bin/sh\n');
      chmodSync(bin, 0o755);
    }
    return repo;
  }

  it('prefers BUDGET_GUARD_BIN', () => {
    const repo = fakeRepo(['release', 'debug']);
    const bin = path.join(repo, 'target', 'debug', 'budget-guard');
    expect(resolveCli({ BUDGET_GUARD_BIN: bin }, repo)).toBe(bin);
  });

  it('rejects a BUDGET_GUARD_BIN that is not executable', () => {
    expect(() => resolveCli({ BUDGET_GUARD_BIN: '/nonexistent/budget-guard' }, fakeRepo([]))).toThrow(/BUDGET_GUARD_BIN/);
  });

  it('then the release build, then the debug build', () => {
    const both = fakeRepo(['release', 'debug']);
    expect(resolveCli({}, both)).toBe(path.join(both, 'target', 'release', 'budget-guard'));
    const debugOnly = fakeRepo(['debug']);
    expect(resolveCli({}, debugOnly)).toBe(path.join(debugOnly, 'target', 'debug', 'budget-guard'));
  });
});

describe('validatePolicy', () => {
  it('turns a non-zero exit into a PolicyValidationError carrying the output unchanged', () => {
    const dir = tempDir('bin');
    const bin = path.join(dir, 'budget-guard');
    // A stand-in for the exit-code plumbing only; the synth tests run the real CLI.
    writeFileSync(bin, '#!/bin/sh\nprintf "p.yaml:3:7: error[BG301]: boom\\n" >&2\nexit 1\n');
    chmodSync(bin, 0o755);
    let caught: unknown;
    try {
      validatePolicy(bin, dir);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PolicyValidationError);
    expect((caught as PolicyValidationError).output).toBe('p.yaml:3:7: error[BG301]: boom\n');
    expect((caught as PolicyValidationError).exitCode).toBe(1);
  });
});

describe('parseSchedule', () => {
  it.each([
    ['1 minute', 'rate(1 minute)'],
    ['5 minutes', 'rate(5 minutes)'],
    ['2 hours', 'rate(2 hours)'],
    ['1 day', 'rate(1 day)'],
    ['rate(10 minutes)', 'rate(10 minutes)'],
    ['cron(0/5 * * * ? *)', 'cron(0/5 * * * ? *)'],
  ])('%s -> %s', (spec, want) => expect(parseSchedule(spec).expressionString).toBe(want));

  it.each(['', 'often', '0 minutes', '1 fortnight'])('rejects %j', (spec) => {
    expect(() => parseSchedule(spec)).toThrow(/spendWatcherRate/);
  });
});
