// Block and cache-file checksums (XXH3-64) and CRC32C over Uint8Arrays, computed by the WASM hot
// path. Bytes that already live in WASM memory (hot().allocBuffer) are hashed where they lie;
// anything else is copied once into a reusable staging area.
import { hot, type WasmMemory } from './memory.js';
import { poolMemory, runOnPool } from './pool.js';
import { SCRATCH_ARG, type PoolCall } from './instance.js';

const U64_LIMIT = 1n << 64n;
const U32_MAX = 0xffff_ffff;
export const DEFAULT_PIECE_SIZE = 32 * 1024;
// Staging areas up to this size are kept for the next call; bigger inputs get a one-off area.
const KEEP_STAGING = 16 * 1024 * 1024 + 64 * 1024;

/** A reusable WASM allocation that grows to the largest size asked for (up to KEEP_STAGING). */
class Staging {
  private addr = -1;
  private size = 0;

  /** Runs `use` with the address of at least `size` writable bytes of WASM memory. */
  with<T>(mem: WasmMemory, size: number, use: (addr: number) => T): T {
    if (size > KEEP_STAGING) {
      const addr = mem.alloc(size);
      try {
        return use(addr);
      } finally {
        mem.release(addr);
      }
    }
    if (size > this.size || this.addr < 0) {
      if (this.addr >= 0) mem.release(this.addr);
      this.addr = -1;
      this.size = 0;
      // The allocator hands out power-of-two classes anyway: take the whole class.
      const want = 2 ** Math.ceil(Math.log2(Math.max(size, 4096)));
      this.addr = mem.alloc(want);
      this.size = want;
    }
    return use(this.addr);
  }
}

const input = new Staging();
const output = new Staging();
const encoder = new TextEncoder();

function checkData(data: unknown, name = 'data'): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(data)}`);
}

function checkSeed(seed: unknown): asserts seed is bigint {
  if (typeof seed !== 'bigint') throw new TypeError(`seed must be a bigint, got ${describe(seed)}`);
  if (seed < 0n || seed >= U64_LIMIT) throw new RangeError(`seed must be an unsigned 64-bit integer, got ${seed}`);
}

function checkKey(key: unknown, name = 'key'): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`${name} must be a string, got ${describe(key)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** Runs `use` with the WASM address of `data`'s bytes: in place if they live there, else a copy. */
function withBytes<T>(mem: WasmMemory, data: Uint8Array, use: (addr: number) => T): T {
  if (mem.owns(data)) return use(data.byteOffset);
  return input.with(mem, data.byteLength, (addr) => {
    mem.u8().set(data, addr);
    return use(addr);
  });
}

function hashAt(mem: WasmMemory, addr: number, len: number, seed: bigint): bigint {
  return BigInt.asUintN(64, mem.exports.xxh3_64(addr, len, seed, mem.scratch) as bigint);
}

/** XXH3-64 of `data` with `seed` (an unsigned 64-bit bigint, default 0). */
export function xxh3(data: Uint8Array, seed: bigint = 0n): bigint {
  checkData(data);
  checkSeed(seed);
  const mem = hot();
  return withBytes(mem, data, (addr) => hashAt(mem, addr, data.byteLength, seed));
}

/** The seed a block's checksum is keyed with: XXH3-64 (seed 0) of its UTF-8 object key, so a
 * block stored under the wrong name fails verification. */
export function keySeed(key: string): bigint {
  checkKey(key);
  const mem = hot();
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes (lone surrogates become U+FFFD).
  return input.with(mem, key.length * 3, (addr) => {
    const { written } = encoder.encodeInto(key, mem.u8().subarray(addr, addr + key.length * 3));
    return hashAt(mem, addr, written, 0n);
  });
}

/** The checksum a stored block carries: XXH3-64 of its bytes, seeded with keySeed(key). */
export function blockChecksum(data: Uint8Array, key: string): bigint {
  checkData(data);
  return xxh3(data, keySeed(key));
}

/** XXH3-64 (seeded with keySeed(key)) of every `pieceSize`-byte piece of `data`, the last one
 * possibly shorter: a cache file's checksums, so a partial read can be verified piece by piece. */
export function pieceChecksums(data: Uint8Array, key: string, pieceSize = DEFAULT_PIECE_SIZE): BigUint64Array {
  checkData(data);
  checkKey(key);
  if (typeof pieceSize !== 'number') throw new TypeError(`pieceSize must be a number, got ${describe(pieceSize)}`);
  if (!Number.isInteger(pieceSize) || pieceSize <= 0 || pieceSize > U32_MAX) {
    throw new RangeError(`pieceSize must be a positive integer below 2^32, got ${pieceSize}`);
  }
  const seed = keySeed(key);
  const mem = hot();
  const count = Math.ceil(data.byteLength / pieceSize);
  if (count === 0) return new BigUint64Array(0);
  return output.with(mem, count * 8, (out) =>
    withBytes(mem, data, (addr) => {
      const n = (mem.exports.xxh3_64_pieces(addr, data.byteLength, pieceSize, seed, out, mem.scratch) as number) >>> 0;
      return new BigUint64Array(mem.memory.buffer, out, n).slice();
    }),
  );
}

/** CRC32C (Castagnoli) of `data`, continuing from `initial` (the CRC of the bytes before it). */
export function crc32c(data: Uint8Array, initial = 0): number {
  checkData(data);
  if (typeof initial !== 'number') throw new TypeError(`initial must be a number, got ${describe(initial)}`);
  if (!Number.isInteger(initial) || initial < 0 || initial > U32_MAX) {
    throw new RangeError(`initial must be an unsigned 32-bit integer, got ${initial}`);
  }
  const mem = hot();
  return withBytes(mem, data, (addr) => (mem.exports.crc32c(addr, data.byteLength, initial) as number) >>> 0);
}

export interface KeyedBlock {
  data: Uint8Array;
  key: string;
}

/** blockChecksum of every block, computed by one pool worker in a single task. Blocks outside
 * the pool's shared memory are copied in once; blocks inside must not change until the promise
 * settles. */
export async function checksumBlocksOnPool(blocks: KeyedBlock[]): Promise<bigint[]> {
  if (!Array.isArray(blocks)) throw new TypeError(`blocks must be an array, got ${describe(blocks)}`);
  blocks.forEach((b, i) => {
    if (typeof b !== 'object' || b === null) throw new TypeError(`blocks[${i}] must be an object, got ${describe(b)}`);
    checkData(b.data, `blocks[${i}].data`);
    checkKey(b.key, `blocks[${i}].key`);
  });
  if (blocks.length === 0) return [];
  const mem = poolMemory();
  const seeds = blocks.map((b) => keySeed(b.key));
  const copies: number[] = [];
  try {
    const calls: PoolCall[] = blocks.map((b, i) => {
      let addr = b.data.byteOffset;
      if (!mem.owns(b.data)) {
        addr = mem.alloc(b.data.byteLength);
        copies.push(addr);
        mem.u8().set(b.data, addr);
      }
      return ['xxh3_64', addr, b.data.byteLength, seeds[i], SCRATCH_ARG];
    });
    const results = await runOnPool(calls);
    return results.map((r) => BigInt.asUintN(64, r as bigint));
  } finally {
    for (const addr of copies) mem.release(addr);
  }
}
