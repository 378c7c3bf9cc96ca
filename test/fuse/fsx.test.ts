// A randomised exerciser in the spirit of xfstests' fsx on the mount (helpers/fsx.py): 20,000
// operations — writes, reads, truncates up and down, mmap reads and writes, fallocate (allocate,
// keep-size, punch hole, zero range), fsync, close and reopen — on a file of up to 64 MiB with
// operations up to 1 MiB, every byte read checked against an in-memory model. The seed is
// printed; STRATA_FSX_SEED replays one, STRATA_FSX_OPS changes the count.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { need } from '../helpers/require.js';
import { mountForSuite, run } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const HELPER = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'fsx.py');
const MiB = 1024 * 1024;
const OPS = Number(process.env.STRATA_FSX_OPS ?? 20_000);

describe.skipIf(fuse.skip)('fsx-style random operations on the mount against a model', () => {
  const mount = mountForSuite(fuse);

  it(`${OPS} operations up to 1 MiB on a file up to 64 MiB read back exactly what the model holds`, async () => {
    const m = mount();
    const seed = Number(process.env.STRATA_FSX_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`fsx seed ${seed} (replay with STRATA_FSX_SEED=${seed})`);
    const { stdout } = await run('python3', [HELPER, m.mountpoint, String(seed), String(OPS), String(64 * MiB), String(MiB)], { maxBuffer: MiB });
    const result = JSON.parse(stdout) as { seconds: number; counts: Record<string, number>; failure: unknown };
    console.log(`fsx seed ${seed}: ${OPS} operations in ${result.seconds} s: ${JSON.stringify(result.counts)}`);
    expect(result.failure, `seed ${seed}\n${m.log().slice(-2000)}`).toBeNull();
    // Every kind of operation ran.
    for (const op of ['write', 'read', 'truncate', 'mapread', 'mapwrite', 'fallocate punch-hole', 'fallocate zero-range', 'fallocate allocate', 'fsync', 'reopen']) {
      expect(result.counts[op] ?? 0, op).toBeGreaterThan(0);
    }
  }, 900_000);
});
