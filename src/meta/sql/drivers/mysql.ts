// The MySQL / MariaDB driver (mysql2): a small pool; transactions at READ COMMITTED with the
// engine's explicit row locks, for the reason the PostgreSQL driver gives (REPEATABLE READ would
// also make plain reads in a transaction see an old snapshot next to locking reads that see the
// latest rows).
import mysql from 'mysql2/promise';
import type { MysqlMetaUrl } from '../../../config/urls.js';
import { errnoError } from '../../../errors/errno.js';
import { mysqlDialect } from '../dialects.js';
import type { CallOptions, SqlConn, SqlDriver, SqlValue } from '../driver.js';
import { boundFor, connectionFailure, CONNECT_TIMEOUT_MS, NotSent, IDLE_IN_TRANSACTION_MS, statementStalled, STATEMENT_TIMEOUT_MS, type ServerLimits, type StatementBound as Bound } from './failures.js';
import { pooledTransaction, type CommitBehind } from './pooled-transaction.js';

const POOL_SIZE = 8;

/** MariaDB (10.3 on) runs what is inside this comment; MySQL reads it as a comment. MySQL has no
 * limit on an idle transaction short of wait_timeout, which would also end idle pooled
 * connections: there a frozen client's locks last until TCP notices. */
const onMariadb = (sql: string): string => `/*M!100300 ${sql} */`;

const param = (v: SqlValue): unknown => (typeof v === 'bigint' ? v.toString() : v);

interface Queryable {
  query(options: { sql: string; timeout?: number }, values?: unknown[]): Promise<[unknown, unknown]>;
}

/** The socket under a mysql2 connection. */
type Socketed = { connection?: { stream?: { destroy(): void } }; stream?: { destroy(): void } };

/** mysql2 leaves a connection whose statement timed out waiting for that answer, with the
 * statements queued behind it never started (their timers never run) and its destroy() only
 * ending the socket gracefully: the socket itself is destroyed, which fails the queue as a lost
 * connection. The connection must then never go back to the pool (its own query() would). */
async function bounded(bound: Bound, conn: mysql.PoolConnection, sql: string, values?: unknown[]): Promise<[unknown, unknown]> {
  try {
    return await conn.query({ sql, ...(bound.ms > 0 ? { timeout: bound.ms } : {}) }, values) as [unknown, unknown];
  } catch (err) {
    const said = statementStalled(err, bound.where, bound.ms);
    if (said !== err) dropSocket(conn);
    throw said;
  }
}

function dropSocket(conn: unknown): void {
  const c = conn as Socketed;
  (c.connection?.stream ?? c.stream)?.destroy();
}

type Answer = [unknown, unknown];

/** A statement waiting for its batch. */
interface Waiting { sql: string; values: unknown[]; answer(a: Answer): void; fail(err: unknown): void }

/** The statements of one transaction on a mysql2 connection. mysql2 waits for each answer before
 * it sends the next statement, so the statements the engine starts together (one round trip on
 * PostgreSQL, which pipelines) go out as one multi-statement query: those started in the same
 * turn of the event loop, or while the batch before them was out. The server runs a batch in
 * order and stops at its first failing statement; the statements behind it are not run. Each
 * statement's values are escaped into its own text (as mysql2's query() does), so a statement
 * can never take another's values.
 *
 * After a failure nothing more is sent but a ROLLBACK: the victim of a deadlock has its whole
 * transaction rolled back by the server, and statements sent after it would run in autocommit.
 * They fail with the first failure instead (what the engine judges: retry, lost connection, taken
 * name), and so does every statement of the failed batch, whether or not it ran before the
 * failing one: the transaction only rolls back from there. So a COMMIT sent in one batch right
 * behind the last statement commits only if every statement before it succeeded; a COMMIT never
 * sent fails as NotSent. Nothing is taken after COMMIT or ROLLBACK, but the ROLLBACK of a
 * transaction whose COMMIT failed (the connection stays fit for the next one). */
export function transactionQueue(send: (sql: string, values: unknown[]) => Promise<Answer>): (sql: string, values?: unknown[]) => Promise<Answer> {
  let waiting: Waiting[] = [];
  /** A batch is out, or one is due on the next tick. */
  let busy = false;
  let failure: { err: unknown } | null = null;
  let ended = false;
  let rolledBack = false;

  const answered = (out: readonly Waiting[], [results, fields]: Answer): Answer[] => {
    if (!Array.isArray(results) || results.length !== out.length) {
      throw errnoError('EIO', 'meta', undefined, `the server answered a batch of ${out.length} statements with ${Array.isArray(results) ? results.length : 1} results; the transaction is rolled back`);
    }
    return results.map((r, i): Answer => [r, (fields as unknown[] | undefined)?.[i]]);
  };

  const sendBatch = (): void => {
    const batch = waiting;
    waiting = [];
    const rollback = batch.find((w) => w.sql === 'ROLLBACK');
    const out = failure ? (rollback ? [rollback] : []) : batch;
    if (failure) {
      for (const w of batch) if (w !== rollback) w.fail(w.sql === 'COMMIT' ? new NotSent(failure.err) : failure.err);
    }
    if (out.length === 0) {
      busy = false;
      return;
    }
    const sent = out.length === 1
      ? send(out[0]!.sql, out[0]!.values).then((a) => [a])
      : send(out.map((w) => mysql.format(w.sql, w.values as Parameters<typeof mysql.format>[1])).join(';\n'), []).then((a) => answered(out, a));
    void sent.then(
      (answers) => out.forEach((w, i) => w.answer(answers[i]!)),
      (err: unknown) => {
        failure ??= { err };
        for (const w of out) w.fail(err);
      },
    ).finally(() => {
      if (waiting.length > 0) sendBatch();
      else busy = false;
    });
  };

  return (sql, values = []) => {
    const lateRollback = ended && sql === 'ROLLBACK' && failure !== null && !rolledBack;
    if (ended && !lateRollback) return Promise.reject(errnoError('EIO', 'meta', undefined, 'a statement came after its transaction had ended; it was not sent'));
    if (sql === 'COMMIT' || sql === 'ROLLBACK') ended = true;
    if (sql === 'ROLLBACK') rolledBack = true;
    return new Promise<Answer>((answer, fail) => {
      waiting.push({ sql, values, answer, fail });
      if (busy) return;
      busy = true;
      // After this turn's promise callbacks: statements started together go together.
      process.nextTick(sendBatch);
    });
  };
}

class Conn implements SqlConn {
  constructor(private readonly q: Queryable, private readonly commitBehind?: CommitBehind) {}

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const [rows] = await this.q.query({ sql }, params.map(param));
    return rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const [r] = await this.q.query({ sql }, params.map(param));
    return (r as mysql.ResultSetHeader).affectedRows;
  }

  async insertId(sql: string, params: readonly SqlValue[]): Promise<number> {
    const [r] = await this.q.query({ sql }, params.map(param));
    return Number((r as mysql.ResultSetHeader).insertId);
  }

  last<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.commitBehind ? this.commitBehind(() => this.get<T>(sql, params)) : this.get<T>(sql, params);
  }
}

export class MysqlDriver implements SqlDriver {
  readonly dialect = mysqlDialect;
  readonly url: string;
  readonly #pool: mysql.Pool;
  readonly #reads: Conn;
  readonly #where: string;
  /** Statements of reads and transactions; snapshots (bulk scans) wait as long as they take. */
  readonly #bound: Bound;
  #closed = false;

  private constructor(url: MysqlMetaUrl, pool: mysql.Pool, statementTimeoutMs: number) {
    this.url = url.url;
    this.#pool = pool;
    this.#where = `MySQL at ${url.params.socket ?? `${url.host}:${url.port}`}`;
    this.#bound = { ms: statementTimeoutMs, where: this.#where };
    this.#reads = this.#readConn(this.#bound);
  }

  /** Reads borrow a connection per statement, and close it if the statement failed with it. */
  #readConn(bound: Bound): Conn {
    return new Conn({
      query: async ({ sql }, values) => {
        const conn = await this.#pool.getConnection();
        try {
          const result = await bounded(bound, conn, sql, values);
          conn.release();
          return result;
        } catch (err) {
          if (this.dialect.connectionLost(err)) conn.destroy();
          else conn.release();
          throw err;
        }
      },
    });
  }

  static async open(url: MysqlMetaUrl, limits: ServerLimits = {}): Promise<MysqlDriver> {
    const { connectTimeoutMs = CONNECT_TIMEOUT_MS, statementTimeoutMs = STATEMENT_TIMEOUT_MS, idleInTransactionMs = IDLE_IN_TRANSACTION_MS } = limits;
    const pool = mysql.createPool({
      ...(url.params.socket ? { socketPath: url.params.socket } : { host: url.host, port: url.port }),
      user: url.user ?? 'root',
      // As the mysql client: the password may stay out of the URL (and out of ps and shell history).
      password: url.password ?? process.env.MYSQL_PWD,
      database: url.database,
      connectionLimit: POOL_SIZE,
      connectTimeout: connectTimeoutMs,
      charset: 'utf8mb4',
      // A transaction's statements that the engine starts together go as one query (see
      // transactionQueue). Values are escaped into the text by mysql2 either way (query(), not
      // execute()): no statement is ever built from unescaped input.
      multipleStatements: true,
      // 64-bit integers as strings (times in ns exceed 2^53); the engine converts.
      supportBigNumbers: true,
      bigNumberStrings: true,
      ...(url.params.ssl === 'true' || url.params.tls === 'true' ? { ssl: {} } : {}),
    });
    // Every connection: READ COMMITTED, strict SQL so bad values fail instead of truncating, and
    // on MariaDB the idle-transaction limit (see IDLE_IN_TRANSACTION_MS; whole seconds there).
    // Bounded too: the first statement of ours waits behind them.
    const setup = statementTimeoutMs > 0 ? { timeout: statementTimeoutMs } : {};
    const idleLimit = statementTimeoutMs > 0 ? onMariadb(`, SESSION idle_transaction_timeout = ${Math.max(1, Math.ceil(idleInTransactionMs / 1000))}`) : '';
    // The event hands over the callback-style connection under the promise pool.
    pool.on('connection', (promised) => {
      const conn = promised as unknown as { query(options: { sql: string; timeout?: number }, done: (err: unknown) => void): void };
      const failed = (err: unknown) => { if (err) dropSocket(conn); };
      conn.query({ sql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', ...setup }, failed);
      conn.query({ sql: `SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION' ${idleLimit}`, ...setup }, failed);
    });
    const driver = new MysqlDriver(url, pool, statementTimeoutMs);
    try {
      // The probe is bounded like every statement: a server that accepts and then says nothing is
      // refused within seconds.
      await driver.read((c) => c.get('SELECT 1'));
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw connectionFailure(err, driver.#where, url.database, url.user ?? 'root', 'mysql');
    }
    return driver;
  }

  async transaction<T>(body: (c: SqlConn) => Promise<T>, options?: CallOptions): Promise<T> {
    this.#live();
    return this.#inTransaction(['START TRANSACTION'], this.#where, boundFor(this.#bound, options), true, body);
  }

  async read<T>(body: (c: SqlConn) => Promise<T>, options?: CallOptions): Promise<T> {
    this.#live();
    return body(options?.bulk ? this.#readConn(boundFor(this.#bound, options)) : this.#reads);
  }

  async snapshot<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    this.#live();
    // Without the idle limit (its reader may be slowed by where it writes), on a connection that
    // is then closed rather than given back without it.
    const begin = [`SET @strata_snapshot = 1 ${onMariadb(', SESSION idle_transaction_timeout = 0')}`, 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY'];
    return this.#inTransaction(begin, null, boundFor(this.#bound, { bulk: true }), false, body);
  }

  async #inTransaction<T>(begin: string[], where: string | null, bound: Bound, reusable: boolean, body: (c: SqlConn) => Promise<T>): Promise<T> {
    const conn = await this.#pool.getConnection().catch((err: unknown) => { throw connectionFailure(err, this.#where); });
    const next = transactionQueue((sql, values) => bounded(bound, conn, sql, values));
    const pooled = {
      query: (sql: string) => next(sql),
      done: (broken: boolean) => (broken || !reusable ? conn.destroy() : conn.release()),
    };
    return pooledTransaction(pooled, { begin, lost: (err) => this.dialect.connectionLost(err), where, commitBehindIsSafe: true }, (commitBehind) => body(new Conn({ query: ({ sql }, values) => next(sql, values) }, commitBehind)));
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
