// Read-ahead planning for one open file, decided by the WASM hot path (assembly/readahead.ts)
// over a state area in WASM memory. Record layouts are documented there; a planned range is
// 16 bytes: start block u64, count u32, pad u32.
import { hot } from './memory.js';
import { checkBlockSize } from './slices.js';

/** A run of blocks to prefetch: blocks [block, block + count). */
export interface PlannedBlocks { block: number; count: number }

const TWO32 = 2 ** 32;
const U32_MAX = 0xffff_ffff;
const MAX_WINDOW_BLOCKS = 1 << 20;
const OUT_OFFSET = 192; // after the state area (raStateSize() = 160), 64-byte aligned
const OUT_CAP = 4;
const AREA_SIZE = OUT_OFFSET + OUT_CAP * 16;

// Codes returned by assembly/readahead.ts.
const ERR_STATE = -6;

// A planner dropped without close() still gives its state area back.
const areas = new FinalizationRegistry<number>((addr) => hot().release(addr));

function checkInteger(name: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  }
}

/**
 * Tracks up to four sequential read streams of one open file and says which blocks to fetch
 * ahead: the window starts at one block, doubles as a stream moves on, halves under memory
 * pressure, and a block is handed out at most once per stream.
 */
export class ReadAheadPlanner {
  readonly blockSize: number;
  readonly maxWindowBlocks: number;
  private addr: number;

  constructor(blockSize: number, maxWindowBytes: number) {
    checkBlockSize(blockSize);
    checkInteger('maxWindowBytes', maxWindowBytes, blockSize, MAX_WINDOW_BLOCKS * blockSize);
    this.blockSize = blockSize;
    this.maxWindowBlocks = Math.floor(maxWindowBytes / blockSize);
    const mem = hot();
    if ((mem.exports.raStateSize() as number) > OUT_OFFSET) throw new Error('strata: hot path read-ahead state outgrew its area');
    this.addr = mem.alloc(AREA_SIZE);
    mem.exports.raInit(this.addr, blockSize, this.maxWindowBlocks);
    areas.register(this, this.addr, this);
  }

  /** Records a read of [offset, offset+length) of a file of `fileSize` bytes; returns the
   * block runs to prefetch now (never past the end of the file, never a block planned before). */
  onRead(offset: number, length: number, fileSize: number): PlannedBlocks[] {
    const mem = this.open();
    checkInteger('offset', offset, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('length', length, 0, U32_MAX);
    checkInteger('fileSize', fileSize, 0, Number.MAX_SAFE_INTEGER);
    if (offset + length > Number.MAX_SAFE_INTEGER) throw new RangeError(`offset + length must not exceed ${Number.MAX_SAFE_INTEGER}`);
    const out = this.addr + OUT_OFFSET;
    const got = mem.exports.raOnRead(this.addr, BigInt(offset), length, BigInt(fileSize), out, OUT_CAP) as number;
    if (got < 0) throw this.failure(got);
    if (got === 0) return [];
    const u32 = new Uint32Array(mem.u8().buffer, out, got * 4);
    const runs = new Array<PlannedBlocks>(got);
    for (let i = 0, w = 0; i < got; i++, w += 4) runs[i] = { block: u32[w]! + u32[w + 1]! * TWO32, count: u32[w + 2]! };
    return runs;
  }

  /** Memory is short: halve every stream's window; it then grows back one block at a time. */
  pressure(): void {
    const mem = this.open();
    const got = mem.exports.raPressure(this.addr) as number;
    if (got < 0) throw this.failure(got);
  }

  /** Releases the state area; the planner cannot be used afterwards. Closing twice is harmless. */
  close(): void {
    if (this.addr < 0) return;
    areas.unregister(this);
    hot().release(this.addr);
    this.addr = -1;
  }

  /** Address of the state area in WASM memory (diagnostics and tests); -1 once closed. */
  get stateAddress(): number {
    return this.addr;
  }

  private open(): ReturnType<typeof hot> {
    if (this.addr < 0) throw new Error('ReadAheadPlanner is closed');
    return hot();
  }

  private failure(code: number): Error {
    if (code === ERR_STATE) return new RangeError('ReadAheadPlanner state is corrupt (its WASM memory was overwritten)');
    return new Error(`strata: hot path read-ahead failed with code ${code}`);
  }
}
