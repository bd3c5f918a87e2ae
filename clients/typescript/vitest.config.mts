import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Starting the emulator (a Python process) takes a few seconds on a busy machine.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    // The pinned SDK supports Node 20, which these machines run; its notice that later SDK
    // versions will not is not a test result.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
