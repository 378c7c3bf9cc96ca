// Recently read blocks, whole and verified, kept in WASM memory (where they were read and
// checksummed) so that small reads — which need a whole block to be verified — do not fetch it
// again. Blocks are immutable, so an entry never goes stale. Concurrent reads of one block share
// one fetch. An entry is pinned while a reader copies from it: eviction frees its buffer only once
// no reader holds it.
//
// Half of the memory is for read-ahead: blocks loaded before anyone asked wait there, out of the
// LRU, until a read uses them. In one LRU, several streams' prefetched blocks (never touched
// until used) were the least recently used entries and got evicted by each other's reads before
// their readers arrived — every such block was fetched and verified twice. Read-ahead that finds
// its half full waits until a read uses a prefetched block.
import { LRUCache } from 'lru-cache';
import { releaseBuffer } from '../hotpath/index.js';

interface Entry {
  buf: Buffer;
  length: number;
  pins: number;
  /** Bytes that reads have taken from it. */
  served: number;
  /** Out of the cache (or never in it): freed when the last pin goes. */
  evicted: boolean;
}

interface Loading {
  promise: Promise<Entry>;
  /** Readers waiting; each holds a pin on the entry once it arrives. */
  waiters: number;
  /** Started by read-ahead. */
  ahead: boolean;
}

interface AheadEntry {
  entry: Entry;
  loadedAt: number;
}

// Read-ahead requests waiting for room; older ones are dropped past this many (their reads will
// load the blocks themselves).
const MAX_WAITING_AHEAD = 256;
// A prefetched block nobody has used for this long was a wrong guess; it gives its room up.
const STALE_AHEAD_MS = 5000;

export interface BlockMemoryStats {
  hits: number;
  misses: number;
  bytes: number;
  /** Prefetched blocks a read then used, and bytes prefetched and dropped unused. */
  aheadHits: number;
  aheadWastedBytes: number;
}

export class BlockMemory {
  readonly #lru: LRUCache<string, Entry> | null;
  readonly #loading = new Map<string, Loading>();
  /** Prefetched blocks no read has used yet, oldest first. */
  readonly #ahead = new Map<string, AheadEntry>();
  readonly #waitingAhead = new Map<string, number>();
  readonly #aheadRoom: number;
  /** Bytes of read-ahead loaded or loading and not used yet. */
  #aheadBytes = 0;
  #hits = 0;
  #misses = 0;
  #aheadHits = 0;
  #aheadWasted = 0;

  /** `load` fetches and verifies a block into a WASM buffer (data in [0, blockLength)).
   * `droppedSparse` sees a block the LRU drops before reads took as many bytes as it holds: a
   * block read at random, which reads are likely to come back to. */
  constructor(
    maxBytes: number,
    private readonly load: (key: string, blockLength: number) => Promise<Buffer>,
    private readonly droppedSparse?: (key: string, data: Uint8Array) => void,
  ) {
    this.#aheadRoom = Math.floor(maxBytes / 2);
    const lruBytes = maxBytes - this.#aheadRoom;
    this.#lru = lruBytes > 0
      ? new LRUCache<string, Entry>({
        maxSize: lruBytes,
        sizeCalculation: (e) => Math.max(1, e.length),
        dispose: (e, key, reason) => {
          try {
            if (reason === 'evict' && e.served < e.length) this.droppedSparse?.(key, e.buf.subarray(0, e.length));
          } catch {
            // Sums not taken only cost a whole-block read later; the buffer must still go.
          } finally {
            this.#evict(e);
          }
        },
      })
      : null;
  }

  /** Call `use` with the verified bytes of block `key`, of which the read takes `used` bytes: one
   * that takes less than the whole block keeps it (a read that consumes it all will not come
   * back for it). `use` runs while the block is pinned; when it returns a promise the pin lasts
   * until that settles, so a caller may hand the bytes to something asynchronous (a socket)
   * without copying them. */
  async with<T>(key: string, blockLength: number, used: number, use: (data: Buffer) => T): Promise<T> {
    const keep = used < blockLength;
    const hit = this.#lru?.get(key) ?? this.#takeAhead(key, keep);
    if (hit) {
      this.#hits++;
      hit.served += used;
      hit.pins++;
      try {
        return await use(hit.buf.subarray(0, blockLength));
      } finally {
        this.#unpin(hit);
      }
    }
    let loading = this.#loading.get(key);
    if (!loading) {
      this.#misses++;
      loading = this.#startLoad(key, blockLength, keep, false);
    }
    loading.waiters++;
    const entry = await loading.promise;
    entry.served += used;
    try {
      return await use(entry.buf.subarray(0, blockLength));
    } finally {
      this.#unpin(entry);
    }
  }

  /** Load block `key` ahead of the read that will want it: now if read-ahead has room, else once
   * a read has used a prefetched block. Failures are left for that read to report. */
  prefetch(key: string, blockLength: number): void {
    if (!this.#lru || blockLength > this.#aheadRoom || this.has(key)) return;
    if (this.#aheadBytes + blockLength > this.#aheadRoom) this.#dropStale();
    if (this.#aheadBytes + blockLength > this.#aheadRoom) {
      this.#waitingAhead.delete(key);
      this.#waitingAhead.set(key, blockLength);
      if (this.#waitingAhead.size > MAX_WAITING_AHEAD) this.#waitingAhead.delete(this.#waitingAhead.keys().next().value as string);
      return;
    }
    this.#aheadBytes += blockLength;
    this.#startLoad(key, blockLength, true, true).promise.catch(() => undefined);
  }

  /** Bytes of read-ahead that may wait for their readers (half the memory). */
  get aheadRoom(): number {
    return this.#aheadRoom;
  }

  /** Whether block `key` is in memory or on its way there. */
  has(key: string): boolean {
    return this.#loading.has(key) || this.#ahead.has(key) || (this.#lru?.has(key) ?? false);
  }

  stats(): BlockMemoryStats {
    let ahead = 0;
    for (const { entry } of this.#ahead.values()) ahead += entry.length;
    return { hits: this.#hits, misses: this.#misses, bytes: (this.#lru?.calculatedSize ?? 0) + ahead, aheadHits: this.#aheadHits, aheadWastedBytes: this.#aheadWasted };
  }

  /** Drop every cached block (buffers still pinned are freed by their last reader). */
  clear(): void {
    this.#waitingAhead.clear();
    for (const key of [...this.#ahead.keys()]) this.#dropAhead(key);
    this.#lru?.clear();
  }

  #startLoad(key: string, blockLength: number, keep: boolean, ahead: boolean): Loading {
    this.#waitingAhead.delete(key);
    const record: Loading = { waiters: 0, ahead, promise: null as unknown as Promise<Entry> };
    record.promise = this.load(key, blockLength).then(
      (buf) => {
        this.#loading.delete(key);
        const entry: Entry = { buf, length: blockLength, pins: record.waiters, served: 0, evicted: true };
        if (ahead && record.waiters === 0) {
          this.#ahead.set(key, { entry, loadedAt: Date.now() });
          return entry;
        }
        // A read joined this load: the block is used already.
        if (ahead) {
          this.#aheadHits++;
          this.#releaseAhead(blockLength);
        }
        this.#keep(key, entry, keep);
        return entry;
      },
      (err: unknown) => {
        this.#loading.delete(key);
        if (ahead) this.#releaseAhead(blockLength);
        throw err;
      },
    );
    this.#loading.set(key, record);
    return record;
  }

  #keep(key: string, entry: Entry, keep: boolean): void {
    if (keep && this.#lru && entry.length <= this.#lru.maxSize) {
      entry.evicted = false;
      this.#lru.set(key, entry);
    }
  }

  /** A prefetched block a read now uses: it moves to the LRU (or is freed after this read). */
  #takeAhead(key: string, keep: boolean): Entry | undefined {
    const ahead = this.#ahead.get(key);
    if (!ahead) return undefined;
    this.#ahead.delete(key);
    this.#aheadHits++;
    this.#keep(key, ahead.entry, keep);
    this.#releaseAhead(ahead.entry.length);
    return ahead.entry;
  }

  #dropAhead(key: string): void {
    const ahead = this.#ahead.get(key);
    if (!ahead) return;
    this.#ahead.delete(key);
    this.#aheadWasted += ahead.entry.length;
    this.#evict(ahead.entry);
    this.#releaseAhead(ahead.entry.length);
  }

  #dropStale(): void {
    const now = Date.now();
    for (const [key, { loadedAt }] of this.#ahead) {
      if (now - loadedAt < STALE_AHEAD_MS) break;
      this.#dropAhead(key);
    }
  }

  /** Read-ahead room came free: start what waits for it, in the order it was asked for. */
  #releaseAhead(bytes: number): void {
    this.#aheadBytes -= bytes;
    for (const [key, length] of this.#waitingAhead) {
      if (this.#aheadBytes + length > this.#aheadRoom) break;
      this.#waitingAhead.delete(key);
      this.prefetch(key, length);
    }
  }

  #evict(e: Entry): void {
    e.evicted = true;
    if (e.pins === 0) releaseBuffer(e.buf);
  }

  #unpin(e: Entry): void {
    e.pins--;
    if (e.pins === 0 && e.evicted) releaseBuffer(e.buf);
  }
}
