// The change log replays exactly: applying every version's rows, in order, to an empty copy of
// the schema gives the same rows in every replicated table as the volume itself — renames within
// a directory (a key change), RENAME_EXCHANGE, hard links, the trash, truncation, holes, clones
// and xattrs included — and secrets never appear in it.
import { compactionPlan } from '../../src/vfs/compaction.js';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatMeta, ROOT_INODE, type ChangeEntry, type Meta } from '../../src/meta/index.js';
import { LOGGED_TABLES } from '../../src/meta/sql/schema.js';
import { MIGRATIONS } from '../../src/meta/sql/sqlite-migrations.js';

const REG = 0o100644;
const DIR = 0o040755;

let dir: string;
let meta: Meta;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-replay-'));
  path = join(dir, 'meta.db');
  meta = (await formatMeta(`sqlite3://${path}`, { name: 'r', storage: 'file:///x', trashDays: 1, storageCredentials: '{"secretKey":"SECRET-in-settings"}' })).meta;
});

afterEach(async () => {
  await meta.close();
  await rm(dir, { recursive: true, force: true });
});

/** Apply the log to an empty schema, row by row. */
function replay(entries: ChangeEntry[]): Database.Database {
  const db = new Database(':memory:');
  for (const m of MIGRATIONS) {
    if (typeof m === 'string') db.exec(m);
    else m(db);
  }
  let last = 0;
  for (const e of entries) {
    expect(e.version).toBe(last + 1);
    last = e.version;
    for (const { table, kind, row } of e.rows) {
      const spec = LOGGED_TABLES[table]!;
      const value = (c: string) => {
        const v = row[c];
        if (spec.blobs?.includes(c)) return Buffer.from(String(v), 'hex');
        if (spec.int64?.includes(c)) return BigInt(String(v));
        return v;
      };
      // By the logged key, as any engine would apply it: a put replaces the row at its key (and
      // must not collide with another row), a delete removes the key.
      db.prepare(`DELETE FROM ${table} WHERE ${spec.key.map((k) => `${k} = ?`).join(' AND ')}`).run(...spec.key.map(value));
      if (kind === 'put') {
        db.prepare(`INSERT INTO ${table} (${spec.columns.join(', ')}) VALUES (${spec.columns.map(() => '?').join(', ')})`).run(...spec.columns.map(value));
      }
    }
  }
  return db;
}

function tableRows(db: Database.Database, table: string): unknown[] {
  const spec = LOGGED_TABLES[table]!;
  const where = table === 'settings' ? " WHERE name != 'storageCredentials'" : '';
  return db.prepare(`SELECT ${spec.columns.join(', ')} FROM ${table}${where} ORDER BY ${spec.key.join(', ')}`).safeIntegers(true).all();
}

async function expectReplayEqual(): Promise<void> {
  const log = await meta.changes(0, 1_000_000);
  expect(JSON.stringify(log)).not.toContain('SECRET');
  const replica = replay(log);
  const source = new Database(path, { readonly: true });
  try {
    for (const table of Object.keys(LOGGED_TABLES)) expect(tableRows(replica, table), table).toEqual(tableRows(source, table));
  } finally {
    source.close();
    replica.close();
  }
}

async function write(ino: number, chunk: number, pos: number, len: number): Promise<void> {
  const id = await meta.newSliceId();
  await meta.commitSlice(ino, chunk, { id, size: len, pos, off: 0, len }, chunk * 64 * 1024 * 1024 + pos + len);
}

/** Compaction's swap of chunk 0 (metadata only: the new slice's bytes are not stored here). */
async function compact(ino: number): Promise<void> {
  const slices = await meta.readChunk(ino, 0);
  const plan = compactionPlan(slices, 64 * 1024);
  if (!plan) return;
  const id = await meta.newSliceId();
  let off = 0;
  const pieces = plan.runs.map((r) => ({ id, size: plan.size, pos: r.pos, off: (off += r.len) - r.len, len: r.len }));
  await meta.compactChunk(ino, 0, slices, pieces);
}

describe('change-log replay', () => {
  it('a scripted workload: rename in place, exchange, links, trash, truncate, holes, clones, xattrs', async () => {
    const d = await meta.mkdir(ROOT_INODE, 'd', { mode: DIR, uid: 0, gid: 0 });
    const a = await meta.mknod(d.ino, 'a', { mode: REG, uid: 0, gid: 0 });
    await write(a.ino, 0, 0, 5000);
    await meta.rename(d.ino, 'a', d.ino, 'a2', 0, 0);
    const b = await meta.mknod(d.ino, 'b', { mode: REG, uid: 0, gid: 0 });
    await meta.rename(d.ino, 'a2', d.ino, 'b', 2, 0);
    await meta.link(a.ino, ROOT_INODE, 'hard');
    await meta.setxattr(a.ino, 'user.k', Buffer.from([1, 2, 255]), 0);
    await meta.truncate(a.ino, 100);
    await meta.punchHole(a.ino, 10, 20);
    await meta.cloneRanges(b.ino, [{ src: a.ino, srcOffset: 0, dstOffset: 50, length: 100 }]);
    await meta.unlink(d.ino, 'a2', 0);
    await meta.configure({ trashDays: 2, storageCredentials: '{"secretKey":"SECRET-again"}' });
    await meta.rename(ROOT_INODE, 'd', ROOT_INODE, 'd2', 0, 0);
    await meta.emptyTrash(0);
    await meta.removexattr(a.ino, 'user.k');
    await expectReplayEqual();
  });

  it('random workloads replay to the same tables', async () => {
    const name = fc.constantFrom('a', 'b', 'c', 'd');
    const op = fc.oneof(
      fc.record({ k: fc.constant('create' as const), n: name, dir: fc.boolean() }),
      fc.record({ k: fc.constant('rename' as const), from: name, to: name, flags: fc.constantFrom(0, 1, 2) }),
      fc.record({ k: fc.constant('unlink' as const), n: name }),
      fc.record({ k: fc.constant('link' as const), from: name, to: name }),
      fc.record({ k: fc.constant('write' as const), n: name, pos: fc.nat(10_000), len: fc.integer({ min: 1, max: 5000 }) }),
      fc.record({ k: fc.constant('truncate' as const), n: name, size: fc.nat(20_000) }),
      fc.record({ k: fc.constant('xattr' as const), n: name, v: fc.uint8Array({ maxLength: 8 }) }),
      fc.record({ k: fc.constant('emptyTrash' as const) }),
      fc.record({ k: fc.constant('compact' as const), n: name }),
      fc.record({ k: fc.constant('attach' as const), n: name, size: fc.integer({ min: 1, max: 9000 }) }),
    );
    let round = 0;
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
      const top = await meta.mkdir(ROOT_INODE, `round-${round++}`, { mode: DIR, uid: 0, gid: 0 });
      const ino = async (n: string) => (await meta.lookup(top.ino, n).catch(() => null))?.ino ?? null;
      for (const o of ops) {
        await (async () => {
          if (o.k === 'create') await (o.dir ? meta.mkdir(top.ino, o.n, { mode: DIR, uid: 0, gid: 0 }) : meta.mknod(top.ino, o.n, { mode: REG, uid: 0, gid: 0 }));
          else if (o.k === 'rename') await meta.rename(top.ino, o.from, top.ino, o.to, o.flags, 0);
          else if (o.k === 'unlink') await meta.unlink(top.ino, o.n, 0);
          else if (o.k === 'link') await meta.link((await ino(o.from)) ?? -1, top.ino, o.to);
          else if (o.k === 'write') await write((await ino(o.n)) ?? -1, 0, o.pos, o.len);
          else if (o.k === 'truncate') await meta.truncate((await ino(o.n)) ?? -1, o.size);
          else if (o.k === 'xattr') await meta.setxattr((await ino(o.n)) ?? -1, 'user.x', o.v, 0);
          else if (o.k === 'compact') await compact((await ino(o.n)) ?? -1);
          else if (o.k === 'attach') await meta.attachObject((await ino(o.n)) ?? -1, [{ id: await meta.newSliceId(), object: `src/${o.n}`, off: 7, size: o.size, etag: 'v1' }]);
          else await meta.emptyTrash(0);
        })().catch(() => undefined);
      }
      await expectReplayEqual();
      // Whatever the history, the engine's own rows agree with its counts and counters.
      expect(await meta.checkVolume(false)).toEqual([]);
    }), { numRuns: 40 });
  });
});
