import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/deploy/ is `npm run lint:deploy` (vitest.deploy.config.ts), which `npm test` runs first.
    exclude: [...configDefaults.exclude, 'test/deploy/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // e2e suites start real processes on loopback; running them one file at a time keeps a
    // 2-core machine from timing out on CPU contention.
    fileParallelism: false,
  },
});
