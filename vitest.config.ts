import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Volumes on S3 opened without a cache directory cache in the default one: in tests, a temp dir
// (children inherit it), never the machine's /var/cache/strata.
// The run removes that directory at its end, and only one it made itself.
if (!process.env.STRATA_CACHE_DIR) {
  process.env.STRATA_CACHE_DIR = join(tmpdir(), `strata-test-cache-${process.pid}`);
  process.env.STRATA_TEST_CACHE_DIR = process.env.STRATA_CACHE_DIR;
}

// Tests use the AWS SDK directly as the reference S3 client; its Node-version notice (which the
// product silences in createS3Client) would only repeat in every test process's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/cache-dir-teardown.ts', 'test/helpers/servers-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machines: more forks than cores only adds contention.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
