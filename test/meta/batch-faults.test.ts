// Statements of one transaction go out together where the connection pipelines. When one of them
// fails (a deadlock, a lost race), nothing of the transaction may stay behind: not the statements
// sent with it, and not those a helper sends after its own first answer. The retry then applies
// the change exactly once. A real server deadlocks only by chance, so the failure is injected in
// front of the real driver, as the server would deal it: the statement fails on the server, and
// the transaction is aborted (PostgreSQL) or rolled back whole (MySQL's deadlock victim, where
// the batch it went out in stops there; SQLite after some errors), so that anything still sent
// behind it would run in autocommit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMetaUrl } from '../../src/config/urls.js';
import { formatMeta, ROOT_INODE } from '../../src/meta/index.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import type { SqlConn, SqlDriver } from '../../src/meta/sql/driver.js';
import { SqlMeta } from '../../src/meta/sql/engine.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { engineNeed, metaUrlFor, type Engine } from '../helpers/engines.js';
import { withTransactions } from '../helpers/hooked-driver.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const deadlock = (code: string, message: string, errno?: number) => Object.assign(new Error(message), { code, ...(errno ? { errno } : {}) });

/** What the victim of a deadlock sees on connection `c` in place of its statement: the server has
 * rolled the transaction back (SQLite, MySQL) or aborted it (PostgreSQL) and answers with an
 * error. MySQL's is the server's own: a batch the statement went out in stops there. */
const DEADLOCK: Record<Engine, (c: SqlConn) => Promise<never>> = {
  sqlite: async (c) => {
    await c.run('ROLLBACK');
    throw deadlock('SQLITE_BUSY', 'database is locked');
  },
  postgres: async (c) => {
    await c.run('SELECT 1 FROM strata_no_such_table').catch(() => undefined);
    throw deadlock('40P01', 'deadlock detected');
  },
  mysql: async (c) => {
    await c.run("ROLLBACK; SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction'");
    throw new Error('the server did not fail the statement');
  },
};

/** `real`, with the first statement of a transaction matching `pattern` (once armed) answered as
 * a deadlock's victim (`victim`) instead. */
function failingOnce(real: SqlDriver, victim: (c: SqlConn) => Promise<never>): { driver: SqlDriver; arm(pattern: RegExp): void; fired(): boolean } {
  let armed: RegExp | null = null;
  let fired = false;
  const hit = (sql: string): boolean => {
    if (armed === null || !armed.test(sql)) return false;
    armed = null;
    fired = true;
    return true;
  };
  const wrap = (c: SqlConn): SqlConn => {
    const fail = (): Promise<never> => victim(c);
    return {
      all: (sql, params) => (hit(sql) ? fail() : c.all(sql, params)),
      get: (sql, params) => (hit(sql) ? fail() : c.get(sql, params)),
      run: (sql, params) => (hit(sql) ? fail() : c.run(sql, params)),
      insertId: (sql, params, id) => (hit(sql) ? fail() : c.insertId(sql, params, id)),
      last: (sql, params) => (hit(sql) ? fail() : c.last(sql, params)),
    };
  };
  return { driver: withTransactions(real, wrap), arm: (pattern) => { armed = pattern; }, fired: () => fired };
}

const dir = (mode = 0o755) => ({ mode: 0o040000 | mode, uid: 0, gid: 0 });
const file = () => ({ mode: 0o100644, uid: 0, gid: 0 });

for (const engine of ['sqlite', 'postgres', 'mysql'] as Engine[]) {
  const needs = engineNeed(engine);
  describe.skipIf(needs.skip)(`${engine}: a statement failing among statements sent together`, () => {
    async function setUp(): Promise<{ meta: SqlMeta; faults: ReturnType<typeof failingOnce>; check: () => Promise<string[]> }> {
      needs.check();
      const work = await mkdtemp(join(tmpdir(), 'strata-batch-faults-'));
      dirs.push(work);
      const url = await metaUrlFor(engine, work);
      await (await formatMeta(url, { name: 'f', storage: `file://${join(work, 'objects')}`, trashDays: 0 })).meta.close();
      const real = (await openDriver(parseMetaUrl(url))).driver;
      const faults = failingOnce(real, DEADLOCK[engine]);
      const meta = await SqlMeta.open(faults.driver);
      const check = async () => {
        await meta.close();
        const again = (await openDriver(parseMetaUrl(url))).driver;
        try {
          return await consistencyProblems(again);
        } finally {
          await again.close();
        }
      };
      return { meta, faults, check };
    }

    it('rename of a directory to another: the retry moves it once, and both link counts are right', async () => {
      const { meta, faults, check } = await setUp();
      const a = await meta.mkdir(ROOT_INODE, 'a', dir());
      const b = await meta.mkdir(ROOT_INODE, 'b', dir());
      await meta.mkdir(b.ino, 'other', dir());
      const sub = await meta.mkdir(a.ino, 'sub', dir());
      // In the batch of writes after the checks, ahead of both directories' stamps.
      faults.arm(/^DELETE FROM trash/);
      await meta.rename(a.ino, 'sub', b.ino, 'sub', 0, 0);
      expect(faults.fired()).toBe(true);
      expect((await meta.getattr(a.ino)).nlink).toBe(2);
      expect((await meta.getattr(b.ino)).nlink).toBe(4);
      expect((await meta.lookup(b.ino, 'sub')).ino).toBe(sub.ino);
      await expect(meta.lookup(a.ino, 'sub')).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await check()).toEqual([]);
    });

    it('unlink of a file\'s last name: the retry frees it once, and no name is left without its inode', async () => {
      const { meta, faults, check } = await setUp();
      const d = await meta.mkdir(ROOT_INODE, 'd', dir());
      await meta.mknod(d.ino, 'f', file());
      await meta.mknod(d.ino, 'g', file());
      // The name's removal, sent with the freeing of the inode (which reads first, then deletes).
      faults.arm(/^DELETE FROM dentries/);
      await meta.unlink(d.ino, 'f', 0);
      expect(faults.fired()).toBe(true);
      await expect(meta.lookup(d.ino, 'f')).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await meta.readdir(d.ino, 0, 10)).map((e) => e.name).filter((n) => n !== '.' && n !== '..')).toEqual(['g']);
      expect(await check()).toEqual([]);
    });

    it('mknod whose version bump fails (the last batch, COMMIT behind it): the retry creates it once', async () => {
      const { meta, faults, check } = await setUp();
      const d = await meta.mkdir(ROOT_INODE, 'd', dir());
      faults.arm(/vstate/);
      const f = await meta.mknod(d.ino, 'f', file());
      expect(faults.fired()).toBe(true);
      expect((await meta.lookup(d.ino, 'f')).ino).toBe(f.ino);
      expect((await meta.getattr(d.ino)).nlink).toBe(2);
      expect(await check()).toEqual([]);
    });

    it('rmdir: the retry removes it once, and the parent\'s link count is right', async () => {
      const { meta, faults, check } = await setUp();
      const d = await meta.mkdir(ROOT_INODE, 'd', dir());
      await meta.mkdir(d.ino, 'e', dir());
      await meta.mkdir(d.ino, 'keep', dir());
      faults.arm(/^DELETE FROM dentries/);
      await meta.rmdir(d.ino, 'e', 0);
      expect(faults.fired()).toBe(true);
      expect((await meta.getattr(d.ino)).nlink).toBe(3);
      expect((await meta.readdir(d.ino, 0, 10)).map((e) => e.name).filter((n) => n !== '.' && n !== '..')).toEqual(['keep']);
      expect(await check()).toEqual([]);
    });
  });
}
