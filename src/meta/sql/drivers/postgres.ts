// The PostgreSQL driver (pg): a small pool; transactions at READ COMMITTED with the engine's
// explicit row locks (SELECT ... FOR UPDATE). Under REPEATABLE READ or SERIALIZABLE every
// transaction would conflict on the volume's version row and be retried; READ COMMITTED lets the
// version bump wait for the row instead, and the locks the engine takes make each operation's
// read-then-write exact.
import pg from 'pg';
import type { PostgresMetaUrl } from '../../../config/urls.js';
import { errnoError } from '../../../errors/errno.js';
import { postgresDialect } from '../dialects.js';
import type { CallOptions, SqlConn, SqlDriver, SqlValue } from '../driver.js';
import { boundFor, connectionFailure, CONNECT_TIMEOUT_MS, IDLE_IN_TRANSACTION_MS, statementStalled, STATEMENT_TIMEOUT_MS, type ServerLimits, type StatementBound as Bound } from './failures.js';
import { pooledTransaction, type CommitBehind } from './pooled-transaction.js';

/** Connections per process: transactions hold one each; reads borrow one per statement. */
const POOL_SIZE = 8;
const INT8_OID = 20;

/** Each statement the engine sends, as a named prepared statement with PostgreSQL's `$1, $2`
 * placeholders (the engine's SQL has no `?` in literals): a connection parses and plans it once,
 * then only binds and runs it. */
const prepared = new Map<string, { name: string; text: string }>();
function statement(sql: string): { name: string; text: string } {
  let st = prepared.get(sql);
  if (st === undefined) {
    let n = 0;
    st = { name: `s${prepared.size + 1}`, text: sql.replace(/\?/g, () => `$${++n}`) };
    prepared.set(sql, st);
  }
  return st;
}

const param = (v: SqlValue): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** 64-bit integers as bigint (times in ns exceed 2^53); the engine converts the rest to numbers. */
const types = {
  getTypeParser: (oid: number, format?: string) => (oid === INT8_OID ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format as 'text')),
};

/** A statement with its bound: pg closes a pipelined connection whose statement timed out, and
 * the pool drops a client whose query failed. */
async function bounded<R>(bound: Bound, run: (queryTimeout: number | undefined) => Promise<R>): Promise<R> {
  try {
    return await run(bound.ms > 0 ? bound.ms : undefined);
  } catch (err) {
    throw statementStalled(err, bound.where, bound.ms);
  }
}

/** Statements a transaction sends in one turn of the event loop (BEGIN with the first ones, a
 * batch the engine sends together, the last one with COMMIT) leave in one write instead of one
 * each: a write to a socket is a system call, and on loopback it also runs the server's side of
 * TCP. The socket is corked at the first statement and uncorked once the turn's promise callbacks
 * have run (a tick queued from one runs after them all), so no statement waits on an answer to one
 * still held back. */
function batchWrites(client: pg.PoolClient): () => void {
  const stream = (client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    stream.cork();
    process.nextTick(uncork);
  };
}

class Conn implements SqlConn {
  constructor(private readonly q: { query: pg.Pool['query'] }, private readonly bound: Bound, private readonly commitBehind?: CommitBehind) {}

  #query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    const { name, text } = statement(sql);
    return bounded(this.bound, (timeout) => this.q.query({ name, text, values: params.map(param), query_timeout: timeout } as pg.QueryConfig));
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.#query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0;
  }

  async insertId(sql: string, params: readonly SqlValue[], idColumn: string): Promise<number> {
    const r = await this.#query(`${sql} RETURNING ${idColumn}`, params);
    return Number(r.rows[0][idColumn]);
  }

  last<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.commitBehind ? this.commitBehind(() => this.get<T>(sql, params)) : this.get<T>(sql, params);
  }
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  readonly url: string;
  readonly #pool: pg.Pool;
  readonly #reads: Conn;
  readonly #where: string;
  /** Statements of reads and transactions; snapshots (bulk scans) wait as long as they take. */
  readonly #bound: Bound;
  #closed = false;

  private constructor(url: PostgresMetaUrl, pool: pg.Pool, statementTimeoutMs: number) {
    this.url = url.url;
    this.#pool = pool;
    this.#where = `PostgreSQL at ${url.params.host ?? `${url.host}:${url.port}`}`;
    this.#bound = { ms: statementTimeoutMs, where: this.#where };
    this.#reads = new Conn(pool, this.#bound);
  }

  /** Connect and check the server answers; failures say what to do (wrong password, missing
   * database, server down). */
  static async open(url: PostgresMetaUrl, limits: ServerLimits = {}): Promise<PostgresDriver> {
    const { connectTimeoutMs = CONNECT_TIMEOUT_MS, statementTimeoutMs = STATEMENT_TIMEOUT_MS, idleInTransactionMs = IDLE_IN_TRANSACTION_MS } = limits;
    const ssl = url.params.sslmode;
    const pool = new pg.Pool({
      // A unix socket directory (?host=/run/postgresql) or the URL's host.
      host: url.params.host ?? url.host,
      port: url.port,
      user: url.user ?? process.env.PGUSER ?? 'postgres',
      password: url.password ?? process.env.PGPASSWORD,
      database: url.database,
      max: POOL_SIZE,
      connectionTimeoutMillis: connectTimeoutMs,
      ssl: ssl === undefined || ssl === 'disable' ? false : { rejectUnauthorized: ssl === 'verify-full' || ssl === 'verify-ca' },
      types,
      application_name: 'strata',
      // Statements go out without waiting for the answers before them (BEGIN with the first
      // statement, COMMIT with the last: see pooled-transaction.ts).
      pipeline: true,
      ...(statementTimeoutMs > 0 ? { idle_in_transaction_session_timeout: idleInTransactionMs } : {}),
    } as pg.PoolConfig);
    // A pooled connection that breaks while idle must not take the process down.
    pool.on('error', () => undefined);
    const driver = new PostgresDriver(url, pool, statementTimeoutMs);
    try {
      // The probe is bounded like every statement: a server that accepts and then says nothing is
      // refused within seconds.
      await driver.read((c) => c.get('SELECT 1'));
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw connectionFailure(err, driver.#where, url.database, url.user ?? 'postgres', 'postgres');
    }
    return driver;
  }

  async transaction<T>(body: (c: SqlConn) => Promise<T>, options?: CallOptions): Promise<T> {
    this.#live();
    return this.#inTransaction(['BEGIN ISOLATION LEVEL READ COMMITTED'], this.#where, boundFor(this.#bound, options), body);
  }

  async read<T>(body: (c: SqlConn) => Promise<T>, options?: CallOptions): Promise<T> {
    this.#live();
    return body(options?.bulk ? new Conn(this.#pool, boundFor(this.#bound, options)) : this.#reads);
  }

  async snapshot<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    this.#live();
    return this.#inTransaction(['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', 'SET LOCAL idle_in_transaction_session_timeout = 0'], null, boundFor(this.#bound, { bulk: true }), body);
  }

  async #inTransaction<T>(begin: string[], where: string | null, bound: Bound, body: (c: SqlConn) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect().catch((err: unknown) => { throw connectionFailure(err, this.#where); });
    // A connection that breaks between two statements reports it here (unheard, it would take
    // the process down); the next statement fails with it too, and that is where it is handled.
    let failed: unknown = null;
    const onError = (err: unknown): void => { failed ??= err; };
    client.on('error', onError);
    const batched = batchWrites(client);
    const conn = {
      query: (sql: string) => { batched(); return bounded(bound, (timeout) => client.query({ text: sql, query_timeout: timeout } as pg.QueryConfig)); },
      done: (broken: boolean) => {
        client.off('error', onError);
        client.release(broken || failed ? ((failed ?? new Error('connection failed')) as Error) : undefined);
      },
    };
    const statements = { query: ((config: pg.QueryConfig) => { batched(); return client.query(config); }) as pg.Pool['query'] };
    return pooledTransaction(conn, { begin, lost: (err) => this.dialect.connectionLost(err), where, commitBehindIsSafe: true }, (commitBehind) => body(new Conn(statements, bound, commitBehind)));
  }

  #live(): void {
    if (this.#closed) throw errnoError('EBADF', 'meta', undefined, 'the metadata engine is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
