// Write-back on a real S3 server (s3rver behind the fault proxy, which plays a store that is
// down): writes commit while the store refuses everything, reads are served from the staging
// directory, staged blocks reach the store once it is back, a deleted file's staged blocks are
// never uploaded, and a writer killed with SIGKILL loses nothing — the next open uploads what
// it staged.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { openMeta } from '../../src/meta/index.js';
import { stagingDir } from '../../src/sdk/backends.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const CHILD = fileURLToPath(new URL('./writeback-child.mjs', import.meta.url));
const creds = { accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY };

let srv: RunningS3rver;
let proxy: FaultProxy;
let dir: string;
let metaUrl: string;
let cacheDir: string;
let n = 0;
let bucket = '';

beforeAll(async () => {
  srv = await startS3rver();
  proxy = await startFaultProxy({ targetPort: srv.port, rate: 0 });
});
afterAll(async () => {
  await proxy?.close();
  await srv?.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-wb-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  cacheDir = join(dir, 'cache');
  bucket = `wb-${process.pid}-${++n}`;
  proxy.up();
  await Volume.format(metaUrl, { name: 'wb', storage: `${proxy.endpoint}/${bucket}`, blockSize: 64 * 1024, trashDays: 0, ...creds });
});
afterEach(async () => {
  proxy.up();
  await rm(dir, { recursive: true, force: true });
});

/** Block objects of this test's bucket in s3rver's directory (the store's own view). */
async function storedBlocks(): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(srv.directory, bucket), { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile() && /\/chunks\//.test(join(e.parentPath, e.name)) && e.name.endsWith('._S3rver_object')) out.push(join(e.parentPath, e.name));
  }
  return out;
}

async function staged(): Promise<string[]> {
  const meta = await openMeta(metaUrl);
  const { uuid } = await meta.settings();
  await meta.close();
  const root = stagingDir(cacheDir, uuid);
  return (await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('write-back', () => {
  it('commits while the store is down, reads from staging, uploads once it is back, and never uploads what was deleted', async () => {
    const vol = await Volume.open(metaUrl, { writeback: true, cacheDir, ioRetries: 0 });
    const other = await Volume.open(metaUrl, { writeback: true, cacheDir, ioRetries: 0 });
    proxy.down('refuse');
    const a = randomBytes(200 * 1024);
    const b = randomBytes(10_000);
    await vol.writeFile('/a', a);
    await vol.writeFile('/gone', b);
    // Another client sees the metadata; this host can read the bytes from staging.
    expect((await other.readFile('/a')).equals(a)).toBe(true);
    await other.close().catch(() => undefined);
    expect((await staged()).length).toBe(5);
    await vol.unlink('/gone');
    // The deleted file's block leaves staging without ever reaching the store.
    for (let i = 0; i < 100 && (await staged()).length > 4; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await staged()).length).toBe(4);
    expect(await storedBlocks()).toEqual([]);
    proxy.up();
    await vol.close();
    expect(await staged()).toEqual([]);
    expect((await storedBlocks()).length).toBe(4);
    const fresh = await Volume.open(metaUrl, { cacheDir: null });
    expect((await fresh.readFile('/a')).equals(a)).toBe(true);
    await fresh.close();
  });

  it('a writer killed with SIGKILL loses nothing: the next open uploads what it staged, and status shows it meanwhile', async () => {
    const child = spawn(process.execPath, [CHILD, metaUrl, cacheDir, '6'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const until = (word: string) => new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (out.includes(word)) {
          clearInterval(t);
          resolve();
        }
      }, 20);
      child.once('exit', (code) => {
        clearInterval(t);
        reject(new Error(`child exited with ${code}: ${out}`));
      });
    });
    await until('READY');
    proxy.down('refuse');
    child.stdin.write('go\n');
    await until('DONE');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const committed = [...out.matchAll(/^COMMITTED (\S+) (\S+)$/gm)].map((m) => ({ path: m[1], sha: m[2] }));
    expect(committed.length).toBe(6);
    expect((await staged()).length).toBe(10);
    expect(await storedBlocks()).toEqual([]);
    const status = spawn(process.execPath, [fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url)), 'status', metaUrl, '--cache-dir', cacheDir]);
    let text = '';
    status.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    await new Promise((r) => status.once('exit', r));
    expect(text).toMatch(/staged \(write-back\)\s+10 blocks, .* not uploaded yet/);

    proxy.up();
    const again = await Volume.open(metaUrl, { writeback: true, cacheDir });
    await again.close();
    expect(await staged()).toEqual([]);
    expect((await storedBlocks()).length).toBe(10);
    const fresh = await Volume.open(metaUrl, { cacheDir: null });
    for (const c of committed) expect(sha(await fresh.readFile(c.path))).toBe(c.sha);
    await fresh.close();
  });

  it('needs a cache directory, and says so', async () => {
    await expect(Volume.open(metaUrl, { writeback: true, cacheDir: null })).rejects.toThrow(/write-back stages blocks in the disk cache/);
  });
});
