// What members send each other: a run of whole 32 KiB pieces of a block followed by the pieces'
// checksums as the sender's cache file keeps them (XXH3 seeded with the block key). The receiver
// recomputes them before it uses or keeps a byte, so a damaged copy anywhere is caught where it
// lands, whatever the sender checked.
import { blockKey, parseBlockKey } from '../chunk/keys.js';
import { PIECE_SIZE } from '../chunk/disk-cache.js';

const SUM_BYTES = 8;

/** Set on a block a member did not hold and loaded to answer: from where ('group' or 'store'). */
export const FILLED_HEADER = 'x-strata-filled';

/** Where a member found a block it was asked to hold: its cache, another member, the store. */
export type Loaded = 'cached' | 'group' | 'store';

/** The block a request path names, or null: keys are exactly the data layout's block names. */
export function blockOf(key: string): { key: string; blockLength: number } | null {
  const name = parseBlockKey(key);
  if (!name || blockKey(name.sliceId, name.blockIndex, name.blockLength) !== key) return null;
  return { key, blockLength: name.blockLength };
}

export function pieceCount(blockLength: number): number {
  return Math.ceil(blockLength / PIECE_SIZE);
}

/** Bytes of data in pieces [first, first + count) of a blockLength-byte block. */
export function dataBytes(blockLength: number, first: number, count: number): number {
  return Math.min(blockLength, (first + count) * PIECE_SIZE) - first * PIECE_SIZE;
}

/** Bytes on the wire for pieces [first, first + count). */
export function wireBytes(blockLength: number, first: number, count: number): number {
  return dataBytes(blockLength, first, count) + count * SUM_BYTES;
}

export function blockPath(key: string): string {
  return `/v1/blocks/${encodeURIComponent(key)}`;
}
