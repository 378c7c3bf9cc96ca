// strata import, run as users run it, from a real S3 server (s3rver): a bucket of nested prefixes,
// keys with spaces and unicode, empty objects and one that spans two chunks becomes files that
// read byte-identical through the SDK and a FUSE mount; the volume's own blocks in the same bucket
// are skipped and counted; --update re-imports exactly what changed, --force-update everything;
// a run killed halfway is run again and finishes with nothing duplicated.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { openObjectStore } from '../../src/object/open.js';
import type { ObjectStore } from '../../src/object/store.js';
import { eachLimited } from '../../src/admin/batch.js';
import { CLI, strataAsync } from '../helpers/cli.js';
import { need } from '../helpers/require.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { mountForSuite } from '../fuse/mounted.js';
import { spawn } from 'node:child_process';

const fuse = need('FUSE', fuseUnavailable());
const CHUNK = 64 * 1024 * 1024;
const creds = { accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY };
const KEYS = ['--access-key', S3RVER_ACCESS_KEY, '--secret-key', S3RVER_SECRET_KEY];
let srv: RunningS3rver;
let dir: string;
let url: string;
let bucket: ObjectStore;
/** What the bucket holds outside the volume's own prefix. */
const objects = new Map<string, Buffer>();

interface Report { objects: number; imported: number; updated: number; unchanged: number; existing: number; skippedOwn: number; excluded: number; failures: unknown[] }
// Never spawnSync here: s3rver answers from this process's event loop.
const importJson = async (...args: string[]) => {
  const r = await strataAsync('import', url, ...args, '--json');
  return { code: r.code, err: r.err, report: JSON.parse(r.out || '{}') as Report };
};

async function put(key: string, data: Buffer): Promise<void> {
  await bucket.put(key, data);
  objects.set(key, data);
}

/** Every imported file under `root` reads as its object. */
async function expectSameAsObjects(vol: Volume, root: string, keys = [...objects.keys()]): Promise<void> {
  const wrong: string[] = [];
  await eachLimited(keys, 8, async (key) => {
    const got = await vol.readFile(`${root}/${key}`).catch((err: Error) => Buffer.from(`error: ${err.message}`));
    if (!got.equals(objects.get(key)!)) wrong.push(key);
  });
  expect(wrong).toEqual([]);
}

beforeAll(async () => {
  srv = await startS3rver({ buckets: ['data'] });
  dir = await fs.mkdtemp(join(tmpdir(), 'strata-import-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  // The volume keeps its own blocks in the same bucket, under vols/impvol/chunks/.
  await Volume.format(url, { name: 'impvol', storage: srv.url('data', 'vols'), blockSize: 1024 * 1024, trashDays: 0, ...creds });
  const vol = await Volume.open(url);
  await vol.writeFile('/mine', randomBytes(3 * 1024 * 1024 + 5));
  await vol.close();
  bucket = await openObjectStore(srv.url('data'), creds);
  const keys = Array.from({ length: 600 }, (_, i) => `set/${i % 20}/${Math.floor(i / 20) % 5}/obj-${i}.bin`);
  await eachLimited(keys, 16, (key) => put(key, randomBytes(Math.floor(Math.random() * 3000))));
  await put('set/with space/a b.txt', Buffer.from('spaces'));
  await put('set/ünïcødé/日本語 ファイル.txt', Buffer.from('unicode'));
  await put('set/empty', Buffer.alloc(0));
  await put('set/big.bin', randomBytes(CHUNK + 3 * 1024 * 1024));
}, 300_000);

afterAll(async () => {
  await bucket?.close();
  await srv?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('strata import', () => {
  it('imports a bucket: every object a file that reads the same, prefixes as directories, the volume\'s own blocks skipped and counted', async () => {
    const dry = await importJson(srv.url('data'), '/imported', ...KEYS, '--dry-run');
    expect(dry.code, dry.err).toBe(0);
    expect(dry.report.imported).toBe(objects.size);
    const run = await importJson(srv.url('data'), '/imported', ...KEYS);
    expect(run.code, run.err).toBe(0);
    expect(run.report.imported).toBe(objects.size);
    expect(run.report.failures).toEqual([]);
    // /mine's 4 blocks live in the bucket too: skipped, never imported.
    expect(run.report.skippedOwn).toBe(4);
    expect(run.report.objects).toBe(objects.size + 4);
    const vol = await Volume.open(url);
    try {
      await expectSameAsObjects(vol, '/imported');
      expect((await vol.readdir('/imported/set')).length).toBe(20 + 4);
      expect(await vol.readdir('/imported/set/ünïcødé')).toEqual(['日本語 ファイル.txt']);
      await expect(vol.stat('/imported/vols')).rejects.toMatchObject({ code: 'ENOENT' });
      const big = await vol.stat('/imported/set/big.bin');
      expect(big.size).toBe(CHUNK + 3 * 1024 * 1024);
      expect(big.mtimeMs).toBe((await bucket.head('set/big.bin'))!.mtime.getTime());
    } finally {
      await vol.close();
    }
    // Run again: everything is there already.
    const again = await importJson(srv.url('data'), '/imported', ...KEYS);
    expect(again.report).toMatchObject({ imported: 0, updated: 0, unchanged: objects.size });
  }, 300_000);

  it('--update re-imports exactly the changed objects, --force-update all; --include and --exclude pick keys', async () => {
    const keys = [...objects.keys()].filter((k) => k.includes('obj-'));
    // 100 objects change (a byte longer, so the change shows whatever the clock), 10 go away.
    for (const key of keys.slice(0, 100)) await put(key, Buffer.concat([objects.get(key)!, Buffer.from('!')]));
    for (const key of keys.slice(100, 110)) {
      await bucket.delete(key);
      objects.delete(key);
    }
    const plain = await importJson(srv.url('data', 'set'), '/imported/set', ...KEYS);
    expect(plain.report).toMatchObject({ imported: 0, updated: 0 });
    const update = await importJson(srv.url('data', 'set'), '/imported/set', ...KEYS, '--update');
    expect(update.code, update.err).toBe(0);
    expect(update.report).toMatchObject({ imported: 0, updated: 100, unchanged: objects.size - 100 });
    const vol = await Volume.open(url);
    try {
      await expectSameAsObjects(vol, '/imported');
      // A deleted object's copy stays: copy mode owns its bytes.
      expect((await vol.stat(`/imported/${keys[100]}`)).isFile()).toBe(true);
    } finally {
      await vol.close();
    }
    const force = await importJson(srv.url('data', 'set'), '/imported/set', ...KEYS, '--force-update');
    expect(force.report).toMatchObject({ imported: 0, updated: objects.size });
    const picked = await importJson(srv.url('data', 'set'), '/picked', ...KEYS, '--include', '1/**', '--exclude', '**/obj-1?1.bin');
    expect(picked.code, picked.err).toBe(0);
    const vol2 = await Volume.open(url);
    try {
      const one = (await vol2.readdir('/picked/1', { recursive: true }) as string[]).filter((n) => n.endsWith('.bin'));
      expect(one.length).toBe(picked.report.imported);
      expect(one.every((n) => !/obj-1\d1\.bin$/.test(n))).toBe(true);
      expect(await vol2.readdir('/picked')).toEqual(['1']);
    } finally {
      await vol2.close();
    }
  }, 300_000);

  it('a run killed halfway is run again and finishes: every file whole, none twice, no half-written names left', async () => {
    const child = spawn(process.execPath, [CLI, 'import', url, srv.url('data', 'set'), '/again', ...KEYS, '--threads', '4'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 2500));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const rest = await importJson(srv.url('data', 'set'), '/again', ...KEYS);
    expect(rest.code, rest.err).toBe(0);
    expect(rest.report.imported + rest.report.unchanged).toBe(objects.size);
    const vol = await Volume.open(url);
    try {
      const names = await vol.readdir('/again', { recursive: true }) as string[];
      expect(names.filter((n) => n.includes('.strata-import'))).toEqual([]);
      const setKeys = [...objects.keys()].map((k) => k.slice('set/'.length));
      const files = [];
      for (const n of names) if ((await vol.stat(`/again/${n}`)).isFile()) files.push(n);
      expect(files.sort()).toEqual(setKeys.sort());
      for (const k of setKeys) expect((await vol.readFile(`/again/${k}`)).equals(objects.get(`set/${k}`)!), k).toBe(true);
    } finally {
      await vol.close();
    }
  }, 300_000);

  it('refuses --update with --force-update, link mode, and a bad source URL, changing nothing', async () => {
    const both = await strataAsync('import', url, srv.url('data'), '--update', '--force-update');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--update and --force-update exclude each other/);
    const link = await strataAsync('import', url, srv.url('data'), '--mode', 'link');
    expect(link.code).toBe(2);
    expect(link.err).toMatch(/--mode link .* is not available yet/);
    const bad = await strataAsync('import', url, 'ftp://nowhere/x');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/unknown scheme "ftp"/);
    expect((await strataAsync('import', '--help')).out).toMatch(/--force-update/);
  });
});

describe.skipIf(fuse.skip)('strata import into a mounted volume', () => {
  const mount = mountForSuite(fuse);

  it('files imported while the volume is mounted read the same through the mount', async () => {
    const m = mount();
    const r = await strataAsync('import', m.metaUrl, srv.url('data', 'set'), '/from-s3', ...KEYS, '--include', '{big.bin,empty,with space/**,ünïcødé/**,3/**}', '--json');
    expect(r.code, r.err).toBe(0);
    const keys = [...objects.keys()].filter((k) => /^set\/(big\.bin|empty|with space\/|ünïcødé\/|3\/)/.test(k));
    expect((JSON.parse(r.out) as Report).imported).toBe(keys.length);
    for (const key of keys) {
      const got = await fs.readFile(join(m.mountpoint, 'from-s3', key.slice('set/'.length)));
      expect(got.equals(objects.get(key)!), key).toBe(true);
    }
  }, 300_000);
});
