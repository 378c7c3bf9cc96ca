// A driver for a metadata URL, with its database's schema checked: SQLite files are created and
// migrated by their driver; a server database gets the schema created when a volume is formatted
// into it, and is refused when it holds something else or a newer schema.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MetaUrl } from '../../config/urls.js';
import { errnoError } from '../../errors/errno.js';
import type { CallOptions, SqlConn, SqlDriver } from './driver.js';
import { MysqlDriver } from './drivers/mysql.js';
import { PostgresDriver } from './drivers/postgres.js';
import { SqliteDriver } from './drivers/sqlite.js';
import { MYSQL_NO_PAD_COLLATIONS, mysqlCollationUpgrade, SCHEMA_VERSION, serverSchema, serverUpgrade, TABLES } from './schema.js';

/** Creating and upgrading the schema: an ALTER of a big table takes as long as it takes. */
const BULK: CallOptions = { bulk: true };

export interface OpenOptions {
  /** Create the database (SQLite) or the schema (servers) if there is none. */
  create?: boolean;
  /** SQLite: fsync every metadata transaction. */
  durable?: boolean;
  /** Servers: how long a new connection may take (default 5 s). */
  connectTimeoutMs?: number;
  /** Servers: how long a statement may go unanswered before its connection is given up as dead
   * (default STATEMENT_TIMEOUT_MS, 20 s; 0: no bound). */
  statementTimeoutMs?: number;
  /** Servers: how long a transaction may sit idle before the server ends it (default
   * IDLE_IN_TRANSACTION_MS, 10 s). */
  idleInTransactionMs?: number;
}

/** The driver, and whether the database holds no volume yet. */
export async function openDriver(url: MetaUrl, options: OpenOptions = {}): Promise<{ driver: SqlDriver; empty: boolean }> {
  switch (url.kind) {
    case 'sqlite': {
      if (options.create && url.path !== ':memory:') mkdirSync(dirname(url.path), { recursive: true });
      return SqliteDriver.open(url.path, url.url, options);
    }
    case 'postgres':
    case 'mysql': {
      const driver = url.kind === 'postgres'
        ? await PostgresDriver.open(url, options)
        : await MysqlDriver.open(url, options);
      try {
        return { driver, empty: await ensureServerSchema(driver, options.create === true) };
      } catch (err) {
        await driver.close().catch(() => undefined);
        throw err;
      }
    }
    default:
      throw errnoError('ENOSYS', 'open', undefined, `${url.url}: ${url.kind} metadata is not supported; use sqlite3://, postgres:// or mysql://`);
  }
}

async function tablesIn(c: SqlConn, dialect: string): Promise<string[]> {
  const sql = dialect === 'postgres'
    ? 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()'
    : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()';
  return (await c.all<{ name?: string; NAME?: string; TABLE_NAME?: string }>(sql)).map((r) => String(r.name ?? r.NAME ?? r.TABLE_NAME).toLowerCase());
}

/** Check (or, with `create`, make) the schema; true when no volume is formatted there yet. */
async function ensureServerSchema(driver: SqlDriver, create: boolean): Promise<boolean> {
  const dialect = driver.dialect.name as 'postgres' | 'mysql';
  const tables = await driver.read((c) => tablesIn(c, dialect));
  if (tables.length > 0 && !tables.includes('schema_info')) {
    throw errnoError('EINVAL', 'open', undefined, `${driver.url} holds tables that are not a Strata volume (${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}); refusing to touch them: use an empty database`);
  }
  if (tables.length === 0) {
    if (!create) throw errnoError('ENOENT', 'open', undefined, `${driver.url} holds no Strata volume: format one first with "strata format URL NAME"`);
    await createSchema(driver, dialect);
    return true;
  }
  const found = Number((await driver.read((c) => c.get<{ version: unknown }>('SELECT version FROM schema_info')))?.version ?? 0);
  if (found > SCHEMA_VERSION) {
    throw errnoError('EINVAL', 'open', undefined,
      `the volume at ${driver.url} has metadata schema version ${found}, newer than this build of Strata understands (${SCHEMA_VERSION}); upgrade Strata`);
  }
  if (found < SCHEMA_VERSION) {
    const collation = dialect === 'mysql' ? await noPadCollation(driver) ?? 'utf8mb4_bin' : undefined;
    // Another client may be upgrading too: what it made first is taken as made, and the new
    // version is recorded only once every table is there.
    let failure: unknown = null;
    for (const sql of serverUpgrade(dialect, found, collation)) await driver.transaction((c) => c.run(sql), BULK).catch((err: unknown) => { failure ??= err; });
    tables.push(...await driver.read((c) => tablesIn(c, dialect)));
    const lacking = Object.keys(TABLES).filter((t) => !tables.includes(t));
    if (lacking.length > 0) {
      throw errnoError('EIO', 'open', undefined, `could not upgrade the metadata schema of ${driver.url} from version ${found} to ${SCHEMA_VERSION} (${(failure as Error | null)?.message ?? 'tables missing'}); check that the user may create tables`);
    }
    await driver.transaction((c) => c.run('UPDATE schema_info SET version = ? WHERE version < ?', [SCHEMA_VERSION, SCHEMA_VERSION]), BULK);
  }
  const missing = Object.keys(TABLES).filter((t) => !tables.includes(t));
  if (missing.length > 0) throw errnoError('EIO', 'open', undefined, `${driver.url} lacks the tables ${missing.join(', ')}: the metadata is damaged`);
  if (dialect === 'mysql') await upgradeMysqlCollation(driver);
  const formatted = await driver.read(async (c) => (await c.get('SELECT 1 AS x FROM settings LIMIT 1')) !== undefined);
  if (!formatted && !create) throw errnoError('ENOENT', 'open', undefined, `${driver.url} holds no Strata volume: format one first with "strata format URL NAME"`);
  return !formatted;
}

/** The best no-pad binary collation this MySQL/MariaDB server has (null: none). */
async function noPadCollation(driver: SqlDriver): Promise<string | null> {
  const rows = await driver.read((c) => c.all<{ name?: string; NAME?: string }>(
    `SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (${MYSQL_NO_PAD_COLLATIONS.map(() => '?').join(', ')})`, [...MYSQL_NO_PAD_COLLATIONS]));
  const have = new Set(rows.map((r) => String(r.name ?? r.NAME)));
  return MYSQL_NO_PAD_COLLATIONS.find((c) => have.has(c)) ?? null;
}

/** Volumes made before names compared without padding ("a" = "a ", so writing one overwrote the
 * other) get their text columns converted once. No two names of such a volume differ only by
 * trailing spaces (the unique keys forbade it), so the conversion cannot collide. */
async function upgradeMysqlCollation(driver: SqlDriver): Promise<void> {
  const current = await driver.read((c) => c.get<{ name?: string; NAME?: string }>(
    "SELECT COLLATION_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dentries' AND COLUMN_NAME = 'name'"));
  const now = String(current?.name ?? current?.NAME ?? '');
  if ((MYSQL_NO_PAD_COLLATIONS as readonly string[]).includes(now)) return;
  const target = await noPadCollation(driver);
  if (target === null) return;
  await driver.read(async (c) => {
    for (const sql of mysqlCollationUpgrade(target)) await c.run(sql);
  }, BULK);
}

async function createSchema(driver: SqlDriver, dialect: 'postgres' | 'mysql'): Promise<void> {
  const statements = serverSchema(dialect, dialect === 'mysql' ? await noPadCollation(driver) ?? 'utf8mb4_bin' : undefined);
  if (dialect === 'postgres') {
    // DDL is transactional in PostgreSQL: all tables or none.
    await driver.transaction(async (c) => {
      for (const sql of statements) await c.run(sql);
    }, BULK);
    return;
  }
  // MySQL commits each CREATE by itself: a failure part way drops what was made.
  try {
    await driver.read(async (c) => {
      for (const sql of statements) await c.run(sql);
    }, BULK);
  } catch (err) {
    await driver.read(async (c) => {
      for (const t of [...Object.keys(TABLES), 'schema_info']) await c.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    }, BULK);
    throw err;
  }
}
