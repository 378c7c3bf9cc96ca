// The local disk cache of blocks, in front of object storage. Blocks are immutable, so a cached
// block never needs invalidation; it only has to be the right bytes, which per-piece checksums
// verify. The cache is a convenience: a failing or full cache disk never fails a read or write —
// the error is counted, the file dropped, and the block comes from the store.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { errnoError } from '../errors/errno.js';
import { CacheDir, type CacheDirCounters } from './cache-dir.js';
import { blockCacheLatency } from './metrics.js';
import { observer, type Observer } from '../metrics/registry.js';
import { CacheFileError, cacheFileSize, cacheSums, piecesMatch, readCacheFile, readCacheFileRaw, writeCacheFile, PIECE_SIZE } from './cache-file.js';

/** How cached bytes are checked before use: 'none'; 'full' (whole-block reads only, so a partial
 * read loads the whole block, unless the block was verified whole before and its piece sums are
 * still in memory: see PieceSums); 'partial' (each read checks the 32 KiB pieces it touches
 * against the sums stored with them). */
export type CacheVerify = 'none' | 'full' | 'partial';

export interface DiskCacheOptions {
  /** Cache directories; blocks are spread over them by key. */
  dirs: string[];
  /** Bytes in all (shared equally by the directories); -1 for no bound but free space. */
  size: number;
  /** Keep at least this fraction of each cache file system free (default 0.1). */
  freeSpaceRatio?: number;
  verify?: CacheVerify;
  /** Also cache full blocks just uploaded (by default only partial blocks written are cached). */
  cacheLargeWrite?: boolean;
  /** Cache only partial blocks (small files, file tails), never full blocks read from the store. */
  cachePartialOnly?: boolean;
}

export interface DiskCacheStats {
  cacheHits: number;
  cacheMisses: number;
  cacheBytes: number;
  cacheFiles: number;
  cacheWrites: number;
  /** Writes skipped because too much was already waiting to be written, or no room. */
  cacheWriteSkips: number;
  cacheEvictions: number;
  /** Corrupt files and disk errors: each dropped the file (if any) and fell back to the store. */
  cacheErrors: number;
}

// Blocks waiting to be written to the cache hold copies in memory: bounded, excess is skipped.
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export class DiskCache {
  readonly dirs: CacheDir[];
  readonly options: Required<DiskCacheOptions>;
  readonly verify: CacheVerify;
  readonly cacheLargeWrite: boolean;
  readonly cachePartialOnly: boolean;
  readonly #counters: CacheDirCounters & { hits: number; misses: number; writes: number; skips: number } = {
    evictions: 0, errors: 0, hits: 0, misses: 0, writes: 0, skips: 0,
  };
  #pendingBytes = 0;
  /** Writes under way, by key: a second writer of a key waits for the first. */
  readonly #writing = new Map<string, Promise<boolean>>();

  readonly #readTime: Observer;
  readonly #writeTime: Observer;

  /** `namespace` keeps volumes apart in a shared cache directory (the volume's uuid); `volume`
   * labels its metrics. */
  constructor(options: DiskCacheOptions, namespace: string, volume = 'default') {
    this.#readTime = observer(blockCacheLatency, { volume, tier: 'local', op: 'read' });
    this.#writeTime = observer(blockCacheLatency, { volume, tier: 'local', op: 'write' });
    const share = options.size < 0 ? -1 : Math.floor(options.size / Math.max(1, options.dirs.length));
    this.dirs = options.dirs.map((d) => new CacheDir(d, namespace, share, options.freeSpaceRatio ?? 0.1, this.#counters));
    this.verify = options.verify ?? 'full';
    this.cacheLargeWrite = options.cacheLargeWrite ?? false;
    this.cachePartialOnly = options.cachePartialOnly ?? false;
    this.options = {
      dirs: [...options.dirs], size: options.size, freeSpaceRatio: options.freeSpaceRatio ?? 0.1, verify: this.verify,
      cacheLargeWrite: this.cacheLargeWrite, cachePartialOnly: this.cachePartialOnly,
    };
  }

  /** Write block `key` now and wait for it (warmup): unlike put, never skipped for lack of
   * pending memory; fails when the directory has no room or the write fails. */
  async write(key: string, data: Uint8Array): Promise<void> {
    await this.#storeOnce(key, () => ({ bytes: Buffer.from(data), sums: cacheSums(key, data) }), 'warmup', true);
  }

  /** Pieces [first, first + count) of block `key` and their stored checksums, for a peer that
   * verifies them itself; null when the block is not here (a file of the wrong size is dropped;
   * a disk error is counted and the file kept). */
  async readPieces(key: string, blockLength: number, first: number, count: number): Promise<{ data: Buffer; sums: Buffer } | null> {
    const dir = this.dirOf(key);
    try {
      const got = await readCacheFileRaw(dir.pathOf(key), blockLength, first, count);
      dir.touch(key, cacheFileSize(blockLength));
      return got;
    } catch (err) {
      if (err instanceof CacheFileError && err.kind === 'absent') dir.forget(key);
      else {
        dir.failed();
        if (err instanceof CacheFileError) await dir.drop(key);
      }
      return null;
    }
  }

  /** Store block `key` sent by a peer with its piece checksums, after checking them: false when
   * they do not match (nothing stored). Throws ENOSPC when there is no room, like write(). */
  async accept(key: string, data: Uint8Array, sums: Uint8Array): Promise<boolean> {
    if (!piecesMatch(key, data, sums)) return false;
    if (this.dirOf(key).has(key)) return true;
    await this.#storeOnce(key, () => ({
      bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength), sums: Buffer.from(sums.buffer, sums.byteOffset, sums.byteLength),
    }), 'write', true);
    return true;
  }

  /** Write block `key` unless a write of it is under way (then wait for that one). `strict`: fail
   * (ENOSPC, or the disk's error) when it ends up not stored. Resolves to whether it is stored. */
  async #storeOnce(key: string, content: () => { bytes: Buffer; sums: Buffer }, syscall: string, strict: boolean): Promise<boolean> {
    const dir = this.dirOf(key);
    let running = this.#writing.get(key);
    if (!running) {
      const { bytes, sums } = content();
      running = (async () => {
        if (!(await dir.admits(cacheFileSize(bytes.byteLength)))) {
          this.#counters.skips++;
          return false;
        }
        const started = performance.now();
        try {
          dir.add(key, await writeCacheFile(dir.pathOf(key), dir.tempPathOf(key), bytes, sums));
          this.#counters.writes++;
          return true;
        } catch (err) {
          if (process.env.STRATA_DEBUG_CACHE) console.error('cache write', err);
          dir.failed();
          throw err;
        } finally {
          this.#writeTime.observe((performance.now() - started) / 1000);
        }
      })();
      this.#writing.set(key, running);
      void running.catch(() => false).finally(() => this.#writing.delete(key));
    }
    const stored = await (strict ? running : running.catch(() => false));
    if (!stored && strict) throw errnoError('ENOSPC', syscall, dir.dir, `the cache directory ${dir.dir} is at its size limit or its file system is short of free space`);
    return stored;
  }

  /** Bytes of block `key` on the cache disk (0 when absent). */
  async cachedBytes(key: string): Promise<number> {
    return (await stat(this.dirOf(key).pathOf(key)).catch(() => null))?.size ?? 0;
  }

  /** Resolves once every directory's index is rebuilt from disk. */
  ready(): Promise<void> {
    return Promise.all(this.dirs.map((d) => d.ready)).then(() => undefined);
  }

  dirOf(key: string): CacheDir {
    if (this.dirs.length === 1) return this.dirs[0];
    const h = createHash('md5').update(key).digest();
    return this.dirs[h.readUInt32LE(0) % this.dirs.length];
  }

  /** Whether reads of part of a block can be served from the cache without loading all of it. */
  get partialReads(): boolean {
    return this.verify !== 'full';
  }

  /**
   * Bytes [offset, offset + target.byteLength) of block `key` (blockLength bytes) from the cache
   * into `target`; false on a miss or any problem (counted; a bad file is dropped). `scratch`
   * holds the touched pieces for verification (WASM memory, at least target + 2 pieces).
   */
  async read(key: string, blockLength: number, offset: number, target: Uint8Array, scratch?: Uint8Array, room?: Uint8Array): Promise<boolean> {
    const dir = this.dirOf(key);
    const whole = offset === 0 && target.byteLength === blockLength;
    if (!whole && !this.partialReads) return false;
    const started = performance.now();
    try {
      await readCacheFile(dir.pathOf(key), key, blockLength, offset, target, this.verify !== 'none', scratch, room);
      dir.touch(key, cacheFileSize(blockLength));
      this.#counters.hits++;
      this.#readTime.observe((performance.now() - started) / 1000);
      return true;
    } catch (err) {
      this.#counters.misses++;
      if (err instanceof CacheFileError && err.kind === 'absent') {
        dir.forget(key);
      } else {
        // A damaged file goes; a disk that fails to read (EIO, EMFILE) keeps its files.
        dir.failed();
        if (err instanceof CacheFileError) await dir.drop(key);
      }
      return false;
    }
  }

  /** Start writing block `key` to the cache (copied first: the caller may reuse `data`). Never
   * fails; skipped when too much is already waiting or the directory has no room. */
  put(key: string, data: Uint8Array): void {
    const dir = this.dirOf(key);
    if (dir.has(key) || this.#writing.has(key)) return;
    if (this.#pendingBytes + data.byteLength > MAX_PENDING_BYTES) {
      this.#counters.skips++;
      return;
    }
    let sums: Buffer;
    try {
      sums = cacheSums(key, data);
    } catch {
      dir.failed();
      return;
    }
    this.#pendingBytes += data.byteLength;
    const copy = Buffer.from(data);
    void this.#storeOnce(key, () => ({ bytes: copy, sums }), 'write', false).finally(() => {
      this.#pendingBytes -= copy.byteLength;
    });
  }

  /** Writes still in progress have finished (tests, and warmup's summary). */
  async settle(): Promise<void> {
    while (this.#writing.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  /** Remove block `key` from the cache. */
  async evict(key: string): Promise<void> {
    await this.dirOf(key).drop(key);
  }

  stats(): DiskCacheStats {
    const c = this.#counters;
    return {
      cacheHits: c.hits, cacheMisses: c.misses, cacheWrites: c.writes, cacheWriteSkips: c.skips, cacheEvictions: c.evictions, cacheErrors: c.errors,
      cacheBytes: this.dirs.reduce((n, d) => n + d.bytes, 0), cacheFiles: this.dirs.reduce((n, d) => n + d.files, 0),
    };
  }
}

export { PIECE_SIZE };
