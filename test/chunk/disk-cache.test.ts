// The local disk cache of blocks, on real directories in front of a real object store: what it
// keeps and where, its bounds (size, -1, free-space ratio), healing of damaged cache files,
// rebuilding its index after a restart, partial reads verified piece by piece, and a broken
// cache disk that never fails a read or a write.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, readdir, readFile, rm, statfs, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChunkStore, type ObjectChunkStore } from '../../src/chunk/index.js';
import type { DiskCacheOptions } from '../../src/chunk/disk-cache.js';
import { cacheFileSize } from '../../src/chunk/cache-file.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { mountTmpfs, tmpfsNeed } from '../helpers/tmpfs.js';
import { fillPattern, tempObjects, type TempObjects } from './fixture.js';

const KiB = 1024;
const BS = 64 * KiB;
const NS = 'vol-uuid';

let fx: TempObjects;
let cacheRoot: string;
beforeEach(async () => {
  fx = await tempObjects();
  cacheRoot = await mkdtemp(join(tmpdir(), 'strata-cache-'));
});
afterEach(async () => {
  await chmod(cacheRoot, 0o755).catch(() => undefined);
  await rm(cacheRoot, { recursive: true, force: true });
  await fx.cleanup();
});

function patterned(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  fillPattern(b, seed);
  return b;
}

function open(cache: Partial<DiskCacheOptions>, memoryCacheSize = 0): ObjectChunkStore {
  return createChunkStore(fx.objects, {
    blockSize: BS, bufferSize: 1024 * KiB, memoryCacheSize, cacheNamespace: NS,
    cache: { dirs: [join(cacheRoot, 'a')], size: 64 * BS, ...cache },
  });
}

/** Every cache file under the cache root: relative path -> size. */
async function cacheFiles(root = cacheRoot): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.set(p, (await readFile(p)).length);
  }
  return out;
}

async function writeFileData(store: ObjectChunkStore, meta: MemorySliceMeta, ino: number, data: Buffer): Promise<string[]> {
  const w = store.openWriter(ino, meta);
  await w.write(0, data);
  await w.close();
  const commit = meta.commits.filter((c) => c.inode === ino).at(-1)!;
  return store.blockKeys(commit.slice.id, data.length);
}

async function readAll(store: ObjectChunkStore, meta: MemorySliceMeta, ino: number): Promise<Buffer> {
  const out = Buffer.alloc(meta.length(ino));
  expect(await store.read(ino, 0, out, out.length, meta)).toBe(out.length);
  return out;
}

/** Remove the object files behind `keys`, so only the cache can answer for them. */
async function dropObjects(keys: string[]): Promise<void> {
  for (const k of keys) await rm(fx.fileOf(k));
}

describe('disk cache', () => {
  it('keeps partial blocks written and full blocks read; reads then need no object store', async () => {
    const store = open({});
    const meta = new MemorySliceMeta();
    const data = patterned(3 * BS + 1000, 1);
    const keys = await writeFileData(store, meta, 1, data);
    await store.cache!.settle();
    // Only the partial tail was cached by the write (cacheLargeWrite is off).
    expect((await cacheFiles()).size).toBe(1);
    expect(await readAll(store, meta, 1)).toEqual(data);
    await store.cache!.settle();
    const files = await cacheFiles();
    expect(files.size).toBe(4);
    expect([...files.keys()].every((p) => p.startsWith(join(cacheRoot, 'a', NS, 'raw', 'chunks')))).toBe(true);
    expect([...files.values()].sort((x, y) => x - y)).toEqual([cacheFileSize(1000), cacheFileSize(BS), cacheFileSize(BS), cacheFileSize(BS)]);
    await dropObjects(keys);
    const before = store.stats();
    expect(await readAll(store, meta, 1)).toEqual(data);
    const after = store.stats();
    expect(after.cacheHits! - before.cacheHits!).toBe(4);
    expect(after.blocksRead).toBe(before.blocksRead);
    await store.close();
  });

  it('cacheLargeWrite caches full blocks at upload; cachePartialOnly never caches full blocks', async () => {
    const large = open({ cacheLargeWrite: true });
    const meta = new MemorySliceMeta();
    await writeFileData(large, meta, 1, patterned(2 * BS, 2));
    await large.cache!.settle();
    expect((await cacheFiles()).size).toBe(2);
    await large.close();
    await rm(cacheRoot, { recursive: true, force: true });

    const partialOnly = open({ cachePartialOnly: true });
    const meta2 = new MemorySliceMeta();
    await writeFileData(partialOnly, meta2, 2, patterned(2 * BS + 10, 3));
    await readAll(partialOnly, meta2, 2);
    await partialOnly.cache!.settle();
    expect([...(await cacheFiles()).values()]).toEqual([cacheFileSize(10)]);
    await partialOnly.close();
  });

  it('stays within its size, evicting the least recently used; -1 keeps everything', async () => {
    const bounded = open({ size: 3 * cacheFileSize(BS) });
    const meta = new MemorySliceMeta();
    const data = patterned(10 * BS, 4);
    await writeFileData(bounded, meta, 1, data);
    for (let i = 0; i < 10; i++) {
      const b = Buffer.alloc(BS);
      await bounded.read(1, i * BS, b, data.length, meta);
      expect(b.equals(data.subarray(i * BS, (i + 1) * BS))).toBe(true);
      await bounded.cache!.settle();
      const files = await cacheFiles();
      expect([...files.values()].reduce((n, x) => n + x, 0)).toBeLessThanOrEqual(3 * cacheFileSize(BS));
    }
    expect(bounded.stats().cacheEvictions).toBe(7);
    expect(bounded.stats().cacheBytes).toBe(3 * cacheFileSize(BS));
    await bounded.close();
    await rm(cacheRoot, { recursive: true, force: true });

    const unlimited = open({ size: -1 });
    await readAll(unlimited, meta, 1);
    await unlimited.cache!.settle();
    expect((await cacheFiles()).size).toBe(10);
    expect(unlimited.stats().cacheEvictions).toBe(0);
    await unlimited.close();
  });

  it.skipIf(tmpfsNeed.skip)('keeps the free-space ratio of its file system: when it cannot, it caches nothing and reads still work', async () => {
    tmpfsNeed.check();
    // A file system of its own, half full, so that the ratio can be set just above what is free.
    const small = join(cacheRoot, 'small');
    const unmount = await mountTmpfs(small, 8);
    try {
      await writeFile(join(small, 'filler'), Buffer.alloc(4 * 1024 * KiB, 1));
      const fs = await statfs(small);
      const free = fs.bavail / fs.blocks;
      expect(free).toBeLessThan(0.85);
      const store = open({ dirs: [join(small, 'cache')], size: -1, freeSpaceRatio: Math.min(0.9, free + 0.05) });
      const meta = new MemorySliceMeta();
      const data = patterned(4 * BS, 5);
      await writeFileData(store, meta, 1, data);
      expect(await readAll(store, meta, 1)).toEqual(data);
      await store.cache!.settle();
      expect((await cacheFiles(join(small, 'cache'))).size).toBe(0);
      expect(store.stats().cacheWriteSkips).toBeGreaterThan(0);
      expect(store.stats().cacheErrors).toBe(0);
      await store.close();
    } finally {
      unmount();
    }
  });

  it('a damaged cache file is dropped, counted, and the block comes from the store (then is cached again)', async () => {
    const store = open({});
    const meta = new MemorySliceMeta();
    const data = patterned(2 * BS, 6);
    await writeFileData(store, meta, 1, data);
    await readAll(store, meta, 1);
    await store.cache!.settle();
    const [victim] = [...(await cacheFiles()).keys()];
    const bytes = await readFile(victim!);
    bytes[12345] ^= 0x40;
    await writeFile(victim!, bytes);
    expect(await readAll(store, meta, 1)).toEqual(data);
    expect(store.stats().cacheErrors).toBe(1);
    expect(store.stats().checksumErrors).toBe(0);
    await store.cache!.settle();
    // Healed: the file holds the right bytes again and serves reads.
    expect((await readFile(victim!)).equals(bytes)).toBe(false);
    const hits = store.stats().cacheHits!;
    expect(await readAll(store, meta, 1)).toEqual(data);
    expect(store.stats().cacheHits! - hits).toBe(2);
    // A truncated file too.
    await writeFile(victim!, bytes.subarray(0, 100));
    expect(await readAll(store, meta, 1)).toEqual(data);
    expect(store.stats().cacheErrors).toBe(2);
    await store.close();
  });

  it('rebuilds its index from disk after a restart, removes interrupted writes, and shrinks to a smaller size', async () => {
    const first = open({});
    const meta = new MemorySliceMeta();
    const data = patterned(6 * BS, 7);
    const keys = await writeFileData(first, meta, 1, data);
    await readAll(first, meta, 1);
    await first.cache!.settle();
    await first.close();
    // A crash's leftover (old) goes; a write another process sharing the directory has under way
    // (recent) stays, and neither counts as a cached block.
    const leftover = join(cacheRoot, 'a', NS, 'raw', 'chunks', 'left.tmp-123-1');
    await writeFile(leftover, 'half a block');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(leftover, hourAgo, hourAgo);
    const underWay = join(cacheRoot, 'a', NS, 'raw', 'chunks', 'busy.tmp-456-ab12cd34-1');
    await writeFile(underWay, 'being written');

    const second = open({});
    await second.cache!.ready();
    expect(second.stats().cacheFiles).toBe(6);
    expect(second.stats().cacheBytes).toBe(6 * cacheFileSize(BS));
    expect((await cacheFiles()).has(leftover)).toBe(false);
    expect((await cacheFiles()).has(underWay)).toBe(true);
    await rm(underWay);
    await dropObjects(keys);
    expect(await readAll(second, meta, 1)).toEqual(data);
    await second.close();

    const smaller = open({ size: 2 * cacheFileSize(BS) });
    await smaller.cache!.ready();
    expect(smaller.stats().cacheFiles).toBe(2);
    expect((await cacheFiles()).size).toBe(2);
    await smaller.close();
  });

  it("with 'partial' verification a small read takes only its pieces; a damaged piece elsewhere does not matter, a damaged touched piece falls back to the store", async () => {
    const store = open({ verify: 'partial' }, 4 * BS);
    const meta = new MemorySliceMeta();
    const data = patterned(BS, 8);
    const [key] = await writeFileData(store, meta, 1, data);
    // Filled by a whole-block read through another store (so this one's memory is empty).
    const filler = open({});
    await readAll(filler, meta, 1);
    await filler.cache!.settle();
    await filler.close();
    const [file] = [...(await cacheFiles()).keys()];
    const bytes = await readFile(file!);
    bytes[40 * KiB] ^= 1; // in piece 1 (32..64 KiB)
    await writeFile(file!, bytes);
    await rm(fx.fileOf(key!));

    const small = Buffer.alloc(4 * KiB);
    expect(await store.read(1, 8 * KiB, small, BS, meta)).toBe(small.length);
    expect(small.equals(data.subarray(8 * KiB, 12 * KiB))).toBe(true);
    expect(store.stats().cacheHits).toBe(1);
    expect(store.stats().blocksRead).toBe(0);
    // The damaged piece: the cache file is dropped and the store is asked (the object is gone
    // here, so the read fails as the store's missing block would — never with wrong bytes).
    const bad = Buffer.alloc(4 * KiB);
    await expect(store.read(1, 38 * KiB, bad, BS, meta)).rejects.toMatchObject({ code: 'EIO' });
    expect(store.stats().cacheErrors).toBe(1);
    expect((await cacheFiles()).size).toBe(0);
    await store.close();
  });

  it('a cache directory that cannot be written never fails a write or a read', async () => {
    // A file where the cache directory should be: every cache write fails.
    await writeFile(join(cacheRoot, 'a'), 'not a directory');
    const store = open({ cacheLargeWrite: true });
    const meta = new MemorySliceMeta();
    const data = patterned(3 * BS + 5, 9);
    await writeFileData(store, meta, 1, data);
    expect(await readAll(store, meta, 1)).toEqual(data);
    await store.cache!.settle();
    expect(store.stats().cacheErrors).toBeGreaterThan(0);
    expect(store.stats().cacheHits).toBe(0);
    await store.close();
  });

  it('refuses bad options by name', () => {
    expect(() => open({ size: -2 })).toThrow(/cache.size/);
    expect(() => open({ freeSpaceRatio: 0.95 })).toThrow(/freeSpaceRatio/);
    expect(() => open({ verify: 'some' as never })).toThrow(/cache.verify/);
    expect(() => open({ dirs: [''] })).toThrow(/cache.dirs/);
  });
});
