// Events into a PostgreSQL or MySQL/MariaDB table: access format appends a row per event, namespace
// format keeps a row per object, its last event. The format rules are shared; the dialects differ
// only in their statements (MySQL cannot index TEXT whole, so it keys on the key's SHA-256).
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { DEFAULT_TABLE, publishFailure, namespaceChange, recordsDocument, targetArn, type DeliveredEvent, type EventTarget, type TargetFormat, type TargetSpec } from './target.js';

/** Two connections at most: batches to one target go one at a time anyway. */
const POOL_SIZE = 2;
const CONNECT_TIMEOUT_MS = 5000;
const STATEMENT_TIMEOUT_MS = 30_000;

type Statement = [sql: string, params: unknown[]];
type Run = (statement: Statement) => Promise<void>;

interface Dialect {
  createTable(format: TargetFormat, table: string): string;
  upsert(table: string, key: string, document: string): Statement;
  remove(table: string, key: string): Statement;
  append(table: string, time: Date, document: string): Statement;
}

interface Database {
  /** Run `body` in one transaction. A connection that failed is dropped, not reused. */
  transaction(body: (run: Run) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

const postgresDialect: Dialect = {
  createTable: (format, table) => format === 'namespace'
    ? `CREATE TABLE IF NOT EXISTS "${table}" (key TEXT PRIMARY KEY, value JSONB NOT NULL)`
    : `CREATE TABLE IF NOT EXISTS "${table}" (id BIGSERIAL PRIMARY KEY, event_time TIMESTAMPTZ NOT NULL, event_data JSONB NOT NULL)`,
  upsert: (table, key, document) => [`INSERT INTO "${table}" (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, document]],
  remove: (table, key) => [`DELETE FROM "${table}" WHERE key = $1`, [key]],
  append: (table, time, document) => [`INSERT INTO "${table}" (event_time, event_data) VALUES ($1, $2)`, [time, document]],
};

const keyHash = (key: string): string => createHash('sha256').update(key).digest('hex');

const mysqlDialect: Dialect = {
  createTable: (format, table) => format === 'namespace'
    ? `CREATE TABLE IF NOT EXISTS \`${table}\` (key_hash CHAR(64) PRIMARY KEY, key_name TEXT NOT NULL, value JSON NOT NULL) DEFAULT CHARSET = utf8mb4`
    : `CREATE TABLE IF NOT EXISTS \`${table}\` (id BIGINT AUTO_INCREMENT PRIMARY KEY, event_time DATETIME(3) NOT NULL, event_data JSON NOT NULL) DEFAULT CHARSET = utf8mb4`,
  // VALUES() rather than an alias: MariaDB has no INSERT ... AS alias.
  upsert: (table, key, document) => [`INSERT INTO \`${table}\` (key_hash, key_name, value) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE key_name = VALUES(key_name), value = VALUES(value)`, [keyHash(key), key, document]],
  remove: (table, key) => [`DELETE FROM \`${table}\` WHERE key_hash = ?`, [keyHash(key)]],
  append: (table, time, document) => [`INSERT INTO \`${table}\` (event_time, event_data) VALUES (?, ?)`, [time, document]],
};

function postgresDatabase(url: string): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'strata-events',
  });
  // An idle connection that breaks is dropped by the pool; unheard, the error would end the process.
  pool.on('error', () => undefined);
  return {
    async transaction(body) {
      const client = await pool.connect();
      let failed: unknown = null;
      const onError = (err: unknown): void => { failed ??= err; };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        await body(async ([sql, params]) => { await client.query(sql, params); });
        await client.query('COMMIT');
      } catch (err) {
        failed ??= err;
        throw err;
      } finally {
        client.off('error', onError);
        // Dropping the connection rolls back: no ROLLBACK to send over one that may be broken.
        client.release(failed === null ? undefined : (failed as Error));
      }
    },
    close: () => pool.end(),
  };
}

function mysqlDatabase(url: string): Database {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: POOL_SIZE,
    maxIdle: POOL_SIZE,
    connectTimeout: CONNECT_TIMEOUT_MS,
    charset: 'utf8mb4',
    // Event times stored as UTC, whatever this machine's time zone.
    timezone: 'Z',
  });
  return {
    async transaction(body) {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        await body(async ([sql, params]) => { await conn.query({ sql, values: params, timeout: STATEMENT_TIMEOUT_MS }); });
        await conn.commit();
      } catch (err) {
        // Dropping the connection rolls back: no ROLLBACK to send over one that may be broken.
        conn.destroy();
        throw err;
      }
      conn.release();
    },
    close: () => pool.end(),
  };
}

export class SqlTarget implements EventTarget {
  readonly type: 'postgres' | 'mysql';
  readonly id: string;
  readonly arn: string;
  readonly describe: string;
  readonly #format: TargetFormat;
  readonly #table: string;
  readonly #dialect: Dialect;
  readonly #database: Database;
  /** Made on the first publish that reaches the server; shared by publishes meanwhile. */
  #tableReady: Promise<void> | null = null;
  #closed = false;

  constructor(spec: TargetSpec & { type: 'postgres' | 'mysql' }) {
    this.type = spec.type;
    this.id = spec.id;
    this.arn = targetArn(spec.type, spec.id);
    this.describe = spec.describe;
    this.#format = spec.format;
    this.#table = spec.table ?? DEFAULT_TABLE;
    this.#dialect = spec.type === 'postgres' ? postgresDialect : mysqlDialect;
    this.#database = spec.type === 'postgres' ? postgresDatabase(spec.url) : mysqlDatabase(spec.url);
  }

  async publish(events: readonly DeliveredEvent[]): Promise<void> {
    try {
      if (this.#closed) throw new Error('the target is closed');
      const statements = events.flatMap((event) => this.#statements(event));
      if (statements.length === 0) return;
      await this.#createTable();
      await this.#database.transaction(async (run) => {
        for (const statement of statements) await run(statement);
      });
    } catch (err) {
      throw publishFailure(this, err);
    }
  }

  #statements(event: DeliveredEvent): Statement[] {
    const d = this.#dialect;
    if (this.#format === 'access') return [d.append(this.#table, event.time, recordsDocument(event))];
    const change = namespaceChange(event);
    if (change === null) return [];
    return [change === 'remove' ? d.remove(this.#table, event.key) : d.upsert(this.#table, event.key, recordsDocument(event))];
  }

  #createTable(): Promise<void> {
    this.#tableReady ??= this.#database.transaction((run) => run([this.#dialect.createTable(this.#format, this.#table), []]))
      .catch((err: unknown) => {
        this.#tableReady = null;
        throw err;
      });
    return this.#tableReady;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#database.close();
  }
}
