// The MySQL / MariaDB driver (mysql2): a small pool; transactions at READ COMMITTED with the
// engine's explicit row locks, for the reason the PostgreSQL driver gives (REPEATABLE READ would
// also make plain reads in a transaction see an old snapshot next to locking reads that see the
// latest rows).
import mysql from 'mysql2/promise';
import type { MysqlMetaUrl } from '../../../config/urls.js';
import { errnoError } from '../../../errors/errno.js';
import { mysqlDialect } from '../dialects.js';
import type { SqlConn, SqlDriver, SqlValue } from '../driver.js';
import { connectionFailure } from './failures.js';
import { pooledTransaction } from './pooled-transaction.js';

const POOL_SIZE = 8;
const CONNECT_TIMEOUT_MS = 5000;

const param = (v: SqlValue): unknown => (typeof v === 'bigint' ? v.toString() : v);

interface Queryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

class Conn implements SqlConn {
  constructor(private readonly q: Queryable) {}

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const [rows] = await this.q.query(sql, params.map(param));
    return rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const [r] = await this.q.query(sql, params.map(param));
    return (r as mysql.ResultSetHeader).affectedRows;
  }

  async insertId(sql: string, params: readonly SqlValue[]): Promise<number> {
    const [r] = await this.q.query(sql, params.map(param));
    return Number((r as mysql.ResultSetHeader).insertId);
  }

  last<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.get<T>(sql, params);
  }
}

export class MysqlDriver implements SqlDriver {
  readonly dialect = mysqlDialect;
  readonly url: string;
  readonly #pool: mysql.Pool;
  readonly #reads: Conn;
  readonly #where: string;
  #closed = false;

  private constructor(url: MysqlMetaUrl, pool: mysql.Pool) {
    this.url = url.url;
    this.#pool = pool;
    this.#reads = new Conn(pool as unknown as Queryable);
    this.#where = `MySQL at ${url.params.socket ?? `${url.host}:${url.port}`}`;
  }

  static async open(url: MysqlMetaUrl, connectTimeoutMs = CONNECT_TIMEOUT_MS): Promise<MysqlDriver> {
    const pool = mysql.createPool({
      ...(url.params.socket ? { socketPath: url.params.socket } : { host: url.host, port: url.port }),
      user: url.user ?? 'root',
      // As the mysql client: the password may stay out of the URL (and out of ps and shell history).
      password: url.password ?? process.env.MYSQL_PWD,
      database: url.database,
      connectionLimit: POOL_SIZE,
      connectTimeout: connectTimeoutMs,
      charset: 'utf8mb4',
      // 64-bit integers as strings (times in ns exceed 2^53); the engine converts.
      supportBigNumbers: true,
      bigNumberStrings: true,
      ...(url.params.ssl === 'true' || url.params.tls === 'true' ? { ssl: {} } : {}),
    });
    // Every connection: READ COMMITTED, and strict SQL so bad values fail instead of truncating.
    pool.on('connection', (conn) => {
      conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'");
    });
    const driver = new MysqlDriver(url, pool);
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw connectionFailure(err, driver.#where, url.database, url.user ?? 'root', 'mysql');
    }
    return driver;
  }

  async transaction<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    this.#live();
    return this.#inTransaction(['START TRANSACTION'], this.#where, body);
  }

  async read<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    this.#live();
    return body(this.#reads);
  }

  async snapshot<T>(body: (c: SqlConn) => Promise<T>): Promise<T> {
    this.#live();
    return this.#inTransaction(['SET TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY'], null, body);
  }

  async #inTransaction<T>(begin: string[], where: string | null, body: (c: SqlConn) => Promise<T>): Promise<T> {
    const conn = await this.#pool.getConnection().catch((err: unknown) => { throw connectionFailure(err, this.#where); });
    const pooled = {
      query: (sql: string) => conn.query(sql),
      done: (broken: boolean) => (broken ? conn.destroy() : conn.release()),
    };
    return pooledTransaction(pooled, { begin, lost: (err) => this.dialect.connectionLost(err), where, abortsOnError: false }, () => body(new Conn(conn as unknown as Queryable)));
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
