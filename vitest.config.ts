import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores on CI machines: more workers only thrash.
    maxWorkers: 2,
    env: { ASKPANDA_LOG_LEVEL: 'silent' },
  },
});
