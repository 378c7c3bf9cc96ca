// The write buffer is bounded: however much is written, and by however many writers, buffered
// bytes never exceed bufferSize (writes wait for room instead), and waiting never deadlocks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChunkStore } from '../../src/chunk/index.js';
import type { ObjectStore } from '../../src/object/store.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { fillPattern, tempObjects, type TempObjects } from './fixture.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BS = 64 * KiB;

let fx: TempObjects;
beforeAll(async () => {
  fx = await tempObjects();
});
afterAll(async () => {
  await fx.cleanup();
});

/** The real store, noting the write buffer's fill level every time a block is stored. */
function observed(objects: ObjectStore, sample: () => void): ObjectStore {
  return new Proxy(objects, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'put') return value.bind(target);
      return async (...args: unknown[]) => {
        sample();
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/** The real store, with every put held until `open()` (an object store that has stalled). */
function gated(objects: ObjectStore): { objects: ObjectStore; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const wrapped = new Proxy(objects, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'put') return value.bind(target);
      return async (...args: unknown[]) => {
        await gate;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { objects: wrapped, open };
}

/** Let every pending promise and immediate run (nothing here waits on real I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('write buffer', () => {
  it('a write waits for room while the buffer is full, and goes on once blocks are stored', async () => {
    const g = gated(fx.objects);
    const store = createChunkStore(g.objects, { blockSize: BS, bufferSize: 4 * BS, maxUploads: 2 });
    const meta = new MemorySliceMeta(7000);
    const w = store.openWriter(1, meta);
    const data = Buffer.alloc(10 * BS);
    fillPattern(data, 77);
    let written = false;
    const write = w.write(0, data).then(() => (written = true));
    await settle();
    // Four full blocks are waiting to be stored; the rest of the write waits for them.
    expect(written).toBe(false);
    expect(store.stats().bufferedBytes).toBe(4 * BS);
    g.open();
    await write;
    await w.close();
    expect(store.stats().peakBufferedBytes).toBe(4 * BS);
    const back = Buffer.alloc(10 * BS);
    await store.read(1, 0, back, meta.length(1), meta);
    expect(back.equals(data)).toBe(true);
    await store.close();
  });

  it('writing 64 MiB with an 8 MiB buffer never buffers more than 8 MiB', async () => {
    const bufferSize = 8 * MiB;
    let most = 0;
    const sample = (): void => {
      most = Math.max(most, store.stats().bufferedBytes);
    };
    const store = createChunkStore(observed(fx.objects, sample), { blockSize: BS, bufferSize, maxUploads: 4 });
    const meta = new MemorySliceMeta();
    const w = store.openWriter(1, meta);
    const piece = Buffer.alloc(MiB);
    for (let i = 0; i < 64; i++) {
      fillPattern(piece, i);
      await w.write(i * MiB, piece);
      sample();
    }
    await w.close();
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(bufferSize);
    expect(store.stats().peakBufferedBytes).toBeLessThanOrEqual(bufferSize);
    expect(store.stats().bufferedBytes).toBe(0);
    expect(store.stats().blocksWritten).toBe(1024);
    expect(store.stats().bytesWritten).toBe(64 * MiB);
    // Sequential writes stay one slice.
    expect(meta.commits.map((c) => c.slice)).toEqual([{ id: 1, size: 64 * MiB, pos: 0, off: 0, len: 64 * MiB }]);
    // Spot-check the data.
    const back = Buffer.alloc(MiB);
    for (const i of [0, 31, 63]) {
      await store.read(1, i * MiB, back, meta.length(1), meta);
      fillPattern(piece, i);
      expect(back.equals(piece)).toBe(true);
    }
    await store.close();
  });

  it('many writers filling a one-block buffer with small random writes all finish', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: BS, maxUploads: 2 });
    const meta = new MemorySliceMeta(100_000);
    const writers = [1, 2, 3, 4].map((ino) => store.openWriter(ino, meta));
    const models = writers.map(() => Buffer.alloc(512 * KiB));
    let seed = 1;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const writes: Promise<void>[] = [];
    for (let k = 0; k < 200; k++) {
      const i = rnd(4);
      const len = 1 + rnd(40 * KiB);
      const off = rnd(512 * KiB - len);
      const data = Buffer.alloc(len);
      fillPattern(data, k);
      data.copy(models[i]!, off);
      writes.push(writers[i]!.write(off, data));
    }
    await Promise.all(writes);
    await Promise.all(writers.map((w) => w.close()));
    expect(store.stats().peakBufferedBytes).toBeLessThanOrEqual(BS);
    for (const [i, model] of models.entries()) {
      const back = Buffer.alloc(512 * KiB);
      const n = await store.read(i + 1, 0, back, meta.length(i + 1), meta);
      expect(back.subarray(0, n).equals(model.subarray(0, n))).toBe(true);
    }
    await store.close();
  });
});
