// A handle kept open reads what other clients commit. Reads reuse an open file's attributes for
// attrCacheMs (default 1 s, as the mount's kernel cache), and the chunk slice lists they fetched
// only while those attributes are exactly as they were: an overwrite of the same size, a
// truncate-and-regrow or an append by another client shows on the next read once the attributes
// are fetched again (at once with attrCacheMs 0, after a stat, or within the second); this
// client's own changes show at once, through any handle or path. On every engine.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Volume } from '../../src/index.js';
import { engineNeed, type Engine } from '../helpers/engines.js';
import { makeVolume, type TestVolume } from './helpers.js';

const MiB = 1024 * 1024;

for (const engine of ['sqlite', 'postgres', 'mysql'] as Engine[]) {
  const needs = engineNeed(engine);
  describe.skipIf(needs.skip)(`${engine}: a handle kept open reads what other clients commit`, () => {
    let tv: TestVolume;
    let reader: Volume;
    let eager: Volume;
    let writer: Volume;

    beforeAll(async () => {
      needs.check();
      tv = await makeVolume({}, {}, engine);
      reader = tv.vol;
      eager = await tv.open({ attrCacheMs: 0 });
      writer = await tv.open();
    });

    afterAll(async () => {
      await tv?.cleanup();
    });

    async function readAll(fh: Awaited<ReturnType<Volume['open']>>, size: number): Promise<Buffer> {
      const buf = Buffer.alloc(size + 1);
      let got = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, got, Math.min(MiB, buf.length - got), got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    }

    it('with attrCacheMs 0: same-size overwrites, truncate and regrow, and an append show on the next read', async () => {
      const first = randomBytes(3 * MiB);
      await writer.writeFile('/f', first);
      const fh = await eager.open('/f', 'r');
      try {
        expect((await readAll(fh, first.length)).equals(first)).toBe(true);

        // Same size, new bytes in the middle.
        const patch = randomBytes(MiB);
        const w = await writer.open('/f', 'r+');
        await w.write(patch, 0, patch.length, MiB);
        await w.close();
        const second = Buffer.from(first);
        patch.copy(second, MiB);
        expect((await readAll(fh, second.length)).equals(second)).toBe(true);

        // Truncated and grown back to the same size: the old bytes must not come back.
        await writer.truncate('/f', MiB);
        await writer.truncate('/f', 3 * MiB);
        const third = Buffer.concat([second.subarray(0, MiB), Buffer.alloc(2 * MiB)]);
        expect((await readAll(fh, third.length)).equals(third)).toBe(true);

        // Rewritten whole, then appended to.
        const fourth = randomBytes(3 * MiB);
        await writer.writeFile('/f', fourth);
        const tail = randomBytes(4096);
        await writer.appendFile('/f', tail);
        expect((await readAll(fh, fourth.length + tail.length)).equals(Buffer.concat([fourth, tail]))).toBe(true);
      } finally {
        await fh.close();
      }
    });

    it('by default another client\'s change shows after a stat at once, and without one within the second', async () => {
      const first = randomBytes(2 * MiB);
      await writer.writeFile('/g', first);
      const fh = await reader.open('/g', 'r');
      try {
        expect((await readAll(fh, first.length)).equals(first)).toBe(true);
        const second = randomBytes(2 * MiB);
        await writer.writeFile('/g', second);
        await fh.stat();
        expect((await readAll(fh, second.length)).equals(second)).toBe(true);
        const third = Buffer.concat([second, randomBytes(MiB)]);
        await writer.writeFile('/g', third);
        await new Promise((ok) => setTimeout(ok, 1100));
        expect((await readAll(fh, third.length)).equals(third)).toBe(true);
      } finally {
        await fh.close();
      }
    });

    it('this client\'s own changes show at once through a handle kept open: truncate by path, writes through another handle', async () => {
      const first = randomBytes(2 * MiB);
      await reader.writeFile('/h', first);
      const fh = await reader.open('/h', 'r');
      try {
        expect((await readAll(fh, first.length)).equals(first)).toBe(true);
        await reader.truncate('/h', MiB);
        expect((await readAll(fh, MiB)).equals(first.subarray(0, MiB))).toBe(true);
        await reader.truncate('/h', 2 * MiB);
        const zeroed = Buffer.concat([first.subarray(0, MiB), Buffer.alloc(MiB)]);
        expect((await readAll(fh, 2 * MiB)).equals(zeroed)).toBe(true);
        const w = await reader.open('/h', 'r+');
        const patch = randomBytes(4096);
        await w.write(patch, 0, patch.length, 100);
        await w.write(patch, 0, patch.length, 3 * MiB); // grows it, still buffered
        patch.copy(zeroed, 100);
        const want = Buffer.concat([zeroed, Buffer.alloc(MiB), patch]);
        expect((await readAll(fh, want.length)).equals(want)).toBe(true);
        await w.close();
      } finally {
        await fh.close();
      }
    });
  });
}
