// Slice resolution decides which stored bytes a read returns: a wrong piece is silently wrong
// file data. It is checked byte by byte against a naive model that paints every slice into a
// per-byte array in append order (newest wins because it paints last).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { resolveSlices, splitRange, type ReadPiece, type Slice } from '../../src/hotpath/slices.js';
import { ReadAheadPlanner } from '../../src/hotpath/readahead.js';
import { hot } from '../../src/hotpath/memory.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 64 * MiB;

/** Which slice (index into `slices`) each byte of [start, start+length) comes from; -1 = hole. */
function paint(slices: Slice[], start: number, length: number): Int32Array {
  const winner = new Int32Array(length).fill(-1);
  slices.forEach((s, i) => {
    const a = Math.max(s.pos, start);
    const b = Math.min(s.pos + s.len, start + length);
    if (a < b) winner.fill(i, a - start, b - start);
  });
  return winner;
}

/** Returns a description of the first disagreement with the model, or null. */
function checkAgainstModel(slices: Slice[], start: number, length: number, bs: number, pieces: ReadPiece[]): string | null {
  const sizeOf = new Map<number, number>();
  for (const s of slices) if (s.id !== 0) sizeOf.set(s.id, s.size);
  const winner = paint(slices, start, length);
  let at = start;
  let prev: ReadPiece | undefined;
  for (const [k, p] of pieces.entries()) {
    if (p.pos !== at) return `piece ${k} starts at ${p.pos}, expected ${at} (ordered, no gap, no overlap)`;
    if (!(p.length > 0)) return `piece ${k} is empty`;
    at += p.length;
    if (p.sliceId === 0) {
      if (prev?.sliceId === 0) return `piece ${k}: adjacent holes not merged`;
      if (p.blockIndex !== 0 || p.blockLength !== 0 || p.blockOffset !== 0) return `piece ${k}: a hole with block fields set`;
    } else {
      const size = sizeOf.get(p.sliceId);
      if (size === undefined) return `piece ${k}: unknown slice id ${p.sliceId}`;
      const blockLength = Math.min(bs, size - p.blockIndex * bs);
      if (p.blockLength !== blockLength) return `piece ${k}: blockLength ${p.blockLength}, expected ${blockLength}`;
      if (p.blockOffset + p.length > p.blockLength) return `piece ${k} crosses the end of block ${p.blockIndex}`;
    }
    for (let b = p.pos; b < p.pos + p.length; b++) {
      const w = winner[b - start]!;
      const s = w < 0 ? undefined : slices[w]!;
      if (s === undefined || s.id === 0) {
        if (p.sliceId !== 0) return `byte ${b}: expected a hole, piece ${k} reads slice ${p.sliceId}`;
        continue;
      }
      const want = s.off + (b - s.pos);
      const got = p.blockIndex * bs + p.blockOffset + (b - p.pos);
      if (p.sliceId !== s.id || got !== want) {
        return `byte ${b}: expected slice ${s.id} offset ${want}, piece ${k} gives slice ${p.sliceId} offset ${got}`;
      }
    }
    prev = p;
  }
  if (at !== start + length) return `pieces end at ${at}, expected ${start + length}`;
  return null;
}

// Writes in a small region of the chunk so the per-byte model stays cheap; positions are often
// block-aligned or one byte off, where boundary mistakes hide.
const REGION = 384 * KiB;
const BS = 64 * KiB;
const position = (max: number) =>
  fc.oneof(
    fc.integer({ min: 0, max }),
    fc.integer({ min: 0, max: Math.floor(max / BS) }).chain((k) => fc.constantFrom(k * BS, Math.max(0, k * BS - 1), Math.min(max, k * BS + 1))),
  );
const writeArb = fc.record({
  kind: fc.constantFrom('new', 'new', 'new', 'zero', 'reuse'),
  pos: position(REGION),
  len: fc.oneof(fc.integer({ min: 0, max: 200 * KiB }), fc.constantFrom(1, BS, 2 * BS)),
  off: position(200 * KiB),
  extra: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100 * KiB })),
  pick: fc.nat(),
});
type Write = typeof writeArb extends fc.Arbitrary<infer T> ? T : never;

/** Turns random writes into valid placed slices: new slices, id-0 zero ranges, and placements
 * of an earlier slice's stored bytes again (same id and size, other range). */
function toSlices(writes: Write[], idBase: number): Slice[] {
  const out: Slice[] = [];
  writes.forEach((w, i) => {
    const len = Math.min(w.len, REGION - w.pos);
    const stored = out.filter((s) => s.id !== 0);
    if (w.kind === 'reuse' && stored.length > 0) {
      const from = stored[w.pick % stored.length]!;
      const off = Math.min(w.off, from.size);
      out.push({ id: from.id, size: from.size, pos: w.pos, off, len: Math.min(len, from.size - off) });
    } else {
      out.push({ id: w.kind === 'zero' ? 0 : idBase + i, size: w.off + len + w.extra, pos: w.pos, off: w.off, len });
    }
  });
  return out;
}

describe('resolveSlices', () => {
  it('reproduces the byte-array model for random writes, including zero slices and shared slices', () => {
    fc.assert(
      fc.property(
        fc.array(writeArb, { maxLength: 60 }),
        fc.constantFrom(1, 2 ** 32 - 7, 2 ** 52),
        position(REGION + BS),
        fc.integer({ min: 0, max: REGION + 2 * BS }),
        (writes, idBase, start, rawLength) => {
          const slices = toSlices(writes, idBase);
          const length = Math.min(rawLength, REGION + 2 * BS - start);
          const pieces = resolveSlices(slices, start, length, BS);
          const problem = checkAgainstModel(slices, start, length, BS, pieces);
          if (problem !== null) throw new Error(problem);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reproduces the model with thousands of overlapping slices and every block size', () => {
    fc.assert(
      fc.property(
        fc.array(writeArb, { minLength: 500, maxLength: 2000 }),
        fc.constantFrom(64 * KiB, 128 * KiB, 1 * MiB, 16 * MiB),
        (writes, bs) => {
          const slices = toSlices(writes, 1000);
          const pieces = resolveSlices(slices, 0, REGION + BS, bs);
          const problem = checkAgainstModel(slices, 0, REGION + BS, bs, pieces);
          if (problem !== null) throw new Error(problem);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('resolves a typical overwrite into block pieces', () => {
    const slices: Slice[] = [
      { id: 7, size: 3 * BS, pos: 0, off: 0, len: 3 * BS },
      { id: 9, size: 2 * BS, pos: BS / 2, off: 10, len: BS },
    ];
    expect(resolveSlices(slices, 0, 4 * BS, BS)).toEqual([
      { sliceId: 7, blockIndex: 0, blockLength: BS, blockOffset: 0, length: BS / 2, pos: 0 },
      { sliceId: 9, blockIndex: 0, blockLength: BS, blockOffset: 10, length: BS - 10, pos: BS / 2 },
      { sliceId: 9, blockIndex: 1, blockLength: BS, blockOffset: 0, length: 10, pos: BS / 2 + BS - 10 },
      { sliceId: 7, blockIndex: 1, blockLength: BS, blockOffset: BS / 2, length: BS / 2, pos: BS + BS / 2 },
      { sliceId: 7, blockIndex: 2, blockLength: BS, blockOffset: 0, length: BS, pos: 2 * BS },
      { sliceId: 0, blockIndex: 0, blockLength: 0, blockOffset: 0, length: BS, pos: 3 * BS },
    ]);
  });

  it('reads a truncated range (id 0) next to a hole as one hole, and a short last block with its length', () => {
    const slices: Slice[] = [
      { id: 3, size: BS + 100, pos: 0, off: 0, len: BS + 100 },
      { id: 0, size: 0, pos: BS, off: 0, len: 0 },
      { id: 0, size: 5000, pos: 50, off: 0, len: 5000 },
    ];
    expect(resolveSlices(slices, 0, 2 * BS, BS)).toEqual([
      { sliceId: 3, blockIndex: 0, blockLength: BS, blockOffset: 0, length: 50, pos: 0 },
      { sliceId: 0, blockIndex: 0, blockLength: 0, blockOffset: 0, length: 5000, pos: 50 },
      { sliceId: 3, blockIndex: 0, blockLength: BS, blockOffset: 5050, length: BS - 5050, pos: 5050 },
      { sliceId: 3, blockIndex: 1, blockLength: 100, blockOffset: 0, length: 100, pos: BS },
      { sliceId: 0, blockIndex: 0, blockLength: 0, blockOffset: 0, length: BS - 100, pos: BS + 100 },
    ]);
  });

  it('handles the end of the 64 MiB chunk and 16 MiB blocks', () => {
    const bs = 16 * MiB;
    const slices: Slice[] = [{ id: 2 ** 40, size: CHUNK, pos: 0, off: 0, len: CHUNK }];
    const pieces = resolveSlices(slices, CHUNK - bs - 1, bs + 1, bs);
    expect(pieces).toEqual([
      { sliceId: 2 ** 40, blockIndex: 2, blockLength: bs, blockOffset: bs - 1, length: 1, pos: CHUNK - bs - 1 },
      { sliceId: 2 ** 40, blockIndex: 3, blockLength: bs, blockOffset: 0, length: bs, pos: CHUNK - bs },
    ]);
    expect(resolveSlices(slices, CHUNK, 0, bs)).toEqual([]);
    expect(resolveSlices([], 0, CHUNK, bs)).toEqual([{ sliceId: 0, blockIndex: 0, blockLength: 0, blockOffset: 0, length: CHUNK, pos: 0 }]);
  });

  it('reads a range no slice touches as one hole, whatever earlier calls left in scratch', () => {
    const many: Slice[] = [];
    for (let i = 0; i < 3000; i++) many.push({ id: i + 1, size: 100, pos: (i * 7919) % (4 * MiB), off: 0, len: 100 });
    resolveSlices(many, 0, 4 * MiB, BS);
    const away = many.map((s) => ({ ...s, pos: s.pos + 8 * MiB }));
    expect(resolveSlices(away, 0, 4 * MiB, BS)).toEqual([{ sliceId: 0, blockIndex: 0, blockLength: 0, blockOffset: 0, length: 4 * MiB, pos: 0 }]);
  });

  it('grows its output when a read resolves to many pieces', () => {
    // 5,000 one-byte-apart slices interleaved with holes: far more pieces than the first guess.
    const slices: Slice[] = [];
    for (let i = 0; i < 5000; i++) slices.push({ id: i + 1, size: 1, pos: i * 2, off: 0, len: 1 });
    const pieces = resolveSlices(slices, 0, 10_000, BS);
    expect(pieces).toHaveLength(10_000);
    expect(checkAgainstModel(slices, 0, 10_000, BS, pieces)).toBeNull();
  });

  it('rejects bad input with an error naming the argument', () => {
    const ok: Slice[] = [{ id: 1, size: 10, pos: 0, off: 0, len: 10 }];
    expect(() => resolveSlices(ok, 0, 10, 3 * 64 * KiB)).toThrow(/blockSize/);
    expect(() => resolveSlices(ok, 0, 10, 32 * KiB)).toThrow(RangeError);
    expect(() => resolveSlices(ok, 0, 10, 32 * MiB)).toThrow(/blockSize/);
    expect(() => resolveSlices(ok, -1, 10, BS)).toThrow(/start/);
    expect(() => resolveSlices(ok, 0, 1.5, BS)).toThrow(/length/);
    expect(() => resolveSlices(ok, CHUNK - 5, 10, BS)).toThrow(/start \+ length/);
    expect(() => resolveSlices('x' as unknown as Slice[], 0, 10, BS)).toThrow(TypeError);
    expect(() => resolveSlices([null as unknown as Slice], 0, 10, BS)).toThrow(/slices\[0\]/);
    expect(() => resolveSlices([{ ...ok[0]!, id: -1 }], 0, 10, BS)).toThrow(/slices\[0\]\.id/);
    expect(() => resolveSlices([{ ...ok[0]!, pos: 0.5 }], 0, 10, BS)).toThrow(/slices\[0\]\.pos/);
    const overSize = [...ok, ...ok, { id: 2, size: 10, pos: 0, off: 5, len: 6 }];
    expect(() => resolveSlices(overSize, 0, 10, BS)).toThrow(/slices\[2\]: off \+ len/);
    const pastChunk = [{ id: 2, size: 10, pos: CHUNK - 5, off: 0, len: 6 }];
    expect(() => resolveSlices(pastChunk, 0, 10, BS)).toThrow(/slices\[0\]: pos \+ len/);
    // A rejected call leaves the hot path usable.
    expect(resolveSlices(ok, 0, 10, BS)).toHaveLength(1);
  });
});

/** Exact reference: BigInt arithmetic, one piece per step. */
function naiveSplit(offset: number, length: number, unit: number) {
  const out: { index: number; offset: number; length: number; srcOffset: number }[] = [];
  const u = BigInt(unit);
  const end = BigInt(offset) + BigInt(length);
  for (let at = BigInt(offset); at < end; ) {
    const index = at / u;
    const inUnit = at % u;
    const n = end - at < u - inUnit ? end - at : u - inUnit;
    out.push({ index: Number(index), offset: Number(inUnit), length: Number(n), srcOffset: Number(at - BigInt(offset)) });
    at += n;
  }
  return out;
}

describe('splitRange', () => {
  it('matches a naive loop for random offsets, lengths and units (up to 2^53)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(64 * KiB, 4 * MiB, CHUNK), fc.integer({ min: 1, max: 2 ** 40 })),
        fc.oneof(fc.nat({ max: 10 * CHUNK }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
        fc.integer({ min: 0, max: 40 }),
        fc.nat(),
        (unit, offset, units, extra) => {
          const length = Math.min(units * unit + (extra % unit), Number.MAX_SAFE_INTEGER - offset);
          expect(splitRange(offset, length, unit)).toEqual(naiveSplit(offset, length, unit));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('cuts a file range into chunk pieces', () => {
    expect(splitRange(CHUNK - 10, 20, CHUNK)).toEqual([
      { index: 0, offset: CHUNK - 10, length: 10, srcOffset: 0 },
      { index: 1, offset: 0, length: 10, srcOffset: 10 },
    ]);
    expect(splitRange(5, 0, CHUNK)).toEqual([]);
  });

  it('rejects bad input with an error naming the argument', () => {
    expect(() => splitRange(-1, 1, 10)).toThrow(/offset/);
    expect(() => splitRange(0, 1.5, 10)).toThrow(/length/);
    expect(() => splitRange(0, 1, 0)).toThrow(/unit/);
    expect(() => splitRange('0' as unknown as number, 1, 10)).toThrow(TypeError);
    expect(() => splitRange(Number.MAX_SAFE_INTEGER, 2, 10)).toThrow(/offset \+ length/);
    expect(() => splitRange(0, 2 ** 40, 1)).toThrow(/pieces/);
  });
});

describe('memory', () => {
  it('keeps RSS and the hot-path heap flat over 100,000 calls', () => {
    const slices: Slice[] = [];
    for (let i = 0; i < 12; i++) slices.push({ id: i + 1, size: 300 * KiB, pos: (i * 37 * KiB) % (256 * KiB), off: i * KiB, len: 100 * KiB });
    const round = (i: number) => {
      resolveSlices(slices, i % 1000, 200 * KiB, BS);
      splitRange(i, 3 * MiB, BS);
      if (i % 10 === 0) {
        const p = new ReadAheadPlanner(BS, 16 * BS);
        p.onRead(0, BS, 10 * MiB);
        p.onRead(BS, BS, 10 * MiB);
        p.close();
      }
    };
    for (let i = 0; i < 5000; i++) round(i);
    const heap0 = hot().reserved;
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 100_000; i++) round(i);
    expect(hot().reserved).toBe(heap0);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * MiB);
  });
});
