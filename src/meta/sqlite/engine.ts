// The embedded metadata engine: Meta over one SQLite file (better-sqlite3). Every mutating call
// is one write transaction through TxRunner; reads are single statements on WAL snapshots.
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { errnoError } from '../../errors/errno.js';
import { applyOwnerLock, firstConflict, type HeldLock } from '../locks.js';
import {
  CHUNK_SIZE, ROOT_INODE, TRASH_INODE, TRASH_NAME,
  type AttrChanges, type ChangeEntry, type FallocateMode, type CloneRange, type CreateExtras, type DirEntry, type FormatRequest, type LockKind, type Meta, type NewNode,
  type NodeAttr, type RangeLock, type SessionRecord, type SettingsChange, type SliceRecord, type StatFs,
  type TrashEntry, type Usage, type VolumeSettings,
} from '../meta.js';
import { dataBytesIn, dataBytesInChunks, type Span } from '../coverage.js';
import { applySettingsChange, readSettings, writeSettings } from './settings.js';
import { openDatabase, TxRunner, type Db } from './database.js';
import { SCHEMA_VERSION } from './schema.js';
import type Database from 'better-sqlite3';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_ISVTX = 0o1000;
const ID_BATCH = 1024;
const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
const DAY_MS = 86_400_000;
/** statfs figures when the volume sets no capacity / inode limit. */
const UNLIMITED_BYTES = 2 ** 50;
const UNLIMITED_INODES = 2 ** 40;

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

const NODE_COLUMNS = 'i.ino, i.mode, i.uid, i.gid, i.rdev, i.nlink, i.length, i.atime, i.mtime, i.ctime, i.btime, i.parent, i.stored';

function toRow(raw: Record<string, bigint>): NodeRow {
  return {
    ino: Number(raw.ino), mode: Number(raw.mode), uid: Number(raw.uid), gid: Number(raw.gid), rdev: Number(raw.rdev),
    nlink: Number(raw.nlink), length: Number(raw.length), atime: raw.atime, mtime: raw.mtime, ctime: raw.ctime,
    btime: raw.btime, parent: Number(raw.parent), stored: Number(raw.stored),
  };
}

function toAttr(r: NodeRow): NodeAttr {
  return {
    ino: r.ino, mode: r.mode, nlink: r.nlink, uid: r.uid, gid: r.gid, rdev: r.rdev,
    size: (r.mode & S_IFMT) === S_IFDIR ? 4096 : r.length,
    blocks: (r.mode & S_IFMT) === S_IFDIR ? 8 : charged(r.mode, r.stored) / 512,
    atimeNs: r.atime, mtimeNs: r.mtime, ctimeNs: r.ctime, birthtimeNs: r.btime,
  };
}

const isDirMode = (mode: number) => (mode & S_IFMT) === S_IFDIR;
const isRegMode = (mode: number) => (mode & S_IFMT) === S_IFREG;
/** Space a file is charged: its stored bytes (holes cost nothing) rounded up to 4 KiB. */
const charged = (mode: number, stored: number) => (isRegMode(mode) ? Math.ceil(stored / 4096) * 4096 : 0);

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

const PATH_STEP = 4;
const pathQueries = new Map<string, string>();

/** The attributes of the start directory (if `withStart`) and of up to n names below it, one
 * UNION ALL branch per depth; missing names end the result early. */
function pathQuery(n: number, withStart: boolean): string {
  const key = `${n}:${withStart}`;
  let sql = pathQueries.get(key);
  if (sql) return sql;
  const branches: string[] = [];
  if (withStart) branches.push(`SELECT 0 AS depth, ${NODE_COLUMNS} FROM inodes i WHERE i.ino = @dir`);
  for (let depth = 1; depth <= n; depth++) {
    const joins: string[] = [];
    for (let k = 1; k <= depth; k++) {
      joins.push(k === 1
        ? `dentries d1`
        : `JOIN dentries d${k} ON d${k}.parent = d${k - 1}.ino AND d${k}.name = @n${k}`);
    }
    branches.push(`SELECT ${depth} AS depth, ${NODE_COLUMNS} FROM ${joins.join(' ')} JOIN inodes i ON i.ino = d${depth}.ino WHERE d1.parent = @dir AND d1.name = @n1`);
  }
  sql = `SELECT * FROM (${branches.join(' UNION ALL ')}) ORDER BY depth`;
  pathQueries.set(key, sql);
  return sql;
}

/** Entries of the read cache before it starts over. */
const READ_CACHE_ENTRIES = 4096;

class IdBatch {
  next = 0;
  end = 0;
  refill: Promise<void> | null = null;
  get left(): number {
    return this.end - this.next;
  }
}

export class SqliteMeta implements Meta {
  readonly url: string;
  readonly trashName = TRASH_NAME;
  readonly #db: Db;
  readonly #tx: TxRunner;
  readonly #stmts = new Map<string, Database.Statement>();
  readonly #inodes = new IdBatch();
  readonly #slices = new IdBatch();
  #settings: VolumeSettings;
  #dataVersion = -1;
  readonly #readCache = new Map<string, unknown>();
  #cacheVersion = -1;
  #closed = false;

  private constructor(db: Db, url: string) {
    this.#db = db;
    this.url = url;
    this.#settings = readSettings(db);
    this.#tx = new TxRunner(db, this.#settings.changelogRetention);
    this.#tx.afterWrite = () => this.#readCache.clear();
  }

  /** Open an existing volume's database. */
  static open(path: string, url: string, durable = false): SqliteMeta {
    const { db } = openDatabase(path, url, false, durable);
    return new SqliteMeta(db, url);
  }

  /** Create a volume, or re-apply format to an existing one (changing only what may change).
   * Returns the open engine and what changed ([] for a new volume). */
  static format(path: string, url: string, req: FormatRequest, force: boolean): { meta: SqliteMeta; created: boolean; changed: string[] } {
    const existed = path === ':memory:' || existsSync(path);
    const { db, foundVersion } = openDatabase(path, url, true);
    try {
      const tx = new TxRunner(db, 0);
      if (foundVersion === 0 && !SqliteMeta.#hasVolume(db)) {
        if (req.storage === '') fail('EINVAL', 'format', 'a new volume needs a storage URL');
        tx.writeNow('format', () => SqliteMeta.#initialise(db, req));
        return { meta: new SqliteMeta(db, url), created: true, changed: [] };
      }
      const current = readSettings(db);
      if (req.name !== current.name) {
        fail('EEXIST', 'format', `${url} already holds volume "${current.name}"; a volume cannot be renamed (use a different metadata URL for "${req.name}")`);
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
      const changed = tx.writeNow('configure', () => applySettingsChange(db, change));
      return { meta: new SqliteMeta(db, url), created: false, changed };
    } catch (err) {
      if (db.open) db.close();
      // A refused first format leaves nothing that a later open could take for a volume.
      if (!existed) for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
      throw err;
    }
  }

  static #hasVolume(db: Db): boolean {
    return (db.prepare('SELECT count(*) AS n FROM settings').get() as { n: number }).n > 0;
  }

  static #initialise(db: Db, req: FormatRequest): void {
    const settings: VolumeSettings = {
      name: req.name, uuid: randomUUID(), storage: req.storage, blockSize: req.blockSize ?? DEFAULT_BLOCK_SIZE, trashDays: req.trashDays ?? 1,
      capacity: req.capacity ?? 0, inodeLimit: req.inodeLimit ?? 0, changelogRetention: 100_000,
      createdMs: Date.now(), schemaVersion: SCHEMA_VERSION,
      ...(req.storageCredentials !== undefined ? { storageCredentials: req.storageCredentials } : {}),
    };
    writeSettings(db, settings);
    const t = nowNs();
    const insert = db.prepare('INSERT INTO inodes (ino, mode, uid, gid, rdev, nlink, length, atime, mtime, ctime, btime, parent) VALUES (?, ?, 0, 0, 0, ?, 0, ?, ?, ?, ?, ?)');
    // 0755 owned by root, as mkfs makes a new file system's root.
    insert.run(ROOT_INODE, S_IFDIR | 0o755, 3, t, t, t, t, ROOT_INODE);
    // The trash: root-only, listed at the root (the SDK hides it), entries restorable by admins.
    insert.run(TRASH_INODE, S_IFDIR | 0o555, 2, t, t, t, t, ROOT_INODE);
    db.prepare('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(ROOT_INODE, TRASH_NAME, TRASH_INODE, S_IFDIR);
    db.prepare("INSERT INTO counters (name, value) VALUES ('used_bytes', 0), ('inodes', 2)").run();
    db.prepare("INSERT INTO allocators (name, next) VALUES ('inode', 3), ('slice', 1)").run();
  }

  #s(sql: string, safe = false): Database.Statement {
    const key = safe ? `S${sql}` : sql;
    let st = this.#stmts.get(key);
    if (!st) {
      st = this.#db.prepare(sql);
      if (safe) st.safeIntegers(true);
      this.#stmts.set(key, st);
    }
    return st;
  }

  #live(syscall: string): void {
    if (this.#closed) fail('EBADF', syscall, 'the metadata engine is closed');
  }

  // ---- rows ----

  #node(ino: number, syscall: string): NodeRow {
    const raw = this.#s(`SELECT ${NODE_COLUMNS} FROM inodes i WHERE i.ino = ?`, true).get(ino) as Record<string, bigint> | undefined;
    if (!raw) fail('ENOENT', syscall);
    return toRow(raw);
  }

  #dirNode(ino: number, syscall: string): NodeRow {
    const n = this.#node(ino, syscall);
    if (!isDirMode(n.mode)) fail('ENOTDIR', syscall);
    return n;
  }

  #entry(dir: number, name: string): { cookie: number; ino: number; type: number } | undefined {
    return this.#s('SELECT cookie, ino, type FROM dentries WHERE parent = ? AND name = ?').get(dir, name) as
      { cookie: number; ino: number; type: number } | undefined;
  }

  #touch(ino: number, t: bigint): void {
    this.#s('UPDATE inodes SET mtime = ?, ctime = ? WHERE ino = ?').run(t, t, ino);
  }

  #addNlink(ino: number, delta: number, t: bigint): void {
    this.#s('UPDATE inodes SET nlink = nlink + ?, ctime = ? WHERE ino = ?').run(delta, t, ino);
  }

  #count(name: string, delta: number): void {
    if (delta !== 0) this.#s('UPDATE counters SET value = value + ? WHERE name = ?').run(delta, name);
  }

  #counter(name: string): number {
    return Number((this.#s('SELECT value FROM counters WHERE name = ?').get(name) as { value: number } | undefined)?.value ?? 0);
  }

  #sticky(parent: NodeRow, child: { uid: number }, uid: number, syscall: string): void {
    if ((parent.mode & S_ISVTX) && uid !== 0 && uid !== child.uid && uid !== parent.uid) fail('EPERM', syscall);
  }

  // ---- id batches ----

  async #reserve(batch: IdBatch, name: 'inode' | 'slice', want: number): Promise<void> {
    // Concurrent callers share one refill instead of each burning a batch.
    while (batch.left < want) {
      batch.refill ??= this.#tx
        .write('reserve', () => {
          // Its own transaction, committed before any id is used: a rolled-back reservation could
          // otherwise hand the same ids to another process.
          const n = Math.max(ID_BATCH, want);
          const end = Number((this.#s('UPDATE allocators SET next = next + ? WHERE name = ? RETURNING next').get(n, name) as { next: number }).next);
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
  #take(batch: IdBatch, name: 'inode' | 'slice'): number {
    if (batch.left > 0) return batch.next++;
    return Number((this.#s('UPDATE allocators SET next = next + 1 WHERE name = ? RETURNING next').get(name) as { next: number }).next) - 1;
  }

  // ---- settings ----

  /** The settings as committed now: another process may have changed them (data_version moves
   * whenever another connection commits, so the common case costs one pragma). */
  #current(): VolumeSettings {
    const v = Number(this.#s('PRAGMA data_version').pluck().get());
    if (v !== this.#dataVersion) {
      this.#dataVersion = v;
      this.#settings = readSettings(this.#db);
    }
    return this.#settings;
  }

  async settings(): Promise<VolumeSettings> {
    this.#live('settings');
    this.#settings = readSettings(this.#db);
    return { ...this.#settings };
  }

  async configure(change: SettingsChange): Promise<string[]> {
    this.#live('configure');
    const changed = await this.#tx.write('configure', () => applySettingsChange(this.#db, change));
    this.#settings = readSettings(this.#db);
    this.#tx.retention = this.#settings.changelogRetention;
    return changed;
  }

  // ---- namespace ----

  async getattr(ino: number): Promise<NodeAttr> {
    this.#live('getattr');
    return { ...this.#cached(`a${ino}`, () => toAttr(this.#node(ino, 'getattr'))) };
  }

  /** Reads repeated while nothing was committed are answered from memory: SQLite's data_version
   * moves whenever another connection commits, and this engine's own writes drop the cache, so a
   * cached answer is always what the database holds now. */
  #cached<T>(key: string, load: () => T): T {
    const version = Number(this.#s('PRAGMA data_version').pluck().get());
    if (version !== this.#cacheVersion) {
      this.#readCache.clear();
      this.#cacheVersion = version;
    }
    let hit = this.#readCache.get(key) as T | undefined;
    if (hit === undefined) {
      hit = load();
      if (this.#readCache.size >= READ_CACHE_ENTRIES) this.#readCache.clear();
      this.#readCache.set(key, hit);
    }
    return hit;
  }

  async lookup(dir: number, name: string): Promise<NodeAttr> {
    this.#live('lookup');
    const raw = this.#s(`SELECT ${NODE_COLUMNS} FROM dentries d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?`, true)
      .get(dir, name) as Record<string, bigint> | undefined;
    if (raw) return toAttr(toRow(raw));
    this.#dirNode(dir, 'lookup');
    fail('ENOENT', 'lookup');
  }

  async lookupPath(dir: number, names: string[]): Promise<NodeAttr[]> {
    this.#live('lookup');
    const out: NodeAttr[] = [];
    let from = dir;
    // Up to PATH_STEP names per statement: a chain of joins SQLite runs as index lookups.
    for (let at = 0; ; at += PATH_STEP) {
      const part = names.slice(at, at + PATH_STEP);
      const params: Record<string, string | number> = { dir: from };
      part.forEach((name, k) => { params[`n${k + 1}`] = name; });
      const rows = part.length === 0 && at > 0 ? [] : this.#s(pathQuery(part.length, at === 0), true).all(params) as Record<string, bigint>[];
      for (const r of rows) out.push(toAttr(toRow(r)));
      if (part.length < PATH_STEP || rows.length < part.length + (at === 0 ? 1 : 0)) return out;
      from = out[out.length - 1].ino;
    }
  }

  async setattr(ino: number, changes: AttrChanges): Promise<NodeAttr> {
    this.#live('setattr');
    return this.#tx.write('setattr', () => {
      const next = this.#changed(this.#node(ino, 'setattr'), changes, nowNs());
      this.#s('UPDATE inodes SET mode = ?, uid = ?, gid = ?, atime = ?, mtime = ?, ctime = ? WHERE ino = ?')
        .run(next.mode, next.uid, next.gid, next.atime, next.mtime, next.ctime, ino);
      return toAttr(next);
    });
  }

  #capacityCheck(extraBytes: number, syscall: string): void {
    const cap = this.#current().capacity;
    if (cap > 0 && extraBytes > 0 && this.#counter('used_bytes') + extraBytes > cap) {
      fail('ENOSPC', syscall, `the volume's capacity of ${cap} bytes is reached`);
    }
  }

  /** Drop the slices of chunks wholly past `size`, and hide the rest of the chunk holding `size`
   * behind a hole, so bytes past the new end never come back when the file grows. Returns the
   * change in the file's stored bytes. */
  #cutData(ino: number, size: number): number {
    const firstGone = Math.ceil(size / CHUNK_SIZE);
    const gone = this.#s('SELECT chunk, id, pos, len FROM slices WHERE ino = ? AND chunk >= ? ORDER BY chunk, seq').all(ino, firstGone) as (Span & { chunk: number })[];
    let delta = -dataBytesInChunks(gone, CHUNK_SIZE);
    for (const s of gone) this.#unref(s.id);
    this.#s('DELETE FROM slices WHERE ino = ? AND chunk >= ?').run(ino, firstGone);
    const pos = size % CHUNK_SIZE;
    if (pos !== 0) delta += this.#appendHole(ino, Math.floor(size / CHUNK_SIZE), pos, CHUNK_SIZE - pos);
    return delta;
  }

  /** A hole slice over [pos, pos+len) of a chunk, if any slice there reaches into that range.
   * Returns the change in the file's stored bytes. */
  #appendHole(ino: number, chunk: number, pos: number, len: number): number {
    const reaches = this.#s('SELECT EXISTS (SELECT 1 FROM slices WHERE ino = ? AND chunk = ? AND pos + len > ? AND pos < ?) AS yes')
      .get(ino, chunk, pos, pos + len) as { yes: number };
    return reaches.yes ? this.#insertSlice(ino, chunk, { id: 0, size: len, pos, off: 0, len }) : 0;
  }

  /** Append a slice to a chunk (it covers its range from now on). Returns the change in the
   * file's stored bytes: what it covers becomes data (or hole), whatever showed there before. */
  #insertSlice(ino: number, chunk: number, s: SliceRecord): number {
    const under = this.#s('SELECT id, pos, len FROM slices WHERE ino = ? AND chunk = ? AND pos < ? AND pos + len > ? ORDER BY seq')
      .all(ino, chunk, s.pos + s.len, s.pos) as Span[];
    const { seq } = this.#s('SELECT coalesce(max(seq), 0) + 1 AS seq FROM slices WHERE ino = ? AND chunk = ?').get(ino, chunk) as { seq: number };
    this.#s('INSERT INTO slices (ino, chunk, seq, id, size, pos, off, len) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(ino, chunk, seq, s.id, s.size, s.pos, s.off, s.len);
    return (s.id !== 0 ? s.len : 0) - dataBytesIn(under, s.pos, s.pos + s.len);
  }

  /** The file's stored bytes become `n.stored + delta`: the used-space counter follows, after the
   * capacity check (only growth is checked). Returns the new figure for the inode row. */
  #restore(n: NodeRow, delta: number, syscall: string): number {
    const stored = n.stored + delta;
    const change = charged(n.mode, stored) - charged(n.mode, n.stored);
    this.#capacityCheck(change, syscall);
    this.#count('used_bytes', change);
    return stored;
  }

  #unref(id: number): void {
    if (id === 0) return;
    const r = this.#s('UPDATE slice_refs SET refs = refs - 1 WHERE id = ? RETURNING refs, size').get(id) as { refs: number; size: number } | undefined;
    if (r && r.refs <= 0) {
      this.#s('DELETE FROM slice_refs WHERE id = ?').run(id);
      this.#s('INSERT OR IGNORE INTO pending_slices (id, size, since_ms) VALUES (?, ?, ?)').run(id, r.size, Date.now());
    }
  }

  async truncate(ino: number, size: number, also: AttrChanges = {}): Promise<NodeAttr> {
    this.#live('truncate');
    if (!Number.isSafeInteger(size) || size < 0) fail('EINVAL', 'truncate', `invalid length ${size}`);
    return this.#tx.write('truncate', () => {
      const n = this.#node(ino, 'truncate');
      if (isDirMode(n.mode)) fail('EISDIR', 'truncate');
      if (!isRegMode(n.mode)) fail('EINVAL', 'truncate');
      const stored = size < n.length ? this.#restore(n, this.#cutData(ino, size), 'truncate') : n.stored;
      const t = nowNs();
      const next: NodeRow = { ...this.#changed(n, also, t), length: size, stored, mtime: also.mtimeNs ?? t };
      this.#s('UPDATE inodes SET length = ?, stored = ?, mode = ?, uid = ?, gid = ?, atime = ?, mtime = ?, ctime = ? WHERE ino = ?')
        .run(size, stored, next.mode, next.uid, next.gid, next.atime, next.mtime, next.ctime, ino);
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

  punchHole(ino: number, offset: number, length: number): Promise<NodeAttr> {
    return this.fallocate(ino, offset, length, { zero: true, keepSize: true });
  }

  async fallocate(ino: number, offset: number, length: number, how: FallocateMode): Promise<NodeAttr> {
    this.#live('fallocate');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) fail('EINVAL', 'fallocate');
    if (offset + length > Number.MAX_SAFE_INTEGER) fail('EFBIG', 'fallocate');
    return this.#tx.write(how.zero ? 'zero-range' : 'allocate', () => {
      const n = this.#node(ino, 'fallocate');
      if (!isRegMode(n.mode)) fail(isDirMode(n.mode) ? 'EISDIR' : 'ENODEV', 'fallocate');
      let delta = 0;
      if (how.zero) {
        // Only bytes inside the file can hold data; past its end everything reads as zeros already.
        const end = Math.min(offset + length, n.length);
        for (let at = offset; at < end;) {
          const pos = at % CHUNK_SIZE;
          const len = Math.min(CHUNK_SIZE - pos, end - at);
          delta += this.#appendHole(ino, Math.floor(at / CHUNK_SIZE), pos, len);
          at += len;
        }
      }
      const stored = this.#restore(n, delta, 'fallocate');
      const grows = !how.keepSize && offset + length > n.length;
      if (!how.zero && !grows) return toAttr(n);
      const t = nowNs();
      const next: NodeRow = { ...n, length: grows ? offset + length : n.length, stored, mtime: t, ctime: t };
      this.#s('UPDATE inodes SET length = ?, stored = ?, mtime = ?, ctime = ? WHERE ino = ?').run(next.length, stored, t, t, ino);
      return toAttr(next);
    });
  }

  async #create(op: string, dir: number, name: string, node: NewNode, target?: string, openedBy?: number, content?: { id: number; size: number }, extras?: CreateExtras): Promise<NodeAttr> {
    this.#live(op);
    await this.#reserve(this.#inodes, 'inode', 1);
    return this.#tx.write(op, () => {
      const parent = this.#dirNode(dir, op);
      if (parent.nlink === 0) fail('ENOENT', op);
      if (this.#entry(dir, name)) fail('EEXIST', op);
      const limit = this.#current().inodeLimit;
      if (limit > 0 && this.#counter('inodes') >= limit) fail('ENOSPC', op, `the volume's limit of ${limit} inodes is reached`);
      const ino = this.#take(this.#inodes, 'inode');
      const t = extras?.timeNs ?? nowNs();
      const dirNode = isDirMode(node.mode);
      const length = target !== undefined ? Buffer.byteLength(target) : content?.size ?? 0;
      let stored = 0;
      if (content && content.size > 0) {
        stored = content.size;
        this.#capacityCheck(charged(node.mode, stored), op);
        this.#insertSlice(ino, 0, { id: content.id, size: content.size, pos: 0, off: 0, len: content.size });
        this.#s('INSERT INTO slice_refs (id, size, refs) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET refs = refs + 1').run(content.id, content.size);
        this.#count('used_bytes', charged(node.mode, stored));
      }
      const row: NodeRow = {
        ino, mode: node.mode, uid: node.uid, gid: node.gid, rdev: node.rdev ?? 0, nlink: dirNode ? 2 : 1, length,
        atime: t, mtime: t, ctime: t, btime: t, parent: dir, stored,
      };
      this.#s('INSERT INTO inodes (ino, mode, uid, gid, rdev, nlink, length, atime, mtime, ctime, btime, parent, stored) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(ino, row.mode, row.uid, row.gid, row.rdev, row.nlink, row.length, t, t, t, t, dir, stored);
      if (target !== undefined) this.#s('INSERT INTO symlinks (ino, target) VALUES (?, ?)').run(ino, target);
      if (openedBy !== undefined) {
        this.#sessionAlive(openedBy, op);
        this.#s('INSERT INTO open_files (session, ino, count) VALUES (?, ?, 1)').run(openedBy, ino);
      }
      for (const [xname, value] of Object.entries(extras?.xattrs ?? {})) {
        this.#s('INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?)').run(ino, xname, Buffer.from(value));
      }
      this.#s('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(dir, name, ino, node.mode & S_IFMT);
      if (dirNode) this.#addNlink(dir, 1, t);
      this.#touch(dir, t);
      this.#count('inodes', 1);
      return toAttr(row);
    });
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

  async mkdir(dir: number, name: string, node: NewNode): Promise<NodeAttr> {
    return this.#create('mkdir', dir, name, { ...node, mode: S_IFDIR | (node.mode & 0o7777) });
  }

  async symlink(dir: number, name: string, target: string, node: NewNode): Promise<NodeAttr> {
    return this.#create('symlink', dir, name, { ...node, mode: S_IFLNK | (node.mode & 0o7777) }, target);
  }

  async readlink(ino: number): Promise<string> {
    this.#live('readlink');
    const r = this.#s('SELECT target FROM symlinks WHERE ino = ?').get(ino) as { target: string } | undefined;
    if (r) return r.target;
    this.#node(ino, 'readlink');
    fail('EINVAL', 'readlink');
  }

  async link(ino: number, dir: number, name: string): Promise<NodeAttr> {
    this.#live('link');
    return this.#tx.write('link', () => {
      const n = this.#node(ino, 'link');
      if (isDirMode(n.mode)) fail('EPERM', 'link');
      if (n.nlink === 0) fail('ENOENT', 'link');
      this.#dirNode(dir, 'link');
      if (this.#entry(dir, name)) fail('EEXIST', 'link');
      const t = nowNs();
      this.#s('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(dir, name, ino, n.mode & S_IFMT);
      this.#addNlink(ino, 1, t);
      this.#touch(dir, t);
      return toAttr({ ...n, nlink: n.nlink + 1, ctime: t });
    });
  }

  #isOpen(ino: number): boolean {
    return (this.#s('SELECT EXISTS (SELECT 1 FROM open_files WHERE ino = ?) AS yes').get(ino) as { yes: number }).yes === 1;
  }

  /** Free an inode with no names left: its slices lose a reference, its rows go. */
  #destroy(n: NodeRow): void {
    const slices = this.#s('SELECT id FROM slices WHERE ino = ?').all(n.ino) as { id: number }[];
    for (const s of slices) this.#unref(s.id);
    this.#s('DELETE FROM slices WHERE ino = ?').run(n.ino);
    this.#s('DELETE FROM xattrs WHERE ino = ?').run(n.ino);
    this.#s('DELETE FROM symlinks WHERE ino = ?').run(n.ino);
    this.#s('DELETE FROM orphans WHERE ino = ?').run(n.ino);
    this.#s('DELETE FROM trash WHERE ino = ?').run(n.ino);
    this.#s('DELETE FROM inodes WHERE ino = ?').run(n.ino);
    this.#count('inodes', -1);
    this.#count('used_bytes', -charged(n.mode, n.stored));
  }

  /** A non-directory lost a name: free it, or keep it as an orphan while a session has it open. */
  #dropLink(n: NodeRow, t: bigint): void {
    if (n.nlink > 1) {
      this.#addNlink(n.ino, -1, t);
      return;
    }
    if (this.#isOpen(n.ino)) {
      this.#s('UPDATE inodes SET nlink = 0, ctime = ? WHERE ino = ?').run(t, n.ino);
      this.#s('INSERT OR IGNORE INTO orphans (ino, since_ms) VALUES (?, ?)').run(n.ino, Date.now());
      return;
    }
    this.#destroy(n);
  }

  #trashEnabled(): boolean {
    return this.#current().trashDays > 0;
  }

  /** Move an entry's inode into the trash (hour directory created on demand). */
  #toTrash(dir: number, name: string, n: NodeRow, t: bigint): void {
    const nowMs = Date.now();
    const hour = trashHour(nowMs);
    let hourDir = this.#entry(TRASH_INODE, hour)?.ino;
    if (hourDir === undefined) {
      hourDir = this.#take(this.#inodes, 'inode');
      this.#s('INSERT INTO inodes (ino, mode, uid, gid, rdev, nlink, length, atime, mtime, ctime, btime, parent) VALUES (?, ?, 0, 0, 0, 2, 0, ?, ?, ?, ?, ?)')
        .run(hourDir, S_IFDIR | 0o555, t, t, t, t, TRASH_INODE);
      this.#s('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(TRASH_INODE, hour, hourDir, S_IFDIR);
      this.#addNlink(TRASH_INODE, 1, t);
      this.#count('inodes', 1);
    }
    this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(dir, name);
    this.#s('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(hourDir, trashEntryName(dir, n.ino, name), n.ino, n.mode & S_IFMT);
    this.#s('UPDATE inodes SET parent = ?, ctime = ? WHERE ino = ?').run(hourDir, t, n.ino);
    if (isDirMode(n.mode)) {
      this.#addNlink(dir, -1, t);
      this.#addNlink(hourDir, 1, t);
    }
    this.#s('INSERT OR REPLACE INTO trash (ino, parent, name, deleted_ms, hour) VALUES (?, ?, ?, ?, ?)').run(n.ino, dir, name, nowMs, hour);
  }

  /** Is `ino` inside the trash (the trash itself included)? */
  #inTrash(ino: number): boolean {
    for (let cur = ino, hops = 0; hops < 4096; hops++) {
      if (cur === TRASH_INODE) return true;
      if (cur === ROOT_INODE) return false;
      const r = this.#s('SELECT parent FROM inodes WHERE ino = ?').get(cur) as { parent: number } | undefined;
      if (!r) return false;
      cur = r.parent;
    }
    return false;
  }

  async unlink(dir: number, name: string, uid: number, skipTrash = false): Promise<void> {
    this.#live('unlink');
    await this.#reserve(this.#inodes, 'inode', 1);
    await this.#tx.write('unlink', () => {
      const parent = this.#dirNode(dir, 'unlink');
      const e = this.#entry(dir, name);
      if (!e) fail('ENOENT', 'unlink');
      const child = this.#node(e.ino, 'unlink');
      if (isDirMode(child.mode)) fail('EISDIR', 'unlink');
      this.#sticky(parent, child, uid, 'unlink');
      const t = nowNs();
      if (!skipTrash && this.#trashEnabled() && child.nlink === 1 && isRegMode(child.mode) && !this.#inTrash(dir)) {
        this.#toTrash(dir, name, child, t);
      } else {
        this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(dir, name);
        this.#dropLink(child, t);
      }
      this.#touch(dir, t);
    });
  }

  async rmdir(dir: number, name: string, uid: number): Promise<void> {
    this.#live('rmdir');
    await this.#tx.write('rmdir', () => {
      const parent = this.#dirNode(dir, 'rmdir');
      const e = this.#entry(dir, name);
      if (!e) fail('ENOENT', 'rmdir');
      const child = this.#node(e.ino, 'rmdir');
      if (!isDirMode(child.mode)) fail('ENOTDIR', 'rmdir');
      if (child.ino === TRASH_INODE) fail('EPERM', 'rmdir', 'the trash directory cannot be removed');
      if (this.#hasEntries(child.ino)) fail('ENOTEMPTY', 'rmdir');
      this.#sticky(parent, child, uid, 'rmdir');
      const t = nowNs();
      this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(dir, name);
      this.#addNlink(dir, -1, t);
      this.#touch(dir, t);
      this.#destroy(child);
    });
  }

  #hasEntries(ino: number): boolean {
    return (this.#s('SELECT EXISTS (SELECT 1 FROM dentries WHERE parent = ?) AS yes').get(ino) as { yes: number }).yes === 1;
  }

  /** Is `ino` the directory `ancestor` or below it? Walks parent pointers (a directory has one). */
  #isWithin(ino: number, ancestor: number): boolean {
    for (let cur = ino, hops = 0; hops < 100_000; hops++) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INODE) return false;
      const r = this.#s('SELECT parent FROM inodes WHERE ino = ?').get(cur) as { parent: number } | undefined;
      if (!r) return false;
      cur = r.parent;
    }
    fail('EIO', 'rename', 'directory parents form a loop: the metadata is damaged');
  }

  async rename(dir: number, name: string, newDir: number, newName: string, flags: number, uid: number): Promise<void> {
    this.#live('rename');
    await this.#reserve(this.#inodes, 'inode', 1);
    await this.#tx.write('rename', () => {
      const from = this.#dirNode(dir, 'rename');
      const to = newDir === dir ? from : this.#dirNode(newDir, 'rename');
      const e = this.#entry(dir, name);
      if (!e) fail('ENOENT', 'rename');
      const src = this.#node(e.ino, 'rename');
      const target = this.#entry(newDir, newName);
      if (target && target.ino === src.ino) {
        if (flags & 1) fail('EEXIST', 'rename');
        return;
      }
      this.#sticky(from, src, uid, 'rename');
      if (src.ino === TRASH_INODE) fail('EPERM', 'rename', 'the trash directory cannot be moved');
      if (isDirMode(src.mode) && this.#isWithin(newDir, src.ino)) fail('EINVAL', 'rename');
      if ((flags & 1) && target) fail('EEXIST', 'rename');
      const t = nowNs();
      if (flags & 2) {
        if (!target) fail('ENOENT', 'rename');
        if (target.ino === TRASH_INODE) fail('EPERM', 'rename', 'the trash directory cannot be moved');
        const dst = this.#node(target.ino, 'rename');
        this.#sticky(to, dst, uid, 'rename');
        if (isDirMode(dst.mode) && this.#isWithin(dir, dst.ino)) fail('EINVAL', 'rename');
        this.#s('UPDATE dentries SET ino = ?, type = ? WHERE parent = ? AND name = ?').run(dst.ino, dst.mode & S_IFMT, dir, name);
        this.#s('UPDATE dentries SET ino = ?, type = ? WHERE parent = ? AND name = ?').run(src.ino, src.mode & S_IFMT, newDir, newName);
        if (dir !== newDir) {
          const delta = (isDirMode(src.mode) ? 1 : 0) - (isDirMode(dst.mode) ? 1 : 0);
          if (delta !== 0) {
            this.#addNlink(newDir, delta, t);
            this.#addNlink(dir, -delta, t);
          }
          if (isDirMode(src.mode)) this.#s('UPDATE inodes SET parent = ? WHERE ino = ?').run(newDir, src.ino);
          if (isDirMode(dst.mode)) this.#s('UPDATE inodes SET parent = ? WHERE ino = ?').run(dir, dst.ino);
        }
        this.#s('UPDATE inodes SET ctime = ? WHERE ino IN (?, ?)').run(t, src.ino, dst.ino);
        this.#touch(dir, t);
        if (newDir !== dir) this.#touch(newDir, t);
        return;
      }
      if (target) {
        const dst = this.#node(target.ino, 'rename');
        this.#sticky(to, dst, uid, 'rename');
        if (isDirMode(src.mode) && !isDirMode(dst.mode)) fail('ENOTDIR', 'rename');
        if (!isDirMode(src.mode) && isDirMode(dst.mode)) fail('EISDIR', 'rename');
        if (isDirMode(dst.mode)) {
          if (dst.ino === TRASH_INODE) fail('EPERM', 'rename');
          if (this.#hasEntries(dst.ino)) fail('ENOTEMPTY', 'rename');
          this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(newDir, newName);
          this.#addNlink(newDir, -1, t);
          this.#destroy(dst);
        } else if (this.#trashEnabled() && dst.nlink === 1 && isRegMode(dst.mode) && !this.#inTrash(newDir)) {
          this.#toTrash(newDir, newName, dst, t);
        } else {
          this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(newDir, newName);
          this.#dropLink(dst, t);
        }
      }
      if (dir === newDir) {
        // Same directory: the entry keeps its cookie, so a listing in progress neither loses nor
        // repeats it.
        this.#s('UPDATE dentries SET name = ? WHERE parent = ? AND name = ?').run(newName, dir, name);
      } else {
        this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(dir, name);
        this.#s('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(newDir, newName, src.ino, src.mode & S_IFMT);
        if (isDirMode(src.mode)) {
          this.#addNlink(dir, -1, t);
          this.#addNlink(newDir, 1, t);
          this.#s('UPDATE inodes SET parent = ? WHERE ino = ?').run(newDir, src.ino);
        }
      }
      // Leaving the trash by rename (a manual restore) ends its trash record.
      this.#s('DELETE FROM trash WHERE ino = ?').run(src.ino);
      this.#s('UPDATE inodes SET ctime = ? WHERE ino = ?').run(t, src.ino);
      this.#touch(dir, t);
      if (newDir !== dir) this.#touch(newDir, t);
    });
  }

  async readdir(ino: number, cookie: number, limit: number): Promise<DirEntry[]> {
    this.#live('readdir');
    const dir = this.#dirNode(ino, 'readdir');
    const out: DirEntry[] = [];
    // Cookies 1 and 2 are '.' and '..'; stored entries report their row cookie + 2.
    if (cookie < 1 && out.length < limit) out.push({ name: '.', ino, mode: dir.mode, cookie: 1 });
    if (cookie < 2 && out.length < limit) {
      const up = ino === ROOT_INODE ? dir : this.#node(dir.parent, 'readdir');
      out.push({ name: '..', ino: up.ino, mode: up.mode, cookie: 2 });
    }
    const want = limit - out.length;
    if (want > 0) {
      const rows = this.#s('SELECT cookie, name, ino, type FROM dentries WHERE parent = ? AND cookie > ? ORDER BY cookie LIMIT ?')
        .all(ino, Math.max(0, cookie - 2), want) as { cookie: number; name: string; ino: number; type: number }[];
      for (const r of rows) out.push({ name: r.name, ino: r.ino, mode: r.type, cookie: r.cookie + 2 });
    }
    return out;
  }

  // ---- xattrs ----

  async getxattr(ino: number, name: string): Promise<Uint8Array> {
    this.#live('getxattr');
    const r = this.#s('SELECT value FROM xattrs WHERE ino = ? AND name = ?').get(ino, name) as { value: Buffer } | undefined;
    if (r) return r.value;
    this.#node(ino, 'getxattr');
    fail('ENODATA', 'getxattr');
  }

  async setxattr(ino: number, name: string, value: Uint8Array, flags: number): Promise<void> {
    this.#live('setxattr');
    await this.#tx.write('setxattr', () => {
      this.#node(ino, 'setxattr');
      const exists = this.#s('SELECT 1 FROM xattrs WHERE ino = ? AND name = ?').get(ino, name) !== undefined;
      if ((flags & 1) && exists) fail('EEXIST', 'setxattr');
      if ((flags & 2) && !exists) fail('ENODATA', 'setxattr');
      this.#s('INSERT OR REPLACE INTO xattrs (ino, name, value) VALUES (?, ?, ?)').run(ino, name, Buffer.from(value));
      this.#s('UPDATE inodes SET ctime = ? WHERE ino = ?').run(nowNs(), ino);
    });
  }

  async listxattr(ino: number): Promise<string[]> {
    this.#live('listxattr');
    this.#node(ino, 'listxattr');
    return (this.#s('SELECT name FROM xattrs WHERE ino = ? ORDER BY name').all(ino) as { name: string }[]).map((r) => r.name);
  }

  async removexattr(ino: number, name: string): Promise<void> {
    this.#live('removexattr');
    await this.#tx.write('removexattr', () => {
      this.#node(ino, 'removexattr');
      const r = this.#s('DELETE FROM xattrs WHERE ino = ? AND name = ?').run(ino, name);
      if (r.changes === 0) fail('ENODATA', 'removexattr');
      this.#s('UPDATE inodes SET ctime = ? WHERE ino = ?').run(nowNs(), ino);
    });
  }

  async statfs(): Promise<StatFs> {
    this.#live('statfs');
    const bsize = 4096;
    const used = this.#counter('used_bytes');
    const inodes = this.#counter('inodes');
    const settings = this.#current();
    const total = settings.capacity > 0 ? settings.capacity : UNLIMITED_BYTES;
    const files = settings.inodeLimit > 0 ? settings.inodeLimit : UNLIMITED_INODES;
    const blocks = Math.floor(total / bsize);
    const bfree = Math.max(0, blocks - Math.ceil(used / bsize));
    return { bsize, blocks, bfree, bavail: bfree, files, ffree: Math.max(0, files - inodes) };
  }

  async usage(): Promise<Usage> {
    this.#live('usage');
    const pending = this.#s('SELECT count(*) AS n FROM pending_slices').get() as { n: number };
    return { usedBytes: this.#counter('used_bytes'), inodes: this.#counter('inodes'), pendingSlices: pending.n };
  }

  // ---- data layout ----

  async readChunk(inode: number, chunkIndex: number): Promise<SliceRecord[]> {
    this.#live('read');
    const slices = this.#cached(`c${inode}:${chunkIndex}`, () =>
      this.#s('SELECT id, size, pos, off, len FROM slices WHERE ino = ? AND chunk = ? ORDER BY seq').all(inode, chunkIndex) as SliceRecord[]);
    return slices.map((r) => ({ ...r }));
  }

  async chunks(inode: number): Promise<{ index: number; slices: SliceRecord[] }[]> {
    this.#live('info');
    this.#node(inode, 'info');
    const rows = this.#s('SELECT chunk, id, size, pos, off, len FROM slices WHERE ino = ? ORDER BY chunk, seq').all(inode) as (SliceRecord & { chunk: number })[];
    const out: { index: number; slices: SliceRecord[] }[] = [];
    for (const { chunk, ...s } of rows) {
      if (out.length === 0 || out[out.length - 1].index !== chunk) out.push({ index: chunk, slices: [] });
      out[out.length - 1].slices.push(s);
    }
    return out;
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

  async commitSlice(inode: number, chunkIndex: number, slice: SliceRecord, fileEnd: number): Promise<void> {
    this.#live('write');
    if (slice.id <= 0 || slice.len <= 0 || slice.pos < 0 || slice.pos + slice.len > CHUNK_SIZE || slice.off + slice.len > slice.size) {
      fail('EINVAL', 'write', `malformed slice ${JSON.stringify(slice)}`);
    }
    await this.#tx.write('write', () => {
      this.#notAbandoned(slice.id);
      const n = this.#node(inode, 'write');
      if (!isRegMode(n.mode)) fail('EINVAL', 'write');
      const length = Math.max(n.length, fileEnd);
      const stored = this.#restore(n, this.#insertSlice(inode, chunkIndex, slice), 'write');
      this.#s('INSERT INTO slice_refs (id, size, refs) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET refs = refs + 1').run(slice.id, slice.size);
      const t = nowNs();
      this.#s('UPDATE inodes SET length = ?, stored = ?, mtime = ?, ctime = ? WHERE ino = ?').run(length, stored, t, t, inode);
    });
  }

  /** A slice queued for deletion may have lost its objects already: committing it would lose data. */
  #notAbandoned(id: number): void {
    if (this.#s('SELECT 1 FROM pending_slices WHERE id = ?').get(id) !== undefined) {
      fail('EIO', 'write', `slice ${id} was given up and queued for deletion; its data cannot be committed`);
    }
  }

  async appendSlice(inode: number, slice: { id: number; size: number }): Promise<number> {
    this.#live('write');
    if (!Number.isSafeInteger(slice.id) || slice.id <= 0 || !Number.isSafeInteger(slice.size) || slice.size <= 0 || slice.size > CHUNK_SIZE) {
      fail('EINVAL', 'write', `malformed slice ${JSON.stringify(slice)}`);
    }
    return this.#tx.write('write', () => {
      this.#notAbandoned(slice.id);
      const n = this.#node(inode, 'write');
      if (!isRegMode(n.mode)) fail('EINVAL', 'write');
      const at = n.length;
      const length = at + slice.size;
      // The end may fall anywhere: the slice's bytes go in up to two chunks, as two references.
      let off = 0;
      let delta = 0;
      while (off < slice.size) {
        const fileOff = at + off;
        const pos = fileOff % CHUNK_SIZE;
        const len = Math.min(slice.size - off, CHUNK_SIZE - pos);
        delta += this.#insertSlice(inode, Math.floor(fileOff / CHUNK_SIZE), { id: slice.id, size: slice.size, pos, off, len });
        this.#s('INSERT INTO slice_refs (id, size, refs) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET refs = refs + 1').run(slice.id, slice.size);
        off += len;
      }
      const stored = this.#restore(n, delta, 'write');
      const t = nowNs();
      this.#s('UPDATE inodes SET length = ?, stored = ?, mtime = ?, ctime = ? WHERE ino = ?').run(length, stored, t, t, inode);
      return at;
    });
  }

  async cloneRanges(dst: number, ranges: readonly CloneRange[]): Promise<NodeAttr> {
    this.#live('clone');
    for (const r of ranges) {
      const ok = [r.src, r.srcOffset, r.dstOffset, r.length].every((v) => Number.isSafeInteger(v) && v >= 0);
      if (!ok || r.dstOffset + r.length > Number.MAX_SAFE_INTEGER) fail('EINVAL', 'clone', `malformed range ${JSON.stringify(r)}`);
    }
    return this.#tx.write('clone', () => {
      const d = this.#node(dst, 'clone');
      if (!isRegMode(d.mode)) fail(isDirMode(d.mode) ? 'EISDIR' : 'EINVAL', 'clone');
      // Every source is read before anything changes, so a range may name dst itself.
      const plans = ranges.filter((r) => r.length > 0).map((r) => ({ r, pieces: this.#sourcePieces(r) }));
      if (plans.length === 0) return toAttr(d);
      let length = d.length;
      for (const { r } of plans) length = Math.max(length, r.dstOffset + r.length);
      let delta = 0;
      for (const { r, pieces } of plans) {
        // Whatever dst held there is hidden first; holes of the source stay holes.
        for (let at = r.dstOffset; at < r.dstOffset + r.length;) {
          const pos = at % CHUNK_SIZE;
          const len = Math.min(CHUNK_SIZE - pos, r.dstOffset + r.length - at);
          delta += this.#appendHole(dst, Math.floor(at / CHUNK_SIZE), pos, len);
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
            delta += this.#insertSlice(dst, Math.floor(at / CHUNK_SIZE), { id: p.id, size: p.size, pos, off, len });
            if (p.id !== 0) this.#s('UPDATE slice_refs SET refs = refs + 1 WHERE id = ?').run(p.id);
            at += len;
            off += len;
            left -= len;
          }
        }
      }
      const stored = this.#restore(d, delta, 'clone');
      const t = nowNs();
      this.#s('UPDATE inodes SET length = ?, stored = ?, mtime = ?, ctime = ? WHERE ino = ?').run(length, stored, t, t, dst);
      return toAttr({ ...d, length, stored, mtime: t, ctime: t });
    });
  }

  /** The slice pieces showing [srcOffset, srcOffset+length) of a source, oldest first per chunk,
   * as offsets from the range's start. */
  #sourcePieces(r: CloneRange): { from: number; id: number; size: number; off: number; len: number }[] {
    const s = this.#node(r.src, 'clone');
    if (!isRegMode(s.mode)) fail(isDirMode(s.mode) ? 'EISDIR' : 'EINVAL', 'clone');
    const end = r.srcOffset + r.length;
    if (end > s.length) fail('EINVAL', 'clone', `range ${r.srcOffset}..${end} reaches past the end of inode ${r.src} (${s.length} bytes)`);
    const out: { from: number; id: number; size: number; off: number; len: number }[] = [];
    const first = Math.floor(r.srcOffset / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    const rows = this.#s('SELECT chunk, id, size, pos, off, len FROM slices WHERE ino = ? AND chunk BETWEEN ? AND ? ORDER BY chunk, seq')
      .all(r.src, first, last) as (SliceRecord & { chunk: number })[];
    for (const row of rows) {
      const base = row.chunk * CHUNK_SIZE;
      const lo = Math.max(base + row.pos, r.srcOffset);
      const hi = Math.min(base + row.pos + row.len, end);
      if (hi <= lo) continue;
      out.push({ from: lo - r.srcOffset, id: row.id, size: row.size, off: row.off + (lo - base - row.pos), len: hi - lo });
    }
    return out;
  }

  async abandonSlice(slice: { id: number; size: number }): Promise<void> {
    this.#live('write');
    await this.#tx.write('abandon-slice', () => {
      const referenced = this.#s('SELECT 1 FROM slice_refs WHERE id = ?').get(slice.id) !== undefined;
      if (!referenced) this.#s('INSERT OR IGNORE INTO pending_slices (id, size, since_ms) VALUES (?, ?, ?)').run(slice.id, slice.size, Date.now());
    });
  }

  async pendingSliceDeletes(limit: number): Promise<{ id: number; size: number }[]> {
    this.#live('reclaim');
    return this.#s('SELECT id, size FROM pending_slices ORDER BY since_ms, id LIMIT ?').all(limit) as { id: number; size: number }[];
  }

  async confirmSliceDeletes(ids: number[]): Promise<void> {
    this.#live('reclaim');
    if (ids.length === 0) return;
    await this.#tx.write('reclaim', () => {
      for (const id of ids) this.#s('DELETE FROM pending_slices WHERE id = ?').run(id);
    });
  }

  // ---- sessions ----

  async newSession(info: Record<string, unknown>): Promise<number> {
    this.#live('session');
    const now = Date.now();
    return this.#tx.write('session', () =>
      Number(this.#s('INSERT INTO sessions (info, started_ms, heartbeat_ms) VALUES (?, ?, ?) RETURNING id').pluck().get(JSON.stringify(info), now, now)));
  }

  async heartbeat(session: number): Promise<void> {
    this.#live('heartbeat');
    await this.#tx.write('heartbeat', () => {
      const r = this.#s('UPDATE sessions SET heartbeat_ms = ? WHERE id = ?').run(Date.now(), session);
      if (r.changes === 0) fail('ESTALE', 'heartbeat', `session ${session} was closed (its heartbeat stopped for too long?)`);
    });
  }

  /** Rows are only written for a live session: a closed one gets ESTALE (its client must
   * register anew). */
  #sessionAlive(session: number, syscall: string): void {
    if (this.#s('SELECT 1 FROM sessions WHERE id = ?').get(session) === undefined) {
      fail('ESTALE', syscall, `session ${session} was closed (its heartbeat stopped for too long?)`);
    }
  }

  #endSession(session: number): void {
    this.#s('DELETE FROM flocks WHERE session = ?').run(session);
    this.#s('DELETE FROM plocks WHERE session = ?').run(session);
    const open = this.#s('SELECT ino FROM open_files WHERE session = ?').all(session) as { ino: number }[];
    this.#s('DELETE FROM open_files WHERE session = ?').run(session);
    for (const { ino } of open) this.#freeIfOrphan(ino);
    this.#s('DELETE FROM sessions WHERE id = ?').run(session);
  }

  #freeIfOrphan(ino: number): void {
    const orphan = this.#s('SELECT 1 FROM orphans WHERE ino = ?').get(ino) !== undefined;
    if (!orphan || this.#isOpen(ino)) return;
    const raw = this.#s(`SELECT ${NODE_COLUMNS} FROM inodes i WHERE i.ino = ?`, true).get(ino) as Record<string, bigint> | undefined;
    if (raw) this.#destroy(toRow(raw));
    else this.#s('DELETE FROM orphans WHERE ino = ?').run(ino);
  }

  async closeSession(session: number): Promise<void> {
    this.#live('session');
    await this.#tx.write('close-session', () => this.#endSession(session));
  }

  async sessions(): Promise<SessionRecord[]> {
    this.#live('status');
    const rows = this.#s('SELECT id, info, started_ms, heartbeat_ms FROM sessions ORDER BY id').all() as
      { id: number; info: string; started_ms: number; heartbeat_ms: number }[];
    return rows.map((r) => ({ id: r.id, info: JSON.parse(r.info) as Record<string, unknown>, startedMs: r.started_ms, heartbeatMs: r.heartbeat_ms }));
  }

  async cleanStaleSessions(staleMs: number): Promise<number> {
    this.#live('session');
    return this.#tx.write('clean-sessions', () => {
      const stale = this.#s('SELECT id FROM sessions WHERE heartbeat_ms < ?').all(Date.now() - staleMs) as { id: number }[];
      for (const s of stale) this.#endSession(s.id);
      return stale.length;
    });
  }

  async opened(session: number, ino: number): Promise<void> {
    this.#live('open');
    await this.#tx.write('open', () => {
      this.#sessionAlive(session, 'open');
      this.#node(ino, 'open');
      this.#s('INSERT INTO open_files (session, ino, count) VALUES (?, ?, 1) ON CONFLICT (session, ino) DO UPDATE SET count = count + 1').run(session, ino);
    });
  }

  async released(session: number, inos: number | readonly number[]): Promise<void> {
    this.#live('close');
    const list = typeof inos === 'number' ? [inos] : inos;
    if (list.length === 0) return;
    await this.#tx.write('close', () => {
      for (const ino of list) {
        this.#s('UPDATE open_files SET count = count - 1 WHERE session = ? AND ino = ?').run(session, ino);
        this.#s('DELETE FROM open_files WHERE session = ? AND ino = ? AND count <= 0').run(session, ino);
        this.#s('DELETE FROM flocks WHERE ino = ? AND session = ?').run(ino, session);
        this.#freeIfOrphan(ino);
      }
    });
  }

  // ---- locks ----

  async flock(ino: number, session: number, owner: string, kind: LockKind): Promise<void> {
    this.#live('flock');
    await this.#tx.write('flock', () => {
      this.#node(ino, 'flock');
      if (kind === 'unlock') {
        this.#s('DELETE FROM flocks WHERE ino = ? AND session = ? AND owner = ?').run(ino, session, owner);
        return;
      }
      this.#sessionAlive(session, 'flock');
      const others = this.#s('SELECT kind FROM flocks WHERE ino = ? AND NOT (session = ? AND owner = ?)').all(ino, session, owner) as { kind: string }[];
      if (others.some((o) => kind === 'write' || o.kind === 'write')) fail('EAGAIN', 'flock');
      this.#s('INSERT OR REPLACE INTO flocks (ino, session, owner, kind) VALUES (?, ?, ?, ?)').run(ino, session, owner, kind);
    });
  }

  #heldLocks(ino: number): HeldLock[] {
    const rows = this.#s('SELECT session, owner, kind, start, "end" AS e, pid FROM plocks WHERE ino = ?').all(ino) as
      { session: number; owner: string; kind: 'read' | 'write'; start: number; e: number; pid: number }[];
    return rows.map((r) => ({ session: r.session, owner: r.owner, kind: r.kind, start: r.start, end: r.e < 0 ? Infinity : r.e, pid: r.pid }));
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
    this.#node(ino, 'getlk');
    const c = firstConflict(this.#heldLocks(ino), session, owner, lock.kind, lock.start, end);
    return c ? { kind: c.kind, start: c.start, end: c.end === Infinity ? -1 : c.end, pid: c.pid, session: c.session, owner: c.owner } : null;
  }

  async setlk(ino: number, session: number, owner: string, lock: RangeLock): Promise<void> {
    this.#live('setlk');
    const end = this.#checkRange(lock, 'setlk');
    await this.#tx.write('setlk', () => {
      this.#node(ino, 'setlk');
      if (lock.kind !== 'unlock') this.#sessionAlive(session, 'setlk');
      const held = this.#heldLocks(ino);
      if (firstConflict(held, session, owner, lock.kind, lock.start, end)) fail('EAGAIN', 'setlk');
      const mine = held.filter((h) => h.session === session && h.owner === owner);
      const next = applyOwnerLock(mine, { session, owner, kind: lock.kind, start: lock.start, end, pid: lock.pid });
      this.#s('DELETE FROM plocks WHERE ino = ? AND session = ? AND owner = ?').run(ino, session, owner);
      for (const h of next) {
        this.#s('INSERT INTO plocks (ino, session, owner, kind, start, "end", pid) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(ino, session, owner, h.kind, h.start, h.end === Infinity ? -1 : h.end, h.pid);
      }
    });
  }

  // ---- versions ----

  async version(): Promise<number> {
    this.#live('version');
    return Number((this.#s('SELECT version FROM vstate').get() as { version: number }).version);
  }

  async oldestVersion(): Promise<number> {
    this.#live('version');
    return Number((this.#s('SELECT coalesce(min(version), 0) AS v FROM changes').get() as { v: number }).v);
  }

  async changes(afterVersion: number, limit: number): Promise<ChangeEntry[]> {
    this.#live('changes');
    const rows = this.#s('SELECT version, op, time_ms, rows FROM changes WHERE version > ? ORDER BY version LIMIT ?').all(afterVersion, limit) as
      { version: number; op: string; time_ms: number; rows: string }[];
    return rows.map((r) => ({ version: r.version, op: r.op, timeMs: r.time_ms, rows: JSON.parse(r.rows) as ChangeEntry['rows'] }));
  }

  // ---- trash ----

  async listTrash(): Promise<TrashEntry[]> {
    this.#live('trash');
    const rows = this.#s(`SELECT t.ino, t.parent, t.name, t.deleted_ms, t.hour, d.name AS entry, i.mode, i.length
      FROM trash t JOIN inodes i ON i.ino = t.ino JOIN dentries d ON d.ino = t.ino AND d.parent = i.parent ORDER BY t.deleted_ms, t.ino`).all() as
      { ino: number; parent: number; name: string; deleted_ms: number; hour: string; entry: string; mode: number; length: number }[];
    return rows.map((r) => ({
      path: `${r.hour}/${r.entry}`, ino: r.ino, parent: r.parent, name: r.name, deletedMs: r.deleted_ms,
      size: isDirMode(r.mode) ? 0 : r.length, isDir: isDirMode(r.mode),
    }));
  }

  async restoreTrash(path: string): Promise<void> {
    this.#live('trash');
    const [hour, entry, ...rest] = path.split('/');
    if (!hour || !entry || rest.length > 0) fail('EINVAL', 'restore', `"${path}" is not a trash entry (expected HOUR/ENTRY as "strata trash list" prints)`);
    await this.#tx.write('restore', () => {
      const hourDir = this.#entry(TRASH_INODE, hour);
      const e = hourDir ? this.#entry(hourDir.ino, entry) : undefined;
      if (!hourDir || !e) fail('ENOENT', 'restore', `no trash entry ${path}`);
      const rec = this.#s('SELECT parent, name FROM trash WHERE ino = ?').get(e.ino) as { parent: number; name: string } | undefined;
      if (!rec) fail('ENOENT', 'restore', `${path} has no record of where it came from`);
      const parent = this.#s('SELECT mode, nlink FROM inodes WHERE ino = ?').get(rec.parent) as { mode: number; nlink: number } | undefined;
      if (!parent || !isDirMode(parent.mode) || parent.nlink === 0) fail('ENOENT', 'restore', `the directory ${path} was deleted from is gone`);
      if (this.#entry(rec.parent, rec.name)) fail('EEXIST', 'restore', `"${rec.name}" exists again where ${path} was deleted from`);
      const n = this.#node(e.ino, 'restore');
      const t = nowNs();
      this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(hourDir.ino, entry);
      this.#s('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(rec.parent, rec.name, n.ino, n.mode & S_IFMT);
      this.#s('UPDATE inodes SET parent = ?, ctime = ? WHERE ino = ?').run(rec.parent, t, n.ino);
      if (isDirMode(n.mode)) {
        this.#addNlink(hourDir.ino, -1, t);
        this.#addNlink(rec.parent, 1, t);
      }
      this.#touch(rec.parent, t);
      this.#s('DELETE FROM trash WHERE ino = ?').run(n.ino);
    });
  }

  /** Remove a whole subtree below `dir` (used on trash expiry). */
  #removeTree(dir: number, t: bigint): void {
    const children = this.#s('SELECT name, ino FROM dentries WHERE parent = ?').all(dir) as { name: string; ino: number }[];
    for (const c of children) {
      const n = this.#node(c.ino, 'trash');
      this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(dir, c.name);
      if (isDirMode(n.mode)) {
        this.#removeTree(n.ino, t);
        this.#destroy(n);
      } else {
        this.#dropLink(n, t);
      }
    }
  }

  async emptyTrash(olderThanMs: number): Promise<number> {
    this.#live('trash');
    return this.#tx.write('empty-trash', () => {
      const cutoff = Date.now() - olderThanMs;
      const t = nowNs();
      const expired = this.#s('SELECT ino FROM trash WHERE deleted_ms <= ?').all(cutoff) as { ino: number }[];
      for (const { ino } of expired) {
        const raw = this.#s(`SELECT ${NODE_COLUMNS} FROM inodes i WHERE i.ino = ?`, true).get(ino) as Record<string, bigint> | undefined;
        this.#s('DELETE FROM trash WHERE ino = ?').run(ino);
        if (!raw) continue;
        const n = toRow(raw);
        // Only the entry in the trash goes: names the inode gained elsewhere since stay.
        const entries = this.#s('SELECT d.parent, d.name FROM dentries d JOIN dentries h ON h.ino = d.parent WHERE d.ino = ? AND h.parent = ?')
          .all(ino, TRASH_INODE) as { parent: number; name: string }[];
        if (entries.length === 0) continue;
        for (const d of entries) this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(d.parent, d.name);
        if (isDirMode(n.mode)) {
          this.#removeTree(n.ino, t);
          this.#addNlink(n.parent, -1, t);
          this.#destroy(n);
        } else {
          for (let k = 0; k < entries.length; k++) {
            this.#dropLink(n, t);
            n.nlink--;
          }
        }
      }
      // Hour directories left empty go too.
      const hours = this.#s('SELECT name, ino FROM dentries WHERE parent = ?').all(TRASH_INODE) as { name: string; ino: number }[];
      for (const h of hours) {
        if (this.#hasEntries(h.ino)) continue;
        this.#s('DELETE FROM dentries WHERE parent = ? AND name = ?').run(TRASH_INODE, h.name);
        this.#addNlink(TRASH_INODE, -1, t);
        this.#destroy(this.#node(h.ino, 'trash'));
      }
      return expired.length;
    });
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
    this.#db.close();
  }
}
