// The data path against a plain Buffer: whatever sequence of writes, flushes and reads a file
// sees, committed reads return exactly the bytes the model holds (newest write wins, holes are
// zeros, nothing past the end). Runs on a real local-directory object store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createChunkStore } from '../../src/chunk/index.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { fillPattern, tempObjects, type TempObjects } from './fixture.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * MiB;
const BS = 64 * KiB;
// Enough for writes near the chunk boundary to run past it.
const MODEL_SIZE = CHUNK + MiB;

type Op =
  | { kind: 'write'; offset: number; length: number; seed: number }
  | { kind: 'flush' }
  | { kind: 'read'; offset: number; length: number };

const offsetArb = fc.oneof(
  fc.integer({ min: 0, max: 700 * KiB }),
  fc.integer({ min: 0, max: 8 }).map((k) => k * BS), // block-aligned
  fc.integer({ min: CHUNK - 400 * KiB, max: CHUNK + 300 * KiB }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), offset: offsetArb, length: fc.integer({ min: 1, max: 200 * KiB }), seed: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), offset: offsetArb, length: fc.integer({ min: 0, max: 300 * KiB }) }) },
  // Small reads (random access) leave blocks read in parts.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), offset: offsetArb, length: fc.integer({ min: 1, max: 8 * KiB }) }) },
);

let fx: TempObjects;
beforeAll(async () => {
  fx = await tempObjects();
});
afterAll(async () => {
  await fx.cleanup();
});

describe.each([
  { name: 'a one-block write buffer (constant memory pressure)', blockSize: BS, bufferSize: BS, maxUploads: 2, memoryCacheSize: undefined, prefill: 0, pieces: false },
  { name: 'a roomy write buffer', blockSize: BS, bufferSize: 16 * MiB, maxUploads: 8, memoryCacheSize: undefined, prefill: 0, pieces: false },
  // Eight blocks of memory, half of them for read-ahead: prefetches push the LRU's blocks out.
  { name: 'a block memory of eight blocks', blockSize: BS, bufferSize: 16 * MiB, maxUploads: 8, memoryCacheSize: 8 * BS, prefill: MiB, pieces: false },
  // One block of LRU, and a file that starts as whole blocks of 8 pieces: blocks read in parts
  // are dropped and read again by their pieces.
  { name: 'a block memory of one block', blockSize: 4 * BS, bufferSize: 16 * MiB, maxUploads: 8, memoryCacheSize: 8 * BS, prefill: MiB, pieces: true },
])('reads match a Buffer model with $name', ({ blockSize, bufferSize, maxUploads, memoryCacheSize, prefill, pieces }) => {
  it('for random writes, flushes and reads', async () => {
    // One metadata for all runs: slice ids never repeat, so runs never share an object.
    const meta = new MemorySliceMeta();
    let inode = 0;
    const model = Buffer.alloc(MODEL_SIZE);
    let pieceReads = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 24 }), async (ops) => {
        inode++;
        model.fill(0);
        // A store per run, so a failed run leaves nothing behind for the next one.
        const store = createChunkStore(fx.objects, { blockSize, bufferSize, maxUploads, memoryCacheSize });
        let length = 0;
        const writer = store.openWriter(inode, meta);
        let pending: { offset: number; data: Buffer }[] = [];
        let inFlight: Promise<unknown>[] = [];
        const flush = async (): Promise<void> => {
          inFlight.push(writer.flush());
          await Promise.all(inFlight);
          inFlight = [];
          for (const w of pending) {
            w.data.copy(model, w.offset);
            length = Math.max(length, w.offset + w.data.length);
          }
          pending = [];
          expect(meta.length(inode)).toBe(length);
          expect(writer.dirty).toBe(false);
        };
        const check = async (offset: number, len: number): Promise<void> => {
          const target = Buffer.alloc(len, 0xee);
          const n = await store.read(inode, offset, target, meta.length(inode), meta);
          const expectN = Math.max(0, Math.min(len, length - offset));
          expect(n).toBe(expectN);
          const want = Buffer.alloc(len);
          model.copy(want, 0, Math.min(offset, MODEL_SIZE), Math.min(offset + expectN, MODEL_SIZE));
          // Compare as a whole first (fast), then report the first differing byte.
          if (!target.equals(want)) {
            const at = target.findIndex((b, i) => b !== want[i]);
            expect.fail(`read(${offset}, ${len}) differs at byte ${at} (file offset ${offset + at}): got ${target[at]}, want ${want[at]}`);
          }
          const viewed = await store.readView(inode, offset, len, meta.length(inode), meta, (bytes) => Buffer.from(bytes));
          expect(viewed.equals(want.subarray(0, expectN)), `readView(${offset}, ${len})`).toBe(true);
        };
        const all: Op[] = prefill ? [{ kind: 'write', offset: 0, length: prefill, seed: inode }, { kind: 'flush' }, ...ops] : ops;
        for (const op of all) {
          if (op.kind === 'write') {
            const data = Buffer.alloc(op.length);
            fillPattern(data, op.seed);
            pending.push({ offset: op.offset, data });
            // Writes are not awaited one by one: the writer must keep them in order itself.
            inFlight.push(writer.write(op.offset, data));
            expect(writer.dirty).toBe(true);
          } else if (op.kind === 'flush') {
            await flush();
          } else {
            await Promise.all(inFlight);
            inFlight = [];
            await check(op.offset, op.length);
          }
        }
        await flush();
        await writer.close();
        await check(0, 900 * KiB);
        await check(CHUNK - 512 * KiB, MiB);
        expect(store.stats().bufferedBytes).toBe(0);
        expect(store.stats().peakBufferedBytes).toBeLessThanOrEqual(bufferSize);
        expect(store.stats().checksumErrors).toBe(0);
        pieceReads += store.stats().pieceReads;
        await store.close();
      }),
      { numRuns: 80 },
    );
    if (pieces) expect(pieceReads).toBeGreaterThan(0);
  });
});

describe('sparse files', () => {
  it('read zeros in holes, between slices and past the last write', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: MiB });
    const meta = new MemorySliceMeta(10_000);
    const w = store.openWriter(1, meta);
    const a = Buffer.alloc(100 * KiB, 0xaa);
    const b = Buffer.alloc(10 * KiB, 0xbb);
    await w.write(3 * MiB, a);
    await w.write(CHUNK + 5 * MiB, b);
    await w.close();
    meta.setLength(1, 2 * CHUNK); // a truncate that extended the file
    const length = meta.length(1);

    const head = Buffer.alloc(3 * MiB, 0xee);
    expect(await store.read(1, 0, head, length, meta)).toBe(3 * MiB);
    expect(head.every((x) => x === 0)).toBe(true);

    const mid = Buffer.alloc(200 * KiB, 0xee);
    expect(await store.read(1, 3 * MiB - 50 * KiB, mid, length, meta)).toBe(200 * KiB);
    expect(mid.subarray(0, 50 * KiB).every((x) => x === 0)).toBe(true);
    expect(mid.subarray(50 * KiB, 150 * KiB).equals(a)).toBe(true);
    expect(mid.subarray(150 * KiB).every((x) => x === 0)).toBe(true);

    // An empty chunk in between and the tail after the last write read as zeros.
    const tail = Buffer.alloc(MiB, 0xee);
    expect(await store.read(1, 2 * CHUNK - MiB, tail, length, meta)).toBe(MiB);
    expect(tail.every((x) => x === 0)).toBe(true);

    // Past the end: nothing is returned and the buffer reads as zeros.
    const past = Buffer.alloc(KiB, 0xee);
    expect(await store.read(1, 2 * CHUNK - 10, past, length, meta)).toBe(10);
    expect(past.every((x) => x === 0)).toBe(true);
    expect(await store.read(1, 3 * CHUNK, past, length, meta)).toBe(0);
    // Holes cost no object reads.
    expect(store.stats().blocksRead).toBe(2);
    await store.close();
  });

  it('reads an id-0 slice as zeros over older data', async () => {
    const store = createChunkStore(fx.objects, { blockSize: BS, bufferSize: MiB });
    const meta = new MemorySliceMeta(20_000);
    const w = store.openWriter(1, meta);
    await w.write(0, Buffer.alloc(200 * KiB, 0x11));
    await w.close();
    // What a truncate-then-extend records: zeros over [50 KiB, 150 KiB).
    await meta.commitSlice(1, 0, { id: 0, size: 100 * KiB, pos: 50 * KiB, off: 0, len: 100 * KiB }, 200 * KiB);
    const got = Buffer.alloc(200 * KiB, 0xee);
    expect(await store.read(1, 0, got, meta.length(1), meta)).toBe(200 * KiB);
    const want = Buffer.alloc(200 * KiB, 0x11).fill(0, 50 * KiB, 150 * KiB);
    expect(got.equals(want)).toBe(true);
    await store.close();
  });
});
