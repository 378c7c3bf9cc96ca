import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Volumes on S3 opened without a cache directory cache in the default one: in tests, a temp dir
// (children inherit it), never the machine's /var/cache/strata.
process.env.STRATA_CACHE_DIR ??= join(tmpdir(), `strata-test-cache-${process.pid}`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machines: more forks than cores only adds contention.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
