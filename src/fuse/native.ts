// Loads the native FUSE addon (native/, libfuse3 low-level API) and types it. The addon is
// optional: SDK users without libfuse never load it, and `fuseUnavailable()` says what to install
// when a mount is asked for without it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../hotpath/locate.js';

/** Request id: answer it exactly once with one of the session's reply methods. */
export type FuseRequest = number;

/** The calling thread, as the kernel reports it. */
export interface FuseCtx {
  uid: number;
  gid: number;
  pid: number;
}

/** Attributes for entry/attr replies; times are BigInt nanoseconds since the epoch. */
export interface FuseAttr {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev?: number;
  size: number;
  /** 512-byte units; defaults to ceil(size / 512). */
  blocks?: number;
  blksize?: number;
  /** Entry replies only: inode generation (default 0). */
  generation?: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** What a SETATTR changes: only the fields present. */
export interface FuseSetattr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atimeNs?: bigint;
  atimeNow?: true;
  mtimeNs?: bigint;
  mtimeNow?: true;
  ctimeNs?: bigint;
}

export interface FuseOpenFlags {
  directIo?: boolean;
  keepCache?: boolean;
  nonSeekable?: boolean;
  /** opendir only: let the kernel cache this directory's listing. */
  cacheReaddir?: boolean;
  /** No FLUSH on close (without writeback cache). Every close of a descriptor, including the
   * close-on-exec copies a child process drops, otherwise waits for a JS answer. */
  noFlush?: boolean;
  /** create only: the file is new (not an existing one opened): it has no extended attributes,
   * which the native core then answers for the kernel's ask before the first write. */
  created?: boolean;
}

export interface FuseDirEntry {
  name: string;
  ino: number;
  /** Only the file type bits (S_IFMT) matter. */
  mode: number;
  /** Offset of the *next* entry: the kernel passes it back to continue the listing. */
  off: number;
}

export interface FuseStatfs {
  bsize: number;
  frsize?: number;
  blocks: number;
  bfree: number;
  bavail?: number;
  files: number;
  ffree: number;
  namemax?: number;
}

/** Arguments after (op, req, ctx) for each op. Inode numbers and offsets are below 2^53. */
export interface FuseOpArgs {
  lookup: [parent: number, name: string];
  getattr: [ino: number, fh: number | null];
  setattr: [ino: number, attr: FuseSetattr, fh: number | null];
  readlink: [ino: number];
  mknod: [parent: number, name: string, mode: number, rdev: number];
  mkdir: [parent: number, name: string, mode: number];
  unlink: [parent: number, name: string];
  rmdir: [parent: number, name: string];
  symlink: [target: string, parent: number, name: string];
  rename: [parent: number, name: string, newParent: number, newName: string, flags: number];
  link: [ino: number, newParent: number, newName: string];
  open: [ino: number, flags: number];
  read: [ino: number, fh: number | null, size: number, offset: number];
  /** `data` is valid only until the request is answered, or the handler throws: its memory may
   * then take another write's bytes. */
  write: [ino: number, fh: number | null, data: Uint8Array, offset: number];
  /** lockOwner: the kernel's 64-bit lock owner cookie, in decimal. */
  flush: [ino: number, fh: number | null, lockOwner: string];
  /** flockRelease: the file's flock lock (owner lockOwner) goes with this release. */
  release: [ino: number, fh: number | null, flags: number, lockOwner: string, flockRelease: boolean];
  fsync: [ino: number, fh: number | null, datasync: boolean];
  opendir: [ino: number, flags: number];
  readdir: [ino: number, fh: number | null, size: number, offset: number];
  releasedir: [ino: number, fh: number | null];
  statfs: [ino: number];
  setxattr: [ino: number, name: string, value: Buffer, flags: number];
  /** size 0: the caller asks how big the value is (answer with replyXattr). */
  getxattr: [ino: number, name: string, size: number];
  listxattr: [ino: number, size: number];
  removexattr: [ino: number, name: string];
  access: [ino: number, mask: number];
  create: [parent: number, name: string, mode: number, flags: number];
  /** POSIX record locks (fcntl): lock.len 0 reaches to the end of the file; sleep = F_SETLKW. */
  getlk: [ino: number, fh: number | null, lockOwner: string, lock: FuseLock];
  setlk: [ino: number, fh: number | null, lockOwner: string, lock: FuseLock, sleep: boolean];
  /** flock(2): op is LOCK_SH / LOCK_EX / LOCK_UN, with LOCK_NB when the caller would not wait. */
  flock: [ino: number, fh: number | null, lockOwner: string, op: number];
  /** fallocate(2): mode is its FALLOC_FL_* bits. */
  fallocate: [ino: number, fh: number | null, mode: number, offset: number, length: number];
}

/** struct flock as the kernel sends it: type F_RDLCK (0) / F_WRLCK (1) / F_UNLCK (2). */
export interface FuseLock {
  type: number;
  start: number;
  /** 0: to the end of the file. */
  len: number;
  pid: number;
}

export type FuseOp = keyof FuseOpArgs;

/** One request as the handler receives it; `switch (op)` narrows the rest. */
export type FuseCall = { [K in FuseOp]: [op: K, req: FuseRequest, ctx: FuseCtx, ...args: FuseOpArgs[K]] }[FuseOp];

/** Called on the JS thread for every request. It must not block, and must never touch the own
 * mount with a synchronous fs call (that deadlocks the process). If it throws, the request is
 * answered EIO. */
export type FuseHandler = (...call: FuseCall) => void;

export interface FuseSessionOptions {
  /** Kernel writeback cache: small writes merged into big WRITEs (default false). */
  writebackCache?: boolean;
  /** Largest READ the kernel sends, bytes (default 512 KiB; must equal -o max_read if given). */
  maxRead?: number;
  /** A handler threw (the request was answered EIO). Default: process.emitWarning. */
  onError?: (err: unknown, op: FuseOp) => void;
  /** The loop ended: unmounted, detached by someone else, or failed (code: 0 or -errno). */
  onExit?: (code: number) => void;
}

/**
 * A mounted file system. Reply methods return what libfuse returned (0, or -errno such as
 * -ENOENT when the caller was interrupted); they throw (code ERR_FUSE_UNKNOWN_REQUEST,
 * ERR_FUSE_SESSION_CLOSED, ERR_FUSE_WRONG_REPLY, or a TypeError) without consuming the request
 * when it cannot be answered that way.
 */
export interface NativeState {
  forgets: number;
  lookupsForgotten: number;
  /** Records of the native attribute cache (attributes per inode, names per directory). */
  inodeEntries: number;
  /** getattr and lookup requests the native attribute cache answered (they never reached JS). */
  attrHits: number;
  entryHits: number;
  /** lookups of absent names it answered ENOENT. */
  negativeHits: number;
  /** Marks of the whole cache (a change it could not name): each drops every record. */
  wholeMarks: number;
  /** Marks of every inode's attributes (an unlink or rename of a name it held no valid record of). */
  inodeMarks: number;
  requestTable: number;
  /** Extended-attribute names known absent, and getxattr requests answered from them natively. */
  absentXattrEntries: number;
  absentXattrHits: number;
  /** Write payloads that found every reused slot taken and were given memory of their own. */
  writesWithoutSlot: number;
}

export interface FuseSession {
  /** False once the loop has ended and the session is destroyed. */
  readonly mounted: boolean;
  readonly mountpoint: string;
  /** Requests handed to JS and not yet answered. */
  readonly pending: number;

  /** Detach the mount (lazily: open files keep being served until their last close) and resolve
   * when the loop has ended. `force` (root only) aborts the connection: open files get ENOTCONN. */
  unmount(options?: { force?: boolean }): Promise<void>;
  /** For process 'exit': detach now (as root also abort the connection: nothing will answer any
   * more) without waiting for the loop. */
  detachSync(): boolean;
  /** What the native core keeps and has seen: FORGET requests (answered there, never passed on),
   * the lookups they dropped, entries it keeps per inode, requests waiting for JS. */
  nativeState(): NativeState;
  /** JS found xattr `name` of `ino` absent, for a getxattr asked at `epoch` (its last argument):
   * the native core answers the same question itself for the absent-xattr time to live. */
  xattrAbsent(ino: number, name: string, epoch: number): void;
  /** How long an absent xattr is answered natively (ms; 0, the default, never). */
  setAbsentXattrTtl(ms: number): void;
  /** Answer getattr and lookup natively from what JS last answered, until anything may have
   * changed; `slackMs` is how late attrCacheChanged() may come after another client's change
   * (native answers go to the kernel with their timeout shortened by it). < 0: off (default). */
  setAttrCache(slackMs: number): void;
  /** Something may have changed that no request of this mount did and that cannot be named: the
   * native attribute cache answers nothing it recorded before. */
  attrCacheChanged(): void;
  /** The native attribute cache's next sequence number (taken right after a commit, for
   * attrCacheMark: everything asked before it is below it). */
  attrCacheSeq(): number;
  /** A check for other clients' changes starts: the attrCacheCurrent() that ends it counts from
   * now. */
  attrCacheChecking(): void;
  /** These inodes and names (parents[i], names[i]) changed: what the native attribute cache
   * recorded for them from asks before `at` (from attrCacheSeq; 0: now) is not answered again. */
  attrCacheMark(at: number, inos: number[], parents: number[], names: string[]): void;
  /** Before answering a change to a directory's entries: the directory's attributes after it,
   * which the native attribute cache gives to the kernel's next getattr of it (the kernel drops
   * its own copy at every such change) if nothing else changed the directory meanwhile. */
  alsoAttr(req: FuseRequest, attr: FuseAttr, attrTimeout: number): void;
  /** Before answering an unlink, rmdir, rename or create: the inodes its commit changed (the
   * native core marks them when the answer goes; without this it marks every inode whose name it
   * could not resolve itself). */
  alsoChanged(req: FuseRequest, inos: number[], parents: number[], names: string[]): void;
  /** JS just checked that nothing changed unseen: without such a check within the slack, the
   * native attribute cache answers nothing. */
  attrCacheCurrent(): void;
  /** Whether the live session keeps the event loop alive (it does by default). */
  ref(): this;
  unref(): this;

  replyErr(req: FuseRequest, errno: number): number;
  /** Success without data (errno 0): unlink, rmdir, rename, flush, release, fsync, releasedir,
   * setxattr, removexattr, access. */
  replyNone(req: FuseRequest): number;
  /** A flush or fsync answered with the file's attributes as they are now, which the native
   * attribute cache may then give out for `attrTimeout` seconds. */
  replyNone(req: FuseRequest, attr: FuseAttr, attrTimeout: number): number;
  /** attr null: a negative lookup entry cached for entryTimeoutS. */
  replyEntry(req: FuseRequest, attr: FuseAttr | null, entryTimeoutS: number, attrTimeoutS?: number): number;
  replyAttr(req: FuseRequest, attr: FuseAttr, attrTimeoutS: number): number;
  /** getlk: the conflicting lock, or type F_UNLCK when the asked lock could be taken. */
  replyLock(req: FuseRequest, lock: FuseLock): number;
  /** Whether the caller of a still-pending request was interrupted (a signal). */
  interrupted(req: FuseRequest): boolean;
  replyReadlink(req: FuseRequest, target: string): number;
  replyOpen(req: FuseRequest, fh: number, flags?: FuseOpenFlags): number;
  replyCreate(req: FuseRequest, attr: FuseAttr, entryTimeoutS: number, attrTimeoutS: number, fh: number, flags?: FuseOpenFlags): number;
  replyWrite(req: FuseRequest, count: number): number;
  /** read, readdir (a prebuilt buffer), getxattr, listxattr: sent straight from the Buffer's
   * memory, cut to the size the kernel asked for. The Buffer may be reused once this returns. */
  replyBuf(req: FuseRequest, data: Uint8Array, length?: number): number;
  /** read: native threads send `size` bytes at `offset` of `fd` (a regular file JS chose). The fd
   * is duplicated first, so it may be closed as soon as this returns. */
  replyData(req: FuseRequest, fd: number, offset: number, size: number): number;
  /** Packs entries up to the kernel's buffer size (or `size` if smaller); returns how many fit. */
  replyReaddir(req: FuseRequest, entries: readonly FuseDirEntry[], size?: number): number;
  replyStatfs(req: FuseRequest, statfs: FuseStatfs): number;
  replyXattr(req: FuseRequest, size: number): number;
}

export type FuseAvailability = { ok: true } | { ok: false; reason: string };

export interface FuseSessionConstructor {
  /** Mounts at once (throws ERR_FUSE_MOUNT / ERR_FUSE_SESSION with libfuse's reason).
   * options: libfuse arguments, e.g. ['-o', 'fsname=strata,default_permissions']. */
  new (mountpoint: string, options: readonly string[], handler: FuseHandler, opts?: FuseSessionOptions): FuseSession;
  /** Whether this machine can mount at all (/dev/fuse, fusermount3 for non-root). */
  available(): FuseAvailability;
}

export interface FuseAddon {
  FuseSession: FuseSessionConstructor;
  /** libfuse's version, e.g. "3.14.0". */
  fuseVersion: string;
}

const INSTALL_HINT = 'apt-get install fuse3 libfuse3-dev, then npm run setup';

let loaded: FuseAddon | null = null;
let loadError: string | null = null;
const live = new Set<FuseSession>();

export function addonPath(): string {
  // STRATA_FUSE_ADDON points at another build (tests use it to see the no-FUSE path).
  return process.env.STRATA_FUSE_ADDON || join(packageRoot(), 'native', 'build', 'Release', 'strata_fuse.node');
}

function explainLoadFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const path = addonPath();
  if (!existsSync(path)) {
    if (!existsSync('/usr/include/fuse3/fuse_lowlevel.h')) {
      return `FUSE support is not built: libfuse3-dev and fuse3 are missing (${INSTALL_HINT})`;
    }
    return `the native FUSE addon is not built (${path} is missing; see build/native-build.log): run npm run setup`;
  }
  if (/libfuse3/.test(message)) return `libfuse3 cannot be loaded (${message}): ${INSTALL_HINT}`;
  return `the native FUSE addon cannot be loaded (${message}): rebuild it with npm run setup`;
}

/** Process exit cannot wait for the loop, but the mount must not stay behind as a stale
 * ENOTCONN directory; the addon's env cleanup hook does not run on process.exit(). */
function detachAllOnExit(): void {
  for (const session of live) {
    try {
      session.detachSync();
    } catch {
      // Exiting anyway.
    }
  }
  live.clear();
}

function track(native: FuseSessionConstructor): FuseSessionConstructor {
  const Base = native as unknown as new (...args: unknown[]) => FuseSession;
  class TrackedFuseSession extends Base {
    constructor(mountpoint: string, options: readonly string[], handler: FuseHandler, opts: FuseSessionOptions = {}) {
      const userExit = opts.onExit;
      let self: FuseSession | null = null;
      super(mountpoint, options, handler, {
        ...opts,
        onExit: (code: number) => {
          if (self) live.delete(self);
          userExit?.(code);
        },
      });
      self = this;
      live.add(this);
    }

    static available(): FuseAvailability {
      return native.available();
    }
  }
  return TrackedFuseSession as unknown as FuseSessionConstructor;
}

/** The addon; throws an Error saying what is missing when it cannot be loaded. */
export function loadFuse(): FuseAddon {
  if (loaded) return loaded;
  if (loadError) throw new Error(`strata: ${loadError}`);
  let raw: FuseAddon;
  try {
    raw = createRequire(import.meta.url)(addonPath()) as FuseAddon;
  } catch (err) {
    loadError = explainLoadFailure(err);
    throw new Error(`strata: ${loadError}`, { cause: err });
  }
  process.on('exit', detachAllOnExit);
  loaded = { FuseSession: track(raw.FuseSession), fuseVersion: raw.fuseVersion };
  return loaded;
}

/** null when FUSE mounts can work here; otherwise what is missing and how to get it. */
export function fuseUnavailable(): string | null {
  let addon: FuseAddon;
  try {
    addon = loadFuse();
  } catch {
    return loadError;
  }
  const avail = addon.FuseSession.available();
  return avail.ok ? null : avail.reason;
}
