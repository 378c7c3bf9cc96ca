// Object names of stored blocks, fixed by the data layout (ARCHITECTURE.md): mirrors, caches and
// gc find blocks by these names, so they are built and parsed in this one place.
import { CHUNK_SIZE } from './store.js';

/** Where a block lies: block `blockIndex` (of `blockLength` bytes) of slice `sliceId`. */
export interface BlockName {
  sliceId: number;
  blockIndex: number;
  blockLength: number;
}

// A slice lies inside one chunk, so it never holds more than a chunk's bytes.
export const MAX_SLICE_SIZE = CHUNK_SIZE;

function checkInt(name: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
}

export function checkSliceId(id: unknown, name = 'id'): asserts id is number {
  checkInt(name, id, 1, Number.MAX_SAFE_INTEGER);
}

export function checkSliceSize(size: unknown, name = 'size'): asserts size is number {
  checkInt(name, size, 0, MAX_SLICE_SIZE);
}

/** `chunks/{floor(id/1e6)}/{floor(id/1e3)}/{id}_{blockIndex}_{blockLength}` (relative to the volume). */
export function blockKey(sliceId: number, blockIndex: number, blockLength: number): string {
  return `chunks/${Math.floor(sliceId / 1e6)}/${Math.floor(sliceId / 1e3)}/${sliceId}_${blockIndex}_${blockLength}`;
}

const KEY_PATTERN = /(?:^|\/)chunks\/(\d+)\/(\d+)\/(\d+)_(\d+)_(\d+)$/;

/** The block a key names (with or without a volume prefix), or null if it is not a block key
 * or its directories disagree with its id. */
export function parseBlockKey(key: string): BlockName | null {
  if (typeof key !== 'string') throw new TypeError(`key must be a string, got ${key === null ? 'null' : typeof key}`);
  const m = KEY_PATTERN.exec(key);
  if (!m) return null;
  const [dir1, dir2, id, index, length] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (![dir1, dir2, id, index, length].every(Number.isSafeInteger) || id === 0) return null;
  if (Math.floor(id / 1e6) !== dir1 || Math.floor(id / 1e3) !== dir2) return null;
  // Canonical spelling only (no leading zeros), so every block has exactly one name.
  if (blockKey(id, index, length) !== key.slice(key.length - m[0].length + (m[0].startsWith('/') ? 1 : 0))) return null;
  return { sliceId: id, blockIndex: index, blockLength: length };
}

/** Number of blocks a slice of `size` bytes is stored as. */
export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

/** Length of block `index` of a slice of `size` bytes: full blocks, the last one at its real length. */
export function blockLengthAt(size: number, index: number, blockSize: number): number {
  return Math.min(blockSize, size - index * blockSize);
}

/** The keys of every block of slice `id` (`size` bytes long), in block order. */
export function sliceBlockKeys(id: number, size: number, blockSize: number): string[] {
  checkSliceId(id);
  checkSliceSize(size);
  const keys: string[] = [];
  for (let i = 0, n = blockCount(size, blockSize); i < n; i++) keys.push(blockKey(id, i, blockLengthAt(size, i, blockSize)));
  return keys;
}
