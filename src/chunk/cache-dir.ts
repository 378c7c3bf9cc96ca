// One cache directory: which blocks it holds (an LRU index rebuilt from disk at start), and the
// bounds it keeps — its share of the cache size, and a fraction of its file system left free.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { LRUCache } from 'lru-cache';

export const TEMP_PREFIX = '.tmp-';
const STALE_TEMP_MS = 10 * 60_000;
const SPACE_CHECK_MS = 1000;

export interface CacheDirCounters {
  evictions: number;
  errors: number;
}

export class CacheDir {
  /** Where this volume's block files live: `{dir}/{volume uuid}/raw/{block key}`. */
  readonly raw: string;
  readonly #index: LRUCache<string, number>;
  #lastSpaceCheck = 0;
  /** The file system is short of free space and nothing is left to evict: cache nothing. */
  #full = false;
  #spaceCheck: Promise<void> = Promise.resolve();
  #tempCounter = 0;
  readonly #tempTag = randomBytes(4).toString('hex');
  /** Resolves once the index holds what was on disk at start. */
  /** Deletions of evicted files still under way. */
  readonly #unlinking = new Set<Promise<void>>();
  readonly ready: Promise<void>;

  constructor(
    readonly dir: string,
    namespace: string,
    /** Bytes this directory may hold; -1 for no bound but free space. */
    readonly capacity: number,
    private readonly freeSpaceRatio: number,
    private readonly counters: CacheDirCounters,
  ) {
    this.raw = join(dir, namespace, 'raw');
    this.#index = new LRUCache<string, number>({
      maxSize: capacity < 0 ? Number.MAX_SAFE_INTEGER : Math.max(1, capacity),
      sizeCalculation: (size) => Math.max(1, size),
      dispose: (_size, key, reason) => {
        if (reason === 'evict') {
          this.counters.evictions++;
          const gone: Promise<void> = unlink(this.pathOf(key)).catch(() => undefined).finally(() => this.#unlinking.delete(gone));
          this.#unlinking.add(gone);
        }
      },
    });
    this.ready = this.#rebuild().catch(() => {
      this.failed();
    });
  }

  /** Errors of this directory alone (strata_blockcache_errors_total{dir}). */
  errors = 0;

  /** A disk error here: counted for the cache and for this directory. */
  failed(): void {
    this.errors++;
    this.counters.errors++;
  }

  pathOf(key: string): string {
    return join(this.raw, key);
  }

  tempPathOf(key: string): string {
    this.#tempCounter = (this.#tempCounter + 1) >>> 0;
    // Unique per instance too: two caches of one process may share a directory (a gateway's two
    // clients, a mount and the warmup it runs), and their counters start alike.
    return join(this.raw, `${key}${TEMP_PREFIX}${process.pid}-${this.#tempTag}-${this.#tempCounter}`);
  }

  get bytes(): number {
    return this.#index.calculatedSize;
  }

  get files(): number {
    return this.#index.size;
  }

  has(key: string): boolean {
    return this.#index.has(key);
  }

  /** A read found the file: it becomes the most recently used (and is learned if another process
   * wrote it). */
  touch(key: string, size: number): void {
    if (this.#index.get(key) === undefined) this.#index.set(key, size);
  }

  /** Record a file just written; the least recently used go if the bound is passed. */
  add(key: string, size: number): void {
    this.#index.set(key, size);
  }

  /** Forget and delete a file (bad, or evicted on request). */
  async drop(key: string): Promise<void> {
    this.#index.delete(key);
    await unlink(this.pathOf(key)).catch(() => undefined);
  }

  /** Forget a file that turned out to be gone (another process removed it). */
  forget(key: string): void {
    this.#index.delete(key);
  }

  /** Whether a file of `size` bytes may be written now. Checks free space at most once a second,
   * evicting the least recently used files to get back above the free-space ratio. */
  async admits(size: number): Promise<boolean> {
    if (this.capacity >= 0 && size > this.capacity) return false;
    await this.ready;
    const now = Date.now();
    if (now - this.#lastSpaceCheck >= SPACE_CHECK_MS) {
      this.#lastSpaceCheck = now;
      this.#spaceCheck = this.#keepFreeSpace();
    }
    // Writers arriving while a check runs wait for its verdict.
    await this.#spaceCheck;
    return !this.#full;
  }

  async #keepFreeSpace(): Promise<void> {
    if (this.freeSpaceRatio <= 0) {
      this.#full = false;
      return;
    }
    let fs;
    try {
      fs = await statfs(this.dir);
    } catch {
      this.failed();
      this.#full = true;
      return;
    }
    const total = fs.blocks * fs.bsize;
    const free = fs.bavail * fs.bsize;
    let missing = Math.ceil(total * this.freeSpaceRatio) - free;
    while (missing > 0) {
      const oldest = this.#index.rkeys().next();
      if (oldest.done) break;
      const size = this.#index.peek(oldest.value) ?? 0;
      this.#index.delete(oldest.value);
      this.counters.evictions++;
      await unlink(this.pathOf(oldest.value)).catch(() => undefined);
      missing -= size;
    }
    this.#full = missing > 0;
  }

  /** Learn what is on disk: oldest first so the LRU order follows last use; leftovers of
   * interrupted writes are removed. */
  async #rebuild(): Promise<void> {
    await mkdir(this.raw, { recursive: true });
    const found: { key: string; size: number; used: number }[] = [];
    const walk = async (d: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(d, { withFileTypes: true });
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.includes(TEMP_PREFIX)) {
          // Left by a crash; one still being written by another process sharing the directory is
          // recent and stays.
          const st = await stat(p).catch(() => null);
          if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) await rm(p, { force: true });
        }
        else if (e.isFile()) {
          const st = await stat(p).catch(() => null);
          if (st) found.push({ key: relative(this.raw, p).split(sep).join('/'), size: st.size, used: Math.max(st.atimeMs, st.mtimeMs) });
        }
      }
    };
    await walk(this.raw);
    found.sort((a, b) => a.used - b.used);
    // Files added by reads during the scan are more recent than anything found: keep them on top.
    const recent = [...this.#index.entries()];
    for (const f of found) if (!this.#index.has(f.key)) this.#index.set(f.key, f.size);
    for (const [k, size] of recent.reverse()) this.#index.set(k, size);
    // Ready means within bounds on disk too: a cache reopened smaller has deleted what it dropped.
    await Promise.all(this.#unlinking);
  }
}
