// Checksums of the 32 KiB pieces of blocks that were verified whole and then left memory having
// been read only sparsely (random reads). The next sparse read of such a block fetches and hashes
// just the pieces it touches, not all of the block: each piece is checked against a sum taken from
// bytes that had matched the block's own stored checksum, so nothing unverified is handed out.
// Blocks are immutable, so an entry never goes stale; a key whose pieces fail to match is
// forgotten and read whole again, which tells a damaged object from a damaged piece read.
import { LRUCache } from 'lru-cache';
import { pieceChecksums } from '../hotpath/index.js';
import { PIECE_SIZE } from './cache-file.js';

// What an entry costs besides its sums: the key string, the typed array and the LRU's slots.
const ENTRY_OVERHEAD = 320;

export class PieceSums {
  readonly #lru: LRUCache<string, BigUint64Array> | null;

  /** Holds at most `maxBytes`: about 1.3 KiB per 4 MiB block. */
  constructor(maxBytes: number) {
    this.#lru = maxBytes >= ENTRY_OVERHEAD ? new LRUCache({ maxSize: maxBytes, sizeCalculation: (s, key) => s.byteLength + 2 * key.length + ENTRY_OVERHEAD }) : null;
  }

  /** Take the piece sums of block `key`, whose whole bytes `data` were verified. A block of one
   * or two pieces is not worth it: reading its pieces is reading the block. */
  remember(key: string, data: Uint8Array): void {
    if (this.#lru && data.byteLength > 2 * PIECE_SIZE && !this.#lru.has(key)) this.#lru.set(key, pieceChecksums(data, key, PIECE_SIZE));
  }

  has(key: string): boolean {
    return this.#lru?.has(key) ?? false;
  }

  /** Whether `area`, the whole pieces of block `key` from piece `first` on, holds the bytes that
   * were verified. False also when the sums are gone (evicted meanwhile). */
  matches(key: string, first: number, area: Uint8Array): boolean {
    const want = this.#lru?.get(key);
    if (!want) return false;
    const got = pieceChecksums(area, key, PIECE_SIZE);
    if (first + got.length > want.length) return false;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[first + i]) return false;
    return true;
  }

  forget(key: string): void {
    this.#lru?.delete(key);
  }
}
