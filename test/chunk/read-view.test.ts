// readView hands file bytes to a callback without a copy when they lie in one verified block
// (FUSE replies): the bytes must be exactly what read() returns, for every shape of range — inside
// a block, across blocks and slices, over holes and past the end — and a damaged block is EIO.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { createChunkStore, type ObjectChunkStore } from '../../src/chunk/index.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { fillPattern, tempObjects, type TempObjects } from './fixture.js';

const KiB = 1024;
const BS = 64 * KiB;

let fx: TempObjects;
let store: ObjectChunkStore;
beforeEach(async () => {
  fx = await tempObjects();
  store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB, memoryCacheSize: 8 * BS });
});
afterEach(async () => {
  await store.close();
  await fx.cleanup();
});

async function view(meta: MemorySliceMeta, offset: number, length: number): Promise<Buffer> {
  let calls = 0;
  const out = await store.readView(1, offset, length, meta.length(1), meta, (bytes) => {
    calls++;
    return Buffer.from(bytes);
  });
  expect(calls).toBe(1);
  return out;
}

describe('readView', () => {
  it('gives the same bytes as read() for ranges inside a block, across blocks and slices, over holes and past the end', async () => {
    const meta = new MemorySliceMeta();
    const model = Buffer.alloc(5 * BS + 300);
    const a = Buffer.alloc(3 * BS + 100);
    fillPattern(a, 1);
    const b = Buffer.alloc(BS);
    fillPattern(b, 2);
    let w = store.openWriter(1, meta);
    await w.write(0, a);
    await w.close();
    a.copy(model, 0);
    // An overwrite across a block boundary (newest wins) and a write past a hole.
    w = store.openWriter(1, meta);
    await w.write(BS + BS / 2, b);
    await w.write(5 * BS, Buffer.alloc(300, 7));
    await w.close();
    b.copy(model, BS + BS / 2);
    model.fill(7, 5 * BS);
    const ranges: [number, number][] = [
      [0, 4 * KiB], [8 * KiB, BS - 8 * KiB], [0, BS], [BS - 10, 20], [BS + 100, BS], [3 * BS + 50, BS + 10],
      [4 * BS - 5, 100], [5 * BS + 200, 4 * KiB], [model.length, 10], [model.length + 100, 10], [0, model.length],
    ];
    for (const [off, len] of ranges) {
      const want = model.subarray(Math.min(off, model.length), Math.min(off + len, model.length));
      const got = await view(meta, off, len);
      expect(got.equals(want), `range ${off}+${len}`).toBe(true);
      const viaRead = Buffer.alloc(len);
      const n = await store.read(1, off, viaRead, meta.length(1), meta);
      expect(viaRead.subarray(0, n).equals(got)).toBe(true);
    }
  });

  it('a damaged block is EIO naming it, counted, and the callback never sees its bytes', async () => {
    const meta = new MemorySliceMeta();
    const data = Buffer.alloc(2 * BS);
    fillPattern(data, 3);
    const w = store.openWriter(1, meta);
    await w.write(0, data);
    await w.close();
    const key = store.blockKeys(meta.commits[0]!.slice.id, 2 * BS)[1]!;
    const bytes = await readFile(fx.fileOf(key));
    bytes[5] ^= 1;
    await writeFile(fx.fileOf(key), bytes);
    let called = false;
    await expect(store.readView(1, BS + 4 * KiB, 4 * KiB, meta.length(1), meta, () => { called = true; })).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining(key) });
    expect(called).toBe(false);
    expect(store.stats().checksumErrors).toBe(1);
    expect((await view(meta, 0, 4 * KiB)).equals(data.subarray(0, 4 * KiB))).toBe(true);
  });
});
