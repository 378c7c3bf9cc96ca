// Metadata servers that are down, refuse us, hold something else or a newer schema, or drop our
// connection mid-transaction: each is a clear error naming the server or the cause, within
// seconds, and nothing is half-formatted or half-applied.
import pgClient from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMetaUrl } from '../../src/config/urls.js';
import { formatMeta, openMeta, ROOT_INODE, type Meta } from '../../src/meta/index.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import type { SqlDriver } from '../../src/meta/sql/driver.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { databases, type ServerKind } from '../helpers/databases.js';
import { freePort, STRATA_PASSWORD, STRATA_USER } from '../../bench/servers.js';
import { startDelayProxy } from '../../bench/delay-proxy.js';

const REQ = { name: 'f', storage: 'file:///tmp/x', trashDays: 0 };
const opened: Meta[] = [];

afterAll(async () => {
  for (const m of opened) await m.close().catch(() => undefined);
});

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string; ms: number }> {
  const t = Date.now();
  try {
    await p;
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message, ms: Date.now() - t };
  }
  throw new Error('expected a failure');
}

for (const kind of ['postgres', 'mysql'] as ServerKind[]) {
  const dbs = databases(kind);
  const scheme = kind === 'postgres' ? 'postgres' : 'mysql';
  const name = kind === 'postgres' ? 'PostgreSQL' : 'MySQL';

  describe.skipIf(dbs.skip)(`${name}: bad servers and bad databases`, () => {
    it('an unreachable server: ECONNREFUSED naming host and port, within seconds', async () => {
      dbs.check();
      const port = await freePort();
      for (const call of [() => openMeta(`${scheme}://${STRATA_USER}:x@127.0.0.1:${port}/nothing`), () => formatMeta(`${scheme}://${STRATA_USER}:x@127.0.0.1:${port}/nothing`, REQ)]) {
        const f = await failure(call());
        expect(f.code).toBe('ECONNREFUSED');
        expect(f.message).toContain(`127.0.0.1:${port}`);
        expect(f.ms).toBeLessThan(10_000);
      }
    });

    it('a wrong password: EACCES naming the user, and the password never in the message', async () => {
      const url = await dbs.fresh('pw');
      const bad = url.replace(STRATA_PASSWORD, 'not-the-password');
      const f = await failure(formatMeta(bad, REQ));
      expect(f.code).toBe('EACCES');
      expect(f.message).toContain(`"${STRATA_USER}"`);
      expect(f.message).not.toContain('not-the-password');
    });

    it(`the password may come from ${kind === 'postgres' ? 'PGPASSWORD' : 'MYSQL_PWD'} instead of the URL`, async () => {
      const url = await dbs.fresh('envpw');
      const bare = url.replace(`:${STRATA_PASSWORD}@`, '@');
      expect(bare).not.toContain(STRATA_PASSWORD);
      const variable = kind === 'postgres' ? 'PGPASSWORD' : 'MYSQL_PWD';
      const before = process.env[variable];
      process.env[variable] = STRATA_PASSWORD;
      try {
        await formatMeta(bare, REQ);
        const m = await openMeta(bare);
        opened.push(m);
        expect((await m.settings()).name).toBe('f');
      } finally {
        if (before === undefined) delete process.env[variable];
        else process.env[variable] = before;
      }
    });

    it('a database that does not exist: ENOENT saying how to create it (MySQL tells a user without rights only "no access")', async () => {
      const url = (await dbs.fresh('x')).replace(/\/[^/]+$/, '/no_such_database');
      const f = await failure(openMeta(url));
      if (kind === 'postgres') {
        expect(f.code).toBe('ENOENT');
        expect(f.message).toMatch(/"no_such_database" does not exist .*create it first/);
      } else {
        expect(f.code).toBe('EACCES');
        expect(f.message).toMatch(/no access to database "no_such_database"/);
      }
    });

    it('a database holding other tables is refused and left alone', async () => {
      const url = await dbs.fresh('other');
      const db = url.split('/').at(-1)!;
      await dbs.admin().admin(`CREATE TABLE ${kind === 'postgres' ? `public.notes` : 'notes'} (id INT PRIMARY KEY, body TEXT)`, db);
      if (kind === 'postgres') await dbs.admin().admin(`ALTER TABLE notes OWNER TO ${STRATA_USER}`, db);
      for (const call of [() => formatMeta(url, REQ), () => openMeta(url)]) {
        const f = await failure(call());
        expect(f.code).toBe('EINVAL');
        expect(f.message).toMatch(/not a Strata volume.*notes/);
      }
      expect((await dbs.admin().admin(kind === 'postgres' ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'" : 'SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()', db)).trim()).toBe('1');
    });

    it('a newer schema is refused, naming both versions', async () => {
      const url = await dbs.fresh('newer');
      const { meta } = await formatMeta(url, REQ);
      await meta.close();
      await dbs.admin().admin('UPDATE schema_info SET version = 99', url.split('/').at(-1)!);
      const f = await failure(openMeta(url));
      expect(f.code).toBe('EINVAL');
      expect(f.message).toMatch(/version 99, newer than .*upgrade Strata/);
    });
  });
}

const pg = databases('postgres');
describe.skipIf(pg.skip)('PostgreSQL: backends terminated mid-transaction', () => {
  it('each call succeeds, is retried, or fails with EIO saying the outcome is unknown; nothing is half-applied', async () => {
    const url = await pg.fresh('kill');
    const { meta } = await formatMeta(url, REQ);
    opened.push(meta);
    const db = url.split('/').at(-1)!;
    let stop = false;
    let kills = 0;
    const killer = (async () => {
      while (!stop) {
        const out = await pg.admin().admin(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'strata' AND state <> 'idle'`, db).catch(() => '0');
        kills += Number(out.trim() || 0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const outcomes: Record<string, number> = {};
    const deadline = Date.now() + 4000;
    for (let i = 0; Date.now() < deadline; i++) {
      const code = await meta.mkdir(ROOT_INODE, `d${i}`, { mode: 0o040755, uid: 0, gid: 0 })
        .then(() => meta.rename(ROOT_INODE, `d${i}`, ROOT_INODE, `e${i}`, 0, 0))
        .then(() => 'ok', (e: { code?: string; message?: string }) => (e.code === 'EIO' && /may or may not/.test(String(e.message)) ? 'EIO unknown outcome' : `${e.code}: ${e.message}`));
      outcomes[code] = (outcomes[code] ?? 0) + 1;
    }
    stop = true;
    await killer;
    expect(kills).toBeGreaterThan(0);
    expect(Object.keys(outcomes).filter((k) => k !== 'ok' && k !== 'EIO unknown outcome' && !k.startsWith('EEXIST') && !k.startsWith('ENOENT'))).toEqual([]);
    expect(outcomes.ok).toBeGreaterThan(10);
    const { driver } = await openDriver(parseMetaUrl(url));
    expect(await consistencyProblems(driver)).toEqual([]);
    await driver.close();
  }, 60_000);
});

describe.skipIf(pg.skip)('PostgreSQL: the last statement of a transaction fails', () => {
  it('the COMMIT sent right behind it rolls everything back, and the retry applies the change once', async () => {
    const url = await pg.fresh('last');
    const db = url.split('/').at(-1)!;
    // Every strata connection gives up on a lock after 100 ms (lock_not_available: retried).
    await pg.admin().admin(`ALTER DATABASE ${db} SET lock_timeout = '100ms'`, db);
    const { meta } = await formatMeta(url, REQ);
    opened.push(meta);
    const holder = new pgClient.Client({ connectionString: url });
    await holder.connect();
    // Outside the holder's transaction, which would see one snapshot of the activity.
    const watcher = new pgClient.Client({ connectionString: url });
    await watcher.connect();
    try {
      // The version row, which a change takes with its last statement.
      await holder.query('BEGIN');
      await holder.query('SELECT version FROM vstate FOR UPDATE');
      const made = meta.mkdir(ROOT_INODE, 'held', { mode: 0o040755, uid: 0, gid: 0 });
      // Each attempt is a transaction of its own: several starts seen means it failed and was retried.
      const attempts = new Set<string>();
      for (let i = 0; i < 35; i++) {
        const r = await watcher.query("SELECT xact_start::text AS t FROM pg_stat_activity WHERE datname = $1 AND application_name = 'strata' AND xact_start IS NOT NULL", [db]);
        for (const row of r.rows) attempts.add(row.t);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(attempts.size).toBeGreaterThan(1);
      await holder.query('COMMIT');
      await made;
      const names = await holder.query("SELECT count(*)::int AS n FROM dentries WHERE name = 'held'");
      expect(names.rows[0].n).toBe(1);
      const logged = await holder.query("SELECT count(*)::int AS n FROM changes WHERE op = 'mkdir'");
      expect(logged.rows[0].n).toBe(1);
    } finally {
      await holder.end();
      await watcher.end();
    }
    const { driver } = await openDriver(parseMetaUrl(url));
    expect(await consistencyProblems(driver)).toEqual([]);
    await driver.close();
  }, 60_000);
});

// A server whose host vanished (power, a partition, a failover that moved its address) resets
// nothing: without a bound on each statement every call would wait for TCP to give up, or
// forever. A proxy that goes silent plays it; the shared test server itself keeps running.
for (const kind of ['postgres', 'mysql'] as ServerKind[]) {
  const dbs = databases(kind);
  const name = kind === 'postgres' ? 'PostgreSQL' : 'MySQL';
  describe.skipIf(dbs.skip)(`${name}: a server that goes silent`, () => {
    it('reads fail with ETIMEDOUT naming the server, changes with EIO, within seconds; nothing half-applied, and all works once it answers again', async () => {
      const direct = await dbs.fresh('silent');
      await (await formatMeta(direct, REQ)).meta.close();
      const port = Number(new URL(direct).port);
      const link = await startDelayProxy({ targetPort: port, delayMs: 0 });
      const url = direct.replace(`:${port}/`, `:${link.port}/`);
      const meta = await openMeta(url, { statementTimeoutMs: 500, connectTimeoutMs: 500, connectionRetryMs: 2000 });
      opened.push(meta);
      try {
        // Side by side, so that the pool keeps several connections: the calls below find open
        // ones that go silent under them, not only new ones that never get through.
        await Promise.all(['before', 'b1', 'b2'].map((n) => meta.mkdir(ROOT_INODE, n, { mode: 0o040755, uid: 0, gid: 0 })));
        link.stall();
        const read = await failure(meta.getattr(ROOT_INODE));
        expect(read.code).toBe('ETIMEDOUT');
        expect(read.message).toContain(`127.0.0.1:${link.port}`);
        expect(read.message).toMatch(/no answer .* stalled or unreachable/);
        expect(read.ms).toBeLessThan(5_000);
        // Retried on new connections (which open, then hear nothing) until the retry time is up.
        const change = await failure(meta.mkdir(ROOT_INODE, 'during', { mode: 0o040755, uid: 0, gid: 0 }));
        expect(change.code).toBe('EIO');
        expect(change.message).toMatch(/kept failing|may or may not/);
        expect(change.ms).toBeLessThan(10_000);
        // Opening the volume again is refused as quickly.
        const reopen = await failure(openMeta(url, { statementTimeoutMs: 500, connectTimeoutMs: 500 }));
        expect(reopen.code).toBe('ETIMEDOUT');
        expect(reopen.message).toContain(`127.0.0.1:${link.port}`);
        expect(reopen.ms).toBeLessThan(5_000);
        link.restore();
        expect((await meta.getattr(ROOT_INODE)).ino).toBe(ROOT_INODE);
        await meta.mkdir(ROOT_INODE, 'after', { mode: 0o040755, uid: 0, gid: 0 });
        const names = (await meta.readdir(ROOT_INODE, 0, 100)).map((e) => e.name);
        expect(names).toEqual(expect.arrayContaining(['before', 'after']));
        // Not a byte of it reached the server.
        expect(names).not.toContain('during');
      } finally {
        link.restore();
        await link.stop();
      }
      const { driver } = await openDriver(parseMetaUrl(direct));
      expect(await consistencyProblems(driver)).toEqual([]);
      await driver.close();
    }, 60_000);
  });
}

// A client frozen mid-transaction (SIGSTOP, a suspended VM, a partition that leaves its socket
// open) holds the row locks it took: the version row stops every other host's changes. The server
// must end that transaction after the idle limit, so that the others get through.
/** A transaction on `driver` that takes the version row (and moves it by 1000), then stops until
 * woken: once `holding` resolves, its client is as good as frozen. */
async function freeze(driver: SqlDriver): Promise<{ wake: () => void; failure: Promise<unknown> }> {
  let locked!: () => void;
  const holding = new Promise<void>((resolve) => { locked = resolve; });
  let wake!: () => void;
  const woken = new Promise<void>((resolve) => { wake = resolve; });
  const failure = driver.transaction(async (c) => {
    await c.run('UPDATE vstate SET version = version + 1000');
    locked();
    await woken;
    await c.get('SELECT 1 AS x');
  }).then(() => null, (err: unknown) => err);
  await holding;
  return { wake, failure };
}

for (const kind of ['postgres', 'mysql'] as ServerKind[]) {
  const dbs = databases(kind);
  const name = kind === 'postgres' ? 'PostgreSQL' : 'MySQL';
  describe.skipIf(dbs.skip)(`${name}: a client frozen mid-transaction`, () => {
    /** Another client's change, bounded short of the defaults: stuck behind the frozen client's
     * lock for good, it fails with EIO in seconds instead of waiting out the test. */
    async function changeBehind(url: string, dir: string): Promise<void> {
      const other = await openMeta(url, { statementTimeoutMs: 4000, connectionRetryMs: 8000 });
      opened.push(other);
      const t = Date.now();
      await other.mkdir(ROOT_INODE, dir, { mode: 0o040755, uid: 0, gid: 0 });
      // It did wait: the frozen transaction held the lock until the server ended it.
      expect(Date.now() - t).toBeGreaterThanOrEqual(800);
    }

    async function cutOff(frozen: { wake: () => void; failure: Promise<unknown> }, driver: SqlDriver): Promise<void> {
      frozen.wake();
      const err = await frozen.failure;
      expect(err).not.toBeNull();
      // What makes the engine run the transaction again on a new connection.
      expect(driver.dialect.connectionLost(err)).toBe(true);
    }

    it('is cut off by the server after its idle limit: the others\' changes go through, and nothing of its transaction stays', async () => {
      const url = await dbs.fresh('frozen');
      const { meta } = await formatMeta(url, REQ);
      opened.push(meta);
      const before = await meta.version();
      const { driver } = await openDriver(parseMetaUrl(url), { idleInTransactionMs: 1000 });
      const frozen = await freeze(driver);
      await changeBehind(url, 'after');
      await cutOff(frozen, driver);
      await driver.close();
      // Its bump was rolled back: only the mkdir moved the version.
      expect(await meta.version()).toBe(before + 1);
      const check = await openDriver(parseMetaUrl(url));
      expect(await consistencyProblems(check.driver)).toEqual([]);
      await check.driver.close();
    }, 60_000);

    it('a snapshot (dump, fsck) may sit idle past the limit, and the transactions after it still have it', async () => {
      const url = await dbs.fresh('frozensnap');
      const { meta } = await formatMeta(url, REQ);
      opened.push(meta);
      const { driver } = await openDriver(parseMetaUrl(url), { idleInTransactionMs: 1000 });
      const versions = await driver.snapshot(async (c) => {
        const first = await c.get<{ version: unknown }>('SELECT version FROM vstate');
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const again = await c.get<{ version: unknown }>('SELECT version FROM vstate');
        return [Number(first!.version), Number(again!.version)];
      });
      expect(versions[1]).toBe(versions[0]);
      const frozen = await freeze(driver);
      await changeBehind(url, 'after');
      await cutOff(frozen, driver);
      await driver.close();
    }, 60_000);
  });
}
