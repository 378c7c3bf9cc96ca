// vitest globalSetup: the temp block-cache directory vitest.config.ts points STRATA_CACHE_DIR at is
// removed when the run ends, so repeated runs do not leave one behind each.
import { rm } from 'node:fs/promises';

export default function setup(): () => Promise<void> {
  const dir = process.env.STRATA_TEST_CACHE_DIR;
  return async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  };
}
