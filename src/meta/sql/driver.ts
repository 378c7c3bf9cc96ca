// The seam between the one SQL metadata engine (engine.ts) and the servers it runs on: a driver
// runs statements — written once, with `?` placeholders — inside transactions or as plain reads,
// and its dialect says what differs between SQLite, PostgreSQL and MySQL. Everything else (the
// schema's meaning, locking order, the change log, retries) lives in the engine, once.

/** What a statement takes as parameters. Integers above 2^53 go as bigint. */
export type SqlValue = number | bigint | string | Buffer | null;

/** A result row: column name to value. Integer columns may come back as number, bigint or a
 * decimal string depending on the driver; the engine converts with Number()/BigInt(). */
export type SqlRow = Record<string, unknown>;

/** Statements on one connection: inside a transaction, or one read. */
export interface SqlConn {
  all<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Returns how many rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** An INSERT into a table whose `idColumn` the database numbers (auto-increment): the id. */
  insertId(sql: string, params: readonly SqlValue[], idColumn: string): Promise<number>;
  /** The transaction's last statement, as `get`: nothing may follow it. Where the server allows,
   * the commit is sent right behind it, in the same round trip. */
  last<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
}

/** How long a call's statements may wait for their answers. */
export interface CallOptions {
  /** Statements that may take long on a big volume (schema upgrades, load, listing the trash): no
   * statement timeout. Others on a server are given up after the driver's statement timeout, their
   * connection counted as lost. */
  bulk?: boolean;
}

export interface SqlDriver {
  readonly dialect: Dialect;
  /** Where the metadata lives, password masked. */
  readonly url: string;
  /** Run `body` as one read-write transaction at the dialect's isolation level; it commits when
   * `body` resolves and rolls back when it throws. The engine retries what `dialect.retryable`
   * calls retryable. */
  transaction<T>(body: (c: SqlConn) => Promise<T>, options?: CallOptions): Promise<T>;
  /** Run reads outside any write transaction (each statement sees what is committed). */
  read<T>(body: (c: SqlConn) => Promise<T>, options?: CallOptions): Promise<T>;
  /** Run reads in one consistent read-only snapshot (dump, fsck); never bounded. */
  snapshot<T>(body: (c: SqlConn) => Promise<T>): Promise<T>;
  /** A number that changes whenever another process commits, where the database can tell cheaply
   * (SQLite's data_version); repeated reads may then be answered from memory while it stays the
   * same (the engine forgets them after its own commits). */
  changeToken?(): number;
  close(): Promise<void>;
}

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/** What differs between the SQL servers, as small pieces of SQL and error classifiers. */
export interface Dialect {
  readonly name: DialectName;
  /** Appended to a SELECT whose rows the transaction will change: holds them until commit. */
  readonly forUpdate: string;
  /** INSERT/UPDATE/DELETE ... RETURNING works (saves reading a row back). */
  readonly returning: boolean;
  /** A text column compared and ordered byte by byte, whatever the database's collation. */
  binary(column: string): string;
  /** One statement that first adds `counters` counter deltas (parameters: name and delta of each,
   * then the names), then bumps the version and logs the entry (parameters: op, time, body),
   * returning `version` — where the database can do all at once; otherwise each part is its own
   * statement. */
  readonly bumpAndLog?: (counters: number) => string;
  /** INSERT that does nothing when the key exists. */
  insertIgnore(table: string, columns: readonly string[]): string;
  /** INSERT, or on a key conflict apply `updates`: SQL assignments `col = ...` written with
   * `old(col)` for the row's current value and `new(col)` for the value that was to be inserted.
   * The row comes from parameters, or from `select` (a SELECT with a WHERE clause, giving the
   * columns in order): then nothing is written when it finds no row. */
  upsert(table: string, columns: readonly string[], key: readonly string[], updates: readonly string[], select?: string): string;
  /** A failure worth running the whole transaction again: serialization failure, deadlock, a
   * lock wait that timed out, a busy database. */
  retryable(err: unknown): boolean;
  /** A unique or primary-key violation (a name taken by a concurrent transaction). */
  duplicate(err: unknown): boolean;
  /** The connection itself failed (server gone, backend terminated, network): the transaction's
   * outcome is known only if the failure came before COMMIT was sent. */
  connectionLost(err: unknown): boolean;
}

/** Column values of a row by name, in `columns` order. */
export function valuesOf(row: Record<string, SqlValue>, columns: readonly string[]): SqlValue[] {
  return columns.map((c) => row[c] ?? null);
}
