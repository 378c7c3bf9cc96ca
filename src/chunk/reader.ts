// Reads file bytes: a chunk's slices (from metadata) resolve newest-wins into pieces of blocks;
// each block is fetched whole and verified (the stored checksum covers the whole block), and kept
// in memory when the read leaves part of it for later reads. Holes and id-0 pieces read as zeros;
// nothing past the file's end is fetched.
import { resolveSlices, splitRange, type RangePiece, type ReadPiece } from '../hotpath/index.js';
import { allocBuffer, releaseBuffer } from '../hotpath/index.js';
import { BLOCK_BUFFER_EXTRA, fetchVerifiedInto, isChecksumError } from './blocks.js';
import { PIECE_SIZE, type DiskCache } from './disk-cache.js';
import { cacheSumsSize, pieceSpan } from './cache-file.js';
import { BlockMemory, type BlockMemoryStats } from './block-memory.js';
import { PieceSums } from './piece-sums.js';
import { blockKey } from './keys.js';
import type { BlockPeers } from './peers.js';
import { settleAll, type Limiter } from './limiter.js';
import { CHUNK_SIZE, type SliceSource } from './store.js';
import type { ObjectStore } from '../object/store.js';
import type { ExternalRef } from '../meta/meta.js';
import { causedBy, errnoError } from '../errors/errno.js';

export interface ReadCounters {
  blocksRead: number;
  bytesRead: number;
  checksumErrors: number;
  /** Reads of parts of blocks checked by their pieces' remembered sums (PieceSums). */
  pieceReads: number;
}

/** The pieces of one block that a read needs, and where each goes in the caller's buffer. */
interface BlockFetch {
  key: string;
  blockLength: number;
  parts: { blockOffset: number; length: number; at: number }[];
  needed: number;
}

function checkUint(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
}

export class ChunkReader {
  private readonly memory: BlockMemory;
  readonly #sums: PieceSums;
  #closed = false;

  constructor(
    private readonly objects: ObjectStore,
    private readonly blockSize: number,
    private readonly limiter: Limiter,
    private readonly counters: ReadCounters,
    memoryCacheSize: number,
    private readonly cache: DiskCache | null = null,
    private readonly peers: BlockPeers | null = null,
    private readonly linked: (() => Promise<ObjectStore>) | null = null,
  ) {
    // A quarter of the block memory's size in sums covers 256 times as many blocks as it holds.
    this.#sums = new PieceSums(Math.floor(memoryCacheSize / 4));
    this.memory = new BlockMemory(memoryCacheSize, (key, length) => this.loadBlock(key, length), (key, data) => {
      if (!isImportedKey(key)) this.#sums.remember(key, data);
    });
  }

  /** The memory's name for a piece's block: a block key, or for an imported slice a name that
   * carries where its bytes are (a range of the object, read by loadImported), so no state
   * outside the name is needed to load it. */
  private keyOf(p: ReadPiece, imported: ImportedOf): string {
    const ext = imported.get(p.sliceId);
    return ext ? `${IMPORTED_PREFIX}${p.sliceId}:${p.blockIndex}:${p.blockLength}:${ext.off}:${encodeURIComponent(ext.etag)}:${ext.object}` : blockKey(p.sliceId, p.blockIndex, p.blockLength);
  }

  /** A block-sized range of an imported object, only from the version imported: a changed or
   * deleted object is EIO naming it, never other bytes. Kept in memory like blocks, never on the
   * cache disk (no checksum of their own to verify it by). */
  private async loadImported(key: string, blockLength: number): Promise<Buffer> {
    const fields = key.slice(IMPORTED_PREFIX.length).split(':');
    const blockIndex = Number(fields[1]);
    const ext: ExternalRef = { off: Number(fields[3]), etag: decodeURIComponent(fields[4]!), object: fields.slice(5).join(':') };
    if (!this.linked) throw errnoError('EIO', 'read', ext.object, 'this client has no access to the objects imported files are made of');
    const buf = allocBuffer(blockLength + BLOCK_BUFFER_EXTRA);
    try {
      const objects = await this.linked();
      let got: number;
      try {
        got = await objects.getInto(ext.object, ext.off + blockIndex * this.blockSize, buf.subarray(0, blockLength), { etag: ext.etag });
      } catch (err) {
        const code = (err as { code?: string }).code;
        const why = code === 'ENOENT' ? 'was deleted' : code === 'ESTALE' ? 'changed' : `could not be read (${(err as Error).message})`;
        throw errnoError('EIO', 'read', ext.object, `the object ${ext.object} this file was imported from ${why} since the import; import it again (strata import --update)`, err);
      }
      if (got !== blockLength) throw errnoError('EIO', 'read', ext.object, `the object this file was imported from is shorter than when it was imported (${got} of ${blockLength} bytes at ${ext.off + blockIndex * this.blockSize})`);
      this.counters.blocksRead++;
      this.counters.bytesRead += blockLength;
      return buf;
    } catch (err) {
      releaseBuffer(buf);
      throw err;
    }
  }

  /** Bytes of prefetched blocks the memory holds for their readers: what read-ahead may plan. */
  get readAheadRoom(): number {
    return this.memory.aheadRoom;
  }

  memoryStats(): BlockMemoryStats {
    return this.memory.stats();
  }

  /** The store is closing: what is in memory goes, and read-ahead planned before starts nothing. */
  close(): void {
    this.#closed = true;
    this.memory.clear();
  }

  async read(inode: number, offset: number, target: Uint8Array, fileLength: number, meta: SliceSource): Promise<number> {
    checkUint('inode', inode);
    checkUint('offset', offset);
    checkUint('fileLength', fileLength);
    if (!(target instanceof Uint8Array)) throw new TypeError(`target must be a Uint8Array, got ${target === null ? 'null' : typeof target}`);
    if (offset + target.byteLength > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`offset + target length must not exceed ${Number.MAX_SAFE_INTEGER}`);
    }
    const n = Math.max(0, Math.min(target.byteLength, fileLength - offset));
    target.fill(0, n);
    if (n === 0) return 0;

    const plans = await this.plan(inode, offset, n, meta);
    try {
      await this.fill(plans, target);
    } catch (err) {
      // A block that is gone may belong to slices replaced (compacted, overwritten) after this
      // read learned the chunk's slices, and deleted since: learn them again, once.
      if (!causedBy(err, 'ENOENT')) throw err;
      for (const { c } of plans) meta.forget?.(inode, c.index);
      const again = await this.plan(inode, offset, n, meta);
      if (blockKeysOf(again) === blockKeysOf(plans)) throw err;
      await this.fill(again, target);
    }
    return n;
  }

  private async fill(plans: ChunkPlan[], target: Uint8Array): Promise<void> {
    const fetches = new Map<string, BlockFetch>();
    for (const { c, pieces, imported } of plans) {
      for (const p of pieces) this.place(p, c.srcOffset + (p.pos - c.offset), target, fetches, imported);
    }
    try {
      await settleAll([...fetches.values()].map((f) => () => this.fetch(f, target)), this.limiter);
    } catch (err) {
      // Whatever did arrive is not handed out as if it were the file.
      target.fill(0);
      throw err;
    }
  }

  /**
   * Hand file bytes [offset, offset + length) (cut at fileLength) to `use`, once; the view is valid
   * during the call, or until the promise `use` returns settles. A range inside one block comes
   * straight from the verified block in memory (no copy, the block pinned meanwhile); anything
   * else is read into a buffer of its own first. With `upToBlockEnd`, a range that starts in a
   * block and goes past it is cut at that block's end, so it too comes without a copy: the caller
   * asks again for the rest.
   */
  async readView<T>(inode: number, offset: number, length: number, fileLength: number, meta: SliceSource, use: (bytes: Uint8Array) => T, upToBlockEnd = false): Promise<T> {
    checkUint('length', length);
    let n = Math.max(0, Math.min(length, fileLength - offset));
    if (n > 0) {
      const plans = await this.plan(inode, offset, n, meta);
      // Pieces come in file order, holes included: the first starts at `offset`.
      const first = plans[0].pieces[0];
      // Whatever serves the rest, a stream stays on its blocks' boundaries.
      if (upToBlockEnd) n = first.length;
      const only = upToBlockEnd || (plans.length === 1 && plans[0].pieces.length === 1) ? first : undefined;
      if (only && only.sliceId !== 0) {
        const m = only.length;
        const key = this.keyOf(only, plans[0].imported);
        if (!this.#partsAlone(key, m, only.blockLength)) {
          let used = false;
          try {
            return await this.memory.with(key, only.blockLength, m, (data) => {
              used = true;
              return use(data.subarray(only.blockOffset, only.blockOffset + m));
            });
          } catch (err) {
            // The caller's own failure: its bytes were handed over already, never twice.
            if (used) throw err;
            if (isChecksumError(err)) this.counters.checksumErrors++;
            // read() below learns the slices again when the block is gone.
            if (!causedBy(err, 'ENOENT')) throw err;
          }
        } else if (!this.cache?.partialReads) {
          // Straight from the checked pieces, without a buffer of its own.
          const got = await this.#withPieces(key, only.blockLength, only.blockOffset, m, use);
          if (got) return got.value;
        }
      }
    }
    const buf = Buffer.allocUnsafe(n);
    const got = await this.read(inode, offset, buf, fileLength, meta);
    return use(buf.subarray(0, got));
  }

  /** The pieces of blocks that make up file bytes [offset, offset+n), chunk by chunk. */
  private plan(inode: number, offset: number, n: number, meta: SliceSource): Promise<ChunkPlan[]> {
    return Promise.all(
      splitRange(offset, n, CHUNK_SIZE).map(async (c) => {
        const slices = await meta.readChunk(inode, c.index);
        const ext = slices.filter((s) => s.ext);
        const imported: ImportedOf = ext.length === 0 ? NONE_IMPORTED : new Map(ext.map((s) => [s.id, s.ext!]));
        return { c, pieces: resolveSlices(slices, c.offset, c.length, this.blockSize), imported };
      }),
    );
  }

  /** Start loading the blocks behind file bytes [offset, offset+n) into memory, without waiting
   * (read-ahead). Failures are left for the read that needs the block to report and count. */
  prefetch(inode: number, offset: number, n: number, meta: SliceSource): void {
    this.plan(inode, offset, n, meta).then((plans) => {
      if (this.#closed) return;
      const seen = new Set<string>();
      for (const { pieces, imported } of plans) {
        for (const p of pieces) {
          if (p.sliceId === 0) continue;
          const key = this.keyOf(p, imported);
          if (seen.has(key)) continue;
          seen.add(key);
          this.memory.prefetch(key, p.blockLength);
        }
      }
    }, () => undefined);
  }

  private place(p: ReadPiece, at: number, target: Uint8Array, fetches: Map<string, BlockFetch>, imported: ImportedOf): void {
    if (p.sliceId === 0) {
      target.fill(0, at, at + p.length);
      return;
    }
    const key = this.keyOf(p, imported);
    let f = fetches.get(key);
    if (!f) fetches.set(key, (f = { key, blockLength: p.blockLength, parts: [], needed: 0 }));
    f.parts.push({ blockOffset: p.blockOffset, length: p.length, at });
    f.needed += p.length;
  }

  /** Whether a read of `needed` bytes of block `key`, which is not in memory, is served by
   * reading just the pieces it touches: from the cache disk (verified by the checksums stored
   * there), or from wherever the block is when its pieces' sums are remembered. Either is
   * cheaper than loading the whole block to verify it. */
  #partsAlone(key: string, needed: number, blockLength: number): boolean {
    if (needed >= blockLength || isImportedKey(key) || this.memory.has(key)) return false;
    return !!this.cache?.partialReads || this.#sums.has(key);
  }

  private async fetch(f: BlockFetch, target: Uint8Array): Promise<void> {
    if (this.#partsAlone(f.key, f.needed, f.blockLength)) {
      if (this.cache?.partialReads && await this.fromCache(f, target)) return;
      if (this.#sums.has(f.key) && await this.fromPieces(f, target)) return;
    }
    // Otherwise every block is read whole and verified before any byte of it is handed out; a
    // read that leaves part of it unread keeps it in memory for the reads that follow.
    try {
      await this.memory.with(f.key, f.blockLength, f.needed, (data) => {
        for (const part of f.parts) target.set(data.subarray(part.blockOffset, part.blockOffset + part.length), part.at);
      });
    } catch (err) {
      if (isChecksumError(err)) this.counters.checksumErrors++;
      throw err;
    }
  }

  private async fromCache(f: BlockFetch, target: Uint8Array): Promise<boolean> {
    const cache = this.cache!;
    for (const part of f.parts) {
      const scratch = allocBuffer(part.length + 2 * PIECE_SIZE);
      try {
        if (!(await cache.read(f.key, f.blockLength, part.blockOffset, target.subarray(part.at, part.at + part.length), scratch))) return false;
      } finally {
        releaseBuffer(scratch);
      }
    }
    return true;
  }

  /** The parts of block `f.key` from its pieces alone (#withPieces); false when they could not
   * be, with any part already copied left for the caller to overwrite. */
  private async fromPieces(f: BlockFetch, target: Uint8Array): Promise<boolean> {
    for (const part of f.parts) {
      if (!(await this.#withPieces(f.key, f.blockLength, part.blockOffset, part.length, (bytes) => target.set(bytes, part.at)))) return false;
    }
    return true;
  }

  /** Call `use` with bytes [blockOffset, blockOffset + length) of block `key`, read as the whole
   * pieces they fall in and checked against their remembered sums: from the cache disk when the
   * block is there, else from the store. `use` may hold the bytes until the promise it returns
   * settles. Null (nothing handed out) when a piece cannot be read or does not match; the sums go
   * then, so the read that follows loads the block whole and verifies it by its stored checksum,
   * which names the damage. */
  async #withPieces<T>(key: string, blockLength: number, blockOffset: number, length: number, use: (bytes: Uint8Array) => T): Promise<{ value: Awaited<T> } | null> {
    const { first, count, start, end } = pieceSpan(blockOffset, length, blockLength);
    const cached = this.cache ? await this.cache.readPieces(key, blockLength, first, count) : null;
    // In a cache group a block comes from the group whole: its members' traffic, not the store's.
    if (!cached && this.peers) return null;
    const area = allocBuffer(end - start);
    try {
      try {
        if (cached) area.set(cached.data);
        else if (await this.objects.getInto(key, start, area) !== area.byteLength) throw new Error('short read');
        if (!this.#sums.matches(key, first, area)) throw new Error('piece mismatch');
      } catch {
        this.#sums.forget(key);
        return null;
      }
      this.counters.pieceReads++;
      if (!cached) this.counters.bytesRead += area.byteLength;
      return { value: await use(area.subarray(blockOffset - start, blockOffset - start + length)) };
    } finally {
      releaseBuffer(area);
    }
  }

  /** One whole verified block (BlockMemory's loader): from the cache disk when it is there, else
   * from the store, and then kept on the cache disk. */
  private async loadBlock(key: string, blockLength: number): Promise<Buffer> {
    if (isImportedKey(key)) return this.loadImported(key, blockLength);
    // Room after the block for its stored checksum, or for a cache file's piece checksums.
    const buf = allocBuffer(blockLength + Math.max(BLOCK_BUFFER_EXTRA, this.cache ? cacheSumsSize(blockLength) : 0));
    try {
      const data = buf.subarray(0, blockLength);
      if (this.cache && await this.cache.read(key, blockLength, 0, data, undefined, buf)) return buf;
      const keep = !this.cache?.cachePartialOnly || blockLength < this.blockSize;
      if (this.peers && await this.peers.fetch(key, blockLength, data)) {
        if (this.cache && keep) this.cache.put(key, data);
        return buf;
      }
      await fetchVerifiedInto(this.objects, key, blockLength, buf);
      this.counters.blocksRead++;
      this.counters.bytesRead += blockLength;
      if (this.cache && keep) this.cache.put(key, data);
      if (keep) this.peers?.offer(key, data);
      return buf;
    } catch (err) {
      releaseBuffer(buf);
      throw err;
    }
  }
}

/** The blocks a read plan fetches (and where imported ones come from), as one comparable string. */
function blockKeysOf(plans: ChunkPlan[]): string {
  return plans.map(({ pieces, imported }) => pieces.filter((p) => p.sliceId !== 0)
    .map((p) => `${blockKey(p.sliceId, p.blockIndex, p.blockLength)}${imported.has(p.sliceId) ? `@${imported.get(p.sliceId)!.etag}` : ''}`).join(',')).join(';');
}

/** Memory names of imported ranges start with this (never a block key: those start with chunks/). */
const IMPORTED_PREFIX = 'imported:';
/** The imported slices of a chunk list, by id. */
type ImportedOf = ReadonlyMap<number, ExternalRef>;
const NONE_IMPORTED: ImportedOf = new Map();
/** A chunk's part of a read: the block pieces, and where imported ones are. */
type ChunkPlan = { c: RangePiece; pieces: ReadPiece[]; imported: ImportedOf };

function isImportedKey(key: string): boolean {
  return key.startsWith(IMPORTED_PREFIX);
}
