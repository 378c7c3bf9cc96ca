// A real driver with one hook: it holds a transaction at a chosen statement (the server keeps the
// transaction's locks meanwhile), so that a race between two hosts can be played out in the
// order a test needs instead of hoped for. Also the wrapping that other fault-injecting drivers
// in tests share (withTransactions).
import { parseMetaUrl } from '../../src/config/urls.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import type { SqlConn, SqlDriver, SqlValue } from '../../src/meta/sql/driver.js';
import { SqlMeta } from '../../src/meta/sql/engine.js';
import { openDriver } from '../../src/meta/sql/open.js';

/** `real`, with a hook that runs after the first transaction statement matching `pattern` (and
 * `params`, when given) has been answered, before its caller sees the answer. */
export function hooked(real: SqlDriver): { driver: SqlDriver; after(pattern: RegExp, params: ((p: readonly SqlValue[]) => boolean) | null, hook: () => Promise<void>): void } {
  let armed: { pattern: RegExp; params: ((p: readonly SqlValue[]) => boolean) | null; hook: () => Promise<void> } | null = null;
  const take = (sql: string, params: readonly SqlValue[] = []): (() => Promise<void>) | null => {
    if (armed === null || !armed.pattern.test(sql) || (armed.params !== null && !armed.params(params))) return null;
    const { hook } = armed;
    armed = null;
    return hook;
  };
  const through = async <R>(sql: string, params: readonly SqlValue[] | undefined, run: () => Promise<R>): Promise<R> => {
    const hook = take(sql, params);
    const answer = await run();
    if (hook) await hook();
    return answer;
  };
  const wrap = (c: SqlConn): SqlConn => ({
    all: (sql, params) => through(sql, params, () => c.all(sql, params)),
    get: (sql, params) => through(sql, params, () => c.get(sql, params)),
    run: (sql, params) => through(sql, params, () => c.run(sql, params)),
    insertId: (sql, params, id) => through(sql, params, () => c.insertId(sql, params, id)),
    last: (sql, params) => through(sql, params, () => c.last(sql, params)),
  });
  return { driver: withTransactions(real, wrap), after: (pattern, params, hook) => { armed = { pattern, params, hook }; } };
}

/** `real`, with each transaction's connection seen through `wrap`; reads and the rest unchanged. */
export function withTransactions(real: SqlDriver, wrap: (c: SqlConn) => SqlConn): SqlDriver {
  return {
    dialect: real.dialect,
    url: real.url,
    transaction: (body, options) => real.transaction((c) => body(wrap(c)), options),
    read: (body, options) => real.read(body, options),
    snapshot: (body) => real.snapshot(body),
    ...(real.changeToken ? { changeToken: () => real.changeToken!() } : {}),
    close: () => real.close(),
  };
}

/** An engine on the volume at `url`, over its own hooked driver: one host of a race. */
export async function hookedMeta(url: string): Promise<ReturnType<typeof hooked> & { meta: SqlMeta }> {
  const h = hooked((await openDriver(parseMetaUrl(url))).driver);
  return { ...h, meta: await SqlMeta.open(h.driver) };
}

/** What the consistency check finds in the volume at `url` once the race is over. */
export async function problemsAt(url: string): Promise<string[]> {
  const driver = (await openDriver(parseMetaUrl(url))).driver;
  try {
    return await consistencyProblems(driver);
  } finally {
    await driver.close();
  }
}
