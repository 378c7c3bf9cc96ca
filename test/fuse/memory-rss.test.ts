// The mount process's memory after files of 100 sizes are written and read through it, eight at
// a time, twice: its resident size grows by at most its write buffer + block memory + a fixed
// overhead, and a second round over the same sizes adds (almost) nothing — memory does not grow
// with the number of sizes seen (test/hotpath/memory-mixed.test.ts checks the allocator itself).
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { DEFAULT_MEMORY_CACHE_SIZE } from '../../src/chunk/options.js';
import { need } from '../helpers/require.js';
import { mountForSuite } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const BUFFER_MIB = 32;
/** The mount's block memory (the default memoryCacheSize). */
const BLOCK_MEMORY_MIB = DEFAULT_MEMORY_CACHE_SIZE / 2 ** 20;
/** V8's heap growing under the load, the addon's request buffers, allocator alignment. */
const OVERHEAD_MIB = 64;

describe.skipIf(fuse.skip)('mount memory after files of 100 sizes', () => {
  const mount = mountForSuite(fuse, ['--buffer-size', String(BUFFER_MIB)]);

  it('stays within the write buffer + block memory + a fixed overhead, and flat from one round to the next', async () => {
    const m = mount();
    const rss = async () => Number(/VmRSS:\s+(\d+)/.exec(await fs.readFile(`/proc/${m.child.pid}/status`, 'utf8'))![1]) / 1024;
    const start = await rss();
    const sizes = Array.from({ length: 100 }, (_, i) => Math.round(1000 + ((i * 7919) % 100) * 160_000 + i * 1013));
    const after: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (let g = 0; g < sizes.length; g += 8) {
        await Promise.all(sizes.slice(g, g + 8).map(async (size, k) => {
          const i = g + k;
          const data = Buffer.alloc(size, i + round);
          await fs.writeFile(join(m.mountpoint, `f${i}`), data);
          expect((await fs.readFile(join(m.mountpoint, `f${i}`))).equals(data)).toBe(true);
        }));
      }
      after.push(await rss());
    }
    const grew = after[1]! - start;
    expect(grew, `RSS ${start.toFixed(0)} MiB at start, ${after.map((a) => a.toFixed(0)).join(' then ')} MiB after each round`)
      .toBeLessThanOrEqual(BUFFER_MIB + BLOCK_MEMORY_MIB + OVERHEAD_MIB);
    expect(after[1]! - after[0]!).toBeLessThanOrEqual(32);
    for (let i = 0; i < sizes.length; i++) await fs.unlink(join(m.mountpoint, `f${i}`));
  }, 120_000);
});
