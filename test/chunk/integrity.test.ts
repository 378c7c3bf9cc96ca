// A stored block is trusted only after its checksum (keyed by its name) verifies: a flipped byte
// or a block stored under another block's name is an EIO naming the block, counted, and never
// returned as file data. A failing object store makes flush fail without committing the slice.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createChunkStore } from '../../src/chunk/index.js';
import type { ObjectStore } from '../../src/object/store.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { fillPattern, tempObjects, type TempObjects } from './fixture.js';

const KiB = 1024;
const BS = 64 * KiB;

let fx: TempObjects;
beforeEach(async () => {
  fx = await tempObjects();
});
afterEach(async () => {
  await fx.cleanup();
});

function patterned(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  fillPattern(b, seed);
  return b;
}

async function expectEIO(p: Promise<unknown>, key: string): Promise<void> {
  const err = await p.then(
    () => expect.fail('expected EIO'),
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: 'EIO' });
  expect((err as Error).message).toContain(key);
}

describe('block verification', () => {
  it('a corrupted byte makes full-block reads fail with EIO naming the block, counted, zeros in the buffer', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta();
    const data = patterned(3 * BS, 1);
    const w = store.openWriter(1, meta);
    await w.write(0, data);
    await w.close();
    const [k0, k1] = store.blockKeys(meta.commits[0]!.slice.id, 3 * BS);
    const file = fx.fileOf(k1!);
    const bytes = await readFile(file);
    bytes[1000] ^= 0x01;
    await writeFile(file, bytes);

    const target = Buffer.alloc(3 * BS, 0xee);
    await expectEIO(store.read(1, 0, target, meta.length(1), meta), k1!);
    expect(store.stats().checksumErrors).toBe(1);
    // Nothing of the damaged block (nor of what arrived alongside it) is handed out.
    expect(target.every((x) => x === 0)).toBe(true);
    // A read that does not touch the damaged block still works.
    const first = Buffer.alloc(BS);
    expect(await store.read(1, 0, first, meta.length(1), meta)).toBe(BS);
    expect(first.equals(data.subarray(0, BS))).toBe(true);
    expect(k0).toBeDefined();
    // Each failed read counts again: nothing is cached as good.
    await expectEIO(store.read(1, BS, Buffer.alloc(BS), meta.length(1), meta), k1!);
    expect(store.stats().checksumErrors).toBe(2);
    await store.close();
  });

  it('a damaged checksum trailer fails verification too', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta();
    const w = store.openWriter(1, meta);
    await w.write(0, patterned(BS + 100, 2));
    await w.close();
    const key = store.blockKeys(meta.commits[0]!.slice.id, BS + 100)[1]!;
    const file = fx.fileOf(key);
    const bytes = await readFile(file);
    expect(bytes.length).toBe(100 + 8);
    bytes[bytes.length - 1] ^= 0x80;
    await writeFile(file, bytes);
    await expectEIO(store.read(1, BS, Buffer.alloc(100), meta.length(1), meta), key);
    expect(store.stats().checksumErrors).toBe(1);
    await store.close();
  });

  it("a block stored under another slice's name fails verification", async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta();
    const w = store.openWriter(1, meta);
    await w.write(0, patterned(BS, 3));
    await w.flush();
    await w.write(5 * BS, patterned(BS, 4)); // a second slice, same block length
    await w.close();
    const [a, b] = meta.commits.map((c) => store.blockKeys(c.slice.id, c.slice.size)[0]!);
    expect(a).not.toBe(b);
    await copyFile(fx.fileOf(a!), fx.fileOf(b!));
    await expectEIO(store.read(1, 5 * BS, Buffer.alloc(BS), meta.length(1), meta), b!);
    expect(store.stats().checksumErrors).toBe(1);
    await store.close();
  });

  it('a missing block is an EIO naming it', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: 1024 * KiB });
    const meta = new MemorySliceMeta();
    const w = store.openWriter(1, meta);
    await w.write(0, patterned(2 * BS, 5));
    await w.close();
    const [k0] = store.blockKeys(meta.commits[0]!.slice.id, 2 * BS);
    await fx.objects.delete(k0!);
    await expectEIO(store.read(1, 0, Buffer.alloc(2 * BS), meta.length(1), meta), k0!);
    await expectEIO(store.read(1, 10, Buffer.alloc(10), meta.length(1), meta), k0!); // ranged read
    await store.close();
  });
});

/** The real store, with puts of chosen keys failing (a disk cannot fail on demand). */
function failingPuts(objects: ObjectStore, fails: (key: string) => boolean): ObjectStore {
  return new Proxy(objects, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop === 'put') {
        return async (key: string, ...rest: unknown[]) => {
          if (fails(key)) throw new Error('injected: object store unavailable');
          return (value as (...a: unknown[]) => Promise<unknown>).call(target, key, ...rest);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('failed uploads', () => {
  it('make flush reject with EIO naming the block, and the slice is never committed', async () => {
    const meta = new MemorySliceMeta(500);
    let failing = '';
    const store = createChunkStore(failingPuts(fx.objects, (k) => k === failing), { blockSize: BS, bufferSize: 1024 * KiB, maxUploads: 3 });
    // Slice 500 (first write) is fine; slice 501 (second, non-contiguous) loses its middle block.
    failing = 'chunks/0/0/501_1_65536';
    const w = store.openWriter(1, meta);
    await w.write(0, patterned(2 * BS, 6));
    await w.write(10 * BS, patterned(3 * BS, 7));
    await w.write(20 * BS, patterned(100, 8));
    await expectEIO(w.flush(), failing);
    const committed = meta.commits.map((c) => c.slice.id);
    expect(committed).not.toContain(501);
    expect(committed).toEqual([500, 502]);
    // No committed slice refers to a block that is not stored.
    for (const c of meta.commits) {
      for (const key of store.blockKeys(c.slice.id, c.slice.size)) expect(await fx.objects.head(key)).toBeTruthy();
    }
    // The error is reported once; the writer stays usable.
    expect(w.dirty).toBe(false);
    failing = '';
    await w.write(10 * BS, patterned(3 * BS, 7));
    await w.close();
    const back = Buffer.alloc(3 * BS);
    await store.read(1, 10 * BS, back, meta.length(1), meta);
    expect(back.equals(patterned(3 * BS, 7))).toBe(true);
    await store.close();
  });

  it('a failing background upload of a full block is reported by the next flush', async () => {
    const meta = new MemorySliceMeta(1);
    const store = createChunkStore(failingPuts(fx.objects, (k) => k.endsWith('_0_65536')), { blockSize: BS, bufferSize: 1024 * KiB });
    const w = store.openWriter(1, meta);
    await w.write(0, patterned(BS + 10, 9));
    await expectEIO(w.flush(), 'chunks/0/0/1_0_65536');
    expect(meta.commits).toEqual([]);
    expect(meta.length(1)).toBe(0);
    await store.close();
  });
});
