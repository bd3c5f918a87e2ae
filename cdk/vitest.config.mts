import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Offline unit and template tests. Bundling is skipped (context `aws:cdk:bundling-stacks` = []),
// so no Rust cross-compile happens here; see vitest.bundle.config.mts for the one test that bundles.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.bundle.test.ts', 'node_modules/**', 'cdk.out/**', 'dist/**'],
    environment: 'node',
    // Synthesizing the stack runs the real budget-guard CLI (and, the first time, may build it).
    testTimeout: 180_000,
    hookTimeout: 900_000,
    pool: 'forks',
    // A worker per core (vitest's default leaves one idle): much of a test's time is spent
    // waiting on the CLI it runs, and on 2 cores the suite takes 62 s instead of 76 s.
    maxWorkers: availableParallelism(),
    setupFiles: ['./test/setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    env: { CDK_DISABLE_CLI_TELEMETRY: 'true' },
  },
});
