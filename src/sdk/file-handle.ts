// FileHandle shaped like node:fs/promises': a file position for calls with position null,
// reads and writes through the vfs, and the convenience readers/writers Node puts on handles.
import { Readable, Writable } from 'node:stream';
import { createInterface, type Interface } from 'node:readline';
import { isDir, type Attr } from '../vfs/attr.js';
import { O_ACCMODE, O_APPEND, O_RDONLY, O_WRONLY } from '../vfs/constants.js';
import type { Caller } from '../vfs/permissions.js';
import type { Vfs } from '../vfs/vfs.js';
import { invalidArgType, outOfRange } from './arg-errors.js';
import { toEncoding, toId, toMode, toInteger, toOptions, toSeconds } from './args.js';
import { closedHandle, recast } from './errors.js';
import { makeStats, type BigIntStats, type Stats } from './stats.js';

const DEFAULT_READ_SIZE = 16384;
const STREAM_HIGH_WATER = 64 * 1024;
/** Largest single read/write the SDK issues; bigger requests are split. */
const IO_SLICE = 8 * 1024 * 1024;

export interface ReadResult<T extends ArrayBufferView> { bytesRead: number; buffer: T }
export interface WriteResult<T> { bytesWritten: number; buffer: T }
export interface ReadOptions<T extends ArrayBufferView> { buffer?: T; offset?: number; length?: number; position?: number | bigint | null }

/** What a FileHandle needs from the Volume that opened it. */
export interface HandleOwner {
  readonly vfs: Vfs;
  readonly caller: Caller;
  readonly dev: number;
  forget(handle: FileHandle): void;
}

export function toBytes(data: unknown, encoding: BufferEncoding | null, name = 'data'): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw invalidArgType(name, 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

function asView(buffer: ArrayBufferView): Uint8Array {
  return buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A position argument: null/undefined/-1 (or any negative) mean "the file position". */
function toPosition(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value !== 'number') throw invalidArgType('position', 'of type number or bigint', value);
  if (!Number.isInteger(value)) throw outOfRange('position', 'an integer', value);
  return value < 0 ? null : value;
}

export class FileHandle {
  #fd: number;
  #pos = 0;
  #closing: Promise<void> | null = null;
  readonly #owner: HandleOwner;
  readonly #flags: number;
  readonly #ino: number;
  /** The attributes open read: the file's type, and a first guess at its size for readFile. */
  readonly #opened: Attr | undefined;

  constructor(owner: HandleOwner, fd: number, ino: number, flags: number, opened?: Attr) {
    this.#owner = owner;
    this.#fd = fd;
    this.#ino = ino;
    this.#flags = flags;
    this.#opened = opened;
  }

  /** The vfs file handle number (-1 once closed). */
  get fd(): number { return this.#fd; }

  #live(syscall: string): number {
    if (this.#fd < 0 || this.#closing) throw closedHandle(syscall);
    return this.#fd;
  }

  async #call<T>(syscall: string, fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = this.#live(syscall);
    try {
      return await fn(fd);
    } catch (err) {
      throw recast(err, syscall);
    }
  }

  get #readable(): boolean { return (this.#flags & O_ACCMODE) !== O_WRONLY; }
  get #writable(): boolean { return (this.#flags & O_ACCMODE) !== O_RDONLY; }

  /** Read into `target` at `position` (null: the file position, which then advances). */
  async #readAt(target: Uint8Array, position: number | null): Promise<number> {
    return this.#call('read', async (fd) => {
      const at = position ?? this.#pos;
      let done = 0;
      while (done < target.length) {
        const n = await this.#owner.vfs.read(fd, at + done, target.subarray(done, Math.min(target.length, done + IO_SLICE)));
        if (n === 0) break;
        done += n;
      }
      if (position === null) this.#pos = at + done;
      return done;
    });
  }

  async #writeAt(data: Uint8Array, position: number | null): Promise<number> {
    return this.#call('write', async (fd) => {
      if (data.length === 0) return 0;
      // Reserve the range before awaiting so unawaited writes at the file position do not overlap.
      const at = position ?? this.#pos;
      if (position === null) this.#pos += data.length;
      let done = 0;
      let end = at;
      while (done < data.length) {
        const piece = data.subarray(done, Math.min(data.length, done + IO_SLICE));
        const res = await this.#owner.vfs.writeAt(fd, at + done, piece);
        done += res.bytes;
        end = res.offset + res.bytes;
      }
      // Appends land at the end of the file wherever the position was; the position follows them.
      if (position === null && (this.#flags & O_APPEND) !== 0) this.#pos = end;
      return done;
    });
  }

  read<T extends ArrayBufferView = Buffer>(options?: ReadOptions<T>): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView>(buffer: T, options?: ReadOptions<T>): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView>(buffer: T, offset?: number | null, length?: number | null, position?: number | bigint | null): Promise<ReadResult<T>>;
  async read<T extends ArrayBufferView>(a?: unknown, b?: unknown, c?: unknown, d?: unknown): Promise<ReadResult<T>> {
    let buffer: T | undefined;
    let offset: unknown;
    let length: unknown;
    let position: unknown;
    if (a === undefined || a === null || (!ArrayBuffer.isView(a) && typeof a === 'object')) {
      const o = (a ?? {}) as ReadOptions<T>;
      buffer = o.buffer; offset = o.offset; length = o.length; position = o.position;
    } else if (ArrayBuffer.isView(a)) {
      buffer = a as T;
      if (b !== null && typeof b === 'object') {
        const o = b as ReadOptions<T>;
        offset = o.offset; length = o.length; position = o.position;
      } else {
        offset = b; length = c; position = d;
      }
    } else {
      throw invalidArgType('buffer', 'an instance of Buffer, TypedArray, or DataView', a);
    }
    buffer ??= Buffer.alloc(DEFAULT_READ_SIZE) as unknown as T;
    const view = asView(buffer);
    const off = offset == null ? 0 : toInteger(offset, 'offset', 0);
    if (off > view.length) throw outOfRange('offset', `>= 0 && <= ${view.length}`, off);
    const len = length == null ? view.length - off : toInteger(length, 'length');
    if (len < 0) throw outOfRange('length', '>= 0', len);
    if (len > view.length - off) throw outOfRange('length', `<= ${view.length - off}`, len);
    this.#live('read');
    // Node answers a zero-length read of an open handle before looking at the position or the
    // access mode (even of a write-only one).
    if (len === 0) return { bytesRead: 0, buffer };
    const pos = toPosition(position);
    if (!this.#readable) throw recast({ code: 'EBADF' }, 'read');
    const bytesRead = await this.#readAt(view.subarray(off, off + len), pos);
    return { bytesRead, buffer };
  }

  async readv<T extends ArrayBufferView[]>(buffers: T, position?: number | bigint | null): Promise<{ bytesRead: number; buffers: T }> {
    if (!Array.isArray(buffers)) throw invalidArgType('buffers', 'an instance of ArrayBufferView[]', buffers);
    let pos = toPosition(position);
    let bytesRead = 0;
    this.#live('read');
    if (!this.#readable) throw recast({ code: 'EBADF' }, 'read');
    for (const b of buffers) {
      const view = asView(b);
      const n = await this.#readAt(view, pos);
      bytesRead += n;
      if (pos !== null) pos += n;
      if (n < view.length) break;
    }
    return { bytesRead, buffers };
  }

  write<T extends ArrayBufferView>(buffer: T, offset?: number | null, length?: number | null, position?: number | bigint | null): Promise<WriteResult<T>>;
  write<T extends ArrayBufferView>(buffer: T, options?: { offset?: number; length?: number; position?: number | null }): Promise<WriteResult<T>>;
  write(data: string, position?: number | bigint | null, encoding?: BufferEncoding | null): Promise<WriteResult<string>>;
  async write(a: unknown, b?: unknown, c?: unknown, d?: unknown): Promise<WriteResult<unknown>> {
    let bytes: Uint8Array;
    let position: number | null;
    if (typeof a === 'string') {
      position = toPosition(b);
      bytes = Buffer.from(a, toEncoding(c) ?? 'utf8');
    } else if (ArrayBuffer.isView(a)) {
      const view = asView(a);
      let offset = b;
      let length = c;
      let pos = d;
      if (b !== null && typeof b === 'object') {
        const o = b as { offset?: number; length?: number; position?: number | null };
        offset = o.offset; length = o.length; pos = o.position;
      }
      const off = offset == null ? 0 : toInteger(offset, 'offset', 0);
      if (off > view.length) throw outOfRange('offset', `>= 0 && <= ${view.length}`, off);
      const len = length == null ? view.length - off : toInteger(length, 'length', 0);
      if (len > view.length - off) throw outOfRange('length', `<= ${view.length - off}`, len);
      bytes = view.subarray(off, off + len);
      position = toPosition(pos);
    } else {
      throw invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', a);
    }
    this.#live('write');
    // Node answers a write from an empty buffer of an open handle before looking at the access
    // mode (even of a read-only one).
    if (ArrayBuffer.isView(a) && a.byteLength === 0) return { bytesWritten: 0, buffer: a };
    if (!this.#writable) throw recast({ code: 'EBADF' }, 'write');
    const bytesWritten = await this.#writeAt(bytes, position);
    return { bytesWritten, buffer: a };
  }

  async writev<T extends ArrayBufferView[]>(buffers: T, position?: number | bigint | null): Promise<{ bytesWritten: number; buffers: T }> {
    if (!Array.isArray(buffers)) throw invalidArgType('buffers', 'an instance of ArrayBufferView[]', buffers);
    const joined = Buffer.concat(buffers.map(asView));
    this.#live('write');
    if (buffers.length === 0) return { bytesWritten: 0, buffers };
    if (!this.#writable) throw recast({ code: 'EBADF' }, 'write');
    const bytesWritten = await this.#writeAt(joined, toPosition(position));
    return { bytesWritten, buffers };
  }

  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  async stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    const attr = await this.#call('fstat', () => this.#owner.vfs.getattr(this.#ino));
    return makeStats(attr, this.#owner.dev, options?.bigint === true);
  }

  async truncate(len: number = 0): Promise<void> {
    const size = Math.max(0, toInteger(len, 'len'));
    await this.#call('ftruncate', async (fd) => {
      await this.#owner.vfs.ftruncate(this.#owner.caller, fd, size);
    });
  }

  async sync(): Promise<void> {
    await this.#call('fsync', (fd) => this.#owner.vfs.fsync(fd, false));
  }

  async datasync(): Promise<void> {
    await this.#call('fdatasync', (fd) => this.#owner.vfs.fsync(fd, true));
  }

  async chmod(mode: string | number): Promise<void> {
    const m = toMode(mode, 'mode', 0);
    await this.#call('fchmod', async () => {
      await this.#owner.vfs.setattr(this.#owner.caller, this.#ino, { mode: m });
    });
  }

  async chown(uid: number, gid: number): Promise<void> {
    const u = toId(uid, 'uid');
    const g = toId(gid, 'gid');
    await this.#call('fchown', async () => {
      await this.#owner.vfs.setattr(this.#owner.caller, this.#ino, {
        uid: u === -1 ? undefined : u, gid: g === -1 ? undefined : g, chown: true,
      });
    });
  }

  async utimes(atime: string | number | Date, mtime: string | number | Date): Promise<void> {
    const a = toSeconds(atime, 'atime');
    const m = toSeconds(mtime, 'mtime');
    await this.#call('futime', async () => {
      await this.#owner.vfs.setattr(this.#owner.caller, this.#ino, { atimeNs: secondsToNs(a), mtimeNs: secondsToNs(m) });
    });
  }

  readFile(options: { encoding: BufferEncoding } | BufferEncoding): Promise<string>;
  readFile(options?: { encoding?: null; signal?: AbortSignal } | null): Promise<Buffer>;
  readFile(options?: unknown): Promise<string | Buffer>;
  async readFile(options?: unknown): Promise<string | Buffer> {
    const opts = toOptions(options, { encoding: null as string | null, signal: undefined as AbortSignal | undefined });
    const encoding = toEncoding(opts.encoding);
    this.#live('read');
    if (!this.#readable) throw recast({ code: 'EBADF' }, 'read');
    // The size only sizes the first read (reads go on to end of file whatever it says): what open
    // read serves, without a round trip to the metadata server of its own.
    const attr = this.#opened ?? await this.#call('fstat', () => this.#owner.vfs.getattr(this.#ino));
    if (isDir(attr)) throw recast({ code: 'EISDIR' }, 'read');
    const parts: Buffer[] = [];
    let total = 0;
    let want = Math.max(DEFAULT_READ_SIZE, Math.min(attr.size - this.#pos + 1, IO_SLICE));
    for (;;) {
      opts.signal?.throwIfAborted();
      const chunk = Buffer.allocUnsafe(want);
      const n = await this.#readAt(chunk, null);
      if (n === 0) break;
      parts.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      want = Math.min(IO_SLICE, Math.max(DEFAULT_READ_SIZE, want));
    }
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
    return encoding ? buf.toString(encoding) : buf;
  }

  async writeFile(data: unknown, options?: unknown): Promise<void> {
    const opts = toOptions(options, { encoding: 'utf8' as string | null, signal: undefined as AbortSignal | undefined });
    const encoding = toEncoding(opts.encoding);
    if (isAsyncSource(data)) {
      for await (const piece of data as AsyncIterable<unknown>) {
        opts.signal?.throwIfAborted();
        await this.write(toBytes(piece, encoding) as Buffer);
      }
      return;
    }
    const bytes = toBytes(data, encoding);
    this.#live('write');
    if (!this.#writable) throw recast({ code: 'EBADF' }, 'write');
    opts.signal?.throwIfAborted();
    await this.#writeAt(bytes, null);
  }

  appendFile(data: unknown, options?: unknown): Promise<void> {
    return this.writeFile(data, options);
  }

  readLines(options?: { encoding?: BufferEncoding; start?: number; end?: number; highWaterMark?: number }): Interface {
    return createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  createReadStream(options?: {
    encoding?: BufferEncoding | null; autoClose?: boolean; emitClose?: boolean; start?: number; end?: number; highWaterMark?: number; signal?: AbortSignal;
  }): Readable {
    const o = options ?? {};
    const start = o.start === undefined ? null : toInteger(o.start, 'start', 0);
    const end = o.end === undefined || o.end === Infinity ? Infinity : toInteger(o.end, 'end', 0);
    if (start !== null && end !== Infinity && start > end) throw outOfRange('start', `<= "end" (here: ${end})`, start);
    const hwm = o.highWaterMark ?? STREAM_HIGH_WATER;
    const autoClose = o.autoClose ?? true;
    let next = start;
    const stream = new Readable({
      highWaterMark: hwm,
      encoding: o.encoding ?? undefined,
      emitClose: o.emitClose ?? true,
      signal: o.signal,
      read: (size) => {
        const at = next ?? this.#pos;
        const limit = end === Infinity ? size : Math.min(size, end - at + 1);
        if (limit <= 0) { stream.push(null); return; }
        const buf = Buffer.allocUnsafe(limit);
        this.#readAt(buf, next).then((n) => {
          if (next !== null) next += n;
          stream.push(n === 0 ? null : buf.subarray(0, n));
        }, (err: unknown) => stream.destroy(err as Error));
      },
      destroy: (err, cb) => {
        if (!autoClose || this.#fd < 0) { cb(err); return; }
        this.close().then(() => cb(err), (e: unknown) => cb((err ?? e) as Error));
      },
    });
    return stream;
  }

  createWriteStream(options?: {
    encoding?: BufferEncoding | null; autoClose?: boolean; emitClose?: boolean; start?: number; highWaterMark?: number; flush?: boolean; signal?: AbortSignal;
  }): Writable {
    const o = options ?? {};
    let next = o.start === undefined ? null : toInteger(o.start, 'start', 0);
    const autoClose = o.autoClose ?? true;
    const encoding = o.encoding ?? 'utf8';
    const stream = new Writable({
      highWaterMark: o.highWaterMark ?? 16 * 1024,
      decodeStrings: true,
      defaultEncoding: encoding,
      emitClose: o.emitClose ?? true,
      signal: o.signal,
      write: (chunk: Buffer, _enc, cb) => {
        this.#writeAt(chunk, next).then((n) => {
          if (next !== null) next += n;
          cb();
        }, (err: unknown) => cb(err as Error));
      },
      final: (cb) => {
        if (!o.flush) { cb(); return; }
        this.sync().then(() => cb(), (err: unknown) => cb(err as Error));
      },
      destroy: (err, cb) => {
        if (!autoClose || this.#fd < 0) { cb(err); return; }
        this.close().then(() => cb(err), (e: unknown) => cb((err ?? e) as Error));
      },
    });
    return stream;
  }

  /** Flush this handle's writes and release it; later calls fail with EBADF. Idempotent. */
  close(): Promise<void> {
    if (this.#fd < 0) return this.#closing ?? Promise.resolve();
    if (this.#closing) return this.#closing;
    const fd = this.#fd;
    this.#closing = (async () => {
      try {
        await this.#owner.vfs.release(fd);
      } catch (err) {
        throw recast(err, 'close');
      } finally {
        this.#fd = -1;
        this.#owner.forget(this);
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export function secondsToNs(seconds: number): bigint {
  const whole = Math.floor(seconds);
  const frac = Math.round((seconds - whole) * 1e9);
  return BigInt(whole) * 1_000_000_000n + BigInt(frac);
}

function isAsyncSource(data: unknown): boolean {
  if (data === null || typeof data !== 'object' || typeof data === 'string' || ArrayBuffer.isView(data)) return false;
  return Symbol.asyncIterator in data || Symbol.iterator in data;
}
