// Slice geometry on the WASM hot path: cutting byte ranges at unit boundaries (file -> chunks,
// slice -> blocks) and resolving a chunk's overlapping slices into the block pieces to read.
//
// Records in WASM memory (little-endian, u64 written as two u32 halves):
//   range piece (32 bytes): index u64, offset u64, length u64, srcOffset u64
//   slice       (24 bytes): id u64, size u32, pos u32, off u32, len u32
//   read piece  (32 bytes): sliceId u64, blockIndex u32, blockLength u32, blockOffset u32,
//                           length u32, pos u32, pad u32
import { hot, type WasmMemory } from './memory.js';

/** A slice placed in a chunk: chunk bytes [pos, pos+len) are bytes [off, off+len) of slice `id`,
 * whose stored data is `size` bytes long (cut into blocks of the volume's block size). id 0 = zeros. */
export interface Slice { id: number; size: number; pos: number; off: number; len: number }

/** One piece of a chunk read: `length` bytes at chunk position `pos` come from block `blockIndex`
 * (of length `blockLength`) of slice `sliceId`, starting `blockOffset` bytes into it. sliceId 0 is a hole. */
export interface ReadPiece { sliceId: number; blockIndex: number; blockLength: number; blockOffset: number; length: number; pos: number }

/** A piece of a byte range cut at multiples of `unit`: unit `index`, `offset` into it, `length` bytes,
 * taken from `srcOffset` bytes into the range. */
export interface RangePiece { index: number; offset: number; length: number; srcOffset: number }

export const CHUNK_SIZE = 64 * 1024 * 1024;
export const MIN_BLOCK_SIZE = 64 * 1024;
export const MAX_BLOCK_SIZE = 16 * 1024 * 1024;

const RANGE_BYTES = 32;
const SLICE_BYTES = 24;
const PIECE_BYTES = 32;
const TWO32 = 2 ** 32;
const U32_MAX = 0xffff_ffff;
// Beyond these the caller is confused (a read is at most one chunk; a chunk has at most
// millions of slices before compaction): refuse instead of reserving gigabytes.
const MAX_RANGE_PIECES = 1 << 22;
const MAX_SLICES = 1 << 24;
// Areas up to this size are kept for the next call; bigger ones are released after use.
const KEEP_BYTES = 1 << 20;

// Codes returned by assembly/slices.ts.
const ERR_CAP = -1;
const ERR_SCRATCH = -2;
const ERR_BLOCK_SIZE = -3;
const ERR_RANGE = -4;
const ERR_SLICE_BASE = -1000;

/** A reusable WASM allocation that grows (in allocator size classes) to the largest size asked for. */
class Area {
  addr = -1;
  size = 0;

  reserve(mem: WasmMemory, size: number): number {
    if (size > this.size) {
      this.drop(mem);
      const want = 2 ** Math.ceil(Math.log2(Math.max(size, 4096)));
      this.addr = mem.alloc(want);
      this.size = want;
    }
    return this.addr;
  }

  /** Gives oversized areas back so one huge call does not pin memory forever. */
  trim(mem: WasmMemory): void {
    if (this.size > KEEP_BYTES) this.drop(mem);
  }

  private drop(mem: WasmMemory): void {
    if (this.addr >= 0) mem.release(this.addr);
    this.addr = -1;
    this.size = 0;
  }
}

const rangeOut = new Area();
const sliceIn = new Area();
const pieceOut = new Area();
const scratch = new Area();

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function checkInteger(name: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  }
}

export function checkBlockSize(blockSize: unknown, name = 'blockSize'): asserts blockSize is number {
  checkInteger(name, blockSize, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE);
  if ((blockSize & (blockSize - 1)) !== 0) {
    throw new RangeError(`${name} must be a power of two in 64 KiB..16 MiB, got ${blockSize}`);
  }
}

function u32Pair(u32: Uint32Array, at: number): number {
  return u32[at]! + u32[at + 1]! * TWO32;
}

/** Cuts [offset, offset+length) at multiples of `unit`: file -> chunks (unit 64 MiB), slice -> blocks. */
export function splitRange(offset: number, length: number, unit: number): RangePiece[] {
  checkInteger('offset', offset, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('length', length, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('unit', unit, 1, Number.MAX_SAFE_INTEGER);
  if (offset + length > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`offset + length must not exceed ${Number.MAX_SAFE_INTEGER}, got ${offset} + ${length}`);
  }
  if (length === 0) return [];
  const count = Math.floor((offset + length - 1) / unit) - Math.floor(offset / unit) + 1;
  if (count > MAX_RANGE_PIECES) {
    throw new RangeError(`length ${length} cut by unit ${unit} would give ${count} pieces (at most ${MAX_RANGE_PIECES})`);
  }
  const mem = hot();
  try {
    const out = rangeOut.reserve(mem, count * RANGE_BYTES);
    const got = mem.exports.splitRange(BigInt(offset), BigInt(length), BigInt(unit), out, count) as number;
    if (got < 0) throw new Error(`strata: hot path splitRange failed with code ${got}`);
    const u32 = new Uint32Array(mem.u8().buffer, out, got * (RANGE_BYTES / 4));
    const pieces = new Array<RangePiece>(got);
    for (let i = 0, w = 0; i < got; i++, w += 8) {
      pieces[i] = { index: u32Pair(u32, w), offset: u32Pair(u32, w + 2), length: u32Pair(u32, w + 4), srcOffset: u32Pair(u32, w + 6) };
    }
    return pieces;
  } finally {
    rangeOut.trim(mem);
  }
}

function isUint(v: unknown, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

function checkSlice(s: unknown, i: number): asserts s is Slice {
  if (typeof s !== 'object' || s === null) throw new TypeError(`slices[${i}] must be a slice object, got ${describe(s)}`);
  const r = s as Record<string, unknown>;
  // The common case stays cheap: names are only built for the error.
  if (isUint(r.id, Number.MAX_SAFE_INTEGER) && isUint(r.size, U32_MAX) && isUint(r.pos, CHUNK_SIZE) &&
    isUint(r.off, U32_MAX) && isUint(r.len, CHUNK_SIZE)) return;
  checkInteger(`slices[${i}].id`, r.id, 0, Number.MAX_SAFE_INTEGER);
  checkInteger(`slices[${i}].size`, r.size, 0, U32_MAX);
  checkInteger(`slices[${i}].pos`, r.pos, 0, CHUNK_SIZE);
  checkInteger(`slices[${i}].off`, r.off, 0, U32_MAX);
  checkInteger(`slices[${i}].len`, r.len, 0, CHUNK_SIZE);
}

function sliceError(slices: Slice[], i: number): RangeError {
  const s = slices[i]!;
  if (s.off + s.len > s.size) {
    return new RangeError(`slices[${i}]: off + len (${s.off} + ${s.len}) exceeds the slice size ${s.size}`);
  }
  return new RangeError(`slices[${i}]: pos + len (${s.pos} + ${s.len}) runs past the 64 MiB chunk`);
}

/**
 * Resolves a chunk's slices (append order, newest last; newest wins where they overlap) for
 * chunk bytes [start, start+length) into the ordered pieces to read, each within one block.
 * Holes and id-0 slices come out as sliceId 0, adjacent holes merged.
 */
export function resolveSlices(slices: Slice[], start: number, length: number, blockSize: number): ReadPiece[] {
  if (!Array.isArray(slices)) throw new TypeError(`slices must be an array, got ${describe(slices)}`);
  if (slices.length > MAX_SLICES) throw new RangeError(`slices holds ${slices.length} records (at most ${MAX_SLICES})`);
  checkInteger('start', start, 0, CHUNK_SIZE);
  checkInteger('length', length, 0, CHUNK_SIZE);
  if (start + length > CHUNK_SIZE) {
    throw new RangeError(`start + length must stay within the 64 MiB chunk, got ${start} + ${length}`);
  }
  checkBlockSize(blockSize);
  const n = slices.length;
  for (let i = 0; i < n; i++) checkSlice(slices[i], i);
  if (length === 0) return [];

  const mem = hot();
  const ex = mem.exports;
  try {
    const input = sliceIn.reserve(mem, n * SLICE_BYTES);
    const scratchLen = ex.resolveScratchSize(n) as number;
    const work = scratch.reserve(mem, scratchLen);
    let u32 = new Uint32Array(mem.u8().buffer);
    for (let i = 0, w = input >>> 2; i < n; i++, w += 6) {
      const s = slices[i]!;
      u32[w] = s.id >>> 0;
      u32[w + 1] = Math.floor(s.id / TWO32);
      u32[w + 2] = s.size;
      u32[w + 3] = s.pos;
      u32[w + 4] = s.off;
      u32[w + 5] = s.len;
    }
    // Most reads resolve to a few pieces; a miss costs one retry at a capacity that always fits:
    // at most 2n+1 runs, each cut at most once more per block boundary in the range.
    let cap = Math.max(64, pieceOut.size / PIECE_BYTES);
    let got: number;
    for (;;) {
      const out = pieceOut.reserve(mem, cap * PIECE_BYTES);
      got = ex.resolveSlices(input, n, start, length, blockSize, out, cap, work, scratch.size) as number;
      if (got !== ERR_CAP) break;
      const bound = 2 * (2 * n + 1) + Math.ceil(length / blockSize) + 1;
      if (cap >= bound) throw new Error(`strata: hot path resolveSlices needs more than ${bound} pieces`);
      cap = Math.max(cap * 2, bound);
    }
    if (got <= ERR_SLICE_BASE) throw sliceError(slices, ERR_SLICE_BASE - got);
    if (got === ERR_BLOCK_SIZE) throw new RangeError(`blockSize ${blockSize} is not supported by the hot path`);
    if (got === ERR_RANGE) throw new RangeError(`start + length runs past the chunk: ${start} + ${length}`);
    if (got === ERR_SCRATCH || got < 0) throw new Error(`strata: hot path resolveSlices failed with code ${got}`);
    u32 = new Uint32Array(mem.u8().buffer, pieceOut.addr, got * (PIECE_BYTES / 4));
    const pieces = new Array<ReadPiece>(got);
    for (let i = 0, w = 0; i < got; i++, w += 8) {
      pieces[i] = {
        sliceId: u32Pair(u32, w),
        blockIndex: u32[w + 2]!,
        blockLength: u32[w + 3]!,
        blockOffset: u32[w + 4]!,
        length: u32[w + 5]!,
        pos: u32[w + 6]!,
      };
    }
    return pieces;
  } finally {
    sliceIn.trim(mem);
    pieceOut.trim(mem);
    scratch.trim(mem);
  }
}
