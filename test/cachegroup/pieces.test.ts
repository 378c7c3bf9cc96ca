// A client in a cache group reads blocks whole, from the group or the store: parts of dropped
// blocks are never fetched from object storage by pieces (a ranged GET per 4 KiB read would be
// the store traffic the group is there to take away). Without a group the same reads do go by
// pieces, which shows the reads below are the ones that would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCKS = 8;
let dir: string;
let metaUrl: string;
let data: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-group-pieces-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(metaUrl, { name: 'pieces', storage: `file://${join(dir, 'objects')}`, blockSize: MiB, trashDays: 0 });
  data = Buffer.alloc(BLOCKS * MiB);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  const vol = await Volume.open(metaUrl, { cacheDir: null });
  await vol.writeFile('/f', data);
  await vol.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 4 KiB of every block, backwards (no read-ahead), so that each is loaded whole, read in parts
 * and dropped from the two blocks of LRU; then 4 KiB further into each block again. */
async function partsOfDroppedBlocks(vol: Volume): Promise<Record<string, number>> {
  const fh = await vol.open('/f', 'r');
  try {
    const buf = Buffer.alloc(4 * KiB);
    for (const skip of [8 * KiB, 200 * KiB]) {
      for (let b = BLOCKS - 1; b >= 0; b--) {
        const at = b * MiB + skip;
        expect((await fh.read(buf, 0, buf.length, at)).bytesRead).toBe(buf.length);
        expect(buf.equals(data.subarray(at, at + buf.length)), `bytes at ${at}`).toBe(true);
      }
    }
  } finally {
    await fh.close();
  }
  return vol.vfs.store.stats() as unknown as Record<string, number>;
}

describe('reads by pieces in a cache group', () => {
  it('without a group, parts of dropped blocks are read by pieces', async () => {
    const vol = await Volume.open(metaUrl, { cacheDir: null, memoryCacheSize: 4 * MiB });
    try {
      const s = await partsOfDroppedBlocks(vol);
      expect(s.pieceReads).toBeGreaterThan(0);
      expect(s.blocksRead).toBeLessThan(2 * BLOCKS);
    } finally {
      await vol.close();
    }
  });

  it('in a group, every block is loaded whole and verified again: no ranged reads of the store', async () => {
    const vol = await Volume.open(metaUrl, { cacheDir: null, memoryCacheSize: 4 * MiB, cacheGroup: { name: 'pieces-g', sharing: false, heartbeatMs: 200 } });
    try {
      const s = await partsOfDroppedBlocks(vol);
      expect(s.pieceReads).toBe(0);
      expect(s.blocksRead).toBeGreaterThanOrEqual(2 * BLOCKS - 2);
      expect(s.checksumErrors).toBe(0);
    } finally {
      await vol.close();
    }
  });
});
