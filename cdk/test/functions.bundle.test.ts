// The one slow test (`npm run test:bundle`, not part of `npm test`): really builds the Rust
// functions (the fast path's usage meter too) with cargo-lambda (zig as the linker) for arm64, as
// `cdk deploy` does, and checks that each function's asset holds an aarch64 ELF `bootstrap`.
import { spawnSync } from 'node:child_process';
import { openSync, readSync, closeSync, existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, USAGE_METER } from '../lib/iam';
import { CDK_DIR, cliContract, synth, type Synthesized } from './helpers';

// cargo-lambda from the repository's virtualenv (pip install -r cdk/requirements-bundle.txt), which
// also holds zig (PyPI ziglang); cargo finds `cargo-lambda` on PATH.
const VENV_BIN = path.resolve(CDK_DIR, '..', '.venv', 'bin');
if (existsSync(VENV_BIN)) process.env.PATH = `${VENV_BIN}${path.delimiter}${process.env.PATH ?? ''}`;

const EM_AARCH64 = 0xb7;

/** The ELF identification and e_machine of a file. */
function elfHeader(file: string): { magic: string; elfClass: number; data: number; machine: number } {
  const buf = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  const data = buf[5]!; // EI_DATA: 1 little-endian, 2 big-endian
  return {
    magic: buf.subarray(0, 4).toString('latin1'),
    elfClass: buf[4]!, // EI_CLASS: 2 is 64-bit
    data,
    machine: data === 2 ? buf.readUInt16BE(18) : buf.readUInt16LE(18),
  };
}

const cli = cliContract();

describe.skipIf(!cli.ok)('bundling with cargo-lambda (slow)', () => {
  let s: Synthesized;

  beforeAll(() => {
    const version = spawnSync('cargo', ['lambda', '--version'], { encoding: 'utf8' });
    if (version.status !== 0) {
      throw new Error(
        'cargo-lambda is not installed: in the repository root run\n' +
          '  python3 -m venv .venv && .venv/bin/pip install -r cdk/requirements-bundle.txt\n' +
          `(cargo lambda --version: ${version.error?.message ?? version.stderr})`,
      );
    }
    process.stderr.write(`bundling with ${version.stdout.trim()}\n`);
    // BUDGET_GUARD_BUNDLE_PROFILE lets `make test` build with the quick `bundle-check` profile: the
    // test checks what bundling produces, not how fast the code runs.
    s = synth({ bundle: true, fastPath: true, cargoProfile: process.env.BUDGET_GUARD_BUNDLE_PROFILE ?? 'release' });
  });

  it.each([...FUNCTION_NAMES, USAGE_METER])('%s: the asset holds an aarch64 ELF bootstrap', (name) => {
    const fn = name === USAGE_METER ? s.stack.guard.fastPath!.function : s.stack.guard.functions[name];
    const logicalId = s.stack.getLogicalId(fn.node.defaultChild as never);
    const template = JSON.parse(readFileSync(path.join(s.outdir, s.stack.templateFile), 'utf8')) as {
      Resources: Record<string, { Metadata: Record<string, string> }>;
    };
    const meta = template.Resources[logicalId]!.Metadata;
    expect(meta['aws:asset:is-bundled']).toBe(true);
    const assetDir = path.join(s.outdir, meta['aws:asset:path']!);
    const bootstrap = path.join(assetDir, 'bootstrap');
    expect(statSync(bootstrap).isFile()).toBe(true);
    expect(statSync(bootstrap).mode & 0o111).not.toBe(0);
    const elf = elfHeader(bootstrap);
    expect(elf.magic).toBe('\x7fELF');
    expect(elf.elfClass).toBe(2);
    expect(elf.data).toBe(1);
    expect(elf.machine).toBe(EM_AARCH64);
  });
});
