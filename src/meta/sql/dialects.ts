// The three dialects: the few pieces of SQL that differ, and which errors mean what.
import type { Dialect } from './driver.js';
import { memo } from './memo.js';
import { addCounters } from './tx.js';

const codeOf = (err: unknown): string => String((err as { code?: unknown })?.code ?? '');
const errnoOf = (err: unknown): number => Number((err as { errno?: unknown })?.errno ?? 0);
const messageOf = (err: unknown): string => String((err as { message?: unknown })?.message ?? '');

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
/** An INSERT's rows: one of parameters, or what `select` finds. */
const rowSource = (cols: readonly string[], select?: string) => select ?? `VALUES (${placeholders(cols.length)})`;

/** Assignments written with `old(col)` (the row's current value) and `new(col)` (the value that
 * was to be inserted), made concrete. */
function assignments(updates: readonly string[], oldValue: (column: string) => string, newValue: (column: string) => string): string {
  return updates.map((u) => u.replace(/old\((\w+)\)/g, (_m, c: string) => oldValue(c)).replace(/new\((\w+)\)/g, (_m, c: string) => newValue(c))).join(', ');
}

/** Failures of the socket or the server process: retried only when nothing may have committed. */
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN', 'ECONNABORTED']);

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  forUpdate: '',
  returning: true,
  // SQLite's default collation compares bytes.
  binary: (c) => c,
  insertIgnore: memo((t: string, cols: readonly string[]) => `INSERT OR IGNORE INTO ${t} (${cols.join(', ')}) VALUES (${placeholders(cols.length)})`),
  // A SELECT as the source needs its WHERE clause here: SQLite would read ON as a join's.
  upsert: memo((t: string, cols: readonly string[], key: readonly string[], updates: readonly string[], select?: string) =>
    `INSERT INTO ${t} (${cols.join(', ')}) ${rowSource(cols, select)} ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${assignments(updates, (c) => c, (c) => `excluded.${c}`)}`),
  retryable: (err) => ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED'].includes(codeOf(err)),
  duplicate: (err) => ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'].includes(codeOf(err)),
  connectionLost: () => false,
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  forUpdate: ' FOR UPDATE',
  returning: true,
  binary: (c) => `${c} COLLATE "C"`,
  // The version row is taken after the counters (v reads c), as the separate statements would.
  bumpAndLog: memo((counters: number) => counters === 0
    ? 'WITH v AS (UPDATE vstate SET version = version + 1 RETURNING version) INSERT INTO changes (version, op, time_ms, body) SELECT version, ?, ?, ? FROM v RETURNING version'
    : `WITH c AS (${addCounters(counters)} RETURNING 1), v AS (UPDATE vstate SET version = version + 1 WHERE (SELECT count(*) FROM c) >= 0 RETURNING version) INSERT INTO changes (version, op, time_ms, body) SELECT version, ?, ?, ? FROM v RETURNING version`),
  insertIgnore: memo((t: string, cols: readonly string[]) => `INSERT INTO ${t} (${cols.join(', ')}) VALUES (${placeholders(cols.length)}) ON CONFLICT DO NOTHING`),
  upsert: memo((t: string, cols: readonly string[], key: readonly string[], updates: readonly string[], select?: string) =>
    `INSERT INTO ${t} AS cur (${cols.join(', ')}) ${rowSource(cols, select)} ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${assignments(updates, (c) => `cur.${c}`, (c) => `EXCLUDED.${c}`)}`),
  // serialization_failure, deadlock_detected, lock_not_available
  retryable: (err) => ['40001', '40P01', '55P03'].includes(codeOf(err)),
  duplicate: (err) => codeOf(err) === '23505',
  // admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now, connection_exception*
  connectionLost: (err) => ['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004'].includes(codeOf(err))
    || NETWORK.has(codeOf(err)) || /Connection terminated|connection timeout|Client has encountered a connection error/i.test(messageOf(err)),
};

export const mysqlDialect: Dialect = {
  name: 'mysql',
  forUpdate: ' FOR UPDATE',
  // MariaDB has it for INSERT and DELETE only, MySQL not at all.
  returning: false,
  // Text columns are created utf8mb4_bin.
  binary: (c) => c,
  // INSERT IGNORE would also turn other errors into warnings; a no-op update does not.
  insertIgnore: memo((t: string, cols: readonly string[]) => `INSERT INTO ${t} (${cols.join(', ')}) VALUES (${placeholders(cols.length)}) ON DUPLICATE KEY UPDATE ${cols[0]} = ${cols[0]}`),
  upsert: memo((t: string, cols: readonly string[], _key: readonly string[], updates: readonly string[], select?: string) =>
    `INSERT INTO ${t} (${cols.join(', ')}) ${rowSource(cols, select)} ON DUPLICATE KEY UPDATE ${assignments(updates, (c) => `${t}.${c}`, (c) => `VALUES(${c})`)}`),
  // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, ER_CHECKREAD (MariaDB: record changed since read)
  retryable: (err) => [1213, 1205, 1020].includes(errnoOf(err)),
  duplicate: (err) => errnoOf(err) === 1062,
  // server gone away, lost connection, connection killed, server shutdown
  // mysql2 marks an error fatal when its connection is unusable; a statement on a connection the
  // server already closed (an idle transaction it ended) fails that way with no code at all.
  connectionLost: (err) => [2006, 2013, 1927, 1053, 4031].includes(errnoOf(err)) || NETWORK.has(codeOf(err))
    || ['PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN'].includes(codeOf(err))
    || (err as { fatal?: unknown } | null)?.fatal === true,
};
