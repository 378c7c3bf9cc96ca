// The MySQL driver sends the statements of a transaction that the engine starts together as one
// multi-statement query: one round trip instead of one per statement (mysql2 waits for each
// answer before it sends the next). What that must keep, on a real MariaDB: every statement gets
// its own answer; the server stops a batch at its first failing statement and nothing behind it
// runs; nothing but a ROLLBACK is sent after a failure; a COMMIT sent behind a failing last
// statement commits nothing.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetaUrl, type MysqlMetaUrl } from '../../src/config/urls.js';
import { inOrder } from '../../src/meta/sql/batch.js';
import type { SqlDriver } from '../../src/meta/sql/driver.js';
import { transactionQueue } from '../../src/meta/sql/drivers/mysql.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { engineNeed, metaUrlFor } from '../helpers/engines.js';

const needs = engineNeed('mysql');

describe.skipIf(needs.skip)('MySQL driver: statements started together', () => {
  let url: MysqlMetaUrl;
  let driver: SqlDriver;

  beforeAll(async () => {
    needs.check();
    url = parseMetaUrl(await metaUrlFor('mysql', '')) as MysqlMetaUrl;
    driver = (await openDriver(url, { create: true })).driver;
    await driver.transaction(async (c) => {
      await c.run('CREATE TABLE t (k INT PRIMARY KEY, v VARCHAR(20))');
    });
    // Not transactional: what a statement wrote there stays, whatever happens to its transaction.
    await driver.transaction(async (c) => {
      await c.run('CREATE TABLE side (k INT) ENGINE=MyISAM');
    });
  });

  afterAll(async () => {
    await driver?.close();
  });

  async function reset(): Promise<void> {
    await driver.transaction(async (c) => {
      await c.run('DELETE FROM t');
      await c.run('DELETE FROM side');
    });
  }

  const rows = async (table: string) => driver.read((c) => c.all<{ k: number }>(`SELECT k FROM ${table} ORDER BY k`));

  it('go out as one query, and each gets its own answer', async () => {
    await reset();
    const conn = await mysql.createConnection({ host: url.host, port: url.port, user: url.user, password: url.password, database: url.database, multipleStatements: true });
    try {
      const sent: string[] = [];
      const next = transactionQueue(async (sql, values) => {
        sent.push(sql);
        return await conn.query({ sql }, values) as [unknown, unknown];
      });
      const begun = next('START TRANSACTION');
      const inserted = next('INSERT INTO t (k, v) VALUES (?, ?)', [1, "it's; one"]);
      const updated = next('UPDATE t SET v = ? WHERE k = ?', ['two', 1]);
      const read = next('SELECT k, v FROM t WHERE k = ?', [1]);
      const [, ins, upd, sel] = await Promise.all([begun, inserted, updated, read]);
      await next('COMMIT');
      expect(sent).toHaveLength(2);
      expect(sent[0]).toMatch(/^START TRANSACTION;\nINSERT .*;\nUPDATE .*;\nSELECT /s);
      expect((ins[0] as mysql.ResultSetHeader).affectedRows).toBe(1);
      expect((upd[0] as mysql.ResultSetHeader).affectedRows).toBe(1);
      expect(sel[0]).toEqual([{ k: 1, v: 'two' }]);
      expect(await rows('t')).toEqual([{ k: 1 }]);
    } finally {
      await conn.end();
    }
  });

  it('a failing statement stops its batch: the statements behind it never run', async () => {
    await reset();
    const err = await driver.transaction(async (c) => {
      await inOrder([
        c.run('INSERT INTO t (k) VALUES (1)'),
        c.run('INSERT INTO t (k) VALUES (1)'),
        c.run('INSERT INTO side (k) VALUES (1)'),
      ]);
    }).catch((e: unknown) => e);
    expect(driver.dialect.duplicate(err)).toBe(true);
    expect(await rows('t')).toEqual([]);
    expect(await rows('side')).toEqual([]);
  });

  it('after a failure nothing more is sent, even when the caller goes on', async () => {
    await reset();
    let later: unknown = null;
    const err = await driver.transaction(async (c) => {
      await c.run('INSERT INTO t (k) VALUES (1)');
      const dup = await c.run('INSERT INTO t (k) VALUES (1)').catch((e: unknown) => e);
      later = await c.run('INSERT INTO side (k) VALUES (2)').catch((e: unknown) => e);
      throw dup;
    }).catch((e: unknown) => e);
    expect(driver.dialect.duplicate(err)).toBe(true);
    expect(later).toBe(err);
    expect(await rows('side')).toEqual([]);
    expect(await rows('t')).toEqual([]);
  });

  it('a COMMIT sent behind a failing last statement commits nothing of the transaction', async () => {
    await reset();
    const err = await driver.transaction(async (c) => {
      const first = c.run('INSERT INTO t (k) VALUES (1)');
      const second = c.run('INSERT INTO t (k) VALUES (2)');
      const last = c.last('INSERT INTO t (k) VALUES (1)');
      await inOrder([first, second, last]);
    }).catch((e: unknown) => e);
    expect(driver.dialect.duplicate(err)).toBe(true);
    expect(await rows('t')).toEqual([]);
  });

  it('a transaction whose COMMIT failed is rolled back on its connection, which serves the next one', async () => {
    await reset();
    let failedOn = 0;
    const err = await driver.transaction(async (c) => {
      failedOn = Number((await c.get<{ id: unknown }>('SELECT CONNECTION_ID() AS id'))!.id);
      await inOrder([c.run('INSERT INTO t (k) VALUES (1)'), c.last('INSERT INTO t (k) VALUES (1)')]);
    }).catch((e: unknown) => e);
    expect(driver.dialect.duplicate(err)).toBe(true);
    // The pool hands out the connection given back last: the same one, unless it was closed.
    const next = await driver.transaction(async (c) => {
      const id = Number((await c.get<{ id: unknown }>('SELECT CONNECTION_ID() AS id'))!.id);
      await inOrder([c.run('INSERT INTO t (k) VALUES (3)'), c.last('INSERT INTO t (k) VALUES (4)')]);
      return id;
    });
    expect(next).toBe(failedOn);
    expect(await rows('t')).toEqual([{ k: 3 }, { k: 4 }]);
  });

  it('a COMMIT never sent, behind a connection lost mid-transaction, is a plain lost connection (retried), not an unknown commit', async () => {
    await reset();
    const err = await driver.transaction(async (c) => {
      const id = Number((await c.get<{ id: unknown }>('SELECT CONNECTION_ID() AS id'))!.id);
      const slow = c.run('DO SLEEP(5)');
      // Once the sleep is out, the last statement and its COMMIT wait behind it.
      await new Promise((r) => setImmediate(r));
      // The last statement's outcome, with its COMMIT's, is what the transaction reports.
      const settled = inOrder([c.last('INSERT INTO t (k) VALUES (1)'), slow]);
      // It may fail before the KILL is answered; it is judged below.
      settled.catch(() => undefined);
      await driver.read((r) => r.run(`KILL CONNECTION ${id}`));
      await settled;
    }).catch((e: unknown) => e);
    expect(driver.dialect.connectionLost(err)).toBe(true);
    expect((err as { commitUnknown?: boolean }).commitUnknown).toBeUndefined();
    expect(await rows('t')).toEqual([]);
  });
});
