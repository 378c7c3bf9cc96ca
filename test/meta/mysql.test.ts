// The metadata engine on MariaDB (MySQL): the shared conformance suite, each volume in a database of
// its own on the run's server.
import { databases } from '../helpers/databases.js';
import mysql from 'mysql2/promise';
import { formatMeta, openMeta, ROOT_INODE } from '../../src/meta/index.js';
import { MYSQL_NO_PAD_COLLATIONS, mysqlCollationUpgrade, SCHEMA_VERSION } from '../../src/meta/sql/schema.js';
import { S_IFREG } from '../../src/vfs/constants.js';
import { metaConformance, type MetaFactoryOptions } from './conformance.js';
import { describe, beforeAll, expect, it } from 'vitest';

const my = databases('mysql');

describe.skipIf(my.skip)('MariaDB (MySQL)', () => {
  beforeAll(() => my.check());
  metaConformance('mysql', async (options: MetaFactoryOptions = {}) => {
    const url = await my.fresh('conf');
    const { meta } = await formatMeta(url, { name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: options.trashDays ?? 0 });
    return { meta, reopen: () => openMeta(url), cleanup: async () => undefined };
  });
});

describe.skipIf(my.skip)('MariaDB (MySQL): names compare without padding', () => {
  beforeAll(() => my.check());

  it('a volume made with a PAD SPACE collation ("a" = "a ") is converted when opened, and then keeps both names apart', async () => {
    const url = await my.fresh('pad');
    const { meta } = await formatMeta(url, { name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: 0 });
    await meta.close();
    // As volumes were made before: every text column utf8mb4_bin.
    const conn = await mysql.createConnection(url);
    const collation = async () => ((await conn.query("SELECT COLLATION_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dentries' AND COLUMN_NAME = 'name'"))[0] as { c: string }[])[0]!.c;
    try {
      for (const sql of mysqlCollationUpgrade('utf8mb4_bin')) await conn.query(sql);
      expect(await collation()).toBe('utf8mb4_bin');
      const reopened = await openMeta(url);
      try {
        expect(MYSQL_NO_PAD_COLLATIONS as readonly string[]).toContain(await collation());
        const a = await reopened.mknod(ROOT_INODE, 'x', { mode: S_IFREG | 0o644, uid: 0, gid: 0 });
        const b = await reopened.mknod(ROOT_INODE, 'x ', { mode: S_IFREG | 0o644, uid: 0, gid: 0 });
        expect(a.ino).not.toBe(b.ino);
      } finally {
        await reopened.close();
      }
    } finally {
      await conn.end();
    }
  });
});

describe.skipIf(my.skip)('MariaDB (MySQL): a volume of an older schema', () => {
  beforeAll(() => my.check());

  it('a volume made at schema 3 gets the imported-slices and event-queue tables when opened, and works', async () => {
    const url = await my.fresh('v3');
    const { meta } = await formatMeta(url, { name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: 0 });
    await meta.close();
    const conn = await mysql.createConnection(url);
    try {
      await conn.query('DROP TABLE external_slices');
      await conn.query('DROP TABLE event_queue');
      await conn.query('DROP TABLE event_targets');
      await conn.query('UPDATE schema_info SET version = 3');
      const reopened = await openMeta(url);
      try {
        const f = await reopened.mknod(ROOT_INODE, 'f', { mode: S_IFREG | 0o644, uid: 0, gid: 0 });
        await reopened.attachObject(f.ino, [{ id: await reopened.newSliceId(), object: 'k', off: 0, size: 10, etag: 'e' }]);
        expect((await reopened.readChunk(f.ino, 0))[0].ext?.object).toBe('k');
        expect(await reopened.queueEvents([{ target: 't', key: 'b/k', body: '{}' }])).toBe(true);
        expect((await reopened.eventStats()).map((s) => s.depth)).toEqual([1]);
      } finally {
        await reopened.close();
      }
      expect(((await conn.query('SELECT version FROM schema_info'))[0] as { version: number }[])[0]!.version).toBe(SCHEMA_VERSION);
    } finally {
      await conn.end();
    }
  });
});
