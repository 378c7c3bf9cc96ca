// Compaction in the background of a client: a chunk this client committed many slices to (small
// writes each flushed, a log appended with fsync) is compacted once it holds `threshold` slices,
// so reads of it stop resolving hundreds of pieces. One chunk at a time, after the commit that
// tipped it; failures cost nothing but a later retry (`strata compact` finishes what is left).
// The price is write amplification: a chunk of D visible bytes is rewritten for every
// `threshold` commits to it, so the threshold is not small (default 100, as JuiceFS's ~99).
import type { ChunkStore, SliceMeta } from '../chunk/store.js';
import { CHUNK_SIZE } from '../chunk/store.js';
import { compactChunk, type CompactionMeta } from './compaction.js';

export const DEFAULT_COMPACT_THRESHOLD = 100;
/** Chunks whose commits are counted at once (a bound on memory; counts restart when it is hit). */
const TRACKED_CHUNKS = 4096;

export class AutoCompactor {
  readonly #commits = new Map<string, number>();
  readonly #due = new Map<string, { ino: number; index: number }>();
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(
    private readonly meta: CompactionMeta & Pick<SliceMeta, 'readChunk'>,
    private readonly store: Pick<ChunkStore, 'read' | 'storeSlice' | 'blockSize'>,
    private readonly threshold: number,
  ) {}

  /** `slice` was committed into chunk `index` of `ino`. */
  committed(ino: number, index: number): void {
    if (this.#closed || this.threshold <= 0) return;
    const key = `${ino}:${index}`;
    const n = (this.#commits.get(key) ?? 0) + 1;
    if (n < this.threshold) {
      if (this.#commits.size >= TRACKED_CHUNKS && !this.#commits.has(key)) this.#commits.clear();
      this.#commits.set(key, n);
      return;
    }
    this.#commits.delete(key);
    this.#due.set(key, { ino, index });
    this.#kick();
  }

  /** A committed slice of `size` bytes placed at file `offset` (an append): the chunks it touches. */
  appended(ino: number, offset: number, size: number): void {
    for (let c = Math.floor(offset / CHUNK_SIZE); c <= Math.floor((offset + Math.max(size, 1) - 1) / CHUNK_SIZE); c++) this.committed(ino, c);
  }

  #kick(): void {
    // A chunk that fell due while the last drain was finishing is picked up by the next one.
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
      if (!this.#closed && this.#due.size > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (!this.#closed && this.#due.size > 0) {
      const [key, { ino, index }] = this.#due.entries().next().value!;
      this.#due.delete(key);
      try {
        const slices = await this.meta.readChunk(ino, index);
        if (slices.length < this.threshold) continue;
        await compactChunk(this.meta, this.store, ino, index, slices);
      } catch {
        // Removed, truncated, a store or server hiccup: the chunk is due again after more commits.
      }
    }
  }

  /** Stop taking work and wait for the chunk at hand. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#due.clear();
    await this.#running;
  }
}
