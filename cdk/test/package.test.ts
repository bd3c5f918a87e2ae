// The package as published: package.json's entry points are what the build config compiles, and the
// compiled index loads and exports the construct with its declarations.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CDK_DIR, tempDir } from './helpers';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const pkg = JSON.parse(readFileSync(path.join(CDK_DIR, 'package.json'), 'utf8')) as Json;

describe('package.json', () => {
  it('points main and types at the compiled lib/index and ships only dist/ and the README', () => {
    expect(pkg.name).toBe('@budget-guard/cdk');
    expect(pkg.private).toBeUndefined();
    expect(pkg.main).toBe('dist/index.js');
    expect(pkg.types).toBe('dist/index.d.ts');
    expect(pkg.files).toEqual(['dist/**/*.js', 'dist/**/*.d.ts', 'README.md']);
  });

  it('leaves aws-cdk-lib and constructs to the app (peers), pinned for this repository only', () => {
    for (const lib of ['aws-cdk-lib', 'constructs']) {
      expect(pkg.dependencies[lib], lib).toBeUndefined();
      expect(pkg.peerDependencies[lib], lib).toBe(`^${pkg.devDependencies[lib] as string}`);
      expect(pkg.devDependencies[lib], lib).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('compiles to an index that exports BudgetGuard, with declarations', () => {
    const out = tempDir('dist');
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], {
      cwd: CDK_DIR,
      encoding: 'utf8',
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const main = path.join(out, path.relative('dist', pkg.main as string));
    expect(existsSync(path.join(out, path.relative('dist', pkg.types as string)))).toBe(true);
    // The compiled files sit outside cdk/, so they find the installed dependencies through NODE_PATH,
    // as they would in an app's node_modules.
    const loaded = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(main)}); console.log(typeof m.BudgetGuard, m.METRICS_NAMESPACE)`], {
      cwd: CDK_DIR,
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: path.join(CDK_DIR, 'node_modules') },
    });
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toBe('function BudgetGuard');
  });
});
