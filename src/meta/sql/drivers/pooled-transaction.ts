// One transaction on a connection taken from a server's pool, the same way for every server:
// begin, the body, commit. BEGIN goes out with the body's first statement, and where a COMMIT
// sent before the last statement's answer cannot commit a failed transaction, right behind it:
// on a connection that pipelines, each saves a round trip. A connection lost once COMMIT may have
// been sent is CommitUnknown (the change may have been applied: never retried blindly); any other
// failure rolls back; a connection that failed in any way is closed, not given back to the pool.
import { CommitUnknown, NotSent } from './failures.js';

export interface PooledConnection {
  /** Statements are sent in the order of the calls, whether or not earlier ones were answered. */
  query(sql: string): Promise<unknown>;
  /** Give it back to the pool, or close it when `broken`. */
  done(broken: boolean): void;
}

export interface TransactionShape {
  /** The statements that open it. */
  begin: readonly string[];
  /** Does this error mean the connection is gone? */
  lost(err: unknown): boolean;
  /** The server, as messages name it; null for a read-only transaction (nothing to be unknown). */
  where: string | null;
  /** A COMMIT sent right behind the last statement, before its answer, takes effect only if
   * every statement before it succeeded: PostgreSQL aborts the whole transaction at a failed
   * statement; the MySQL driver sends the two in one batch, which the server stops at its first
   * failure (MySQL itself rolls back just the failed statement). Where it is not, the COMMIT
   * waits for the answer. */
  commitBehindIsSafe: boolean;
}

/** Runs the transaction's last statement; the commit follows it (see TransactionShape). `last`
 * must hand its statement to the connection before it first awaits anything: the COMMIT is handed
 * over right after it returns, and must not overtake it. */
export type CommitBehind = <R>(last: () => Promise<R>) => Promise<R>;

export async function pooledTransaction<T>(conn: PooledConnection, shape: TransactionShape, body: (commitBehind: CommitBehind) => Promise<T>): Promise<T> {
  let broken = false;
  let committing = false;
  const commitFailed = (err: unknown): unknown => {
    // A COMMIT the driver never sent: what happened is the earlier failure, and nothing committed.
    const sent = !(err instanceof NotSent);
    const cause = sent ? err : err.cause;
    if (!shape.lost(cause)) return cause;
    broken = true;
    return sent && shape.where !== null ? new CommitUnknown(shape.where, cause) : cause;
  };
  async function commitBehind<R>(last: () => Promise<R>): Promise<R> {
    if (!shape.commitBehindIsSafe || committing) return last();
    committing = true;
    const answer = last();
    const commit = conn.query('COMMIT');
    let failure: unknown = null;
    const value = await answer.catch((err: unknown) => { failure = err; return undefined; });
    // A failed last statement turned the COMMIT into a rollback: its error says what happened,
    // unless the connection went (then the COMMIT's fate is unknown).
    await commit.catch((err: unknown) => { throw commitFailed(err); });
    if (failure !== null) throw shape.lost(failure) ? commitFailed(failure) : failure;
    return value as R;
  }
  try {
    const begun = Promise.all(shape.begin.map((sql) => conn.query(sql)));
    // Answered (or failed) before the body's first statement is; checked below.
    begun.catch(() => undefined);
    const result = await body(commitBehind);
    await begun;
    if (!committing) {
      committing = true;
      await conn.query('COMMIT').catch((err: unknown) => { throw commitFailed(err); });
    }
    return result;
  } catch (err) {
    if (!broken && !shape.lost(err)) await conn.query('ROLLBACK').catch(() => { broken = true; });
    else broken = true;
    throw err;
  } finally {
    conn.done(broken);
  }
}
