// The path-level half of the SDK: node:fs/promises calls mapped onto vfs inode operations, with
// Node's argument handling and Node-shaped errors. Volume (volume.ts) adds opening and closing.
import type { ExternalRef } from '../meta/meta.js';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { CHUNK_SIZE } from '../chunk/store.js';
import type { Attr } from '../vfs/attr.js';
import { isDir, isSymlink } from '../vfs/attr.js';
import {
  F_OK, O_ACCMODE, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_TRUNC, O_WRONLY, R_OK, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, SYMLOOP_MAX,
} from '../vfs/constants.js';
import type { Caller } from '../vfs/permissions.js';
import { PathWalker, type Resolved, type ResolvedParent } from '../vfs/resolve.js';
import type { KnownEntry, Vfs } from '../vfs/vfs.js';
import { invalidArgType } from './arg-errors.js';
import {
  toAccessMode, toEncoding, toFlags, toId, toInteger, toMode, toOptions, toPath, toSeconds, type PathLike,
} from './args.js';
import { Dir, DirLister } from './dir.js';
import { Dirent } from './dirent.js';
import { as, fail } from './errors.js';
import { FileHandle, secondsToNs, toBytes, type HandleOwner } from './file-handle.js';
import { makeStats, type BigIntStats, type Stats } from './stats.js';

export const COPYFILE_EXCL = 1;
export const COPYFILE_FICLONE = 2;
export const COPYFILE_FICLONE_FORCE = 4;

export interface StatFs<T = number> { type: T; bsize: T; blocks: T; bfree: T; bavail: T; files: T; ffree: T }

export interface FileInfo {
  inode: number;
  length: number;
  /** Each chunk's slices: their block keys, or for an imported slice (ext) the object it is part of. */
  chunks: { index: number; slices: { id: number; size: number; pos: number; off: number; len: number; keys: string[]; ext?: ExternalRef }[] }[];
}

/** Strata's own statfs "type" magic (ASCII "STRA"). */
const STRATA_FS_TYPE = 0x53545241;

function systemError(code: string, errno: number, syscall: string, message: string, path: string): Error {
  return Object.assign(new Error(message), { name: 'SystemError', code, errno, syscall, path });
}

// Flags under which writeFile of a missing file is exactly "create it holding these bytes".
const ONE_SHOT_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND;

function oneShotCreate(flags: number, bytes: Uint8Array): boolean {
  return (flags & O_CREAT) !== 0 && (flags & ~ONE_SHOT_FLAGS) === 0 && (flags & O_ACCMODE) !== O_RDONLY
    && (flags & O_ACCMODE) !== O_ACCMODE && bytes.byteLength <= CHUNK_SIZE;
}

export class PathApi implements HandleOwner {
  readonly vfs: Vfs;
  readonly caller: Caller;
  readonly dev: number;
  readonly umask: number;
  readonly #handles = new Set<FileHandle>();
  readonly #hidden: ReadonlySet<string>;

  constructor(vfs: Vfs, caller: Caller, dev: number, umask: number) {
    this.vfs = vfs;
    this.caller = caller;
    this.dev = dev;
    this.umask = umask;
    const trash = vfs.meta.trashName;
    this.#hidden = new Set(trash ? [trash] : []);
  }

  forget(handle: FileHandle): void {
    this.#handles.delete(handle);
  }

  /** Handles still open (closed by Volume.close()). */
  protected openHandles(): FileHandle[] {
    return [...this.#handles];
  }

  #walker(syscall: string, path: string): PathWalker {
    return new PathWalker(this.vfs, this.caller, syscall, path);
  }

  #resolve(syscall: string, path: string, follow: boolean): Promise<Resolved> {
    return this.#walker(syscall, path).resolve(follow);
  }

  #parent(syscall: string, path: string): Promise<ResolvedParent> {
    return this.#walker(syscall, path).parentOf();
  }

  // ---- open / read / write ----

  async open(path: PathLike, flags?: string | number, mode?: string | number): Promise<FileHandle> {
    const p = toPath(path);
    const f = toFlags(flags, 'r');
    const m = toMode(mode, 'mode', 0o666);
    return as('open', p, () => this.#open(p, f, m, 0));
  }

  async #open(path: string, flags: number, mode: number, depth: number): Promise<FileHandle> {
    if ((flags & O_ACCMODE) === O_ACCMODE) fail('EINVAL', 'open', path);
    let opened: { fh: number; attr: Attr };
    if (flags & O_CREAT) {
      const where = await this.#parent('open', path);
      if (where.name === '' || where.name === '..' || where.trailingDot) {
        // "/", "x/.." and "x/." name a directory that exists: O_EXCL says so first, then EISDIR.
        fail(flags & O_EXCL ? 'EEXIST' : 'EISDIR', 'open', path);
      }
      // open("name/", O_CREAT): Linux answers EISDIR whether or not name exists.
      if (where.trailingSlash) fail('EISDIR', 'open', path);
      // O_EXCL fails on any existing name, symlink or not: the create says so without a read first.
      let known: KnownEntry = { parent: where.parent, existing: null };
      if (!(flags & O_EXCL)) {
        if (where.entry !== undefined) {
          known = { parent: where.parent, existing: where.entry };
        } else {
          const found = await this.vfs.lookupPath(where.parent.ino, [where.name]);
          if (found.length === 0) fail('ENOENT', 'open', path);
          known = { parent: found[0]!, existing: found[1] ?? null };
        }
      }
      const existing = known.existing;
      if (existing && isSymlink(existing)) {
        if (flags & O_NOFOLLOW) fail('ELOOP', 'open', path);
        if (depth >= SYMLOOP_MAX) fail('ELOOP', 'open', path);
        // O_CREAT follows a symlink, creating its target if it dangles.
        const target = await this.vfs.readlink(this.caller, existing.ino);
        const next = target.startsWith('/') ? target : posix.join(posix.dirname(posix.resolve('/', path)), target);
        return this.#open(next, flags, mode, depth + 1);
      }
      const created = await this.vfs.create(this.caller, where.parent.ino, where.name, mode & ~this.umask, flags, known);
      opened = created;
    } else {
      const r = await this.#resolve('open', path, !(flags & O_NOFOLLOW));
      opened = await this.vfs.open(this.caller, r.attr.ino, flags);
    }
    const handle = new FileHandle(this, opened.fh, opened.attr.ino, flags, opened.attr);
    this.#handles.add(handle);
    return handle;
  }

  /** writeFile of a path that does not exist yet: created with its content in one metadata
   * transaction. False when the name exists (or turns out to), for the open path to handle. */
  async #createWhole(path: string, flags: number, mode: number, bytes: Uint8Array): Promise<boolean> {
    const where = await this.#parent('open', path);
    // Names that are or may be directories, symlinks to follow, ...: the open path knows the rules.
    if (where.name === '' || where.name === '..' || where.trailingDot || where.trailingSlash) return false;
    const known = where.entry !== undefined ? { parent: where.parent, existing: where.entry } : undefined;
    const attr = await this.vfs.createFile(this.caller, where.parent.ino, where.name, mode & ~this.umask, bytes, (flags & O_EXCL) !== 0, undefined, known);
    return attr !== null;
  }

  readFile(path: PathLike | FileHandle, options: { encoding: BufferEncoding; flag?: string | number; signal?: AbortSignal } | BufferEncoding): Promise<string>;
  readFile(path: PathLike | FileHandle, options?: { encoding?: null; flag?: string | number; signal?: AbortSignal } | null): Promise<Buffer>;
  readFile(path: PathLike | FileHandle, options?: unknown): Promise<string | Buffer>;
  async readFile(path: PathLike | FileHandle, options?: unknown): Promise<string | Buffer> {
    if (path instanceof FileHandle) return path.readFile(options);
    const opts = toOptions(options, { encoding: null as string | null, flag: 'r' as string | number, signal: undefined as AbortSignal | undefined });
    toEncoding(opts.encoding);
    opts.signal?.throwIfAborted();
    const fh = await this.open(path, opts.flag);
    try {
      return await as('read', undefined, () => fh.readFile(opts));
    } finally {
      await fh.close();
    }
  }

  async writeFile(path: PathLike | FileHandle, data: unknown, options?: unknown): Promise<void> {
    if (path instanceof FileHandle) return path.writeFile(data, options);
    const opts = toOptions(options, { encoding: 'utf8' as string | null, mode: 0o666 as string | number, flag: 'w' as string | number, signal: undefined as AbortSignal | undefined });
    toEncoding(opts.encoding);
    if (typeof data !== 'string' && !ArrayBuffer.isView(data) && !(data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data))) {
      throw invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
    }
    opts.signal?.throwIfAborted();
    if (typeof data === 'string' || ArrayBuffer.isView(data)) {
      const p = toPath(path);
      const flags = toFlags(opts.flag, 'w');
      const mode = toMode(opts.mode, 'mode', 0o666);
      const bytes = toBytes(data, toEncoding(opts.encoding));
      if (oneShotCreate(flags, bytes) && await as('open', p, () => this.#createWhole(p, flags, mode, bytes))) return;
    }
    const fh = await this.open(path, opts.flag, opts.mode);
    try {
      await fh.writeFile(data, opts);
    } finally {
      await fh.close();
    }
  }

  async appendFile(path: PathLike | FileHandle, data: unknown, options?: unknown): Promise<void> {
    if (path instanceof FileHandle) return path.appendFile(data, options);
    const opts = toOptions(options, { encoding: 'utf8' as string | null, mode: 0o666 as string | number, flag: 'a' as string | number });
    return this.writeFile(path, data, opts);
  }

  async truncate(path: PathLike, len: number = 0): Promise<void> {
    const p = toPath(path);
    const size = Math.max(0, toInteger(len, 'len'));
    await as('open', p, async () => {
      const r = await this.#resolve('open', p, true);
      if (isDir(r.attr)) fail('EISDIR', 'open', p);
      await this.vfs.truncate(this.caller, r.attr.ino, size);
    });
  }

  // ---- attributes ----

  stat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
  stat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
  stat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  async stat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    const p = toPath(path);
    const r = await as('stat', p, () => this.#resolve('stat', p, true));
    return makeStats(r.attr, this.dev, options?.bigint === true);
  }

  lstat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
  lstat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
  lstat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  async lstat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    const p = toPath(path);
    const r = await as('lstat', p, () => this.#resolve('lstat', p, false));
    return makeStats(r.attr, this.dev, options?.bigint === true);
  }

  async #setattr(syscall: string, path: string, follow: boolean, changes: Parameters<Vfs['setattr']>[2]): Promise<void> {
    await as(syscall, path, async () => {
      const r = await this.#resolve(syscall, path, follow);
      await this.vfs.setattr(this.caller, r.attr.ino, changes);
    });
  }

  async chmod(path: PathLike, mode: string | number): Promise<void> {
    const p = toPath(path);
    await this.#setattr('chmod', p, true, { mode: toMode(mode, 'mode', 0) });
  }

  async #chown(syscall: string, path: PathLike, uid: number, gid: number, follow: boolean): Promise<void> {
    const p = toPath(path);
    const u = toId(uid, 'uid');
    const g = toId(gid, 'gid');
    await this.#setattr(syscall, p, follow, { uid: u === -1 ? undefined : u, gid: g === -1 ? undefined : g, chown: true });
  }

  chown(path: PathLike, uid: number, gid: number): Promise<void> {
    return this.#chown('chown', path, uid, gid, true);
  }

  lchown(path: PathLike, uid: number, gid: number): Promise<void> {
    return this.#chown('lchown', path, uid, gid, false);
  }

  async #utimes(syscall: string, path: PathLike, atime: unknown, mtime: unknown, follow: boolean): Promise<void> {
    const p = toPath(path);
    const a = toSeconds(atime, 'atime');
    const m = toSeconds(mtime, 'mtime');
    await this.#setattr(syscall, p, follow, { atimeNs: secondsToNs(a), mtimeNs: secondsToNs(m) });
  }

  utimes(path: PathLike, atime: string | number | Date, mtime: string | number | Date): Promise<void> {
    return this.#utimes('utime', path, atime, mtime, true);
  }

  lutimes(path: PathLike, atime: string | number | Date, mtime: string | number | Date): Promise<void> {
    return this.#utimes('lutime', path, atime, mtime, false);
  }

  async access(path: PathLike, mode?: number): Promise<void> {
    const p = toPath(path);
    const m = toAccessMode(mode);
    await as('access', p, async () => {
      const r = await this.#resolve('access', p, true);
      if (m !== F_OK && !this.vfs.checkAccess(this.caller, r.attr, m)) fail('EACCES', 'access', p);
    });
  }

  async realpath(path: PathLike, options?: unknown): Promise<string> {
    const p = toPath(path);
    const opts = toOptions(options, { encoding: 'utf8' as string | null });
    const r = await as('realpath', p, () => this.#resolve('realpath', p, true));
    const enc = toEncoding(opts.encoding);
    return enc && enc !== 'utf8' ? Buffer.from(r.realpath).toString(enc) : r.realpath;
  }

  async statfs(path: PathLike, options?: { bigint?: boolean }): Promise<StatFs<number> | StatFs<bigint>> {
    const p = toPath(path);
    const s = await as('statfs', p, async () => {
      const r = await this.#resolve('statfs', p, true);
      return this.vfs.statfs(this.caller, r.attr.ino);
    });
    const out = { type: STRATA_FS_TYPE, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    if (options?.bigint) {
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, BigInt(v)])) as unknown as StatFs<bigint>;
    }
    return out;
  }

  // ---- directories ----

  async mkdir(path: PathLike, options?: unknown): Promise<string | undefined> {
    const p = toPath(path);
    const opts = typeof options === 'number' || typeof options === 'string'
      ? { recursive: false, mode: options as string | number }
      : toOptions(options, { recursive: false, mode: 0o777 as string | number });
    const mode = toMode(opts.mode, 'mode', 0o777) & ~this.umask;
    if (!opts.recursive) {
      await this.#mkdirOnce(p, mode);
      return undefined;
    }
    return this.#mkdirp(p, mode);
  }

  #mkdirOnce(path: string, mode: number): Promise<void> {
    return as('mkdir', path, async () => {
      const where = await this.#parent('mkdir', path);
      if (where.name === '' || where.name === '..') fail('EEXIST', 'mkdir', path);
      await this.vfs.mkdir(this.caller, where.parent.ino, where.name, mode, undefined, where.parent);
    });
  }

  /** mkdir -p exactly as Node does it (its results and errors are the reference): try the path;
   * on ENOENT try its dirname first and come back; on EEXIST a directory is fine. Returns the
   * first directory made, spelled as in the path given; errors name the path being tried. */
  async #mkdirp(p: string, mode: number): Promise<string | undefined> {
    const stack = [p];
    let first: string | undefined;
    while (stack.length > 0) {
      const path = stack.pop() as string;
      let failure: unknown = null;
      let code = await this.#mkdirOnce(path, mode).then(() => null, (err: { code?: string }) => {
        if (typeof err.code !== 'string') throw err;
        failure = err;
        return err.code;
      });
      if (code === null) {
        first ??= path;
        continue;
      }
      if (code === 'EACCES' || code === 'ENOSPC' || code === 'ENOTDIR' || code === 'EPERM') fail(code, 'mkdir', path);
      // Anything but a missing parent or a taken name is the answer itself (EIO, EROFS, ...).
      if (code !== 'ENOENT' && code !== 'EEXIST') throw failure;
      if (code === 'ENOENT') {
        const dirname = path.slice(0, Math.max(0, path.lastIndexOf('/')));
        if (dirname !== path) {
          stack.push(path, dirname);
          continue;
        }
        if (stack.length > 0) continue;
        code = 'EEXIST';
      }
      const found = await as('mkdir', path, () => this.#resolve('mkdir', path, true)).then((r) => r.attr, (err: { code?: string }) => {
        if (typeof err.code !== 'string') throw err;
        return err.code;
      });
      if (code === 'EEXIST' && stack.length > 0) {
        if (typeof found !== 'string' && isDir(found)) continue;
        fail('ENOTDIR', 'mkdir', path);
      }
      if (typeof found === 'string') fail(found, 'mkdir', path);
      if (!isDir(found)) fail('EEXIST', 'mkdir', path);
      break;
    }
    return first;
  }

  async #listing(syscall: string, path: string): Promise<DirLister> {
    const r = await this.#resolve(syscall, path, true);
    if (!isDir(r.attr)) fail('ENOTDIR', syscall, path);
    if (!this.vfs.checkAccess(this.caller, r.attr, R_OK)) fail('EACCES', syscall, path);
    const hidden = r.attr.ino === 1 ? this.#hidden : new Set<string>();
    return new DirLister(this.vfs, this.caller, r.attr.ino, hidden);
  }

  readdir(path: PathLike, options: { withFileTypes: true; recursive?: boolean; encoding?: BufferEncoding | null }): Promise<Dirent[]>;
  readdir(path: PathLike, options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer'): Promise<Buffer[]>;
  readdir(path: PathLike, options?: { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null): Promise<string[]>;
  readdir(path: PathLike, options?: unknown): Promise<string[] | Buffer[] | Dirent[]>;
  async readdir(path: PathLike, options?: unknown): Promise<string[] | Buffer[] | Dirent[]> {
    const p = toPath(path);
    const opts = toOptions(options, { encoding: 'utf8' as string | null, withFileTypes: false, recursive: false });
    const enc = toEncoding(opts.encoding);
    const entries = await as('scandir', p, async () => {
      const out: { rel: string; parent: string; name: string; mode: number }[] = [];
      const queue: string[] = [''];
      while (queue.length > 0) {
        const rel = queue.shift() as string;
        const dirPath = rel === '' ? p : posix.join(p, rel);
        const lister = await this.#listing('scandir', dirPath);
        for (const e of await lister.all()) {
          const relName = rel === '' ? e.name : `${rel}/${e.name}`;
          out.push({ rel: relName, parent: dirPath, name: e.name, mode: e.mode });
          if (!opts.recursive) continue;
          if ((e.mode & S_IFMT) === S_IFDIR) {
            queue.push(relName);
          } else if ((e.mode & S_IFMT) === S_IFLNK && !opts.withFileTypes) {
            // Node's recursive listing of names follows symlinks to directories (it stats each
            // path); a loop ends where resolution fails (ELOOP, ENAMETOOLONG), as it does there.
            const target = await this.#resolve('scandir', posix.join(dirPath, e.name), true).catch(() => null);
            if (target && isDir(target.attr)) queue.push(relName);
          }
        }
      }
      return out;
    });
    if (opts.withFileTypes) return entries.map((e) => new Dirent(e.name, e.parent, e.mode));
    const names = entries.map((e) => (opts.recursive ? e.rel : e.name));
    if (enc === null) return names.map((n) => Buffer.from(n));
    return enc === 'utf8' ? names : names.map((n) => Buffer.from(n).toString(enc));
  }

  async opendir(path: PathLike, _options?: unknown): Promise<Dir> {
    const p = toPath(path);
    const lister = await as('opendir', p, () => this.#listing('opendir', p));
    return new Dir(p, lister, async () => undefined);
  }

  async rmdir(path: PathLike, options?: { recursive?: boolean }): Promise<void> {
    const p = toPath(path);
    if (options?.recursive) return this.rm(p, { recursive: true });
    await as('rmdir', p, async () => {
      const where = await this.#parent('rmdir', p);
      if (where.name === '') fail('EBUSY', 'rmdir', p);
      if (where.trailingDot) fail('EINVAL', 'rmdir', p);
      await this.vfs.rmdir(this.caller, where.parent.ino, where.name, where.parent);
    });
  }

  async mkdtemp(prefix: string, options?: unknown): Promise<string> {
    const pre = toPath(prefix, 'prefix');
    toOptions(options, { encoding: 'utf8' as string | null });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    for (let attempt = 0; ; attempt++) {
      const bytes = randomBytes(6);
      const candidate = pre + [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
      try {
        await as('mkdtemp', candidate, async () => {
          const where = await this.#parent('mkdtemp', candidate);
          await this.vfs.mkdir(this.caller, where.parent.ino, where.name, 0o700 & ~this.umask, undefined, where.parent);
        });
        return candidate;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST' || attempt > 100) throw err;
      }
    }
  }

  // ---- namespace changes ----

  async unlink(path: PathLike): Promise<void> {
    const p = toPath(path);
    await as('unlink', p, async () => {
      const where = await this.#parent('unlink', p);
      if (where.name === '') fail('EISDIR', 'unlink', p);
      // "x/." names a directory that exists (the walk to it succeeded).
      if (where.trailingDot) fail('EISDIR', 'unlink', p);
      if (where.trailingSlash) {
        // The kernel judges the entry itself (a symlink, even dangling, is not a directory).
        const entry = await this.vfs.lookup(this.caller, where.parent.ino, where.name);
        fail(isDir(entry) ? 'EISDIR' : 'ENOTDIR', 'unlink', p);
      }
      await this.vfs.unlink(this.caller, where.parent.ino, where.name, where.parent);
    });
  }

  async rename(oldPath: PathLike, newPath: PathLike): Promise<void> {
    const from = toPath(oldPath, 'oldPath');
    const to = toPath(newPath, 'newPath');
    await as('rename', from, async () => {
      // Reads that need no answer from one another go out together (fewer round trips to a
      // metadata server) and are judged in order.
      const dstWhere = this.#walker('rename', to).parentOf();
      dstWhere.catch(() => undefined);
      const src = await this.#parent('rename', from);
      const dst = await dstWhere;
      // Like the kernel: a path ending in '.' or '..' (or the root) is never renamed or replaced.
      if (src.name === '' || dst.name === '' || src.trailingDot || dst.trailingDot || src.name === '..' || dst.name === '..') {
        fail('EBUSY', 'rename', from);
      }
      // The walks read both names already where they could.
      const dstFound = dst.entry !== undefined ? dst.entry : this.vfs.lookup(this.caller, dst.parent.ino, dst.name).catch(() => null);
      const srcAttr = src.entry !== undefined ? src.entry ?? fail('ENOENT', 'rename', from) : await this.vfs.lookup(this.caller, src.parent.ino, src.name);
      if ((src.trailingSlash || dst.trailingSlash) && !isDir(srcAttr)) fail('ENOTDIR', 'rename', from);
      const dstAttr = await dstFound;
      if (dstAttr && isDir(dstAttr) && dstAttr.ino !== srcAttr.ino) {
        // Replacing a directory that holds the source (its parent or further up) is ENOTEMPTY,
        // checked by the kernel before the types of the two are compared.
        const srcParentReal = (await this.#resolve('rename', posix.dirname(posix.resolve('/', from)), true)).realpath;
        const dstReal = (await this.#resolve('rename', to, false)).realpath;
        if (srcParentReal === dstReal || srcParentReal.startsWith(`${dstReal === '/' ? '' : dstReal}/`)) fail('ENOTEMPTY', 'rename', from);
      }
      if (isDir(srcAttr)) {
        // A directory cannot move below itself.
        const srcReal = (await this.#resolve('rename', from, false)).realpath;
        const dstParentReal = (await this.#resolve('rename', posix.dirname(posix.resolve('/', to)), true)).realpath;
        if (dstParentReal === srcReal || dstParentReal.startsWith(`${srcReal}/`)) fail('EINVAL', 'rename', from);
      }
      await this.vfs.rename(this.caller, src.parent.ino, src.name, dst.parent.ino, dst.name, 0);
    }, to);
  }

  async link(existingPath: PathLike, newPath: PathLike): Promise<void> {
    const from = toPath(existingPath, 'existingPath');
    const to = toPath(newPath, 'newPath');
    await as('link', from, async () => {
      const r = await this.#resolve('link', from, false);
      const dst = await this.#parent('link', to);
      if (dst.name === '') fail('EEXIST', 'link', from);
      // The new name's existence is checked before the old one's type (EEXIST before EPERM).
      if (dst.trailingSlash || isDir(r.attr)) {
        const exists = await this.vfs.lookup(this.caller, dst.parent.ino, dst.name).then(() => true, () => false);
        if (exists) fail('EEXIST', 'link', from);
        if (dst.trailingSlash) fail('ENOENT', 'link', from);
      }
      await this.vfs.link(this.caller, r.attr.ino, dst.parent.ino, dst.name);
    }, to);
  }

  async symlink(target: PathLike, path: PathLike, _type?: string | null): Promise<void> {
    const t = toPath(target, 'target');
    const p = toPath(path);
    await as('symlink', t, async () => {
      const where = await this.#parent('symlink', p);
      if (where.name === '' || where.name === '..') fail('EEXIST', 'symlink', t);
      if (where.trailingSlash) {
        const exists = await this.vfs.lookup(this.caller, where.parent.ino, where.name).then(() => true, () => false);
        fail(exists ? 'EEXIST' : 'ENOENT', 'symlink', t);
      }
      await this.vfs.symlink(this.caller, where.parent.ino, where.name, t);
    }, p);
  }

  async readlink(path: PathLike, options?: unknown): Promise<string> {
    const p = toPath(path);
    const opts = toOptions(options, { encoding: 'utf8' as string | null });
    const target = await as('readlink', p, async () => {
      const r = await this.#resolve('readlink', p, false);
      return this.vfs.readlink(this.caller, r.attr.ino);
    });
    const enc = toEncoding(opts.encoding);
    return enc && enc !== 'utf8' ? Buffer.from(target).toString(enc) : target;
  }

  async rm(path: PathLike, options?: { recursive?: boolean; force?: boolean; maxRetries?: number; retryDelay?: number }): Promise<void> {
    const p = toPath(path);
    const recursive = options?.recursive === true;
    const force = options?.force === true;
    let st: Resolved;
    try {
      st = await as('lstat', p, () => this.#resolve('lstat', p, false));
    } catch (err) {
      if (force && (err as { code?: string }).code === 'ENOENT') return;
      throw err;
    }
    if (isDir(st.attr)) {
      if (!recursive) {
        throw systemError('ERR_FS_EISDIR', 21, 'rm', `Path is a directory: rm returned EISDIR (is a directory) ${p}`, p);
      }
      await this.#removeTree(p);
      return;
    }
    await this.unlink(p);
  }

  async #removeTree(path: string): Promise<void> {
    // As Node's rimraf: rmdir first, and only a non-empty directory has its children removed
    // (so "a/." fails with EINVAL before anything inside is touched).
    try {
      await this.rmdir(path);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Node 20's rimraf gives up silently on ENOTDIR here ("link/" naming a directory).
      if (code === 'ENOTDIR') return;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw err;
    }
    const names = (await this.readdir(path)) as string[];
    for (const name of names) {
      const child = posix.join(path, name);
      const st = await this.lstat(child);
      if (st.isDirectory()) await this.#removeTree(child);
      else await this.unlink(child);
    }
    await this.rmdir(path);
  }

  // ---- copies ----

  async copyFile(src: PathLike, dest: PathLike, mode?: number): Promise<void> {
    const from = toPath(src, 'src');
    const to = toPath(dest, 'dest');
    const m = mode === undefined ? 0 : toInteger(mode, 'mode', 0, 7);
    if (m & COPYFILE_FICLONE_FORCE) fail('ENOSYS', 'copyfile', from, to);
    await as('copyfile', from, async () => {
      const srcAttr = (await this.#resolve('copyfile', from, true)).attr;
      if (isDir(srcAttr)) {
        // As libuv does: the destination is opened (so its own errors come first), the copy then
        // fails reading the directory, and the destination is removed.
        // libuv gives the destination the source's mode before copying, so that sticks to any
        // other name of the destination file even though this one is then removed.
        const flags = O_WRONLY | O_CREAT | O_TRUNC | (m & COPYFILE_EXCL ? O_EXCL : 0);
        const out = await this.#open(to, flags, srcAttr.mode & 0o7777, 0);
        await out.chmod(srcAttr.mode & 0o7777).catch(() => undefined);
        await out.close();
        await this.unlink(to).catch(() => undefined);
        fail('EISDIR', 'copyfile', from, to);
      }
      const input = await this.#open(from, O_RDONLY, 0, 0);
      try {
        // Copying a file onto itself (or onto another of its names) leaves it as it is.
        const same = await this.#resolve('copyfile', to, true).then((r) => r.attr.ino === srcAttr.ino, () => false);
        if (same) {
          if (m & COPYFILE_EXCL) fail('EEXIST', 'copyfile', from, to);
          return;
        }
        const flags = O_WRONLY | O_CREAT | O_TRUNC | (m & COPYFILE_EXCL ? O_EXCL : 0);
        const output = await this.#open(to, flags, srcAttr.mode & 0o7777, 0);
        try {
          // libuv gives an existing destination the source's mode too (EPERM tolerated).
          await output.chmod(srcAttr.mode & 0o7777).catch((err: { code?: string }) => {
            if (err.code !== 'EPERM') throw err;
          });
          await this.#pump(input, output);
        } finally {
          await output.close();
        }
      } finally {
        await input.close();
      }
    }, to);
  }

  async #pump(input: FileHandle, output: FileHandle): Promise<void> {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      await output.write(buf, 0, bytesRead, null);
    }
  }

  async cp(src: PathLike, dest: PathLike, options?: {
    recursive?: boolean; force?: boolean; errorOnExist?: boolean; dereference?: boolean; preserveTimestamps?: boolean;
    filter?: (src: string, dest: string) => boolean | Promise<boolean>; verbatimSymlinks?: boolean;
  }): Promise<void> {
    const from = posix.resolve('/', toPath(src, 'src'));
    const to = posix.resolve('/', toPath(dest, 'dest'));
    const o = { recursive: false, force: true, errorOnExist: false, dereference: false, preserveTimestamps: false, ...options };
    if (from === to || to.startsWith(`${from}/`)) {
      const st = await this.lstat(from);
      if (st.isDirectory() || from === to) {
        throw systemError('ERR_FS_CP_EINVAL', 22, 'cp', `Invalid src or dest: cp returned EINVAL (cannot copy ${from} to a subdirectory of self ${to})`, to);
      }
    }
    await this.#cpEntry(from, to, o);
  }

  async #cpEntry(from: string, to: string, o: {
    recursive: boolean; force: boolean; errorOnExist: boolean; dereference: boolean; preserveTimestamps: boolean;
    filter?: (src: string, dest: string) => boolean | Promise<boolean>;
  }): Promise<void> {
    if (o.filter && !(await o.filter(from, to))) return;
    const st = o.dereference ? await this.stat(from) : await this.lstat(from);
    const existing = await this.lstat(to).catch((err: { code?: string }) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st.isDirectory()) {
      if (!o.recursive) {
        throw systemError('ERR_FS_EISDIR', 21, 'cp', `Recursive option is required to copy a directory: cp returned EISDIR (${from} is a directory (not copied))`, from);
      }
      if (existing && !existing.isDirectory()) {
        throw systemError('ERR_FS_CP_DIR_TO_NON_DIR', 21, 'cp', `Cannot overwrite non-directory with directory: cp returned EISDIR (cannot overwrite non-directory ${to} with directory ${from})`, to);
      }
      if (!existing) await this.mkdir(to, { mode: st.mode & 0o7777 });
      for (const name of (await this.readdir(from)) as string[]) {
        await this.#cpEntry(posix.join(from, name), posix.join(to, name), o);
      }
      if (!existing) await this.chmod(to, st.mode & 0o7777);
    } else {
      if (existing) {
        if (existing.isDirectory()) {
          throw systemError('ERR_FS_CP_NON_DIR_TO_DIR', 20, 'cp', `Cannot overwrite directory with non-directory: cp returned ENOTDIR (cannot overwrite directory ${to} with non-directory ${from})`, to);
        }
        if (!o.force) {
          if (o.errorOnExist) throw systemError('ERR_FS_CP_EEXIST', 17, 'cp', `Target already exists: cp returned EEXIST (${to} already exists)`, to);
          return;
        }
        await this.unlink(to);
      }
      if (st.isSymbolicLink()) {
        await this.symlink(await this.readlink(from), to);
      } else if ((st.mode & S_IFMT) === S_IFREG) {
        await this.copyFile(from, to);
      } else {
        throw systemError('ERR_FS_CP_UNKNOWN', 22, 'cp', `Cannot copy an unknown file type: cp returned EINVAL (cannot copy ${from})`, from);
      }
    }
    if (o.preserveTimestamps) await this.lutimes(to, st.atime, st.mtime);
  }

  // ---- xattrs ----

  async getxattr(path: PathLike, name: string): Promise<Buffer> {
    const p = toPath(path);
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    return as('getxattr', p, async () => {
      const r = await this.#resolve('getxattr', p, true);
      return Buffer.from(await this.vfs.getxattr(this.caller, r.attr.ino, name));
    });
  }

  async setxattr(path: PathLike, name: string, value: string | Uint8Array, flags = 0): Promise<void> {
    const p = toPath(path);
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    if (!(bytes instanceof Uint8Array)) throw invalidArgType('value', 'of type string or an instance of Buffer or Uint8Array', value);
    const f = toInteger(flags, 'flags', 0, 3);
    await as('setxattr', p, async () => {
      const r = await this.#resolve('setxattr', p, true);
      await this.vfs.setxattr(this.caller, r.attr.ino, name, bytes, f);
    });
  }

  async listxattr(path: PathLike): Promise<string[]> {
    const p = toPath(path);
    return as('listxattr', p, async () => {
      const r = await this.#resolve('listxattr', p, true);
      return this.vfs.listxattr(this.caller, r.attr.ino);
    });
  }

  async removexattr(path: PathLike, name: string): Promise<void> {
    const p = toPath(path);
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    await as('removexattr', p, async () => {
      const r = await this.#resolve('removexattr', p, true);
      await this.vfs.removexattr(this.caller, r.attr.ino, name);
    });
  }

  // ---- Strata extras ----

  /** Where a file's bytes live: its chunks, their slices, and the object keys of their blocks. */
  async info(path: PathLike): Promise<FileInfo> {
    const p = toPath(path);
    return as('info', p, async () => {
      const r = await this.#resolve('info', p, true);
      const attr = await this.vfs.getattr(r.attr.ino);
      const chunks: FileInfo['chunks'] = [];
      const count = Math.ceil(attr.size / CHUNK_SIZE);
      for (let index = 0; index < count; index++) {
        const slices = await this.vfs.meta.readChunk(attr.ino, index);
        if (slices.length === 0) continue;
        chunks.push({
          index,
          slices: slices.map((s) => ({ ...s, keys: s.id === 0 || s.ext ? [] : this.vfs.store.blockKeys(s.id, s.size) })),
        });
      }
      return { inode: attr.ino, length: attr.size, chunks };
    });
  }
}

