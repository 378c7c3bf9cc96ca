// Parts of the machine a test needs (FUSE, awscli, database servers). Under `npm test`, and so in
// CI, STRATA_TEST_STRICT=1 makes a missing part fail every test that needs it with a message
// naming what is missing; a developer running vitest directly gets those tests skipped with a
// warning instead.
export const STRICT = process.env.STRATA_TEST_STRICT === '1';

export interface Need {
  /** Skip the tests that need the part (only outside strict runs). */
  readonly skip: boolean;
  /** Throws naming the missing part: call it first in the tests' beforeAll. */
  check(): void;
}

/** `missing` is why the part is unavailable, or null when it is there. */
export function need(part: string, missing: string | null): Need {
  if (missing !== null && !STRICT) console.warn(`tests that need ${part} are skipped: ${missing}`);
  return {
    skip: missing !== null && !STRICT,
    check() {
      if (missing !== null) throw new Error(`this test needs ${part}, which is missing here: ${missing}`);
    },
  };
}
