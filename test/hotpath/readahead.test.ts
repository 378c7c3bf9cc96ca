// Read-ahead decides what a reader finds already fetched: sequential readers must get a growing
// window of blocks ahead of them (each block fetched once), random readers must not pay for
// prefetches they never use, and nothing is fetched past the end of the file.
import { afterEach, describe, expect, it } from 'vitest';
import { ReadAheadPlanner, type PlannedBlocks } from '../../src/hotpath/readahead.js';
import { hot } from '../../src/hotpath/memory.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BS = 64 * KiB;
const MAX_BLOCKS = 16;

const open: ReadAheadPlanner[] = [];
function planner(blockSize = BS, maxWindowBytes = MAX_BLOCKS * blockSize): ReadAheadPlanner {
  const p = new ReadAheadPlanner(blockSize, maxWindowBytes);
  open.push(p);
  return p;
}
afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

/** Collects planned blocks, failing if any block is handed out twice. */
class Planned {
  readonly blocks = new Set<number>();
  add(runs: PlannedBlocks[]): number {
    let n = 0;
    for (const r of runs) {
      expect(r.count).toBeGreaterThan(0);
      for (let b = r.block; b < r.block + r.count; b++) {
        if (this.blocks.has(b)) expect.fail(`block ${b} planned twice`);
        this.blocks.add(b);
        n++;
      }
    }
    return n;
  }
  /** One past the highest planned block (0 if none). */
  get reach(): number {
    return this.blocks.size === 0 ? 0 : Math.max(...this.blocks) + 1;
  }
}

describe('ReadAheadPlanner', () => {
  it('grows the window 1, 2, 4, ... blocks ahead of a sequential reader up to the maximum, each block once', () => {
    const p = planner();
    const planned = new Planned();
    const fileBlocks = 200;
    const ahead: number[] = [];
    for (let k = 0; k < 100; k++) {
      planned.add(p.onRead(k * BS, BS, fileBlocks * BS));
      ahead.push(planned.reach === 0 ? 0 : planned.reach - (k + 1));
      // From the fourth read on (two reads continuing it show the stream sequential), the next
      // block is always fetched before it is read.
      if (k >= 3) expect(planned.blocks.has(k + 1)).toBe(true);
    }
    expect(ahead.slice(0, 9)).toEqual([0, 0, 0, 1, 2, 4, 8, 16, 16]);
    expect(Math.max(...ahead)).toBe(MAX_BLOCKS);
  });

  it('does not inflate the window for small reads inside one block', () => {
    const p = planner();
    const planned = new Planned();
    for (let at = 0; at < BS; at += 4 * KiB) planned.add(p.onRead(at, 4 * KiB, 100 * BS));
    expect([...planned.blocks]).toEqual([1]);
    // Entering the second block doubles the window once (not once per read).
    for (let at = BS; at < 2 * BS; at += 4 * KiB) planned.add(p.onRead(at, 4 * KiB, 100 * BS));
    expect([...planned.blocks].sort((a, b) => a - b)).toEqual([1, 2, 3]);
  });

  it('plans nothing for reads that stride far apart, or for random reads', () => {
    const strided = planner();
    const planned = new Planned();
    for (let k = 0; k < 100; k++) planned.add(strided.onRead(k * 10 * BS, 4 * KiB, 2000 * BS));
    expect(planned.blocks.size).toBe(0);

    const random = planner();
    const randomPlanned = new Planned();
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const fileSize = 1024 * MiB;
    for (let k = 0; k < 2000; k++) randomPlanned.add(random.onRead(next() % (fileSize - 4 * KiB), 4 * KiB, fileSize));
    // An occasional random read lands just after an earlier one; it may plan a block, no more.
    expect(randomPlanned.blocks.size).toBeLessThan(20);

    // Random 4 KiB reads over a file of few big blocks: each lands within a block of some
    // stream's end often, but two in a row on one stream almost never.
    const big = planner(4 * MiB, 64 * MiB);
    const bigFile = 256 * MiB;
    let blocksFetched = 0;
    for (let k = 0; k < 20_000; k++) {
      for (const run of big.onRead((next() % (bigFile / (4 * KiB))) * 4 * KiB, 4 * KiB, bigFile)) blocksFetched += run.count;
    }
    expect(blocksFetched).toBeLessThan(20);
  });

  it('follows a forward scan with gaps smaller than a block (64 KiB every 1 MiB)', () => {
    const p = planner(4 * MiB, 64 * MiB);
    const planned = new Planned();
    const fileSize = 256 * MiB;
    for (let at = 0; at < fileSize; at += MiB) planned.add(p.onRead(at, 64 * KiB, fileSize));
    // Every block after the first is fetched ahead of the scan.
    expect(planned.blocks.size).toBe(fileSize / (4 * MiB) - 1);
  });

  it('resets the window when the reader jumps elsewhere', () => {
    const p = planner();
    const planned = new Planned();
    for (let k = 0; k < 10; k++) planned.add(p.onRead(k * BS, BS, 10_000 * BS));
    expect(planned.reach - 10).toBe(MAX_BLOCKS);
    const jumped = new Planned();
    const base = 5000;
    for (let k = 0; k < 3; k++) jumped.add(p.onRead((base + k) * BS, BS, 10_000 * BS));
    expect(jumped.blocks.size).toBe(0);
    jumped.add(p.onRead((base + 3) * BS, BS, 10_000 * BS));
    expect([...jumped.blocks]).toEqual([base + 4]);
  });

  it('plans nothing for a reader going backwards', () => {
    const p = planner();
    const planned = new Planned();
    for (let k = 199; k >= 0; k--) planned.add(p.onRead(k * BS, BS, 200 * BS));
    expect(planned.blocks.size).toBe(0);
  });

  it('recognises two interleaved sequential readers', () => {
    const p = planner();
    const a = new Planned();
    const b = new Planned();
    const fileSize = 10_000 * BS;
    const bBase = 5000;
    for (let k = 0; k < 40; k++) {
      a.add(p.onRead(k * BS, BS, fileSize));
      b.add(p.onRead((bBase + k) * BS, BS, fileSize));
    }
    expect(a.reach - 40).toBe(MAX_BLOCKS);
    expect(b.reach - (bBase + 40)).toBe(MAX_BLOCKS);
    expect(Math.max(...a.blocks)).toBeLessThan(bBase);
    expect(Math.min(...b.blocks)).toBeGreaterThan(bBase);
    // Each stream's blocks were planned once and contiguously.
    expect(a.blocks.size).toBe(a.reach - 4);
    expect(b.blocks.size).toBe(b.reach - (bBase + 4));
  });

  it('keeps up to four streams and replaces the least recently used one', () => {
    const p = planner();
    const fileSize = 100_000 * BS;
    const bases = [0, 10_000, 20_000, 30_000, 40_000];
    const plannedFor = (base: number, k: number) => new Planned().add(p.onRead((base + k) * BS, BS, fileSize));
    for (const base of bases.slice(0, 4)) plannedFor(base, 0);
    // All four continue: each is recognised (followed twice, then plans its next block).
    for (const k of [1, 2]) for (const base of bases.slice(0, 4)) expect(plannedFor(base, k)).toBe(0);
    for (const base of bases.slice(0, 4)) expect(plannedFor(base, 3)).toBe(1);
    // A fifth stream evicts the least recently used (the first), the others survive.
    for (const k of [0, 1, 2]) plannedFor(bases[4]!, k);
    expect(plannedFor(bases[4]!, 3)).toBe(1);
    for (const base of bases.slice(1, 4)) expect(plannedFor(base, 4)).toBeGreaterThan(0);
    expect(plannedFor(bases[0]!, 4)).toBe(0);
  });

  it('treats kernel-style reordering of 128 KiB requests as sequential', () => {
    const p = planner();
    const planned = new Planned();
    const req = 128 * KiB;
    const requests = 200;
    const fileSize = requests * req;
    // Requests arrive in pairs swapped, and every fifth one slightly before the previous end.
    const order: number[] = [];
    for (let k = 0; k < requests; k += 2) order.push(k + 1, k);
    let furthest = 0;
    for (const [i, k] of order.entries()) {
      const back = i % 5 === 4 ? 4 * KiB : 0;
      planned.add(p.onRead(k * req - Math.min(back, k * req), req + back, fileSize));
      furthest = Math.max(furthest, (k + 1) * req);
      // The window still grows to the maximum ahead of the furthest read.
      if (i === 60) expect(planned.reach - furthest / BS).toBe(MAX_BLOCKS);
    }
    // Once the window is wider than the reordering, every later block was prefetched (earlier,
    // a request skipped ahead reads its own blocks), each once, and never past EOF.
    const fileBlocks = fileSize / BS;
    const missing: number[] = [];
    for (let b = 24; b < fileBlocks; b++) if (!planned.blocks.has(b)) missing.push(b);
    expect(missing).toEqual([]);
    expect(planned.reach).toBe(fileBlocks);
  });

  it('halves the window under memory pressure and grows it back gradually', () => {
    const p = planner();
    const planned = new Planned();
    const fileSize = 1000 * BS;
    let k = 0;
    for (; k < 20; k++) planned.add(p.onRead(k * BS, BS, fileSize));
    expect(planned.reach - k).toBe(MAX_BLOCKS);
    p.pressure();
    // With the window halved, the blocks already planned last the next reads: nothing new.
    for (let j = 0; j < MAX_BLOCKS / 4; j++, k++) expect(planned.add(p.onRead(k * BS, BS, fileSize))).toBe(0);
    expect(planned.reach - k).toBeLessThan(MAX_BLOCKS);
    // Reading on, the reach grows back to the maximum.
    for (let j = 0; j < 40; j++, k++) planned.add(p.onRead(k * BS, BS, fileSize));
    expect(planned.reach - k).toBe(MAX_BLOCKS);
    // Pressure on a stream not yet planned for: it is still planned for from its third
    // continuation, and its window grows back one block at a time.
    const young = planner();
    const youngPlanned = new Planned();
    for (let j = 0; j < 2; j++) youngPlanned.add(young.onRead(j * BS, BS, fileSize));
    young.pressure();
    expect(youngPlanned.add(young.onRead(2 * BS, BS, fileSize))).toBe(0);
    for (let j = 3; j < 6; j++) youngPlanned.add(young.onRead(j * BS, BS, fileSize));
    expect([...youngPlanned.blocks].sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8]);
    // A window of one block stays one block: the reader still gets its next block.
    const small = planner(BS, BS);
    const smallPlanned = new Planned();
    small.pressure();
    for (let k = 0; k < 4; k++) smallPlanned.add(small.onRead(k * BS, BS, fileSize));
    expect([...smallPlanned.blocks]).toEqual([4]);
  });

  it('never plans past the end of the file', () => {
    const p = planner(4 * MiB, 64 * MiB);
    const planned = new Planned();
    const fileSize = 10 * 4 * MiB + 123;
    for (let at = 0; at < fileSize + 8 * MiB; at += MiB) planned.add(p.onRead(at, MiB, fileSize));
    expect(planned.reach).toBe(11);
    expect(planner().onRead(0, BS, 0)).toEqual([]);
    const empty = planner();
    empty.onRead(0, BS, 0);
    expect(empty.onRead(BS, BS, 0)).toEqual([]);
  });

  it('reports a corrupt state (any byte scribbled over) as a RangeError', () => {
    for (const at of [0, 9, 20, 32, 40, 56, 100, 159]) {
      const p = planner();
      p.onRead(0, BS, 100 * BS);
      p.onRead(BS, BS, 100 * BS);
      const u8 = hot().u8();
      u8[p.stateAddress + at] ^= 0x10;
      expect(() => p.onRead(2 * BS, BS, 100 * BS), `byte ${at}`).toThrow(RangeError);
      expect(() => p.pressure()).toThrow(/corrupt/);
    }
  });

  it('throws when used after close, and rejects bad arguments naming them', () => {
    const p = new ReadAheadPlanner(BS, 4 * BS);
    p.close();
    expect(() => p.onRead(0, 1, 10)).toThrow(/closed/);
    expect(() => p.pressure()).toThrow(/closed/);
    p.close();

    expect(() => new ReadAheadPlanner(100_000, MiB)).toThrow(/blockSize/);
    expect(() => new ReadAheadPlanner(32 * KiB, MiB)).toThrow(/blockSize/);
    expect(() => new ReadAheadPlanner(BS, BS - 1)).toThrow(/maxWindowBytes/);
    const q = planner();
    expect(() => q.onRead(-1, 1, 10)).toThrow(/offset/);
    expect(() => q.onRead(0, 1.5, 10)).toThrow(/length/);
    expect(() => q.onRead(0, 1, Number.NaN)).toThrow(/fileSize/);
    expect(() => q.onRead('0' as unknown as number, 1, 10)).toThrow(TypeError);
    // Rejected calls changed nothing: q plans exactly like a planner that never saw them.
    const clean = planner();
    for (let k = 0; k < 10; k++) {
      expect(() => q.onRead(k * BS, -1, 100 * BS)).toThrow(/length/);
      expect(q.onRead(k * BS, BS, 100 * BS)).toEqual(clean.onRead(k * BS, BS, 100 * BS));
    }
  });
});
