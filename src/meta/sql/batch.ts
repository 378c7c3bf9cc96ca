// Statements of one transaction sent together (one round trip where the connection pipelines),
// and the rules that keep that as safe as sending them one by one.
import { errnoError } from '../../errors/errno.js';
import type { SqlConn, SqlValue } from './driver.js';

/** Like Promise.all, but the failure reported is the first one in the order given, and only once
 * every element has settled. After a failed statement PostgreSQL fails the rest with "current
 * transaction is aborted", which may arrive first; and an element that is a helper of several
 * steps may still send statements after its first answer: the transaction must not end (ROLLBACK
 * queued ahead of them) until they are done. */
export async function inOrder<T extends readonly unknown[] | []>(values: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(values);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** A transaction's connection that refuses statements once `seal` is called (when the body has
 * settled): one sent later by a helper still running would reach the server after COMMIT or
 * ROLLBACK, outside any transaction (MySQL runs it in autocommit), or inside the connection's
 * next transaction. */
export function sealable(c: SqlConn): { conn: SqlConn; seal(): void } {
  let sealed = false;
  const refuse = (): Promise<never> => Promise.reject(errnoError('EIO', 'meta', undefined, 'a statement came after its transaction had ended; it was not sent'));
  const conn: SqlConn = {
    all: <T>(sql: string, params?: readonly SqlValue[]) => (sealed ? refuse() : c.all<T>(sql, params)),
    get: <T>(sql: string, params?: readonly SqlValue[]) => (sealed ? refuse() : c.get<T>(sql, params)),
    run: (sql: string, params?: readonly SqlValue[]) => (sealed ? refuse() : c.run(sql, params)),
    insertId: (sql: string, params: readonly SqlValue[], idColumn: string) => (sealed ? refuse() : c.insertId(sql, params, idColumn)),
    last: <T>(sql: string, params?: readonly SqlValue[]) => (sealed ? refuse() : c.last<T>(sql, params)),
  };
  return { conn, seal: () => { sealed = true; } };
}
