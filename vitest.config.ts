import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // e2e suites start real processes on loopback; running them one file at a time keeps a
    // 2-core machine from timing out on CPU contention.
    fileParallelism: false,
  },
});
