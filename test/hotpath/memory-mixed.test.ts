// Hot-path memory after mixed file sizes: block buffers of every size come and go (writers grow
// theirs as a file grows, reads keep verified blocks of whatever length the file's last block
// has). What the allocator holds must stay within what the volume may use at once — its write
// buffer and its block memory — plus a fixed overhead, not grow with the number of sizes seen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hot } from '../../src/hotpath/memory.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

const MiB = 1024 * 1024;
const BUFFER = 32 * MiB;
const MEMORY_CACHE = 32 * MiB;
/** Scratch space, the allocator's alignment, and what other tests in this worker left live. */
const OVERHEAD = 24 * MiB;

let tv: TestVolume;

beforeAll(async () => {
  tv = await makeVolume({ bufferSize: BUFFER, memoryCacheSize: MEMORY_CACHE, cacheDir: null });
});

afterAll(async () => {
  await tv.cleanup();
});

describe('hot-path memory after files of 100 sizes', () => {
  it('stays within the write buffer + block memory + a fixed overhead', async () => {
    const start = hot().highWater;
    const sizes = Array.from({ length: 100 }, (_, i) => Math.round(1000 + ((i * 7919) % 100) * 160_000 + i * 1013));
    // Eight at a time, as a loader or a checkpoint writer does.
    for (let g = 0; g < sizes.length; g += 8) {
      await Promise.all(sizes.slice(g, g + 8).map(async (size, k) => {
        const i = g + k;
        const data = Buffer.alloc(size, i);
        await tv.vol.writeFile(`/f${i}`, data);
        const back = await tv.vol.readFile(`/f${i}`);
        expect(back.equals(data)).toBe(true);
      }));
    }
    // Written again in another order, through handles that grow their buffers write by write.
    const order = [...sizes.keys()].reverse();
    for (let g = 0; g < order.length; g += 8) {
      await Promise.all(order.slice(g, g + 8).map(async (i) => {
        const h = await tv.vol.open(`/f${i}`, 'r+');
        for (let off = 0; off < sizes[i]!; off += 300_000) await h.write(Buffer.alloc(Math.min(300_000, sizes[i]! - off), 255 - i), 0, undefined, off);
        await h.close();
        expect((await tv.vol.readFile(`/f${i}`))[sizes[i]! - 1]).toBe(255 - i);
      }));
    }
    const grown = hot().highWater - start;
    expect(grown, `the hot path's memory grew by ${(grown / MiB).toFixed(1)} MiB`).toBeLessThanOrEqual(BUFFER + MEMORY_CACHE + OVERHEAD);
  }, 120_000);
});
