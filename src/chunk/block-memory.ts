// Recently read blocks, whole and verified, kept in WASM memory (where they were read and
// checksummed) so that small reads — which need a whole block to be verified — do not fetch it
// again. Blocks are immutable, so an entry never goes stale. Concurrent reads of one block share
// one fetch. An entry is pinned while a reader copies from it: eviction frees its buffer only once
// no reader holds it.
import { LRUCache } from 'lru-cache';
import { releaseBuffer } from '../hotpath/index.js';

interface Entry {
  buf: Buffer;
  length: number;
  pins: number;
  /** Out of the cache (or never in it): freed when the last pin goes. */
  evicted: boolean;
}

interface Loading {
  promise: Promise<Entry>;
  /** Readers waiting; each holds a pin on the entry once it arrives. */
  waiters: number;
}

export interface BlockMemoryStats {
  hits: number;
  misses: number;
  bytes: number;
}

export class BlockMemory {
  readonly #lru: LRUCache<string, Entry> | null;
  readonly #loading = new Map<string, Loading>();
  #hits = 0;
  #misses = 0;

  /** `load` fetches and verifies a block into a WASM buffer (data in [0, blockLength)). */
  constructor(
    private readonly maxBytes: number,
    private readonly load: (key: string, blockLength: number) => Promise<Buffer>,
  ) {
    this.#lru = maxBytes > 0
      ? new LRUCache<string, Entry>({
        maxSize: maxBytes,
        sizeCalculation: (e) => Math.max(1, e.length),
        dispose: (e) => this.#evict(e),
      })
      : null;
  }

  /** Call `use` with the verified bytes of block `key`; `keep` says whether it is worth caching
   * (a read that consumes the whole block will not come back for it). `use` runs synchronously
   * while the block is pinned. */
  async with<T>(key: string, blockLength: number, keep: boolean, use: (data: Buffer) => T): Promise<T> {
    const hit = this.#lru?.get(key);
    if (hit) {
      this.#hits++;
      hit.pins++;
      try {
        return use(hit.buf.subarray(0, blockLength));
      } finally {
        this.#unpin(hit);
      }
    }
    let loading = this.#loading.get(key);
    if (!loading) {
      this.#misses++;
      const record: Loading = { waiters: 0, promise: null as unknown as Promise<Entry> };
      record.promise = this.load(key, blockLength).then(
        (buf) => {
          this.#loading.delete(key);
          const entry: Entry = { buf, length: blockLength, pins: record.waiters, evicted: true };
          if (keep && this.#lru && blockLength <= this.maxBytes) {
            entry.evicted = false;
            this.#lru.set(key, entry);
          }
          return entry;
        },
        (err: unknown) => {
          this.#loading.delete(key);
          throw err;
        },
      );
      this.#loading.set(key, record);
      loading = record;
    }
    loading.waiters++;
    const entry = await loading.promise;
    try {
      return use(entry.buf.subarray(0, blockLength));
    } finally {
      this.#unpin(entry);
    }
  }

  /** Whether block `key` is in memory or on its way there. */
  has(key: string): boolean {
    return this.#loading.has(key) || (this.#lru?.has(key) ?? false);
  }

  stats(): BlockMemoryStats {
    return { hits: this.#hits, misses: this.#misses, bytes: this.#lru?.calculatedSize ?? 0 };
  }

  /** Drop every cached block (buffers still pinned are freed by their last reader). */
  clear(): void {
    this.#lru?.clear();
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
