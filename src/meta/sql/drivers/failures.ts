// What a failure to reach a metadata server means, said so a user can act on it: the server is
// down or unreachable, the password is wrong, the database does not exist.
import { errnoError } from '../../../errors/errno.js';
import type { CallOptions } from '../driver.js';

const codeOf = (err: unknown): string => String((err as { code?: unknown })?.code ?? '');
const errnoOf = (err: unknown): number => Number((err as { errno?: unknown })?.errno ?? 0);
const messageOf = (err: unknown): string => String((err as { message?: unknown })?.message ?? err);

/** The error for a connection (or first query) that failed. */
export function connectionFailure(err: unknown, where: string, database?: string, user?: string, kind?: 'postgres' | 'mysql'): Error {
  const code = codeOf(err);
  const errno = errnoOf(err);
  if (code === 'ECONNREFUSED') return errnoError('ECONNREFUSED', 'open', undefined, `cannot reach ${where}: connection refused. Is the server running and listening there?`, err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return errnoError('EHOSTUNREACH', 'open', undefined, `cannot reach ${where}: the host name does not resolve`, err);
  if (code === 'ETIMEDOUT' || /timeout/i.test(messageOf(err))) return errnoError('ETIMEDOUT', 'open', undefined, `cannot reach ${where}: no answer within the connect timeout`, err);
  if (code === 'ENOENT' && /\.s\.PGSQL|sock/.test(messageOf(err))) return errnoError('ECONNREFUSED', 'open', undefined, `cannot reach ${where}: no server socket there. Is the server running?`, err);
  // PostgreSQL: invalid_password, invalid_authorization_specification; MySQL: access denied.
  if (code === '28P01' || code === '28000' || errno === 1045 || errno === 1044) {
    return errnoError('EACCES', 'open', undefined, `${where} refused user "${user ?? '?'}": wrong password or no access to database "${database ?? '?'}"`, err);
  }
  // PostgreSQL: invalid_catalog_name; MySQL: unknown database.
  if (code === '3D000' || errno === 1049) {
    const how = kind === 'mysql' ? `CREATE DATABASE ${database}` : `createdb ${database}`;
    return errnoError('ENOENT', 'open', undefined, `database "${database ?? '?'}" does not exist on ${where}: create it first (${how})`, err);
  }
  return errnoError('EIO', 'open', undefined, `cannot use ${where}: ${messageOf(err)}`, err);
}

/** The connection broke while COMMIT was on its way: the change may or may not have been applied,
 * so it must not be run again blindly. */
export class CommitUnknown extends Error {
  readonly code = 'EIO';
  readonly errno = 5;
  readonly syscall = 'commit';
  readonly commitUnknown = true;

  constructor(where: string, cause: unknown) {
    super(`the connection to ${where} was lost while committing: the change may or may not have been applied (${messageOf(cause)})`);
    this.cause = cause;
  }
}

/** A statement the driver never sent, because an earlier one of its transaction had failed with
 * `cause`: what happened is that failure (a COMMIT never sent cannot have committed anything). */
export class NotSent extends Error {
  readonly code = 'EIO';
  readonly errno = 5;

  constructor(cause: unknown) {
    super(`not sent: an earlier statement of its transaction failed (${messageOf(cause)})`);
    this.cause = cause;
  }
}

/** How long a statement may go unanswered before its connection is given up as dead, unless the
 * caller says otherwise. A server host that vanished (power, partition, a failover that moved its
 * address) or a server process that stopped never resets the connection: without a bound every
 * metadata call, and every process using a mount, would wait for TCP to give up, or forever.
 * Metadata statements take milliseconds; a row lock held longer than this belongs to a client
 * that is itself stalled (the server ends its transaction after IDLE_IN_TRANSACTION_MS; the
 * engine retries until then). Snapshots and bulk calls have no bound. */
export const STATEMENT_TIMEOUT_MS = 20_000;

/** How long the server lets a transaction of ours sit idle between two statements before it ends
 * the session and rolls the transaction back. Our transactions send their statements back to
 * back, so such a client is frozen (SIGSTOP, a suspended VM or laptop, a partition that left its
 * socket open): the row locks it holds — the volume's version row among them — would otherwise
 * stop every other host's changes until TCP keepalive notices, hours later. Well inside the
 * statement bound, so that the clients waiting on those locks get through on their retry instead
 * of failing. A client that wakes afterwards finds its connection gone and runs the transaction
 * again: a false alarm costs a retry. Snapshots, whose reader may be slowed by where it writes,
 * lift it. */
export const IDLE_IN_TRANSACTION_MS = 10_000;

export const CONNECT_TIMEOUT_MS = 5000;

/** The bounds a server driver is opened with. */
export interface ServerLimits {
  /** How long a new connection may take (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a statement may go unanswered (default STATEMENT_TIMEOUT_MS; 0: no bound, and no
   * idle limit either). */
  statementTimeoutMs?: number;
  /** How long a transaction may sit idle on the server (default IDLE_IN_TRANSACTION_MS). */
  idleInTransactionMs?: number;
}

/** How long a statement waits for its answer: `ms` (0: no bound), said by `where` when it fails. */
export interface StatementBound { ms: number; where: string }

/** The bound of a call's statements: none for bulk work. */
export function boundFor(bound: StatementBound, options?: CallOptions): StatementBound {
  return options?.bulk ? { ms: 0, where: bound.where } : bound;
}

/** The error of a statement its driver gave up on after `ms` (pg: 'Query read timeout'; mysql2:
 * PROTOCOL_SEQUENCE_TIMEOUT), said as what it means; its connection is closed, not reused. Other
 * errors are returned as they are. ETIMEDOUT counts as a lost connection in every dialect. */
export function statementStalled(err: unknown, where: string, ms: number): unknown {
  if (codeOf(err) !== 'PROTOCOL_SEQUENCE_TIMEOUT' && messageOf(err) !== 'Query read timeout') return err;
  return errnoError('ETIMEDOUT', 'meta', undefined, `no answer from ${where} for ${Math.round(ms / 100) / 10} s: the server is stalled or unreachable; the connection was closed`, err);
}
