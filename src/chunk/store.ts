// The seam between the POSIX layer (vfs/) and the data path (chunk/).
// The data path knows slices, blocks and objects; it learns which slices make up a chunk,
// and records new ones, only through SliceMeta, which vfs supplies on top of meta/.
import type { Slice } from '../hotpath/index.js';
import type { AttrChanges, ExternalRef } from '../meta/meta.js';

export type { Slice };
/** A slice as a chunk lists it: blocks of its own, or (ext) part of an imported object. */
export type ChunkSlice = Slice & { ext?: ExternalRef };
/** Attribute changes a file's client made after writing bytes still buffered (chmod, chown,
 * utimes of a file it just created): they commit with the last slice, in its transaction. */
export type HeldChanges = AttrChanges;

/** A file is cut into chunks of this many bytes (fixed by the data layout). */
export const CHUNK_SIZE = 64 * 1024 * 1024;

/** What the data path needs from metadata. */
export interface SliceMeta {
  /** The slices of one chunk of a file, in append order (oldest first). */
  readChunk(inode: number, chunkIndex: number): Promise<ChunkSlice[]>;
  /** A fresh slice id (never reused, never 0). */
  newSliceId(): Promise<number>;
  /** Append a stored slice to a chunk; the file's length becomes at least `fileEnd`; `then` is
   * applied after it in the same transaction. */
  commitSlice(inode: number, chunkIndex: number, slice: Slice, fileEnd: number, then?: HeldChanges): Promise<void>;
  /** Put a stored slice at the file's end as of this commit; returns the offset it landed at. */
  appendSlice(inode: number, slice: { id: number; size: number }, then?: HeldChanges): Promise<number>;
  /** A stored slice its writer gives up on (never to be committed): its objects may go. */
  abandonSlice(slice: { id: number; size: number }): Promise<void>;
}

/** Where reads learn a chunk's slices. `forget`: a list it gave named a block that is gone (its
 * slices were replaced and deleted since): the next readChunk of that chunk must ask again. */
export type SliceSource = Pick<SliceMeta, 'readChunk'> & { forget?(inode: number, chunkIndex: number): void };

/** Buffers writes of one open file and turns them into stored slices. */
export interface FileWriter {
  /** Buffer `data` at file `offset`; full blocks may be uploaded in the background. Resolves once
   * the bytes are buffered (it may wait for buffer space). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Buffer `data` for the file's end as it will be when committed (O_APPEND): consecutive appends
   * stay together, and land whole after whatever other writers appended first. `guessEnd` is
   * where this writer believes the end is now (it only shapes pendingEnd until the commit). */
  append(data: Uint8Array, guessEnd: number): Promise<void>;
  /** Upload everything buffered and commit its slices; after it resolves, other readers see the
   * data. `then` goes with the last slice's commit; resolves true if it did (false when there was
   * no slice to commit it with: the caller commits it itself). */
  flush(then?: HeldChanges): Promise<boolean>;
  /** Highest file offset written through this writer and not yet committed (0 if none). */
  readonly pendingEnd: number;
  /** True when writes are buffered but not committed (or being committed). */
  readonly dirty: boolean;
  /** Bytes written through this writer and not yet committed (overlaps counted each time). */
  readonly pendingBytes: number;
  /** flush() then release the writer's buffers. */
  close(): Promise<void>;
}

export interface ChunkStoreStats {
  blocksWritten: number;
  blocksRead: number;
  bytesWritten: number;
  bytesRead: number;
  checksumErrors: number;
  bufferedBytes: number;
}

/** The local disk cache of blocks, as warmup and status see it. */
export interface BlockCacheControl {
  /** Its settings (so another process can use the same directories). */
  describe(): { dirs: string[]; size: number; freeSpaceRatio: number; verify: string; cacheLargeWrite: boolean; cachePartialOnly: boolean };
  /** Make sure block `key` is in the cache: 'cached' if it already was, else it is fetched (and
   * verified) from the store and written. Fails if it cannot be written. */
  warm(key: string): Promise<'cached' | 'fetched'>;
  /** The cache directory block `key` belongs to, and how many of its bytes are there (0: none). */
  locate(key: string): Promise<{ dir: string; bytes: number }>;
  /** Remove block `key` from the cache. */
  evict(key: string): Promise<void>;
}

export interface ChunkStore {
  readonly blockSize: number;
  /** The local disk cache of blocks, when there is one. */
  readonly blockCache: BlockCacheControl | null;
  /** A writer for one inode; `meta` commits its slices. */
  openWriter(inode: number, meta: SliceMeta): FileWriter;
  /** Read `length` bytes at file `offset` of a file `fileLength` long into `target` (holes and
   * bytes past fileLength within the range read as zeros; returns bytes up to EOF). */
  read(inode: number, offset: number, target: Uint8Array, fileLength: number, meta: SliceSource): Promise<number>;
  /** Store `data` (at most one chunk) as the blocks of a new slice and return it, uncommitted:
   * for content known whole in advance, which the caller commits with the file's creation. */
  storeSlice(data: Uint8Array, meta: Pick<SliceMeta, 'newSliceId'>): Promise<{ id: number; size: number }>;
  /** read() that hands the bytes to `use` (once; the view is valid during the call, or until the
   * promise `use` returns settles), straight from verified block memory when it can: for replies
   * and sockets that copy anyway. With `upToBlockEnd` the view may stop at the end of the block
   * the range starts in (callers that stream ask again for the rest). */
  readView<T>(inode: number, offset: number, length: number, fileLength: number, meta: SliceSource, use: (bytes: Uint8Array) => T, upToBlockEnd?: boolean): Promise<T>;
  /** Remove a slice's blocks from object storage (its last reference is gone). */
  deleteSlice(id: number, size: number): Promise<void>;
  /** The object keys of a slice's blocks, as ARCHITECTURE.md names them. */
  blockKeys(id: number, size: number): string[];
  stats(): ChunkStoreStats;
  close(): Promise<void>;
}
