// The SQLite driver (better-sqlite3): one file, shared by every process on the host. Writes go
// through one connection, one transaction at a time (BEGIN IMMEDIATE takes the file's write lock
// up front, so two writers never deadlock upgrading a read lock). Reads use the same connection
// while no transaction is open on it — its page cache stays warm across this process's own
// writes — and a second connection while one is, so a read never sees a transaction that has not
// committed.
import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync } from 'node:fs';
import { errnoError } from '../../../errors/errno.js';
import { sqliteDialect } from '../dialects.js';
import type { SqlConn, SqlDriver, SqlValue } from '../driver.js';
import { MIGRATIONS } from '../sqlite-migrations.js';
import { SCHEMA_VERSION } from '../schema.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

type Db = Database.Database;

/** SQLite's own wait per attempt; short, so the event loop is never blocked for long (the engine
 * retries a busy database with backoff). */
const BUSY_TIMEOUT_MS = 20;

const INT64_COLUMN = /\b[acmb]time\b/;

class Statements implements SqlConn {
  readonly #cache = new Map<string, Database.Statement>();
  /** Set while a transaction's body runs on these statements: each then runs only while SQLite
   * still has the transaction open. After some errors (a full disk, an I/O error, no memory) SQLite
   * rolls the whole transaction back by itself, and a statement sent together with the failed one
   * would otherwise run on its own, outside any transaction. */
  inTransaction = false;

  constructor(readonly db: Db) {}

  get busy(): boolean {
    return this.db.inTransaction;
  }

  prepare(sql: string): Database.Statement {
    if (this.inTransaction && !this.db.inTransaction) {
      throw errnoError('EIO', 'meta', undefined, 'SQLite rolled the transaction back after a failed statement; the statements behind it were not run');
    }
    let st = this.#cache.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      // Nanosecond times exceed 2^53: statements that return them give bigints (the rest stay
      // numbers, which cost no allocation).
      if (st.reader && INT64_COLUMN.test(sql)) st.safeIntegers(true);
      this.#cache.set(sql, st);
    }
    return st;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.prepare(sql).all(...params) as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.prepare(sql).run(...params).changes;
  }

  async insertId(sql: string, params: readonly SqlValue[], _idColumn?: string): Promise<number> {
    return Number(this.prepare(sql).run(...params).lastInsertRowid);
  }

  last<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.get<T>(sql, params);
  }
}

function retryBusySync<T>(fn: () => T): T {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!sqliteDialect.retryable(err) || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** A connection that waits briefly for a busy database (the engine retries beyond that). */
function connect(path: string, url: string, mustExist: boolean): Db {
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: mustExist });
  } catch (err) {
    throw errnoError('EIO', 'open', path, `cannot open the metadata database at ${url}: ${(err as Error).message}`, err);
  }
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}

function tune(db: Db, durable: boolean): void {
  retryBusySync(() => db.pragma('journal_mode = WAL'));
  // NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an OS crash or power
  // loss may lose the last transactions. `durable` (FULL) fsyncs every metadata operation.
  db.pragma(durable ? 'synchronous = FULL' : 'synchronous = NORMAL');
  db.pragma('foreign_keys = OFF');
  // Checkpoints are where WAL mode pays its fsyncs. A worker copies the WAL off the JS thread
  // (sqlite-checkpointer.ts); at this bound (~64 MiB of WAL) the writer still checkpoints in line,
  // which under constant writes finds most frames copied already.
  db.pragma('wal_autocheckpoint = 16384');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
}

function migrate(db: Db): void {
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
}

/** Transactions of one process run one after another on the write connection. */
class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(op, op);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

export class SqliteDriver implements SqlDriver {
  readonly dialect = sqliteDialect;
  readonly #writer: Statements;
  readonly #reader: Statements;
  readonly #version: Database.Statement;
  readonly #serial = new Serial();
  /** Statements outside transactions: each goes to whichever connection has none open. */
  readonly #reads: SqlConn;
  readonly #checkpointer: SqliteCheckpointer | null;
  #closed = false;

  private constructor(readonly url: string, readonly path: string, writer: Db, reader: Db) {
    this.#writer = new Statements(writer);
    this.#reader = new Statements(reader);
    const pick = () => (this.#writer.busy ? this.#reader : this.#writer);
    this.#reads = {
      all: (sql, params) => pick().all(sql, params),
      get: (sql, params) => pick().get(sql, params),
      run: (sql, params) => pick().run(sql, params),
      insertId: (sql, params, id) => pick().insertId(sql, params, id),
      last: (sql, params) => pick().get(sql, params),
    };
    // The writer's data_version moves whenever another connection — another process — commits;
    // this process's own commits do not move it, and the engine forgets cached reads after each.
    this.#version = writer.prepare('PRAGMA data_version').pluck();
    this.#checkpointer = path === ':memory:' ? null : new SqliteCheckpointer(path, url);
  }

  /**
   * Open (or, with `create`, create) the database at `path` and bring its schema up to date.
   * Everything that may refuse the database is checked before any pragma that writes to it
   * (journal_mode = WAL rewrites the header): a refused file stays byte for byte as it was.
   */
  static open(path: string, url: string, options: { create?: boolean; durable?: boolean } = {}): { driver: SqliteDriver; empty: boolean } {
    const create = options.create === true;
    const memory = path === ':memory:';
    if (!memory && !create && !existsSync(path)) {
      throw errnoError('ENOENT', 'open', path, `no Strata volume at ${url}: format one first with "strata format ${url} NAME"`);
    }
    // Metadata (and stored credentials, sealed or not) is for the owner only: the file is made
    // 0600 before SQLite opens it, and SQLite gives its -wal and -shm files the same mode.
    if (create && !memory && !existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
    const writer = connect(path, url, !create && !memory);
    let reader: Db | null = null;
    try {
      const found = Number(writer.pragma('user_version', { simple: true }));
      if (found > SCHEMA_VERSION) {
        throw errnoError('EINVAL', 'open', path,
          `the volume at ${url} has metadata schema version ${found}, newer than this build of Strata understands (${SCHEMA_VERSION}); upgrade Strata`);
      }
      if (found === 0) {
        const tables = writer.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
        if (tables.n > 0) throw errnoError('EINVAL', 'open', path, `${url} is an SQLite database that is not a Strata volume; refusing to touch it`);
        if (!create) throw errnoError('ENOENT', 'open', path, `${url} is not a Strata volume: format it first with "strata format ${url} NAME"`);
      }
      tune(writer, options.durable === true);
      if (found < SCHEMA_VERSION) migrate(writer);
      // An in-memory database is one connection's own: reads go through the writer.
      reader = memory ? writer : connect(path, url, true);
      const driver = new SqliteDriver(url, path, writer, reader);
      const empty = writer.prepare('SELECT count(*) AS n FROM settings').pluck().get() === 0;
      return { driver, empty };
    } catch (err) {
      if (reader && reader !== writer) reader.close();
      writer.close();
      throw err;
    }
  }

  transaction<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    return this.#serial.run(async () => {
      this.#live();
      const db = this.#writer.db;
      this.#writer.prepare('BEGIN IMMEDIATE').run();
      let committed = false;
      try {
        this.#writer.inTransaction = true;
        const result = await body(this.#writer);
        this.#writer.prepare('COMMIT').run();
        committed = true;
        this.#checkpointer?.committed();
        return result;
      } finally {
        this.#writer.inTransaction = false;
        if (!committed && db.inTransaction) db.exec('ROLLBACK');
      }
    });
  }

  async read<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    this.#live();
    return body(this.#reads);
  }

  async snapshot<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    this.#live();
    // An in-memory database has one connection: its snapshot waits for the transactions.
    if (this.path === ':memory:') return this.#serial.run(() => body(this.#reader));
    // Its own connection: a read transaction there is one WAL snapshot, untouched by what this
    // process's other reads and writes do meanwhile.
    const db = connect(this.path, this.url, true);
    const own = new Statements(db);
    try {
      db.exec('BEGIN');
      const result = await body(own);
      db.exec('COMMIT');
      return result;
    } finally {
      db.close();
    }
  }

  changeToken(): number {
    return Number(this.#version.get());
  }

  #live(): void {
    if (this.#closed) throw errnoError('EBADF', 'meta', undefined, 'the metadata engine is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#serial.run(async () => undefined);
    await this.#checkpointer?.stop();
    if (this.#reader.db !== this.#writer.db) this.#reader.db.close();
    this.#writer.db.close();
  }
}
