// What lands in object storage is fixed by the data layout: mirrors, caches and gc read it without
// asking the writer. Also: deleting a slice removes exactly its blocks, and bad input is refused
// with the argument named and nothing changed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { createChunkStore, CHUNK_SIZE } from '../../src/chunk/index.js';
import { blockChecksum } from '../../src/hotpath/index.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { fillPattern, tempObjects, VOLUME, type TempObjects } from './fixture.js';

const KiB = 1024;
const BS = 64 * KiB;

let fx: TempObjects;
beforeEach(async () => {
  fx = await tempObjects();
});
afterEach(async () => {
  await fx.cleanup();
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
  }
  return out.sort();
}

function patterned(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  fillPattern(b, seed);
  return b;
}

describe('appends (O_APPEND)', () => {
  it('two writers appending to one file: each flush lands whole, after what the other committed first', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(1);
    const a = store.openWriter(3, meta);
    const b = store.openWriter(3, meta);
    const a1 = patterned(BS + 100, 1);
    const a2 = patterned(50, 2);
    const b1 = patterned(3000, 3);
    // Both believe the file is empty; b commits first, so a's bytes go after b's.
    await a.append(a1, 0);
    await b.append(b1, 0);
    await a.append(a2, 0);
    expect(a.pendingEnd).toBe(a1.length + a2.length);
    await b.flush();
    await a.flush();
    const length = meta.length(3);
    expect(length).toBe(b1.length + a1.length + a2.length);
    const got = Buffer.alloc(length);
    await store.read(3, 0, got, length, meta);
    expect(got.equals(Buffer.concat([b1, a1, a2]))).toBe(true);
    // One slice per writer's run of appends.
    expect(meta.commits.map((c) => c.slice.id)).toEqual([2, 1]);
    await store.close();
  });

  it('an append crossing a chunk boundary is split into two references of one slice', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(1);
    meta.setLength(4, CHUNK_SIZE - 1000);
    const w = store.openWriter(4, meta);
    const data = patterned(5000, 4);
    await w.append(data, 0);
    await w.close();
    expect(meta.commits.map((c) => [c.chunkIndex, c.slice.pos, c.slice.off, c.slice.len])).toEqual([
      [0, CHUNK_SIZE - 1000, 0, 1000],
      [1, 0, 1000, 4000],
    ]);
    const got = Buffer.alloc(5000);
    await store.read(4, CHUNK_SIZE - 1000, got, CHUNK_SIZE + 4000, meta);
    expect(got.equals(data)).toBe(true);
    await store.close();
  });
});

describe('read-ahead', () => {
  it('a sequential reader finds its next blocks fetched (and verified) before it asks, each fetched once', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB, memoryCacheSize: 8 * BS });
    const meta = new MemorySliceMeta(1);
    const data = patterned(6 * BS, 9);
    const w = store.openWriter(1, meta);
    await w.write(0, data);
    await w.close();
    const got = Buffer.alloc(BS);
    for (let b = 0; b < 4; b++) {
      await store.read(1, b * BS, got, data.length, meta);
      expect(got.equals(data.subarray(b * BS, (b + 1) * BS)), `block ${b}`).toBe(true);
    }
    // Nobody asked for block 4 yet; the planner did, once two reads had continued the stream.
    await expect.poll(() => store.stats().blocksRead).toBeGreaterThanOrEqual(5);
    for (let b = 4; b < 6; b++) {
      await store.read(1, b * BS, got, data.length, meta);
      expect(got.equals(data.subarray(b * BS, (b + 1) * BS)), `block ${b}`).toBe(true);
    }
    expect(store.stats().blocksRead).toBe(6);
    await store.close();
  });

  it('several sequential readers at once share the memory without evicting blocks before use: each fetched once', async () => {
    // Each stream's window alone is half the memory; four of them would not fit together.
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB, memoryCacheSize: 8 * BS });
    const meta = new MemorySliceMeta(1);
    const files = [1, 2, 3, 4].map((inode) => ({ inode, data: patterned(12 * BS, inode) }));
    for (const f of files) {
      const w = store.openWriter(f.inode, meta);
      await w.write(0, f.data);
      await w.close();
    }
    const before = store.stats().blocksRead;
    await Promise.all(files.map(async (f) => {
      const got = Buffer.alloc(BS / 4);
      for (let at = 0; at < f.data.length; at += got.length) {
        await store.read(f.inode, at, got, f.data.length, meta);
        expect(got.equals(f.data.subarray(at, at + got.length)), `inode ${f.inode} at ${at}`).toBe(true);
      }
    }));
    expect(store.stats().blocksRead - before).toBe(4 * 12);
    await store.close();
  });
});

describe('object layout', () => {
  it('stores a slice as {volume}/chunks/{id/1e6}/{id/1e3}/{id}_{index}_{length}, data then an XXH3 trailer', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(123_456_789);
    const data = patterned(3 * BS + 1000, 1);
    const w = store.openWriter(7, meta);
    await w.write(5000, data);
    expect(w.pendingEnd).toBe(5000 + data.length);
    await w.close();
    expect(meta.commits).toEqual([
      { inode: 7, chunkIndex: 0, slice: { id: 123_456_789, size: data.length, pos: 5000, off: 0, len: data.length }, fileEnd: 5000 + data.length },
    ]);
    const keys = [0, 1, 2].map((i) => `chunks/123/123456/123456789_${i}_65536`).concat('chunks/123/123456/123456789_3_1000');
    expect(store.blockKeys(123_456_789, data.length)).toEqual(keys);
    expect(await filesUnder(fx.root)).toEqual(keys.map((k) => `${VOLUME}/${k}`));
    for (const [i, key] of keys.entries()) {
      const stored = await readFile(fx.fileOf(key));
      const block = data.subarray(i * BS, Math.min(data.length, (i + 1) * BS));
      expect(stored.subarray(0, block.length).equals(block)).toBe(true);
      expect(stored.length).toBe(block.length + 8);
      expect(stored.readBigUInt64LE(block.length)).toBe(blockChecksum(block, key));
    }
    expect(store.stats()).toMatchObject({ blocksWritten: 4, bytesWritten: data.length, bufferedBytes: 0 });
    await store.close();
  });

  it('splits a write across a chunk boundary into one slice per chunk', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(1);
    const w = store.openWriter(1, meta);
    await w.write(CHUNK_SIZE - 100, patterned(300, 2));
    await w.close();
    expect(meta.commits.map(({ chunkIndex, slice, fileEnd }) => ({ chunkIndex, slice, fileEnd }))).toEqual([
      { chunkIndex: 0, slice: { id: 1, size: 100, pos: CHUNK_SIZE - 100, off: 0, len: 100 }, fileEnd: CHUNK_SIZE },
      { chunkIndex: 1, slice: { id: 2, size: 200, pos: 0, off: 0, len: 200 }, fileEnd: CHUNK_SIZE + 200 },
    ]);
    expect(await filesUnder(fx.root)).toEqual([`${VOLUME}/chunks/0/0/1_0_100`, `${VOLUME}/chunks/0/0/2_0_200`]);
    await store.close();
  });

  it('commits overwrites as newer slices, in write order', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(1);
    const w = store.openWriter(1, meta);
    await w.write(0, Buffer.alloc(1000, 1));
    await w.write(1000, Buffer.alloc(1000, 2)); // appends: same slice
    await w.write(500, Buffer.alloc(10, 3)); // overwrite: new slice
    await w.write(510, Buffer.alloc(10, 4)); // appends to the newest slice
    await w.write(2000, Buffer.alloc(10, 5)); // not contiguous with the newest slice: new slice
    expect(w.dirty).toBe(true);
    expect(w.pendingEnd).toBe(2010);
    await w.flush();
    expect(w.dirty).toBe(false);
    expect(w.pendingEnd).toBe(0);
    expect(meta.commits.map((c) => [c.slice.id, c.slice.pos, c.slice.len])).toEqual([
      [1, 0, 2000],
      [2, 500, 20],
      [3, 2000, 10],
    ]);
    const back = Buffer.alloc(2010);
    await store.read(1, 0, back, meta.length(1), meta);
    const want = Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(1000, 2), Buffer.alloc(10, 5)]);
    want.fill(3, 500, 510).fill(4, 510, 520);
    expect(back.equals(want)).toBe(true);
    await store.close();
  });

  it('deleteSlice removes every block of the slice and nothing else', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(41);
    const w = store.openWriter(1, meta);
    await w.write(0, patterned(2 * BS + 5, 3));
    await w.flush();
    await w.write(10 * BS, patterned(100, 4));
    await w.close();
    await store.deleteSlice(41, 2 * BS + 5);
    expect(await filesUnder(fx.root)).toEqual([`${VOLUME}/chunks/0/0/42_0_100`]);
    await store.deleteSlice(41, 2 * BS + 5); // already gone: still fine
    await store.close();
  });
});

describe('bad input', () => {
  it('is refused with the argument named, and changes nothing', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(1);
    const w = store.openWriter(1, meta);
    await expect(w.write(-1, Buffer.alloc(1))).rejects.toThrow(/offset/);
    await expect(w.write(1.5, Buffer.alloc(1))).rejects.toThrow(RangeError);
    await expect(w.write(0, 'text' as unknown as Uint8Array)).rejects.toThrow(/data must be a Uint8Array/);
    await expect(w.write(Number.MAX_SAFE_INTEGER, Buffer.alloc(2))).rejects.toThrow(/offset \+ length/);
    expect(w.dirty).toBe(false);
    await w.close();
    await expect(w.write(0, Buffer.alloc(1))).rejects.toMatchObject({ code: 'EBADF' });
    expect(meta.commits).toEqual([]);
    expect(await filesUnder(fx.root)).toEqual([]);

    await expect(store.read(1, -5, Buffer.alloc(1), 10, meta)).rejects.toThrow(/offset/);
    await expect(store.read(1, 0, Buffer.alloc(1), NaN, meta)).rejects.toThrow(/fileLength/);
    await expect(store.read(1, 0, null as unknown as Uint8Array, 10, meta)).rejects.toThrow(/target/);
    expect(() => store.blockKeys(0, 10)).toThrow(/id/);
    expect(() => store.blockKeys(1, -1)).toThrow(/size/);
    await expect(store.deleteSlice(-1, 10)).rejects.toThrow(/id/);
    expect(() => store.openWriter(0, meta)).toThrow(/inode/);
    await store.close();
    await expect(store.read(1, 0, Buffer.alloc(1), 10, meta)).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('bad options are refused by name', () => {
    expect(() => createChunkStore(fx.objects, { blockSize: 100_000 })).toThrow(/blockSize/);
    expect(() => createChunkStore(fx.objects, { blockSize: 32 * KiB })).toThrow(/blockSize/);
    expect(() => createChunkStore(fx.objects, { blockSize: BS, bufferSize: BS - 1 })).toThrow(/bufferSize/);
    expect(() => createChunkStore(fx.objects, { maxUploads: 0 })).toThrow(/maxUploads/);
    expect(() => createChunkStore(fx.objects, { maxUploads: '3' as unknown as number })).toThrow(/maxUploads/);
  });
});

describe('stats', () => {
  it('count verified block fetches; a block kept in memory is not fetched again', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta(1);
    const data = patterned(2 * BS, 5);
    const w = store.openWriter(1, meta);
    await w.write(0, data);
    await w.close();
    const small = Buffer.alloc(100);
    await store.read(1, BS + 7, small, meta.length(1), meta);
    expect(small.equals(data.subarray(BS + 7, BS + 107))).toBe(true);
    // A small read still fetches (and verifies) the whole block, and keeps it.
    expect(store.stats()).toMatchObject({ blocksRead: 1, bytesRead: BS, memoryCacheHits: 0 });
    const whole = Buffer.alloc(2 * BS);
    await store.read(1, 0, whole, meta.length(1), meta);
    expect(whole.equals(data)).toBe(true);
    expect(store.stats()).toMatchObject({ blocksRead: 2, bytesRead: 2 * BS, checksumErrors: 0, memoryCacheHits: 1 });
    await store.close();
  });
});

it('leaves no stray files (temp files of the object store included) after a clean run', async () => {
  const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
  const w = store.openWriter(1, new MemorySliceMeta(9));
  await w.write(0, patterned(10, 6));
  await w.close();
  await store.close();
  const files = await filesUnder(fx.root);
  expect(files).toEqual([`${VOLUME}/chunks/0/0/9_0_10`]);
  expect((await stat(join(fx.root, files[0]!))).size).toBe(18);
});
