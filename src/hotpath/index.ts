// The hot path's public face: plain functions over Uint8Arrays. Nothing outside src/hotpath
// touches WASM memory or the worker pool.
import { hot } from './memory.js';

export { xxh3, keySeed, blockChecksum, pieceChecksums, crc32c, checksumBlocksOnPool, DEFAULT_PIECE_SIZE, type KeyedBlock } from './checksum.js';

export { splitRange, resolveSlices, type Slice, type ReadPiece, type RangePiece } from './slices.js';
export { ReadAheadPlanner, type PlannedBlocks } from './readahead.js';

/** Buffers whose bytes live in WASM memory: read into them and checksums cost no copy. */
export function allocBuffer(size: number): Buffer {
  return hot().allocBuffer(size);
}

export function releaseBuffer(buf: Uint8Array): void {
  hot().releaseBuffer(buf);
}
export { warmUpHotPath } from './warmup.js';
