// The hot path's public face: plain functions over Uint8Arrays. Nothing outside src/hotpath
// touches WASM memory or the worker pool.
//
// TEMPORARY: the bodies below are placeholders while the WASM exports are written; the
// signatures are the contract the data path codes against.
import { hot } from './memory.js';

export { xxh3, keySeed, blockChecksum, pieceChecksums, crc32c, checksumBlocksOnPool, type KeyedBlock } from './checksum.js';

/** A slice placed in a chunk: chunk bytes [pos, pos+len) are bytes [off, off+len) of slice `id`,
 * whose stored data is `size` bytes long (cut into blocks of the volume's block size). id 0 = zeros. */
export interface Slice { id: number; size: number; pos: number; off: number; len: number }

/** One piece of a chunk read: `length` bytes at chunk position `pos` come from block `blockIndex`
 * (of length `blockLength`) of slice `sliceId`, starting `blockOffset` bytes into it. sliceId 0 is a hole. */
export interface ReadPiece { sliceId: number; blockIndex: number; blockLength: number; blockOffset: number; length: number; pos: number }

/** A piece of a byte range cut at multiples of `unit`: unit `index`, `offset` into it, `length` bytes,
 * taken from `srcOffset` bytes into the range. */
export interface RangePiece { index: number; offset: number; length: number; srcOffset: number }


export function splitRange(offset: number, length: number, unit: number): RangePiece[] {
  const out: RangePiece[] = [];
  let src = 0;
  while (src < length) {
    const at = offset + src;
    const index = Math.floor(at / unit);
    const inUnit = at - index * unit;
    const n = Math.min(unit - inUnit, length - src);
    out.push({ index, offset: inUnit, length: n, srcOffset: src });
    src += n;
  }
  return out;
}

/** Buffers whose bytes live in WASM memory: read into them and checksums cost no copy. */
export function allocBuffer(size: number): Buffer {
  return hot().allocBuffer(size);
}

export function releaseBuffer(buf: Uint8Array): void {
  hot().releaseBuffer(buf);
}
