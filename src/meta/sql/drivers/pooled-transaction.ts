// One transaction on a connection taken from a server's pool, the same way for every server:
// begin, the body, commit. A connection lost during COMMIT is CommitUnknown (the change may have
// been applied: never retried blindly); any other failure rolls back; a connection that failed
// in any way is closed, not given back to the pool.
import { CommitUnknown } from './failures.js';

export interface PooledConnection {
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
}

export async function pooledTransaction<T>(conn: PooledConnection, shape: TransactionShape, body: () => Promise<T>): Promise<T> {
  let broken = false;
  try {
    for (const sql of shape.begin) await conn.query(sql);
    const result = await body();
    try {
      await conn.query('COMMIT');
    } catch (err) {
      if (shape.lost(err)) {
        broken = true;
        if (shape.where !== null) throw new CommitUnknown(shape.where, err);
      }
      throw err;
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
