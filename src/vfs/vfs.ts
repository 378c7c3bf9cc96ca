// The POSIX core: inode-level operations with permission checks, a file-handle table, shared
// per-inode writers (read-your-writes, close-to-open) and the session that keeps unlinked-but-open
// files alive. The SDK calls it with paths resolved by resolve.ts; the FUSE bridge with inodes.
import type { ChunkStore, SliceMeta, SliceSource } from '../chunk/store.js';
import { errnoError } from '../errors/errno.js';
import type { Attr } from './attr.js';
import { isDir, isRegular, isSymlink } from './attr.js';
import {
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, MODE_PERM_MASK, O_ACCMODE, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
  PATH_MAX, R_OK, RENAME_EXCHANGE, RENAME_NOREPLACE, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG,
  S_IFSOCK, S_ISGID, S_ISUID, S_ISVTX, W_OK, X_OK,
} from './constants.js';
import { HandleTable, type InodeState, type OpenFile } from './handles.js';
import type { AttrChanges, CloneRange, CreateExtras, LockKind, QueuedEvent, RangeLock } from '../meta/meta.js';
import { watchDataChanges } from './data-changes.js';
import { hold, withHeld, type HeldAttrs } from './held-attrs.js';
import type { MetaPort, PortDirEntry, PortStatFs } from './meta-port.js';
import { nameProblem } from './path.js';
import { chmodResult, inGroup, inheritedOwnership, isRoot, modeAfterWrite, ownsOrRoot, permits, withoutPrivileges, type Caller } from './permissions.js';
import type { Walkable } from './resolve.js';
import { readBytes, writtenBytes } from './metrics.js';
import { reclaimSlices } from './reclaim.js';
import { AutoCompactor, DEFAULT_COMPACT_THRESHOLD } from './auto-compact.js';
import { NO_COUNT, incrementer, type Incrementer } from '../metrics/registry.js';

export interface VfsOptions {
  /** Heartbeat period of the session (ms). */
  heartbeatMs?: number;
  /** Period of the background loop that deletes freed slices (ms). */
  reclaimMs?: number;
  /** Recorded with the session (host, pid, mount point, ...). */
  sessionInfo?: Record<string, unknown>;
  /** A session silent this long is closed by survivors: locks released, orphans freed (ms). */
  staleSessionMs?: number;
  /** Period of housekeeping: stale sessions and expired trash (ms). */
  housekeepingMs?: number;
  /** Deletions bypass the trash (administrative clients such as `strata rmr --skip-trash`). */
  skipTrash?: boolean;
  /** Reads of an open file reuse its attributes (its size) this long (ms; default 1000, as the
   * mount's kernel attribute cache): another client's change shows within it; this process's own
   * changes, a new open and a stat show at once. 0: every read asks meta. */
  attrCacheMs?: number;
  /** Labels of the bytes this client reads and writes (strata_read_bytes_total and _write_). */
  metrics?: { volume: string; entrypoint: string };
  /** Bytes written to a file that stays open are committed after this long (ms; default 10
   * minutes): its uploaded blocks never stay unknown to the metadata longer (gc's window). */
  commitAfterMs?: number;
  /** A chunk this client commits this many slices to is compacted in the background once it
   * holds that many (default 100; 0: never — `strata compact` still can). */
  compactThreshold?: number;
}

/** Changes setattr may make; times in ns since the epoch or 'now'. */
export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atimeNs?: bigint | 'now';
  mtimeNs?: bigint | 'now';
  /** A chown(2) call, even chown(f, -1, -1): it drops setuid/setgid of a non-directory. */
  chown?: boolean;
  /** Drop setuid/setgid as a write or truncate by this caller does (the kernel asks for it before
   * writing through a mount); allowed to anyone who may write the file. */
  dropPrivileges?: boolean;
}

/** A directory and a name in it as a path walk just read them: `existing` is null when the name
 * was absent (an O_EXCL create may pass null unread: the create itself fails EEXIST). */
export interface KnownEntry {
  parent: Attr;
  existing: Attr | null;
}

export interface DirEntry extends PortDirEntry {}
export type StatFs = PortStatFs;

const DEFAULT_HEARTBEAT_MS = 10_000;
const DEFAULT_RECLAIM_MS = 2_000;
const DEFAULT_STALE_SESSION_MS = 5 * 60_000;
const DEFAULT_ATTR_CACHE_MS = 1000;
const DEFAULT_COMMIT_AFTER_MS = 10 * 60_000;
const DEFAULT_HOUSEKEEPING_MS = 60_000;
const DAY_MS = 86_400_000;

function fail(code: string, syscall: string, detail?: string): never {
  throw errnoError(code, syscall, undefined, detail);
}

function closedError(syscall: string): never {
  throw errnoError('EBADF', syscall, undefined, 'the volume is closed');
}

/** How long closes of last handles are gathered before meta hears of them. */
const RELEASE_BATCH_MS = 20;

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

const EMPTY = new Uint8Array(0);

export class Vfs implements Walkable {
  readonly meta: MetaPort;
  readonly store: ChunkStore;
  #session: number;
  #sessionInfo: Record<string, unknown> = {};
  #renewing: Promise<void> | null = null;
  readonly #table = new HandleTable();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #releases = new Set<number>();
  #releaseTimer: NodeJS.Timeout | null = null;
  #reclaiming: Promise<void> | null = null;
  #closed = false;
  #skipTrash = false;
  #attrCacheMs = DEFAULT_ATTR_CACHE_MS;
  /** Commits attribute changes held back too long (armed while any are held). */
  #holdTimer: NodeJS.Timeout | null = null;
  #compactor: AutoCompactor | null = null;
  #bytesRead: Incrementer = NO_COUNT;
  #bytesWritten: Incrementer = NO_COUNT;
  /** Data changes this process made to any file, open here or not (see open). */
  #dataChanges = 0;

  private constructor(meta: MetaPort, store: ChunkStore, session: number) {
    this.meta = watchDataChanges(meta, (ino) => {
      this.#dataChanges++;
      const state = this.#table.inode(ino);
      if (state) state.changes++;
    });
    this.store = store;
    this.#session = session;
  }

  /** This client's session in metadata (a new one replaces it if survivors closed it). */
  get session(): number {
    return this.#session;
  }

  /** Register a session and start its heartbeat and the slice-reclaim loop. */
  static async start(meta: MetaPort, store: ChunkStore, options: VfsOptions = {}): Promise<Vfs> {
    const info = { pid: process.pid, ...options.sessionInfo };
    const session = await meta.newSession(info);
    const vfs = new Vfs(meta, store, session);
    vfs.#sessionInfo = info;
    vfs.#attrCacheMs = options.attrCacheMs ?? DEFAULT_ATTR_CACHE_MS;
    vfs.#skipTrash = options.skipTrash ?? false;
    vfs.#compactor = new AutoCompactor(vfs.meta, store, options.compactThreshold ?? DEFAULT_COMPACT_THRESHOLD);
    const labels = options.metrics ?? { volume: 'default', entrypoint: 'sdk' };
    vfs.#bytesRead = incrementer(readBytes, labels);
    vfs.#bytesWritten = incrementer(writtenBytes, labels);
    const beat = setInterval(() => { void vfs.#asSession((id) => meta.heartbeat(id)).catch(() => undefined); }, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    const reclaim = setInterval(() => { void vfs.reclaim().catch(() => undefined); }, options.reclaimMs ?? DEFAULT_RECLAIM_MS);
    const staleMs = options.staleSessionMs ?? DEFAULT_STALE_SESSION_MS;
    const commitAfterMs = options.commitAfterMs ?? DEFAULT_COMMIT_AFTER_MS;
    const commit = setInterval(() => vfs.#commitOlderThan(Date.now() - commitAfterMs), Math.max(10, Math.min(60_000, Math.floor(commitAfterMs / 2))));
    commit.unref();
    vfs.#timers.push(commit);
    const housekeeping = setInterval(() => { void vfs.housekeeping(staleMs).catch(() => undefined); }, options.housekeepingMs ?? DEFAULT_HOUSEKEEPING_MS);
    beat.unref();
    reclaim.unref();
    housekeeping.unref();
    vfs.#timers.push(beat, reclaim, housekeeping);
    return vfs;
  }

  /** Run a call made under this client's session. If metadata says the session is gone (ESTALE:
   * this client was silent past the stale timeout — paused, partitioned — and a survivor closed
   * it, releasing its locks), register a new session and run the call once more under it: no row
   * is ever written for a dead session. */
  async #asSession<T>(call: (session: number) => Promise<T>): Promise<T> {
    try {
      return await call(this.#session);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ESTALE') throw err;
      await this.#renewSession();
      return call(this.#session);
    }
  }

  #renewSession(): Promise<void> {
    this.#renewing ??= (async () => {
      const dead = this.#session;
      this.#session = await this.meta.newSession({ ...this.#sessionInfo, replaces: dead });
      // The survivor released whatever the old session held: its open files are recorded again
      // (an unlinked file it kept alive may already be gone); its locks are lost.
      this.#releases.clear();
      for (const ino of this.#table.inodes()) await this.meta.opened(this.#session, ino).catch(() => undefined);
      process.emitWarning(`strata: session ${dead} was closed by another client (silent past the stale timeout); continuing as session ${this.#session}: locks held before are released`);
    })().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  /** Work any live client does for the volume: close sessions that stopped heartbeating (their
   * locks and unlinked-open files go) and empty trash older than trash-days. */
  async housekeeping(staleSessionMs: number): Promise<void> {
    // Own heartbeat first: after a pause this client must not find itself stale.
    await this.#asSession((id) => this.meta.heartbeat(id)).catch(() => undefined);
    await this.meta.cleanStaleSessions(staleSessionMs);
    const { trashDays } = await this.meta.settings();
    await this.meta.emptyTrash(trashDays * DAY_MS);
  }

  /** Delete the objects of slices no file references any more, then confirm them to meta. */
  reclaim(): Promise<void> {
    this.#reclaiming ??= (async () => {
      try {
        await reclaimSlices(this.meta, this.store);
      } finally {
        this.#reclaiming = null;
      }
    })();
    return this.#reclaiming;
  }

  /** Calls after close() fail clearly instead of reaching a closed engine. */
  #live(syscall: string): void {
    if (this.#closed) closedError(syscall);
  }

  // ---- attributes ----

  checkAccess(caller: Caller, attr: Attr, mask: number): boolean {
    return permits(attr, caller, mask);
  }

  async getattr(ino: number): Promise<Attr> {
    this.#live('getattr');
    const before = this.#pendingEnd(ino);
    const held = this.#table.inode(ino)?.held ?? null;
    const attr = await this.#freshAttr(ino);
    return this.#withPending(attr, before, held);
  }

  /** The file's attributes from meta; an open file's reads then reuse them for a while. */
  async #freshAttr(ino: number): Promise<Attr> {
    const state = this.#table.inode(ino);
    const changes = state?.changes;
    const opens = state?.opens;
    const at = Date.now();
    const attr = await this.meta.getattr(ino);
    // Not kept if an open came meanwhile: its reads must not go by what was asked before it.
    if (state && state.changes === changes && state.opens === opens && this.#table.inode(ino) === state) state.attrSeen = { attr, at, changes: state.changes };
    return attr;
  }

  /** The attributes a read of an open file goes by: fetched at most every attrCacheMs, and again
   * after any change this process made to the file. */
  async #readAttr(ino: number): Promise<Attr> {
    const seen = this.#table.inode(ino)?.attrSeen;
    if (seen && seen.changes === this.#table.inode(ino)!.changes && Date.now() - seen.at < this.#attrCacheMs) return seen.attr;
    return this.#freshAttr(ino);
  }

  /** An inode's attributes for permission checks: metadata's, with changes held back here. */
  async #current(ino: number): Promise<Attr> {
    return (await this.#currentAndFetched(ino)).attr;
  }

  /** #current, with what metadata answered (`fetched`, nothing held over it). */
  async #currentAndFetched(ino: number): Promise<{ attr: Attr; fetched: Attr }> {
    // Read before metadata: changes that commit during the read are in one or the other.
    const before = this.#table.inode(ino)?.held ?? null;
    const fetched = await this.meta.getattr(ino);
    return { attr: this.#heldOver(fetched, before), fetched };
  }

  /** `attr` with the changes held here on top: those held now, or `before` (held when the
   * metadata read began) if they committed meanwhile. */
  #heldOver(attr: Attr, before: HeldAttrs | null): Attr {
    const held = this.#table.inode(attr.ino)?.held ?? before;
    return held ? withHeld(attr, held) : attr;
  }

  /** How far this process's buffered (or committing) writes reach into the file; 0 for none. */
  #pendingEnd(ino: number): number {
    const writer = this.#table.inode(ino)?.writer;
    return writer?.dirty ? writer.pendingEnd : 0;
  }

  /** A dirty writer's bytes count toward the length before they are committed. `before` is the
   * writer's reach when the metadata read started: a commit that lands while that read is under
   * way takes its slices off the writer, and the read may not have seen them in metadata. */
  #withPending(attr: Attr, before = 0, heldBefore: HeldAttrs | null = null): Attr {
    attr = this.#heldOver(attr, heldBefore);
    const state = this.#table.inode(attr.ino);
    const writer = state?.writer;
    const reach = Math.max(before, writer?.dirty ? writer.pendingEnd : 0);
    if (!state || reach <= attr.size && !writer?.dirty) return attr;
    // Buffered writes already count: the length they reach, the space they will take (as if none
    // overwrote stored bytes) and the time they were made.
    const size = Math.max(attr.size, reach);
    const blocks = attr.blocks + Math.ceil((writer?.pendingBytes ?? 0) / 4096) * 8;
    const t = state.lastWriteNs > attr.mtimeNs ? state.lastWriteNs : attr.mtimeNs;
    return { ...attr, size, blocks, mtimeNs: t, ctimeNs: t > attr.ctimeNs ? t : attr.ctimeNs };
  }

  async lookup(caller: Caller, dir: number, name: string): Promise<Attr> {
    this.#live('lookup');
    const problem = nameProblem(name);
    // The entry's read needs no answer from the directory's: both go out together (one round trip
    // to a metadata server instead of two), and are judged in order.
    const found = problem ? null : this.meta.lookup(dir, name);
    found?.catch(() => undefined);
    const parent = await this.meta.getattr(dir);
    if (!isDir(parent)) fail('ENOTDIR', 'lookup');
    if (!permits(parent, caller, X_OK)) fail('EACCES', 'lookup');
    if (problem) fail(problem, 'lookup');
    return this.#withPending(await found!);
  }

  async lookupIn(dir: Attr, name: string): Promise<Attr> {
    this.#live('lookup');
    const problem = nameProblem(name);
    if (problem) fail(problem, 'lookup');
    return this.#withPending(await this.meta.lookup(dir.ino, name));
  }

  async lookupPath(dir: number, names: string[]): Promise<Attr[]> {
    this.#live('lookup');
    return (await this.meta.lookupPath(dir, names)).map((a) => this.#withPending(a));
  }

  async access(caller: Caller, ino: number, mask: number): Promise<void> {
    const attr = await this.#current(ino);
    if (!permits(attr, caller, mask)) fail('EACCES', 'access');
  }

  /** chmod, chown, utimes and truncate in one: every permission is checked before anything
   * changes, and the changes commit in one metadata transaction. With `fh`, a size change is an
   * ftruncate through that handle (which must be open for writing). Changes to a file this
   * process created and has not flushed yet are held back to commit with its bytes. */
  async setattr(caller: Caller, ino: number, changes: SetAttr, fh?: number): Promise<Attr> {
    this.#live('setattr');
    const attr = await this.#current(ino);
    const next: AttrChanges = {};
    if (changes.mode !== undefined) {
      if (!ownsOrRoot(attr, caller)) fail('EPERM', 'chmod');
      next.mode = (attr.mode & S_IFMT) | chmodResult(attr, caller, changes.mode);
    }
    if (changes.uid !== undefined || changes.gid !== undefined || changes.chown) {
      const uid = changes.uid ?? attr.uid;
      const gid = changes.gid ?? attr.gid;
      if (!isRoot(caller)) {
        if (uid !== attr.uid) fail('EPERM', 'chown');
        if (caller.uid !== attr.uid) {
          if (gid !== attr.gid) fail('EPERM', 'chown');
        } else if (gid !== attr.gid && !inGroup(caller, gid)) fail('EPERM', 'chown');
      }
      next.uid = uid;
      next.gid = gid;
      // Changing ownership of a non-directory drops its privileges, as Linux does on chown.
      if (!isDir(attr)) next.mode = withoutPrivileges(next.mode ?? attr.mode);
    }
    const explicit = (t: bigint | 'now' | undefined) => t !== undefined && t !== 'now';
    if (changes.atimeNs !== undefined || changes.mtimeNs !== undefined) {
      if (explicit(changes.atimeNs) || explicit(changes.mtimeNs)) {
        if (!ownsOrRoot(attr, caller)) fail('EPERM', 'utime');
      } else if (!ownsOrRoot(attr, caller) && !permits(attr, caller, W_OK)) fail('EACCES', 'utime');
      const now = nowNs();
      if (changes.atimeNs !== undefined) next.atimeNs = changes.atimeNs === 'now' ? now : changes.atimeNs;
      if (changes.mtimeNs !== undefined) next.mtimeNs = changes.mtimeNs === 'now' ? now : changes.mtimeNs;
    }
    if (changes.dropPrivileges && isRegular(attr)) {
      // What a write or truncate does to the file: allowed to whoever may write it.
      if (!ownsOrRoot(attr, caller) && !permits(attr, caller, W_OK)) fail('EPERM', 'chmod');
      next.mode = modeAfterWrite({ ...attr, mode: next.mode ?? attr.mode }, caller);
    }
    if (changes.size !== undefined) {
      const size = changes.size;
      const syscall = fh === undefined ? 'truncate' : 'ftruncate';
      if (!Number.isSafeInteger(size) || size < 0) fail('EINVAL', syscall);
      if (fh !== undefined) {
        const file = this.#file(fh, syscall);
        if ((file.flags & O_ACCMODE) === O_RDONLY || file.dir || file.ino !== ino) fail('EINVAL', syscall);
      } else {
        if (isDir(attr)) fail('EISDIR', syscall);
        if (!isRegular(attr)) fail('EINVAL', syscall);
        if (!permits(attr, caller, W_OK)) fail('EACCES', syscall);
      }
      return this.#withPending(await this.#truncateData(caller, attr, size, next));
    }
    if (Object.keys(next).length === 0) return this.#withPending(attr);
    const state = this.#table.inode(ino);
    if (state && this.#holds(state)) {
      this.#hold(state, next);
      // `attr` had the earlier held changes on top; these include them.
      return this.#withPending(attr);
    }
    if (next.mtimeNs !== undefined && state?.writer?.dirty) {
      // utimes after buffered writes: the bytes commit first, or their commit's time would
      // replace the one set here.
      return this.#withPending(await this.#table.queue.run(ino, async () => {
        await this.#settle(ino);
        state.lastWriteNs = 0n;
        return this.meta.setattr(ino, next);
      }));
    }
    return this.#withPending(await this.meta.setattr(ino, next));
  }

  /** Whether attribute changes to `state`'s file are held back: it was created here and not
   * flushed since, or changes made while a flush committed earlier ones are still held (new ones
   * must stay behind them). */
  #holds(state: InodeState): boolean {
    return (state.fresh || state.held !== null) && this.#attrCacheMs > 0;
  }

  /** Hold `next` back for `state`'s file; it commits by its next flush, or within half the
   * attribute-cache time (so another client sees it as soon as it would see a committed one). */
  #hold(state: InodeState, next: AttrChanges): void {
    state.held = hold(state.held, next, nowNs());
    // Times set now are the file's times, whatever buffered writes came before.
    if (next.mtimeNs !== undefined) state.lastWriteNs = 0n;
    this.#armHoldTimer();
  }

  #armHoldTimer(): void {
    if (this.#holdTimer) return;
    const holdMs = Math.max(1, Math.floor(this.#attrCacheMs / 2));
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = null;
      this.#commitHeldBefore(Date.now() - holdMs);
    }, holdMs);
    this.#holdTimer.unref();
  }

  /** Commit the held changes of files holding them since `cutoff` (ms) or earlier; the timer
   * goes on while any are held. */
  #commitHeldBefore(cutoff: number): void {
    let holding = false;
    for (const ino of this.#table.inodes()) {
      const held = this.#table.inode(ino)?.held;
      if (!held) continue;
      holding = true;
      if (held.sinceMs > cutoff) continue;
      // Changes that follow buffered bytes wait for them (they show with them, at the flush that
      // reports their errors); the others commit now. A failure leaves them held.
      this.#table.queue.run(ino, async () => {
        const state = this.#table.inode(ino);
        if (state?.held && !state.writer?.dirty) await this.#settle(ino);
      }).catch(() => undefined);
    }
    if (holding) this.#armHoldTimer();
  }

  /** Commit what files still open hold uncommitted since `cutoff` (ms) or earlier. A failure
   * stays with the writer, for the next flush or close to report. */
  #commitOlderThan(cutoff: number): void {
    for (const ino of this.#table.inodes()) {
      const state = this.#table.inode(ino);
      if (!state?.writer?.dirty || state.dirtySinceMs === 0 || state.dirtySinceMs > cutoff) continue;
      this.#table.queue.run(ino, async () => {
        const now = this.#table.inode(ino);
        if (now?.writer?.dirty && now.dirtySinceMs <= cutoff) await this.#settle(ino);
        if (now) now.dirtySinceMs = now.writer?.dirty ? Date.now() : 0;
      }).catch(() => undefined);
    }
  }

  /** Commit `ino`'s buffered writes and held attribute changes, in one transaction when both are
   * there. Runs in the inode's queue. */
  async #settle(ino: number): Promise<void> {
    const state = this.#table.inode(ino);
    if (!state) return;
    const held = state.held;
    const writer = state.writer;
    let applied = false;
    try {
      applied = writer?.dirty ? await writer.flush(held?.changes) : false;
    } catch (err) {
      // The bytes failed; the attribute changes do not depend on them.
      if (held) await this.meta.setattr(ino, held.changes).then(() => this.#heldCommitted(state, held), () => undefined);
      throw err;
    }
    if (!held) return;
    if (!applied) await this.meta.setattr(ino, held.changes);
    this.#heldCommitted(state, held);
  }

  #heldCommitted(state: InodeState, held: HeldAttrs): void {
    // Changes held while this committed stay held (they include these: committing them twice
    // is harmless).
    if (state.held === held) state.held = null;
  }

  /** truncate(2) by inode: needs write permission. */
  truncate(caller: Caller, ino: number, size: number): Promise<Attr> {
    return this.setattr(caller, ino, { size });
  }

  /** ftruncate(2): the handle must be open for writing. */
  async ftruncate(caller: Caller, fh: number, size: number): Promise<Attr> {
    const file = this.#file(fh, 'ftruncate');
    if (file.dir) fail('EINVAL', 'ftruncate');
    return this.setattr(caller, file.ino, { size }, fh);
  }

  /** Cut or extend a regular file to `size`, with `also` in the same transaction. A caller other
   * than root drops the file's setuid/setgid, as truncate(2) does on Linux. */
  #truncateData(caller: Caller, attr: Attr, size: number, also: AttrChanges = {}): Promise<Attr> {
    const changes = { ...also };
    const mode = changes.mode ?? attr.mode;
    const kept = modeAfterWrite({ ...attr, mode }, caller);
    if (kept !== mode) changes.mode = kept;
    return this.#table.queue.run(attr.ino, async () => {
      // Buffered writes land first so the cut applies to them too (and held changes, which came
      // before the cut).
      await this.#settle(attr.ino);
      return this.meta.truncate(attr.ino, size, changes);
    });
  }

  async #dropPrivileges(ino: number, caller: Caller): Promise<void> {
    const attr = await this.#current(ino);
    const mode = modeAfterWrite(attr, caller);
    if (mode === attr.mode) return;
    const state = this.#table.inode(ino);
    if (state && this.#holds(state)) this.#hold(state, { mode });
    else await this.meta.setattr(ino, { mode });
  }

  /** fallocate(2) through an open handle: mode 0 and FALLOC_FL_KEEP_SIZE reserve nothing (data
   * takes space when it is stored) but may grow the file; PUNCH_HOLE (with KEEP_SIZE) and
   * ZERO_RANGE make the range read as zeros. COLLAPSE_RANGE, INSERT_RANGE and UNSHARE_RANGE are
   * EOPNOTSUPP. */
  async fallocate(fh: number, mode: number, offset: number, length: number): Promise<Attr> {
    this.#live('fallocate');
    const file = this.#file(fh, 'fallocate');
    if ((file.flags & O_ACCMODE) === O_RDONLY) fail('EBADF', 'fallocate');
    if (file.dir) fail('EISDIR', 'fallocate');
    if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) !== 0) {
      fail('EOPNOTSUPP', 'fallocate', `fallocate mode 0x${mode.toString(16)} is not supported: only allocation, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE are`);
    }
    const punch = (mode & FALLOC_FL_PUNCH_HOLE) !== 0;
    const zero = (mode & FALLOC_FL_ZERO_RANGE) !== 0;
    // As vfs_fallocate: PUNCH_HOLE goes only with KEEP_SIZE, never with ZERO_RANGE.
    if (punch && ((mode & FALLOC_FL_KEEP_SIZE) === 0 || zero)) fail('EOPNOTSUPP', 'fallocate', 'PUNCH_HOLE needs KEEP_SIZE and excludes ZERO_RANGE');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) fail('EINVAL', 'fallocate');
    if (offset + length > Number.MAX_SAFE_INTEGER) fail('EFBIG', 'fallocate');
    const ino = file.ino;
    const attr = await this.#table.queue.run(ino, async () => {
      // Buffered writes land first: zeros over a range hide what was written there before.
      await this.#settle(ino);
      return this.meta.fallocate(ino, offset, length, { zero: punch || zero, keepSize: (mode & FALLOC_FL_KEEP_SIZE) !== 0 });
    });
    return this.#withPending(attr);
  }

  // ---- namespace ----

  /** Write and search permission on a directory, the rule for adding or removing entries. */
  /** `known`: the directory's attributes as the caller's path walk just read them. */
  async #writableDir(caller: Caller, dir: number, syscall: string, known?: Attr): Promise<Attr> {
    const parent = known ?? await this.meta.getattr(dir);
    if (!isDir(parent)) fail('ENOTDIR', syscall);
    if (!permits(parent, caller, W_OK | X_OK)) fail('EACCES', syscall);
    return parent;
  }

  #checkName(name: string, syscall: string): void {
    const problem = nameProblem(name);
    if (problem) fail(problem, syscall);
  }

  /** `known`: the parent's attributes as just read (saves reading them again). */
  async #newNode(caller: Caller, dir: number, name: string, type: number, mode: number, syscall: string, known?: Attr): Promise<{ parent: Attr; mode: number; gid: number }> {
    this.#checkName(name, syscall);
    if (name === '.' || name === '..') fail('EEXIST', syscall);
    const parent = await this.#writableDir(caller, dir, syscall, known);
    const inherited = inheritedOwnership(parent, caller, type === S_IFDIR, mode & MODE_PERM_MASK);
    let perms = inherited.mode;
    // A non-member may not create a setgid file in someone else's group.
    if (type !== S_IFDIR && (perms & S_ISGID) && !isRoot(caller) && !inGroup(caller, inherited.gid)) perms &= ~S_ISGID;
    return { parent, mode: type | perms, gid: inherited.gid };
  }

  async mknod(caller: Caller, dir: number, name: string, mode: number, rdev = 0): Promise<Attr> {
    this.#live('mknod');
    const type = (mode & S_IFMT) || S_IFREG;
    if (![S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK].includes(type)) fail('EINVAL', 'mknod');
    if ((type === S_IFCHR || type === S_IFBLK) && !isRoot(caller)) fail('EPERM', 'mknod');
    const n = await this.#newNode(caller, dir, name, type, mode, 'mknod');
    return this.meta.mknod(dir, name, { mode: n.mode, uid: caller.uid, gid: n.gid, rdev: type === S_IFCHR || type === S_IFBLK ? rdev : 0 });
  }

  /** `events`, here and on unlink, rmdir and rename: notifications committed with the change.
   * `known`: the directory's attributes as the caller's walk just read them. */
  async mkdir(caller: Caller, dir: number, name: string, mode: number, events?: readonly QueuedEvent[], known?: Attr): Promise<Attr> {
    this.#live('mkdir');
    // mkdir(2) keeps only the permission and sticky bits of `mode`; setgid comes from the parent.
    const n = await this.#newNode(caller, dir, name, S_IFDIR, mode & 0o1777, 'mkdir', known);
    return this.meta.mkdir(dir, name, { mode: n.mode, uid: caller.uid, gid: n.gid }, events);
  }

  async symlink(caller: Caller, dir: number, name: string, target: string): Promise<Attr> {
    this.#live('symlink');
    if (target.length === 0) fail('ENOENT', 'symlink');
    if (Buffer.byteLength(target) >= PATH_MAX) fail('ENAMETOOLONG', 'symlink');
    const n = await this.#newNode(caller, dir, name, S_IFLNK, 0o777, 'symlink');
    return this.meta.symlink(dir, name, target, { mode: n.mode, uid: caller.uid, gid: n.gid });
  }

  async readlink(_caller: Caller, ino: number): Promise<string> {
    const attr = await this.meta.getattr(ino);
    if (!isSymlink(attr)) fail('EINVAL', 'readlink');
    return this.meta.readlink(ino);
  }

  async link(caller: Caller, ino: number, dir: number, name: string): Promise<Attr> {
    this.#live('link');
    this.#checkName(name, 'link');
    const attr = await this.meta.getattr(ino);
    if (isDir(attr)) fail('EPERM', 'link');
    await this.#writableDir(caller, dir, 'link');
    return this.#withPending(await this.meta.link(ino, dir, name));
  }

  /** `known`: the directory's attributes as the caller's path walk just read them. Meta checks the
   * entry itself (ENOENT, EISDIR, the sticky bit) in its transaction. */
  async unlink(caller: Caller, dir: number, name: string, known?: Attr, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('unlink');
    this.#checkName(name, 'unlink');
    await this.#writableDir(caller, dir, 'unlink', known);
    await this.meta.unlink(dir, name, caller.uid, this.#skipTrash, events);
  }

  async rmdir(caller: Caller, dir: number, name: string, known?: Attr, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('rmdir');
    if (name === '.') fail('EINVAL', 'rmdir');
    if (name === '..') fail('ENOTEMPTY', 'rmdir');
    this.#checkName(name, 'rmdir');
    await this.#writableDir(caller, dir, 'rmdir', known);
    await this.meta.rmdir(dir, name, caller.uid, events);
  }

  async rename(caller: Caller, dir: number, name: string, newDir: number, newName: string, flags = 0, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('rename');
    if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0) fail('EINVAL', 'rename');
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) fail('EINVAL', 'rename');
    for (const n of [name, newName]) {
      if (n === '.' || n === '..') fail(n === '.' ? 'EINVAL' : 'EBUSY', 'rename');
      this.#checkName(n, 'rename');
    }
    // The reads need no answer from one another: they go out together, and are judged in order.
    const fromDir = this.meta.getattr(dir);
    const toDir = newDir !== dir ? this.meta.getattr(newDir) : fromDir;
    const found = this.meta.lookup(dir, name);
    for (const read of [toDir, found]) read.catch(() => undefined);
    await this.#writableDir(caller, dir, 'rename', await fromDir);
    if (newDir !== dir) await this.#writableDir(caller, newDir, 'rename', await toDir);
    const src = await found;
    // Moving a directory to another parent rewrites its '..': that needs write access to it.
    if (isDir(src) && newDir !== dir && !permits(src, caller, W_OK)) fail('EACCES', 'rename');
    await this.meta.rename(dir, name, newDir, newName, flags, caller.uid, events);
  }

  async readdir(caller: Caller, ino: number, cookie: number, limit: number): Promise<DirEntry[]> {
    this.#live('readdir');
    const attr = await this.meta.getattr(ino);
    if (!isDir(attr)) fail('ENOTDIR', 'readdir');
    if (!permits(attr, caller, R_OK)) fail('EACCES', 'readdir');
    return this.meta.readdir(ino, cookie, limit);
  }

  /** opendir(3): read permission on a directory. */
  async opendir(caller: Caller, ino: number): Promise<number> {
    const attr = await this.meta.getattr(ino);
    if (!isDir(attr)) fail('ENOTDIR', 'opendir');
    if (!permits(attr, caller, R_OK)) fail('EACCES', 'opendir');
    return this.#table.add(ino, O_RDONLY | O_DIRECTORY, caller, true).file.fh;
  }

  // ---- xattrs ----

  #xattrAccess(caller: Caller, attr: Attr, name: string, mask: number, syscall: string): void {
    if (name.length === 0 || Buffer.byteLength(name) > 255) fail(name.length === 0 ? 'EINVAL' : 'ERANGE', syscall);
    const ns = name.slice(0, name.indexOf('.') + 1);
    if (ns === 'trusted.' || ns === 'security.') {
      if (!isRoot(caller) && mask === W_OK) fail('EPERM', syscall);
      return;
    }
    if (ns !== 'user.') fail('EOPNOTSUPP', syscall);
    // User attributes live only on regular files and directories; the sticky rule on directories
    // keeps others' entries safe.
    if (!isRegular(attr) && !isDir(attr)) fail(mask === W_OK ? 'EPERM' : 'ENODATA', syscall);
    if (isDir(attr) && (attr.mode & S_ISVTX) && mask === W_OK && !ownsOrRoot(attr, caller)) fail('EPERM', syscall);
    if (!permits(attr, caller, mask)) fail('EACCES', syscall);
  }

  async getxattr(caller: Caller, ino: number, name: string): Promise<Uint8Array> {
    this.#xattrAccess(caller, await this.#current(ino), name, R_OK, 'getxattr');
    return this.meta.getxattr(ino, name);
  }

  async setxattr(caller: Caller, ino: number, name: string, value: Uint8Array, flags = 0, events?: readonly QueuedEvent[]): Promise<void> {
    this.#xattrAccess(caller, await this.#current(ino), name, W_OK, 'setxattr');
    if (value.length > 65536) fail('E2BIG', 'setxattr');
    await this.meta.setxattr(ino, name, value, flags, events);
  }

  async listxattr(_caller: Caller, ino: number): Promise<string[]> {
    return this.meta.listxattr(ino);
  }

  async removexattr(caller: Caller, ino: number, name: string, events?: readonly QueuedEvent[]): Promise<void> {
    this.#xattrAccess(caller, await this.#current(ino), name, W_OK, 'removexattr');
    await this.meta.removexattr(ino, name, events);
  }

  async statfs(_caller: Caller, _ino: number): Promise<StatFs> {
    return this.meta.statfs();
  }

  // ---- open files ----

  // ---- locks: held by (this session, owner) in metadata, so every client of the volume sees them ----

  /** fcntl(F_GETLK): the first lock of another owner that conflicts with `lock`, or null. */
  async getlk(fh: number, owner: string, lock: RangeLock): Promise<(RangeLock & { session: number; owner: string }) | null> {
    const file = this.#file(fh, 'fcntl');
    return this.meta.getlk(file.ino, this.#session, owner, lock);
  }

  /** fcntl(F_SETLK): take, change or drop a record lock; EAGAIN when another owner holds a
   * conflicting one. A read lock needs the file open for reading, a write lock for writing. */
  async setlk(fh: number, owner: string, lock: RangeLock): Promise<void> {
    const file = this.#file(fh, 'fcntl');
    const acc = file.flags & O_ACCMODE;
    if ((lock.kind === 'read' && acc === O_WRONLY) || (lock.kind === 'write' && acc === O_RDONLY)) fail('EBADF', 'fcntl');
    await this.#asSession((id) => this.meta.setlk(file.ino, id, owner, lock));
  }

  /** flock(2) on an open file; EAGAIN when another owner holds a conflicting lock. */
  async flock(fh: number, owner: string, kind: LockKind): Promise<void> {
    const file = this.#file(fh, 'flock');
    await this.#asSession((id) => this.meta.flock(file.ino, id, owner, kind));
  }

  #file(fh: number, syscall: string): OpenFile {
    const file = this.#table.get(fh);
    if (!file) fail('EBADF', syscall);
    return file;
  }

  /** A handle the kernel's page cache writes through (FUSE with the writeback cache): the kernel
   * keeps the file's size and applies O_APPEND itself, sending every write at its offset, and it
   * reads a page in before writing part of it through whichever handle it holds. So a writable
   * handle also reads (the open was checked as asked), and its writes land where they are sent. */
  servePageCache(fh: number): void {
    const file = this.#file(fh, 'open');
    if ((file.flags & O_ACCMODE) === O_RDONLY) return;
    file.flags = (file.flags & ~(O_ACCMODE | O_APPEND)) | O_RDWR;
  }

  /** The inode and flags behind a handle. */
  handle(fh: number): { ino: number; flags: number } {
    const file = this.#file(fh, 'fstat');
    return { ino: file.ino, flags: file.flags };
  }

  #openCheck(caller: Caller, attr: Attr, flags: number): void {
    const acc = flags & O_ACCMODE;
    if (acc === O_ACCMODE) fail('EINVAL', 'open');
    if (isSymlink(attr)) fail('ELOOP', 'open');
    if ((flags & O_DIRECTORY) && !isDir(attr)) fail('ENOTDIR', 'open');
    if (isDir(attr) && (acc !== O_RDONLY || (flags & O_TRUNC) && (flags & O_CREAT))) fail('EISDIR', 'open');
    let mask = 0;
    if (acc !== O_WRONLY) mask |= R_OK;
    if (acc !== O_RDONLY) mask |= W_OK;
    if ((flags & O_TRUNC) && acc !== O_RDONLY) mask |= W_OK;
    if (!permits(attr, caller, mask)) fail('EACCES', 'open');
  }

  async #register(caller: Caller, attr: Attr, flags: number, recorded = false): Promise<{ fh: number; attr: Attr }> {
    const { file, first } = this.#table.add(attr.ino, flags, caller, isDir(attr));
    // Close-to-open: reads after this open go by attributes fetched from now on (or by open's own
    // fetch: see open).
    this.#table.inode(attr.ino)!.attrSeen = null;
    // Still recorded as open if its release has not gone out yet.
    if (first && !recorded && !this.#releases.delete(attr.ino)) {
      try {
        await this.#asSession((id) => this.meta.opened(id, attr.ino));
      } catch (err) {
        this.#table.remove(file.fh);
        throw err;
      }
    }
    return { fh: file.fh, attr: this.#withPending(attr) };
  }

  /** open(2) of an existing inode. O_TRUNC empties a regular file opened for writing and, even
   * when it was empty already, stamps its mtime and ctime (POSIX; Linux does). */
  async open(caller: Caller, ino: number, flags: number): Promise<{ fh: number; attr: Attr }> {
    this.#live('open');
    // Attributes come fresh from meta on every open: nothing is cached across opens.
    const changes = this.#dataChanges;
    const at = Date.now();
    const current = await this.#currentAndFetched(ino);
    let attr = current.attr;
    this.#openCheck(caller, attr, flags);
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) !== O_RDONLY && isRegular(attr)) {
      attr = await this.#truncateData(caller, attr, 0);
    }
    const opened = await this.#register(caller, attr, flags);
    // This open's own read serves the reads that follow it, as a read's fetch would (it was made
    // within this open(), so it shows every close that completed before the call), sparing the
    // first read a round trip to the metadata server. Only for the file's one handle here (another
    // handle's reads may have seen more already), and not if this process changed any file's data
    // since the read began (O_TRUNC's cut among them): a change to a file with no handle here has
    // nothing else to tell it by.
    const state = this.#table.inode(ino);
    if (changes === this.#dataChanges && state?.handles === 1 && state.attrSeen === null) {
      state.attrSeen = { attr: current.fetched, at, changes: state.changes };
    }
    return opened;
  }

  /** open(2) with O_CREAT in directory `dir`: creates `name` or opens what is there. `known` is
   * what the caller's own walk just read of the directory (searchable) and the name; without it
   * both are read here. */
  async create(caller: Caller, dir: number, name: string, mode: number, flags: number, known?: KnownEntry): Promise<{ fh: number; attr: Attr; created: boolean }> {
    this.#live('open');
    this.#checkName(name, 'open');
    if ((flags & O_ACCMODE) === O_ACCMODE) fail('EINVAL', 'open');
    let parent: Attr;
    let existing: Attr | null;
    if (known) {
      ({ parent, existing } = known);
    } else {
      // One read for the directory and the name.
      const found = await this.meta.lookupPath(dir, [name]);
      if (found.length === 0) fail('ENOENT', 'open');
      parent = found[0]!;
      existing = found.length > 1 ? this.#withPending(found[1]!) : null;
    }
    if (!isDir(parent)) fail('ENOTDIR', 'open');
    if (!permits(parent, caller, X_OK)) fail('EACCES', 'open');
    if (existing === null) {
      try {
        const n = await this.#newNode(caller, dir, name, S_IFREG, mode, 'open', parent);
        // Created and recorded as open by this session in one transaction.
        const attr = await this.#asSession((id) => this.meta.mknod(dir, name, { mode: n.mode, uid: caller.uid, gid: n.gid }, id));
        const opened = await this.#register(caller, attr, flags, true);
        this.#table.inode(attr.ino)!.fresh = true;
        return { ...opened, created: true };
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST' || (flags & O_EXCL)) throw err;
        existing = await this.meta.lookup(dir, name);
      }
    }
    if (flags & O_EXCL) fail('EEXIST', 'open');
    if (isSymlink(existing) && (flags & O_NOFOLLOW)) fail('ELOOP', 'open');
    if (isDir(existing) && (flags & O_ACCMODE) === O_RDONLY && !(flags & O_TRUNC)) {
      // open("dir", O_CREAT|O_RDONLY) fails like Linux: a directory is never created by open.
      fail('EISDIR', 'open');
    }
    const opened = await this.open(caller, existing.ino, flags & ~(O_CREAT | O_EXCL));
    return { ...opened, created: false };
  }

  /**
   * open(O_CREAT) + write + close of a new regular file whose whole content is known up front
   * (writeFile of a path): the bytes are stored first, then the file is created holding them in
   * one metadata transaction. Returns null when `name` already exists, for the caller to take the
   * ordinary open path; with `exclusive` that is EEXIST instead.
   */
  /** `known`: the directory and the name as the caller's walk just read them (see create). */
  async createFile(caller: Caller, dir: number, name: string, mode: number, data: Uint8Array, exclusive: boolean, extras?: CreateExtras, known?: KnownEntry): Promise<Attr | null> {
    this.#live('open');
    this.#checkName(name, 'open');
    // One read for the directory and the name; "absent" costs no ENOENT error (the common case).
    const found = known ? [known.parent, ...(known.existing ? [known.existing] : [])] : await this.meta.lookupPath(dir, [name]);
    if (found.length === 0) fail('ENOENT', 'open');
    const parent = found[0]!;
    if (!isDir(parent)) fail('ENOTDIR', 'open');
    if (!permits(parent, caller, X_OK)) fail('EACCES', 'open');
    if (found.length > 1) {
      if (exclusive) fail('EEXIST', 'open');
      return null;
    }
    const n = await this.#newNode(caller, dir, name, S_IFREG, mode, 'open', parent);
    const content = data.byteLength > 0 ? await this.store.storeSlice(data, this.meta) : null;
    try {
      const made = await this.meta.createFile(dir, name, { mode: n.mode, uid: caller.uid, gid: n.gid }, content, extras);
      this.#bytesWritten.inc(data.byteLength);
      return made;
    } catch (err) {
      // Someone else created it meanwhile (meta has queued the stored slice for deletion).
      if ((err as { code?: string }).code === 'EEXIST' && !exclusive) return null;
      throw err;
    }
  }

  async read(fh: number, offset: number, target: Uint8Array): Promise<number> {
    const found = await this.#readable(fh, offset, target.length);
    if (!found) return 0;
    const want = Math.min(target.length, found.size - offset);
    const n = await this.store.read(found.ino, offset, target.subarray(0, want), found.size, this.#sliceSource(found.attr));
    this.#bytesRead.inc(n);
    return n;
  }

  /** read() for callers that only pass the bytes on (FUSE replies, sockets): `use` gets them once,
   * as a view valid during the call or until the promise it returns settles — straight from
   * verified block memory when possible. With `upToBlockEnd` the view may end at the end of the
   * block it starts in, short of `length`. */
  async readView<T>(fh: number, offset: number, length: number, use: (bytes: Uint8Array) => T, upToBlockEnd = false): Promise<T> {
    const found = await this.#readable(fh, offset, length);
    if (!found) return use(EMPTY);
    return this.store.readView(found.ino, offset, Math.min(length, found.size - offset), found.size, this.#sliceSource(found.attr), (bytes) => {
      this.#bytesRead.inc(bytes.length);
      return use(bytes);
    }, upToBlockEnd);
  }

  /** What a file's writer commits through: the metadata, with each commit counted for background
   * compaction. */
  #writerMeta(): SliceMeta {
    const meta = this.meta;
    const compactor = this.#compactor;
    return {
      readChunk: (ino, index) => meta.readChunk(ino, index),
      newSliceId: () => meta.newSliceId(),
      abandonSlice: (slice) => meta.abandonSlice(slice),
      commitSlice: async (ino, index, slice, fileEnd, then) => {
        await meta.commitSlice(ino, index, slice, fileEnd, then);
        compactor?.committed(ino, index);
      },
      appendSlice: async (ino, slice, then) => {
        const at = await meta.appendSlice(ino, slice, then);
        compactor?.appended(ino, at, slice.size);
        return at;
      },
    };
  }

  /** Where a read of an open file finds its chunks' slices: lists fetched earlier are reused while
   * the file's attributes are exactly as they were then. Every change to a file's data (a write
   * from any client, truncate, fallocate, clone) moves its ctime, so a list is never used after
   * one; a read then costs meta one round trip instead of two, and read-ahead none. */
  #sliceSource(attr: Attr): SliceSource {
    const state = this.#table.inode(attr.ino);
    if (!state) return this.meta;
    const stamp = `${attr.size}:${attr.mtimeNs}:${attr.ctimeNs}:${attr.blocks}`;
    if (state.slices?.stamp !== stamp) state.slices = { stamp, chunks: new Map() };
    const { chunks } = state.slices;
    return {
      readChunk: (ino, index) => {
        let list = chunks.get(index);
        if (!list) {
          list = this.meta.readChunk(ino, index);
          chunks.set(index, list);
          list.catch(() => chunks.delete(index));
        }
        return list;
      },
      forget: (_ino, index) => { chunks.delete(index); },
    };
  }

  /** The checks of a read; the inode and its size when there is anything to read. */
  async #readable(fh: number, offset: number, length: number): Promise<{ ino: number; size: number; attr: Attr } | null> {
    const file = this.#file(fh, 'read');
    if (file.dir) fail('EISDIR', 'read');
    if ((file.flags & O_ACCMODE) === O_WRONLY) fail('EBADF', 'read');
    if (!Number.isSafeInteger(offset) || offset < 0) fail('EINVAL', 'read');
    if (length === 0) return null;
    const ino = file.ino;
    const state = this.#table.inode(ino);
    // Read-your-writes: this process's buffered bytes, and a commit of them already under way,
    // are committed before reading (the queue orders this flush after one in progress).
    if (state?.writer?.dirty) {
      await this.#table.queue.run(ino, async () => { await state.writer?.flush(); }).catch((err: unknown) => {
        // A read cannot answer ENOSPC or EAGAIN: the bytes it should see are not stored.
        throw errnoError('EIO', 'read', undefined, `writes buffered for inode ${ino} could not be committed: ${(err as Error).message}`, err);
      });
    }
    const attr = await this.#readAttr(ino);
    if (isDir(attr)) fail('EISDIR', 'read');
    if (!isRegular(attr)) return null;
    if (offset >= attr.size) return null;
    return { ino, size: attr.size, attr };
  }

  async write(fh: number, offset: number, data: Uint8Array): Promise<number> {
    return (await this.writeAt(fh, offset, data)).bytes;
  }

  /** write(2)/pwrite(2); with O_APPEND the bytes go to the current end, wherever `offset` says.
   * Returns where they went. */
  async writeAt(fh: number, offset: number, data: Uint8Array): Promise<{ bytes: number; offset: number }> {
    const file = this.#file(fh, 'write');
    if (file.dir) fail('EISDIR', 'write');
    if ((file.flags & O_ACCMODE) === O_RDONLY) fail('EBADF', 'write');
    if (!Number.isSafeInteger(offset) || offset < 0) fail('EINVAL', 'write');
    if (offset + data.length > Number.MAX_SAFE_INTEGER) fail('EFBIG', 'write');
    if (data.length === 0) return { bytes: 0, offset };
    const ino = file.ino;
    const done = await this.#table.queue.run(ino, async () => {
      const state = this.#table.inode(ino);
      if (!state) fail('EBADF', 'write');
      // A write by anyone but root drops setuid/setgid first, as on Linux (through a mount the
      // kernel has already asked for it; then the bits are gone and this only looks).
      if (!isRoot(file.caller) && !state.writer?.dirty) await this.#dropPrivileges(ino, file.caller);
      state.writer ??= this.store.openWriter(ino, this.#writerMeta());
      if (!state.writer.dirty) state.dirtySinceMs = Date.now();
      state.lastWriteNs = nowNs();
      // A write after utimes: the file's mtime is the write's again (its commit sets it).
      if (state.held?.changes.mtimeNs !== undefined) {
        const { mtimeNs: _dropped, ...rest } = state.held.changes;
        state.held = { ...state.held, changes: rest };
      }
      if (file.flags & O_APPEND) {
        // The end is fixed when the bytes commit (another process may append first); until then
        // this is where they are expected to land.
        const attr = await this.meta.getattr(ino);
        const guess = Math.max(attr.size, state.writer.dirty ? state.writer.pendingEnd : 0);
        await state.writer.append(data, guess);
        return { bytes: data.length, offset: guess };
      }
      await state.writer.write(offset, data);
      return { bytes: data.length, offset };
    });
    this.#bytesWritten.inc(done.bytes);
    return done;
  }

  /** flush(2) on close of one descriptor: commit buffered writes so other clients see them. */
  async flush(fh: number): Promise<void> {
    const file = this.#file(fh, 'flush');
    await this.#flushInode(file.ino);
  }

  async fsync(fh: number, _datasync = false): Promise<void> {
    const file = this.#file(fh, 'fsync');
    await this.#flushInode(file.ino);
  }

  /** flush/fsync/close: everything this process did to the file so far becomes visible to other
   * clients; attribute changes from now on are no longer held back. */
  #flushInode(ino: number): Promise<void> {
    return this.#table.queue.run(ino, async () => {
      await this.#settle(ino);
      const state = this.#table.inode(ino);
      if (state) state.fresh = false;
    });
  }

  /** close(2)/FUSE release: flush, and on the inode's last handle here close its writer and tell
   * meta (an unlinked file's data is freed once no session has it open). */
  async release(fh: number): Promise<void> {
    const file = this.#file(fh, 'close');
    let flushError: unknown = null;
    if (!file.dir) await this.#flushInode(file.ino).catch((err: unknown) => { flushError = err; });
    const removed = this.#table.remove(fh);
    if (removed?.last) {
      const state = removed.last;
      await this.#table.queue.run(file.ino, async () => {
        const writer = state.writer;
        state.writer = null;
        if (writer) await writer.close().catch((err: unknown) => { flushError ??= err; });
      });
      this.#deferRelease(file.ino);
    }
    if (flushError) throw flushError;
  }

  /** Releases are told to meta in batches: one transaction per RELEASE_BATCH_MS instead of one
   * per close (they only let meta free files unlinked while open, which may wait that long). A
   * reopen before the batch goes out cancels the pending release instead. */
  #deferRelease(ino: number): void {
    this.#releases.add(ino);
    if (this.#releaseTimer) return;
    this.#releaseTimer = setTimeout(() => {
      this.#releaseTimer = null;
      this.#flushReleases().catch(() => undefined);
    }, RELEASE_BATCH_MS);
    this.#releaseTimer.unref();
  }

  /** Send the pending releases now (the next open of a released file waits for nothing). */
  async flushReleases(): Promise<void> {
    if (this.#releaseTimer) clearTimeout(this.#releaseTimer);
    this.#releaseTimer = null;
    await this.#flushReleases();
  }

  async #flushReleases(): Promise<void> {
    if (this.#releases.size === 0) return;
    const inos = [...this.#releases];
    this.#releases.clear();
    await this.meta.released(this.#session, inos);
  }

  /** Share byte ranges of other files into `dst` without copying their data (reflink; the S3
   * gateway's multipart completion and CopyObject): read permission on every source, write
   * permission on `dst`. Buffered writes of this process to any of them are committed first. */
  async cloneRanges(caller: Caller, dst: number, ranges: readonly CloneRange[]): Promise<Attr> {
    this.#live('clone');
    const target = await this.#current(dst);
    if (isDir(target)) fail('EISDIR', 'clone');
    if (!isRegular(target)) fail('EINVAL', 'clone');
    if (!permits(target, caller, W_OK)) fail('EACCES', 'clone');
    for (const src of new Set(ranges.map((r) => r.src))) {
      const attr = await this.#current(src);
      if (!isRegular(attr)) fail(isDir(attr) ? 'EISDIR' : 'EINVAL', 'clone');
      if (!permits(attr, caller, R_OK)) fail('EACCES', 'clone');
      await this.#flushInode(src);
    }
    return this.#table.queue.run(dst, async () => {
      await this.#settle(dst);
      return this.#withPending(await this.meta.cloneRanges(dst, ranges));
    });
  }

  /** Number of open handles (files and directories). */
  get openHandles(): number {
    return this.#table.size;
  }

  /** Release every handle, stop the timers, run a last reclaim, and close the session. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    let firstError: unknown = null;
    for (const fh of this.#table.handles()) {
      await this.release(fh).catch((err: unknown) => { firstError ??= err; });
    }
    await this.flushReleases().catch((err: unknown) => { firstError ??= err; });
    await this.#compactor?.close();
    await this.reclaim().catch(() => undefined);
    await this.meta.closeSession(this.#session).catch((err: unknown) => { firstError ??= err; });
    if (firstError) throw firstError;
  }
}
