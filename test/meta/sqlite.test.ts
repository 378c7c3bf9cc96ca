// The SQLite engine: the shared conformance suite on real database files, plus what only a file
// database has (opening rules, schema versions, re-format, two engines on one file).
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatMeta, openMeta, ROOT_INODE, type FormatRequest, type Meta } from '../../src/meta/index.js';
import { SCHEMA_VERSION } from '../../src/meta/sql/schema.js';
import { metaConformance, type MetaFactoryOptions } from './conformance.js';

const REQ: FormatRequest = { name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: 0 };
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const file = { mode: S_IFREG | 0o644, uid: 1, gid: 1 };

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : `non-errno error: ${String(err)}`;
  }
}

/** The error a call rejects with. */
async function thrown(fn: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the call to fail');
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

metaConformance('sqlite', async (options: MetaFactoryOptions = {}) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-meta-'));
  const url = `sqlite3://${join(dir, 'meta.db')}`;
  const { meta, created } = await formatMeta(url, { ...REQ, trashDays: options.trashDays ?? 0 });
  expect(created).toBe(true);
  return {
    meta,
    reopen: async () => openMeta(url),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('SqliteMeta: opening and formatting', () => {
  let dir: string;
  let path: string;
  let url: string;
  const opened: Meta[] = [];
  const track = <T extends Meta>(m: T): T => {
    opened.push(m);
    return m;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-meta-'));
    path = join(dir, 'meta.db');
    url = `sqlite3://${path}`;
  });

  afterEach(async () => {
    for (const m of opened.splice(0)) await m.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('opening a missing database is ENOENT telling to run "strata format", and creates nothing', async () => {
    const err = await thrown(() => openMeta(url));
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain('strata format');
    expect(err.message).toContain(url);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    const deeper = `sqlite3://${join(dir, 'no', 'such', 'dir', 'meta.db')}`;
    expect((await thrown(() => openMeta(deeper))).code).toBe('ENOENT');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an SQLite database that is not a Strata volume, and leaves it untouched', async () => {
    const db = new Database(path);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('precious')");
    db.close();
    const before = sha(path);

    const onOpen = await thrown(() => openMeta(url));
    expect(onOpen.code).toBeDefined();
    expect(onOpen.message).toMatch(/not a Strata volume/);
    const onFormat = await thrown(() => formatMeta(url, REQ));
    expect(onFormat.code).toBe('EINVAL');
    expect(onFormat.message).toMatch(/not a Strata volume/);

    expect(readdirSync(dir)).toEqual(['meta.db']);
    expect(sha(path), 'the database file is byte for byte what it was').toBe(before);
    const check = new Database(path, { readonly: true });
    try {
      expect(check.prepare('SELECT body FROM notes').all()).toEqual([{ body: 'precious' }]);
      expect(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()).toEqual(['notes']);
      expect(check.pragma('user_version', { simple: true })).toBe(0);
      expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      check.close();
    }
  });

  it('refuses a database with a newer schema, naming both versions, and changes nothing', async () => {
    const { meta } = await formatMeta(url, REQ);
    await meta.mknod(ROOT_INODE, 'f', file);
    const version = await meta.version();
    await meta.close();
    const newer = SCHEMA_VERSION + 1;
    const raw = new Database(path);
    raw.pragma(`user_version = ${newer}`);
    raw.close();
    const before = sha(path);

    for (const attempt of [() => openMeta(url), () => formatMeta(url, REQ), () => formatMeta(url, REQ, true)]) {
      const err = await thrown(attempt);
      expect(err.code).toBeDefined();
      expect(err.message).toContain(`version ${newer}`);
      expect(err.message).toContain(String(SCHEMA_VERSION));
      expect(err.message).toMatch(/upgrade/i);
    }
    expect(sha(path)).toBe(before);
    const check = new Database(path, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(newer);
      expect(check.prepare('SELECT version FROM vstate').pluck().get()).toBe(version);
    } finally {
      check.close();
    }
  });

  it('re-format with the same settings is a no-op: created false, nothing changed', async () => {
    const first = await formatMeta(url, REQ);
    expect(first.created).toBe(true);
    expect(first.changed).toEqual([]);
    const settings = await first.meta.settings();
    expect(settings).toMatchObject({ name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: 0, schemaVersion: SCHEMA_VERSION });
    await first.meta.mknod(ROOT_INODE, 'keep', file);
    const version = await first.meta.version();
    await first.meta.close();

    for (const req of [REQ, { name: 't', storage: 'file:///tmp/x' }, { name: 't', storage: '' }]) {
      const again = await formatMeta(url, req);
      track(again.meta);
      expect(again.created, JSON.stringify(req)).toBe(false);
      expect(again.changed, JSON.stringify(req)).toEqual([]);
      expect(await again.meta.settings()).toEqual(settings);
      expect(await again.meta.version()).toBe(version);
      expect((await again.meta.lookup(ROOT_INODE, 'keep')).mode & S_IFREG).toBe(S_IFREG);
      await again.meta.close();
    }
  });

  it('re-format may change trash-days (reported in changed), never name or block size', async () => {
    const first = await formatMeta(url, REQ);
    const uuid = (await first.meta.settings()).uuid;
    await first.meta.close();

    const changed = await formatMeta(url, { ...REQ, trashDays: 3 });
    track(changed.meta);
    expect(changed.created).toBe(false);
    expect(changed.changed).toHaveLength(1);
    expect(changed.changed[0]).toMatch(/trash/i);
    expect(changed.changed[0]).toContain('3');
    const after = await changed.meta.settings();
    expect(after.trashDays).toBe(3);
    expect(after.uuid).toBe(uuid);
    const version = await changed.meta.version();
    await changed.meta.close();

    const refusals: [FormatRequest, string, boolean][] = [
      [{ ...REQ, name: 'other' }, 'EEXIST', false],
      [{ ...REQ, name: 'other' }, 'EEXIST', true],
      [{ ...REQ, blockSize: 1 << 20 }, 'EINVAL', false],
      [{ ...REQ, blockSize: 1 << 20, trashDays: 9 }, 'EINVAL', true],
      [{ ...REQ, storage: 'file:///elsewhere', trashDays: 9 }, 'EINVAL', false],
    ];
    for (const [req, code, force] of refusals) {
      const err = await thrown(() => formatMeta(url, req, force));
      expect(err.code, JSON.stringify(req)).toBe(code);
      expect(err.message.length).toBeGreaterThan(20);
    }
    const check = track(await openMeta(url));
    expect(await check.settings()).toEqual(after);
    expect(await check.version()).toBe(version);
    await check.close();

    // With force, the storage may move.
    const moved = await formatMeta(url, { ...REQ, storage: 'file:///elsewhere', trashDays: 3 }, true);
    track(moved.meta);
    expect(moved.changed).toHaveLength(1);
    expect(moved.changed[0]).toContain('file:///elsewhere');
    expect((await moved.meta.settings()).storage).toBe('file:///elsewhere');
  });

  it('a refused first format leaves no database behind', async () => {
    const err = await thrown(() => formatMeta(url, { ...REQ, storage: '' }));
    expect(err.code).toBe('EINVAL');
    // Opening afterwards must say "no volume", not find a half-made one.
    expect((await thrown(() => openMeta(url))).code).toBe('ENOENT');
    const ok = await formatMeta(url, REQ);
    track(ok.meta);
    expect(ok.created).toBe(true);
  });

  it('a volume written by schema 1 opens and migrates: each file gets its stored bytes, used space is counted from them', async () => {
    const { meta } = await formatMeta(url, REQ);
    const sparse = await meta.mknod(ROOT_INODE, 'sparse', file);
    const id = await meta.newSliceId();
    await meta.commitSlice(sparse.ino, 2, { id, size: 5000, pos: 100, off: 0, len: 5000 }, 10 * 64 * 1024 * 1024);
    const dense = await meta.mknod(ROOT_INODE, 'dense', file);
    const id2 = await meta.newSliceId();
    await meta.commitSlice(dense.ino, 0, { id: id2, size: 9000, pos: 0, off: 0, len: 9000 }, 9000);
    await meta.punchHole(dense.ino, 0, 4096);
    await meta.close();
    // Schema 1 as earlier builds wrote it: no stored column, used space charged by length.
    const db = new Database(path);
    db.exec('ALTER TABLE inodes DROP COLUMN stored');
    db.exec('ALTER TABLE settings RENAME COLUMN name TO key');
    db.exec('ALTER TABLE changes RENAME COLUMN body TO rows');
    db.exec('ALTER TABLE plocks RENAME COLUMN stop TO "end"');
    db.exec('DROP TABLE consumers');
    db.exec('DROP TABLE external_slices');
    db.exec('DROP TABLE event_queue');
    db.exec('DROP TABLE event_targets');
    db.exec("UPDATE counters SET value = 671092736 WHERE name = 'used_bytes'");
    db.pragma('user_version = 1');
    db.close();

    const again = track(await openMeta(url));
    expect((await again.getattr(sparse.ino)).blocks).toBe(16);
    expect((await again.getattr(dense.ino)).blocks).toBe(16);
    expect((await again.usage()).usedBytes).toBe(16_384);
    expect(Number(new Database(path, { readonly: true }).pragma('user_version', { simple: true }))).toBe(SCHEMA_VERSION);
  });

  it('creates the database and its WAL files readable by the owner only (0600), whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const { meta } = await formatMeta(url, REQ);
      track(meta);
      await meta.mknod(ROOT_INODE, 'x', file);
      for (const f of [path, `${path}-wal`, `${path}-shm`]) expect([f, (statSync(f).mode & 0o777).toString(8)]).toEqual([f, '600']);
    } finally {
      process.umask(old);
    }
  });

  it('keeps storage credentials out of the change log, whether set at format or later', async () => {
    const secret = 'AKIDEXAMPLE-very-secret-key';
    const { meta } = await formatMeta(url, { ...REQ, storageCredentials: JSON.stringify({ accessKey: 'AK', secretKey: secret }) });
    track(meta);
    await meta.configure({ storageCredentials: JSON.stringify({ accessKey: 'AK2', secretKey: `${secret}-2` }) });
    await meta.configure({ trashDays: 3 });
    expect((await meta.settings()).storageCredentials).toContain(`${secret}-2`);
    const log = JSON.stringify(await meta.changes(0, 1000));
    expect(log).toContain('trashDays');
    expect(log).not.toContain(secret);
    expect(log).not.toContain('AK2');
  });

  it('a closed engine refuses calls with EBADF', async () => {
    const { meta } = await formatMeta(url, REQ);
    await meta.close();
    expect(await codeOf(meta.getattr(ROOT_INODE))).toBe('EBADF');
    expect(await codeOf(meta.mknod(ROOT_INODE, 'x', file))).toBe('EBADF');
    await meta.close();
  });
});

describe('SqliteMeta: two engines on one file (like two processes)', () => {
  let dir: string;
  let url: string;
  let a: Meta;
  let b: Meta;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-meta-'));
    url = `sqlite3://${join(dir, 'meta.db')}`;
    a = (await formatMeta(url, REQ)).meta;
    b = await openMeta(url);
  });

  afterEach(async () => {
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('each sees the other\'s commits immediately', async () => {
    const f = await a.mknod(ROOT_INODE, 'f', file);
    expect((await b.lookup(ROOT_INODE, 'f')).ino).toBe(f.ino);
    expect(await b.version()).toBe(await a.version());
    await b.setattr(f.ino, { mtimeNs: 123_456_789_123_456_789n });
    expect((await a.getattr(f.ino)).mtimeNs).toBe(123_456_789_123_456_789n);
    await b.setxattr(f.ino, 'user.k', Buffer.from('v'), 0);
    expect(Buffer.from(await a.getxattr(f.ino, 'user.k')).toString()).toBe('v');
    const id = await b.newSliceId();
    await b.commitSlice(f.ino, 0, { id, size: 10, pos: 0, off: 0, len: 10 }, 10);
    expect(await a.readChunk(f.ino, 0)).toEqual([{ id, size: 10, pos: 0, off: 0, len: 10 }]);
    await a.unlink(ROOT_INODE, 'f', 0);
    expect(await codeOf(b.lookup(ROOT_INODE, 'f'))).toBe('ENOENT');
    expect((await b.pendingSliceDeletes(10)).map((p) => p.id)).toEqual([id]);
    expect(await b.changes(0, 1000)).toEqual(await a.changes(0, 1000));

    // Sessions and locks are shared too.
    const g = await a.mknod(ROOT_INODE, 'g', file);
    const sa = await a.newSession({ who: 'a' });
    const sb = await b.newSession({ who: 'b' });
    await a.flock(g.ino, sa, 'x', 'write');
    expect(await codeOf(b.flock(g.ino, sb, 'y', 'read'))).toBe('EAGAIN');
    await a.flock(g.ino, sa, 'x', 'unlock');
    await b.flock(g.ino, sb, 'y', 'read');
    expect((await a.sessions()).map((s) => s.id)).toEqual([sa, sb]);
  });

  it('repeated reads answered from memory still see what the other engine commits', async () => {
    const f = await a.mknod(ROOT_INODE, 'cached', file);
    for (let i = 0; i < 3; i++) expect((await b.getattr(f.ino)).mode & 0o7777).toBe(file.mode & 0o7777);
    expect(await b.readChunk(f.ino, 0)).toEqual([]);
    await a.setattr(f.ino, { mode: 0o600 });
    const id = await a.newSliceId();
    await a.commitSlice(f.ino, 0, { id, size: 100, pos: 0, off: 0, len: 100 }, 100);
    expect((await b.getattr(f.ino)).mode & 0o7777).toBe(0o600);
    expect((await b.getattr(f.ino)).size).toBe(100);
    expect(await b.readChunk(f.ino, 0)).toEqual([{ id, size: 100, pos: 0, off: 0, len: 100 }]);
    // And its own writes, at once.
    await b.setattr(f.ino, { mode: 0o640 });
    expect((await b.getattr(f.ino)).mode & 0o7777).toBe(0o640);
  });

  it('settings changed through one engine govern the other\'s next call', async () => {
    const f = await b.mknod(ROOT_INODE, 'f', file);
    await a.configure({ trashDays: 1 });
    await b.unlink(ROOT_INODE, 'f', 0);
    expect((await b.listTrash()).map((t) => t.ino)).toEqual([f.ino]);

    await a.configure({ capacity: 1024 * 1024 });
    const g = await b.mknod(ROOT_INODE, 'g', file);
    const id = await b.newSliceId();
    expect(await codeOf(b.commitSlice(g.ino, 0, { id, size: 2 * 1024 * 1024, pos: 0, off: 0, len: 2 * 1024 * 1024 }, 2 * 1024 * 1024))).toBe('ENOSPC');
  });

  it('concurrent creates from both get distinct inodes, and slice ids never collide', async () => {
    const d = await a.mkdir(ROOT_INODE, 'd', { mode: S_IFDIR | 0o755, uid: 0, gid: 0 });
    const v0 = await a.version();
    const N = 400;
    const made = await Promise.all([
      ...Array.from({ length: N }, (_, i) => a.mknod(d.ino, `a${i}`, file)),
      ...Array.from({ length: N }, (_, i) => b.mknod(d.ino, `b${i}`, file)),
    ]);
    const inos = new Set(made.map((m) => m.ino));
    expect(inos.size).toBe(2 * N);
    const listed = await b.readdir(d.ino, 0, 10_000);
    expect(listed.length).toBe(2 * N + 2);
    expect(new Set(listed.slice(2).map((e) => e.ino))).toEqual(inos);
    const v1 = await a.version();
    expect(v1 - v0).toBe(2 * N);
    const log = await a.changes(v0, 10_000);
    expect(log.map((e) => e.version)).toEqual(Array.from({ length: 2 * N }, (_, i) => v0 + 1 + i));

    // Slice ids, interleaved between the two.
    const M = 600;
    const ids = await Promise.all([
      ...Array.from({ length: M }, () => a.newSliceId()),
      ...Array.from({ length: M }, () => b.newSliceId()),
    ]);
    expect(new Set(ids).size).toBe(2 * M);
    expect(ids.every((id) => id > 0)).toBe(true);
  });

  it('more concurrent id requests than one reserved batch holds all succeed', async () => {
    // 1100 > the 1024 ids an engine reserves at a time.
    const ids = await Promise.all(Array.from({ length: 1100 }, () => a.newSliceId()));
    expect(new Set(ids).size).toBe(1100);
    const made = await Promise.all(Array.from({ length: 1100 }, (_, i) => b.mknod(ROOT_INODE, `f${i}`, file)));
    expect(new Set(made.map((m) => m.ino)).size).toBe(1100);
  });

  it('change-log retention: old entries go, the rest stays contiguous', async () => {
    const f = await a.mknod(ROOT_INODE, 'f', file);
    const first = await a.oldestVersion();
    expect(first).toBe(1);
    expect(await a.configure({ changelogRetention: 300 })).toHaveLength(1);
    expect((await b.settings()).changelogRetention).toBe(300);
    for (let i = 0; i < 700; i++) await a.setattr(f.ino, { mtimeNs: BigInt(i) });
    const latest = await a.version();
    expect(latest).toBeGreaterThan(700);
    const oldest = await a.oldestVersion();
    expect(oldest).toBeGreaterThan(first);
    expect(latest - oldest + 1).toBeGreaterThanOrEqual(300);
    expect(await b.oldestVersion()).toBe(oldest);
    // A reader that starts before what is left must resync, and is told so.
    await expect(b.changes(0, 10)).rejects.toMatchObject({ code: 'ESTALE', message: expect.stringMatching(/resync needed/) });
    const log = await b.changes(oldest - 1, 100_000);
    expect(log[0].version).toBe(oldest);
    expect(log.map((e) => e.version)).toEqual(Array.from({ length: latest - oldest + 1 }, (_, i) => oldest + i));
    for (const e of log) expect(e.rows.length).toBeGreaterThan(0);
    expect((await a.changes(oldest - 1, 5)).map((e) => e.version)).toEqual([oldest, oldest + 1, oldest + 2, oldest + 3, oldest + 4]);
  });

  it('a registered consumer holds the log back until it has applied it, up to ten times the retention', async () => {
    const f = await a.mknod(ROOT_INODE, 'f', file);
    await a.configure({ changelogRetention: 100 });
    const start = await a.version();
    await b.registerConsumer('mirror-1', start);
    expect(await a.consumers()).toEqual([{ name: 'mirror-1', applied: start }]);
    for (let i = 0; i < 600; i++) await a.setattr(f.ino, { mtimeNs: BigInt(i) });
    // Far past the retention, yet nothing the consumer still needs is gone.
    expect((await a.changes(start, 3)).map((e) => e.version)).toEqual([start + 1, start + 2, start + 3]);
    await b.registerConsumer('mirror-1', start + 500);
    for (let i = 0; i < 300; i++) await a.setattr(f.ino, { mtimeNs: BigInt(i) });
    await expect(a.changes(start, 3)).rejects.toMatchObject({ code: 'ESTALE' });
    expect((await a.changes(start + 500, 1))[0].version).toBe(start + 501);
    // A consumer that stops applying holds the log only so long.
    for (let i = 0; i < 1300; i++) await a.setattr(f.ino, { mtimeNs: BigInt(i) });
    await expect(a.changes(start + 500, 1)).rejects.toMatchObject({ code: 'ESTALE', message: expect.stringMatching(/resync needed/) });
    await a.dropConsumer('mirror-1');
    expect(await a.consumers()).toEqual([]);
  });
});
