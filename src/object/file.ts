// ObjectStore over a local directory: key `a/b/c` is the file `<root>/a/b/c`. Writes go to a temp
// file in the target directory, are synced, then renamed over the key, so a reader sees the old
// object or the whole new one, and a crash leaves at most an unlisted temp file behind.
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, read, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errnoError, errorCode, fromSystemError } from '../errors/errno.js';
import {
  checkKey,
  checkListOptions,
  checkRange,
  compareKeys,
  partsOf,
  type ByteRange,
  type GetIntoOptions,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
} from './store.js';

/** Names of in-flight writes; never listed, and never accepted as part of a key. */
export const TEMP_PREFIX = '.strata-tmp-';

export interface FileStoreOptions {
  /** Create the directory (and its parents) when missing. Default false. */
  create?: boolean;
  /**
   * Also fsync the directory after each rename so the new name survives a power loss, not only
   * the bytes. Default true.
   */
  durable?: boolean;
}

/** Objects up to this size are written with synchronous calls when no fsync is needed. */
const SMALL_PUT_BYTES = 256 * 1024;
/** Reads up to this size use synchronous calls for the same reason (open, read and close of a
 * page-cached file cost a few microseconds; three thread-pool round trips cost ~0.3 ms). */
const SMALL_GET_BYTES = 256 * 1024;

// Losing a race with a delete that removes the (then empty) parent directory is retried this often.
const MKDIR_ATTEMPTS = 8;

let tempCounter = 0;
// Random once per process: pids repeat across containers sharing a directory, and drawing random
// bytes for every small put costs more than the write.
const tempSalt = randomBytes(6).toString('hex');

function tempName(): string {
  tempCounter = (tempCounter + 1) >>> 0;
  return `${TEMP_PREFIX}${process.pid}-${tempSalt}-${tempCounter}`;
}

/** The object does not exist as a file: missing, a path through a file, or a directory. */
function isAbsent(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

interface WalkContext {
  prefix: string;
  startAfter?: string;
  /** Set by the consumer: keys under this prefix are already accounted for (rolled up). */
  skip?: string;
}

interface Candidate {
  key: string;
  path: string;
}

export class FileObjectStore implements ObjectStore {
  readonly root: string;
  readonly #durable: boolean;
  #closed = false;

  /** Prefer FileObjectStore.open, which checks the directory. */
  constructor(root: string, options: Pick<FileStoreOptions, 'durable'> = {}) {
    this.root = resolve(root);
    this.#durable = options.durable ?? true;
  }

  /** A store over directory `dir`; ENOENT/ENOTDIR naming it when it is missing or not a directory. */
  static async open(dir: string, options: FileStoreOptions = {}): Promise<FileObjectStore> {
    if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) {
      throw new TypeError(`object store directory must be a non-empty path without NUL bytes, got ${JSON.stringify(dir)}`);
    }
    const root = resolve(dir);
    if (options.create) {
      try {
        await mkdir(root, { recursive: true });
      } catch (err) {
        throw fromSystemError(err, 'mkdir', root, 'cannot create the object store directory');
      }
    }
    let isDir: boolean;
    try {
      isDir = (await stat(root)).isDirectory();
    } catch (err) {
      throw fromSystemError(err, 'stat', root, 'the object store directory must exist (create it, or format the volume first)');
    }
    if (!isDir) throw errnoError('ENOTDIR', 'stat', root, 'the object store location is not a directory');
    return new FileObjectStore(root, options);
  }

  describe(): string {
    const url = pathToFileURL(this.root).href;
    return url.endsWith('/') ? url : `${url}/`;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #check(key: string, syscall: string): string {
    if (this.#closed) throw errnoError('EBADF', syscall, key, `object store ${this.describe()} is closed`);
    checkKey(key, syscall);
    const segments = key.split('/');
    if (segments.some((s) => s.startsWith(TEMP_PREFIX))) {
      throw errnoError('EINVAL', syscall, JSON.stringify(key), `object key segments must not start with "${TEMP_PREFIX}" (reserved for in-flight writes)`);
    }
    return join(this.root, ...segments);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const path = this.#check(key, 'get');
    if (range !== undefined) checkRange(key, range, 'get');
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw this.#readError(err, 'get', key);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw errnoError('ENOENT', 'get', key, `no object with this key in ${this.describe()}`);
      const offset = range?.offset ?? 0;
      const length = Math.max(0, Math.min(range?.length ?? Infinity, st.size - offset));
      const buf = Buffer.allocUnsafe(length);
      const got = await readFully(fh, buf, offset);
      return got === length ? buf : buf.subarray(0, got);
    } catch (err) {
      throw this.#readError(err, 'get', key);
    } finally {
      await fh.close();
    }
  }

  async getInto(key: string, offset: number, target: Uint8Array, options?: GetIntoOptions): Promise<number> {
    const path = this.#check(key, 'get');
    if (!(target instanceof Uint8Array)) throw new TypeError(`getInto target for ${JSON.stringify(key)} must be a Uint8Array`);
    checkRange(key, { offset, length: target.byteLength }, 'get');
    if (target.byteLength <= SMALL_GET_BYTES && options?.etag === undefined) return this.#getSmall(key, path, offset, target);
    // Only the bulk read goes to the thread pool; open and close of a local file take microseconds.
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw this.#readError(err, 'get', key);
    }
    try {
      // Knowing the size saves the pool round trip that would only find the end of the object
      // (block reads ask for a spare byte past it).
      const st = fstatSync(fd);
      // A directory is where a key's "folder" is, never an object.
      if (!st.isFile()) throw Object.assign(new Error('EISDIR: not an object'), { code: 'EISDIR' });
      const stale = () => errnoError('ESTALE', 'get', key, `the object is not the version expected (${options!.etag}): it changed`);
      if (options?.etag !== undefined && fileEtag(fstatSync(fd, { bigint: true })) !== options.etag) throw stale();
      const want = Math.min(target.byteLength, Math.max(0, st.size - offset));
      let done = 0;
      while (done < want) {
        const n = await readAt(fd, target, done, want - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      // Written to while it was read: the bytes may mix two versions.
      if (options?.etag !== undefined && fileEtag(fstatSync(fd, { bigint: true })) !== options.etag) throw stale();
      return done;
    } catch (err) {
      // Reading a directory fails with EISDIR, which #readError reports as a missing object.
      throw this.#readError(err, 'get', key);
    } finally {
      closeSync(fd);
    }
  }

  #getSmall(key: string, path: string, offset: number, target: Uint8Array): number {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw this.#readError(err, 'get', key);
    }
    try {
      let done = 0;
      while (done < target.byteLength) {
        const n = readSync(fd, target, done, target.byteLength - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    } catch (err) {
      throw this.#readError(err, 'get', key);
    } finally {
      closeSync(fd);
    }
  }

  #readError(err: unknown, syscall: string, key: string): Error {
    if (isAbsent(err)) {
      if ((err as { path?: unknown }).path === key) return err as Error; // already ours
      return errnoError('ENOENT', syscall, key, `no object with this key in ${this.describe()}`, err);
    }
    return fromSystemError(err, syscall, key);
  }

  async put(key: string, data: Uint8Array | Uint8Array[]): Promise<void> {
    const path = this.#check(key, 'put');
    const parts = partsOf(data);
    const dir = dirname(path);
    const temp = join(dir, tempName());
    if (!this.#durable && parts.reduce((n, p) => n + p.length, 0) <= SMALL_PUT_BYTES) {
      this.#putSmall(key, path, dir, temp, parts);
      return;
    }
    let fh: FileHandle | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          fh = await open(temp, 'wx', 0o644);
          break;
        } catch (err) {
          if (errorCode(err) !== 'ENOENT' || attempt >= MKDIR_ATTEMPTS) throw err;
          await mkdir(dir, { recursive: true });
        }
      }
      await writeAll(fh, parts);
      // Not durable: the rename is still atomic for other processes and across a process crash;
      // only an OS crash could leave a short file, which the block checksum then reports.
      if (this.#durable) await fh.datasync();
      await fh.close();
      fh = undefined;
      await rename(temp, path);
    } catch (err) {
      if (fh) await fh.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw this.#writeError(err, key, path);
    }
    if (this.#durable) {
      try {
        await syncDirectory(dir);
      } catch (err) {
        throw fromSystemError(err, 'put', key, 'syncing the directory after the rename failed');
      }
    }
  }

  /** Small objects are written synchronously: four thread-pool round trips (open, write, close,
   * rename) cost far more than the few microseconds these calls block the event loop for. */
  #putSmall(key: string, path: string, dir: string, temp: string, parts: Uint8Array[]): void {
    let fd: number | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          fd = openSync(temp, 'wx', 0o644);
          break;
        } catch (err) {
          if (errorCode(err) !== 'ENOENT' || attempt >= MKDIR_ATTEMPTS) throw err;
          mkdirSync(dir, { recursive: true });
        }
      }
      for (const p of parts) {
        for (let done = 0; done < p.length;) done += writeSync(fd, p, done, p.length - done);
      }
      closeSync(fd);
      fd = undefined;
      renameSync(temp, path);
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      try {
        unlinkSync(temp);
      } catch {
        // The temp file may never have been created.
      }
      throw this.#writeError(err, key, path);
    }
  }

  #writeError(err: unknown, key: string, path: string): Error {
    const code = errorCode(err);
    // A file where the key needs a directory, or a directory where it needs a file: keys `a` and
    // `a/b` cannot both live in a directory tree (they can in S3).
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
      return errnoError(code, 'put', key, `the local-directory store cannot hold this key next to an existing key that is its parent or child (${path})`, err);
    }
    return fromSystemError(err, 'put', key);
  }

  async delete(key: string): Promise<void> {
    const path = this.#check(key, 'delete');
    try {
      await unlink(path);
    } catch (err) {
      // EISDIR/EPERM on a directory: no object by that name, which is success too.
      if (isAbsent(err) || errorCode(err) === 'EPERM') return;
      throw fromSystemError(err, 'delete', key);
    }
    await this.#pruneEmptyParents(dirname(path));
  }

  /** Remove now-empty directories up to (not including) the root; stops at the first that is not empty. */
  async #pruneEmptyParents(dir: string): Promise<void> {
    while (dir !== this.root && dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.#check(key, 'head');
    try {
      const st = await stat(path, { bigint: true });
      return st.isFile() ? { key, size: Number(st.size), mtime: st.mtime, etag: fileEtag(st) } : undefined;
    } catch (err) {
      if (isAbsent(err)) return undefined;
      throw fromSystemError(err, 'head', key);
    }
  }

  async list(options?: ListOptions): Promise<ListPage> {
    if (this.#closed) throw errnoError('EBADF', 'list', undefined, `object store ${this.describe()} is closed`);
    const o = checkListOptions(options);
    const ctx: WalkContext = { prefix: o.prefix, startAfter: o.startAfter };
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let count = 0;
    let last: string | undefined;
    let truncated = false;
    for await (const c of this.#walk(this.root, '', ctx)) {
      let common: string | undefined;
      if (o.delimiter !== undefined) {
        const at = c.key.indexOf(o.delimiter, o.prefix.length);
        if (at >= 0) common = c.key.slice(0, at + o.delimiter.length);
      }
      if (common !== undefined) {
        ctx.skip = common;
        // A common prefix equal to startAfter was the last entry of the previous page.
        if (common === o.startAfter) continue;
        if (count === o.limit) {
          truncated = true;
          break;
        }
        prefixes.push(common);
      } else {
        let info: ObjectInfo;
        try {
          const st = await stat(c.path, { bigint: true });
          if (!st.isFile()) continue;
          info = { key: c.key, size: Number(st.size), mtime: st.mtime, etag: fileEtag(st) };
        } catch (err) {
          if (isAbsent(err)) continue; // deleted while we listed
          throw fromSystemError(err, 'list', c.key);
        }
        if (count === o.limit) {
          truncated = true;
          break;
        }
        objects.push(info);
      }
      count++;
      last = common ?? c.key;
    }
    return truncated ? { objects, prefixes, truncated, next: last } : { objects, prefixes, truncated };
  }

  /** Files under `dir` (whose keys start with `rel`) in key byte order, pruned by prefix/startAfter/skip. */
  async *#walk(dir: string, rel: string, ctx: WalkContext): AsyncGenerator<Candidate> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isAbsent(err)) return; // removed while we listed
      throw fromSystemError(err, 'list', rel === '' ? dir : rel);
    }
    // A directory's keys all start with `name/`, so it sorts as that string among its siblings.
    const items: { name: string; full: string; isDir: boolean; order: Buffer }[] = [];
    for (const e of entries) {
      if (e.name.startsWith(TEMP_PREFIX)) continue;
      const isDir = e.isDirectory();
      if (!isDir && !e.isFile()) continue;
      const full = rel + e.name + (isDir ? '/' : '');
      if (!full.startsWith(ctx.prefix) && !(isDir && ctx.prefix.startsWith(full))) continue;
      items.push({ name: e.name, full, isDir, order: Buffer.from(full, 'utf8') });
    }
    items.sort((a, b) => Buffer.compare(a.order, b.order));
    const { startAfter } = ctx;
    for (const item of items) {
      if (ctx.skip !== undefined && item.full.startsWith(ctx.skip)) continue;
      if (item.isDir) {
        // Every key below sorts before startAfter unless startAfter lies below this directory too.
        if (startAfter !== undefined && compareKeys(item.full, startAfter) < 0 && !startAfter.startsWith(item.full)) continue;
        yield* this.#walk(join(dir, item.name), item.full, ctx);
      } else {
        if (startAfter !== undefined && compareKeys(item.full, startAfter) <= 0) continue;
        yield { key: item.full, path: join(dir, item.name) };
      }
    }
  }
}

/** A store over `root`, creating the directory when missing. */
export function createFileObjectStore(root: string, options: Omit<FileStoreOptions, 'create'> = {}): Promise<FileObjectStore> {
  return FileObjectStore.open(root, { ...options, create: true });
}

/** Read into `target` from `position` until it is full or the file ends; returns bytes read. */
async function readFully(fh: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.byteLength) {
    const { bytesRead } = await fh.read(target, done, target.byteLength - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeAll(fh: FileHandle, parts: Uint8Array[]): Promise<void> {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  let written = (await fh.writev(parts)).bytesWritten;
  // writev may stop short (very large writes); finish part by part from where it stopped.
  let skip = written;
  for (const part of parts) {
    if (written >= total) break;
    if (skip >= part.byteLength) {
      skip -= part.byteLength;
      continue;
    }
    let off = skip;
    skip = 0;
    while (off < part.byteLength) {
      const { bytesWritten } = await fh.write(part, off, part.byteLength - off);
      off += bytesWritten;
      written += bytesWritten;
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** pread(2) on the thread pool, without a FileHandle object per call. */
function readAt(fd: number, target: Uint8Array, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, target, at, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** A local file's version, as an ETag stands for an S3 object's: its inode, size, and
 * modification and change times (ns). Any write moves the ctime, which no one can set back. */
function fileEtag(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}-${st.ctimeNs.toString(16)}`;
}
