// The metadata engine: Meta over any SQL database, through a driver (driver.ts). Every mutating
// call is one transaction (#write): rows it reads to change are locked (the dialect's FOR UPDATE),
// every row of volume state it changes is recorded (tx.ts), and at its end the transaction applies
// its counter deltas, takes the volume's next version and writes the change-log entry — the
// version row is the last one it locks, so versions commit in order and a reader tailing the log
// never passes a version whose predecessors are not all committed.
import { randomUUID } from 'node:crypto';
import { errnoError } from '../../errors/errno.js';
import { dataBytesIn, dataBytesInChunks, type Span } from '../coverage.js';
import { applyOwnerLock, firstConflict, type HeldLock } from '../locks.js';
import {
  CHUNK_SIZE, ROOT_INODE, TRASH_INODE, TRASH_NAME,
  type AttrChanges, type ChangeEntry, type ChangeRow, type CloneRange, type CreateExtras, type DirEntry, type FallocateMode, type FormatRequest,
  type GroupMember, type LockKind, type Meta, type NewNode, type NodeAttr, type RangeLock, type SessionRecord, type SettingsChange, type SliceRecord,
  type MirrorSettings, type StatFs, type TrashEntry, type Usage, type VolumeSettings,
  type KnownSlice, type VolumeProblem, type ExternalPart, type ExternalRef,
  type QueuedEvent, type PendingEvent, type EventTargetStats, type ConsumerStep, EVENTS_QUEUED_MARK,
} from '../meta.js';
import { inOrder, sealable } from './batch.js';
import type { SqlConn, SqlDriver, SqlRow, SqlValue } from './driver.js';
import { SCHEMA_VERSION } from './schema.js';
import { applySettingsChange, readSettings, writeSettings } from './settings.js';
import { addCounters, Tx } from './tx.js';
import { applyChange } from './replica.js';
import { groupOfRow, groupRowName, parseGroupMember } from './groups.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** Where fsck --repair puts inodes it finds linked but unreachable. */
const LOST_FOUND = 'lost+found';
const S_ISVTX = 0o1000;
const ID_BATCH = 1024;
const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
const DAY_MS = 86_400_000;
/** statfs figures when the volume sets no capacity / inode limit. */
const UNLIMITED_BYTES = 2 ** 50;
const UNLIMITED_INODES = 2 ** 40;
/** How long a transaction keeps being retried (busy, serialization failures, deadlocks, lost
 * connections before commit) before giving up with an error naming the cause. */
const RETRY_FOR_MS = 60_000;
/** Every this many versions, change-log entries beyond the retention bound are pruned. */
const PRUNE_EVERY = 256;
/** A registered consumer holds the log back at most this many times the retention: beyond, its
 * entries go anyway and it must resync (the log may not grow without bound). */
const CONSUMER_HOLD = 10;
/** How far clients' clocks may disagree, when a release time is compared with a mirror's position. */
const MIRROR_CLOCK_SKEW_MS = 5_000;
/** The longest a mirror that does not move holds back the deletion of released blocks. */
const MIRROR_HOLD_MS = 3_600_000;
/** Settings read from a server are reused this long (SQLite knows when they changed). */
const SETTINGS_TTL_MS = 1000;
/** Events per INSERT or DELETE statement (bound parameters stay well under every server's limit). */
const EVENT_INSERT_BATCH = 200;
/** Entries of the read cache before it starts over. */
const READ_CACHE_ENTRIES = 4096;

interface NodeRow {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
  nlink: number;
  length: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  btime: bigint;
  parent: number;
  /** Bytes of the file that hold stored data (not holes): what st_blocks and used space count. */
  stored: number;
}

const NODE_COLUMNS = ['ino', 'mode', 'uid', 'gid', 'rdev', 'nlink', 'length', 'atime', 'mtime', 'ctime', 'btime', 'parent', 'stored'] as const;
const NODE_SELECT = NODE_COLUMNS.map((c) => `i.${c}`).join(', ');

function toRow(raw: SqlRow): NodeRow {
  return {
    ino: Number(raw.ino), mode: Number(raw.mode), uid: Number(raw.uid), gid: Number(raw.gid), rdev: Number(raw.rdev),
    nlink: Number(raw.nlink), length: Number(raw.length), atime: BigInt(raw.atime as bigint), mtime: BigInt(raw.mtime as bigint),
    ctime: BigInt(raw.ctime as bigint), btime: BigInt(raw.btime as bigint), parent: Number(raw.parent), stored: Number(raw.stored),
  };
}

const nodeValues = (n: NodeRow): SqlValue[] => NODE_COLUMNS.map((c) => n[c]);
const nodeRecord = (n: NodeRow): Record<string, SqlValue> => ({ ...n });

const isDirMode = (mode: number) => (mode & S_IFMT) === S_IFDIR;
const isRegMode = (mode: number) => (mode & S_IFMT) === S_IFREG;
/** Space a file is charged: its stored bytes (holes cost nothing) rounded up to 4 KiB. */
const charged = (mode: number, stored: number) => (isRegMode(mode) ? Math.ceil(stored / 4096) * 4096 : 0);

function toAttr(r: NodeRow): NodeAttr {
  return {
    ino: r.ino, mode: r.mode, nlink: r.nlink, uid: r.uid, gid: r.gid, rdev: r.rdev,
    size: isDirMode(r.mode) ? 4096 : r.length,
    blocks: isDirMode(r.mode) ? 8 : charged(r.mode, r.stored) / 512,
    atimeNs: r.atime, mtimeNs: r.mtime, ctimeNs: r.ctime, birthtimeNs: r.btime,
  };
}

// Microsecond resolution: Date.now() alone would make writes within one millisecond look
// simultaneous to tools comparing mtimes.
function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

function fail(code: string, syscall: string, detail?: string): never {
  throw errnoError(code, syscall, undefined, detail);
}

function trashHour(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace('T', '-');
}

/** `parent-ino-name`, cut to NAME_MAX bytes on a character boundary. */
function trashEntryName(parent: number, ino: number, name: string): string {
  let out = `${parent}-${ino}-${name}`;
  while (Buffer.byteLength(out) > 255) out = out.slice(0, -1);
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const PATH_STEP = 4;

/** The attributes of the start directory (if `withStart`) and of the names below it, one UNION
 * ALL branch per depth; missing names end the result early. */
function pathQuery(dir: number, names: readonly string[], withStart: boolean): { sql: string; params: SqlValue[] } {
  const branches: string[] = [];
  const params: SqlValue[] = [];
  if (withStart) {
    branches.push(`SELECT 0 AS depth, ${NODE_SELECT} FROM inodes i WHERE i.ino = ?`);
    params.push(dir);
  }
  for (let depth = 1; depth <= names.length; depth++) {
    const joins = ['dentries d1'];
    for (let k = 2; k <= depth; k++) joins.push(`JOIN dentries d${k} ON d${k}.parent = d${k - 1}.ino AND d${k}.name = ?`);
    branches.push(`SELECT ${depth} AS depth, ${NODE_SELECT} FROM ${joins.join(' ')} JOIN inodes i ON i.ino = d${depth}.ino WHERE d1.parent = ? AND d1.name = ?`);
    params.push(...names.slice(1, depth), dir, names[0]!);
  }
  return { sql: `SELECT * FROM (${branches.join(' UNION ALL ')}) p ORDER BY depth`, params };
}

class IdBatch {
  next = 0;
  end = 0;
  refill: Promise<void> | null = null;
  get left(): number {
    return this.end - this.next;
  }
}

export interface SqlMetaOptions {
  /** How long a lost connection is retried before a write fails with EIO (default 60 s). */
  connectionRetryMs?: number;
}

interface WriteOptions {
  /** A unique-key violation means a concurrent transaction took the name: EEXIST (default), or
   * run again to see what it did (rename replaces what it finds). */
  duplicate?: 'EEXIST' | 'retry';
  /** Running it twice does what running it once does (a replayed log entry): retried even when
   * a lost connection left its commit unknown. */
  idempotent?: boolean;
  /** Event notifications queued in the transaction (its change-log entry is marked, so readers
   * deriving events from the log know these were told already). */
  events?: readonly QueuedEvent[];
}

/** Trashed files expired per transaction (see emptyTrash). */
const TRASH_BATCH = 256;
/** Inodes per statement when releases come in a batch. */
const RELEASE_SLICE = 500;

export class SqlMeta implements Meta {
  readonly url: string;
  readonly trashName = TRASH_NAME;
  readonly #db: SqlDriver;
  readonly #inodes = new IdBatch();
  readonly #slices = new IdBatch();
  #settings: VolumeSettings;
  #settingsAt = 0;
  #settingsToken = -1;
  readonly #readCache = new Map<string, unknown>();
  #cacheToken = -1;
  #sinceprune = 0;
  #closed = false;
  #committed = 0;
  readonly #commitListeners = new Set<(version: number, rows: readonly ChangeRow[]) => void>();
  readonly #connectionRetryMs: number;

  private constructor(db: SqlDriver, settings: VolumeSettings, options: SqlMetaOptions) {
    this.#db = db;
    this.#connectionRetryMs = options.connectionRetryMs ?? RETRY_FOR_MS;
    this.url = db.url;
    this.#settings = settings;
    this.#settingsAt = Date.now();
  }

  /** Open the volume a driver's database holds. */
  static async open(db: SqlDriver, options: SqlMetaOptions = {}): Promise<SqlMeta> {
    const settings = await db.read((c) => readSettings(c, db.url));
    return new SqlMeta(db, settings, options);
  }

  /** Set when this engine holds a mirror. */
  get mirrorSettings(): MirrorSettings | undefined {
    return this.#settings.mirror;
  }

  /** The highest version this client committed (what its reads elsewhere must wait for). */
  get committedVersion(): number {
    return this.#committed;
  }

  /** Replay another volume's change-log entry here (a mirror); false when it was applied before. */
  async apply(entry: ChangeEntry): Promise<boolean> {
    this.#live('replicate');
    // Replaying an entry again is harmless (it is skipped), so an unknown commit may be retried too.
    const applied = await this.#retried('replicate', () => applyChange(this.#db, entry), { idempotent: true });
    // Settings may have changed, and this connection's own commits do not move SQLite's token.
    this.#settingsToken = -1;
    this.#settingsAt = 0;
    return applied;
  }

  /** Create a volume, or re-apply format to an existing one (changing only what may change).
   * Returns the open engine and what changed ([] for a new volume). */
  static async format(db: SqlDriver, req: FormatRequest, force: boolean): Promise<{ meta: SqlMeta; created: boolean; changed: string[] }> {
    const existing = await db.read(async (c) => (await c.get('SELECT 1 AS x FROM settings LIMIT 1')) !== undefined);
    if (!existing) {
      if (req.storage === '') fail('EINVAL', 'format', 'a new volume needs a storage URL');
      await db.transaction(async (c) => {
        const tx = new Tx(c, db.dialect);
        await SqlMeta.#initialise(tx, req);
        await SqlMeta.#finish(tx, 'format', 0);
      });
      return { meta: await SqlMeta.open(db), created: true, changed: [] };
    }
    const current = await db.read((c) => readSettings(c, db.url));
    if (req.name !== current.name) {
      fail('EEXIST', 'format', `${db.url} already holds volume "${current.name}"; a volume cannot be renamed (use a different metadata URL for "${req.name}")`);
    }
    if (req.blockSize !== undefined && req.blockSize !== current.blockSize) {
      fail('EINVAL', 'format', `the block size of "${current.name}" is ${current.blockSize} bytes and cannot change once data may exist`);
    }
    if (req.storage !== '' && req.storage !== current.storage && !force) {
      fail('EINVAL', 'format', `"${current.name}" keeps its data at ${current.storage}; pass --force to point it at ${req.storage} (move the objects first)`);
    }
    const change: SettingsChange = { trashDays: req.trashDays, storage: req.storage === '' ? undefined : req.storage, storageCredentials: req.storageCredentials };
    if (req.capacity !== undefined) change.capacity = req.capacity;
    if (req.inodeLimit !== undefined) change.inodeLimit = req.inodeLimit;
    const meta = await SqlMeta.open(db);
    const changed = await meta.configure(change);
    return { meta, created: false, changed };
  }

  static async #initialise(tx: Tx, req: FormatRequest): Promise<void> {
    const settings: VolumeSettings = {
      name: req.name, uuid: randomUUID(), storage: req.storage, blockSize: req.blockSize ?? DEFAULT_BLOCK_SIZE, trashDays: req.trashDays ?? 1,
      capacity: req.capacity ?? 0, inodeLimit: req.inodeLimit ?? 0, changelogRetention: 100_000,
      createdMs: Date.now(), schemaVersion: SCHEMA_VERSION,
      ...(req.storageCredentials !== undefined ? { storageCredentials: req.storageCredentials } : {}),
    };
    await writeSettings(tx, settings);
    const t = nowNs();
    // 0755 owned by root, as mkfs makes a new file system's root.
    const root: NodeRow = { ino: ROOT_INODE, mode: S_IFDIR | 0o755, uid: 0, gid: 0, rdev: 0, nlink: 3, length: 0, atime: t, mtime: t, ctime: t, btime: t, parent: ROOT_INODE, stored: 0 };
    // The trash: root-only, listed at the root (the SDK hides it), entries restorable by admins.
    const trash: NodeRow = { ...root, ino: TRASH_INODE, mode: S_IFDIR | 0o555, nlink: 2 };
    await SqlMeta.#insertNode(tx, root);
    await SqlMeta.#insertNode(tx, trash);
    await SqlMeta.#insertEntry(tx, ROOT_INODE, TRASH_NAME, TRASH_INODE, S_IFDIR);
    for (const [name, value] of [['used_bytes', 0], ['inodes', 2]] as const) {
      await tx.c.run(tx.dialect.insertIgnore('counters', ['name', 'value']), [name, value]);
    }
    for (const [name, next] of [['inode', 3], ['slice', 1]] as const) {
      await tx.c.run(tx.dialect.insertIgnore('allocators', ['name', 'next']), [name, next]);
    }
  }

  // ---- transactions ----

  #live(syscall: string): void {
    if (this.#closed) fail('EBADF', syscall, 'the metadata engine is closed');
  }

  /** Run `body` as one transaction named `op`, retried while the database says to try again. */
  async #write<T>(op: string, body: (tx: Tx) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    return this.#retried(op, async () => {
      if (this.#settings.mirror) return this.#onMirror(op, body);
      const result = await this.#db.transaction(async (c) => {
        const statements = sealable(c);
        try {
          const tx = new Tx(statements.conn, this.#db.dialect);
          const value = await body(tx);
          const events = options.events ?? [];
          if (events.length > 0) await SqlMeta.#queue(tx.c, events);
          const version = await SqlMeta.#finish(tx, events.length > 0 ? op + EVENTS_QUEUED_MARK : op, this.#settings.changelogRetention, this.#pruneDue());
          return { value, version, rows: tx.rows };
        } finally {
          statements.seal();
        }
      });
      if (result.version > this.#committed) this.#committed = result.version;
      if (result.version > 0) for (const listener of this.#commitListeners) listener(result.version, result.rows);
      return result.value;
    }, options);
  }

  /** A transaction on a mirror: bookkeeping (sessions, open files, locks) goes through; a change
   * of volume state is EROFS. It may not get as far as the check at its end: a mirror's id
   * allocators and sequences are not the primary's, so a new row can collide with a replicated
   * one first. */
  async #onMirror<T>(op: string, body: (tx: Tx) => Promise<T>): Promise<T> {
    const refuse = (): never => fail('EROFS', op, `this volume is a mirror of ${this.#settings.mirror!.primary}: changes go to the primary (open it with mirror writes enabled)`);
    return this.#db.transaction(async (c) => {
      const statements = sealable(c);
      const tx = new Tx(statements.conn, this.#db.dialect);
      try {
        let value: T;
        try {
          value = await body(tx);
        } catch (err) {
          if (this.#db.dialect.duplicate(err)) refuse();
          throw err;
        }
        if (tx.rows.length > 0) refuse();
        await SqlMeta.#finish(tx, op, this.#settings.changelogRetention);
        return value;
      } finally {
        statements.seal();
      }
    });
  }

  /** Run one transaction (`attempt`), again while the database says to try again. */
  async #retried<T>(op: string, attempt: () => Promise<T>, options: WriteOptions = {}): Promise<T> {
    const deadline = Date.now() + RETRY_FOR_MS;
    // Where a lost connection should be said soon (a mirror's client writing to a far primary).
    const connectionDeadline = Date.now() + this.#connectionRetryMs;
    let delay = 1;
    for (let n = 1; ; n++) {
      try {
        const value = await attempt();
        this.#readCache.clear();
        return value;
      } catch (err) {
        this.#readCache.clear();
        // The commit may or may not have happened: running it again could apply it twice.
        if ((err as { commitUnknown?: boolean }).commitUnknown && !options.idempotent) throw err;
        const d = this.#db.dialect;
        if (d.duplicate(err) && options.duplicate !== 'retry') throw errnoError('EEXIST', op, undefined, 'the name was taken by a concurrent change', err);
        const again = d.retryable(err) || d.connectionLost(err) || (d.duplicate(err) && options.duplicate === 'retry');
        if (!again) throw err;
        const lost = d.connectionLost(err);
        if (Date.now() > (lost ? connectionDeadline : deadline)) {
          const why = lost ? `the connection to ${this.url} kept failing` : `the transaction kept conflicting with other clients (${n} attempts)`;
          throw errnoError(d.retryable(err) && d.name === 'sqlite' ? 'EAGAIN' : 'EIO', op, undefined,
            `${why} for ${Math.round((lost ? this.#connectionRetryMs : RETRY_FOR_MS) / 100) / 10} s: ${(err as Error).message}`, err);
        }
        await sleep(delay + Math.random() * delay);
        delay = Math.min(delay * 2, 100);
      }
    }
  }

  #pruneDue(): boolean {
    this.#sinceprune++;
    if (this.#sinceprune < PRUNE_EVERY) return false;
    this.#sinceprune = 0;
    return true;
  }

  /** The tail of every transaction: counters, then — if volume state changed — the next version
   * and its change-log entry. The version row is locked last and held until commit. */
  static async #finish(tx: Tx, op: string, retention: number, prune = false): Promise<number> {
    const deltas = [...tx.counters];
    const counterParams = [...deltas.flat(), ...deltas.map(([name]) => name)];
    const together = tx.rows.length > 0 ? tx.dialect.bumpAndLog : undefined;
    // Every counter the transaction moved, in one statement.
    const counted = deltas.length > 0 && !together ? tx.c.run(addCounters(deltas.length), counterParams) : undefined;
    if (tx.rows.length === 0) {
      await counted;
      return 0;
    }
    const body = JSON.stringify(tx.rows);
    let version: number;
    const pruning = prune && retention > 0;
    if (together) {
      const sql = together(deltas.length);
      const params = [...counterParams, op, Date.now(), body];
      // Nothing else to do in the transaction: its commit can go with this statement.
      if (!pruning) return Number((await tx.c.last<{ version: unknown }>(sql, params))!.version);
      version = Number((await tx.c.get<{ version: unknown }>(sql, params))!.version);
    } else if (tx.dialect.returning) {
      await counted;
      version = Number((await tx.c.get<{ version: unknown }>('UPDATE vstate SET version = version + 1 RETURNING version'))!.version);
      await tx.c.run('INSERT INTO changes (version, op, time_ms, body) VALUES (?, ?, ?, ?)', [version, op, Date.now(), body]);
    } else {
      // No RETURNING (MySQL): the log entry takes the version on the server, and the version is
      // read back last, so every part goes out together (one batch on MySQL), the commit too
      // unless pruning follows.
      const read = 'SELECT version FROM vstate';
      const [, , , row] = await inOrder([
        counted,
        tx.c.run('UPDATE vstate SET version = version + 1'),
        tx.c.run('INSERT INTO changes (version, op, time_ms, body) SELECT version, ?, ?, ? FROM vstate', [op, Date.now(), body]),
        pruning ? tx.c.get<{ version: unknown }>(read) : tx.c.last<{ version: unknown }>(read),
      ]);
      version = Number(row!.version);
      if (!pruning) return version;
    }
    if (pruning) {
      const slowest = (await tx.c.get<{ v: unknown }>('SELECT min(applied) AS v FROM consumers'))?.v;
      let upTo = version - retention;
      if (slowest !== null && slowest !== undefined) upTo = Math.max(Math.min(upTo, Number(slowest)), version - retention * CONSUMER_HOLD);
      await tx.c.run('DELETE FROM changes WHERE version <= ?', [upTo]);
    }
    return version;
  }

  #read<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    return this.#db.read(body);
  }

  /** Reads repeated while nothing was committed are answered from memory, where the database
   * can tell that cheaply (SQLite's data_version moves whenever another connection commits, and
   * this engine's own writes drop the cache). */
  async #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const token = this.#db.changeToken?.();
    if (token === undefined) return load();
    if (token !== this.#cacheToken) {
      this.#readCache.clear();
      this.#cacheToken = token;
    }
    let hit = this.#readCache.get(key) as T | undefined;
    if (hit === undefined) {
      // Whatever commits while this loads moves the token (another process) or clears the cache
      // (this one): a stale answer never outlives the next call.
      hit = await load();
      if (this.#readCache.size >= READ_CACHE_ENTRIES) this.#readCache.clear();
      this.#readCache.set(key, hit);
    }
    return hit;
  }

  // ---- rows ----

  static async #insertNode(tx: Tx, n: NodeRow): Promise<void> {
    await tx.c.run(`INSERT INTO inodes (${NODE_COLUMNS.join(', ')}) VALUES (${NODE_COLUMNS.map(() => '?').join(', ')})`, nodeValues(n));
    tx.put('inodes', nodeRecord(n));
  }

  /** Write an inode row whole (the change log carries whole rows). */
  static async #saveNode(tx: Tx, n: NodeRow): Promise<void> {
    await tx.c.run(`UPDATE inodes SET ${NODE_COLUMNS.slice(1).map((c) => `${c} = ?`).join(', ')} WHERE ino = ?`, [...nodeValues(n).slice(1), n.ino]);
    tx.put('inodes', nodeRecord(n));
  }

  static async #insertEntry(tx: Tx, parent: number, name: string, ino: number, type: number): Promise<void> {
    const cookie = await tx.c.insertId('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)', [parent, name, ino, type], 'cookie');
    tx.put('dentries', { cookie, parent, name, ino, type });
  }

  async #deleteEntry(tx: Tx, parent: number, name: string): Promise<void> {
    await tx.c.run('DELETE FROM dentries WHERE parent = ? AND name = ?', [parent, name]);
    tx.delete('dentries', { parent, name });
  }

  async #node(c: SqlConn, ino: number, syscall: string, lock = false): Promise<NodeRow> {
    return (await this.#nodeIfAny(c, ino, lock)) ?? fail('ENOENT', syscall);
  }

  /** An inode's row (locked with `lock`), or undefined when it is gone. */
  async #nodeIfAny(c: SqlConn, ino: number, lock = false): Promise<NodeRow | undefined> {
    const raw = await c.get(`SELECT ${NODE_SELECT} FROM inodes i WHERE i.ino = ?${lock ? this.#db.dialect.forUpdate : ''}`, [ino]);
    return raw ? toRow(raw) : undefined;
  }

  async #dirNode(c: SqlConn, ino: number, syscall: string, lock = false): Promise<NodeRow> {
    const n = await this.#node(c, ino, syscall, lock);
    if (!isDirMode(n.mode)) fail('ENOTDIR', syscall);
    return n;
  }

  /** Lock directory `dir` and stamp it changed at `t`, `subdirs` more subdirectories linking to it
   * (an entry came or is about to come or go): the row as it is now. Where the database returns
   * updated rows this is one statement (a failure later in the transaction rolls it back);
   * otherwise the write and a read of the row it locked, sent together. */
  async #lockAndTouchDir(tx: Tx, dir: number, op: string, t: bigint, subdirs: number): Promise<NodeRow> {
    const stamp = 'UPDATE inodes SET nlink = nlink + ?, mtime = ?, ctime = ? WHERE ino = ?';
    const found = tx.dialect.returning
      ? await tx.c.get(`${stamp} RETURNING ${NODE_COLUMNS.join(', ')}`, [subdirs, t, t, dir]).then((raw) => (raw ? toRow(raw) : undefined))
      : (await inOrder([tx.c.run(stamp, [subdirs, t, t, dir]), this.#nodeIfAny(tx.c, dir)]))[1];
    const n = found ?? fail('ENOENT', op);
    if (!isDirMode(n.mode)) fail('ENOTDIR', op);
    tx.put('inodes', nodeRecord(n));
    return n;
  }

  async #entry(c: SqlConn, dir: number, name: string, lock = false): Promise<{ cookie: number; ino: number; type: number } | undefined> {
    const r = await c.get(`SELECT cookie, ino, type FROM dentries WHERE parent = ? AND name = ?${lock ? this.#db.dialect.forUpdate : ''}`, [dir, name]);
    return r ? { cookie: Number(r.cookie), ino: Number(r.ino), type: Number(r.type) } : undefined;
  }

  /** The row of the inode that name `name` in `dir` points to, locked; undefined when the name or
   * its inode is not there. Sent right behind the entry's locking read, it spares waiting for that
   * answer: the entry's row is locked by then, and at READ COMMITTED this statement sees it as the
   * read did. */
  async #lockedNodeOf(c: SqlConn, dir: number, name: string): Promise<NodeRow | undefined> {
    const raw = await c.get(`SELECT ${NODE_SELECT} FROM inodes i WHERE i.ino = (SELECT d.ino FROM dentries d WHERE d.parent = ? AND d.name = ?)${this.#db.dialect.forUpdate}`, [dir, name]);
    return raw ? toRow(raw) : undefined;
  }

  /** Lock several inode rows in ascending order (one order everywhere keeps deadlocks rare). The
   * statements go out together (one round trip where the connection pipelines); the server runs
   * them in that order all the same. */
  async #lockNodes(c: SqlConn, inos: readonly number[]): Promise<void> {
    if (!this.#db.dialect.forUpdate) return;
    await inOrder([...new Set(inos)].sort((a, b) => a - b).map((ino) => c.get(`SELECT ino FROM inodes WHERE ino = ?${this.#db.dialect.forUpdate}`, [ino])));
  }

  /** As #lockNodes, with the rows read: ENOENT (`syscall`) when one is gone. */
  async #lockedNodes(c: SqlConn, inos: readonly number[], syscall: string): Promise<Map<number, NodeRow>> {
    const rows = await this.#lockedRows(c, inos);
    if (rows.size < new Set(inos).size) fail('ENOENT', syscall);
    return rows;
  }

  /** As #lockedNodes, with a row that is gone left out: for callers that judge which is missing
   * in an order of their own. */
  async #lockedRows(c: SqlConn, inos: readonly number[]): Promise<Map<number, NodeRow>> {
    const sorted = [...new Set(inos)].sort((a, b) => a - b);
    const rows = await inOrder(sorted.map((ino) => this.#nodeIfAny(c, ino, true)));
    return new Map(rows.filter((n) => n !== undefined).map((n) => [n.ino, n]));
  }

  async #sticky(parent: NodeRow, child: { uid: number }, uid: number, syscall: string): Promise<void> {
    if ((parent.mode & S_ISVTX) && uid !== 0 && uid !== child.uid && uid !== parent.uid) fail('EPERM', syscall);
  }

  // ---- id batches ----

  async #reserve(batch: IdBatch, name: 'inode' | 'slice', want: number): Promise<void> {
    // Concurrent callers share one refill instead of each burning a batch.
    while (batch.left < want) {
      batch.refill ??= this.#write('reserve', async (tx) => {
        // Its own transaction, committed before any id is used: a rolled-back reservation could
        // otherwise hand the same ids to another process.
        const n = Math.max(ID_BATCH, want);
        await tx.c.run('UPDATE allocators SET next = next + ? WHERE name = ?', [n, name]);
        const end = Number((await tx.c.get<{ next: unknown }>('SELECT next FROM allocators WHERE name = ?', [name]))!.next);
        return { start: end - n, end };
      })
        .then(({ start, end }) => {
          batch.next = start;
          batch.end = end;
        })
        .finally(() => {
          batch.refill = null;
        });
      await batch.refill;
    }
  }

  /** The next id, inside a write transaction. Other operations may have drained the batch
   * between this one's reserve and its transaction; then the id comes straight from the table,
   * in this same transaction (so a rollback returns it). */
  async #take(tx: Tx, batch: IdBatch, name: 'inode' | 'slice'): Promise<number> {
    if (batch.left > 0) return batch.next++;
    await tx.c.run('UPDATE allocators SET next = next + 1 WHERE name = ?', [name]);
    return Number((await tx.c.get<{ next: unknown }>('SELECT next FROM allocators WHERE name = ?', [name]))!.next) - 1;
  }

  // ---- settings ----

  /** The settings as committed now, or as read less than a second ago (another client may change
   * them; SQLite says exactly when). */
  async #current(c: SqlConn): Promise<VolumeSettings> {
    const token = this.#db.changeToken?.();
    const fresh = token !== undefined ? token === this.#settingsToken : Date.now() - this.#settingsAt < SETTINGS_TTL_MS;
    if (!fresh) {
      this.#settings = await readSettings(c, this.url);
      this.#settingsAt = Date.now();
      if (token !== undefined) this.#settingsToken = token;
    }
    return this.#settings;
  }

  async settings(): Promise<VolumeSettings> {
    this.#live('settings');
    this.#settings = await this.#read((c) => readSettings(c, this.url));
    this.#settingsAt = Date.now();
    return { ...this.#settings };
  }

  async configure(change: SettingsChange): Promise<string[]> {
    this.#live('configure');
    const changed = await this.#write('configure', (tx) => applySettingsChange(tx, change, this.url));
    this.#settings = await this.#read((c) => readSettings(c, this.url));
    this.#settingsAt = Date.now();
    return changed;
  }

  // ---- namespace ----

  async getattr(ino: number): Promise<NodeAttr> {
    this.#live('getattr');
    return { ...(await this.#cached(`a${ino}`, () => this.#read(async (c) => toAttr(await this.#node(c, ino, 'getattr'))))) };
  }

  async lookup(dir: number, name: string): Promise<NodeAttr> {
    this.#live('lookup');
    return this.#read(async (c) => {
      const raw = await c.get(`SELECT ${NODE_SELECT} FROM dentries d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?`, [dir, name]);
      if (raw) return toAttr(toRow(raw));
      await this.#dirNode(c, dir, 'lookup');
      fail('ENOENT', 'lookup');
    });
  }

  async lookupPath(dir: number, names: string[]): Promise<NodeAttr[]> {
    this.#live('lookup');
    return this.#read(async (c) => {
      const out: NodeAttr[] = [];
      let from = dir;
      // Up to PATH_STEP names per statement: a chain of joins the database runs as index lookups.
      // The last statement takes one more, so that a walk's final name, read along with its
      // directories, never costs a statement of its own.
      for (let at = 0; ; ) {
        const left = names.length - at;
        const take = left <= PATH_STEP + 1 ? left : PATH_STEP;
        const part = names.slice(at, at + take);
        let rows: SqlRow[] = [];
        if (part.length > 0 || at === 0) {
          const q = pathQuery(from, part, at === 0);
          rows = await c.all(q.sql, q.params);
        }
        for (const r of rows) out.push(toAttr(toRow(r)));
        if (at + take >= names.length || rows.length < part.length + (at === 0 ? 1 : 0)) return out;
        from = out[out.length - 1]!.ino;
        at += take;
      }
    });
  }

  async setattr(ino: number, changes: AttrChanges): Promise<NodeAttr> {
    this.#live('setattr');
    return this.#write('setattr', async (tx) => {
      const next = this.#changed(await this.#node(tx.c, ino, 'setattr', true), changes, nowNs());
      await SqlMeta.#saveNode(tx, next);
      return toAttr(next);
    });
  }

  /** `n` with attribute changes applied (ctime `t`). */
  #changed(n: NodeRow, changes: AttrChanges, t: bigint): NodeRow {
    return {
      ...n, mode: changes.mode !== undefined ? (n.mode & S_IFMT) | (changes.mode & 0o7777) : n.mode,
      uid: changes.uid ?? n.uid, gid: changes.gid ?? n.gid, atime: changes.atimeNs ?? n.atime, mtime: changes.mtimeNs ?? n.mtime, ctime: t,
    };
  }

  /** A data commit's node with the attribute changes its writer held back applied after it. */
  #then(n: NodeRow, then: AttrChanges | undefined, t: bigint): NodeRow {
    return then ? this.#changed(n, then, t) : n;
  }

  async #capacityCheck(tx: Tx, extraBytes: number, syscall: string): Promise<void> {
    if (extraBytes <= 0) return;
    const cap = (await this.#current(tx.c)).capacity;
    if (cap > 0 && (await tx.counter('used_bytes')) + extraBytes > cap) fail('ENOSPC', syscall, `the volume's capacity of ${cap} bytes is reached`);
  }

  /** Drop the slices of chunks wholly past `size`, and hide the rest of the chunk holding `size`
   * behind a hole, so bytes past the new end never come back when the file grows. Returns the
   * change in the file's stored bytes. */
  async #cutData(tx: Tx, ino: number, size: number): Promise<number> {
    const firstGone = Math.ceil(size / CHUNK_SIZE);
    const gone = (await tx.c.all('SELECT chunk, seq, id, pos, len FROM slices WHERE ino = ? AND chunk >= ? ORDER BY chunk, seq', [ino, firstGone]))
      .map((r) => ({ chunk: Number(r.chunk), seq: Number(r.seq), id: Number(r.id), pos: Number(r.pos), len: Number(r.len) }));
    let delta = -dataBytesInChunks(gone, CHUNK_SIZE);
    for (const s of gone) await this.#unref(tx, s.id);
    if (gone.length > 0) {
      await tx.c.run('DELETE FROM slices WHERE ino = ? AND chunk >= ?', [ino, firstGone]);
      for (const s of gone) tx.delete('slices', { ino, chunk: s.chunk, seq: s.seq });
    }
    const pos = size % CHUNK_SIZE;
    if (pos !== 0) delta += await this.#appendHole(tx, ino, Math.floor(size / CHUNK_SIZE), pos, CHUNK_SIZE - pos);
    return delta;
  }

  /** A hole slice over [pos, pos+len) of a chunk, if any slice there reaches into that range.
   * Returns the change in the file's stored bytes. */
  async #appendHole(tx: Tx, ino: number, chunk: number, pos: number, len: number): Promise<number> {
    const reaches = await tx.c.get('SELECT 1 AS x FROM slices WHERE ino = ? AND chunk = ? AND pos + len > ? AND pos < ? LIMIT 1', [ino, chunk, pos, pos + len]);
    return reaches ? this.#insertSlice(tx, ino, chunk, { id: 0, size: len, pos, off: 0, len }) : 0;
  }

  /** Append a slice to a chunk (it covers its range from now on). Returns the change in the
   * file's stored bytes: what it covers becomes data (or hole), whatever showed there before. */
  async #insertSlice(tx: Tx, ino: number, chunk: number, s: SliceRecord): Promise<number> {
    const under = (await tx.c.all('SELECT id, pos, len FROM slices WHERE ino = ? AND chunk = ? AND pos < ? AND pos + len > ? ORDER BY seq', [ino, chunk, s.pos + s.len, s.pos]))
      .map((r) => ({ id: Number(r.id), pos: Number(r.pos), len: Number(r.len) }) as Span);
    const top = await tx.c.get<{ seq: unknown }>('SELECT max(seq) AS seq FROM slices WHERE ino = ? AND chunk = ?', [ino, chunk]);
    const seq = Number(top?.seq ?? 0) + 1;
    const row = { ino, chunk, seq, id: s.id, size: s.size, pos: s.pos, off: s.off, len: s.len };
    await tx.c.run('INSERT INTO slices (ino, chunk, seq, id, size, pos, off, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', Object.values(row));
    tx.put('slices', row);
    return (s.id !== 0 ? s.len : 0) - dataBytesIn(under, s.pos, s.pos + s.len);
  }

  /** One more reference to a stored slice. */
  async #ref(tx: Tx, id: number, size: number): Promise<void> {
    let refs: number;
    if (tx.dialect.returning) {
      const sql = `${tx.dialect.upsert('slice_refs', ['id', 'size', 'refs'], ['id'], ['refs = old(refs) + 1'])} RETURNING refs`;
      refs = Number((await tx.c.get<{ refs: unknown }>(sql, [id, size, 1]))!.refs);
    } else {
      const r = await tx.c.get(`SELECT refs FROM slice_refs WHERE id = ?${tx.dialect.forUpdate}`, [id]);
      refs = Number(r?.refs ?? 0) + 1;
      if (r) await tx.c.run('UPDATE slice_refs SET refs = ? WHERE id = ?', [refs, id]);
      else await tx.c.run('INSERT INTO slice_refs (id, size, refs) VALUES (?, ?, ?)', [id, size, refs]);
    }
    tx.put('slice_refs', { id, size, refs });
  }

  /** One reference fewer; the last one queues the slice's objects for deletion (then true; an
   * imported slice has none: its row just goes). */
  async #unref(tx: Tx, id: number): Promise<boolean> {
    if (id === 0) return false;
    let r: { size: unknown; refs: unknown } | undefined;
    if (tx.dialect.returning) {
      r = await tx.c.get('UPDATE slice_refs SET refs = refs - 1 WHERE id = ? RETURNING size, refs', [id]);
    } else {
      r = await tx.c.get(`SELECT size, refs FROM slice_refs WHERE id = ?${tx.dialect.forUpdate}`, [id]);
      if (r) {
        r = { size: r.size, refs: Number(r.refs) - 1 };
        await tx.c.run('UPDATE slice_refs SET refs = ? WHERE id = ?', [r.refs as number, id]);
      }
    }
    if (!r) return false;
    const refs = Number(r.refs);
    const size = Number(r.size);
    if (refs > 0) {
      tx.put('slice_refs', { id, size, refs });
      return false;
    }
    await tx.c.run('DELETE FROM slice_refs WHERE id = ?', [id]);
    tx.delete('slice_refs', { id });
    // An imported slice has no blocks to delete: its row goes, the object it names stays.
    if (await tx.c.run('DELETE FROM external_slices WHERE id = ?', [id]) > 0) {
      tx.delete('external_slices', { id });
      return false;
    }
    await tx.c.run(tx.dialect.insertIgnore('pending_slices', ['id', 'size', 'since_ms']), [id, size, Date.now()]);
    return true;
  }

  /** The file's stored bytes become `n.stored + delta`: the used-space counter follows, after the
   * capacity check (only growth is checked). Returns the new figure for the inode row. */
  async #restore(tx: Tx, n: NodeRow, delta: number, syscall: string): Promise<number> {
    const stored = n.stored + delta;
    const change = charged(n.mode, stored) - charged(n.mode, n.stored);
    await this.#capacityCheck(tx, change, syscall);
    tx.count('used_bytes', change);
    return stored;
  }

  async truncate(ino: number, size: number, also: AttrChanges = {}): Promise<NodeAttr> {
    this.#live('truncate');
    if (!Number.isSafeInteger(size) || size < 0) fail('EINVAL', 'truncate', `invalid length ${size}`);
    return this.#write('truncate', async (tx) => {
      const n = await this.#node(tx.c, ino, 'truncate', true);
      if (isDirMode(n.mode)) fail('EISDIR', 'truncate');
      if (!isRegMode(n.mode)) fail('EINVAL', 'truncate');
      const stored = size < n.length ? await this.#restore(tx, n, await this.#cutData(tx, ino, size), 'truncate') : n.stored;
      const t = nowNs();
      const next: NodeRow = { ...this.#changed(n, also, t), length: size, stored, mtime: also.mtimeNs ?? t };
      await SqlMeta.#saveNode(tx, next);
      return toAttr(next);
    });
  }

  punchHole(ino: number, offset: number, length: number): Promise<NodeAttr> {
    return this.fallocate(ino, offset, length, { zero: true, keepSize: true });
  }

  async fallocate(ino: number, offset: number, length: number, how: FallocateMode): Promise<NodeAttr> {
    this.#live('fallocate');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) fail('EINVAL', 'fallocate');
    if (offset + length > Number.MAX_SAFE_INTEGER) fail('EFBIG', 'fallocate');
    return this.#write(how.zero ? 'zero-range' : 'allocate', async (tx) => {
      const n = await this.#node(tx.c, ino, 'fallocate', true);
      if (!isRegMode(n.mode)) fail(isDirMode(n.mode) ? 'EISDIR' : 'ENODEV', 'fallocate');
      let delta = 0;
      if (how.zero) {
        // Only bytes inside the file can hold data; past its end everything reads as zeros already.
        const end = Math.min(offset + length, n.length);
        for (let at = offset; at < end;) {
          const pos = at % CHUNK_SIZE;
          const len = Math.min(CHUNK_SIZE - pos, end - at);
          delta += await this.#appendHole(tx, ino, Math.floor(at / CHUNK_SIZE), pos, len);
          at += len;
        }
      }
      const stored = await this.#restore(tx, n, delta, 'fallocate');
      const grows = !how.keepSize && offset + length > n.length;
      if (!how.zero && !grows) return toAttr(n);
      const t = nowNs();
      const next: NodeRow = { ...n, length: grows ? offset + length : n.length, stored, mtime: t, ctime: t };
      await SqlMeta.#saveNode(tx, next);
      return toAttr(next);
    });
  }

  async #create(op: string, dir: number, name: string, node: NewNode, target?: string, openedBy?: number, content?: { id: number; size: number }, extras?: CreateExtras): Promise<NodeAttr> {
    this.#live(op);
    await this.#reserve(this.#inodes, 'inode', 1);
    return this.#write(op, async (tx) => {
      // A mirror refuses the create (EROFS), but a taken name is EEXIST first, as on Linux: here
      // it cannot be learnt from the unique key (see #onMirror).
      if (this.#settings.mirror && await this.#entry(tx.c, dir, name)) fail('EEXIST', op);
      const t = extras?.timeNs ?? nowNs();
      const dirNode = isDirMode(node.mode);
      const ino = await this.#take(tx, this.#inodes, 'inode');
      const length = target !== undefined ? Buffer.byteLength(target) : content?.size ?? 0;
      const stored = content && content.size > 0 ? content.size : 0;
      const row: NodeRow = {
        ino, mode: node.mode, uid: node.uid, gid: node.gid, rdev: node.rdev ?? 0, nlink: dirNode ? 2 : 1, length,
        atime: t, mtime: t, ctime: t, btime: t, parent: dir, stored,
      };
      // Locking and stamping the directory and writing the new inode's rows need no answer from
      // one another: sent together, they share a round trip where the connection pipelines. The
      // answers are judged in order — a directory that is gone before a name that is taken (the
      // entry's insert fails EEXIST: no read to check first) — and any failure rolls all back.
      const parentLocked = this.#lockAndTouchDir(tx, dir, op, t, dirNode ? 1 : 0);
      const rows: Promise<void>[] = [SqlMeta.#insertNode(tx, row)];
      if (target !== undefined) {
        rows.push(tx.c.run('INSERT INTO symlinks (ino, target) VALUES (?, ?)', [ino, target]).then(() => tx.put('symlinks', { ino, target })));
      }
      if (openedBy !== undefined) rows.push(this.#recordOpen(tx, openedBy, ino, op));
      for (const [xname, value] of Object.entries(extras?.xattrs ?? {})) {
        const v = Buffer.from(value);
        rows.push(tx.c.run('INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?)', [ino, xname, v]).then(() => tx.put('xattrs', { ino, name: xname, value: v })));
      }
      rows.push(SqlMeta.#insertEntry(tx, dir, name, ino, node.mode & S_IFMT));
      if (content && stored > 0) {
        // A new file's first slice, of a slice stored just for it (never referenced yet): its
        // rows are known without reading anything, so they go out with the others.
        const slice = { ino, chunk: 0, seq: 1, id: content.id, size: content.size, pos: 0, off: 0, len: content.size };
        rows.push(tx.c.run('INSERT INTO slices (ino, chunk, seq, id, size, pos, off, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', Object.values(slice)).then(() => tx.put('slices', slice)));
        rows.push(tx.c.run('INSERT INTO slice_refs (id, size, refs) VALUES (?, ?, ?)', [content.id, content.size, 1]).then(() => tx.put('slice_refs', { id: content.id, size: content.size, refs: 1 })));
      }
      const written = inOrder(rows);
      // Judged right after the directory (a failure must not go unheard meanwhile), and before
      // any further statement: after a failure the server refuses them all.
      written.catch(() => undefined);
      const parent = await parentLocked;
      if (parent.nlink - (dirNode ? 1 : 0) === 0) fail('ENOENT', op);
      await written;
      const limit = (await this.#current(tx.c)).inodeLimit;
      if (limit > 0 && (await tx.counter('inodes')) >= limit) fail('ENOSPC', op, `the volume's limit of ${limit} inodes is reached`);
      if (content && stored > 0) {
        await this.#capacityCheck(tx, charged(node.mode, stored), op);
        tx.count('used_bytes', charged(node.mode, stored));
      }
      tx.count('inodes', 1);
      return toAttr(row);
    }, extras?.events ? { events: extras.events } : {});
  }

  async createFile(dir: number, name: string, node: NewNode, content: { id: number; size: number } | null, extras?: CreateExtras): Promise<NodeAttr> {
    this.#live('open');
    if ((node.mode & S_IFMT) !== 0 && (node.mode & S_IFMT) !== S_IFREG) fail('EINVAL', 'open');
    if (content && (!Number.isSafeInteger(content.id) || content.id <= 0 || !Number.isSafeInteger(content.size) || content.size < 0 || content.size > CHUNK_SIZE)) {
      fail('EINVAL', 'open', `malformed slice ${JSON.stringify(content)}`);
    }
    const slice = content && content.size > 0 ? content : undefined;
    try {
      if (extras?.timeNs !== undefined && (typeof extras.timeNs !== 'bigint' || extras.timeNs < 0n)) fail('EINVAL', 'open', 'timeNs must be a non-negative bigint');
      for (const [xname, value] of Object.entries(extras?.xattrs ?? {})) {
        if (xname.length === 0 || !(value instanceof Uint8Array)) fail('EINVAL', 'setxattr', `bad extended attribute ${JSON.stringify(xname)}`);
      }
      return await this.#create('create', dir, name, { ...node, mode: (node.mode & ~S_IFMT) | S_IFREG }, undefined, undefined, slice, extras);
    } catch (err) {
      // The slice's objects are stored and the caller stores its bytes anew if it tries again:
      // nothing will reference this slice.
      if (slice) await this.abandonSlice(slice).catch(() => undefined);
      throw err;
    }
  }

  async mknod(dir: number, name: string, node: NewNode, openedBy?: number): Promise<NodeAttr> {
    if (isDirMode(node.mode) || (node.mode & S_IFMT) === S_IFLNK) fail('EINVAL', 'mknod');
    return this.#create('mknod', dir, name, { ...node, mode: (node.mode & S_IFMT) === 0 ? node.mode | S_IFREG : node.mode }, undefined, openedBy);
  }

  async mkdir(dir: number, name: string, node: NewNode, events?: readonly QueuedEvent[]): Promise<NodeAttr> {
    return this.#create('mkdir', dir, name, { ...node, mode: S_IFDIR | (node.mode & 0o7777) }, undefined, undefined, undefined, events ? { events } : undefined);
  }

  async symlink(dir: number, name: string, target: string, node: NewNode): Promise<NodeAttr> {
    return this.#create('symlink', dir, name, { ...node, mode: S_IFLNK | (node.mode & 0o7777) }, target);
  }

  async readlink(ino: number): Promise<string> {
    this.#live('readlink');
    return this.#read(async (c) => {
      const r = await c.get('SELECT target FROM symlinks WHERE ino = ?', [ino]);
      if (r) return String(r.target);
      await this.#node(c, ino, 'readlink');
      fail('EINVAL', 'readlink');
    });
  }

  async link(ino: number, dir: number, name: string): Promise<NodeAttr> {
    this.#live('link');
    return this.#write('link', async (tx) => {
      // Both rows locked and read, and the name looked up once they are: one round trip where
      // the connection pipelines.
      const [rows, taken] = await inOrder([this.#lockedRows(tx.c, [ino, dir]), this.#entry(tx.c, dir, name)]);
      const n = rows.get(ino) ?? fail('ENOENT', 'link');
      if (isDirMode(n.mode)) fail('EPERM', 'link');
      if (n.nlink === 0) fail('ENOENT', 'link');
      const parent = rows.get(dir) ?? fail('ENOENT', 'link');
      if (!isDirMode(parent.mode)) fail('ENOTDIR', 'link');
      if (parent.nlink === 0) fail('ENOENT', 'link');
      if (taken) fail('EEXIST', 'link');
      const t = nowNs();
      await SqlMeta.#insertEntry(tx, dir, name, ino, n.mode & S_IFMT);
      const next = { ...n, nlink: n.nlink + 1, ctime: t };
      await SqlMeta.#saveNode(tx, next);
      if (dir !== ino) await SqlMeta.#saveNode(tx, { ...parent, mtime: t, ctime: t });
      return toAttr(next);
    });
  }

  async #isOpen(c: SqlConn, ino: number): Promise<boolean> {
    return (await c.get('SELECT 1 AS x FROM open_files WHERE ino = ? LIMIT 1', [ino])) !== undefined;
  }

  /** Free an inode with no names left: its slices lose a reference, its rows go. */
  async #destroy(tx: Tx, n: NodeRow): Promise<void> {
    // The inode's rows go in statements that need no answer from each other: sent together,
    // they share a round trip where the connection pipelines. The log lists them in this order,
    // the inode's own row last.
    const [slices, xattrs, symlinks, , trash] = await inOrder([
      this.#deleteAll(tx, 'slices', ['chunk', 'seq', 'id'], n.ino),
      this.#deleteAll(tx, 'xattrs', ['name'], n.ino),
      (n.mode & S_IFMT) === S_IFLNK ? tx.c.run('DELETE FROM symlinks WHERE ino = ?', [n.ino]) : 0,
      tx.c.run('DELETE FROM orphans WHERE ino = ?', [n.ino]),
      tx.c.run('DELETE FROM trash WHERE ino = ?', [n.ino]),
      tx.c.run('DELETE FROM inodes WHERE ino = ?', [n.ino]),
    ]);
    for (const s of slices) {
      await this.#unref(tx, Number(s.id));
      tx.delete('slices', { ino: n.ino, chunk: Number(s.chunk), seq: Number(s.seq) });
    }
    for (const x of xattrs) tx.delete('xattrs', { ino: n.ino, name: String(x.name) });
    if (symlinks > 0) tx.delete('symlinks', { ino: n.ino });
    if (trash > 0) tx.delete('trash', { ino: n.ino });
    tx.delete('inodes', { ino: n.ino });
    tx.count('inodes', -1);
    tx.count('used_bytes', -charged(n.mode, n.stored));
  }

  /** Delete an inode's rows of `table`; returns `columns` of each row deleted. */
  async #deleteAll(tx: Tx, table: string, columns: string[], ino: number): Promise<SqlRow[]> {
    if (tx.dialect.returning) return tx.c.all(`DELETE FROM ${table} WHERE ino = ? RETURNING ${columns.join(', ')}`, [ino]);
    const rows = await tx.c.all(`SELECT ${columns.join(', ')} FROM ${table} WHERE ino = ?`, [ino]);
    if (rows.length > 0) await tx.c.run(`DELETE FROM ${table} WHERE ino = ?`, [ino]);
    return rows;
  }

  /** A non-directory lost a name: free it, or keep it as an orphan while a session has it open.
   * Returns the row as it now is (null when freed). */
  async #dropLink(tx: Tx, n: NodeRow, t: bigint): Promise<NodeRow | null> {
    if (n.nlink > 1) {
      const next = { ...n, nlink: n.nlink - 1, ctime: t };
      await SqlMeta.#saveNode(tx, next);
      return next;
    }
    if (await this.#isOpen(tx.c, n.ino)) {
      const next = { ...n, nlink: 0, ctime: t };
      await SqlMeta.#saveNode(tx, next);
      await tx.c.run(tx.dialect.insertIgnore('orphans', ['ino', 'since_ms']), [n.ino, Date.now()]);
      return next;
    }
    await this.#destroy(tx, n);
    return null;
  }

  async #trashEnabled(c: SqlConn): Promise<boolean> {
    return (await this.#current(c)).trashDays > 0;
  }

  /** Move an entry's inode into the trash (hour directory created on demand). */
  async #toTrash(tx: Tx, dir: number, name: string, n: NodeRow, t: bigint): Promise<void> {
    const nowMs = Date.now();
    const hour = trashHour(nowMs);
    const trashRow = this.#node(tx.c, TRASH_INODE, 'unlink', true);
    const hourEntry = this.#entry(tx.c, TRASH_INODE, hour, true);
    const hourRow = this.#lockedNodeOf(tx.c, TRASH_INODE, hour);
    hourEntry.catch(() => undefined);
    hourRow.catch(() => undefined);
    const trash = await trashRow;
    const named = await hourEntry;
    const found = await hourRow;
    let hourNode: NodeRow;
    if (named) {
      hourNode = found ?? fail('ENOENT', 'unlink');
    } else {
      const hourDir = await this.#take(tx, this.#inodes, 'inode');
      hourNode = { ino: hourDir, mode: S_IFDIR | 0o555, uid: 0, gid: 0, rdev: 0, nlink: 2, length: 0, atime: t, mtime: t, ctime: t, btime: t, parent: TRASH_INODE, stored: 0 };
      await SqlMeta.#insertNode(tx, hourNode);
      await SqlMeta.#insertEntry(tx, TRASH_INODE, hour, hourDir, S_IFDIR);
      await SqlMeta.#saveNode(tx, { ...trash, nlink: trash.nlink + 1, ctime: t });
      tx.count('inodes', 1);
    }
    const hourDir = hourNode.ino;
    const rec = { ino: n.ino, parent: dir, name, deleted_ms: nowMs, hour };
    const record = (): Promise<void> => tx.c.run(tx.dialect.upsert('trash', ['ino', 'parent', 'name', 'deleted_ms', 'hour'], ['ino'],
      ['parent = new(parent)', 'name = new(name)', 'deleted_ms = new(deleted_ms)', 'hour = new(hour)']), Object.values(rec)).then(() => tx.put('trash', rec));
    // The move's rows need no answer from one another: sent together (and logged in this order).
    const moves = [
      this.#deleteEntry(tx, dir, name),
      SqlMeta.#insertEntry(tx, hourDir, trashEntryName(dir, n.ino, name), n.ino, n.mode & S_IFMT),
      SqlMeta.#saveNode(tx, { ...n, parent: hourDir, ctime: t }),
    ];
    if (!isDirMode(n.mode)) {
      await inOrder([...moves, record()]);
      return;
    }
    await inOrder(moves);
    const from = await this.#node(tx.c, dir, 'unlink', true);
    await SqlMeta.#saveNode(tx, { ...from, nlink: from.nlink - 1, ctime: t });
    await SqlMeta.#saveNode(tx, { ...hourNode, nlink: hourNode.nlink + 1, ctime: t });
    await record();
  }

  /** Is `ino` inside the trash (the trash itself included)? */
  async #inTrash(c: SqlConn, ino: number): Promise<boolean> {
    for (let cur = ino, hops = 0; hops < 4096; hops++) {
      if (cur === TRASH_INODE) return true;
      if (cur === ROOT_INODE) return false;
      const r = await c.get('SELECT parent FROM inodes WHERE ino = ?', [cur]);
      if (!r) return false;
      cur = Number(r.parent);
    }
    return false;
  }

  async unlink(dir: number, name: string, uid: number, skipTrash = false, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('unlink');
    await this.#reserve(this.#inodes, 'inode', 1);
    await this.#write('unlink', async (tx) => {
      const t = nowNs();
      // unlink moves only regular files to the trash, so nothing below changes the parent's row again.
      // The entry's read needs no answer from the directory's stamp: sent together, judged in order.
      const touched = this.#lockAndTouchDir(tx, dir, 'unlink', t, 0);
      const entry = this.#entry(tx.c, dir, name, true);
      const childRow = this.#lockedNodeOf(tx.c, dir, name);
      entry.catch(() => undefined);
      childRow.catch(() => undefined);
      const parent = await touched;
      const e = (await entry) ?? fail('ENOENT', 'unlink');
      const child = (await childRow) ?? fail('ENOENT', 'unlink');
      if (child.ino !== e.ino) fail('EIO', 'unlink', 'the entry and the inode read with it disagree');
      if (isDirMode(child.mode)) fail('EISDIR', 'unlink');
      await this.#sticky(parent, child, uid, 'unlink');
      // Whether the directory is in the trash starts from its parent, which its row names.
      if (!skipTrash && child.nlink === 1 && isRegMode(child.mode) && await this.#trashEnabled(tx.c)
        && !(await this.#inTrash(tx.c, dir === ROOT_INODE || dir === TRASH_INODE ? dir : parent.parent))) {
        await this.#toTrash(tx, dir, name, child, t);
      } else {
        // The name's removal and the inode's first statement go out together.
        await inOrder([this.#deleteEntry(tx, dir, name), this.#dropLink(tx, child, t)]);
      }
    }, { events });
  }

  async rmdir(dir: number, name: string, uid: number, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('rmdir');
    await this.#write('rmdir', async (tx) => {
      const t = nowNs();
      // Reads that need no answer from one another go out together, judged in order.
      const touched = this.#lockAndTouchDir(tx, dir, 'rmdir', t, -1);
      const entry = this.#entry(tx.c, dir, name, true);
      const childRow = this.#lockedNodeOf(tx.c, dir, name);
      // Once the child's row is locked its entries cannot change: read after it, in the same batch.
      const nonEmpty = this.#hasEntriesOf(tx.c, dir, name);
      for (const p of [entry, childRow, nonEmpty]) p.catch(() => undefined);
      const parent = await touched;
      const e = (await entry) ?? fail('ENOENT', 'rmdir');
      const child = (await childRow) ?? fail('ENOENT', 'rmdir');
      if (child.ino !== e.ino) fail('EIO', 'rmdir', 'the entry and the inode read with it disagree');
      if (!isDirMode(child.mode)) fail('ENOTDIR', 'rmdir');
      if (child.ino === TRASH_INODE) fail('EPERM', 'rmdir', 'the trash directory cannot be removed');
      if (await nonEmpty) fail('ENOTEMPTY', 'rmdir');
      await this.#sticky(parent, child, uid, 'rmdir');
      await inOrder([this.#deleteEntry(tx, dir, name), this.#dropDir(tx, child, t)]);
    }, { events });
  }

  /** An empty directory lost its name: free it, or — while a session has it open — keep it with
   * nlink 0 as an orphan, as Linux does (fstat on the descriptor still works; nothing can be
   * created in it). */
  async #dropDir(tx: Tx, n: NodeRow, t: bigint): Promise<void> {
    if (!(await this.#isOpen(tx.c, n.ino))) return this.#destroy(tx, n);
    await SqlMeta.#saveNode(tx, { ...n, nlink: 0, ctime: t });
    await tx.c.run(tx.dialect.insertIgnore('orphans', ['ino', 'since_ms']), [n.ino, Date.now()]);
  }

  async pathOf(ino: number): Promise<string | null> {
    this.#live('path');
    return this.#read(async (c) => {
      const names: string[] = [];
      for (let cur = ino, hops = 0; cur !== ROOT_INODE; hops++) {
        if (hops > 100_000) fail('EIO', 'path', 'directory parents form a loop: the metadata is damaged');
        const e = await c.get('SELECT parent, name FROM dentries WHERE ino = ? ORDER BY cookie LIMIT 1', [cur]);
        if (!e) return null;
        names.push(String(e.name));
        cur = Number(e.parent);
      }
      return '/' + names.reverse().join('/');
    });
  }

  async #hasEntries(c: SqlConn, ino: number): Promise<boolean> {
    return (await c.get('SELECT 1 AS x FROM dentries WHERE parent = ? LIMIT 1', [ino])) !== undefined;
  }

  /** As #hasEntries, for the directory that name `name` in `dir` points to. */
  async #hasEntriesOf(c: SqlConn, dir: number, name: string): Promise<boolean> {
    return (await c.get('SELECT 1 AS x FROM dentries WHERE parent = (SELECT d.ino FROM dentries d WHERE d.parent = ? AND d.name = ?) LIMIT 1', [dir, name])) !== undefined;
  }

  /** Is `ino` the directory `ancestor` or below it? Walks parent pointers (a directory has one). */
  async #isWithin(c: SqlConn, ino: number, ancestor: number): Promise<boolean> {
    for (let cur = ino, hops = 0; hops < 100_000; hops++) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INODE) return false;
      const r = await c.get('SELECT parent FROM inodes WHERE ino = ?', [cur]);
      if (!r) return false;
      cur = Number(r.parent);
    }
    fail('EIO', 'rename', 'directory parents form a loop: the metadata is damaged');
  }

  async rename(dir: number, name: string, newDir: number, newName: string, flags: number, uid: number, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('rename');
    await this.#reserve(this.#inodes, 'inode', 1);
    await this.#write('rename', async (tx) => {
      // Both directories first, in one order: moves between the same two directories in
      // opposite directions then wait for each other instead of deadlocking. The two entries'
      // reads need no answer from them: sent together, judged in order.
      const dirRows = this.#lockedNodes(tx.c, [dir, newDir], 'rename');
      const entries = inOrder([this.#entry(tx.c, dir, name, true), this.#entry(tx.c, newDir, newName, true)]);
      entries.catch(() => undefined);
      const dirs = await dirRows;
      const from = dirs.get(dir)!;
      const to = dirs.get(newDir)!;
      if (!isDirMode(from.mode) || !isDirMode(to.mode)) fail('ENOTDIR', 'rename');
      // A removed directory (still open somewhere) takes no new names.
      if (to.nlink === 0) fail('ENOENT', 'rename');
      const [e, target] = await entries;
      if (!e) fail('ENOENT', 'rename');
      const nodes = await this.#lockedNodes(tx.c, target ? [e.ino, target.ino] : [e.ino], 'rename');
      const src = nodes.get(e.ino)!;
      if (target && target.ino === src.ino) {
        if (flags & 1) fail('EEXIST', 'rename');
        return;
      }
      await this.#sticky(from, src, uid, 'rename');
      if (src.ino === TRASH_INODE) fail('EPERM', 'rename', 'the trash directory cannot be moved');
      if (isDirMode(src.mode) && await this.#isWithin(tx.c, newDir, src.ino)) fail('EINVAL', 'rename');
      if ((flags & 1) && target) fail('EEXIST', 'rename');
      const t = nowNs();
      // Link-count changes of the two directories (one, when they are the same).
      const nlinks = new Map<number, number>([[dir, 0], [newDir, 0]]);
      const addLinks = (d: number, delta: number) => nlinks.set(d, nlinks.get(d)! + delta);
      if (flags & 2) {
        if (!target) fail('ENOENT', 'rename');
        if (target.ino === TRASH_INODE) fail('EPERM', 'rename', 'the trash directory cannot be moved');
        const dst = nodes.get(target.ino)!;
        await this.#sticky(to, dst, uid, 'rename');
        if (isDirMode(dst.mode) && await this.#isWithin(tx.c, dir, dst.ino)) fail('EINVAL', 'rename');
        await tx.c.run('UPDATE dentries SET ino = ?, type = ? WHERE parent = ? AND name = ?', [dst.ino, dst.mode & S_IFMT, dir, name]);
        tx.put('dentries', { cookie: e.cookie, parent: dir, name, ino: dst.ino, type: dst.mode & S_IFMT });
        await tx.c.run('UPDATE dentries SET ino = ?, type = ? WHERE parent = ? AND name = ?', [src.ino, src.mode & S_IFMT, newDir, newName]);
        tx.put('dentries', { cookie: target.cookie, parent: newDir, name: newName, ino: src.ino, type: src.mode & S_IFMT });
        if (dir !== newDir) {
          const delta = (isDirMode(src.mode) ? 1 : 0) - (isDirMode(dst.mode) ? 1 : 0);
          addLinks(newDir, delta);
          addLinks(dir, -delta);
        }
        await SqlMeta.#saveNode(tx, { ...src, parent: isDirMode(src.mode) && dir !== newDir ? newDir : src.parent, ctime: t });
        await SqlMeta.#saveNode(tx, { ...dst, parent: isDirMode(dst.mode) && dir !== newDir ? dir : dst.parent, ctime: t });
      } else {
        if (target) {
          const dst = nodes.get(target.ino)!;
          await this.#sticky(to, dst, uid, 'rename');
          if (isDirMode(src.mode) && !isDirMode(dst.mode)) fail('ENOTDIR', 'rename');
          if (!isDirMode(src.mode) && isDirMode(dst.mode)) fail('EISDIR', 'rename');
          if (isDirMode(dst.mode)) {
            if (dst.ino === TRASH_INODE) fail('EPERM', 'rename');
            if (await this.#hasEntries(tx.c, dst.ino)) fail('ENOTEMPTY', 'rename');
            await this.#deleteEntry(tx, newDir, newName);
            addLinks(newDir, -1);
            await this.#dropDir(tx, dst, t);
          } else if (dst.nlink === 1 && isRegMode(dst.mode) && await this.#trashEnabled(tx.c) && !(await this.#inTrash(tx.c, newDir))) {
            await this.#toTrash(tx, newDir, newName, dst, t);
          } else {
            await this.#deleteEntry(tx, newDir, newName);
            await this.#dropLink(tx, dst, t);
          }
        }
        // What replacing the target did may have touched the moved inode's row: read it again then.
        const moved = target ? await this.#node(tx.c, src.ino, 'rename') : src;
        // From here on the statements need no answer from one another: sent together, logged
        // in this order.
        const writes: Promise<unknown>[] = [];
        if (dir === newDir) {
          // Same directory: the entry keeps its cookie, so a listing in progress neither loses
          // nor repeats it. The change log says the old name is gone.
          writes.push(tx.c.run('UPDATE dentries SET name = ? WHERE parent = ? AND name = ?', [newName, dir, name]).then(() => {
            tx.delete('dentries', { parent: dir, name });
            tx.put('dentries', { cookie: e.cookie, parent: dir, name: newName, ino: src.ino, type: src.mode & S_IFMT });
          }));
        } else {
          writes.push(this.#deleteEntry(tx, dir, name), SqlMeta.#insertEntry(tx, newDir, newName, src.ino, src.mode & S_IFMT));
          if (isDirMode(src.mode)) {
            addLinks(dir, -1);
            addLinks(newDir, 1);
          }
        }
        // Leaving the trash by rename (a manual restore) ends its trash record.
        writes.push(tx.c.run('DELETE FROM trash WHERE ino = ?', [src.ino]).then((n) => { if (n > 0) tx.delete('trash', { ino: src.ino }); }));
        writes.push(SqlMeta.#saveNode(tx, { ...moved, parent: isDirMode(src.mode) && dir !== newDir ? newDir : moved.parent, ctime: t }));
        for (const [d, delta] of nlinks) writes.push(this.#lockAndTouchDir(tx, d, 'rename', t, delta));
        await inOrder(writes);
        return;
      }
      for (const [d, delta] of nlinks) await this.#lockAndTouchDir(tx, d, 'rename', t, delta);
    }, { duplicate: 'retry', events });
  }

  async readdir(ino: number, cookie: number, limit: number): Promise<DirEntry[]> {
    this.#live('readdir');
    return this.#read(async (c) => {
      const dir = await this.#dirNode(c, ino, 'readdir');
      // As Linux: a removed directory lists nothing, not even . and .. (getdents gives ENOENT).
      if (dir.nlink === 0) fail('ENOENT', 'readdir', 'the directory was removed');
      const out: DirEntry[] = [];
      // Cookies 1 and 2 are '.' and '..'; stored entries report their row cookie + 2.
      if (cookie < 1 && out.length < limit) out.push({ name: '.', ino, mode: dir.mode, cookie: 1 });
      if (cookie < 2 && out.length < limit) {
        const up = ino === ROOT_INODE ? dir : await this.#node(c, dir.parent, 'readdir');
        out.push({ name: '..', ino: up.ino, mode: up.mode, cookie: 2 });
      }
      const want = limit - out.length;
      if (want > 0) {
        const rows = await c.all('SELECT cookie, name, ino, type FROM dentries WHERE parent = ? AND cookie > ? ORDER BY cookie LIMIT ?', [ino, Math.max(0, cookie - 2), want]);
        for (const r of rows) out.push({ name: String(r.name), ino: Number(r.ino), mode: Number(r.type), cookie: Number(r.cookie) + 2 });
      }
      return out;
    });
  }

  // ---- xattrs ----

  async getxattr(ino: number, name: string): Promise<Uint8Array> {
    this.#live('getxattr');
    return this.#read(async (c) => {
      const r = await c.get('SELECT value FROM xattrs WHERE ino = ? AND name = ?', [ino, name]);
      if (r) return Buffer.from(r.value as Uint8Array);
      await this.#node(c, ino, 'getxattr');
      fail('ENODATA', 'getxattr');
    });
  }

  async setxattr(ino: number, name: string, value: Uint8Array, flags: number, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('setxattr');
    await this.#write('setxattr', async (tx) => {
      const n = await this.#node(tx.c, ino, 'setxattr', true);
      const exists = (await tx.c.get('SELECT 1 AS x FROM xattrs WHERE ino = ? AND name = ?', [ino, name])) !== undefined;
      if ((flags & 1) && exists) fail('EEXIST', 'setxattr');
      if ((flags & 2) && !exists) fail('ENODATA', 'setxattr');
      const v = Buffer.from(value);
      if (exists) await tx.c.run('UPDATE xattrs SET value = ? WHERE ino = ? AND name = ?', [v, ino, name]);
      else await tx.c.run('INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?)', [ino, name, v]);
      tx.put('xattrs', { ino, name, value: v });
      await SqlMeta.#saveNode(tx, { ...n, ctime: nowNs() });
    }, { events });
  }

  async listxattr(ino: number): Promise<string[]> {
    this.#live('listxattr');
    return this.#read(async (c) => {
      await this.#node(c, ino, 'listxattr');
      return (await c.all('SELECT name FROM xattrs WHERE ino = ? ORDER BY name', [ino])).map((r) => String(r.name));
    });
  }

  async removexattr(ino: number, name: string, events?: readonly QueuedEvent[]): Promise<void> {
    this.#live('removexattr');
    await this.#write('removexattr', async (tx) => {
      const n = await this.#node(tx.c, ino, 'removexattr', true);
      if (await tx.c.run('DELETE FROM xattrs WHERE ino = ? AND name = ?', [ino, name]) === 0) fail('ENODATA', 'removexattr');
      tx.delete('xattrs', { ino, name });
      await SqlMeta.#saveNode(tx, { ...n, ctime: nowNs() });
    }, { events });
  }

  async statfs(): Promise<StatFs> {
    this.#live('statfs');
    return this.#read(async (c) => {
      const bsize = 4096;
      const counters = await this.#counters(c);
      const settings = await this.#current(c);
      const total = settings.capacity > 0 ? settings.capacity : UNLIMITED_BYTES;
      const files = settings.inodeLimit > 0 ? settings.inodeLimit : UNLIMITED_INODES;
      const blocks = Math.floor(total / bsize);
      const bfree = Math.max(0, blocks - Math.ceil(counters.used_bytes / bsize));
      return { bsize, blocks, bfree, bavail: bfree, files, ffree: Math.max(0, files - counters.inodes) };
    });
  }

  async #counters(c: SqlConn): Promise<{ used_bytes: number; inodes: number }> {
    const out = { used_bytes: 0, inodes: 0 };
    for (const r of await c.all('SELECT name, value FROM counters')) {
      if (r.name === 'used_bytes' || r.name === 'inodes') out[r.name] = Number(r.value);
    }
    return out;
  }

  async usage(): Promise<Usage> {
    this.#live('usage');
    return this.#read(async (c) => {
      const counters = await this.#counters(c);
      const pending = await c.get('SELECT count(*) AS n FROM pending_slices');
      return { usedBytes: counters.used_bytes, inodes: counters.inodes, pendingSlices: Number(pending?.n ?? 0) };
    });
  }

  // ---- data layout ----

  async readChunk(inode: number, chunkIndex: number): Promise<SliceRecord[]> {
    this.#live('read');
    const slices = await this.#cached(`c${inode}:${chunkIndex}`, () => this.#read(async (c) =>
      (await c.all(`SELECT ${SLICE_SELECT} FROM slices s LEFT JOIN external_slices e ON e.id = s.id WHERE s.ino = ? AND s.chunk = ? ORDER BY s.seq`, [inode, chunkIndex]))
        .map(toSlice)));
    return slices.map((r) => ({ ...r }));
  }

  async chunks(inode: number): Promise<{ index: number; slices: SliceRecord[] }[]> {
    this.#live('info');
    return this.#read(async (c) => {
      await this.#node(c, inode, 'info');
      const rows = await c.all(`SELECT s.chunk, ${SLICE_SELECT} FROM slices s LEFT JOIN external_slices e ON e.id = s.id WHERE s.ino = ? ORDER BY s.chunk, s.seq`, [inode]);
      const out: { index: number; slices: SliceRecord[] }[] = [];
      for (const r of rows) {
        const chunk = Number(r.chunk);
        if (out.length === 0 || out[out.length - 1]!.index !== chunk) out.push({ index: chunk, slices: [] });
        out[out.length - 1]!.slices.push(toSlice(r));
      }
      return out;
    });
  }

  async newSliceId(): Promise<number> {
    this.#live('write');
    // Outside a transaction: loop until an id is free in the batch (others may drain a refill
    // before this call resumes).
    for (;;) {
      if (this.#slices.left > 0) return this.#slices.next++;
      await this.#reserve(this.#slices, 'slice', 1);
    }
  }

  /** A slice queued for deletion may have lost its objects already: committing it would lose data. */
  async #notAbandoned(c: SqlConn, id: number): Promise<void> {
    if (await c.get('SELECT 1 AS x FROM pending_slices WHERE id = ?', [id])) {
      fail('EIO', 'write', `slice ${id} was given up and queued for deletion; its data cannot be committed`);
    }
  }

  async commitSlice(inode: number, chunkIndex: number, slice: SliceRecord, fileEnd: number, then?: AttrChanges): Promise<void> {
    this.#live('write');
    if (slice.id <= 0 || slice.len <= 0 || slice.pos < 0 || slice.pos + slice.len > CHUNK_SIZE || slice.off + slice.len > slice.size) {
      fail('EINVAL', 'write', `malformed slice ${JSON.stringify(slice)}`);
    }
    await this.#write('write', async (tx) => {
      await this.#notAbandoned(tx.c, slice.id);
      const n = await this.#node(tx.c, inode, 'write', true);
      if (!isRegMode(n.mode)) fail('EINVAL', 'write');
      const stored = await this.#restore(tx, n, await this.#insertSlice(tx, inode, chunkIndex, slice), 'write');
      await this.#ref(tx, slice.id, slice.size);
      const t = nowNs();
      await SqlMeta.#saveNode(tx, this.#then({ ...n, length: Math.max(n.length, fileEnd), stored, mtime: t, ctime: t }, then, t));
    });
  }

  async appendSlice(inode: number, slice: { id: number; size: number }, then?: AttrChanges): Promise<number> {
    this.#live('write');
    if (!Number.isSafeInteger(slice.id) || slice.id <= 0 || !Number.isSafeInteger(slice.size) || slice.size <= 0 || slice.size > CHUNK_SIZE) {
      fail('EINVAL', 'write', `malformed slice ${JSON.stringify(slice)}`);
    }
    return this.#write('write', async (tx) => {
      await this.#notAbandoned(tx.c, slice.id);
      const n = await this.#node(tx.c, inode, 'write', true);
      if (!isRegMode(n.mode)) fail('EINVAL', 'write');
      const at = n.length;
      // The end may fall anywhere: the slice's bytes go in up to two chunks, as two references.
      let off = 0;
      let delta = 0;
      while (off < slice.size) {
        const fileOff = at + off;
        const pos = fileOff % CHUNK_SIZE;
        const len = Math.min(slice.size - off, CHUNK_SIZE - pos);
        delta += await this.#insertSlice(tx, inode, Math.floor(fileOff / CHUNK_SIZE), { id: slice.id, size: slice.size, pos, off, len });
        await this.#ref(tx, slice.id, slice.size);
        off += len;
      }
      const stored = await this.#restore(tx, n, delta, 'write');
      const t = nowNs();
      await SqlMeta.#saveNode(tx, this.#then({ ...n, length: at + slice.size, stored, mtime: t, ctime: t }, then, t));
      return at;
    });
  }

  async cloneRanges(dst: number, ranges: readonly CloneRange[]): Promise<NodeAttr> {
    this.#live('clone');
    for (const r of ranges) {
      const ok = [r.src, r.srcOffset, r.dstOffset, r.length].every((v) => Number.isSafeInteger(v) && v >= 0);
      if (!ok || r.dstOffset + r.length > Number.MAX_SAFE_INTEGER) fail('EINVAL', 'clone', `malformed range ${JSON.stringify(r)}`);
    }
    return this.#write('clone', async (tx) => {
      await this.#lockNodes(tx.c, [dst, ...ranges.map((r) => r.src)]);
      const d = await this.#node(tx.c, dst, 'clone');
      if (!isRegMode(d.mode)) fail(isDirMode(d.mode) ? 'EISDIR' : 'EINVAL', 'clone');
      // Every source is read before anything changes, so a range may name dst itself.
      const plans = [];
      for (const r of ranges.filter((x) => x.length > 0)) plans.push({ r, pieces: await this.#sourcePieces(tx.c, r) });
      if (plans.length === 0) return toAttr(d);
      let length = d.length;
      for (const { r } of plans) length = Math.max(length, r.dstOffset + r.length);
      let delta = 0;
      for (const { r, pieces } of plans) {
        // Whatever dst held there is hidden first; holes of the source stay holes.
        for (let at = r.dstOffset; at < r.dstOffset + r.length;) {
          const pos = at % CHUNK_SIZE;
          const len = Math.min(CHUNK_SIZE - pos, r.dstOffset + r.length - at);
          delta += await this.#appendHole(tx, dst, Math.floor(at / CHUNK_SIZE), pos, len);
          at += len;
        }
        for (const p of pieces) {
          // A piece lands at the same distance from the range's start; it may straddle a chunk
          // boundary of dst, then it becomes two references.
          let at = r.dstOffset + p.from;
          let off = p.off;
          let left = p.len;
          while (left > 0) {
            const pos = at % CHUNK_SIZE;
            const len = Math.min(left, CHUNK_SIZE - pos);
            delta += await this.#insertSlice(tx, dst, Math.floor(at / CHUNK_SIZE), { id: p.id, size: p.size, pos, off, len });
            if (p.id !== 0) await this.#ref(tx, p.id, p.size);
            at += len;
            off += len;
            left -= len;
          }
        }
      }
      const stored = await this.#restore(tx, d, delta, 'clone');
      const t = nowNs();
      const next = { ...d, length, stored, mtime: t, ctime: t };
      await SqlMeta.#saveNode(tx, next);
      return toAttr(next);
    });
  }

  /** The slice pieces showing [srcOffset, srcOffset+length) of a source, oldest first per chunk,
   * as offsets from the range's start. */
  async #sourcePieces(c: SqlConn, r: CloneRange): Promise<{ from: number; id: number; size: number; off: number; len: number }[]> {
    const s = await this.#node(c, r.src, 'clone');
    if (!isRegMode(s.mode)) fail(isDirMode(s.mode) ? 'EISDIR' : 'EINVAL', 'clone');
    const end = r.srcOffset + r.length;
    if (end > s.length) fail('EINVAL', 'clone', `range ${r.srcOffset}..${end} reaches past the end of inode ${r.src} (${s.length} bytes)`);
    const out: { from: number; id: number; size: number; off: number; len: number }[] = [];
    const first = Math.floor(r.srcOffset / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    const rows = await c.all('SELECT chunk, id, size, pos, off, len FROM slices WHERE ino = ? AND chunk BETWEEN ? AND ? ORDER BY chunk, seq', [r.src, first, last]);
    for (const raw of rows) {
      const row = { chunk: Number(raw.chunk), id: Number(raw.id), size: Number(raw.size), pos: Number(raw.pos), off: Number(raw.off), len: Number(raw.len) };
      const base = row.chunk * CHUNK_SIZE;
      const lo = Math.max(base + row.pos, r.srcOffset);
      const hi = Math.min(base + row.pos + row.len, end);
      if (hi <= lo) continue;
      out.push({ from: lo - r.srcOffset, id: row.id, size: row.size, off: row.off + (lo - base - row.pos), len: hi - lo });
    }
    return out;
  }

  async attachObject(ino: number, parts: readonly ExternalPart[]): Promise<NodeAttr> {
    this.#live('import');
    for (const p of parts) {
      const ok = [p.id, p.off, p.size].every((v) => Number.isSafeInteger(v) && v >= 0) && p.id > 0 && p.size > 0 && p.size <= CHUNK_SIZE
        && typeof p.object === 'string' && p.object.length > 0 && typeof p.etag === 'string' && p.etag.length > 0;
      if (!ok) fail('EINVAL', 'import', `malformed part ${JSON.stringify(p)}`);
    }
    return this.#write('import', async (tx) => {
      const n = await this.#node(tx.c, ino, 'import', true);
      if (!isRegMode(n.mode)) fail(isDirMode(n.mode) ? 'EISDIR' : 'EINVAL', 'import');
      if (n.length !== 0 || await tx.c.get('SELECT 1 AS x FROM slices WHERE ino = ? LIMIT 1', [ino])) fail('EINVAL', 'import', `inode ${ino} is not empty`);
      let at = 0;
      let delta = 0;
      for (const p of parts) {
        await this.#notAbandoned(tx.c, p.id);
        // A slice id that stores blocks already would send its readers to the object.
        if (await tx.c.get('SELECT 1 AS x FROM slice_refs WHERE id = ?', [p.id])) fail('EINVAL', 'import', `slice ${p.id} is in use: give a fresh id`);
        const ext = { id: p.id, object: p.object, off: p.off, size: p.size, etag: p.etag };
        await tx.c.run('INSERT INTO external_slices (id, object, off, size, etag) VALUES (?, ?, ?, ?, ?)', Object.values(ext));
        tx.put('external_slices', ext);
        // A part lands where the previous one ended; it may straddle a chunk boundary.
        for (let off = 0; off < p.size;) {
          const pos = (at + off) % CHUNK_SIZE;
          const len = Math.min(p.size - off, CHUNK_SIZE - pos);
          delta += await this.#insertSlice(tx, ino, Math.floor((at + off) / CHUNK_SIZE), { id: p.id, size: p.size, pos, off, len });
          await this.#ref(tx, p.id, p.size);
          off += len;
        }
        at += p.size;
      }
      const stored = await this.#restore(tx, n, delta, 'import');
      const t = nowNs();
      const next = { ...n, length: at, stored, mtime: t, ctime: t };
      await SqlMeta.#saveNode(tx, next);
      return toAttr(next);
    });
  }

  async compactChunk(inode: number, chunkIndex: number, replaced: readonly SliceRecord[], replacement: readonly SliceRecord[]): Promise<{ id: number; size: number }[] | null> {
    this.#live('compact');
    checkReplacement(chunkIndex, replaced, replacement);
    const { id, size } = replacement[0]!;
    return this.#write('compact', async (tx) => {
      await this.#notAbandoned(tx.c, id);
      const n = await this.#node(tx.c, inode, 'compact', true);
      if (!isRegMode(n.mode)) fail('EINVAL', 'compact');
      const rows = (await tx.c.all('SELECT seq, id, size, pos, off, len FROM slices WHERE ino = ? AND chunk = ? ORDER BY seq LIMIT ?', [inode, chunkIndex, replaced.length]))
        .map((r) => ({ seq: Number(r.seq), id: Number(r.id), size: Number(r.size), pos: Number(r.pos), off: Number(r.off), len: Number(r.len) }));
      // Written, truncated or compacted since the caller read it: its slice shows the wrong bytes.
      const same = rows.length === replaced.length && rows.every((r, i) => {
        const w = replaced[i]!;
        return r.id === w.id && r.size === w.size && r.pos === w.pos && r.off === w.off && r.len === w.len;
      });
      if (!same) return null;
      for (const r of rows) {
        await tx.c.run('DELETE FROM slices WHERE ino = ? AND chunk = ? AND seq = ?', [inode, chunkIndex, r.seq]);
        tx.delete('slices', { ino: inode, chunk: chunkIndex, seq: r.seq });
      }
      // The replaced slices' lowest sequence numbers keep the new pieces under every later slice.
      for (const [i, piece] of replacement.entries()) {
        const row = { ino: inode, chunk: chunkIndex, seq: rows[i]!.seq, id, size, pos: piece.pos, off: piece.off, len: piece.len };
        await tx.c.run('INSERT INTO slices (ino, chunk, seq, id, size, pos, off, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', Object.values(row));
        tx.put('slices', row);
        await this.#ref(tx, id, size);
      }
      const released: { id: number; size: number }[] = [];
      for (const r of rows) if (await this.#unref(tx, r.id)) released.push({ id: r.id, size: r.size });
      return released;
    });
  }

  async abandonSlice(slice: { id: number; size: number }): Promise<void> {
    this.#live('write');
    await this.#write('abandon-slice', async (tx) => {
      const referenced = await tx.c.get('SELECT 1 AS x FROM slice_refs WHERE id = ?', [slice.id]);
      if (!referenced) await tx.c.run(tx.dialect.insertIgnore('pending_slices', ['id', 'size', 'since_ms']), [slice.id, slice.size, Date.now()]);
    });
  }

  async pendingSliceDeletes(limit: number): Promise<{ id: number; size: number }[]> {
    this.#live('reclaim');
    return this.#read(async (c) => {
      // A mirror that has not applied a slice's release still reads its blocks (from this store,
      // until it copied them): they stay until every mirror is past the release, or held back
      // too long. Release and commit times come from clients' clocks: a margin covers their skew.
      const slowest = await c.get<{ t: unknown; n: unknown }>('SELECT min(coalesce(ch.time_ms, 0)) AS t, count(*) AS n FROM consumers co LEFT JOIN changes ch ON ch.version = co.applied');
      const cutoff = Number(slowest?.n ?? 0) === 0 ? Number.MAX_SAFE_INTEGER
        : Math.max(Number(slowest!.t) - MIRROR_CLOCK_SKEW_MS, Date.now() - MIRROR_HOLD_MS);
      return (await c.all('SELECT id, size FROM pending_slices WHERE since_ms < ? ORDER BY since_ms, id LIMIT ?', [cutoff, limit]))
        .map((r) => ({ id: Number(r.id), size: Number(r.size) }));
    });
  }

  async confirmSliceDeletes(ids: number[]): Promise<void> {
    this.#live('reclaim');
    if (ids.length === 0) return;
    await this.#write('reclaim', async (tx) => {
      for (const id of ids) await tx.c.run('DELETE FROM pending_slices WHERE id = ?', [id]);
    });
  }

  async knownSlices(afterId: number, limit: number): Promise<KnownSlice[]> {
    this.#live('gc');
    if (!Number.isSafeInteger(afterId) || afterId < 0) fail('EINVAL', 'gc');
    if (!Number.isSafeInteger(limit) || limit < 1) fail('EINVAL', 'gc');
    return this.#read(async (c) => (await c.all(
      `SELECT id, size, refs, NULL AS since_ms FROM slice_refs WHERE id > ?
       UNION ALL SELECT id, size, 0 AS refs, since_ms FROM pending_slices WHERE id > ? ORDER BY id LIMIT ?`, [afterId, afterId, limit]))
      .map((r) => ({ id: Number(r.id), size: Number(r.size), refs: Number(r.refs), pendingSinceMs: r.since_ms === null || r.since_ms === undefined ? null : Number(r.since_ms) })));
  }

  // ---- checking ----

  async checkVolume(repair: boolean): Promise<VolumeProblem[]> {
    this.#live('fsck');
    // One consistent view, and no bound on how long its whole-table scans take (a statement of
    // an interactive call is given up after the driver's statement timeout).
    const found = await this.#db.snapshot((c) => this.#volumeProblems(c));
    if (!repair || found.length === 0) return found;
    if (this.#settings.mirror) fail('EROFS', 'fsck', `this volume is a mirror of ${this.#settings.mirror.primary}: repair the primary`);
    // A name taken meanwhile (lost+found replaced by a rename while the repair waited for its
    // entry) is a concurrent change like any other: the repair runs again and sees it. (Names
    // taken before are stepped around, so this retry is only ever for a race.)
    for (const p of found) p.repaired = await this.#write('repair', (tx) => this.#repair(tx, p), { duplicate: 'retry' });
    return found;
  }

  /** Every problem, or (with `only`) the current state of that one. Each check is one statement,
   * so it sees one moment of a volume that others keep changing. */
  async #volumeProblems(c: SqlConn, only?: VolumeProblem): Promise<VolumeProblem[]> {
    const out: VolumeProblem[] = [];
    const wants = (kind: VolumeProblem['kind']) => !only || only.kind === kind;
    const one = only?.ino !== undefined ? ' AND i.ino = ?' : '';
    const args = only?.ino !== undefined ? [only.ino] : [];
    if (wants('counter')) {
      // Space charged per regular file: its stored bytes rounded up to 4 KiB (charged()).
      const r = await c.get(`SELECT (SELECT count(*) FROM inodes) AS inodes,
        (SELECT coalesce(sum(CASE WHEN (mode & ${S_IFMT}) = ${S_IFREG} THEN stored + 4095 - ((stored + 4095) % 4096) ELSE 0 END), 0) FROM inodes) AS used_bytes,
        (SELECT value FROM counters WHERE name = 'inodes') AS rec_inodes, (SELECT value FROM counters WHERE name = 'used_bytes') AS rec_used_bytes`);
      for (const name of ['used_bytes', 'inodes'] as const) {
        if (only?.name !== undefined && only.name !== name) continue;
        const actual = Number(r?.[name] ?? 0);
        const recorded = Number(r?.[`rec_${name}`] ?? 0);
        if (recorded !== actual) out.push({ kind: 'counter', name, recorded, actual, repaired: false });
      }
    }
    // Inodes no name reaches (the root excepted): fine only while a session keeps them open.
    const nameless = new Set<number>();
    if (wants('orphan') || wants('link-count')) {
      const unnamed = await c.all(`SELECT i.ino, i.nlink, (SELECT count(*) FROM open_files o WHERE o.ino = i.ino) AS open,
        (SELECT count(*) FROM orphans r WHERE r.ino = i.ino) AS kept FROM inodes i
        WHERE i.ino <> ${ROOT_INODE}${one} AND NOT EXISTS (SELECT 1 FROM dentries d WHERE d.ino = i.ino)`, args);
      for (const r of unnamed) {
        const ino = Number(r.ino);
        nameless.add(ino);
        if (Number(r.open) > 0 && Number(r.kept) > 0 && Number(r.nlink) === 0) continue;
        if (wants('orphan')) out.push({ kind: 'orphan', ino, recorded: Number(r.nlink), actual: 0, repaired: false });
      }
    }
    if (wants('stale-orphan')) {
      // An orphan record of an inode that has a name again, or none at all: its release would free a named file.
      const rows = await c.all(`SELECT r.ino FROM orphans r WHERE 1 = 1${one.replace('i.ino', 'r.ino')}
        AND (EXISTS (SELECT 1 FROM dentries d WHERE d.ino = r.ino) OR NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = r.ino))`, args);
      for (const r of rows) out.push({ kind: 'stale-orphan', ino: Number(r.ino), recorded: 1, actual: 0, repaired: false });
    }
    if (wants('dangling')) {
      const where = only?.parent !== undefined ? ' AND d.parent = ? AND d.name = ?' : '';
      const rows = await c.all(`SELECT d.parent, d.name, d.ino, d.type FROM dentries d WHERE NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = d.ino)${where}`,
        only?.parent !== undefined ? [only.parent, only.name!] : []);
      for (const r of rows) out.push({ kind: 'dangling', ino: Number(r.ino), parent: Number(r.parent), name: String(r.name), recorded: 1, actual: 0, repaired: false });
    }
    if (wants('link-count')) {
      const files = await c.all(`SELECT i.ino, i.nlink, count(d.ino) AS names FROM inodes i JOIN dentries d ON d.ino = i.ino
        WHERE (i.mode & ${S_IFMT}) <> ${S_IFDIR}${one} GROUP BY i.ino, i.nlink HAVING count(d.ino) <> i.nlink`, args);
      for (const r of files) out.push({ kind: 'link-count', ino: Number(r.ino), recorded: Number(r.nlink), actual: Number(r.names), repaired: false });
      const dirs = await c.all(`SELECT i.ino, i.nlink, (SELECT count(*) FROM dentries d WHERE d.parent = i.ino AND d.type = ${S_IFDIR}) AS subdirs
        FROM inodes i WHERE (i.mode & ${S_IFMT}) = ${S_IFDIR}${one}`, args);
      for (const r of dirs) {
        const ino = Number(r.ino);
        const actual = 2 + Number(r.subdirs);
        if (!nameless.has(ino) && Number(r.nlink) !== actual) out.push({ kind: 'link-count', ino, recorded: Number(r.nlink), actual, repaired: false });
      }
    }
    return out;
  }

  /** Fix `p` if it is still there; true when something was changed. What it fixes is locked
   * before it is looked at again, so a link, unlink or rename meanwhile is counted in. */
  async #repair(tx: Tx, p: VolumeProblem): Promise<boolean> {
    if (p.kind === 'dangling') await this.#node(tx.c, p.parent!, 'fsck', true).catch(() => undefined);
    else if (p.kind !== 'counter' && p.kind !== 'stale-orphan') await this.#node(tx.c, p.ino!, 'fsck', true);
    const now = (await this.#volumeProblems(tx.c, p)).find((q) => q.kind === p.kind);
    if (!now) return false;
    const t = nowNs();
    switch (now.kind) {
      case 'counter':
        tx.count(now.name!, now.actual - now.recorded);
        return true;
      case 'stale-orphan':
        await tx.c.run('DELETE FROM orphans WHERE ino = ?', [now.ino!]);
        return true;
      case 'dangling': {
        const entry = await this.#entry(tx.c, now.parent!, now.name!, true);
        await this.#deleteEntry(tx, now.parent!, now.name!);
        // A directory's entry counted as one of its parent's links.
        if (entry?.type === S_IFDIR) {
          const parent = await this.#node(tx.c, now.parent!, 'fsck', true).catch(() => null);
          if (parent) await SqlMeta.#saveNode(tx, { ...parent, nlink: Math.max(2, parent.nlink - 1), mtime: t, ctime: t });
        }
        return true;
      }
      case 'link-count': {
        const n = await this.#node(tx.c, now.ino!, 'fsck', true);
        await SqlMeta.#saveNode(tx, { ...n, nlink: now.actual });
        return true;
      }
      case 'orphan': {
        const n = await this.#node(tx.c, now.ino!, 'fsck', true);
        if (n.nlink === 0 && await this.#isOpen(tx.c, n.ino)) {
          await tx.c.run(tx.dialect.insertIgnore('orphans', ['ino', 'since_ms']), [n.ino, Date.now()]);
          return true;
        }
        if (n.nlink === 0) {
          // On its way out when whatever freed it stopped: finished now. A directory holding
          // entries that nothing reaches is left for a person to look at.
          if (isDirMode(n.mode) && await tx.c.get('SELECT 1 AS x FROM dentries WHERE parent = ? LIMIT 1', [n.ino])) return false;
          await this.#destroy(tx, n);
          return true;
        }
        // Still linked, by its count: its data is kept, under /lost+found/#INODE (#INODE.1, .2 …
        // when someone's file has that name already: a clash that would never clear by retrying).
        const lf = await this.#lostFound(tx, t);
        let name = `#${n.ino}`;
        for (let k = 1; await this.#entry(tx.c, lf, name); k++) name = `#${n.ino}.${k}`;
        await SqlMeta.#insertEntry(tx, lf, name, n.ino, n.mode & S_IFMT);
        await SqlMeta.#saveNode(tx, { ...n, nlink: isDirMode(n.mode) ? n.nlink : 1, parent: lf, ctime: t });
        if (isDirMode(n.mode)) {
          const dir = await this.#node(tx.c, lf, 'fsck', true);
          await SqlMeta.#saveNode(tx, { ...dir, nlink: dir.nlink + 1, mtime: t, ctime: t });
        }
        await tx.c.run('DELETE FROM orphans WHERE ino = ?', [n.ino]);
        return true;
      }
    }
  }

  /** The root's lost+found directory (made, root-only, when missing). Its entry is locked, as
   * rmdir and rename lock it: the directory cannot go while a file is being put into it. */
  async #lostFound(tx: Tx, t: bigint): Promise<number> {
    const found = await this.#entry(tx.c, ROOT_INODE, LOST_FOUND, true);
    if (found) {
      if (found.type !== S_IFDIR) fail('EEXIST', 'fsck', `/${LOST_FOUND} is not a directory: move it away so that fsck can put unreachable files there`);
      return found.ino;
    }
    const root = await this.#node(tx.c, ROOT_INODE, 'fsck', true);
    const ino = await this.#take(tx, this.#inodes, 'inode');
    await SqlMeta.#insertNode(tx, { ino, mode: S_IFDIR | 0o700, uid: 0, gid: 0, rdev: 0, nlink: 2, length: 0, atime: t, mtime: t, ctime: t, btime: t, parent: ROOT_INODE, stored: 0 });
    await SqlMeta.#insertEntry(tx, ROOT_INODE, LOST_FOUND, ino, S_IFDIR);
    await SqlMeta.#saveNode(tx, { ...root, nlink: root.nlink + 1, mtime: t, ctime: t });
    tx.count('inodes', 1);
    return ino;
  }

  // ---- sessions ----

  async newSession(info: Record<string, unknown>): Promise<number> {
    this.#live('session');
    const now = Date.now();
    return this.#write('session', (tx) => tx.c.insertId('INSERT INTO sessions (info, started_ms, heartbeat_ms) VALUES (?, ?, ?)', [JSON.stringify(info), now, now], 'id'));
  }

  async heartbeat(session: number): Promise<void> {
    this.#live('heartbeat');
    await this.#write('heartbeat', async (tx) => {
      if (await tx.c.run('UPDATE sessions SET heartbeat_ms = ? WHERE id = ?', [Date.now(), session]) === 0) {
        fail('ESTALE', 'heartbeat', `session ${session} was closed (its heartbeat stopped for too long?)`);
      }
    });
  }

  /** A new open record, written only for a live session (whose row it locks): ESTALE otherwise. */
  async #recordOpen(tx: Tx, session: number, ino: number, syscall: string): Promise<void> {
    const n = await tx.c.run(`INSERT INTO open_files (session, ino, count) SELECT id, ?, 1 FROM sessions WHERE id = ?${tx.dialect.forUpdate}`, [ino, session]);
    if (n === 0) fail('ESTALE', syscall, `session ${session} was closed (its heartbeat stopped for too long?)`);
  }

  /** Rows are only written for a live session: a closed one gets ESTALE (its client must
   * register anew). */
  async #sessionAlive(c: SqlConn, session: number, syscall: string): Promise<void> {
    if (!(await c.get(`SELECT id FROM sessions WHERE id = ?${this.#db.dialect.forUpdate}`, [session]))) {
      fail('ESTALE', syscall, `session ${session} was closed (its heartbeat stopped for too long?)`);
    }
  }

  async #endSession(tx: Tx, session: number): Promise<void> {
    await tx.c.run('DELETE FROM flocks WHERE session = ?', [session]);
    await tx.c.run('DELETE FROM plocks WHERE session = ?', [session]);
    const open = await tx.c.all('SELECT ino FROM open_files WHERE session = ?', [session]);
    await tx.c.run('DELETE FROM open_files WHERE session = ?', [session]);
    for (const r of open) await this.#freeIfOrphan(tx, Number(r.ino));
    await tx.c.run('DELETE FROM sessions WHERE id = ?', [session]);
  }

  async #freeIfOrphan(tx: Tx, ino: number): Promise<void> {
    const orphan = await tx.c.get('SELECT 1 AS x FROM orphans WHERE ino = ?', [ino]);
    if (!orphan || await this.#isOpen(tx.c, ino)) return;
    const raw = await tx.c.get(`SELECT ${NODE_SELECT} FROM inodes i WHERE i.ino = ?${tx.dialect.forUpdate}`, [ino]);
    if (raw) await this.#destroy(tx, toRow(raw));
    else await tx.c.run('DELETE FROM orphans WHERE ino = ?', [ino]);
  }

  async closeSession(session: number): Promise<void> {
    this.#live('session');
    await this.#write('close-session', (tx) => this.#endSession(tx, session));
  }

  async sessions(): Promise<SessionRecord[]> {
    this.#live('status');
    return this.#read(async (c) => (await c.all('SELECT id, info, started_ms, heartbeat_ms FROM sessions ORDER BY id'))
      .map((r) => ({ id: Number(r.id), info: JSON.parse(String(r.info)) as Record<string, unknown>, startedMs: Number(r.started_ms), heartbeatMs: Number(r.heartbeat_ms) })));
  }

  async cleanStaleSessions(staleMs: number): Promise<number> {
    this.#live('session');
    return this.#write('clean-sessions', async (tx) => {
      const stale = await tx.c.all(`SELECT id FROM sessions WHERE heartbeat_ms < ?${tx.dialect.forUpdate}`, [Date.now() - staleMs]);
      for (const s of stale) await this.#endSession(tx, Number(s.id));
      return stale.length;
    });
  }

  async opened(session: number, ino: number): Promise<void> {
    this.#live('open');
    // One statement, which writes only for a live session (its row locked: a cleanup waits) and
    // an inode that exists (read, not locked, as before: a subquery's rows are not locked by the
    // outer FOR UPDATE); where the server allows, the commit goes right behind it. Why nothing was
    // written is asked only then.
    for (let attempt = 1; ; attempt++) {
      const recorded = await this.#write('open', async (tx) => {
        const record = tx.dialect.upsert('open_files', ['session', 'ino', 'count'], ['session', 'ino'], ['count = old(count) + 1'],
          `SELECT id, ?, 1 FROM sessions WHERE id = ? AND EXISTS (SELECT 1 FROM inodes WHERE ino = ?)${tx.dialect.forUpdate}`);
        const params = [ino, session, ino];
        if (tx.dialect.returning) return (await tx.c.last(`${record} RETURNING 1 AS n`, params)) !== undefined;
        // No RETURNING (MySQL): a read-back of the count goes with it, for the commit to go behind.
        const [, counted] = await inOrder([tx.c.run(record, params), tx.c.last<{ n: unknown }>('SELECT ROW_COUNT() AS n')]);
        return Number(counted!.n) > 0;
      });
      if (recorded) return;
      await this.#read(async (c) => {
        await this.#sessionAlive(c, session, 'open');
        await this.#node(c, ino, 'open');
      });
      // Both are there now, yet the record found neither: changed meanwhile; once more.
      if (attempt === 3) fail('EIO', 'open', `the open of inode ${ino} could not be recorded`);
    }
  }

  async released(session: number, inos: number | readonly number[]): Promise<void> {
    this.#live('close');
    const list = typeof inos === 'number' ? [inos] : inos;
    if (list.length === 0) return;
    await this.#write('close', async (tx) => {
      // All of them at once: a release batch costs the same few statements however many it holds.
      const times = new Map<number, number>();
      for (const ino of list) times.set(ino, (times.get(ino) ?? 0) + 1);
      const set = (n: number) => `(${Array(n).fill('?').join(', ')})`;
      // In slices: every engine caps the parameters of one statement.
      const all = [...times.keys()];
      const slices: number[][] = [];
      for (let at = 0; at < all.length; at += RELEASE_SLICE) slices.push(all.slice(at, at + RELEASE_SLICE));
      // None of these needs another's answer: they go out together (the server runs them in
      // order, so the counts are down before the records at zero go), the orphans' read last.
      const sent: Promise<unknown>[] = [];
      for (const inos of slices) {
        for (const k of new Set(inos.map((ino) => times.get(ino)!))) {
          const these = inos.filter((ino) => times.get(ino) === k);
          sent.push(tx.c.run(`UPDATE open_files SET count = count - ? WHERE session = ? AND ino IN ${set(these.length)}`, [k, session, ...these]));
        }
        sent.push(tx.c.run(`DELETE FROM flocks WHERE session = ? AND ino IN ${set(inos.length)}`, [session, ...inos]));
      }
      sent.push(tx.c.run('DELETE FROM open_files WHERE session = ? AND count <= 0', [session]));
      const orphans = slices.map((inos) => tx.c.all(`SELECT ino FROM orphans WHERE ino IN ${set(inos.length)}`, inos));
      const [, found] = await inOrder([inOrder(sent), inOrder(orphans)]);
      for (const r of found.flat()) await this.#freeIfOrphan(tx, Number(r.ino));
    });
  }

  // ---- locks ----

  async flock(ino: number, session: number, owner: string, kind: LockKind): Promise<void> {
    this.#live('flock');
    await this.#write('flock', async (tx) => {
      // The inode row serialises lock changes on one file across clients.
      await this.#node(tx.c, ino, 'flock', true);
      if (kind === 'unlock') {
        await tx.c.run('DELETE FROM flocks WHERE ino = ? AND session = ? AND owner = ?', [ino, session, owner]);
        return;
      }
      await this.#sessionAlive(tx.c, session, 'flock');
      const others = await tx.c.all('SELECT kind FROM flocks WHERE ino = ? AND NOT (session = ? AND owner = ?)', [ino, session, owner]);
      if (others.some((o) => kind === 'write' || o.kind === 'write')) fail('EAGAIN', 'flock');
      await tx.c.run(tx.dialect.upsert('flocks', ['ino', 'session', 'owner', 'kind'], ['ino', 'session', 'owner'], ['kind = new(kind)']), [ino, session, owner, kind]);
    });
  }

  async #heldLocks(c: SqlConn, ino: number): Promise<HeldLock[]> {
    return (await c.all('SELECT session, owner, kind, start, stop, pid FROM plocks WHERE ino = ?', [ino])).map((r) => ({
      session: Number(r.session), owner: String(r.owner), kind: r.kind as 'read' | 'write', start: Number(r.start),
      end: Number(r.stop) < 0 ? Infinity : Number(r.stop), pid: Number(r.pid),
    }));
  }

  #checkRange(lock: RangeLock, syscall: string): number {
    if (!Number.isSafeInteger(lock.start) || lock.start < 0 || !Number.isSafeInteger(lock.end) || (lock.end !== -1 && lock.end <= lock.start)) {
      fail('EINVAL', syscall, `invalid lock range ${lock.start}..${lock.end}`);
    }
    if (!['read', 'write', 'unlock'].includes(lock.kind)) fail('EINVAL', syscall, `invalid lock kind ${String(lock.kind)}`);
    return lock.end === -1 ? Infinity : lock.end;
  }

  async getlk(ino: number, session: number, owner: string, lock: RangeLock): Promise<(RangeLock & { session: number; owner: string }) | null> {
    this.#live('getlk');
    const end = this.#checkRange(lock, 'getlk');
    return this.#read(async (c) => {
      await this.#node(c, ino, 'getlk');
      const h = firstConflict(await this.#heldLocks(c, ino), session, owner, lock.kind, lock.start, end);
      return h ? { kind: h.kind, start: h.start, end: h.end === Infinity ? -1 : h.end, pid: h.pid, session: h.session, owner: h.owner } : null;
    });
  }

  async setlk(ino: number, session: number, owner: string, lock: RangeLock): Promise<void> {
    this.#live('setlk');
    const end = this.#checkRange(lock, 'setlk');
    await this.#write('setlk', async (tx) => {
      await this.#node(tx.c, ino, 'setlk', true);
      if (lock.kind !== 'unlock') await this.#sessionAlive(tx.c, session, 'setlk');
      const held = await this.#heldLocks(tx.c, ino);
      if (firstConflict(held, session, owner, lock.kind, lock.start, end)) fail('EAGAIN', 'setlk');
      const mine = held.filter((h) => h.session === session && h.owner === owner);
      const next = applyOwnerLock(mine, { session, owner, kind: lock.kind, start: lock.start, end, pid: lock.pid });
      await tx.c.run('DELETE FROM plocks WHERE ino = ? AND session = ? AND owner = ?', [ino, session, owner]);
      for (const h of next) {
        await tx.c.run('INSERT INTO plocks (ino, session, owner, kind, start, stop, pid) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [ino, session, owner, h.kind, h.start, h.end === Infinity ? -1 : h.end, h.pid]);
      }
    });
  }

  // ---- versions ----

  watchOwnCommits(listener: (version: number, rows: readonly ChangeRow[]) => void): () => void {
    this.#commitListeners.add(listener);
    return () => { this.#commitListeners.delete(listener); };
  }

  async version(): Promise<number> {
    this.#live('version');
    return this.#read(async (c) => Number((await c.get<{ version: unknown }>('SELECT version FROM vstate'))!.version));
  }

  async oldestVersion(): Promise<number> {
    this.#live('version');
    return this.#read(async (c) => Number((await c.get<{ v: unknown }>('SELECT min(version) AS v FROM changes'))?.v ?? 0));
  }

  async changes(afterVersion: number, limit: number): Promise<ChangeEntry[]> {
    this.#live('changes');
    return this.#read(async (c) => {
      // One statement, so one snapshot and one round trip (a mirror's client waits on this):
      // the volume's version, and the entries after `afterVersion` — everything up to that
      // version is committed, so it must all be in the log. No entry: one row of nulls.
      const found = await c.all(`SELECT s.version AS current, c.version, c.op, c.time_ms, c.body FROM vstate s
        LEFT JOIN changes c ON c.version > ? AND c.version <= s.version ORDER BY c.version LIMIT ?`, [afterVersion, limit]);
      const current = Number(found[0]!.current);
      const rows = found.filter((r) => r.version !== null && r.version !== undefined)
        .map((r) => ({ version: Number(r.version), op: String(r.op), timeMs: Number(r.time_ms), rows: JSON.parse(String(r.body)) as ChangeEntry['rows'] }));
      if (afterVersion > current) {
        fail('ESTALE', 'changes', `the volume is at version ${current}, behind version ${afterVersion} asked for: it was restored or loaded anew since; resync needed`);
      }
      // The next version must be there: if it was pruned, what follows cannot be applied.
      const first = rows[0]?.version;
      if (afterVersion < current && first !== afterVersion + 1) {
        fail('ESTALE', 'changes', `the change log no longer holds version ${afterVersion + 1}${first !== undefined ? ` (it starts at ${first})` : ''}: resync needed`);
      }
      return rows;
    });
  }

  async registerConsumer(name: string, applied: number): Promise<void> {
    this.#live('consumer');
    if (!name || !Number.isSafeInteger(applied) || applied < 0) fail('EINVAL', 'consumer', `bad consumer ${JSON.stringify(name)} at ${applied}`);
    await this.#write('consumer', async (tx) => {
      await tx.c.run(tx.dialect.upsert('consumers', ['name', 'applied'], ['name'], ['applied = new(applied)']), [name, applied]);
    });
  }

  async dropConsumer(name: string): Promise<void> {
    this.#live('consumer');
    await this.#write('consumer', async (tx) => { await tx.c.run('DELETE FROM consumers WHERE name = ?', [name]); });
  }

  async consumers(): Promise<{ name: string; applied: number }[]> {
    this.#live('consumer');
    return this.#read(async (c) => (await c.all('SELECT name, applied FROM consumers ORDER BY name')).map((r) => ({ name: String(r.name), applied: Number(r.applied) })));
  }

  // ---- event notifications ----

  static async #queue(c: SqlConn, events: readonly QueuedEvent[]): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < events.length; i += EVENT_INSERT_BATCH) {
      const part = events.slice(i, i + EVENT_INSERT_BATCH);
      for (const e of part) {
        if (!e.target || typeof e.key !== 'string' || typeof e.body !== 'string') fail('EINVAL', 'events', `malformed event ${JSON.stringify(e).slice(0, 200)}`);
      }
      await c.run(`INSERT INTO event_queue (target, okey, body, created_ms) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`,
        part.flatMap((e) => [e.target, e.key, e.body, now]));
    }
  }

  async queueEvents(events: readonly QueuedEvent[], step?: ConsumerStep): Promise<boolean> {
    this.#live('events');
    if (events.length === 0 && !step) return true;
    return this.#write('events', async (tx) => {
      if (step) {
        const moved = await tx.c.run('UPDATE consumers SET applied = ? WHERE name = ? AND applied = ?', [step.to, step.consumer, step.from]);
        if (moved === 0) return false;
      }
      await SqlMeta.#queue(tx.c, events);
      return true;
    });
  }

  static async #targetRow(tx: Tx, target: string): Promise<SqlRow> {
    await tx.c.run(tx.dialect.insertIgnore('event_targets', ['target', 'holder', 'until_ms', 'delivered', 'failed', 'dropped']), [target, '', 0, 0, 0, 0]);
    return (await tx.c.get(`SELECT holder, until_ms FROM event_targets WHERE target = ?${tx.dialect.forUpdate}`, [target]))!;
  }

  async claimEvents(target: string, holder: string, leaseMs: number, limit: number): Promise<PendingEvent[] | null> {
    this.#live('events');
    return this.#write('events', async (tx) => {
      const lease = await SqlMeta.#targetRow(tx, target);
      const now = Date.now();
      if (String(lease.holder) !== holder && String(lease.holder) !== '' && Number(lease.until_ms) > now) return null;
      await tx.c.run('UPDATE event_targets SET holder = ?, until_ms = ? WHERE target = ?', [holder, now + leaseMs, target]);
      const rows = await tx.c.all('SELECT seq, okey, body, created_ms FROM event_queue WHERE target = ? ORDER BY seq LIMIT ?', [target, limit]);
      return rows.map((r) => ({ seq: Number(r.seq), target, key: String(r.okey), body: String(r.body), createdMs: Number(r.created_ms) }));
    });
  }

  async settleEvents(target: string, delivered: readonly number[], failed: number): Promise<void> {
    this.#live('events');
    await this.#write('events', async (tx) => {
      await SqlMeta.#targetRow(tx, target);
      let gone = 0;
      for (let i = 0; i < delivered.length; i += EVENT_INSERT_BATCH) {
        const part = delivered.slice(i, i + EVENT_INSERT_BATCH);
        gone += (await tx.c.run(`DELETE FROM event_queue WHERE target = ? AND seq IN (${part.map(() => '?').join(', ')})`, [target, ...part]));
      }
      await tx.c.run('UPDATE event_targets SET delivered = delivered + ?, failed = failed + ? WHERE target = ?', [gone, failed, target]);
    });
  }

  async trimEvents(target: string, max: number): Promise<number> {
    this.#live('events');
    if (!Number.isSafeInteger(max) || max < 0) fail('EINVAL', 'events', `bad queue bound ${max}`);
    return this.#write('events', async (tx) => {
      // The target's row first, as settleEvents takes it: trims and settles of one target queue
      // up behind each other instead of deadlocking or counting one drop twice.
      await SqlMeta.#targetRow(tx, target);
      const count = Number((await tx.c.get('SELECT count(*) AS n FROM event_queue WHERE target = ?', [target]))!.n);
      if (count <= max) return 0;
      const cut = await tx.c.get('SELECT seq FROM event_queue WHERE target = ? ORDER BY seq LIMIT 1 OFFSET ?', [target, count - max - 1]);
      if (!cut) return 0;
      const dropped = (await tx.c.run('DELETE FROM event_queue WHERE target = ? AND seq <= ?', [target, Number(cut.seq)]));
      await tx.c.run('UPDATE event_targets SET dropped = dropped + ? WHERE target = ?', [dropped, target]);
      return dropped;
    });
  }

  async eventStats(): Promise<EventTargetStats[]> {
    this.#live('events');
    return this.#read(async (c) => {
      const queued = await c.all('SELECT target, count(*) AS depth, min(created_ms) AS oldest FROM event_queue GROUP BY target');
      const records = await c.all('SELECT target, holder, until_ms, delivered, failed, dropped FROM event_targets');
      const out = new Map<string, EventTargetStats>();
      const of = (target: string) => {
        let s = out.get(target);
        if (!s) out.set(target, s = { target, depth: 0, oldestMs: null, delivered: 0, failed: 0, dropped: 0, holder: '', untilMs: 0 });
        return s;
      };
      for (const r of records) {
        Object.assign(of(String(r.target)), { delivered: Number(r.delivered), failed: Number(r.failed), dropped: Number(r.dropped), holder: String(r.holder), untilMs: Number(r.until_ms) });
      }
      for (const r of queued) Object.assign(of(String(r.target)), { depth: Number(r.depth), oldestMs: r.oldest === null ? null : Number(r.oldest) });
      return [...out.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
    });
  }

  // ---- cache groups ----

  async groupBeat(group: string, m: Omit<GroupMember, 'heartbeatMs'>): Promise<void> {
    this.#live('cache-group');
    const name = groupRowName(group, 'member', m.id);
    const value = JSON.stringify({ address: m.address, weight: m.weight, backup: m.backup, startedMs: m.startedMs, heartbeatMs: Date.now() });
    await this.#write('cache-group', async (tx) => {
      await tx.c.run(tx.dialect.upsert('settings', ['name', 'value'], ['name'], ['value = new(value)']), [name, value]);
    });
  }

  async groupMembers(group: string): Promise<GroupMember[]> {
    this.#live('cache-group');
    const prefix = groupRowName(group, 'member', '');
    // LIKE narrows; the exact prefix decides ("_" in a group name is a LIKE wildcard).
    const rows = await this.#read((c) => c.all<{ name: string; value: string }>('SELECT name, value FROM settings WHERE name LIKE ?', [`${prefix}%`]));
    return rows.filter((r) => String(r.name).startsWith(prefix)).flatMap((r) => {
      const v = parseGroupMember(String(r.value));
      return v ? [{ id: String(r.name).slice(prefix.length), ...v }] : [];
    }).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async groupLeave(group: string, id: string): Promise<void> {
    this.#live('cache-group');
    await this.#write('cache-group', async (tx) => { await tx.c.run('DELETE FROM settings WHERE name = ?', [groupRowName(group, 'member', id)]); });
  }

  async groupNames(): Promise<string[]> {
    this.#live('cache-group');
    const rows = await this.#read((c) => c.all<{ name: string }>(`SELECT name FROM settings WHERE name LIKE 'cachegroup.%'`));
    return [...new Set(rows.flatMap((r) => groupOfRow(String(r.name)) ?? []))].sort();
  }

  async groupSecret(group: string, fresh: string): Promise<string> {
    this.#live('cache-group');
    const name = groupRowName(group, 'secret');
    return this.#write('cache-group', async (tx) => {
      await tx.c.run(tx.dialect.insertIgnore('settings', ['name', 'value']), [name, fresh]);
      return String((await tx.c.get<{ value: unknown }>('SELECT value FROM settings WHERE name = ?', [name]))!.value);
    });
  }

  // ---- trash ----

  async listTrash(): Promise<TrashEntry[]> {
    this.#live('trash');
    return this.#db.read(async (c) => {
      const rows = await c.all(`SELECT t.ino, t.parent, t.name, t.deleted_ms, t.hour, d.name AS entry, i.mode, i.length
        FROM trash t JOIN inodes i ON i.ino = t.ino JOIN dentries d ON d.ino = t.ino AND d.parent = i.parent ORDER BY t.deleted_ms, t.ino`);
      return rows.map((r) => ({
        path: `${String(r.hour)}/${String(r.entry)}`, ino: Number(r.ino), parent: Number(r.parent), name: String(r.name), deletedMs: Number(r.deleted_ms),
        size: isDirMode(Number(r.mode)) ? 0 : Number(r.length), isDir: isDirMode(Number(r.mode)),
      }));
    }, { bulk: true });
  }

  async restoreTrash(path: string): Promise<void> {
    this.#live('trash');
    const [hour, entry, ...rest] = path.split('/');
    if (!hour || !entry || rest.length > 0) fail('EINVAL', 'restore', `"${path}" is not a trash entry (expected HOUR/ENTRY as "strata trash list" prints)`);
    await this.#write('restore', async (tx) => {
      const hourDir = await this.#entry(tx.c, TRASH_INODE, hour);
      const e = hourDir ? await this.#entry(tx.c, hourDir.ino, entry, true) : undefined;
      if (!hourDir || !e) fail('ENOENT', 'restore', `no trash entry ${path}`);
      const rec = await tx.c.get(`SELECT parent, name FROM trash WHERE ino = ?${tx.dialect.forUpdate}`, [e.ino]);
      if (!rec) fail('ENOENT', 'restore', `${path} has no record of where it came from`);
      const parentIno = Number(rec.parent);
      const name = String(rec.name);
      await this.#lockNodes(tx.c, [parentIno, hourDir.ino, e.ino]);
      const parent = await tx.c.get('SELECT mode, nlink FROM inodes WHERE ino = ?', [parentIno]);
      if (!parent || !isDirMode(Number(parent.mode)) || Number(parent.nlink) === 0) fail('ENOENT', 'restore', `the directory ${path} was deleted from is gone`);
      if (await this.#entry(tx.c, parentIno, name)) fail('EEXIST', 'restore', `"${name}" exists again where ${path} was deleted from`);
      const n = await this.#node(tx.c, e.ino, 'restore');
      const t = nowNs();
      await this.#deleteEntry(tx, hourDir.ino, entry);
      await SqlMeta.#insertEntry(tx, parentIno, name, n.ino, n.mode & S_IFMT);
      await SqlMeta.#saveNode(tx, { ...n, parent: parentIno, ctime: t });
      if (isDirMode(n.mode)) await this.#lockAndTouchDir(tx, hourDir.ino, 'restore', t, -1);
      await this.#lockAndTouchDir(tx, parentIno, 'restore', t, isDirMode(n.mode) ? 1 : 0);
      await tx.c.run('DELETE FROM trash WHERE ino = ?', [n.ino]);
      tx.delete('trash', { ino: n.ino });
    });
  }

  /** Remove a whole subtree below `dir` (used on trash expiry). */
  async #removeTree(tx: Tx, dir: number, t: bigint): Promise<void> {
    const children = await tx.c.all('SELECT name, ino FROM dentries WHERE parent = ?', [dir]);
    for (const child of children) {
      const n = await this.#node(tx.c, Number(child.ino), 'trash', true);
      await this.#deleteEntry(tx, dir, String(child.name));
      if (isDirMode(n.mode)) {
        await this.#removeTree(tx, n.ino, t);
        await this.#destroy(tx, n);
      } else {
        await this.#dropLink(tx, n, t);
      }
    }
  }

  async emptyTrash(olderThanMs: number): Promise<number> {
    this.#live('trash');
    // A mirror's trash empties when the primary's does.
    if (this.#settings.mirror) return 0;
    // In transactions of at most TRASH_BATCH files: one that expired a whole large trash at once
    // held the trash's locks (which every unlink into it waits for) for as long as it ran, and
    // logged every row it changed in one change-log entry.
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (;;) {
      const { count, more } = await this.#write('empty-trash', (tx) => this.#expireBatch(tx, cutoff));
      removed += count;
      if (!more) return removed;
    }
  }

  /** Up to TRASH_BATCH trashed files deleted at or before `cutoff`; hour directories left empty
   * go with the last batch. */
  async #expireBatch(tx: Tx, cutoff: number): Promise<{ count: number; more: boolean }> {
    const t = nowNs();
    const expired = await tx.c.all(`SELECT ino FROM trash WHERE deleted_ms <= ? ORDER BY ino LIMIT ${TRASH_BATCH}${tx.dialect.forUpdate}`, [cutoff]);
    for (const { ino: rawIno } of expired) await this.#expireOne(tx, Number(rawIno), t);
    const more = expired.length === TRASH_BATCH;
    if (!more) {
      const hours = await tx.c.all('SELECT name, ino FROM dentries WHERE parent = ?', [TRASH_INODE]);
      let trashLocked = false;
      for (const h of hours) {
        const ino = Number(h.ino);
        const name = String(h.name);
        if (await this.#hasEntries(tx.c, ino)) continue;
        // Empty as far as committed rows say, but a move may be putting a file in right now: lock
        // what a move locks, in its order (the trash, the hour's entry, the hour's inode), and look
        // again once any such move has committed.
        if (!trashLocked) await this.#node(tx.c, TRASH_INODE, 'trash', true);
        trashLocked = true;
        const [entry, hour] = await inOrder([this.#entry(tx.c, TRASH_INODE, name, true), this.#nodeIfAny(tx.c, ino, true)]);
        if (entry?.ino !== ino || hour === undefined || await this.#hasEntries(tx.c, ino)) continue;
        await this.#deleteEntry(tx, TRASH_INODE, name);
        await this.#lockAndTouchDir(tx, TRASH_INODE, 'trash', t, -1);
        await this.#destroy(tx, hour);
      }
    }
    return { count: expired.length, more };
  }

  /** One trashed file's trash entry goes, and the file with it unless it gained names since. */
  async #expireOne(tx: Tx, ino: number, t: bigint): Promise<void> {
    await tx.c.run('DELETE FROM trash WHERE ino = ?', [ino]);
    tx.delete('trash', { ino });
    const raw = await tx.c.get(`SELECT ${NODE_SELECT} FROM inodes i WHERE i.ino = ?${tx.dialect.forUpdate}`, [ino]);
    if (!raw) return;
    let n: NodeRow | null = toRow(raw);
    // Only the entry in the trash goes: names the inode gained elsewhere since stay.
    const entries = await tx.c.all('SELECT d.parent, d.name FROM dentries d JOIN dentries h ON h.ino = d.parent WHERE d.ino = ? AND h.parent = ?', [ino, TRASH_INODE]);
    if (entries.length === 0) return;
    for (const d of entries) await this.#deleteEntry(tx, Number(d.parent), String(d.name));
    if (isDirMode(n.mode)) {
      await this.#removeTree(tx, n.ino, t);
      await this.#lockAndTouchDir(tx, n.parent, 'trash', t, -1);
      await this.#destroy(tx, n);
    } else {
      for (let k = 0; k < entries.length && n; k++) n = await this.#dropLink(tx, n, t);
    }
  }

  /** Expire trash older than the volume's trash-days (called periodically by clients). */
  async expireTrash(): Promise<number> {
    const s = await this.settings();
    if (s.trashDays <= 0) return this.emptyTrash(0);
    return this.emptyTrash(s.trashDays * DAY_MS);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
  }
}

/** A compaction's replacement must be the pieces of one stored slice, in order, side by side with
 * no overlap, using all of it, and showing exactly as many data bytes as `replaced` does: then
 * the swap cannot change what a file reads or its stored bytes (EINVAL before anything changes). */
function checkReplacement(chunkIndex: number, replaced: readonly SliceRecord[], replacement: readonly SliceRecord[]): void {
  const bad = (why: string): never => fail('EINVAL', 'compact', `malformed compaction of chunk ${chunkIndex}: ${why}`);
  if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0) bad('invalid chunk index');
  if (replacement.length === 0 || replacement.length > replaced.length) bad('the replacement must have between 1 and as many pieces as the slices it replaces');
  const { id, size } = replacement[0]!;
  if (!Number.isSafeInteger(id) || id <= 0 || !Number.isSafeInteger(size) || size <= 0) bad('the replacement must be a stored slice');
  let off = 0;
  let end = 0;
  for (const p of replacement) {
    const ints = [p.pos, p.off, p.len].every((v) => Number.isSafeInteger(v) && v >= 0);
    if (!ints || p.id !== id || p.size !== size || p.len === 0 || p.off !== off || p.pos < end || p.pos + p.len > CHUNK_SIZE) bad(`piece ${JSON.stringify(p)} is out of place`);
    off += p.len;
    end = p.pos + p.len;
  }
  if (off !== size) bad(`the pieces show ${off} of the slice's ${size} bytes`);
  for (const s of replaced) {
    const ints = [s.id, s.size, s.pos, s.off, s.len].every((v) => Number.isSafeInteger(v) && v >= 0);
    if (!ints || s.id === id) bad(`replaced slice ${JSON.stringify(s)} is malformed`);
  }
  if (dataBytesIn(replaced, 0, CHUNK_SIZE) !== size) bad(`the replaced slices show ${dataBytesIn(replaced, 0, CHUNK_SIZE)} data bytes, the replacement ${size}`);
}

/** The columns of a slice row (s) and of its import row (e, absent for a slice of blocks). */
const SLICE_SELECT = 's.id, s.size, s.pos, s.off, s.len, e.object AS ext_object, e.off AS ext_off, e.etag AS ext_etag';

function toSlice(r: SqlRow): SliceRecord {
  const s: SliceRecord = { id: Number(r.id), size: Number(r.size), pos: Number(r.pos), off: Number(r.off), len: Number(r.len) };
  if (r.ext_object !== null && r.ext_object !== undefined) s.ext = { object: String(r.ext_object), off: Number(r.ext_off), etag: String(r.ext_etag) } satisfies ExternalRef;
  return s;
}
