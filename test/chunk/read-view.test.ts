// readView hands file bytes to a callback without a copy when they lie in one verified block
// (FUSE replies, the gateway's GET): the bytes must be exactly what read() returns, for every shape
// of range — inside a block, across blocks and slices, over holes and past the end — and a damaged
// block is EIO. A stream of views up to each block's end reassembles the file; a view the callback
// holds (its promise pending) stays intact while other reads churn the block memory.
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

  /** A file of two slices (one overwriting across a block boundary), a hole and a tail. */
  async function layered(): Promise<{ meta: MemorySliceMeta; model: Buffer }> {
    const meta = new MemorySliceMeta();
    const model = Buffer.alloc(5 * BS + 300);
    const a = Buffer.alloc(3 * BS + 100);
    fillPattern(a, 4);
    const b = Buffer.alloc(BS + 77);
    fillPattern(b, 5);
    let w = store.openWriter(1, meta);
    await w.write(0, a);
    await w.close();
    w = store.openWriter(1, meta);
    await w.write(BS / 4 + 3, b);
    await w.write(5 * BS, Buffer.alloc(300, 9));
    await w.close();
    a.copy(model, 0);
    b.copy(model, BS / 4 + 3);
    model.fill(9, 5 * BS);
    return { meta, model };
  }

  it('views up to each block end, asked again for the rest, reassemble any range', async () => {
    const { meta, model } = await layered();
    for (const [start, end] of [[0, model.length], [BS / 4 + 1, 2 * BS + 5], [3 * BS + 20, model.length], [7, 8]]) {
      const parts: Buffer[] = [];
      for (let at = start; at < end;) {
        let calls = 0;
        const got = await store.readView(1, at, Math.min(end - at, BS), meta.length(1), meta, (bytes) => {
          calls++;
          return Buffer.from(bytes);
        }, true);
        expect(calls).toBe(1);
        expect(got.length, `view at ${at}`).toBeGreaterThan(0);
        expect(got.length, `view at ${at}`).toBeLessThanOrEqual(BS);
        parts.push(got);
        at += got.length;
      }
      expect(Buffer.concat(parts).equals(model.subarray(start, end)), `${start}-${end}`).toBe(true);
    }
    // A view stops where its block's part of the range does: here where the second slice begins.
    const cut = await store.readView(1, BS / 4 + 1, BS, meta.length(1), meta, (bytes) => bytes.length, true);
    expect(cut).toBe(2);
  });

  it('a view held by a pending promise keeps its bytes while other reads evict its block', async () => {
    const { meta, model } = await layered();
    // Another file of the same volume (slice ids from the same source).
    const big = Buffer.alloc(32 * BS);
    fillPattern(big, 6);
    const w = store.openWriter(2, meta);
    await w.write(0, big);
    await w.close();
    let held: Uint8Array | null = null;
    let letGo!: () => void;
    const viewing = store.readView(1, 2 * BS, BS, meta.length(1), meta, (bytes) => {
      held = bytes;
      return new Promise<void>((r) => { letGo = r; });
    }, true);
    let failed: unknown = null;
    viewing.catch((err: unknown) => { failed = err; });
    while (!held && !failed) await new Promise((r) => setImmediate(r));
    if (failed) throw failed;
    expect(Buffer.from(held!).equals(model.subarray(2 * BS, 3 * BS)), 'before').toBe(true);
    // Four times the block memory, block by block: every free buffer gets reused.
    const scratch = Buffer.alloc(BS);
    for (let at = 0; at < big.length; at += BS) await store.read(2, at, scratch, meta.length(2), meta);
    expect(Buffer.from(held!).equals(model.subarray(2 * BS, 3 * BS))).toBe(true);
    letGo();
    await viewing;
  });

  it('a failing callback is not called again, even with an error that looks like a vanished block', async () => {
    const { meta } = await layered();
    let calls = 0;
    const gone = Object.assign(new Error('not found'), { code: 'ENOENT' });
    await expect(store.readView(1, 0, 4 * KiB, meta.length(1), meta, () => {
      calls++;
      throw gone;
    })).rejects.toBe(gone);
    expect(calls).toBe(1);
  });
});
