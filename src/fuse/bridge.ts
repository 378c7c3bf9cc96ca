// The FUSE bridge: requests from the native session (one JS callback per request, already on the
// JS thread) become vfs calls; each request is answered exactly once, as soon as the answer
// exists. Errors with an errno code answer with it; anything else is EIO and is logged.
import { constants as osConstants } from 'node:os';
import type { Attr } from '../vfs/attr.js';
import { withoutPrivileges, type Caller } from '../vfs/permissions.js';
import type { SetAttr, Vfs } from '../vfs/vfs.js';
import { callerOf, type RequestContext } from './callers.js';
import { MountStats, STATS_INO, STATS_NAME } from './stats.js';
import type { FuseAttr, FuseLock, FuseSession, FuseSetattr } from './native.js';
import type { LockKind, RangeLock } from '../meta/meta.js';
import type { OwnCommits } from './own-commits.js';

/** The answering half of a session (what the bridge needs; tests may stand in for it). */
export type FuseReplies = Pick<FuseSession, 'replyErr' | 'replyNone' | 'replyEntry' | 'replyAttr' | 'replyReadlink' | 'replyOpen'
  | 'replyCreate' | 'replyWrite' | 'replyBuf' | 'replyReaddir' | 'replyStatfs' | 'replyXattr' | 'replyLock' | 'interrupted' | 'xattrAbsent'
  | 'alsoAttr' | 'alsoChanged'>;

/** This mount's own commits, for naming what a request's commits changed. */
export interface CommitMarks {
  own: Pick<OwnCommits, 'mark' | 'since'>;
  /** Mark these in the native attribute cache now (changes committed after a request's answer). */
  mark(inos: number[], parents: number[], names: string[]): void;
  markAll(): void;
}

export interface CacheTimeouts {
  /** Seconds the kernel may keep attributes (0: ask every time). */
  attr: number;
  /** Seconds the kernel may keep a name -> inode entry. */
  entry: number;
  /** Seconds for entries of directories (their listings change more often than files). */
  dirEntry: number;
}

export interface BridgeOptions {
  timeouts: CacheTimeouts;
  /** Refuse every change with EROFS. */
  readOnly: boolean;
  /** Let the kernel keep a file's pages across opens when the file has not changed since. */
  keepCache: boolean;
  /** The kernel's writeback cache is on: it writes pages through whichever handle it holds. */
  writebackCache?: boolean;
  log: (message: string) => void;
  /** The volume's name, which labels the mount's metrics. */
  volume?: string;
  /** Told when a request arrives and when it is answered (busy polling). */
  activity?: () => void;
  /** This mount's own commits; given exactly when the native attribute cache is on (attribute
   * and entry timeouts above 0). */
  commits?: CommitMarks;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const O_ACCMODE = 3;
const O_TRUNC = 0o1000;

/** Files whose attributes at last open are remembered (for keep-cache decisions). */
const OPEN_STAMPS = 65_536;

/** Entries asked of meta per READDIR; the native side keeps what fits the kernel's buffer. */
const READDIR_BATCH = 256;

function errnoNumber(err: unknown): number {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    const n = (osConstants.errno as Record<string, number>)[code];
    if (typeof n === 'number') return n;
  }
  return osConstants.errno.EIO;
}

function isErrno(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code in osConstants.errno;
}

export function toFuseAttr(a: Attr): FuseAttr {
  return {
    ino: a.ino, mode: a.mode, nlink: a.nlink, uid: a.uid, gid: a.gid, rdev: a.rdev, size: a.size,
    blocks: a.blocks, atimeNs: a.atimeNs, mtimeNs: a.mtimeNs, ctimeNs: a.ctimeNs,
  };
}

type Handler = (req: number, caller: Caller, ...args: never[]) => Promise<void>;

const ROOT_INO = 1;
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
/** A waiting lock is retried at least this often. */
const LOCK_POLL_MAX_MS = 100;

function toRangeLock(l: FuseLock): RangeLock {
  const kind = l.type === F_RDLCK ? 'read' : l.type === F_WRLCK ? 'write' : 'unlock';
  return { kind, start: l.start, end: l.len === 0 ? -1 : l.start + l.len, pid: l.pid };
}

function fromRangeLock(l: RangeLock): FuseLock {
  return { type: l.kind === 'read' ? F_RDLCK : l.kind === 'write' ? F_WRLCK : F_UNLCK, start: l.start, len: l.end === -1 ? 0 : l.end - l.start, pid: l.pid };
}

function flockKind(op: number): LockKind {
  if (op & LOCK_UN) return 'unlock';
  if (op & LOCK_EX) return 'write';
  if (op & LOCK_SH) return 'read';
  throw Object.assign(new Error(`flock: unknown operation ${op}`), { code: 'EINVAL' });
}
/** Handles of opened `.stats` files live above every vfs handle number. */
const STATS_FH_BASE = 2 ** 52;

export class FuseBridge {
  readonly stats: MountStats;
  readonly #handlers: Record<string, Handler>;
  readonly #openStamps = new Map<number, string>();
  /** Open `.stats` handles: each reads the snapshot taken when it was opened. */
  readonly #statsReads = new Map<number, Buffer>();
  /** `ino:owner` pairs that took record (fcntl) locks or flocks here: only those need an unlock
   * on flush / release (which otherwise cost no metadata transaction). */
  readonly #recordLockOwners = new Set<string>();
  readonly #flockOwners = new Set<string>();
  /** Handles opened for writing: their flush answers with the file's attributes. */
  readonly #writableFhs = new Set<number>();
  #nextStatsFh = STATS_FH_BASE;

  constructor(
    private readonly vfs: Vfs,
    private readonly reply: FuseReplies,
    private readonly options: BridgeOptions,
  ) {
    this.stats = new MountStats(() => vfs.store.stats(), options.volume);
    this.#handlers = this.#build();
  }

  /** The native session's callback: `op` with its request id, the caller, and the op's arguments. */
  handle(op: string, req: number, ctx: RequestContext, ...args: unknown[]): void {
    this.options.activity?.();
    const started = this.stats.begin();
    const handler = this.#handlers[op];
    if (!handler) {
      this.stats.end(op, started, true);
      this.reply.replyErr(req, osConstants.errno.ENOSYS);
      return;
    }
    let caller: Caller;
    try {
      caller = callerOf(ctx);
    } catch (err) {
      this.stats.end(op, started, true);
      this.#fail(op, req, err);
      return;
    }
    (handler as (req: number, caller: Caller, ...rest: unknown[]) => Promise<void>)(req, caller, ...args).then(
      () => {
        this.stats.end(op, started, false);
        this.options.activity?.();
      },
      (err: unknown) => {
        this.stats.end(op, started, true);
        this.#fail(op, req, err);
        this.options.activity?.();
      },
    );
  }

  /** Try `take`; when it finds the lock held (EAGAIN) and the caller waits (F_SETLKW, flock
   * without LOCK_NB), try again with backoff until it is free or the caller is interrupted. */
  async #waitFor(req: number, wait: boolean, take: () => Promise<void>): Promise<void> {
    for (let delay = 2; ; delay = Math.min(delay * 2, LOCK_POLL_MAX_MS)) {
      try {
        await take();
        return;
      } catch (err) {
        if (!wait || (err as { code?: string }).code !== 'EAGAIN') throw err;
      }
      if (this.reply.interrupted(req)) throw Object.assign(new Error('interrupted while waiting for a lock'), { code: 'EINTR' });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  #notStats(ino: number): void {
    if (ino === STATS_INO) throw Object.assign(new Error('no locks on .stats'), { code: 'ENOLCK' });
  }

  /** `.stats` at the root is the mount's own: nothing may create, remove or rename it. */
  #reserved(parent: number, name: string): void {
    if (parent === ROOT_INO && name === STATS_NAME) throw Object.assign(new Error(`${STATS_NAME} is reserved`), { code: 'EPERM' });
  }

  #fail(op: string, req: number, err: unknown): void {
    if (!isErrno(err)) this.options.log(`fuse ${op}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    try {
      this.reply.replyErr(req, errnoNumber(err));
    } catch (replyErr) {
      // Already answered (the handler failed after replying): nothing more to send.
      this.options.log(`fuse ${op}: could not answer request ${req}: ${(replyErr as Error).message}`);
    }
  }

  /** The kernel drops a directory's attributes whenever its entries change, and asks for them
   * again before the next change in it (a permission check): they go with the answer, for the
   * native core to give. */
  async #dirAfter(req: number, dir: number): Promise<void> {
    if (!this.options.commits) return;
    const attr = await this.vfs.getattr(dir).catch(() => null);
    if (attr) this.reply.alsoAttr(req, toFuseAttr(attr), this.options.timeouts.attr);
  }

  /** Where this mount's commits stand before a request's metadata calls. */
  #commitMark(): number | undefined {
    return this.options.commits?.own.mark();
  }

  /** What the request's commits changed, for the native core to mark with the answer (without
   * it, every inode whose name the native core could not resolve is marked). `evenNone`: say so
   * also when nothing was committed (a failed unlink changed nothing). */
  #changedSince(req: number, mark: number | undefined, evenNone: boolean): void {
    if (mark === undefined) return;
    const keys = this.options.commits!.own.since(mark);
    if (keys && (evenNone || keys.inos.length > 0 || keys.names.length > 0)) this.reply.alsoChanged(req, keys.inos, keys.parents, keys.names);
  }

  /** Run `change` (a request's metadata calls) and hand what its commits changed to the native
   * core with the answer, failed or not. */
  async #naming<T>(req: number, change: () => Promise<T>): Promise<T> {
    const mark = this.#commitMark();
    let result: T;
    try {
      result = await change();
    } catch (err) {
      // A commit whose outcome is unknown is not in the report: say nothing, so that the native
      // core marks what it could not name.
      if (!(err as { commitUnknown?: boolean }).commitUnknown) this.#changedSince(req, mark, true);
      throw err;
    }
    this.#changedSince(req, mark, true);
    return result;
  }

  /** Run `work` (which may commit what other handles wrote) and hand over what it committed,
   * failed or not. */
  async #committing<T>(req: number, work: () => Promise<T>): Promise<T> {
    const mark = this.#commitMark();
    try {
      return await work();
    } finally {
      this.#changedSince(req, mark, false);
    }
  }

  /** Commits a request made after its answer (a release's): marked now. */
  #committedAfter(mark: number | undefined): void {
    if (mark === undefined) return;
    const keys = this.options.commits!.own.since(mark);
    if (keys === null) this.options.commits!.markAll();
    else if (keys.inos.length > 0 || keys.names.length > 0) this.options.commits!.mark(keys.inos, keys.parents, keys.names);
  }

  #entry(req: number, attr: Attr): void {
    const t = this.options.timeouts;
    this.reply.replyEntry(req, toFuseAttr(attr), (attr.mode & S_IFMT) === S_IFDIR ? t.dirEntry : t.entry, t.attr);
  }

  /** Close-to-open: the kernel may keep a file's cached pages across an open only if the file
   * is as it was at the previous open here (another client may have written it meanwhile). */
  #unchanged(attr: Attr): boolean {
    if (!this.options.keepCache) return false;
    const stamp = `${attr.size}:${attr.mtimeNs}:${attr.ctimeNs}`;
    const same = this.#openStamps.get(attr.ino) === stamp;
    if (this.#openStamps.size >= OPEN_STAMPS) this.#openStamps.clear();
    this.#openStamps.set(attr.ino, stamp);
    return same;
  }

  /** With default_permissions (always on here) the kernel refuses chmod(2) by anyone but the
   * owner itself. A mode change from someone else that only drops setuid/setgid is the kernel
   * clearing privileges before that caller writes or truncates (it sends it as SETATTR). */
  async #dropsPrivileges(caller: Caller, ino: number, mode: number): Promise<boolean> {
    if (caller.uid === 0) return false;
    const attr = await this.vfs.getattr(ino);
    return attr.uid !== caller.uid && (attr.mode & 0o7777) !== mode && (withoutPrivileges(attr.mode) & 0o7777) === mode;
  }

  #writable(): void {
    if (this.options.readOnly) throw Object.assign(new Error('read-only mount'), { code: 'EROFS' });
  }

  #build(): Record<string, Handler> {
    const vfs = this.vfs;
    const reply = this.reply;
    const t = this.options.timeouts;
    return {
      lookup: async (req, caller, parent: number, name: string) => {
        if (parent === ROOT_INO && name === STATS_NAME) {
          this.reply.replyEntry(req, toFuseAttr(this.stats.attr()), 0, 0);
          return;
        }
        this.#entry(req, await vfs.lookup(caller, parent, name));
      },
      getattr: async (req, _caller, ino: number) => {
        if (ino === STATS_INO) {
          reply.replyAttr(req, toFuseAttr(this.stats.attr()), 0);
          return;
        }
        reply.replyAttr(req, toFuseAttr(await vfs.getattr(ino)), t.attr);
      },
      setattr: async (req, caller, ino: number, set: FuseSetattr, fh: number | null) => {
        this.#writable();
        if (ino === STATS_INO) throw Object.assign(new Error('read-only'), { code: 'EPERM' });
        const changes: SetAttr = {};
        if (set.mode !== undefined) {
          const mode = set.mode & 0o7777;
          if (await this.#dropsPrivileges(caller, ino, mode)) changes.dropPrivileges = true;
          else changes.mode = mode;
        }
        if (set.uid !== undefined) changes.uid = set.uid;
        if (set.gid !== undefined) changes.gid = set.gid;
        if (set.atimeNow) changes.atimeNs = 'now';
        else if (set.atimeNs !== undefined) changes.atimeNs = set.atimeNs;
        if (set.mtimeNow) changes.mtimeNs = 'now';
        else if (set.mtimeNs !== undefined) changes.mtimeNs = set.mtimeNs;
        if (set.size !== undefined) changes.size = set.size;
        // One call, so a change refused (say the mode) leaves the size as it was too. ftruncate on
        // a descriptor open for writing needs no write permission now: the handle says so.
        const viaHandle = set.size !== undefined && fh !== null && fh !== undefined ? fh : undefined;
        reply.replyAttr(req, toFuseAttr(await vfs.setattr(caller, ino, changes, viaHandle)), t.attr);
      },
      readlink: async (req, caller, ino: number) => {
        reply.replyReadlink(req, await vfs.readlink(caller, ino));
      },
      mknod: async (req, caller, parent: number, name: string, mode: number, rdev: number) => {
        this.#writable();
        this.#reserved(parent, name);
        const attr = await vfs.mknod(caller, parent, name, mode, rdev);
        await this.#dirAfter(req, parent);
        this.#entry(req, attr);
      },
      mkdir: async (req, caller, parent: number, name: string, mode: number) => {
        this.#writable();
        this.#reserved(parent, name);
        const attr = await vfs.mkdir(caller, parent, name, mode);
        await this.#dirAfter(req, parent);
        this.#entry(req, attr);
      },
      unlink: async (req, caller, parent: number, name: string) => {
        this.#writable();
        this.#reserved(parent, name);
        await this.#naming(req, () => vfs.unlink(caller, parent, name));
        await this.#dirAfter(req, parent);
        reply.replyNone(req);
      },
      rmdir: async (req, caller, parent: number, name: string) => {
        this.#writable();
        await this.#naming(req, () => vfs.rmdir(caller, parent, name));
        await this.#dirAfter(req, parent);
        reply.replyNone(req);
      },
      symlink: async (req, caller, target: string, parent: number, name: string) => {
        this.#writable();
        this.#reserved(parent, name);
        const attr = await vfs.symlink(caller, parent, name, target);
        await this.#dirAfter(req, parent);
        this.#entry(req, attr);
      },
      rename: async (req, caller, parent: number, name: string, newParent: number, newName: string, flags: number) => {
        this.#writable();
        this.#reserved(parent, name);
        this.#reserved(newParent, newName);
        await this.#naming(req, () => vfs.rename(caller, parent, name, newParent, newName, flags));
        reply.replyNone(req);
      },
      link: async (req, caller, ino: number, newParent: number, newName: string) => {
        this.#writable();
        this.#reserved(newParent, newName);
        if (ino === STATS_INO) throw Object.assign(new Error('reserved'), { code: 'EPERM' });
        this.#entry(req, await vfs.link(caller, ino, newParent, newName));
      },
      open: async (req, caller, ino: number, flags: number) => {
        if (ino === STATS_INO) {
          if ((flags & O_ACCMODE) !== 0) throw Object.assign(new Error('read-only'), { code: 'EACCES' });
          const fh = this.#nextStatsFh++;
          this.#statsReads.set(fh, Buffer.from(`${JSON.stringify(await this.stats.snapshot(), null, 1)}\n`));
          reply.replyOpen(req, fh, { directIo: true });
          return;
        }
        if ((flags & O_ACCMODE) !== 0 || (flags & O_TRUNC)) this.#writable();
        const { fh, attr } = await vfs.open(caller, ino, flags);
        if (this.options.writebackCache) vfs.servePageCache(fh);
        if ((flags & O_ACCMODE) !== 0) this.#writableFhs.add(fh);
        reply.replyOpen(req, fh, { keepCache: this.#unchanged(attr) });
      },
      create: async (req, caller, parent: number, name: string, mode: number, flags: number) => {
        this.#writable();
        this.#reserved(parent, name);
        const { fh, attr, created } = await this.#naming(req, () => vfs.create(caller, parent, name, mode, flags));
        if (this.options.writebackCache) vfs.servePageCache(fh);
        if ((flags & O_ACCMODE) !== 0) this.#writableFhs.add(fh);
        if (created) await this.#dirAfter(req, parent);
        reply.replyCreate(req, toFuseAttr(attr), t.entry, t.attr, fh, { keepCache: this.#unchanged(attr), created });
      },
      read: async (req, _caller, _ino: number, fh: number, size: number, offset: number) => {
        const snapshot = this.#statsReads.get(fh);
        if (snapshot) {
          const part = snapshot.subarray(Math.min(offset, snapshot.length), Math.min(offset + size, snapshot.length));
          reply.replyBuf(req, part, part.length);
          return;
        }
        // Replied straight from the verified block in memory when the range lies in one block. A
        // read may first commit what was written through another handle.
        const mark = this.#commitMark();
        try {
          await vfs.readView(fh, offset, size, (bytes) => {
            this.#changedSince(req, mark, false);
            reply.replyBuf(req, bytes, bytes.length);
          });
        } catch (err) {
          this.#committedAfter(mark);
          throw err;
        }
      },
      write: async (req, _caller, _ino: number, fh: number, data: Uint8Array, offset: number) => {
        this.#writable();
        reply.replyWrite(req, await vfs.write(fh, offset, data));
      },
      flush: async (req, _caller, ino: number, fh: number, owner: string) => {
        if (!this.#statsReads.has(fh)) {
          // Through any handle: what other handles wrote is committed too.
          await this.#committing(req, () => vfs.flush(fh));
          // close(2) of any descriptor drops the closing process's record locks on the file.
          if (this.#recordLockOwners.delete(`${ino}:${owner}`)) await vfs.setlk(fh, owner, { kind: 'unlock', start: 0, end: -1, pid: 0 });
          if (this.#writableFhs.has(fh) && this.options.commits) {
            // The file as written so far: the native core gives it to the stat that often follows
            // a close, where it would otherwise have to ask here.
            const attr = await vfs.getattr(ino).catch(() => null);
            if (attr) {
              reply.replyNone(req, toFuseAttr(attr), t.attr);
              return;
            }
          }
        }
        reply.replyNone(req);
      },
      release: async (req, _caller, ino: number, fh: number, _flags: number, owner: string, flockRelease: boolean) => {
        // The kernel ignores a release's answer: answer at once, finish in the background.
        reply.replyNone(req);
        this.#writableFhs.delete(fh);
        if (this.#statsReads.delete(fh)) return;
        try {
          if (this.#flockOwners.delete(`${ino}:${owner}`) || flockRelease) await vfs.flock(fh, owner, 'unlock');
        } catch (err) {
          this.options.log(`fuse release: dropping the flock of ${ino}: ${(err as Error).message}`);
        }
        const mark = this.#commitMark();
        await vfs.release(fh).catch((err: unknown) => this.options.log(`fuse release: ${(err as Error).message}`));
        this.#committedAfter(mark);
      },
      getlk: async (req, _caller, ino: number, fh: number, owner: string, lock: FuseLock) => {
        this.#notStats(ino);
        const held = await vfs.getlk(fh, owner, toRangeLock(lock));
        reply.replyLock(req, held ? fromRangeLock(held) : { ...lock, type: F_UNLCK });
      },
      setlk: async (req, _caller, ino: number, fh: number, owner: string, lock: FuseLock, sleep: boolean) => {
        this.#notStats(ino);
        const range = toRangeLock(lock);
        await this.#waitFor(req, sleep, () => vfs.setlk(fh, owner, range));
        const key = `${ino}:${owner}`;
        if (range.kind !== 'unlock') this.#recordLockOwners.add(key);
        // The caller gave up (a signal) while we waited: the lock must not outlive the request.
        if (reply.replyNone(req) !== 0 && range.kind !== 'unlock') await vfs.setlk(fh, owner, { ...range, kind: 'unlock' }).catch(() => undefined);
      },
      flock: async (req, _caller, ino: number, fh: number, owner: string, op: number) => {
        this.#notStats(ino);
        const kind = flockKind(op);
        await this.#waitFor(req, (op & LOCK_NB) === 0, () => vfs.flock(fh, owner, kind));
        const key = `${ino}:${owner}`;
        if (kind === 'unlock') this.#flockOwners.delete(key);
        else this.#flockOwners.add(key);
        if (reply.replyNone(req) !== 0 && kind !== 'unlock') await vfs.flock(fh, owner, 'unlock').catch(() => undefined);
      },
      fallocate: async (req, _caller, _ino: number, fh: number, mode: number, offset: number, length: number) => {
        this.#writable();
        await vfs.fallocate(fh, mode, offset, length);
        reply.replyNone(req);
      },
      fsync: async (req, _caller, _ino: number, fh: number, datasync: boolean) => {
        await this.#committing(req, () => vfs.fsync(fh, datasync));
        reply.replyNone(req);
      },
      opendir: async (req, caller, ino: number) => {
        reply.replyOpen(req, await vfs.opendir(caller, ino), {});
      },
      readdir: async (req, caller, ino: number, _fh: number, size: number, offset: number) => {
        const limit = Math.max(1, Math.min(READDIR_BATCH, Math.ceil(size / 32)));
        const entries = await vfs.readdir(caller, ino, offset, limit);
        reply.replyReaddir(req, entries.map((e) => ({ name: e.name, ino: e.ino, mode: e.mode, off: e.cookie })), size);
      },
      releasedir: async (req, _caller, _ino: number, fh: number) => {
        reply.replyNone(req);
        await vfs.release(fh).catch(() => undefined);
      },
      statfs: async (req, caller, ino: number) => {
        const s = await vfs.statfs(caller, ino);
        reply.replyStatfs(req, { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, namemax: 255 });
      },
      setxattr: async (req, caller, ino: number, name: string, value: Buffer, flags: number) => {
        this.#writable();
        await vfs.setxattr(caller, ino, name, value, flags);
        reply.replyNone(req);
      },
      getxattr: async (req, caller, ino: number, name: string, size: number, epoch: number) => {
        if (ino === STATS_INO) throw Object.assign(new Error('no attributes'), { code: 'ENODATA' });
        let value: Uint8Array;
        try {
          value = await vfs.getxattr(caller, ino, name);
        } catch (err) {
          // The kernel asks for security.capability before every write; the answer does not
          // depend on the caller for security.* names, so the native core may give it next time.
          if ((err as { code?: string }).code === 'ENODATA' && name.startsWith('security.')) reply.xattrAbsent(ino, name, epoch);
          throw err;
        }
        if (size === 0) reply.replyXattr(req, value.length);
        else if (value.length > size) reply.replyErr(req, osConstants.errno.ERANGE);
        else reply.replyBuf(req, Buffer.from(value.buffer, value.byteOffset, value.byteLength), value.length);
      },
      listxattr: async (req, caller, ino: number, size: number) => {
        const names = ino === STATS_INO ? [] : await vfs.listxattr(caller, ino);
        const list = Buffer.from(names.map((n) => `${n}\0`).join(''));
        if (size === 0) reply.replyXattr(req, list.length);
        else if (list.length > size) reply.replyErr(req, osConstants.errno.ERANGE);
        else reply.replyBuf(req, list, list.length);
      },
      removexattr: async (req, caller, ino: number, name: string) => {
        this.#writable();
        await vfs.removexattr(caller, ino, name);
        reply.replyNone(req);
      },
      access: async (req, caller, ino: number, mask: number) => {
        if (ino === STATS_INO) {
          if (mask & 2) throw Object.assign(new Error('read-only'), { code: 'EACCES' });
          reply.replyNone(req);
          return;
        }
        await vfs.access(caller, ino, mask);
        reply.replyNone(req);
      },
    };
  }
}
