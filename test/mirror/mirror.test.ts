// Mirror volumes: created from one snapshot of the primary (of another engine kind, too), they
// serve reads at once from the primary's blocks, follow a workload exactly — dump(mirror) equals
// dump(primary) — copy the new blocks into their own store, refuse changes of their own, resume
// where they stopped, say "resync needed" when the primary's log moved past them, and name an
// unreachable or wrong primary.
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetaUrl, redactUrl } from '../../src/config/urls.js';
import { Volume } from '../../src/index.js';
import { openMeta } from '../../src/meta/index.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { sliceBlockKeys } from '../../src/chunk/keys.js';
import { resyncMirror } from '../../src/mirror/create.js';
import { PRIMARY_ENV, withoutPassword } from '../../src/mirror/primary.js';
import { Replicator, isResyncNeeded } from '../../src/mirror/replicator.js';
import { mirrorStatus } from '../../src/mirror/status.js';
import { openObjectStore } from '../../src/object/open.js';
import { createMirrorVolume } from '../../src/sdk/mirror.js';
import { engineNeed, metaUrlFor, type Engine } from '../helpers/engines.js';
import { dumpLines, workload } from '../helpers/replication.js';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-mirror-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function urlOn(kind: Engine): Promise<string> {
  const d = join(dir, `e${n++}`);
  return metaUrlFor(kind, d);
}

async function primaryWithData(kind: Engine): Promise<string> {
  const url = await urlOn(kind);
  await Volume.format(url, { name: 'mirrored', storage: `file://${join(dir, `primary-objects-${n++}`)}`, trashDays: 1, blockSize: 64 * 1024 });
  const vol = await Volume.open(url);
  await vol.mkdir('/before');
  await vol.writeFile('/before/big', Buffer.alloc(300_000, 3));
  await vol.writeFile('/before/small', 'small');
  await vol.close();
  return url;
}

/** Apply and copy until the mirror has everything the primary committed, and the blocks it
 * was made with (the backfill). */
async function catchUp(r: Replicator): Promise<void> {
  while ((await r.step()) > 0);
  while ((await r.copyPass()).backfilling);
}

/** Every file of a volume, path -> bytes. */
async function files(vol: Volume, d = '/'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await vol.readdir(d, { withFileTypes: true })) {
    const p = `${d === '/' ? '' : d}/${e.name}`;
    if (p === '/.trash') continue;
    if (e.isDirectory()) for (const [k, v] of await files(vol, p)) out.set(k, v);
    else if (e.isFile()) out.set(p, (await vol.readFile(p)).toString('base64'));
  }
  return out;
}

async function withoutMirrorBookkeeping(url: string): Promise<string[]> {
  return dumpLines(url);
}

const PAIRS: [Engine, Engine][] = [['sqlite', 'sqlite'], ['postgres', 'sqlite'], ['sqlite', 'postgres']];

describe.each(PAIRS)('a mirror on %s of a primary on %s', (primaryKind, mirrorKind) => {
  const needs = [engineNeed(primaryKind), engineNeed(mirrorKind)];
  it.skipIf(needs.some((x) => x.skip))('serves reads at once, follows a workload exactly and copies the new blocks into its own store', async () => {
    for (const x of needs) x.check();
    const primary = await primaryWithData(primaryKind);
    const mirror = await urlOn(mirrorKind);
    const own = join(dir, `mirror-objects-${n++}`);
    const created = await createMirrorVolume(primary, mirror, { storage: `file://${own}` });
    expect(created.mirror.primary).toBe(withoutPassword(primary));
    expect(await withoutMirrorBookkeeping(mirror)).toEqual(await dumpLines(primary));

    // No block was copied, and the mirror reads every file already (from the primary's store).
    const m0 = await Volume.open(mirror);
    expect((await m0.readFile('/before/big')).equals(Buffer.alloc(300_000, 3))).toBe(true);
    await m0.close();

    const r = await Replicator.open(mirror, { primary, batch: 7 });
    try {
      // A workload on the primary while the replicator applies and copies as it goes.
      const vol = await Volume.open(primary);
      let done = false;
      const tailing = (async () => {
        while (!done) {
          if ((await r.step()) === 0) await new Promise((res) => setTimeout(res, 5));
          await r.copyPass();
        }
      })();
      await workload(vol, 11, 250);
      await vol.close();
      done = true;
      await tailing;
      await catchUp(r);
    } finally {
      await r.close();
    }
    expect(await withoutMirrorBookkeeping(mirror)).toEqual(await dumpLines(primary));
    const { driver } = await openDriver(parseMetaUrl(mirror));
    expect(await consistencyProblems(driver)).toEqual([]);
    // Every block the mirror uses is in its own store: those made since (copied from the log) and
    // those it was made with (the backfill).
    const slices = await driver.read((c) => c.all('SELECT id, size FROM slice_refs'));
    await driver.close();
    const store = await openObjectStore(`file://${own}`);
    expect(slices.length).toBeGreaterThan(2);
    for (const s of slices) {
      for (const key of sliceBlockKeys(Number(s.id), Number(s.size), 64 * 1024)) expect(await store.head(`mirrored/${key}`), key).toBeDefined();
    }
    await store.close();

    // Files read the same through either volume, and the primary keeps its log for the mirror.
    const p = await Volume.open(primary);
    const m = await Volume.open(mirror);
    expect(await files(m)).toEqual(await files(p));
    await m.close();
    await p.close();
    const meta = await openMeta(primary);
    expect((await meta.consumers()).map((c) => c.name)).toEqual([created.mirror.id]);
    expect((await meta.consumers())[0]!.applied).toBe(await meta.version());
    await meta.close();
  }, 240_000);
});

describe('a mirror', () => {
  it('refuses changes of its own with EROFS naming the primary, and they change nothing', async () => {
    const primary = await primaryWithData('sqlite');
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    const before = await dumpLines(mirror);
    const m = await Volume.open(mirror);
    for (const attempt of [
      () => m.writeFile('/new', 'x'),
      () => m.unlink('/before/small'),
      () => m.rename('/before/small', '/moved'),
      () => m.chmod('/before/small', 0o600),
      () => m.mkdir('/dir'),
      // mkdir -p used to turn every failure but EEXIST into ENOENT.
      () => m.mkdir('/p/q', { recursive: true }),
      () => m.setxattr('/before/small', 'user.a', Buffer.from('b')),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'EROFS', message: expect.stringContaining(withoutPassword(primary)) });
    }
    expect(await m.readFile('/before/small', 'utf8')).toBe('small');
    // A name that exists is EEXIST before the file system is read-only, as on Linux (mkdir -p of
    // an existing directory succeeds).
    await expect(m.mkdir('/before')).rejects.toMatchObject({ code: 'EEXIST' });
    await m.mkdir('/before', { recursive: true });
    await m.close();
    expect(await dumpLines(mirror)).toEqual(before);
  });

  it('keeps the primary from deleting blocks that a mirror which has not applied their release still reads', async () => {
    const primary = await urlOn('sqlite');
    const objects = join(dir, `primary-objects-${n++}`);
    await Volume.format(primary, { name: 'mirrored', storage: `file://${objects}`, trashDays: 0 });
    const vol = await Volume.open(primary, { reclaimMs: 3_600_000 });
    await vol.writeFile('/f', 'first');
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    const store = await openObjectStore(`file://${objects}`);
    const blocks = async () => (await store.list({ prefix: 'mirrored/chunks/' })).objects.length;
    expect(await blocks()).toBe(1);
    await vol.writeFile('/f', 'second');
    await vol.vfs.reclaim();
    // The first block is released, but the mirror still shows the old file and reads it.
    expect(await blocks()).toBe(2);
    const m = await Volume.open(mirror);
    expect(await m.readFile('/f', 'utf8')).toBe('first');
    // Once the mirror applied the release (committed past the clock margin), it goes.
    await new Promise((res) => setTimeout(res, 5_500));
    await vol.writeFile('/later', 'x');
    const r = await Replicator.open(mirror, { primary });
    await catchUp(r);
    await r.close();
    expect(await m.readFile('/f', 'utf8')).toBe('second');
    await m.close();
    await vol.vfs.reclaim();
    expect(await blocks()).toBe(2);
    await vol.close();
    await store.close();
  }, 30_000);

  it('through mirror writes, a change the mirror cannot show within the wait fails saying it is committed on the primary', async () => {
    const primary = await primaryWithData('sqlite');
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    const m = await Volume.open(mirror, { mirrorWrites: true, primary, mirrorWaitMs: 300 });
    // Another process holds the mirror's database for writing: nothing can be applied to it.
    const lock = new Database((parseMetaUrl(mirror) as { path: string }).path);
    lock.exec('BEGIN IMMEDIATE');
    const t0 = Date.now();
    await expect(m.writeFile('/late', 'x')).rejects.toThrow(/committed on the primary \(version \d+\) but not visible on this mirror yet/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    lock.exec('ROLLBACK');
    lock.close();
    const p = await Volume.open(primary);
    expect(await p.readFile('/late', 'utf8')).toBe('x');
    await p.close();
    // The next change catches the mirror up past both.
    await m.writeFile('/later', 'y');
    expect(await m.readFile('/late', 'utf8')).toBe('x');
    await m.close();
  });

  it('resumes where it stopped, applying nothing twice and skipping nothing', async () => {
    const primary = await primaryWithData('sqlite');
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror, { storage: `file://${join(dir, `own-${n++}`)}` });
    const vol = await Volume.open(primary);
    await workload(vol, 5, 120);
    await vol.close();
    // Stopped after every few versions, before its blocks were copied.
    for (let round = 0; round < 6; round++) {
      const r = await Replicator.open(mirror, { primary, batch: 5 });
      await r.step();
      await r.close();
    }
    const r = await Replicator.open(mirror, { primary, batch: 5 });
    await catchUp(r);
    await r.close();
    expect(await dumpLines(mirror)).toEqual(await dumpLines(primary));
    const { driver } = await openDriver(parseMetaUrl(mirror));
    expect(await consistencyProblems(driver)).toEqual([]);
    await driver.close();
  });

  it('says "resync needed" when the primary pruned past it, and resync makes it whole again', async () => {
    const primary = await primaryWithData('sqlite');
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    const meta = await openMeta(primary);
    await meta.configure({ changelogRetention: 2 });
    await meta.close();
    // Far past what the primary keeps for a consumer that does not move (retention x 10).
    const vol = await Volume.open(primary);
    for (let i = 0; i < 700; i++) await vol.writeFile(`/f${i % 10}`, `v${i}`);
    await vol.close();
    const r = await Replicator.open(mirror, { primary });
    const err = await r.step().then(() => null, (e: unknown) => e);
    await r.close();
    expect(isResyncNeeded(err)).toBe(true);
    expect((err as Error).message).toMatch(/resync needed/);
    expect((await mirrorStatus(mirror, { primary })).resyncNeeded).toBe(true);
    const again = await resyncMirror(mirror, { primary });
    expect(again.version).toBeGreaterThan(700);
    expect(await dumpLines(mirror)).toEqual(await dumpLines(primary));
    const r2 = await Replicator.open(mirror, { primary });
    expect(await r2.step()).toBe(0);
    await r2.close();
  });

  it('reports its lag, and a primary that does not answer within 2 s', async () => {
    const primary = await primaryWithData('sqlite');
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror, { storage: `file://${join(dir, `own-${n++}`)}` });
    const vol = await Volume.open(primary);
    await vol.writeFile('/later', Buffer.alloc(200_000, 1));
    await vol.close();
    const s = await mirrorStatus(mirror, { primary });
    expect(s).toMatchObject({ primaryReachable: true, lagVersions: 1 });
    expect(s.lagSeconds).toBeGreaterThanOrEqual(0);
    const r = await Replicator.open(mirror, { primary });
    await r.step();
    expect((await mirrorStatus(mirror, { primary })).pendingBlocks).toBe(4);
    await r.copyPass();
    expect(await mirrorStatus(mirror, { primary })).toMatchObject({ lagVersions: 0, pendingBlocks: 0 });
    await r.close();

    // A server that accepts connections and never answers.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    const down = await mirrorStatus(mirror, { primary: `postgres://u:p@127.0.0.1:${port}/db` });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(down.primaryReachable).toBe(false);
    expect(down.applied).toBe(s.applied + 1);
    silent.close();
  });

  it('names a primary it cannot reach, and will not follow another volume', async () => {
    const primary = await primaryWithData('sqlite');
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    const refused = await Replicator.open(mirror, { primary: 'postgres://u:p@127.0.0.1:1/nothing' });
    await expect(refused.step()).rejects.toThrow(/primary at postgres:\/\/u:\*\*\*\*@127\.0\.0\.1:1\/nothing did not answer/);
    await refused.close();
    // Reads go on without it.
    const m = await Volume.open(mirror);
    expect(await m.readFile('/before/small', 'utf8')).toBe('small');
    await m.close();
    const other = await primaryWithData('sqlite');
    const wrong = await Replicator.open(mirror, { primary: other });
    await expect(wrong.step()).rejects.toThrow(/not the one this mirror follows/);
    await wrong.close();
    // The environment names the primary as --primary does.
    process.env[PRIMARY_ENV] = primary;
    try {
      const r = await Replicator.open(mirror);
      expect(await r.step()).toBe(0);
      await r.close();
    } finally {
      delete process.env[PRIMARY_ENV];
    }
  });

  it('is made only in an empty database, and only from a primary', async () => {
    const primary = await primaryWithData('sqlite');
    const taken = await primaryWithData('sqlite');
    await expect(createMirrorVolume(primary, taken)).rejects.toMatchObject({ code: 'EEXIST' });
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    await expect(createMirrorVolume(mirror, await urlOn('sqlite'))).rejects.toThrow(/is itself a mirror/);
    // The refused attempts hold no log back on the primary.
    const meta = await openMeta(primary);
    expect((await meta.consumers()).length).toBe(1);
    await meta.close();
  });
});

describe('a mirror, further', () => {
  it('stops with "resync needed" when the primary went back in time (restored from an older dump)', async () => {
    const primary = await primaryWithData('sqlite');
    const old = await dumpLines(primary);
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    const vol = await Volume.open(primary);
    for (let i = 0; i < 5; i++) await vol.writeFile(`/x${i}`, 'x');
    await vol.close();
    const r = await Replicator.open(mirror, { primary });
    await catchUp(r);
    await r.close();
    // The same volume, restored at its old version somewhere else.
    const restored = await urlOn('sqlite');
    const { driver } = await openDriver(parseMetaUrl(restored), { create: true });
    async function* lines() { for (const l of old) yield l; }
    const { loadVolume } = await import('../../src/meta/sql/dump.js');
    await loadVolume(driver, lines());
    await driver.close();
    const behind = await Replicator.open(mirror, { primary: restored });
    const err = await behind.step().then(() => null, (e: unknown) => e);
    await behind.close();
    expect(isResyncNeeded(err)).toBe(true);
    expect((err as Error).message).toMatch(/restored or loaded anew/);
  });

  it('through mirror writes: a file this client has open survives its own unlink; statfs follows a change of capacity', async () => {
    const primary = await urlOn('sqlite');
    await Volume.format(primary, { name: 'mirrored', storage: `file://${join(dir, `p-${n++}`)}`, trashDays: 0 });
    const mirror = await urlOn('sqlite');
    await createMirrorVolume(primary, mirror);
    const m = await Volume.open(mirror, { mirrorWrites: true, primary });
    await m.writeFile('/kept', 'still here');
    const fh = await m.open('/kept', 'r');
    await m.unlink('/kept');
    expect((await fh.readFile()).toString()).toBe('still here');
    expect((await fh.stat()).nlink).toBe(0);
    await fh.close();
    await m.vfs.meta.configure({ capacity: 1 << 30 });
    const fsStat = await m.statfs('/');
    expect(Number(fsStat.blocks) * Number(fsStat.bsize)).toBe(1 << 30);
    await m.close();
  });

  it('keeps a primary URL without its password even when the password holds an "@"', () => {
    expect(withoutPassword('postgres://u:p@ss@db:5432/v')).toBe('postgres://u@db:5432/v');
    expect(redactUrl('postgres://u:p@ss@db:5432/v')).toBe('postgres://u:****@db:5432/v');
    expect(parseMetaUrl('postgres://u:p@ss@db:5432/v')).toMatchObject({ user: 'u', password: 'p@ss', host: 'db' });
  });
});

describe('a mirror of a password-protected primary', () => {
  const need = engineNeed('postgres');
  it.skipIf(need.skip)('keeps no password, and asks for the primary\'s URL when it needs one', async () => {
    need.check();
    const primary = await primaryWithData('postgres');
    expect(primary).toMatch(/:[^@/]+@/);
    const mirror = await urlOn('sqlite');
    const created = await createMirrorVolume(primary, mirror);
    expect(created.mirror.primary).not.toContain(':strata-test-password@');
    const { driver } = await openDriver(parseMetaUrl(mirror));
    const stored = await driver.read((c) => c.all('SELECT name, value FROM settings'));
    await driver.close();
    expect(JSON.stringify(stored)).not.toContain('strata-test-password');
    const r = await Replicator.open(mirror);
    await expect(r.step()).rejects.toThrow(/--primary or STRATA_PRIMARY_META/);
    await r.close();
  });
});
