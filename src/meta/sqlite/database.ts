// One SQLite database file: opening with the pragmas several processes need (WAL, busy timeout),
// migrations, and the write-transaction runner that stamps versions and retries on contention.
import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync } from 'node:fs';
import { errnoError } from '../../errors/errno.js';
import { CONNECTION_SETUP, MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type Db = Database.Database;

/** How long a writer keeps retrying a busy database before giving up with EAGAIN. */
const BUSY_GIVE_UP_MS = 60_000;
/** SQLite's own wait per attempt; short, so the event loop is never blocked for long. */
const BUSY_TIMEOUT_MS = 20;
/** Every this many versions, change-log entries beyond the retention bound are pruned. */
const PRUNE_EVERY = 256;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface OpenedDb {
  db: Db;
  /** user_version found before migrations ran (0 = empty database). */
  foundVersion: number;
}

/** Open (or, with `create`, create) the database at `path` and bring its schema up to date. */
export function openDatabase(path: string, url: string, create: boolean, durable = false): OpenedDb {
  if (path !== ':memory:' && !create && !existsSync(path)) {
    throw errnoError('ENOENT', 'open', path, `no Strata volume at ${url}: format one first with "strata format ${url} NAME"`);
  }
  let db: Db;
  try {
    // Metadata (and stored credentials, sealed or not) is for the owner only: the file is made
    // 0600 before SQLite opens it, and SQLite gives its -wal and -shm files the same mode.
    if (create && path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
    db = new Database(path, { fileMustExist: !create && path !== ':memory:' });
  } catch (err) {
    throw errnoError('EIO', 'open', path, `cannot open the metadata database at ${url}: ${(err as Error).message}`, err);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Everything that may refuse the database is checked before any pragma that writes to it
    // (journal_mode = WAL rewrites the header): a refused file stays byte for byte as it was.
    const found = Number(db.pragma('user_version', { simple: true }));
    if (found > SCHEMA_VERSION) {
      throw errnoError('EINVAL', 'open', path,
        `the volume at ${url} has metadata schema version ${found}, newer than this build of Strata understands (${SCHEMA_VERSION}); upgrade Strata`);
    }
    if (found === 0) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (tables.n > 0) {
        throw errnoError('EINVAL', 'open', path, `${url} is an SQLite database that is not a Strata volume; refusing to touch it`);
      }
      if (!create) throw errnoError('ENOENT', 'open', path, `${url} is not a Strata volume: format it first with "strata format ${url} NAME"`);
    }
    retryBusySync(() => db.pragma('journal_mode = WAL'));
    // NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an OS crash or power
    // loss may lose the last transactions. `durable` (FULL) fsyncs every metadata operation.
    db.pragma(durable ? 'synchronous = FULL' : 'synchronous = NORMAL');
    db.pragma('foreign_keys = OFF');
    // Checkpoints are where WAL mode pays its fsyncs: fewer, larger ones (up to ~64 MiB of WAL).
    db.pragma('wal_autocheckpoint = 16384');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    if (found < SCHEMA_VERSION) migrate(db, found);
    db.exec(CONNECTION_SETUP);
    return { db, foundVersion: found };
  } catch (err) {
    db.close();
    throw err;
  }
}

function retryBusySync<T>(fn: () => T): T {
  const deadline = Date.now() + BUSY_GIVE_UP_MS;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

function migrate(db: Db, from: number): void {
  retryBusySync(() => {
    db.exec('BEGIN IMMEDIATE');
    try {
      // Another process may have migrated while we waited for the lock.
      const now = Number(db.pragma('user_version', { simple: true }));
      for (let v = now; v < SCHEMA_VERSION; v++) {
        const step = MIGRATIONS[v]!;
        if (typeof step === 'string') db.exec(step);
        else step(db);
      }
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  });
  void from;
}

/** Runs write transactions: BEGIN IMMEDIATE (so two writers never deadlock upgrading a read
 * lock), the caller's synchronous body, then — if any replicated row changed — the next version
 * and its change-log header. Busy databases are retried with backoff, asynchronously. */
export class TxRunner {
  readonly #db: Db;
  readonly #pending;
  readonly #bump;
  readonly #record;
  readonly #clear;
  readonly #prune;
  readonly #begin;
  readonly #commit;
  retention: number;
  /** Called around every write transaction (the engine drops its read cache). */
  afterWrite: (() => void) | null = null;

  constructor(db: Db, retention: number) {
    this.#db = db;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.retention = retention;
    this.#pending = db.prepare('SELECT EXISTS (SELECT 1 FROM temp.pending_changes) AS changed');
    this.#bump = db.prepare('UPDATE vstate SET version = version + 1 RETURNING version');
    this.#record = db.prepare(`INSERT INTO changes (version, op, time_ms, rows)
      SELECT ?, ?, ?, json_group_array(json_object('table', tbl, 'kind', kind, 'row', json(row)))
      FROM (SELECT tbl, kind, row FROM temp.pending_changes ORDER BY seq)`);
    this.#clear = db.prepare('DELETE FROM temp.pending_changes');
    this.#prune = db.prepare('DELETE FROM changes WHERE version <= ?');
  }

  /** Run `body` in one write transaction named `op`; resolves with its result after commit. */
  async write<T>(op: string, body: () => T): Promise<T> {
    const deadline = Date.now() + BUSY_GIVE_UP_MS;
    let delay = 1;
    for (;;) {
      try {
        return this.writeNow(op, body);
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (Date.now() > deadline) {
          throw errnoError('EAGAIN', op, undefined, `the metadata database stayed locked by other processes for ${BUSY_GIVE_UP_MS / 1000} s`, err);
        }
        await sleep(delay + Math.random() * delay);
        delay = Math.min(delay * 2, 50);
      }
    }
  }

  writeNow<T>(op: string, body: () => T): T {
    const db = this.#db;
    // Whatever this transaction does (or undoes), reads cached before it may be stale now.
    this.afterWrite?.();
    this.#begin.run();
    let committed = false;
    try {
      const result = body();
      const { changed } = this.#pending.get() as { changed: number };
      if (changed) {
        const { version } = this.#bump.get() as { version: number };
        this.#record.run(version, op, Date.now());
        this.#clear.run();
        if (version % PRUNE_EVERY === 0 && this.retention > 0) this.#prune.run(version - this.retention);
      }
      this.#commit.run();
      committed = true;
      return result;
    } finally {
      if (!committed && db.inTransaction) db.exec('ROLLBACK');
      this.afterWrite?.();
    }
  }
}
