import { defineConfig } from 'vitest/config';

// The slow test that really cross-compiles the three functions with cargo-lambda (zig) for arm64.
export default defineConfig({
  test: {
    include: ['test/**/*.bundle.test.ts'],
    environment: 'node',
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
    pool: 'forks',
    setupFiles: ['./test/setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    env: { CDK_DISABLE_CLI_TELEMETRY: 'true' },
  },
});
