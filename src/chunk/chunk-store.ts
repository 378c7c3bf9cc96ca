// The ChunkStore over an ObjectStore: writers sharing one write budget and one upload limit, a
// reader, and slice deletion. The ObjectStore it is given is already scoped to the volume.
import { LRUCache } from 'lru-cache';
import { errnoError } from '../errors/errno.js';
import { allocBuffer, ReadAheadPlanner, releaseBuffer, warmUpHotPath } from '../hotpath/index.js';
import type { ObjectStore } from '../object/store.js';
import { WriteBudget } from './budget.js';
import { BLOCK_BUFFER_EXTRA, fetchVerifiedInto, putBlock } from './blocks.js';
import { cacheFileSize } from './cache-file.js';
import { checkSliceId, checkSliceSize, parseBlockKey, sliceBlockKeys } from './keys.js';
import { Limiter, settleAll } from './limiter.js';
import { resolveOptions, type ChunkStoreOptions } from './options.js';
import { DiskCache, type DiskCacheStats } from './disk-cache.js';
import type { BlockPeers, PeerStats } from './peers.js';
import { ChunkReader, type ReadCounters } from './reader.js';
import type { BlockMemoryStats } from './block-memory.js';
import { sampleChunkStore } from './metrics.js';
import { CHUNK_SIZE, type BlockCacheControl, type ChunkStore, type ChunkStoreStats, type FileWriter, type SliceMeta, type SliceSource } from './store.js';
import { SliceWriter, type WriterHost } from './writer.js';

export interface ObjectChunkStoreStats extends ChunkStoreStats, Partial<DiskCacheStats>, Partial<PeerStats> {
  /** The most write-buffer bytes ever in use at once (never above bufferSize). */
  peakBufferedBytes: number;
  /** Block uploads running or waiting for a slot. */
  pendingUploads: number;
  /** Reads of parts of blocks that left memory, checked by their pieces' remembered sums. */
  pieceReads: number;
  /** Reads served from verified blocks kept in memory, and the bytes kept. */
  memoryCacheHits: number;
  memoryCacheBytes: number;
}

export class ObjectChunkStore implements ChunkStore, WriterHost {
  readonly blockSize: number;
  readonly budget: WriteBudget;
  private readonly uploads: Limiter;
  private readonly reads: Limiter;
  private readonly reader: ChunkReader;
  /** The local disk cache of blocks, when configured. */
  readonly cache: DiskCache | null;
  /** The cache group, when this process is in one. */
  readonly peers: BlockPeers | null;
  readonly blockCache: BlockCacheControl | null;
  private readonly writers = new Set<SliceWriter>();
  private readonly counters: ReadCounters = { blocksRead: 0, bytesRead: 0, checksumErrors: 0, pieceReads: 0 };
  private blocksWritten = 0;
  private bytesWritten = 0;
  private uploading = 0;
  private closed = false;
  /** Read-ahead state of recently read files (a planner's state lives in WASM memory). */
  private readonly planners = new LRUCache<number, ReadAheadPlanner>({ max: 256, dispose: (p) => p.close() });
  /** At most this much is read ahead per stream: half the verified-block memory. */
  private readonly readAheadWindow: number;
  private readonly stopSampling: () => void;

  constructor(private readonly objects: ObjectStore, options?: ChunkStoreOptions) {
    const o = resolveOptions(options);
    warmUpHotPath();
    this.blockSize = o.blockSize;
    this.budget = new WriteBudget(o.bufferSize, (shortfall) => this.relieve(shortfall));
    this.uploads = new Limiter(o.maxUploads);
    this.reads = new Limiter(o.maxReads);
    this.cache = o.cache ? new DiskCache(o.cache, o.cacheNamespace, o.volume) : null;
    this.blockCache = this.cache ? this.cacheControl(this.cache) : null;
    this.peers = o.peers;
    this.reader = new ChunkReader(objects, this.blockSize, this.reads, this.counters, o.memoryCacheSize, this.cache, this.peers, o.linked);
    this.readAheadWindow = Math.floor(this.reader.readAheadRoom / this.blockSize) * this.blockSize;
    this.stopSampling = sampleChunkStore(this, o.volume, o.bufferSize);
  }

  /** Verified blocks in memory: the read cache and read-ahead. */
  memoryStats(): BlockMemoryStats {
    return this.reader.memoryStats();
  }

  openWriter(inode: number, meta: SliceMeta): FileWriter {
    this.checkOpen('open');
    if (!Number.isSafeInteger(inode) || inode <= 0) throw new RangeError(`inode must be a positive integer, got ${inode}`);
    if (typeof meta !== 'object' || meta === null) throw new TypeError('meta must be a SliceMeta');
    const w = new SliceWriter(this, inode, meta);
    this.writers.add(w);
    return w;
  }

  async read(inode: number, offset: number, target: Uint8Array, fileLength: number, meta: SliceSource): Promise<number> {
    this.checkOpen('read');
    const result = this.reader.read(inode, offset, target, fileLength, meta);
    // A target the read refuses (and reports) plans nothing.
    this.readAhead(inode, offset, target instanceof Uint8Array ? target.byteLength : 0, fileLength, meta);
    return result;
  }

  async readView<T>(inode: number, offset: number, length: number, fileLength: number, meta: SliceSource, use: (bytes: Uint8Array) => T, upToBlockEnd = false): Promise<T> {
    this.checkOpen('read');
    if (upToBlockEnd) {
      // How much is read is known only once it is: read-ahead must see the stream as it is.
      return this.reader.readView(inode, offset, length, fileLength, meta, (bytes) => {
        this.readAhead(inode, offset, bytes.length, fileLength, meta);
        return use(bytes);
      }, true);
    }
    const result = this.reader.readView(inode, offset, length, fileLength, meta, use);
    this.readAhead(inode, offset, length, fileLength, meta);
    return result;
  }

  /** The hot path's planner watches each file's reads; sequential streams get their next blocks
   * loaded into memory while the caller is still busy with this read. It never fails a read:
   * arguments the read itself refuses (and reports) plan nothing. */
  private readAhead(inode: number, offset: number, length: number, fileLength: number, meta: SliceSource): void {
    if (this.closed || this.readAheadWindow < this.blockSize || offset >= fileLength || length === 0) return;
    try {
      let planner = this.planners.get(inode);
      if (!planner) this.planners.set(inode, (planner = new ReadAheadPlanner(this.blockSize, this.readAheadWindow)));
      const n = Math.min(length, fileLength - offset, 0xffff_ffff);
      for (const run of planner.onRead(offset, n, fileLength)) {
        const start = run.block * this.blockSize;
        this.reader.prefetch(inode, start, Math.min(run.count * this.blockSize, fileLength - start), meta);
      }
    } catch {
      // Read-ahead just does nothing.
    }
  }

  async storeSlice(data: Uint8Array, meta: Pick<SliceMeta, 'newSliceId'>): Promise<{ id: number; size: number }> {
    this.checkOpen('write');
    if (!(data instanceof Uint8Array)) throw new TypeError(`data must be a Uint8Array, got ${data === null ? 'null' : typeof data}`);
    if (data.byteLength === 0 || data.byteLength > CHUNK_SIZE) throw new RangeError(`a slice holds 1..${CHUNK_SIZE} bytes, got ${data.byteLength}`);
    const id = await meta.newSliceId();
    checkSliceId(id);
    const keys = sliceBlockKeys(id, data.byteLength, this.blockSize);
    const results = await Promise.allSettled(keys.map((key, i) => this.uploadBlock(key, data.subarray(i * this.blockSize, (i + 1) * this.blockSize))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // No metadata names this slice yet: whatever did get stored is removed here or never.
      await this.deleteSlice(id, data.byteLength).catch(() => undefined);
      throw failed.reason;
    }
    return { id, size: data.byteLength };
  }

  private cacheControl(cache: DiskCache): BlockCacheControl {
    return {
      describe: () => ({ ...cache.options, dirs: [...cache.options.dirs] }),
      warm: async (key) => {
        this.checkOpen('warmup');
        const name = parseBlockKey(key);
        if (!name) throw errnoError('EINVAL', 'warmup', key, `${JSON.stringify(key)} is not a block key`);
        const length = name.blockLength;
        if ((await cache.cachedBytes(key)) === cacheFileSize(length)) return 'cached';
        const buf = allocBuffer(length + BLOCK_BUFFER_EXTRA);
        try {
          await this.reads.run(() => fetchVerifiedInto(this.objects, key, length, buf));
          this.counters.blocksRead++;
          this.counters.bytesRead += length;
          await cache.write(key, buf.subarray(0, length));
          return 'fetched';
        } finally {
          releaseBuffer(buf);
        }
      },
      locate: async (key) => ({ dir: cache.dirOf(key).dir, bytes: await cache.cachedBytes(key) }),
      evict: (key) => cache.evict(key),
    };
  }

  async deleteSlice(id: number, size: number): Promise<void> {
    this.checkOpen('unlink');
    const keys = this.blockKeys(id, size);
    await settleAll(
      keys.map((key) => async () => {
        try {
          await this.objects.delete(key);
        } catch (err) {
          throw errnoError('EIO', 'unlink', key, `deleting block ${key} failed: ${err instanceof Error ? err.message : String(err)}`, err);
        }
      }),
      this.uploads,
    );
  }

  blockKeys(id: number, size: number): string[] {
    checkSliceId(id);
    checkSliceSize(size);
    return sliceBlockKeys(id, size, this.blockSize);
  }

  stats(): ObjectChunkStoreStats {
    return {
      blocksWritten: this.blocksWritten,
      blocksRead: this.counters.blocksRead,
      bytesWritten: this.bytesWritten,
      bytesRead: this.counters.bytesRead,
      checksumErrors: this.counters.checksumErrors,
      pieceReads: this.counters.pieceReads,
      memoryCacheHits: this.reader.memoryStats().hits,
      memoryCacheBytes: this.reader.memoryStats().bytes,
      bufferedBytes: this.budget.inUse,
      peakBufferedBytes: this.budget.peak,
      pendingUploads: this.uploads.pending,
      ...this.cache?.stats(),
      ...this.peers?.stats(),
    };
  }

  /** Flushes and closes every writer still open, then refuses further use. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSampling();
    this.reader.close();
    this.planners.clear();
    const results = await Promise.allSettled([...this.writers].map((w) => w.close()));
    await this.peers?.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  // WriterHost

  async uploadBlock(key: string, data: Uint8Array, room?: Uint8Array): Promise<void> {
    await this.uploads.run(() => putBlock(this.objects, key, data, room));
    this.blocksWritten++;
    this.bytesWritten += data.byteLength;
    // Partial blocks (small files, tails) are likely read back soon; full ones only on request.
    if (data.byteLength < this.blockSize || this.cache?.cacheLargeWrite) {
      this.cache?.put(key, data);
      this.peers?.offer(key, data);
    }
  }

  trackUploading(delta: number): void {
    this.uploading += delta;
  }

  writerClosed(writer: SliceWriter): void {
    this.writers.delete(writer);
  }

  /** The write buffer is short of `shortfall` bytes: uploads already under way will free some;
   * start uploading partial blocks (largest first) until the rest is covered. */
  private relieve(shortfall: number): void {
    let missing = shortfall - this.uploading;
    if (missing <= 0) return;
    const candidates = [...this.writers].flatMap((w) => w.sealable().map((c) => ({ ...c, writer: w })));
    candidates.sort((a, b) => b.bytes - a.bytes);
    for (const c of candidates) {
      if (missing <= 0) break;
      c.writer.seal(c.slice);
      missing -= c.bytes;
    }
  }

  private checkOpen(syscall: string): void {
    if (this.closed) throw errnoError('EBADF', syscall, undefined, 'the chunk store is closed');
  }
}
