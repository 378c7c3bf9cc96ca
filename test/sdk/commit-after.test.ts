// A file kept open for writing does not hold its bytes uncommitted forever: after commitAfterMs
// they are in the metadata, so another client reads them and no uploaded block stays unknown to
// the metadata (which `strata gc` would take for leaked).
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';

const BLOCK = 64 * 1024;
let dir: string;
let url: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'strata-commit-after-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(url, { name: 'commitafter', storage: `file://${join(dir, 'objects')}`, blockSize: BLOCK, trashDays: 0 });
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('commitAfterMs', () => {
  it('commits the bytes of a file still open once they are that old, and keeps writing after', async () => {
    const writer = await Volume.open(url, { commitAfterMs: 200 });
    const reader = await Volume.open(url, { attrCacheMs: 0 });
    try {
      const h = await writer.open('/slow', 'w');
      const first = Buffer.alloc(BLOCK * 2 + 100, 5);
      await h.write(first, 0, first.length, 0);
      // Not yet: a fresh write waits for its flush or for commitAfterMs.
      expect((await reader.stat('/slow')).size).toBe(0);
      await expect.poll(async () => (await reader.stat('/slow')).size, { timeout: 5_000, interval: 50 }).toBe(first.length);
      expect((await reader.readFile('/slow')).equals(first)).toBe(true);
      // Still open: more writes go on, and show at close as ever.
      const more = Buffer.alloc(1000, 6);
      await h.write(more, 0, more.length, first.length);
      await h.close();
      expect((await reader.readFile('/slow')).equals(Buffer.concat([first, more]))).toBe(true);
      // Every block in the store belongs to a slice the metadata knows.
      const known = new Set((await writer.vfs.meta.knownSlices(0, 1000)).map((k) => k.id));
      const walk = async (d: string): Promise<string[]> => (await Promise.all((await fs.readdir(d, { withFileTypes: true }))
        .map(async (e) => (e.isDirectory() ? walk(join(d, e.name)) : [e.name])))).flat();
      const blocks = await walk(join(dir, 'objects'));
      expect(blocks.length).toBeGreaterThan(0);
      for (const b of blocks) expect(known.has(Number(b.split('_')[0])), b).toBe(true);
    } finally {
      await writer.close();
      await reader.close();
    }
  }, 30_000);
});
