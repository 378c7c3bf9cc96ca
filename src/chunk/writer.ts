// FileWriter: turns the writes of one open file into stored, committed slices.
//
// Each chunk of the file has at most one open slice: the newest slice of that chunk, which a
// write exactly at its end extends. Any other write starts a new slice (only the newest slice of a
// chunk may grow, or an older slice would cover newer bytes). Block buffers live in WASM memory,
// so the checksum at upload costs no copy; full blocks are uploaded as soon as they fill, the last
// partial block when the slice is sealed (a non-contiguous write, memory pressure, or flush).
// flush() commits the slices in the order they were started, so newest-wins holds in metadata.
import { allocBuffer, releaseBuffer, splitRange } from '../hotpath/index.js';
import { errnoError } from '../errors/errno.js';
import { blockKey } from './keys.js';
import { BLOCK_BUFFER_EXTRA } from './blocks.js';
import { CHUNK_SIZE, type FileWriter, type HeldChanges, type SliceMeta } from './store.js';
import type { WriteBudget } from './budget.js';

/** What a writer needs from its store. */
export interface WriterHost {
  readonly blockSize: number;
  readonly budget: WriteBudget;
  /** Store one block (rejects with EIO naming the key). Runs with the store's upload limit. */
  /** `room`: the whole buffer `data` starts, whose bytes after `data` the upload may use. */
  uploadBlock(key: string, data: Uint8Array, room?: Uint8Array): Promise<void>;
  /** Bytes of block buffers handed to uploadBlock and not yet freed go up and down here. */
  trackUploading(delta: number): void;
  writerClosed(writer: SliceWriter): void;
}

// Small first buffers keep random small writes cheap; a block that grows past its first buffer
// jumps straight to a whole block, so a block is copied at most once while it fills.
const MIN_BUFFER = 4096;

function firstCapacity(need: number, blockSize: number): number {
  return Math.min(blockSize, Math.max(MIN_BUFFER, 2 ** Math.ceil(Math.log2(need))));
}

interface BlockBuffer {
  buf: Buffer;
  /** Bytes taken from the budget for it (its allocated size). */
  cap: number;
}

/** A slice being written: chunk bytes [pos, pos+len) of chunk `chunkIndex` are its bytes [0, len). */
class PendingSlice {
  len = 0;
  sealed = false;
  /** The block being filled (index floor(len / blockSize)); null between blocks. */
  current: BlockBuffer | null = null;
  readonly uploads: Promise<void>[] = [];
  error: Error | null = null;

  /** `chunkIndex` -1: an append slice, placed at the file's end only when it commits; `pos` is
   * then where this writer guessed that end to be. */
  constructor(readonly id: number, readonly chunkIndex: number, readonly pos: number) {}

  get floating(): boolean {
    return this.chunkIndex < 0;
  }

  get fileEnd(): number {
    return this.floating ? this.pos + this.len : this.chunkIndex * CHUNK_SIZE + this.pos + this.len;
  }
}

function checkOffset(offset: unknown, length: number): asserts offset is number {
  if (typeof offset !== 'number') throw new TypeError(`offset must be a number, got ${offset === null ? 'null' : typeof offset}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  if (offset + length > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`offset + length must not exceed ${Number.MAX_SAFE_INTEGER}, got ${offset} + ${length}`);
  }
}

export class SliceWriter implements FileWriter {
  private slices: PendingSlice[] = [];
  private readonly open = new Map<number, PendingSlice>();
  /** The append slice being filled, if any. */
  private floating: PendingSlice | null = null;
  private closed = false;
  private pending = 0;
  /** Writes called and not yet finished: dirty from the moment a write is accepted. */
  private accepted = 0;
  // Operations of one writer run one after another: a write's bytes land in the order written.
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: WriterHost,
    readonly inode: number,
    private readonly meta: SliceMeta,
  ) {}

  get pendingEnd(): number {
    return this.pending;
  }

  get dirty(): boolean {
    return this.slices.length > 0 || this.accepted > 0;
  }

  get pendingBytes(): number {
    let n = 0;
    for (const s of this.slices) n += s.len;
    return n;
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.accept(data, offset, async () => {
      for (const piece of splitRange(offset, data.byteLength, CHUNK_SIZE)) {
        await this.writeInChunk(piece.index, piece.offset, data.subarray(piece.srcOffset, piece.srcOffset + piece.length));
      }
    });
  }

  append(data: Uint8Array, guessEnd: number): Promise<void> {
    return this.accept(data, guessEnd, async () => {
      // Bytes written before this append commit before it.
      for (const s of [...this.open.values()]) this.seal(s);
      let done = 0;
      while (done < data.byteLength) {
        let s = this.floating;
        if (!s || s.sealed || s.len >= CHUNK_SIZE) {
          if (s) this.seal(s);
          s = await this.newSlice(-1, s ? s.pos + s.len : guessEnd);
        }
        done += await this.fill(s, data.subarray(done), CHUNK_SIZE - s.len);
      }
    });
  }

  /** Check a write's arguments, count it as buffered from now on, and run it after the ones
   * before it. */
  private accept(data: Uint8Array, offset: number, body: () => Promise<void>): Promise<void> {
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`data must be a Uint8Array, got ${data === null ? 'null' : typeof data}`));
    }
    try {
      checkOffset(offset, data.byteLength);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(errnoError('EBADF', 'write', undefined, `inode ${this.inode}: writer is closed`));
    this.accepted++;
    return this.serial(async () => {
      try {
        await body();
      } finally {
        this.accepted--;
      }
    });
  }

  flush(then?: HeldChanges): Promise<boolean> {
    return this.serial(() => this.commitAll(then));
  }

  async close(): Promise<void> {
    if (this.closed) return this.tail.then(() => undefined, () => undefined);
    this.closed = true;
    try {
      await this.flush();
    } catch (err) {
      // Nobody will flush this writer again: what could not be committed is given up, so that
      // its objects are reclaimed rather than left behind.
      await this.serial(() => this.abandonAll());
      throw err;
    } finally {
      this.host.writerClosed(this);
    }
  }

  private async abandonAll(): Promise<void> {
    const left = this.slices;
    this.slices = [];
    this.recomputePending();
    for (const s of left) await this.abandon(s);
  }

  /** Give `s` up once its uploads have settled (a later upload would leave an object behind). */
  private async abandon(s: PendingSlice): Promise<void> {
    await Promise.allSettled(s.uploads);
    if (s.len > 0) await this.meta.abandonSlice({ id: s.id, size: s.len }).catch(() => undefined);
  }

  /** Open slices holding a partial block that sealing would start uploading, with its size. */
  sealable(): { slice: PendingSlice; bytes: number }[] {
    const out: { slice: PendingSlice; bytes: number }[] = [];
    for (const s of this.open.values()) if (s.current) out.push({ slice: s, bytes: s.current.cap });
    if (this.floating?.current) out.push({ slice: this.floating, bytes: this.floating.current.cap });
    return out;
  }

  /** Stop growing `s` and start uploading its partial last block. */
  seal(s: PendingSlice): void {
    if (s.sealed) return;
    s.sealed = true;
    if (this.open.get(s.chunkIndex) === s) this.open.delete(s.chunkIndex);
    if (this.floating === s) this.floating = null;
    if (!s.current) return;
    if (s.len % this.host.blockSize !== 0) {
      this.uploadCurrent(s);
    } else {
      // A buffer with nothing in it yet: just give it back.
      releaseBuffer(s.current.buf);
      this.host.budget.release(s.current.cap);
      s.current = null;
    }
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async writeInChunk(chunkIndex: number, pos: number, bytes: Uint8Array): Promise<void> {
    // Appended bytes buffered so far commit before these.
    if (this.floating) this.seal(this.floating);
    let done = 0;
    while (done < bytes.byteLength) {
      let s = this.open.get(chunkIndex);
      if (!s || s.pos + s.len !== pos + done) {
        if (s) this.seal(s);
        s = await this.newSlice(chunkIndex, pos + done);
      }
      done += await this.fill(s, bytes.subarray(done), bytes.byteLength - done);
    }
  }

  /** Copy up to `max` leading bytes of `bytes` into `s`, within its current block. Returns how
   * many went in (0 if `s` was sealed while waiting for memory). */
  private async fill(s: PendingSlice, bytes: Uint8Array, max: number): Promise<number> {
    const bs = this.host.blockSize;
    const inBlock = s.len % bs;
    const n = Math.min(bytes.byteLength, max, bs - inBlock);
    if (!(await this.reserve(s, inBlock + n))) return 0;
    s.current!.buf.set(bytes.subarray(0, n), inBlock);
    s.len += n;
    if (s.fileEnd > this.pending) this.pending = s.fileEnd;
    if (s.len % bs === 0) this.uploadCurrent(s);
    // Writers that queued for memory while this buffer was being set up could not count on it.
    this.host.budget.recheck();
    return n;
  }

  private async newSlice(chunkIndex: number, pos: number): Promise<PendingSlice> {
    const id = await this.meta.newSliceId();
    if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`SliceMeta.newSliceId returned ${id}, expected a positive integer`);
    const s = new PendingSlice(id, chunkIndex, pos);
    this.slices.push(s);
    if (s.floating) this.floating = s;
    else this.open.set(chunkIndex, s);
    return s;
  }

  /** Make `s.current` hold at least `need` bytes. False if `s` was sealed while waiting for memory. */
  private async reserve(s: PendingSlice, need: number): Promise<boolean> {
    const cur = s.current;
    if (cur && cur.cap >= need) return true;
    const cap = cur ? this.host.blockSize : firstCapacity(need, this.host.blockSize);
    const extra = cap - (cur?.cap ?? 0);
    await this.host.budget.acquire(extra);
    if (s.sealed) {
      this.host.budget.release(extra);
      return false;
    }
    const buf = allocBuffer(cap === this.host.blockSize ? cap + BLOCK_BUFFER_EXTRA : cap);
    if (cur) {
      buf.set(cur.buf.subarray(0, s.len % this.host.blockSize));
      releaseBuffer(cur.buf);
    }
    s.current = { buf, cap };
    return true;
  }

  private uploadCurrent(s: PendingSlice): void {
    const bs = this.host.blockSize;
    const { buf, cap } = s.current!;
    s.current = null;
    const index = Math.floor((s.len - 1) / bs);
    const length = s.len - index * bs;
    const key = blockKey(s.id, index, length);
    this.host.trackUploading(cap);
    const done = this.host
      .uploadBlock(key, buf.subarray(0, length), buf)
      .catch((err: unknown) => {
        s.error ??= err instanceof Error ? err : errnoError('EIO', 'write', key, String(err));
      })
      .finally(() => {
        releaseBuffer(buf);
        this.host.trackUploading(-cap);
        this.host.budget.release(cap);
      });
    s.uploads.push(done);
  }

  /** Commit the slices in the order they were started. A slice leaves the list only once its
   * commit is done: until then it still counts as buffered (dirty, pendingEnd), so a reader that
   * arrives mid-commit waits for this flush instead of reading metadata that lacks it. */
  private async commitAll(then?: HeldChanges): Promise<boolean> {
    for (const s of this.slices) this.seal(s);
    let failure: Error | null = null;
    let applied = false;
    try {
      // Writes wait behind this flush (serial), so nothing joins the list while it runs.
      while (this.slices.length > 0) {
        const s = this.slices[0]!;
        await Promise.all(s.uploads);
        // A slice with a block missing from storage must never reach metadata.
        if (s.error) {
          failure ??= s.error;
          await this.abandon(s);
        } else if (s.len > 0) {
          // A failed commit throws here and leaves this slice and the later ones for the next
          // flush, in order.
          const last = this.slices.length === 1 ? then : undefined;
          if (s.floating) await this.meta.appendSlice(this.inode, { id: s.id, size: s.len }, last);
          else await this.meta.commitSlice(this.inode, s.chunkIndex, { id: s.id, size: s.len, pos: s.pos, off: 0, len: s.len }, s.fileEnd, last);
          applied ||= last !== undefined;
        }
        this.slices.shift();
      }
    } finally {
      this.recomputePending();
    }
    if (failure) throw failure;
    return applied;
  }

  private recomputePending(): void {
    this.pending = 0;
    for (const s of this.slices) if (s.fileEnd > this.pending) this.pending = s.fileEnd;
  }
}
