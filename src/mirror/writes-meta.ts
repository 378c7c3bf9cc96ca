// The metadata a mirror's client sees when it writes ("mirror writes"): reads are answered by the
// mirror, in its own region; every change is made on the primary, and the call returns only once
// the mirror shows it — the client applies the primary's log up to its change itself if the
// replicator has not yet (replaying is idempotent and ordered, so the two never conflict). What
// is not volume state but must be seen by every client of the volume — sessions, open files,
// locks, id batches — lives on the primary.
//
// When the primary cannot be reached, reads go on; changes fail within ~2 s naming the primary,
// and nothing is half-made (a change is one transaction on the primary). Open-file records are
// sent behind the call (see #record), so opening a file to read never waits for the primary.
import { errnoError } from '../errors/errno.js';
import type { Meta } from '../meta/meta.js';
import type { SqlMeta } from '../meta/sql/engine.js';
import { connectPrimary, primaryUrl } from './primary.js';

/** Default bound on how long a change may take to show on the mirror (ms). */
export const DEFAULT_MIRROR_WAIT_MS = 10_000;
/** How long reaching the primary may take before a change fails (ms): the call fails within 2 s. */
const PRIMARY_FAIL_FAST_MS = 1_500;
/** Log entries fetched per round trip while catching up. */
const CATCH_UP_BATCH = 500;

/** Where each Meta call goes: 'mirror' reads volume state here; 'primary' is shared bookkeeping
 * that is not volume state; 'change' changes volume state on the primary and waits for the
 * mirror to show it. Every call is listed: a new one must be placed before this compiles. */
type Route = 'mirror' | 'primary' | 'change';
// watchOwnCommits is left out: this client's commits land on the primary first, so a reader of
// the mirror's log takes them for another client's (which costs only what it caches).
type MetaCall = Exclude<{ [K in keyof Meta]-?: Meta[K] extends ((...args: never[]) => unknown) | undefined ? K : never }[keyof Meta], 'close' | 'watchOwnCommits'>;

const ROUTES: Record<MetaCall, Route> = {
  settings: 'mirror', getattr: 'mirror', lookup: 'mirror', lookupPath: 'mirror', readlink: 'mirror', readdir: 'mirror',
  getxattr: 'mirror', listxattr: 'mirror', statfs: 'mirror', usage: 'mirror', readChunk: 'mirror', chunks: 'mirror',
  listTrash: 'mirror', knownSlices: 'mirror', version: 'mirror', changes: 'mirror', oldestVersion: 'mirror', consumers: 'mirror',
  configure: 'change', setattr: 'change', truncate: 'change', punchHole: 'change', fallocate: 'change', mknod: 'change',
  createFile: 'change', mkdir: 'change', symlink: 'change', link: 'change', unlink: 'change', rmdir: 'change',
  rename: 'change', setxattr: 'change', removexattr: 'change', commitSlice: 'change', appendSlice: 'change',
  cloneRanges: 'change', compactChunk: 'change', checkVolume: 'change', attachObject: 'change', restoreTrash: 'change', emptyTrash: 'change',
  newSliceId: 'primary', abandonSlice: 'primary', pendingSliceDeletes: 'primary', confirmSliceDeletes: 'primary',
  newSession: 'primary', heartbeat: 'primary', closeSession: 'primary', sessions: 'primary', cleanStaleSessions: 'primary',
  opened: 'primary', released: 'primary', flock: 'primary', getlk: 'primary', setlk: 'primary',
  registerConsumer: 'primary', dropConsumer: 'primary', pathOf: 'mirror',
  // The event queue is the primary's: events are queued in its transactions.
  queueEvents: 'primary', claimEvents: 'primary', settleEvents: 'primary', trimEvents: 'primary', eventStats: 'primary',
  // A region's cache groups are its own (rows of the mirror's engine, never replicated).
  groupBeat: 'mirror', groupMembers: 'mirror', groupLeave: 'mirror', groupNames: 'mirror', groupSecret: 'mirror',
};

export interface MirrorWritesOptions {
  /** The primary's URL with its password (default: STRATA_PRIMARY_META, else the one the mirror keeps). */
  primary?: string;
  /** How long a change may take to show on the mirror before the call fails (ms, default 10 s). */
  waitMs?: number;
}

type MirrorWritesMeta = Meta & { expireTrash(): Promise<number> };

/** `mirror` (opened on the mirror's engine) as a client that writes through its primary. */
export function mirrorWritesMeta(mirror: SqlMeta, options: MirrorWritesOptions = {}): Promise<MirrorWritesMeta> {
  return new WritesThroughPrimary(mirror, options).meta();
}

class WritesThroughPrimary {
  #primary: SqlMeta | null = null;
  #connecting: Promise<SqlMeta> | null = null;
  readonly #url: string;
  readonly #waitMs: number;
  #records: Promise<void> = Promise.resolve();

  constructor(readonly mirror: SqlMeta, options: MirrorWritesOptions) {
    this.#url = primaryUrl(mirror.mirrorSettings!, options.primary);
    this.#waitMs = options.waitMs ?? DEFAULT_MIRROR_WAIT_MS;
  }

  async meta(): Promise<MirrorWritesMeta> {
    const out: Record<string, unknown> = { url: this.mirror.url, trashName: this.mirror.trashName };
    const on = (m: SqlMeta, name: string) => (m as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!.bind(m);
    for (const [name, route] of Object.entries(ROUTES) as [MetaCall, Route][]) {
      if (route === 'mirror') out[name] = on(this.mirror, name);
      else if (route === 'primary') out[name] = async (...args: unknown[]) => on(await this.#reach(), name)(...args);
      else out[name] = (...args: unknown[]) => this.#change(name, (p) => on(p, name)(...args));
    }
    out.opened = (session: number, ino: number) => this.#opened(session, ino);
    out.released = (session: number, inos: number | readonly number[]) => this.#released(session, inos);
    // Freed blocks are deleted by the primary's own clients: this one's store is the mirror's.
    out.pendingSliceDeletes = async () => [];
    out.expireTrash = () => this.#change('expireTrash', (p) => p.expireTrash());
    out.close = async () => {
      await this.#records;
      const primary = this.#primary;
      this.#primary = null;
      await Promise.allSettled([this.mirror.close(), primary?.close()]);
    };
    return out as unknown as MirrorWritesMeta;
  }

  /** A change of volume state: made on the primary, returned once this mirror shows it. */
  async #change<T>(call: string, make: (primary: SqlMeta) => Promise<T>): Promise<T> {
    const primary = await this.#reach();
    // Open-file records sent before this change land first (an unlink must find the file open).
    await this.#records;
    const result = await make(primary);
    await this.#shown(primary, primary.committedVersion, call);
    return result;
  }

  /** The primary's engine, connected on first use and again after it failed. */
  async #reach(): Promise<SqlMeta> {
    if (this.#primary) return this.#primary;
    this.#connecting ??= (async () => {
      try {
        const p = await connectPrimary(this.#url, (await this.mirror.settings()).uuid, { connectTimeoutMs: PRIMARY_FAIL_FAST_MS, connectionRetryMs: PRIMARY_FAIL_FAST_MS });
        this.#primary = p.meta;
        return p.meta;
      } finally {
        this.#connecting = null;
      }
    })();
    return this.#connecting;
  }

  /** Return once the mirror shows `version`, applying the primary's log up to it if need be. */
  async #shown(primary: SqlMeta, version: number, call: string): Promise<void> {
    let applied = -1;
    let stopped = false;
    const catchUp = async () => {
      while (!stopped) {
        applied = await this.mirror.version();
        if (applied >= version) return;
        let entries;
        try {
          entries = await primary.changes(applied, CATCH_UP_BATCH);
        } catch (err) {
          throw errnoError('EIO', call, undefined, `the change is committed on the primary (version ${version}), but this mirror cannot catch up to it: ${(err as Error).message}`, err);
        }
        for (const entry of entries) await this.mirror.apply(entry);
        // The replicator may be applying the same entries: let it finish instead of racing it.
        if (entries.length === 0) await new Promise((r) => setTimeout(r, 2));
      }
    };
    let timer: NodeJS.Timeout | undefined;
    // The bound holds even while a step is stuck (the mirror's engine busy or gone).
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(errnoError('EIO', call, undefined,
        `the change is committed on the primary (version ${version}) but not visible on this mirror yet (at version ${applied < 0 ? 'unknown' : applied}) after ${this.#waitMs / 1000} s; it will show once the mirror catches up`)), this.#waitMs);
    });
    const working = catchUp();
    working.catch(() => undefined);
    try {
      await Promise.race([working, late]);
    } finally {
      stopped = true;
      clearTimeout(timer);
    }
  }

  /** Open-file records go to the primary in order, behind the call: reading a file in this
   * region never waits for the primary (or for it to be reachable at all). The record keeps the
   * primary from freeing a file unlinked meanwhile; one that could not be sent is lost, and such a
   * file may vanish under this reader as it would if the record were late. */
  #record(send: (primary: SqlMeta) => Promise<void>): Promise<void> {
    this.#records = this.#records.then(async () => send(await this.#reach())).catch(() => undefined);
    return Promise.resolve();
  }

  #opened(session: number, ino: number): Promise<void> {
    return this.#record((p) => p.opened(session, ino));
  }

  #released(session: number, inos: number | readonly number[]): Promise<void> {
    return this.#record((p) => p.released(session, inos));
  }
}
