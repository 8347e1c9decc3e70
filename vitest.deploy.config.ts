import { defineConfig } from 'vitest/config';

/**
 * `npm run lint:deploy`: docker/ checked without a Docker engine or a cluster. The Dockerfiles
 * are linted, the compose file is parsed by docker-compose, every Kubernetes manifest is
 * validated against the Kubernetes (and Prometheus Operator CRD) schemas, the Grafana
 * dashboard's queries are matched against the metrics scorecar exports, and the scorecar
 * image's entry point is run as a plain process (needs dist/: `npm run build` first).
 */
export default defineConfig({
  test: {
    include: ['test/deploy/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
